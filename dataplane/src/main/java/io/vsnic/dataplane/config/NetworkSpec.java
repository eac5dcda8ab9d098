package io.vsnic.dataplane.config;

import java.util.List;

/**
 * A virtual network (VCN): isolated from every other network; no lookup in one sees another's entries.
 *
 * @param name     unique name.
 * @param vni      24-bit virtual network identifier carried in the overlay (unique).
 * @param mtuBytes IP MTU inside the network (576..9000).
 * @param subnets  one or more subnets with their gateways.
 * @param routes   static routes (connected subnet routes are implicit).
 * @param remotes  addresses located on other devices.
 * @param dnsServers IPv4 DNS servers handed to VMs by DHCP (may be empty).
 */
public record NetworkSpec(
    String name, int vni, int mtuBytes, List<SubnetSpec> subnets, List<RouteSpec> routes, List<RemoteSpec> remotes,
    List<String> dnsServers)
{
    public NetworkSpec
    {
        subnets = List.copyOf(subnets);
        routes = List.copyOf(routes);
        remotes = List.copyOf(remotes);
        dnsServers = List.copyOf(dnsServers);
    }

    /**
     * A network without DNS servers for DHCP.
     */
    public NetworkSpec(
        final String name, final int vni, final int mtuBytes, final List<SubnetSpec> subnets, final List<RouteSpec> routes,
        final List<RemoteSpec> remotes)
    {
        this(name, vni, mtuBytes, subnets, routes, remotes, List.of());
    }

    /**
     * A network without static routes or remotes.
     */
    public NetworkSpec(final String name, final int vni, final int mtuBytes, final List<SubnetSpec> subnets)
    {
        this(name, vni, mtuBytes, subnets, List.of(), List.of(), List.of());
    }
}
