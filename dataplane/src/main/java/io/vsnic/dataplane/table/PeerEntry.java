package io.vsnic.dataplane.table;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Arrays;

import io.vsnic.dataplane.config.Encapsulation;
import io.vsnic.dataplane.config.Encryption;

/**
 * A peer device as the workers and the substrate see it in one snapshot.
 */
public final class PeerEntry
{
    final int device;
    final String name;
    final InetSocketAddress endpoint;
    final Encapsulation encapsulation;
    final int[] allowedVnis;
    final Encryption encryption;
    final byte[] publicKey;
    final InetAddress innerAddress;
    final boolean remoteChecksum;

    PeerEntry(final int device, final String name, final InetSocketAddress endpoint, final Encapsulation encapsulation,
        final int[] allowedVnis, final Encryption encryption, final byte[] publicKey, final InetAddress innerAddress,
        final boolean remoteChecksum)
    {
        this.remoteChecksum = remoteChecksum;
        this.encryption = encryption;
        this.publicKey = publicKey;
        this.innerAddress = innerAddress;
        this.device = device;
        this.name = name;
        this.endpoint = endpoint;
        this.encapsulation = encapsulation;
        this.allowedVnis = allowedVnis;
        Arrays.sort(this.allowedVnis);
    }

    public int device()
    {
        return device;
    }

    public String name()
    {
        return name;
    }

    public InetSocketAddress endpoint()
    {
        return endpoint;
    }

    public Encapsulation encapsulation()
    {
        return encapsulation;
    }

    /**
     * @return whether partial TCP/UDP checksums go to this peer partial, in the remote checksum Geneve
     *     option ({@link io.vsnic.dataplane.config.PeerSpec#remoteChecksum()}).
     */
    public boolean remoteChecksum()
    {
        return remoteChecksum;
    }

    /**
     * @return how traffic with this peer is protected.
     */
    public Encryption encryption()
    {
        return encryption;
    }

    /**
     * @return a copy of the peer's WireGuard public key (32 bytes), or null for a plaintext peer.
     */
    public byte[] publicKey()
    {
        return publicKey == null ? null : publicKey.clone();
    }

    /**
     * @return the peer's inner substrate address (WireGuard peers), or null.
     */
    public InetAddress innerAddress()
    {
        return innerAddress;
    }

    /**
     * @return true when this peer may carry the VNI (every VNI when no list was configured).
     */
    public boolean allowsVni(final int vni)
    {
        return allowedVnis.length == 0 || Arrays.binarySearch(allowedVnis, vni) >= 0;
    }
}
