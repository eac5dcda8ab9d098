package io.vsnic.dataplane.config;

/**
 * A static route of a network.
 *
 * @param prefix destination prefix, IPv4 or IPv6 ("0.0.0.0/0", "192.168.0.0/16", "fd00:2::/48").
 * @param target where matching packets go.
 */
public record RouteSpec(String prefix, RouteTarget target)
{
}
