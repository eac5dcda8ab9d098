package io.vsnic.dataplane.config;

import io.vsnic.dataplane.security.CompiledPolicy;

/**
 * A data plane port: the orchestration-side endpoint of a vNIC.
 *
 * @param id          port id, 0..{@link io.vsnic.dataplane.table.ForwardingState#MAX_PORTS}-1, unique.
 * @param name        name for counters and logs (the vNIC id).
 * @param network     the network it belongs to.
 * @param mac         its MAC (low 48 bits), unicast.
 * @param ipv4        its IPv4 address, or null.
 * @param ipv6        its IPv6 address, or null.
 * @param policy      its compiled security groups.
 * @param antiSpoof   drop frames whose source MAC/IP is not the port's.
 */
public record PortSpec(
    int id, String name, String network, long mac, String ipv4, String ipv6, CompiledPolicy policy, boolean antiSpoof)
{
}
