package io.vsnic.orchestrator.model;

/**
 * A security group rule.
 *
 * @param direction ingress | egress.
 * @param protocol  any | tcp | udp | icmp | icmpv6 | a protocol number 0..255 (default any).
 * @param ports     destination port "80" or range "5000-5999" (tcp/udp only; default all).
 * @param cidr      remote prefix ("0.0.0.0/0", "fd00::/64").
 */
public record Rule(String direction, String protocol, String ports, String cidr)
{
}
