package io.vsnic.orchestrator.api;

import java.util.Map;

import io.vsnic.dataplane.status.CounterSnapshot;
import io.vsnic.dataplane.status.DropReason;
import io.vsnic.dataplane.substrate.UdpSubstrate;
import io.vsnic.dataplane.table.ForwardingState;
import io.vsnic.orchestrator.daemon.Daemon;
import io.vsnic.orchestrator.daemon.DeviceController;
import io.vsnic.orchestrator.daemon.Reconciler;
import io.vsnic.orchestrator.model.DesiredState;
import io.vsnic.orchestrator.model.NetworkResource;
import io.vsnic.orchestrator.model.VnicResource;

/**
 * {@code GET /metrics}: every data plane counter in the Prometheus text exposition format 0.0.4,
 * read from one {@link CounterSnapshot}: per vNIC (labels vnic, network; counted since the vNIC was
 * attached), per network, per drop reason (every reason, zeros included, so series never appear
 * out of nowhere), the overlay port, the substrate sockets, and the control plane's own state.
 */
public final class Metrics
{
    private Metrics()
    {
    }

    /**
     * @return the exposition text.
     */
    public static String render(final Daemon daemon)
    {
        final StringBuilder out = new StringBuilder(16_384);
        final CounterSnapshot counters = daemon.dataPlane().counters();
        final DesiredState state = daemon.controller().state();
        final Map<String, Reconciler.Attached> attached = daemon.controller().reconciler().attached();
        final String device = daemon.config().device().name();

        final String[][] vnicMetrics = {
            {"vsnic_vnic_rx_packets_total", "Frames received from the VM side of a vNIC."},
            {"vsnic_vnic_rx_bytes_total", "Bytes received from the VM side of a vNIC."},
            {"vsnic_vnic_tx_packets_total", "Frames sent to the VM side of a vNIC."},
            {"vsnic_vnic_tx_bytes_total", "Bytes sent to the VM side of a vNIC."},
            {"vsnic_vnic_drops_total", "Frames from a vNIC that were dropped (any reason)."},
        };
        for (int m = 0; m < vnicMetrics.length; m++)
        {
            header(out, vnicMetrics[m][0], vnicMetrics[m][1], "counter");
            for (final VnicResource vnic : state.vnics().values())
            {
                final Reconciler.Attached a = attached.get(vnic.id());
                if (a != null)
                {
                    sample(out, vnicMetrics[m][0], Views.counters(counters, a)[m], "vnic", vnic.id(), "network", vnic.network());
                }
            }
        }

        header(out, "vsnic_vnic_endpoint_total", "A vNIC endpoint's own counters (TAP or QEMU socket), by label: "
            + "rx_pool_exhausted, rx_super_frames, rx_bad_vnet_header, tx_errors, ... (vnic/README.md).", "counter");
        for (final VnicResource vnic : state.vnics().values())
        {
            final Reconciler.Attached a = attached.get(vnic.id());
            if (a != null)
            {
                for (final Map.Entry<String, Long> counter : a.endpoint().counters().entrySet())
                {
                    sample(out, "vsnic_vnic_endpoint_total", counter.getValue(), "vnic", vnic.id(), "network", vnic.network(),
                        "counter", counter.getKey());
                }
            }
        }

        final ForwardingState forwarding = daemon.dataPlane().state();
        final String[][] networkMetrics = {
            {"vsnic_network_rx_packets_total", "Frames that entered a network."},
            {"vsnic_network_rx_bytes_total", "Bytes that entered a network."},
            {"vsnic_network_tx_packets_total", "Frames that a network delivered."},
            {"vsnic_network_tx_bytes_total", "Bytes that a network delivered."},
        };
        for (int m = 0; m < networkMetrics.length; m++)
        {
            header(out, networkMetrics[m][0], networkMetrics[m][1], "counter");
            for (final NetworkResource network : state.networks().values())
            {
                final int index = forwarding.networkIndex(network.name());
                if (index < 0)
                {
                    continue;
                }
                final int slot = forwarding.network(index).counterSlot();
                final long value = switch (m)
                {
                    case 0 -> counters.networkRxPackets(slot);
                    case 1 -> counters.networkRxBytes(slot);
                    case 2 -> counters.networkTxPackets(slot);
                    default -> counters.networkTxBytes(slot);
                };
                sample(out, networkMetrics[m][0], value, "network", network.name(), "vni", Integer.toString(network.vni()));
            }
        }

        header(out, "vsnic_dataplane_drops_total", "Frames the data plane dropped, by reason.", "counter");
        for (final DropReason reason : DropReason.values())
        {
            if (reason != DropReason.NONE)
            {
                sample(out, "vsnic_dataplane_drops_total", counters.drops(reason), "reason", reason.label());
            }
        }
        counter(out, "vsnic_dataplane_rx_frames_total", "Frames the workers received from every port.", counters.rxFrames());
        counter(out, "vsnic_dataplane_tx_frames_total", "Frames the workers handed to every port.", counters.txFrames());
        counter(out, "vsnic_dataplane_local_answers_total", "ARP, neighbour and echo answers sent by the data plane.",
            counters.localAnswers());
        counter(out, "vsnic_dataplane_icmp_errors_sent_total", "ICMP errors sent (unreachable, time exceeded, too big).",
            counters.icmpErrorsSent());
        counter(out, "vsnic_dataplane_flows_created_total", "Connections entered into the connection table.",
            counters.flowsCreated());
        counter(out, "vsnic_dataplane_super_frames_segmented_total", "Offload super-frames cut into segments (software TSO/USO).",
            counters.superFramesSegmented());
        counter(out, "vsnic_dataplane_segments_built_total", "Segments cut from those super-frames.", counters.segmentsBuilt());
        counter(out, "vsnic_dataplane_super_frames_coalesced_total", "Super-frames built by coalescing segments (software GRO).",
            counters.superFramesCoalesced());
        counter(out, "vsnic_dataplane_segments_coalesced_total", "Segments merged into an earlier segment (one frame fewer each).",
            counters.segmentsCoalesced());

        final int overlay = DeviceController.OVERLAY_PORT;
        counter(out, "vsnic_overlay_rx_packets_total", "Decapsulated frames received from peer devices.",
            counters.portRxPackets(overlay));
        counter(out, "vsnic_overlay_rx_bytes_total", "Bytes of decapsulated frames received from peer devices.",
            counters.portRxBytes(overlay));
        counter(out, "vsnic_overlay_tx_packets_total", "Frames sent towards peer devices.", counters.portTxPackets(overlay));
        counter(out, "vsnic_overlay_tx_bytes_total", "Bytes of frames sent towards peer devices.", counters.portTxBytes(overlay));
        counter(out, "vsnic_overlay_drops_total", "Frames from peer devices that were dropped.", counters.portDrops(overlay));

        final UdpSubstrate substrate = daemon.substrate();
        if (substrate != null)
        {
            counter(out, "vsnic_substrate_rx_datagrams_total", "UDP datagrams received on the substrate.", substrate.rxDatagrams());
            counter(out, "vsnic_substrate_rx_bytes_total", "UDP payload bytes received on the substrate.", substrate.rxBytes());
            counter(out, "vsnic_substrate_tx_datagrams_total", "UDP datagrams sent on the substrate.", substrate.txDatagrams());
            counter(out, "vsnic_substrate_tx_bytes_total", "UDP payload bytes sent on the substrate.", substrate.txBytes());
            counter(out, "vsnic_substrate_udp_gso_messages_total",
                "UDP GSO sends on the substrate (each several datagrams of one super-frame).", substrate.udpGsoMessages());
            counter(out, "vsnic_substrate_chained_datagrams_total",
                "Datagrams sent as chained segments: headers and payload as two iovecs, the payload not copied in vsnic.",
                substrate.chainedDatagrams());
            counter(out, "vsnic_substrate_udp_gro_messages_total",
                "Substrate receives that held several datagrams (UDP GRO).", substrate.udpGroMessages());
            header(out, "vsnic_substrate_rx_queue_datagrams_total",
                "UDP datagrams read by each substrate receive queue (SO_REUSEPORT socket group; each its own worker).", "counter");
            for (int queue = 0; queue < substrate.receiveQueueCount(); queue++)
            {
                sample(out, "vsnic_substrate_rx_queue_datagrams_total", substrate.rxQueueDatagrams(queue), "queue",
                    Integer.toString(queue));
            }
            header(out, "vsnic_substrate_drops_total", "Datagrams the substrate dropped, by reason.", "counter");
            for (final DropReason reason : new DropReason[] {DropReason.UNKNOWN_PEER, DropReason.VNI_NOT_ALLOWED,
                DropReason.POOL_EXHAUSTED, DropReason.OVERSIZE, DropReason.SUBSTRATE_RX_QUEUE_FULL, DropReason.SUBSTRATE_TX_ERROR,
                DropReason.WG_MALFORMED, DropReason.WG_BAD_MAC, DropReason.WG_UNKNOWN_KEY, DropReason.WG_COOKIE_REQUIRED,
                DropReason.WG_STALE_HANDSHAKE, DropReason.WG_UNKNOWN_INDEX, DropReason.WG_DECRYPT_FAILED, DropReason.WG_REPLAY,
                DropReason.WG_EXPIRED, DropReason.WG_INNER_SOURCE, DropReason.WG_INNER_NOT_OVERLAY, DropReason.WG_STAGED_FULL,
                DropReason.WG_HANDSHAKE_GAVE_UP, DropReason.WG_HANDSHAKE_BACKLOG})
            {
                sample(out, "vsnic_substrate_drops_total", substrate.drops(reason), "reason", reason.label());
            }
            kernelUdpErrors(out);
        }

        final io.vsnic.orchestrator.flows.FlowLogStore flows = daemon.flowLogs();
        gauge(out, "vsnic_flow_log_enabled", "1 when flow logs are written.", flows == null ? 0 : 1);
        if (flows != null)
        {
            counter(out, "vsnic_flow_log_overflow_total",
                "Flow records dropped because a worker's hand-off ring was full (the data plane never waits).",
                flows.flowLog().overflows());
            counter(out, "vsnic_flow_log_records_total", "Flow records written to the flow log queue.", flows.written());
            counter(out, "vsnic_flow_log_flows_ended_total", "Flows the collector reported ended.", flows.flowLog().ended());
            counter(out, "vsnic_flow_log_cycles_deleted_total", "Flow log roll-cycle files deleted by the retention.",
                flows.cyclesDeleted());
            counter(out, "vsnic_flow_log_errors_total", "Flow log collector or write failures (each logged).", flows.writeErrors());
        }
        counter(out, "vsnic_capture_frames_total", "Frames written by vNIC captures.", daemon.capturedFrames());
        counter(out, "vsnic_capture_dropped_total", "Frames a vNIC capture dropped because its ring was full.",
            daemon.captureDrops());

        header(out, "vsnic_peer_info", "Configured peer devices (value 1).", "gauge");
        state.peers().values().forEach(peer -> sample(out, "vsnic_peer_info", 1, "peer", peer.name(), "device",
            Integer.toString(peer.device()), "endpoint", peer.endpoint(), "encapsulation", peer.encapsulation(),
            "encryption", peer.encryption()));

        header(out, "vsnic_info", "This device (value 1).", "gauge");
        sample(out, "vsnic_info", 1, "device", device, "device_id", Integer.toString(daemon.config().device().id()));
        gauge(out, "vsnic_desired_state_revision", "Revision of the desired state (accepted changes).", state.revision());
        header(out, "vsnic_resources", "Resources in the desired state, by kind.", "gauge");
        sample(out, "vsnic_resources", state.networks().size(), "kind", "network");
        sample(out, "vsnic_resources", state.securityGroups().size(), "kind", "security_group");
        sample(out, "vsnic_resources", state.vnics().size(), "kind", "vnic");
        sample(out, "vsnic_resources", state.peers().size(), "kind", "peer");
        sample(out, "vsnic_resources", state.enclaves().size(), "kind", "enclave");
        counter(out, "vsnic_journal_entries_total", "Journal entries written since the daemon started.",
            daemon.controller().journalEntries());
        gauge(out, "vsnic_journal_corrupt_tail", "1 when the journal replay at start cut off a corrupt or torn tail.",
            daemon.replay().corrupt() ? 1 : 0);
        final io.vsnic.orchestrator.daemon.Tasks tasks = daemon.tasks();
        if (tasks != null)
        {
            gauge(out, "vsnic_vnics_pending", "vNICs accepted whose backend cannot be opened yet (a task retries each).",
                daemon.controller().reconciler().pending().size());
            header(out, "vsnic_tasks", "The reconciler's long-running tasks kept, by kind and state.", "gauge");
            for (final String kind : java.util.List.of(io.vsnic.orchestrator.daemon.Tasks.VNIC_ATTACH,
                io.vsnic.orchestrator.daemon.Tasks.PEER_HANDSHAKE))
            {
                for (final String taskState : java.util.List.of(io.vsnic.orchestrator.daemon.Tasks.PENDING,
                    io.vsnic.orchestrator.daemon.Tasks.RUNNING, io.vsnic.orchestrator.daemon.Tasks.SUCCEEDED,
                    io.vsnic.orchestrator.daemon.Tasks.FAILED, io.vsnic.orchestrator.daemon.Tasks.CANCELLED))
                {
                    sample(out, "vsnic_tasks", tasks.list().stream().filter(t -> t.kind().equals(kind) &&
                        t.state().equals(taskState)).count(), "kind", kind, "state", taskState);
                }
            }
            counter(out, "vsnic_task_journal_failures_total", "Task changes that could not be written to the task journal.",
                tasks.journalFailures());
        }
        gauge(out, "vsnic_uptime_seconds", "Seconds since the daemon started.",
            (System.currentTimeMillis() - daemon.startedMs()) / 1000);
        header(out, "vsnic_api_auth_failures_total", "API requests or TLS connections refused for missing or invalid credentials.",
            "counter");
        for (final ApiAuth.Failure failure : ApiAuth.Failure.values())
        {
            sample(out, "vsnic_api_auth_failures_total", daemon.apiAuth().failures(failure), "reason", failure.name());
        }
        final io.vsnic.orchestrator.cluster.ClusterNode cluster = daemon.cluster();
        if (cluster != null)
        {
            gauge(out, "vsnic_cluster_head", "1 while this device is the cluster's head (Raft leader).", cluster.isHead() ? 1 : 0);
            gauge(out, "vsnic_cluster_head_known", "1 while this device knows a head (0: election running or cut off).",
                cluster.head() == null ? 0 : 1);
            gauge(out, "vsnic_cluster_members", "Devices in the replicated membership.", cluster.state().members().size());
            try
            {
                gauge(out, "vsnic_cluster_term", "Current Raft term.", cluster.term());
                gauge(out, "vsnic_cluster_commit_index", "Raft commit index known to this device.", cluster.commitIndex());
                gauge(out, "vsnic_cluster_applied_index", "Raft log index applied on this device.", cluster.appliedIndex());
            }
            catch (final java.io.IOException ex)
            {
                // the member is closing: no indices
            }
            gauge(out, "vsnic_cluster_dataplane_revision", "Revision of the replicated state this device's data plane runs.",
                daemon.localRevision());
            counter(out, "vsnic_cluster_apply_errors_total", "Replicated states this device could not apply to its data plane.",
                daemon.clusterApplyErrors());
        }
        return out.toString();
    }

    /**
     * The kernel's UDP error counters of this network namespace ({@code /proc/net/snmp}): datagrams it
     * dropped before the substrate sockets read them (a full receive buffer) or when a send found the
     * buffer full. Namespace-wide, so they are the substrate's own when vsnicd has the namespace to
     * itself (the lab's devices); drops vsnic cannot count itself.
     */
    private static void kernelUdpErrors(final StringBuilder out)
    {
        final java.util.List<String> lines;
        try
        {
            lines = java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/net/snmp"));
        }
        catch (final java.io.IOException | RuntimeException ex)
        {
            return;                                  // not Linux, or no procfs: the metric is left out
        }
        header(out, "vsnic_substrate_kernel_udp_errors_total",
            "UDP datagrams the kernel dropped in this network namespace (/proc/net/snmp), by counter and family.", "counter");
        for (int i = 0; i + 1 < lines.size(); i++)
        {
            final String[] names = lines.get(i).trim().split("\\s+");
            final String[] values = lines.get(i + 1).trim().split("\\s+");
            if (names.length != values.length || !names[0].equals(values[0]) || !(names[0].equals("Udp:") || names[0].equals("UdpLite:")))
            {
                continue;
            }
            for (int k = 1; k < names.length; k++)
            {
                if (names[k].equals("InErrors") || names[k].equals("RcvbufErrors") || names[k].equals("SndbufErrors"))
                {
                    try
                    {
                        sample(out, "vsnic_substrate_kernel_udp_errors_total", Long.parseLong(values[k]), "counter", names[k],
                            "protocol", names[0].equals("Udp:") ? "udp" : "udplite");
                    }
                    catch (final NumberFormatException ex)
                    {
                        // a line of another shape: skipped
                    }
                }
            }
            i++;
        }
        try
        {
            for (final String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/net/snmp6")))
            {
                final String[] field = line.trim().split("\\s+");
                if (field.length == 2 && (field[0].equals("Udp6InErrors") || field[0].equals("Udp6RcvbufErrors") ||
                    field[0].equals("Udp6SndbufErrors")))
                {
                    sample(out, "vsnic_substrate_kernel_udp_errors_total", Long.parseLong(field[1]), "counter",
                        field[0].substring("Udp6".length()), "protocol", "udp6");
                }
            }
        }
        catch (final java.io.IOException | RuntimeException ex)
        {
            // no IPv6 in this kernel or namespace: only the IPv4 counters
        }
    }

    private static void header(final StringBuilder out, final String name, final String help, final String type)
    {
        out.append("# HELP ").append(name).append(' ').append(help).append('\n');
        out.append("# TYPE ").append(name).append(' ').append(type).append('\n');
    }

    private static void counter(final StringBuilder out, final String name, final String help, final long value)
    {
        header(out, name, help, "counter");
        out.append(name).append(' ').append(value).append('\n');
    }

    private static void gauge(final StringBuilder out, final String name, final String help, final long value)
    {
        header(out, name, help, "gauge");
        out.append(name).append(' ').append(value).append('\n');
    }

    private static void sample(final StringBuilder out, final String name, final long value, final String... labels)
    {
        out.append(name).append('{');
        for (int i = 0; i < labels.length; i += 2)
        {
            if (i > 0)
            {
                out.append(',');
            }
            out.append(labels[i]).append("=\"");
            escape(out, labels[i + 1]);
            out.append('"');
        }
        out.append("} ").append(value).append('\n');
    }

    private static void escape(final StringBuilder out, final String value)
    {
        for (int i = 0; i < value.length(); i++)
        {
            final char c = value.charAt(i);
            switch (c)
            {
                case '\\' -> out.append("\\\\");
                case '"' -> out.append("\\\"");
                case '\n' -> out.append("\\n");
                default -> out.append(c);
            }
        }
    }
}
