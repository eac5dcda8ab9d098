package io.vsnic.orchestrator.model;

import java.util.List;
import java.util.Map;

/**
 * The declarative manifest ({@code vsnic apply -f FILE}, {@code POST /v1/apply}): the same sections as
 * the desired state. {@code device} is informational (checked against the daemon's name when given).
 *
 * @param device         optional {@code {"name": ...}}.
 * @param networks       networks with their routes and remotes.
 * @param securityGroups security groups.
 * @param vnics          vNICs.
 * @param peers          peers.
 * @param enclaves       service enclaves (docs/enclaves.md).
 */
public record Manifest(
    Map<String, Object> device, List<NetworkResource> networks, List<SecurityGroupResource> securityGroups,
    List<VnicResource> vnics, List<PeerResource> peers, List<EnclaveResource> enclaves)
{
    public Manifest
    {
        networks = networks == null ? List.of() : List.copyOf(networks);
        securityGroups = securityGroups == null ? List.of() : List.copyOf(securityGroups);
        vnics = vnics == null ? List.of() : List.copyOf(vnics);
        peers = peers == null ? List.of() : List.copyOf(peers);
        enclaves = enclaves == null ? List.of() : List.copyOf(enclaves);
    }

    /**
     * A manifest without enclaves.
     */
    public Manifest(
        final Map<String, Object> device, final List<NetworkResource> networks, final List<SecurityGroupResource> securityGroups,
        final List<VnicResource> vnics, final List<PeerResource> peers)
    {
        this(device, networks, securityGroups, vnics, peers, List.of());
    }
}
