package io.vsnic.dataplane.config;

import java.util.List;

/**
 * Another device on the substrate.
 *
 * @param device        device id (0..{@link io.vsnic.dataplane.table.ForwardingState#MAX_DEVICES}-1), unique.
 * @param name          name for counters and logs.
 * @param endpoint      substrate address and port, "192.0.2.7:6081" or "[2001:db8::7]:6081"; for a
 *                      WireGuard peer its WireGuard port (where its endpoint starts: it roams to the
 *                      source of the peer's last authenticated packet).
 * @param encapsulation Geneve or VXLAN towards this peer.
 * @param allowedVnis   VNIs this peer may send and receive; empty means every network of this device.
 * @param encryption    {@link Encryption#NONE} (plain overlay) or {@link Encryption#WIREGUARD}.
 * @param publicKey     the peer's WireGuard public key in base64 (as {@code wg pubkey} prints it);
 *                      required with WireGuard, else null.
 * @param innerAddress  the peer's inner substrate address (literal IPv4 or IPv6): the source of the
 *                      overlay packets it sends inside the tunnel, like a WireGuard AllowedIP /32 or
 *                      /128; required with WireGuard, else null.
 * @param remoteChecksum whether TCP/UDP checksums this device leaves partial (offloaded segments) go to
 *                      this peer partial, flagged in a Geneve option for the peer to finish or pass on to
 *                      its VM as {@code NEEDS_CSUM} (remote checksum offload between vsnic devices; the
 *                      outer UDP checksum or the WireGuard tag covers the bytes). Geneve only; the peer
 *                      must be a vsnic device (others drop the critical option).
 */
public record PeerSpec(
    int device, String name, String endpoint, Encapsulation encapsulation, List<Integer> allowedVnis,
    Encryption encryption, String publicKey, String innerAddress, boolean remoteChecksum)
{
    public PeerSpec
    {
        allowedVnis = List.copyOf(allowedVnis);
        if (encryption == null)
        {
            encryption = Encryption.NONE;
        }
    }

    /**
     * A peer without remote checksum offload.
     */
    public PeerSpec(
        final int device, final String name, final String endpoint, final Encapsulation encapsulation, final List<Integer> allowedVnis,
        final Encryption encryption, final String publicKey, final String innerAddress)
    {
        this(device, name, endpoint, encapsulation, allowedVnis, encryption, publicKey, innerAddress, false);
    }

    /**
     * @return this peer with remote checksum offload on or off.
     */
    public PeerSpec withRemoteChecksum(final boolean value)
    {
        return new PeerSpec(device, name, endpoint, encapsulation, allowedVnis, encryption, publicKey, innerAddress, value);
    }

    /**
     * A plaintext peer ({@link Encryption#NONE}).
     */
    public PeerSpec(
        final int device, final String name, final String endpoint, final Encapsulation encapsulation, final List<Integer> allowedVnis)
    {
        this(device, name, endpoint, encapsulation, allowedVnis, Encryption.NONE, null, null, false);
    }

    /**
     * A WireGuard peer.
     *
     * @return a spec with {@link Encryption#WIREGUARD}.
     */
    public static PeerSpec wireguard(
        final int device, final String name, final String endpoint, final Encapsulation encapsulation, final List<Integer> allowedVnis,
        final String publicKey, final String innerAddress)
    {
        return new PeerSpec(device, name, endpoint, encapsulation, allowedVnis, Encryption.WIREGUARD, publicKey, innerAddress, false);
    }
}
