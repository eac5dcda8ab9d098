package io.vsnic.orchestrator.model;

import java.util.List;

/**
 * Another device on the substrate: {@code /v1/peers/{name}}.
 *
 * @param name          unique name.
 * @param device        its device id (0..4095), unique, not this device's.
 * @param endpoint      substrate address:port, "192.0.2.7:6081" or "[2001:db8::7]:6081".
 * @param publicKey     its WireGuard public key (base64 of 32 bytes), optional.
 * @param encryption    none | wireguard (only none is wired in this build; default none).
 * @param encapsulation geneve | vxlan (default geneve).
 * @param allowedVnis   VNIs it may carry (empty: every network).
 * @param version       server-assigned.
 */
public record PeerResource(
    String name, Integer device, String endpoint, String publicKey, String encryption, String encapsulation,
    List<Integer> allowedVnis, Long version) implements Resource<PeerResource>
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
        return new PeerResource(name, device, endpoint, publicKey, encryption, encapsulation, allowedVnis, next);
    }
}
