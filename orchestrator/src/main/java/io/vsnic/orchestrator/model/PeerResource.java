package io.vsnic.orchestrator.model;

import java.util.List;

/**
 * Another device on the substrate: {@code /v1/peers/{name}}.
 *
 * @param name          unique name.
 * @param device        its device id (0..4095), unique, not this device's.
 * @param endpoint      substrate address:port, "192.0.2.7:6081" or "[2001:db8::7]:6081".
 * @param publicKey     its WireGuard public key (base64 of 32 bytes, as {@code wg pubkey} prints it); required with wireguard.
 * @param innerAddress  its inner substrate address (IPv4 or IPv6 literal): the source of the overlay packets it
 *                      sends inside the tunnel, like a WireGuard AllowedIP /32 or /128; required with wireguard.
 * @param encryption    wireguard (the default) | none (plain Geneve/VXLAN: for a peer that cannot encrypt, such
 *                      as a kernel VXLAN device; the daemon warns at start).
 * @param encapsulation geneve | vxlan (default geneve).
 * @param allowedVnis   VNIs it may carry (empty: every network).
 * @param remoteChecksum remote checksum offload towards it (default false): TCP/UDP checksums left partial
 *                      by offloads go to it unfinished, flagged in a vsnic Geneve option (8 bytes more per
 *                      packet). Geneve only, and only for a vsnic device: others drop the critical option.
 * @param version       server-assigned.
 */
public record PeerResource(
    String name, Integer device, String endpoint, String publicKey, String innerAddress, String encryption, String encapsulation,
    List<Integer> allowedVnis, Boolean remoteChecksum, Long version) implements Resource<PeerResource>
{
    public PeerResource
    {
        allowedVnis = allowedVnis == null ? null : List.copyOf(allowedVnis);
    }

    @Override
    public String key()
    {
        return name;
    }

    @Override
    public PeerResource withVersion(final Long next)
    {
        return new PeerResource(name, device, endpoint, publicKey, innerAddress, encryption, encapsulation, allowedVnis, remoteChecksum,
            next);
    }
}
