package io.vsnic.orchestrator.model;

import java.util.List;

/**
 * A vNIC: {@code /v1/vnics/{id}}. Creating one attaches it (a data plane port and its VM-side
 * backend); deleting it detaches it.
 *
 * @param id             unique id (the hypervisor's interface id).
 * @param network        the network it joins.
 * @param ip             its IPv4 address (optional), inside an IPv4 subnet of the network.
 * @param ipv6           its IPv6 address (optional), inside an IPv6 subnet.
 * @param mac            its MAC; when omitted, a stable locally administered one derived from device and id.
 * @param securityGroups its security groups (none: ingress denied, egress allowed).
 * @param backend        the VM side: {@code {"type": "memory"}}, ...
 * @param antiSpoof      drop frames whose source MAC/IP is not the vNIC's (default true).
 * @param device         the device it lives on (cluster mode; default: the device that took the request).
 *                       Standalone, it is omitted or this device's name.
 * @param port           server-assigned data plane port id, stable for the vNIC's life.
 * @param version        server-assigned.
 */
public record VnicResource(
    String id, String network, String ip, String ipv6, String mac, List<String> securityGroups, Backend backend,
    Boolean antiSpoof, String device, Integer port, Long version) implements Resource<VnicResource>
{
    public VnicResource
    {
        securityGroups = securityGroups == null ? null : List.copyOf(securityGroups);
    }

    @Override
    public String key()
    {
        return id;
    }

    @Override
    public VnicResource withVersion(final Long next)
    {
        return new VnicResource(id, network, ip, ipv6, mac, securityGroups, backend, antiSpoof, device, port, next);
    }

    /**
     * @return a copy with a port id (null to compare specs).
     */
    public VnicResource withPort(final Integer next)
    {
        return new VnicResource(id, network, ip, ipv6, mac, securityGroups, backend, antiSpoof, device, next, version);
    }

    /**
     * @return a copy placed on another device (null: unplaced).
     */
    public VnicResource withDevice(final String next)
    {
        return new VnicResource(id, network, ip, ipv6, mac, securityGroups, backend, antiSpoof, next, port, version);
    }
}
