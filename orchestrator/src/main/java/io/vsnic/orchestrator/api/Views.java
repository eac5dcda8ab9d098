package io.vsnic.orchestrator.api;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vsnic.dataplane.status.CounterSnapshot;
import io.vsnic.dataplane.substrate.UdpSubstrate;
import io.vsnic.dataplane.substrate.WireguardPeerStatus;
import io.vsnic.orchestrator.daemon.Daemon;
import io.vsnic.orchestrator.daemon.Reconciler;
import io.vsnic.orchestrator.journal.Journal;
import io.vsnic.orchestrator.model.DesiredState;
import io.vsnic.orchestrator.model.Json;
import io.vsnic.orchestrator.model.NetworkResource;
import io.vsnic.orchestrator.model.PeerResource;
import io.vsnic.orchestrator.model.VnicResource;

/**
 * Read views assembled from the components: a vNIC with its attachment and counters, the status,
 * and the topology.
 */
final class Views
{
    private static final String VERSION = readVersion();

    private final Daemon daemon;

    Views(final Daemon daemon)
    {
        this.daemon = daemon;
    }

    private static String readVersion()
    {
        final Properties properties = new Properties();
        try (InputStream in = Views.class.getResourceAsStream("/META-INF/vsnic/version.properties"))
        {
            if (in != null)
            {
                properties.load(in);
            }
        }
        catch (final IOException ex)
        {
            return "unknown";
        }
        return properties.getProperty("version", "unknown");
    }

    /**
     * @return a peer as stored plus {@code session}: for encryption wireguard the WireGuard session
     *         (up, last handshake, bytes, current endpoint), for none {@code unencrypted}.
     */
    ObjectNode peer(final PeerResource peer)
    {
        final ObjectNode node = Json.mapper().valueToTree(peer);
        if (!"wireguard".equals(peer.encryption()))
        {
            node.put("session", "unencrypted");
            return node;
        }
        final ObjectNode session = node.putObject("session");
        final UdpSubstrate substrate = daemon.substrate();
        final WireguardPeerStatus status = substrate == null ? null : substrate.wireguardPeers().stream()
            .filter(s -> s.device() == peer.device()).findFirst().orElse(null);
        session.put("up", status != null && status.sessionUp());
        if (status != null)
        {
            if (status.lastHandshakeAgoMs() >= 0)
            {
                session.put("lastHandshakeAgoMs", status.lastHandshakeAgoMs());
            }
            else
            {
                session.putNull("lastHandshakeAgoMs");
            }
            session.put("rxBytes", status.rxBytes());
            session.put("txBytes", status.txBytes());
            session.put("endpoint", status.endpoint() == null ? null :
                status.endpoint().getAddress().getHostAddress() + ":" + status.endpoint().getPort());
            session.put("stagedFrames", status.stagedFrames());
        }
        return node;
    }

    /**
     * @return a vNIC as stored plus {@code status} (attachment, backend state) and {@code counters}
     *         (since it was attached).
     */
    ObjectNode vnic(final VnicResource vnic)
    {
        return vnic(vnic, daemon.dataPlane().counters());
    }

    /**
     * @return a vNIC view with counters from a given snapshot (one snapshot for a whole list).
     */
    ObjectNode vnic(final VnicResource vnic, final CounterSnapshot snapshot)
    {
        final ObjectNode node = Json.mapper().valueToTree(vnic);
        final Reconciler.Attached attached = daemon.controller().reconciler().attached().get(vnic.id());
        final ObjectNode status = node.putObject("status");
        status.put("attached", attached != null);
        final Reconciler.Pending pending = attached == null ? daemon.controller().reconciler().pending().get(vnic.id()) : null;
        final boolean elsewhere = vnic.device() != null && !vnic.device().equals(daemon.config().device().name());
        status.put("state", attached != null ? "attached" : pending != null ? "pending" : elsewhere ? "elsewhere" : "detached");
        if (pending != null)
        {
            status.put("reason", pending.reason());
            final io.vsnic.orchestrator.daemon.Tasks.Task task = daemon.tasks() == null ? null :
                daemon.tasks().activeFor("vnic/" + vnic.id());
            if (task != null)
            {
                status.put("task", task.id());
                status.put("attempts", task.attempts());
            }
        }
        if (attached != null)
        {
            status.set("backend", Json.mapper().valueToTree(attached.endpoint().status()));
            final long[] counters = counters(snapshot, attached);
            final ObjectNode c = node.putObject("counters");
            c.put("rxPackets", counters[0]);
            c.put("rxBytes", counters[1]);
            c.put("txPackets", counters[2]);
            c.put("txBytes", counters[3]);
            c.put("drops", counters[4]);
        }
        return node;
    }

    /**
     * @return rx packets, rx bytes, tx packets, tx bytes, drops of an attached vNIC since it was attached.
     */
    static long[] counters(final CounterSnapshot snapshot, final Reconciler.Attached attached)
    {
        final int port = attached.endpoint().port().id();
        final long[] base = attached.baseline();
        return new long[] {
            snapshot.portRxPackets(port) - base[0], snapshot.portRxBytes(port) - base[1], snapshot.portTxPackets(port) - base[2],
            snapshot.portTxBytes(port) - base[3], snapshot.portDrops(port) - base[4]};
    }

    ObjectNode status()
    {
        final DesiredState state = daemon.controller().state();
        final ObjectNode root = Json.mapper().createObjectNode();
        device(root);
        root.put("version", VERSION);
        root.put("state", "running");
        root.put("uptimeSeconds", (System.currentTimeMillis() - daemon.startedMs()) / 1000);
        root.put("revision", state.revision());
        final ObjectNode resources = root.putObject("resources");
        resources.put("networks", state.networks().size());
        resources.put("securityGroups", state.securityGroups().size());
        resources.put("vnics", state.vnics().size());
        resources.put("peers", state.peers().size());
        resources.put("enclaves", state.enclaves().size());
        final Journal.Replay replay = daemon.replay();
        final ObjectNode journal = root.putObject("journal");
        journal.put("directory", daemon.journal().directory().toString());
        journal.put("generation", daemon.journal().generation());
        journal.put("entriesReplayed", replay.entries().size());
        journal.put("entriesInGeneration", daemon.journal().entriesInGeneration());
        journal.put("bytesInGeneration", daemon.journal().bytesInGeneration());
        journal.put("corruptTail", replay.corruption());
        journal.put("quarantined", replay.quarantined() == null ? null : replay.quarantined().toString());
        final ObjectNode dataplane = root.putObject("dataplane");
        dataplane.put("workers", daemon.dataPlane().workerCount());
        dataplane.put("workerCpus", daemon.config().dataplane().workerCpus());
        final com.fasterxml.jackson.databind.node.ArrayNode pinned = dataplane.putArray("pinnedCpus");
        for (final int cpu : daemon.dataPlane().pinnedCpus())
        {
            if (cpu < 0)
            {
                pinned.addNull();
            }
            else
            {
                pinned.add(cpu);
            }
        }
        dataplane.put("frameSlots", daemon.config().dataplane().frameSlots());
        dataplane.put("connectionCapacity", daemon.config().dataplane().connectionCapacity());
        dataplane.put("attachedVnics", daemon.controller().reconciler().attached().size());
        dataplane.put("forwardingStateVersion", daemon.dataPlane().state().version());
        substrate(root);
        root.putObject("api").put("listen", daemon.apiAddress().getAddress().getHostAddress() + ":" + daemon.apiAddress().getPort());
        return root;
    }

    /**
     * @return {@code GET /v1/cluster}: this device's view of the cluster (standalone: {@code clustered: false}).
     */
    ObjectNode cluster()
    {
        final ObjectNode root = Json.mapper().createObjectNode();
        final io.vsnic.orchestrator.cluster.ClusterNode cluster = daemon.cluster();
        root.put("clustered", cluster != null);
        root.put("device", daemon.config().device().name());
        if (cluster == null)
        {
            return root;
        }
        final io.vsnic.orchestrator.cluster.ClusterState state = cluster.state();
        root.put("name", daemon.config().cluster().name());
        root.put("head", cluster.head());
        root.put("lastKnownHead", cluster.lastKnownHead());
        root.put("isHead", cluster.isHead());
        try
        {
            root.put("term", cluster.term());
            root.put("commitIndex", cluster.commitIndex());
            root.put("appliedIndex", cluster.appliedIndex());
        }
        catch (final java.io.IOException ex)
        {
            root.put("error", "the Raft member is closed: " + ex.getMessage());
        }
        root.put("revision", state.desired().revision());
        root.put("dataplaneRevision", daemon.localRevision());
        root.put("applyErrors", daemon.clusterApplyErrors());
        root.put("lastApplyError", daemon.lastClusterApplyError());
        root.put("tls", cluster.tls());
        root.set("members", Json.mapper().valueToTree(new java.util.ArrayList<>(state.members().values())));
        root.set("voters", Json.mapper().valueToTree(daemon.config().cluster().peers()));
        return root;
    }

    private void device(final ObjectNode root)
    {
        root.putObject("device").put("name", daemon.config().device().name()).put("id", daemon.config().device().id());
    }

    private void substrate(final ObjectNode root)
    {
        final ObjectNode substrate = root.putObject("substrate");
        final UdpSubstrate udp = daemon.substrate();
        substrate.put("enabled", udp != null);
        if (udp != null)
        {
            substrate.put("transport", daemon.config().substrate().transport());
            substrate.put("bindAddress", daemon.config().substrate().bindAddress());
            substrate.put("genevePort", udp.genevePort());
            substrate.put("vxlanPort", udp.vxlanPort());
            substrate.put("encrypted", false);
        }
    }

    ObjectNode topology()
    {
        final DesiredState state = daemon.controller().state();
        final ObjectNode root = Json.mapper().createObjectNode();
        device(root);
        root.put("revision", state.revision());
        substrate(root);
        final ArrayNode networks = root.putArray("networks");
        for (final NetworkResource network : state.networks().values())
        {
            final ObjectNode n = networks.addObject();
            n.put("name", network.name());
            n.put("vni", network.vni());
            n.put("mtu", network.mtu());
            n.set("subnets", Json.mapper().valueToTree(network.subnets()));
            n.put("routes", network.routes().size());
            n.put("remotes", network.remotes().size());
            final ArrayNode vnics = n.putArray("vnics");
            state.vnics().values().stream().filter(v -> v.network().equals(network.name())).forEach(v -> vnics.add(v.id()));
        }
        final ArrayNode vnics = root.putArray("vnics");
        for (final VnicResource vnic : state.vnics().values())
        {
            final ObjectNode v = vnics.addObject();
            v.put("id", vnic.id());
            v.put("network", vnic.network());
            v.put("ip", vnic.ip());
            v.put("ipv6", vnic.ipv6());
            v.put("mac", vnic.mac());
            v.put("port", vnic.port());
            v.put("backend", vnic.backend().type());
            v.put("attached", daemon.controller().reconciler().attached().containsKey(vnic.id()));
        }
        final ArrayNode peers = root.putArray("peers");
        // the peers the data plane has (in a cluster: derived from the membership, besides manual ones)
        for (final PeerResource peer : daemon.controller().forwardingState().peers().values())
        {
            final ObjectNode p = peers.addObject();
            p.put("name", peer.name());
            p.put("device", peer.device());
            p.put("endpoint", peer.endpoint());
            p.put("encapsulation", peer.encapsulation());
            p.put("encryption", peer.encryption());
            p.set("session", peer(peer).get("session"));
        }
        return root;
    }
}
