package io.vsnic.orchestrator.model;

import java.util.List;

/**
 * A virtual network: {@code /v1/networks/{name}}.
 *
 * @param name    unique name (1..63 of [A-Za-z0-9._-]).
 * @param vni     24-bit VNI, unique on the device.
 * @param mtu     IP MTU inside the network (576..9000; default 1500).
 * @param subnets one or more subnets.
 * @param routes  static routes (default none).
 * @param remotes addresses on other devices (default none).
 * @param version server-assigned: the revision that last changed it (ignored on input).
 */
public record NetworkResource(
    String name, Integer vni, Integer mtu, List<Subnet> subnets, List<Route> routes, List<Remote> remotes, Long version)
    implements Resource<NetworkResource>
{
    public NetworkResource
    {
        subnets = subnets == null ? null : List.copyOf(subnets);
        routes = routes == null ? null : List.copyOf(routes);
        remotes = remotes == null ? null : List.copyOf(remotes);
    }

    @Override
    public String key()
    {
        return name;
    }

    @Override
    public NetworkResource withVersion(final Long next)
    {
        return new NetworkResource(name, vni, mtu, subnets, routes, remotes, next);
    }

    /**
     * @return a copy with other routes.
     */
    public NetworkResource withRoutes(final List<Route> next)
    {
        return new NetworkResource(name, vni, mtu, subnets, next, remotes, version);
    }

    /**
     * @return a copy with other remotes.
     */
    public NetworkResource withRemotes(final List<Remote> next)
    {
        return new NetworkResource(name, vni, mtu, subnets, routes, next, version);
    }
}
