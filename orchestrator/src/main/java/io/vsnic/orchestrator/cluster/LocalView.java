package io.vsnic.orchestrator.cluster;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import io.vsnic.orchestrator.model.DesiredState;
import io.vsnic.orchestrator.model.Kind;
import io.vsnic.orchestrator.model.NetworkResource;
import io.vsnic.orchestrator.model.PeerResource;
import io.vsnic.orchestrator.model.Remote;
import io.vsnic.orchestrator.model.VnicResource;

/**
 * What one device forwards, derived from the replicated state: the vNICs placed on it, every
 * network and security group, a peer for every other member with a substrate endpoint (its device
 * id, endpoint and WireGuard key), and in every network a remote location (IP and MAC to device
 * id) for every vNIC that lives on another member. Manually configured peers and remotes stay and
 * win over derived ones with the same device id or IP.
 */
public final class LocalView
{
    private LocalView()
    {
    }

    /**
     * @param state  the replicated state.
     * @param device this device's name.
     * @param selfId this device's id.
     * @return the desired state this device reconciles its data plane to (same revision).
     */
    public static DesiredState derive(final ClusterState state, final String device, final int selfId)
    {
        final DesiredState desired = state.desired();
        DesiredState local = desired;
        final Map<String, Integer> deviceIds = new HashMap<>();
        state.members().values().forEach(m -> deviceIds.put(m.name(), m.id()));
        // vNICs placed elsewhere are not attached here
        for (final VnicResource vnic : desired.vnics().values())
        {
            if (vnic.device() != null && !vnic.device().equals(device))
            {
                local = local.without(Kind.VNIC, vnic.id());
            }
        }
        final Member self = state.members().get(device);
        // peers: manual ones (never this device), then one per other member with a substrate endpoint
        final Set<Integer> peerIds = new HashSet<>();
        for (final PeerResource peer : desired.peers().values())
        {
            if (peer.device() != null && peer.device() == selfId)
            {
                local = local.without(Kind.PEER, peer.name());
            }
            else
            {
                peerIds.add(peer.device());
            }
        }
        for (final Member member : state.members().values())
        {
            if (member.name().equals(device) || member.substrate() == null || peerIds.contains(member.id()) ||
                desired.peers().containsKey(member.name()))
            {
                continue;
            }
            peerIds.add(member.id());
            // WireGuard when both ends have an encrypted substrate; plain Geneve only between devices without one.
            // Members are vsnic devices: remote checksum offload between them.
            final boolean encrypted = self != null && self.publicKey() != null && member.publicKey() != null &&
                member.innerAddress() != null;
            local = local.with(Kind.PEER, new PeerResource(member.name(), member.id(), member.substrate(),
                encrypted ? member.publicKey() : null, encrypted ? member.innerAddress() : null, encrypted ? "wireguard" : "none",
                "geneve", List.of(), true, desired.revision()));
        }
        // remotes: every vNIC on another member (reachable through a peer) in each network
        for (final NetworkResource network : desired.networks().values())
        {
            final List<Remote> remotes = new ArrayList<>(network.remotes() == null ? List.of() : network.remotes());
            final Set<String> ips = new HashSet<>();
            remotes.forEach(r -> ips.add(r.ip()));
            boolean added = false;
            for (final VnicResource vnic : desired.vnics().values())
            {
                if (!network.name().equals(vnic.network()) || vnic.device() == null || vnic.device().equals(device))
                {
                    continue;
                }
                final Integer id = deviceIds.get(vnic.device());
                if (id == null || !peerIds.contains(id))
                {
                    continue;
                }
                for (final String ip : new String[] {vnic.ip(), vnic.ipv6()})
                {
                    if (ip != null && ips.add(ip))
                    {
                        remotes.add(new Remote(ip, vnic.mac(), id));
                        added = true;
                    }
                }
            }
            if (added)
            {
                local = local.with(Kind.NETWORK, network.withRemotes(remotes));
            }
        }
        return local.withRevision(desired.revision());
    }
}
