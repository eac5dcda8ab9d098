package io.vsnic.orchestrator.model;

import java.util.List;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * Where a route sends packets: {@code {"type": "port", "vnic": "vm1"}}, {@code {"type": "device",
 * "device": 7}}, {@code {"type": "ecmp", "members": [...]}}, {@code {"type": "blackhole"}} or
 * {@code {"type": "reject"}}. A port target names the vNIC (port ids are internal).
 *
 * @param type    port | device | ecmp | blackhole | reject.
 * @param vnic    for port: the vNIC id (in the same network).
 * @param device  for device: the peer device id.
 * @param members for ecmp: 1..64 port or device targets.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record RouteTarget(String type, String vnic, Integer device, List<RouteTarget> members)
{
    public RouteTarget
    {
        members = members == null ? null : List.copyOf(members);
    }
}
