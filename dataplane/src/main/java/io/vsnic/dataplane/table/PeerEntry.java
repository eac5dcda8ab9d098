package io.vsnic.dataplane.table;

import java.net.InetSocketAddress;
import java.util.Arrays;

import io.vsnic.dataplane.config.Encapsulation;

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

    PeerEntry(final int device, final String name, final InetSocketAddress endpoint, final Encapsulation encapsulation,
        final int[] allowedVnis)
    {
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
     * @return true when this peer may carry the VNI (every VNI when no list was configured).
     */
    public boolean allowsVni(final int vni)
    {
        return allowedVnis.length == 0 || Arrays.binarySearch(allowedVnis, vni) >= 0;
    }
}
