package io.vsnic.orchestrator.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vsnic.orchestrator.Waits;
import io.vsnic.orchestrator.model.Backend;
import io.vsnic.orchestrator.model.EnclaveResource;
import io.vsnic.orchestrator.model.Json;
import io.vsnic.orchestrator.model.Kind;
import io.vsnic.orchestrator.model.NetworkResource;
import io.vsnic.orchestrator.model.Subnet;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three Raft members in one JVM on loopback ports: writes through any member are applied on all,
 * the old head closed, a new head is elected and nothing acknowledged is lost; snapshots bound
 * the replay at restart.
 */
class ClusterNodeTest
{
    @TempDir
    Path temp;

    private final List<ClusterNode> nodes = new ArrayList<>();

    @AfterEach
    void closeAll()
    {
        nodes.forEach(ClusterNode::close);
    }

    static Map<String, String> peers(final int count) throws IOException
    {
        final Map<String, String> peers = new LinkedHashMap<>();
        for (int i = 1; i <= count; i++)
        {
            try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress()))
            {
                peers.put("edge-" + i, "127.0.0.1:" + socket.getLocalPort());
            }
        }
        return peers;
    }

    private ClusterNode start(final String name, final Map<String, String> peers, final long snapshotEvery) throws IOException
    {
        final ClusterNode node = new ClusterNode(new ClusterNode.Options(name, "test", peers, temp.resolve(name),
            snapshotEvery, 3000, null), state -> { });
        node.start();
        nodes.add(node);
        return node;
    }

    static void await(final String what, final long timeoutMs, final BooleanSupplier condition) throws InterruptedException
    {
        Waits.awaitTrue(Duration.ofMillis(timeoutMs), condition, () -> what);
    }

    /** A change document that creates network NAME with VNI vni on top of revision base. */
    static ObjectNode network(final long base, final String name, final int vni)
    {
        final NetworkResource network = new NetworkResource(name, vni, 1500,
            List.of(new Subnet("10." + (vni % 250) + ".0.0/24", null)), List.of(), List.of(), base + 1);
        final ObjectNode command = Json.mapper().createObjectNode().put("type", "changes").put("base", base);
        final ObjectNode change = command.putArray("changes").addObject().put("op", "put").put("kind", "network").put("key", name);
        change.set("resource", Json.mapper().valueToTree(network));
        return command;
    }

    private static ClusterNode head(final List<ClusterNode> candidates) throws InterruptedException
    {
        await("a head", 10_000, () -> candidates.stream().anyMatch(ClusterNode::isHead));
        return candidates.stream().filter(ClusterNode::isHead).findFirst().orElseThrow();
    }

    @Test
    void shouldRefuseACommandThatReachesTheHeadAfterItsSubmitterGaveUp() throws Exception
    {
        final Map<String, String> peers = peers(1);
        final String name = peers.keySet().iterator().next();
        start(name, peers, 1000);
        final ClusterNode node = head(nodes);
        final ClusterNode.NoQuorumException late = assertThrows(ClusterNode.NoQuorumException.class,
            () -> node.submit(network(0, "late", 100), System.currentTimeMillis() - 1));
        assertTrue(late.getMessage().contains("not written"), late.getMessage());
        assertEquals(0, node.state().desired().revision(), "nothing entered the log");
        // the next change on revision 0 is accepted: the late one never took revision 1
        final JsonNode ok = node.submit(network(0, "in-time", 101));
        assertTrue(ok.path("ok").asBoolean(), ok.toString());
        assertEquals(1, ok.path("revision").asLong());
        assertFalse(node.state().desired().networks().containsKey("late"));
    }

    @Test
    void shouldApplyWriteThroughAnyMemberOnAllThreeAndSurviveLosingTheHead() throws Exception
    {
        final Map<String, String> peers = peers(3);
        for (final String name : peers.keySet())
        {
            start(name, peers, 1000);
        }
        final ClusterNode firstHead = head(nodes);
        final ClusterNode follower = nodes.stream().filter(n -> n != firstHead).findFirst().orElseThrow();
        // a write submitted on a follower goes to the head and is applied on every member
        final JsonNode reply = follower.submit(network(0, "blue", 100));
        assertTrue(reply.path("ok").asBoolean(), reply.toString());
        assertEquals(1, reply.path("revision").asLong());
        await("blue on all three", 5000, () -> nodes.stream().allMatch(n -> n.state().desired().networks().containsKey("blue")));
        // a change built on a stale revision is refused everywhere, nothing changes
        final JsonNode stale = firstHead.submit(network(0, "green", 101));
        assertFalse(stale.path("ok").asBoolean());
        assertEquals("stale_revision", stale.path("code").asText());
        assertEquals(1, firstHead.state().desired().revision());

        // acknowledged writes, then the head goes away
        long revision = 1;
        final List<String> acknowledged = new ArrayList<>(List.of("blue"));
        for (int i = 0; i < 20; i++)
        {
            final JsonNode ok = follower.submit(network(revision, "n" + i, 200 + i));
            assertTrue(ok.path("ok").asBoolean(), ok.toString());
            revision = ok.path("revision").asLong();
            acknowledged.add("n" + i);
        }
        final long killedAt = System.nanoTime();
        firstHead.close();
        final List<ClusterNode> survivors = nodes.stream().filter(n -> n != firstHead).toList();
        final ClusterNode secondHead = head(survivors);
        final long electedMs = (System.nanoTime() - killedAt) / 1_000_000;
        assertNotEquals(firstHead.name(), secondHead.name());
        System.out.println("cluster: new head " + secondHead.name() + " elected " + electedMs + " ms after closing " + firstHead.name());
        for (final ClusterNode survivor : survivors)
        {
            await("every acknowledged write on " + survivor.name(), 5000,
                () -> survivor.state().desired().networks().keySet().containsAll(acknowledged));
        }
        // the two survivors still form a quorum
        final JsonNode after = survivors.get(0).submit(network(revision, "after", 300));
        assertTrue(after.path("ok").asBoolean(), after.toString());
        await("after on both", 5000, () -> survivors.stream().allMatch(n -> n.state().desired().networks().containsKey("after")));
    }

    @Test
    void shouldFailFastWithoutQuorum() throws Exception
    {
        final Map<String, String> peers = peers(3);
        final ClusterNode alone = start("edge-1", peers, 1000);
        // the other two never start: no head, no quorum
        final long started = System.nanoTime();
        assertThrows(ClusterNode.NoQuorumException.class, () -> alone.submit(network(0, "blue", 100)));
        final long failedMs = (System.nanoTime() - started) / 1_000_000;
        assertTrue(failedMs < 30_000, "failed after " + failedMs + " ms");
        assertEquals(0, alone.state().desired().revision());
        // once the others are up, the same member writes again (a failed request does not break its client)
        start("edge-2", peers, 1000);
        start("edge-3", peers, 1000);
        head(nodes);
        final JsonNode reply = alone.submit(network(0, "blue", 100));
        assertTrue(reply.path("ok").asBoolean(), reply.toString());
        await("the write applied on edge-1", 5000, () -> alone.state().desired().revision() == 1);
    }

    @Test
    void shouldRestartFromSnapshotAndLogWithTheSameState() throws Exception
    {
        final Map<String, String> peers = peers(3);
        for (final String name : peers.keySet())
        {
            start(name, peers, 10);
        }
        final ClusterNode head = head(nodes);
        long revision = 0;
        for (int i = 0; i < 35; i++)
        {
            revision = head.submit(network(revision, "n" + i, 100 + i)).path("revision").asLong();
        }
        assertEquals(35, revision);
        final ClusterNode restarted = nodes.stream().filter(n -> !n.isHead()).findFirst().orElseThrow();
        await("follower caught up", 5000, () -> restarted.state().desired().revision() == 35);
        restarted.close();
        nodes.remove(restarted);
        final Path storage = temp.resolve(restarted.name());
        try (Stream<Path> files = Files.walk(storage))
        {
            assertTrue(files.anyMatch(p -> p.getFileName().toString().startsWith("snapshot.")), "a snapshot was taken");
        }
        final ClusterNode again = start(restarted.name(), peers, 10);
        await("restarted member back at revision 35", 10_000, () -> again.state().desired().revision() == 35);
        assertNotNull(again.state().desired().get(Kind.NETWORK, "n34"));
        assertEquals(35, again.state().desired().networks().size());
    }

    @Test
    void shouldReplicateAnEnclaveLikeAnyResourceAndKeepItInSnapshots() throws Exception
    {
        final Map<String, String> peers = peers(3);
        for (final String name : peers.keySet())
        {
            start(name, peers, 3);
        }
        final ClusterNode head = head(nodes);
        final EnclaveResource enclave = new EnclaveResource("pay", 7001, "10.77.0.0/24", "10.77.0.1",
            new EnclaveResource.Substrate(null, 51900, "/etc/vsnic/pay.key", "10.98.0.1"),
            List.of(new EnclaveResource.Service("client", null, "02:77:00:00:00:11", "10.77.0.11", new Backend("memory", null))),
            List.of(), List.of(new EnclaveResource.Flow("client", "client", "udp", 5000)), 1L);
        final ObjectNode command = Json.mapper().createObjectNode().put("type", "changes").put("base", 0);
        final ObjectNode change = command.putArray("changes").addObject().put("op", "put").put("kind", "enclave").put("key", "pay");
        change.set("resource", Json.mapper().valueToTree(enclave));
        assertTrue(head.submit(command).path("ok").asBoolean());
        await("pay on all three", 5000, () -> nodes.stream().allMatch(n -> enclave.equals(n.state().desired().enclaves().get("pay"))));
        long revision = 1;
        for (int i = 0; i < 6; i++)
        {
            revision = head.submit(network(revision, "n" + i, 100 + i)).path("revision").asLong();
        }
        final ClusterNode restarted = nodes.stream().filter(n -> !n.isHead()).findFirst().orElseThrow();
        final long last = revision;
        await("follower caught up", 5000, () -> restarted.state().desired().revision() == last);
        restarted.close();
        nodes.remove(restarted);
        final ClusterNode again = start(restarted.name(), peers, 3);
        await("restarted member back", 10_000, () -> again.state().desired().revision() == last);
        assertEquals(enclave, again.state().desired().enclaves().get("pay"), "the enclave came back through snapshot and log");
    }
}
