package io.vsnic.orchestrator.lab;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import io.vsnic.vnic.netns.NetNs;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A cluster of three real {@code vsnicd} processes in network namespaces ({@code vsnic lab up --devices 3
 * --cluster}: Raft over mutual TLS on the substrate, WireGuard-encrypted overlay, a TAP VM per device
 * attached through its device's API, no manual peers or remotes), through a partition and a head failover:
 * <ol>
 *   <li><b>Partition.</b> An nftables table in one non-head device's namespace drops every TCP segment to
 *       or from port {@value Lab#RAFT_PORT} (Raft/gRPC, its own server and its connections to the others).
 *       Nothing else is cut: the substrate's WireGuard UDP port {@value Lab#WIREGUARD_PORT} (the data plane)
 *       and the API on the namespace's loopback still work. A ping flow between the cut device's VM and the
 *       VM of the other non-head device runs throughout: it must lose nothing. The cut device refuses a
 *       write with 503 {@code no_quorum} naming the head it last knew; the other two accept a write
 *       meanwhile; after the table is deleted the cut device's applied index reaches the head's, it
 *       has that write, and the write it refused is on no device (not even later: the head refuses a
 *       request that arrives after its submitter's deadline).</li>
 *   <li><b>Failover.</b> A client sends 500 writes (networks) through one non-head device; after the
 *       first third the head gets SIGKILL. A new head is elected (time reported), every acknowledged write
 *       is on both survivors (linearizable reads), and a ping flow between the survivors' VMs runs through
 *       the failover (packets lost reported and checked: 0).</li>
 * </ol>
 * The numbers go to {@code target/cluster-lab.txt} and the test's output. Everything is removed
 * ({@code Lab.down}) also when the test fails.
 */
class ClusterLabTest
{
    private static final int WRITES = 500;
    /** 200 echo requests a second: a gap of 5 ms would show. */
    private static final String PING_INTERVAL = "0.005";
    /** Replies still in flight when a flow is stopped are not counted as lost: the last second of requests is left out. */
    private static final int PING_TAIL = 200;

    private final List<String> progress = new ArrayList<>();

    @BeforeEach
    void requireRoot()
    {
        // nft partitions a device
        LabTest.assumeLab("ping:iputils-ping", "nft:nftables");
    }

    @Test
    void shouldKeepForwardingThroughAPartitionAndAHeadFailover(@TempDir final Path temp) throws Exception
    {
        final String name = NetNs.uniqueName("o", 7);
        final List<PingFlow> flows = new ArrayList<>();
        final List<String> report = new ArrayList<>();
        try
        {
            final long upStart = System.nanoTime();
            final LabState state = Lab.up(new Lab.Spec(name, 3, 1, true, false, true), Lab.DaemonLauncher.sameJvm(), progress::add);
            report.add("lab up (3 clustered devices, 3 TAP VMs with DHCP): " + ms(upStart) + " ms");
            assertEquals(3, state.vms().size(), String.join("\n", progress));
            for (final LabState.Device device : state.devices())
            {
                final JsonNode view = Lab.clusterView(device);
                assertEquals(3, view.path("members").size(), view.toString());
                assertTrue(view.path("tls").asBoolean(), "Raft over mutual TLS: " + view);
                // nothing manual: the network has no remotes, the device no configured peers; it derived two peers
                final JsonNode network = Lab.api(device).getJson("/v1/networks/" + Lab.NETWORK);
                assertEquals(0, network.path("remotes").size(), network.toString());
                assertEquals(0, Lab.api(device).getJson("/v1/peers").path("items").size(), "no manual peers on d" + device.index());
                assertEquals(2, Lab.api(device).getJson("/v1/topology").path("peers").size(), "derived peers on d" + device.index());
            }

            // ---- partition: cut Raft (TCP 9480) at a device that is not the head; its VM keeps talking to another device's VM
            final int head = headIndex(state);
            final int cut = head % 3 + 1;
            final int other = 6 - head - cut;
            final LabState.Device cutDevice = state.device(cut);
            final PingFlow during = PingFlow.start(vm(state, cut), vm(state, other), temp.resolve("partition-ping.txt"));
            flows.add(during);
            during.awaitReplies(20);
            partition(cutDevice, true, temp);
            final long cutAt = System.nanoTime();
            final NamespaceHttp.Response refused = Lab.api(cutDevice).send("POST", "/v1/networks", network("cut-write", 3999));
            final long refusedMs = ms(cutAt);
            assertEquals(503, refused.status(), refused.text());
            assertTrue(refused.error().contains("no_quorum") && refused.error().contains("last known head: " + name + "-d" + head),
                "503 naming the head it last knew: " + refused.error());
            final NamespaceHttp.Response accepted = Lab.api(state.device(other)).send("POST", "/v1/networks", network("during-cut", 3998));
            assertEquals(201, accepted.status(), "the majority side still writes: " + accepted.text());
            final long headCommit = Lab.clusterView(state.device(head)).path("commitIndex").asLong();
            assertEquals(404, Lab.api(cutDevice).get("/v1/networks/during-cut").status(), "the cut device has not got it");
            assertEquals(404, Lab.api(state.device(head)).get("/v1/networks/cut-write").status(), "the refused write went nowhere");
            final long cutApplied = Lab.clusterView(cutDevice).path("appliedIndex").asLong();
            assertTrue(cutApplied < headCommit, "behind while cut: " + cutApplied + " < " + headCommit);
            partition(cutDevice, false, temp);
            final long healedAt = System.nanoTime();
            await("d" + cut + " catches up to the head's commit index " + headCommit, 60_000, () ->
                Lab.clusterView(cutDevice).path("appliedIndex").asLong() >= headCommit &&
                    Lab.api(cutDevice).get("/v1/networks/during-cut").status() == 200);
            final long catchUpMs = ms(healedAt);
            for (final LabState.Device device : state.devices())
            {
                assertEquals(404, Lab.api(device).get("/v1/networks/cut-write?consistent=true").status(),
                    "the write refused during the cut was not applied later either (d" + device.index() + ")");
            }
            final NamespaceHttp.Response afterHeal = Lab.api(cutDevice).send("POST", "/v1/networks", network("after-heal", 3997));
            assertEquals(201, afterHeal.status(), "writes through the healed device: " + afterHeal.text());
            during.stopAfter(Duration.ofSeconds(1));
            final PingFlow.Result partitionPing = during.result();
            report.add("partition of d" + cut + " (nft: TCP " + Lab.RAFT_PORT + " dropped both ways; head d" + head + "): write refused " +
                "with 503 after " + refusedMs + " ms; caught up " + catchUpMs + " ms after healing; VM flow d" + cut + "v1 -> d" + other +
                "v1: " + partitionPing.describe());
            assertEquals(0, partitionPing.lost(), "the data plane does not need the control plane: " + partitionPing.describe());

            // ---- failover: SIGKILL to the head during 500 writes through another device
            final int oldHead = headIndex(state);
            final int writer = oldHead % 3 + 1;
            final int survivor = 6 - oldHead - writer;
            final PingFlow across = PingFlow.start(vm(state, writer), vm(state, survivor), temp.resolve("failover-ping.txt"));
            flows.add(across);
            across.awaitReplies(20);
            final AtomicLong killedAt = new AtomicLong();
            final AtomicLong newHeadAt = new AtomicLong();
            final String oldHeadName = name + "-d" + oldHead;
            final long watchUntil = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
            final Thread watcher = Thread.ofPlatform().daemon().name("head-watch").start(() ->
            {
                while (!Thread.currentThread().isInterrupted() && newHeadAt.get() == 0 && System.nanoTime() < watchUntil)
                {
                    if (killedAt.get() != 0)
                    {
                        for (final int d : new int[] {writer, survivor})
                        {
                            try
                            {
                                final JsonNode head2 = Lab.api(state.device(d)).getJson("/v1/cluster").path("head");
                                if (head2.isTextual() && !head2.asText().equals(oldHeadName))
                                {
                                    newHeadAt.compareAndSet(0, System.nanoTime());
                                }
                            }
                            catch (final IOException ignored)
                            {
                                // asked again in 10 ms
                            }
                        }
                    }
                    Lab.sleep(10);
                }
            });
            final List<String> acknowledged = new ArrayList<>();
            final Map<Integer, Integer> refusals = new LinkedHashMap<>();
            long firstAckAfterKill = 0;
            final long writesStart = System.nanoTime();
            for (int i = 0; i < WRITES; i++)
            {
                if (i == WRITES / 3)
                {
                    ProcessHandle.of(state.device(oldHead).pid()).orElseThrow().destroyForcibly();
                    killedAt.set(System.nanoTime());
                }
                final String network = "w" + i;
                final NamespaceHttp.Response response = Lab.api(state.device(writer)).send("POST", "/v1/networks", network(network, 1000 + i));
                if (response.status() == 201)
                {
                    acknowledged.add(network);
                    if (killedAt.get() != 0 && firstAckAfterKill == 0)
                    {
                        firstAckAfterKill = System.nanoTime();
                    }
                }
                else
                {
                    assertEquals(503, response.status(), "a write is acknowledged or refused with 503: " + response.text());
                    refusals.merge(response.status(), 1, Integer::sum);
                }
            }
            final long writesMs = ms(writesStart);
            await("a new head", 30_000, () -> newHeadAt.get() != 0);
            watcher.interrupt();
            across.stopAfter(Duration.ofSeconds(1));
            final PingFlow.Result failoverPing = across.result();
            assertFalse(ProcessHandle.of(state.device(oldHead).pid()).map(ProcessHandle::isAlive).orElse(false), "the old head is dead");
            for (final int d : new int[] {writer, survivor})
            {
                final JsonNode list = Lab.api(state.device(d)).getJson("/v1/networks?consistent=true");
                final Set<String> names = new java.util.HashSet<>();
                list.path("items").forEach(n -> names.add(n.path("name").asText()));
                final List<String> missing = acknowledged.stream().filter(n -> !names.contains(n)).toList();
                assertEquals(List.of(), missing, "acknowledged writes missing on d" + d);
            }
            final String newHead = Lab.clusterView(state.device(writer)).path("head").asText();
            assertNotEquals(oldHeadName, newHead);
            report.add("failover: SIGKILL to head d" + oldHead + " after " + WRITES / 3 + " of " + WRITES + " writes through d" + writer +
                " (" + writesMs + " ms for all); new head " + newHead + " seen " + (newHeadAt.get() - killedAt.get()) / 1_000_000 +
                " ms after the kill, first write acknowledged " + (firstAckAfterKill - killedAt.get()) / 1_000_000 + " ms after it; " +
                acknowledged.size() + " acknowledged, " + refusals.getOrDefault(503, 0) + " refused (503), none lost; VM flow d" + writer +
                "v1 -> d" + survivor + "v1: " + failoverPing.describe());
            assertEquals(0, failoverPing.lost(), "established VM-to-VM flow across the failover: " + failoverPing.describe());
        }
        finally
        {
            flows.forEach(PingFlow::kill);
            Lab.down(name, progress::add);
            final String text = String.join("\n", report);
            System.out.println("ClusterLabTest:\n" + text);
            Files.writeString(Path.of("target", "cluster-lab.txt"), text + "\n", StandardCharsets.UTF_8);
        }
        assertTrue(Lab.namespaces(name).isEmpty(), "no namespace left: " + Lab.namespaces(name));
        assertFalse(Files.exists(Lab.directory(name)), "no lab directory left");
    }

    private static Map<String, Object> network(final String name, final int vni)
    {
        final int third = vni % 250;
        final int second = 16 + vni / 250;
        return Map.of("name", name, "vni", vni, "subnets",
            List.of(Map.of("cidr", "172." + second + "." + third + ".0/24", "gateway", "172." + second + "." + third + ".1")));
    }

    private static int headIndex(final LabState state) throws Exception
    {
        final String prefix = state.name() + "-d";
        final String[] head = new String[1];
        await("a head", 30_000, () ->
        {
            final JsonNode view = Lab.clusterView(state.device(1));
            head[0] = view.path("head").isTextual() ? view.path("head").asText() : null;
            return head[0] != null;
        });
        assertTrue(head[0].startsWith(prefix), head[0]);
        return Integer.parseInt(head[0].substring(prefix.length()));
    }

    private static LabState.Vm vm(final LabState state, final int device)
    {
        return state.vm(Lab.vmName(device, 1)).orElseThrow();
    }

    /**
     * Cuts (or restores) the device's Raft traffic: an nftables table {@code vsnic_partition} in the
     * device's namespace whose input and output chains drop TCP to or from port {@value Lab#RAFT_PORT}.
     */
    private static void partition(final LabState.Device device, final boolean cut, final Path directory) throws IOException
    {
        final String port = Integer.toString(Lab.RAFT_PORT);
        final List<String> command = new ArrayList<>(List.of(Lab.executable("ip"), "netns", "exec", device.namespace(), Lab.executable("nft")));
        if (cut)
        {
            final Path rules = directory.resolve("partition.nft");
            Files.writeString(rules, """
                table inet vsnic_partition {
                  chain input { type filter hook input priority 0; tcp dport %s drop; tcp sport %s drop; }
                  chain output { type filter hook output priority 0; tcp dport %s drop; tcp sport %s drop; }
                }
                """.formatted(port, port, port, port));
            command.addAll(List.of("-f", rules.toString()));
        }
        else
        {
            command.addAll(List.of("delete", "table", "inet", "vsnic_partition"));
        }
        final NetNs.Result result = NetNs.run(Duration.ofSeconds(10), command);
        assertTrue(result.ok(), "nft: " + result.describe());
    }

    private static long ms(final long sinceNanos)
    {
        return (System.nanoTime() - sinceNanos) / 1_000_000;
    }

    private static void await(final String what, final long timeoutMs, final Check condition) throws Exception
    {
        final long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        Exception last = null;
        while (System.nanoTime() < deadline)
        {
            try
            {
                if (condition.test())
                {
                    return;
                }
            }
            catch (final IOException | LabException ex)
            {
                last = ex;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("not within " + timeoutMs + " ms: " + what + (last == null ? "" : " (last error: " + last.getMessage() + ")"));
    }

    @FunctionalInterface
    private interface Check
    {
        boolean test() throws Exception;
    }

    /**
     * {@code ping -i 0.005} from one VM namespace to another VM's address, its output in a file. Lost = echo
     * requests without a reply, not counting the last {@value #PING_TAIL} (still in flight when stopped).
     */
    static final class PingFlow
    {
        private static final Pattern REPLY = Pattern.compile("icmp_seq=(\\d+) ");
        private static final Pattern TRANSMITTED = Pattern.compile("(\\d+) packets transmitted");

        private final Process process;
        private final Path output;
        private final String label;

        private PingFlow(final Process process, final Path output, final String label)
        {
            this.process = process;
            this.output = output;
            this.label = label;
        }

        static PingFlow start(final LabState.Vm from, final LabState.Vm to, final Path output) throws IOException
        {
            final Process process = new ProcessBuilder(Lab.executable("ip"), "netns", "exec", from.namespace(), Lab.executable("ping"), "-n",
                "-i", PING_INTERVAL, "-W", "2", to.ip())
                .redirectOutput(output.toFile()).redirectErrorStream(true).start();
            return new PingFlow(process, output, from.name() + " -> " + to.name() + " (" + to.ip() + ")");
        }

        void awaitReplies(final int replies) throws Exception
        {
            await(label + ": first " + replies + " replies", 20_000, () -> replies().cardinality() >= replies);
        }

        /** Waits, then stops ping with SIGINT (it prints its summary) and waits for it to exit. */
        void stopAfter(final Duration wait) throws Exception
        {
            Thread.sleep(wait.toMillis());
            final NetNs.Result signal = NetNs.run(Duration.ofSeconds(5), List.of(Lab.executable("kill"), "-INT", Long.toString(process.pid())));
            assertTrue(signal.ok(), signal.describe());
            assertTrue(process.waitFor(10, TimeUnit.SECONDS), label + ": ping did not stop");
        }

        void kill()
        {
            process.destroyForcibly();
        }

        private BitSet replies() throws IOException
        {
            final BitSet seen = new BitSet();
            for (final String line : Files.readAllLines(output, StandardCharsets.UTF_8))
            {
                final Matcher reply = REPLY.matcher(line);
                if (line.contains(" bytes from ") && reply.find())
                {
                    seen.set(Integer.parseInt(reply.group(1)));
                }
            }
            return seen;
        }

        Result result() throws IOException
        {
            final String text = Files.readString(output, StandardCharsets.UTF_8);
            final Matcher transmitted = TRANSMITTED.matcher(text);
            assertTrue(transmitted.find(), label + ": no ping summary in " + text.lines().skip(Math.max(0, text.lines().count() - 5)).toList());
            final int sent = Integer.parseInt(transmitted.group(1));
            final BitSet replies = replies();
            final int counted = Math.max(0, sent - PING_TAIL);
            int lost = 0;
            for (int seq = 1; seq <= counted; seq++)
            {
                lost += replies.get(seq) ? 0 : 1;
            }
            return new Result(label, counted, lost);
        }

        /** One flow's outcome. */
        record Result(String label, int requests, int lost)
        {
            String describe()
            {
                return lost + " of " + requests + " echo requests lost (" + label + ", every " + PING_INTERVAL + " s)";
            }
        }
    }
}
