package io.vsnic.orchestrator.cluster;

import static io.vsnic.orchestrator.TestDaemon.expect;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import io.vsnic.dataplane.buffer.Frame;
import io.vsnic.dataplane.pipeline.MemoryPort;
import io.vsnic.dataplane.protocol.EthernetFlyweight;
import io.vsnic.dataplane.protocol.FrameBuilder;
import io.vsnic.dataplane.protocol.Ipv4Flyweight;
import io.vsnic.orchestrator.TestDaemon;
import io.vsnic.orchestrator.daemon.DeviceConfig;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three vsnicd daemons in one JVM forming a cluster on loopback (API, Raft and substrate on free
 * ports): writes through any device, placement and derived remotes (VM to VM across devices with
 * no manual remotes or peers), losing the head during writes (with a VM-to-VM flow between the
 * surviving devices counted through it), and a device without a quorum.
 */
public class ClusterDaemonTest
{
    @TempDir
    Path temp;

    final List<TestDaemon> daemons = new ArrayList<>();
    final Map<String, DeviceConfig> configs = new java.util.HashMap<>();

    @AfterEach
    void stop()
    {
        daemons.forEach(TestDaemon::close);
    }

    static DeviceConfig config(final String name, final int id, final Map<String, String> peers, final String tls) throws Exception
    {
        final StringBuilder peerText = new StringBuilder();
        peers.forEach((n, a) -> peerText.append(peerText.isEmpty() ? "" : ", ").append(n).append(": \"").append(a).append('"'));
        return DeviceConfig.parse(("""
            device: {name: %s, id: %d}
            api: {listen: "127.0.0.1:0"}
            substrate: {enabled: true, bindAddress: 127.0.0.%d, genevePort: 0, vxlanPort: 0, transport: nio}
            dataplane: {workers: 1, frameSlots: 1024, connectionCapacity: 4096}
            cluster: {name: test, raft: "%s", peers: {%s}, requestTimeoutMs: 2000, tls: %s}
            """.formatted(name, id, id, peers.get(name), peerText, tls)).getBytes(StandardCharsets.UTF_8));
    }

    List<TestDaemon> startThree(final String tls) throws Exception
    {
        // one loopback address per device: the substrate tells peers apart by address
        final Map<String, String> peers = new java.util.LinkedHashMap<>();
        for (int i = 1; i <= 3; i++)
        {
            try (java.net.ServerSocket socket = new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0." + i)))
            {
                peers.put("edge-" + i, "127.0.0." + i + ":" + socket.getLocalPort());
            }
        }
        if (tls.equals("true"))
        {
            // what `vsnic cluster init` and `join` leave in each state directory: the CA's certificate and a device certificate
            final ClusterCa ca = ClusterCa.create(temp.resolve("ca"), "test");
            for (final String name : peers.keySet())
            {
                ca.issueInto(temp.resolve(name).resolve("cluster"), name, List.of(peers.get(name).substring(0, peers.get(name).indexOf(':'))));
            }
        }
        int id = 1;
        for (final String name : peers.keySet())
        {
            final DeviceConfig config = config(name, id++, peers, tls);
            configs.put(name, config);
            daemons.add(new TestDaemon(temp.resolve(name), config));
        }
        for (final TestDaemon daemon : daemons)
        {
            ClusterNodeTest.await("three members seen by " + daemon.daemon.config().device().name(), 20_000,
                () -> daemon.daemon.cluster().state().members().size() == 3);
        }
        return daemons;
    }

    static TestDaemon head(final List<TestDaemon> candidates) throws InterruptedException
    {
        ClusterNodeTest.await("a head", 10_000, () -> candidates.stream().anyMatch(d -> d.daemon.cluster().isHead()));
        return candidates.stream().filter(d -> d.daemon.cluster().isHead()).findFirst().orElseThrow();
    }

    static String network(final String name, final int vni, final int third)
    {
        return """
            {"name": "%s", "vni": %d, "subnets": [{"cidr": "10.%d.%d.0/24", "gateway": "10.%d.%d.1"}]}"""
            .formatted(name, vni, third / 250, third % 250, third / 250, third % 250);
    }

    @Test
    void shouldApplyAWriteToAFollowerEverywhereAndForwardBetweenVmsOnDifferentDevices() throws Exception
    {
        startThree("false");
        final TestDaemon head = head(daemons);
        final List<TestDaemon> followers = daemons.stream().filter(d -> d != head).toList();
        final TestDaemon a = followers.get(0);
        final TestDaemon b = followers.get(1);

        // a write to a follower is forwarded to the head and applied on all three
        final TestDaemon.Response created = expect(201, a.post("/v1/networks", """
            {"name": "blue", "vni": 100, "subnets": [{"cidr": "10.0.1.0/24", "gateway": "10.0.1.1"}]}"""));
        assertEquals(1, created.json().get("version").asLong());
        assertNotNull(created.header("X-Vsnic-Applied-Index"));
        for (final TestDaemon d : daemons)
        {
            final TestDaemon.Response read = expect(200, d.get("/v1/networks/blue?consistent=true"));
            assertEquals(100, read.json().get("vni").asInt());
            assertEquals("1", read.header("X-Vsnic-Revision"));
            assertEquals(head.daemon.config().device().name(), read.header("X-Vsnic-Head"));
        }
        // validation runs on the head with the standalone rules: same errors, nothing changed
        final TestDaemon.Response refused = expect(409, b.post("/v1/networks", """
            {"name": "blue", "vni": 101, "subnets": [{"cidr": "10.0.2.0/24", "gateway": "10.0.2.1"}]}"""));
        assertEquals("already_exists", refused.errorCode());
        expect(201, b.post("/v1/security-groups", """
            {"name": "open", "rules": [{"direction": "ingress", "cidr": "0.0.0.0/0"}]}"""));

        // vm1 placed on a (the device that took the request), vm2 explicitly on b
        final JsonNode vm1 = expect(201, a.post("/v1/vnics", """
            {"id": "vm1", "network": "blue", "ip": "10.0.1.11", "securityGroups": ["open"], "backend": {"type": "memory"}}""")).json();
        assertEquals(a.daemon.config().device().name(), vm1.get("device").asText());
        final String bName = b.daemon.config().device().name();
        expect(201, head.post("/v1/vnics", """
            {"id": "vm2", "network": "blue", "ip": "10.0.1.12", "securityGroups": ["open"], "backend": {"type": "memory"},
             "device": "%s"}""".formatted(bName)));
        // an unknown device is refused by the head's validation
        assertEquals("unknown_device", expect(422, a.post("/v1/vnics", """
            {"id": "vm9", "network": "blue", "backend": {"type": "memory"}, "device": "nowhere"}""")).errorCode());

        // each device attaches only its own vNICs, and has the other's address as a derived remote
        ClusterNodeTest.await("vm1 attached on a only, vm2 on b only", 10_000, () ->
            a.daemon.controller().reconciler().attached().containsKey("vm1") && !a.daemon.controller().reconciler().attached().containsKey("vm2") &&
            b.daemon.controller().reconciler().attached().containsKey("vm2") && !b.daemon.controller().reconciler().attached().containsKey("vm1") &&
            head.daemon.controller().reconciler().attached().isEmpty() &&
            // a serves reads from its own applied state: wait until it has applied the revision with vm2
            a.daemon.controller().state().get(io.vsnic.orchestrator.model.Kind.VNIC, "vm2") != null);
        assertTrue(expect(200, a.get("/v1/vnics/vm1")).json().path("status").path("attached").asBoolean());
        assertFalse(expect(200, a.get("/v1/vnics/vm2")).json().path("status").path("attached").asBoolean());
        assertTrue(expect(200, b.get("/v1/peers")).json().get("items").isEmpty(), "no manual peers");

        // VM to VM across devices over the substrate, with no manual remotes or peers
        assertForwardsAcross(a, "vm1", b, "vm2", 20);
        assertForwardsAcross(b, "vm2", a, "vm1", 20);

        final JsonNode view = expect(200, b.get("/v1/cluster")).json();
        assertTrue(view.get("clustered").asBoolean());
        assertEquals(3, view.get("members").size());
        assertEquals(head.daemon.config().device().name(), view.get("head").asText());
        assertEquals(view.get("revision").asLong(), view.get("dataplaneRevision").asLong());
        final String metrics = b.get("/metrics").body();
        assertTrue(metrics.contains("\nvsnic_cluster_head 0\n") && metrics.contains("\nvsnic_cluster_members 3\n") &&
            metrics.contains("\nvsnic_cluster_apply_errors_total 0\n"), metrics);
        assertTrue(head.get("/metrics").body().contains("\nvsnic_cluster_head 1\n"));
    }

    static void assertForwardsAcross(final TestDaemon fromDevice, final String from, final TestDaemon toDevice, final String to,
        final int count) throws InterruptedException
    {
        final JsonNode source = expect(200, fromDevice.get("/v1/vnics/" + from + "?consistent=true")).json();
        final JsonNode target = expect(200, fromDevice.get("/v1/vnics/" + to + "?consistent=true")).json();
        final MemoryPort in = fromDevice.daemon.memoryPort(from);
        final MemoryPort out = toDevice.daemon.memoryPort(to);
        final long srcMac = EthernetFlyweight.parseMac(source.get("mac").asText());
        final long dstMac = EthernetFlyweight.parseMac(target.get("mac").asText());
        final int srcIp = Ipv4Flyweight.parse(source.get("ip").asText());
        final int dstIp = Ipv4Flyweight.parse(target.get("ip").asText());
        int received = 0;
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        int sent = 0;
        // loopback UDP may drop the first datagrams while the JIT warms up: resend until count arrive
        while (received < count && System.nanoTime() < deadline)
        {
            if (sent - received < 8)
            {
                final Frame frame = fromDevice.daemon.dataPlane().pool().acquire();
                final FrameBuilder builder = new FrameBuilder(frame.segment(), frame.start());
                frame.length(builder.ethernet(dstMac, srcMac).ipv4(srcIp, dstIp).udp(40000 + sent, 5000).payload(64, sent).build());
                assertTrue(in.inject(frame), "rx ring has room");
                sent++;
            }
            final Frame frame = out.poll();
            if (frame == null)
            {
                Thread.sleep(1);
                continue;
            }
            frame.release();
            received++;
        }
        assertEquals(count, received, "frames from " + from + " on " + fromDevice.daemon.config().device().name() + " to " + to +
            " on " + toDevice.daemon.config().device().name() + " (" + sent + " sent)");
    }

    @Test
    void shouldKeepEveryAcknowledgedWriteWhenTheHeadDiesDuringWrites() throws Exception
    {
        startThree("true");
        assertTrue(daemons.get(0).daemon.cluster().tls());
        final TestDaemon head = head(daemons);
        final TestDaemon writer = daemons.stream().filter(d -> d != head).findFirst().orElseThrow();
        final TestDaemon other = daemons.stream().filter(d -> d != head && d != writer).findFirst().orElseThrow();
        // an established flow between VMs on the two devices that survive
        expect(201, writer.post("/v1/networks", """
            {"name": "blue", "vni": 100, "subnets": [{"cidr": "192.168.50.0/24", "gateway": "192.168.50.1"}]}"""));
        expect(201, writer.post("/v1/security-groups", """
            {"name": "open", "rules": [{"direction": "ingress", "cidr": "0.0.0.0/0"}]}"""));
        expect(201, writer.post("/v1/vnics", """
            {"id": "vma", "network": "blue", "ip": "192.168.50.11", "securityGroups": ["open"], "backend": {"type": "memory"}}"""));
        expect(201, other.post("/v1/vnics", """
            {"id": "vmb", "network": "blue", "ip": "192.168.50.12", "securityGroups": ["open"], "backend": {"type": "memory"}}"""));
        ClusterNodeTest.await("vma and vmb attached", 10_000, () -> writer.daemon.controller().reconciler().attached().containsKey("vma") &&
            other.daemon.controller().reconciler().attached().containsKey("vmb"));
        assertForwardsAcross(writer, "vma", other, "vmb", 50);
        final Flow flow = new Flow(writer, "vma", other, "vmb");
        final Thread sender = new Thread(flow, "flow-vma-vmb");
        sender.start();

        final List<String> acknowledged = new ArrayList<>();
        int refused = 0;
        long killedAt = 0;
        long firstAckAfterKill = 0;
        for (int i = 0; i < 500; i++)
        {
            if (i == 150)
            {
                killedAt = System.nanoTime();
                head.close();
            }
            final TestDaemon.Response response = writer.post("/v1/networks", network("n" + i, 1000 + i, i));
            if (response.status() == 201)
            {
                acknowledged.add("n" + i);
                if (killedAt != 0 && firstAckAfterKill == 0)
                {
                    firstAckAfterKill = System.nanoTime();
                }
            }
            else
            {
                assertEquals(503, response.status(), response.body());
                assertEquals("no_quorum", response.errorCode());
                refused++;
            }
        }
        flow.stop();
        sender.join(30_000);
        final List<TestDaemon> survivors = daemons.stream().filter(d -> d != head).toList();
        final TestDaemon newHead = head(survivors);
        System.out.printf("cluster failover: VM-to-VM flow between the surviving devices during the failover: %d frames sent, " +
            "%d received, %d lost%n", flow.sent, flow.received, flow.sent - flow.received);
        assertTrue(flow.sent > 1000, "the flow ran through the failover: " + flow.sent);
        assertTrue(flow.sent - flow.received <= flow.sent / 100, "frames lost: " + (flow.sent - flow.received) + " of " + flow.sent);
        assertNotEquals(head.daemon.config().device().name(), newHead.daemon.config().device().name());
        System.out.printf("cluster failover: %d writes acknowledged, %d refused with 503 while the head was gone; " +
            "first write acknowledged %d ms after the head was closed; new head %s%n", acknowledged.size(), refused,
            (firstAckAfterKill - killedAt) / 1_000_000, newHead.daemon.config().device().name());
        assertTrue(acknowledged.size() > 300, "writes resumed after the failover: " + acknowledged.size());
        for (final TestDaemon survivor : survivors)
        {
            final JsonNode items = expect(200, survivor.get("/v1/networks?consistent=true")).json().get("items");
            final List<String> names = new ArrayList<>();
            items.forEach(n -> names.add(n.get("name").asText()));
            assertTrue(names.containsAll(acknowledged), "every acknowledged write on " + survivor.daemon.config().device().name());
        }
    }

    /** UDP frames from one memory vNIC to another on another device, one every millisecond, counted. */
    static final class Flow implements Runnable
    {
        private final TestDaemon fromDevice;
        private final MemoryPort in;
        private final MemoryPort out;
        private final long srcMac;
        private final long dstMac;
        private final int srcIp;
        private final int dstIp;
        private volatile boolean running = true;
        volatile long sent;
        volatile long received;

        Flow(final TestDaemon fromDevice, final String from, final TestDaemon toDevice, final String to)
        {
            this.fromDevice = fromDevice;
            // linearizable reads: the other device's vNIC may not be applied on this one yet
            final JsonNode source = expect(200, fromDevice.get("/v1/vnics/" + from + "?consistent=true")).json();
            final JsonNode target = expect(200, fromDevice.get("/v1/vnics/" + to + "?consistent=true")).json();
            in = fromDevice.daemon.memoryPort(from);
            out = toDevice.daemon.memoryPort(to);
            srcMac = EthernetFlyweight.parseMac(source.get("mac").asText());
            dstMac = EthernetFlyweight.parseMac(target.get("mac").asText());
            srcIp = Ipv4Flyweight.parse(source.get("ip").asText());
            dstIp = Ipv4Flyweight.parse(target.get("ip").asText());
            // frames of an earlier check may still be in flight: the flow counts only its own
            long quietSince = System.nanoTime();
            while (System.nanoTime() - quietSince < TimeUnit.MILLISECONDS.toNanos(300))
            {
                final Frame late = out.poll();
                if (late != null)
                {
                    late.release();
                    quietSince = System.nanoTime();
                }
                java.util.concurrent.locks.LockSupport.parkNanos(1_000_000);
            }
        }

        void stop()
        {
            running = false;
        }

        @Override
        public void run()
        {
            try
            {
                while (running)
                {
                    final Frame frame = fromDevice.daemon.dataPlane().pool().acquire();
                    if (frame != null)
                    {
                        final FrameBuilder builder = new FrameBuilder(frame.segment(), frame.start());
                        frame.length(builder.ethernet(dstMac, srcMac).ipv4(srcIp, dstIp).udp(41000, 5000).payload(64, (int)sent).build());
                        if (in.inject(frame))
                        {
                            sent++;
                        }
                        else
                        {
                            frame.release();
                        }
                    }
                    drain();
                    Thread.sleep(1);
                }
                // what is still in flight
                final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
                while (received < sent && System.nanoTime() < deadline)
                {
                    drain();
                    Thread.sleep(1);
                }
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
            }
        }

        private void drain()
        {
            for (Frame frame = out.poll(); frame != null; frame = out.poll())
            {
                frame.release();
                received++;
            }
        }
    }

    @Test
    void shouldRefuseWritesFastWithTheLastKnownHeadWhenNoQuorumKeepForwardingAndCatchUp() throws Exception
    {
        startThree("false");
        final TestDaemon head = head(daemons);
        final TestDaemon lonely = daemons.stream().filter(d -> d != head).findFirst().orElseThrow();
        expect(201, lonely.post("/v1/networks", """
            {"name": "blue", "vni": 100, "subnets": [{"cidr": "10.0.1.0/24", "gateway": "10.0.1.1"}]}"""));
        expect(201, lonely.post("/v1/vnics", """
            {"id": "vm1", "network": "blue", "ip": "10.0.1.11", "backend": {"type": "memory"}}"""));
        ClusterNodeTest.await("vm1 attached", 10_000, () -> lonely.daemon.controller().reconciler().attached().containsKey("vm1"));
        final long tablesVersion = lonely.daemon.dataPlane().state().version();
        final String headName = head.daemon.config().device().name();
        for (final TestDaemon d : daemons)
        {
            if (d != lonely)
            {
                d.close();
            }
        }
        final long started = System.nanoTime();
        final TestDaemon.Response refused = lonely.post("/v1/networks", network("green", 200, 7));
        final long ms = (System.nanoTime() - started) / 1_000_000;
        assertEquals(503, refused.status(), refused.body());
        assertEquals("no_quorum", refused.errorCode());
        final String lastKnown = lonely.daemon.cluster().lastKnownHead();
        assertNotNull(lastKnown, "the device remembers the head it last knew");
        assertTrue(refused.json().path("error").path("message").asText().contains("last known head: " + lastKnown), refused.body());
        assertTrue(List.of("edge-1", "edge-2", "edge-3").contains(lastKnown), lastKnown + " (before: " + headName + ")");
        System.out.println("cluster: write without quorum refused with 503 in " + ms + " ms");
        // reads still served locally with the last applied state; the data plane keeps its tables
        expect(200, lonely.get("/v1/networks/blue"));
        assertEquals(503, lonely.get("/v1/networks/blue?consistent=true").status());
        assertTrue(lonely.daemon.controller().reconciler().attached().containsKey("vm1"));
        assertEquals(tablesVersion, lonely.daemon.dataPlane().state().version());

        // the others come back (same state directories): a head again, the device writes and catches up
        final List<TestDaemon> back = new ArrayList<>();
        for (final TestDaemon d : List.copyOf(daemons))
        {
            if (d != lonely)
            {
                final String name = d.daemon.config().device().name();
                back.add(new TestDaemon(temp.resolve(name), configs.get(name)));
            }
        }
        daemons.addAll(back);
        ClusterNodeTest.await("a head after healing", 15_000, () -> lonely.daemon.cluster().head() != null);
        expect(201, lonely.post("/v1/networks", network("green", 200, 7)));
        for (final TestDaemon d : back)
        {
            assertEquals(200, d.get("/v1/networks/green?consistent=true").status());
            assertEquals(200, d.get("/v1/vnics/vm1").status(), "state from before the outage kept");
        }
    }
}
