package io.vsnic.dataplane.table;

import io.vsnic.dataplane.security.CompiledPolicy;

/**
 * A port as the workers see it in one snapshot: its network, addresses and compiled security policy.
 */
public final class PortEntry
{
    final int id;
    final String name;
    final int network;
    final long mac;
    final int ipv4;
    final boolean hasIpv4;
    final long ipv6High;
    final long ipv6Low;
    final boolean hasIpv6;
    final CompiledPolicy policy;
    final boolean antiSpoof;

    PortEntry(
        final int id, final String name, final int network, final long mac, final int ipv4, final boolean hasIpv4,
        final long ipv6High, final long ipv6Low, final boolean hasIpv6, final CompiledPolicy policy, final boolean antiSpoof)
    {
        this.id = id;
        this.name = name;
        this.network = network;
        this.mac = mac;
        this.ipv4 = ipv4;
        this.hasIpv4 = hasIpv4;
        this.ipv6High = ipv6High;
        this.ipv6Low = ipv6Low;
        this.hasIpv6 = hasIpv6;
        this.policy = policy;
        this.antiSpoof = antiSpoof;
    }

    public int id()
    {
        return id;
    }

    public String name()
    {
        return name;
    }

    /**
     * @return index of the port's network in the snapshot.
     */
    public int network()
    {
        return network;
    }

    public long mac()
    {
        return mac;
    }

    public int ipv4()
    {
        return ipv4;
    }

    public boolean hasIpv4()
    {
        return hasIpv4;
    }

    public long ipv6High()
    {
        return ipv6High;
    }

    public long ipv6Low()
    {
        return ipv6Low;
    }

    public boolean hasIpv6()
    {
        return hasIpv6;
    }

    public CompiledPolicy policy()
    {
        return policy;
    }

    public boolean antiSpoof()
    {
        return antiSpoof;
    }
}
