package io.vsnic.dataplane.config;

/**
 * A subnet of a network: its CIDR (IPv4 or IPv6) and the gateway address the data plane answers for.
 *
 * @param cidr    e.g. "10.0.1.0/24" or "fd00:1::/64".
 * @param gateway an address inside the subnet, e.g. "10.0.1.1".
 */
public record SubnetSpec(String cidr, String gateway)
{
}
