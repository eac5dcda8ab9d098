package io.vsnic.orchestrator.model;

/**
 * A subnet of a network.
 *
 * @param cidr    IPv4 or IPv6 prefix, host bits zero ("10.0.1.0/24", "fd00:1::/64").
 * @param gateway the gateway address inside it that the data plane answers for.
 */
public record Subnet(String cidr, String gateway)
{
}
