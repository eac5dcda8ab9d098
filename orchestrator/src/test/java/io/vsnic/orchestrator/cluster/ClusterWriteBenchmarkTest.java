package io.vsnic.orchestrator.cluster;

import static io.vsnic.orchestrator.TestDaemon.expect;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import io.vsnic.dataplane.buffer.Frame;
import io.vsnic.dataplane.pipeline.MemoryPort;
import io.vsnic.dataplane.protocol.EthernetFlyweight;
import io.vsnic.dataplane.protocol.FrameBuilder;
import io.vsnic.dataplane.protocol.Ipv4Flyweight;
import io.vsnic.orchestrator.TestDaemon;
import java.nio.file.Path;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.Test;

/**
 * Benchmarks (tag {@code slow}, not in the default run; {@code ./mvnw -pl orchestrator test -Pslow
 * -Dtest=ClusterWriteBenchmarkTest}): writes per second through the head with three devices, from one
 * client and from several, and the time from an acknowledged vNIC create on one device to the first
 * frame a VM on another device gets through to it. Figures go to docs/performance.md.
 */
@Tag("slow")
class ClusterWriteBenchmarkTest
{
    @TempDir
    Path temp;

    private final ClusterDaemonTest harness = new ClusterDaemonTest();
    private final List<TestDaemon> daemons = harness.daemons;
    private final List<ClusterNode> nodes = new ArrayList<>();

    @AfterEach
    void stop()
    {
        harness.stop();
        nodes.forEach(ClusterNode::close);
    }

    private void startThree(final String tls) throws Exception
    {
        harness.temp = temp;
        harness.startThree(tls);
    }

    private static TestDaemon head(final List<TestDaemon> candidates) throws InterruptedException
    {
        return ClusterDaemonTest.head(candidates);
    }

    private static String network(final String name, final int vni, final int third)
    {
        return ClusterDaemonTest.network(name, vni, third);
    }

    @Test
    void measureRaftCommandsPerSecond() throws Exception
    {
        final java.util.Map<String, String> peers = ClusterNodeTest.peers(3);
        for (final String name : peers.keySet())
        {
            final ClusterNode node = new ClusterNode(new ClusterNode.Options(name, "bench", peers, temp.resolve(name), 100_000, 3000, null),
                state -> { });
            node.start();
            nodes.add(node);
        }
        ClusterNodeTest.await("a head", 10_000, () -> nodes.stream().anyMatch(ClusterNode::isHead));
        final ClusterNode head = nodes.stream().filter(ClusterNode::isHead).findFirst().orElseThrow();
        final int count = 1000;
        for (int round = 0; round < 2; round++)
        {
            final long start = System.nanoTime();
            for (int i = 0; i < count; i++)
            {
                final com.fasterxml.jackson.databind.node.ObjectNode command = io.vsnic.orchestrator.model.Json.mapper().createObjectNode()
                    .put("type", "member");
                command.putObject("member").put("name", "edge-1").put("id", 1).put("raft", "x:" + i);
                head.submit(command);
            }
            final double seconds = (System.nanoTime() - start) / 1e9;
            System.out.printf("cluster bench: raw Ratis, %d sequential tiny commands on the head: %.0f commands/s (%.2f ms each)%n",
                count, count / seconds, seconds * 1000 / count);
        }
    }

    @Test
    void measureWritesPerSecondThroughTheHead() throws Exception
    {
        startThree("true".equals(System.getProperty("vsnic.cluster.tls")) ? "true" : "false");
        final TestDaemon head = head(daemons);
        final TestDaemon follower = daemons.stream().filter(d -> d != head).findFirst().orElseThrow();
        // warm up
        for (int i = 0; i < 200; i++)
        {
            expect(201, head.post("/v1/networks", network("w" + i, 5000 + i, 1000 + i)));
        }
        for (final TestDaemon target : List.of(head, follower))
        {
            final String label = target == head ? "head" : "follower";
            final int count = 1000;
            final long start = System.nanoTime();
            for (int i = 0; i < count; i++)
            {
                expect(201, target.post("/v1/security-groups", "{\"name\": \"" + label + i + "\", \"rules\": []}"));
            }
            final double seconds = (System.nanoTime() - start) / 1e9;
            System.out.printf("cluster bench: %d sequential writes to the %s: %.0f writes/s (%.2f ms each)%n", count, label,
                count / seconds, seconds * 1000 / count);
        }
        for (final int clients : new int[] {4, 16})
        {
            final int perClient = 250;
            final ExecutorService pool = Executors.newFixedThreadPool(clients);
            final long start = System.nanoTime();
            final List<Future<?>> futures = new ArrayList<>();
            for (int c = 0; c < clients; c++)
            {
                final int client = c;
                futures.add(pool.submit(() ->
                {
                    for (int i = 0; i < perClient; i++)
                    {
                        expect(201, daemons.get((client + i) % 3).post("/v1/security-groups",
                            "{\"name\": \"c" + clients + "-" + client + "-" + i + "\", \"rules\": []}"));
                    }
                    return null;
                }));
            }
            for (final Future<?> f : futures)
            {
                f.get();
            }
            final double seconds = (System.nanoTime() - start) / 1e9;
            pool.shutdown();
            System.out.printf("cluster bench: %d clients x %d writes spread over the 3 devices: %.0f writes/s%n", clients, perClient,
                clients * perClient / seconds);
        }
    }

    @Test
    void measureAttachToReachableLatency() throws Exception
    {
        startThree("false");
        final TestDaemon head = head(daemons);
        final List<TestDaemon> followers = daemons.stream().filter(d -> d != head).toList();
        final TestDaemon a = followers.get(0);
        final TestDaemon b = followers.get(1);
        expect(201, a.post("/v1/networks", """
            {"name": "blue", "vni": 100, "subnets": [{"cidr": "10.0.0.0/16", "gateway": "10.0.0.1"}]}"""));
        expect(201, a.post("/v1/security-groups", """
            {"name": "open", "rules": [{"direction": "ingress", "cidr": "0.0.0.0/0"}]}"""));
        expect(201, a.post("/v1/vnics", """
            {"id": "src", "network": "blue", "ip": "10.0.0.10", "securityGroups": ["open"], "backend": {"type": "memory"}}"""));
        ClusterNodeTest.await("src attached", 10_000, () -> a.daemon.controller().reconciler().attached().containsKey("src"));
        final JsonNode source = expect(200, a.get("/v1/vnics/src")).json();
        final long srcMac = EthernetFlyweight.parseMac(source.get("mac").asText());
        final int srcIp = Ipv4Flyweight.parse(source.get("ip").asText());
        final MemoryPort in = a.daemon.memoryPort("src");
        final int rounds = 100;
        final long[] micros = new long[rounds];
        for (int r = 0; r < rounds; r++)
        {
            final String id = "dst" + r;
            final String ip = "10.0." + (1 + r / 200) + "." + (10 + r % 200);
            final JsonNode created = expect(201, b.post("/v1/vnics", """
                {"id": "%s", "network": "blue", "ip": "%s", "securityGroups": ["open"], "backend": {"type": "memory"}}"""
                .formatted(id, ip))).json();
            final long acked = System.nanoTime();
            final long dstMac = EthernetFlyweight.parseMac(created.get("mac").asText());
            final int dstIp = Ipv4Flyweight.parse(ip);
            MemoryPort out = null;
            final long deadline = acked + TimeUnit.SECONDS.toNanos(10);
            int seq = 0;
            while (System.nanoTime() < deadline)
            {
                if (out == null && b.daemon.controller().reconciler().attached().containsKey(id))
                {
                    out = b.daemon.memoryPort(id);
                }
                final Frame frame = a.daemon.dataPlane().pool().acquire();
                final FrameBuilder builder = new FrameBuilder(frame.segment(), frame.start());
                frame.length(builder.ethernet(dstMac, srcMac).ipv4(srcIp, dstIp).udp(40000 + seq++ % 1000, 5000).payload(32, 0).build());
                in.inject(frame);
                Thread.sleep(0, 200_000);
                final Frame got = out == null ? null : out.poll();
                if (got != null)
                {
                    got.release();
                    break;
                }
            }
            micros[r] = (System.nanoTime() - acked) / 1000;
            assertEquals(true, out != null, "dst attached");
            while (out.poll() instanceof Frame f)
            {
                f.release();
            }
        }
        java.util.Arrays.sort(micros);
        System.out.printf("cluster bench: acknowledged vNIC create on one device -> first frame from a VM on another device: " +
            "p50 %.2f ms, p99 %.2f ms, max %.2f ms (%d rounds)%n", micros[rounds / 2] / 1000.0, micros[rounds * 99 / 100] / 1000.0,
            micros[rounds - 1] / 1000.0, rounds);
    }
}
