package io.vsnic.orchestrator.api;

import static io.vsnic.orchestrator.TestDaemon.expect;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vsnic.orchestrator.model.Json;
import io.vsnic.orchestrator.TestDaemon;
import org.junit.jupiter.api.Test;

/**
 * Seeded fuzzing of the write API: valid bodies for networks, routes, remotes, security groups,
 * vNICs, peers and {@code /v1/apply}, mutated at random (fields removed, values of every JSON type
 * and of extreme size put anywhere, arrays duplicated, keys renamed, the text truncated or with
 * bytes changed), sent with POST or PUT to their resources and to odd names. Whatever comes in:
 * never a 5xx, every error in the documented shape, the daemon answering throughout, and after a
 * restart from its state directory exactly the state it had acknowledged.
 */
class ApiFuzzTest
{
    private static final long SEED = 0x6170_6966_757AL; // "apifuz"
    private static final int REQUESTS = 1_500;
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    private final SplittableRandom random = new SplittableRandom(SEED);

    /** One writable resource: its collection, a valid body, and the body field that names it. */
    private record Template(String collection, String body, String nameField)
    {
    }

    private static final List<Template> TEMPLATES = List.of(
        new Template("/v1/networks", """
            {"name": "g1", "vni": 5, "mtu": 1400,
             "subnets": [{"cidr": "10.0.2.0/24", "gateway": "10.0.2.1"}, {"cidr": "fd00:2::/64", "gateway": "fd00:2::1"}],
             "routes": [{"prefix": "0.0.0.0/0", "target": {"type": "blackhole"}},
                        {"prefix": "192.168.0.0/16", "target": {"type": "ecmp", "members": [{"type": "device", "device": 2}]}}],
             "remotes": [{"ip": "10.0.2.9", "mac": "02:00:00:00:00:99", "device": 2}]}""", "name"),
        new Template("/v1/networks/blue/routes", """
            {"prefix": "172.16.0.0/12", "target": {"type": "reject"}}""", null),
        new Template("/v1/networks/blue/remotes", """
            {"ip": "10.0.1.77", "mac": "02:00:00:00:00:77", "device": 2}""", null),
        new Template("/v1/security-groups", """
            {"name": "g9", "rules": [{"direction": "ingress", "protocol": "tcp", "ports": "80-90", "cidr": "0.0.0.0/0"},
                                     {"direction": "egress", "protocol": "icmp", "cidr": "::/0"}]}""", "name"),
        new Template("/v1/vnics", """
            {"id": "vm9", "network": "blue", "ip": "10.0.1.99", "mac": "02:00:00:00:00:98", "securityGroups": ["web"],
             "backend": {"type": "memory"}}""", "id"),
        new Template("/v1/peers", """
            {"name": "p9", "device": 9, "endpoint": "127.0.0.9:6081", "encryption": "none", "allowedVnis": [100]}""", "name"),
        new Template("/v1/apply", """
            {"networks": [{"name": "blue", "vni": 100, "subnets": [{"cidr": "10.0.1.0/24", "gateway": "10.0.1.1"}]}],
             "securityGroups": [{"name": "web", "rules": [{"direction": "ingress", "protocol": "tcp", "ports": "80",
                                                           "cidr": "0.0.0.0/0"}]}],
             "vnics": [{"id": "vm1", "network": "blue", "ip": "10.0.1.11", "mac": "02:00:00:00:00:11",
                        "securityGroups": ["web"], "backend": {"type": "memory"}}],
             "peers": [{"name": "edge-2", "device": 2, "endpoint": "127.0.0.2:6081", "encryption": "none"}]}""", null));

    private static final List<String> READS = List.of("/v1/networks", "/v1/security-groups", "/v1/vnics", "/v1/peers",
        "/v1/networks/blue", "/v1/networks/blue/routes", "/v1/networks/blue/remotes");

    @Test
    void shouldAnswerEveryMutatedRequestWithoutAServerErrorAndKeepWhatItAcknowledged() throws Exception
    {
        final Path state = Files.createTempDirectory("vsnic-api-fuzz");
        final Map<String, String> acknowledged;
        int accepted = 0;
        final Map<Integer, Integer> statuses = new TreeMap<>();
        try (TestDaemon daemon = new TestDaemon(state))
        {
            expect(200, daemon.post("/v1/apply", TEMPLATES.get(TEMPLATES.size() - 1).body()));
            for (int i = 0; i < REQUESTS; i++)
            {
                final Template template = TEMPLATES.get(random.nextInt(TEMPLATES.size()));
                final String body = mutate(template.body());
                String method = "POST";
                String path = template.collection();
                if (template.nameField() != null && random.nextInt(3) == 0)
                {
                    method = "PUT";
                    path = path + "/" + name();
                }
                final TestDaemon.Response response = daemon.request(method, path, body);
                final int status = response.status();
                statuses.merge(status, 1, Integer::sum);
                final String what = method + " " + path + " " + abbreviate(body) + " -> " + status + " " + abbreviate(response.body());
                assertTrue(status < 500, what);
                if (status >= 400)
                {
                    assertNotNull(response.json(), what);
                    assertTrue(response.errorCode() != null && !response.errorCode().isEmpty(), what);
                    assertTrue(response.json().path("error").path("message").asText().length() > 5, what);
                }
                else
                {
                    accepted++;
                }
                if (i % 50 == 0)
                {
                    expect(200, daemon.get("/v1/status"));
                }
            }
            acknowledged = snapshot(daemon);
        }
        assertTrue(accepted > 20, "some mutated requests were valid and applied: " + statuses);
        assertTrue(statuses.keySet().stream().filter(s -> s >= 400).count() >= 3, "several kinds of refusal: " + statuses);
        try (TestDaemon restarted = new TestDaemon(state))
        {
            assertEquals(acknowledged, snapshot(restarted), "the state after a restart is what was acknowledged");
        }
    }

    private static Map<String, String> snapshot(final TestDaemon daemon)
    {
        final Map<String, String> snapshot = new TreeMap<>();
        for (final String path : READS)
        {
            final TestDaemon.Response response = daemon.get(path);
            snapshot.put(path, response.status() + " " + (response.json() == null ? response.body() : withoutVolatile(response.json())));
        }
        return snapshot;
    }

    /** The resource JSON without fields that change by themselves (counters, times). */
    private static String withoutVolatile(final JsonNode json)
    {
        final JsonNode copy = json.deepCopy();
        strip(copy);
        return copy.toString();
    }

    private static void strip(final JsonNode node)
    {
        if (node instanceof ObjectNode object)
        {
            object.remove(List.of("counters", "status", "stats", "updatedAt", "createdAt", "lastHandshake", "sessions"));
            object.forEach(ApiFuzzTest::strip);
        }
        else if (node instanceof ArrayNode array)
        {
            array.forEach(ApiFuzzTest::strip);
        }
    }

    private String name()
    {
        return switch (random.nextInt(6))
        {
            case 0 -> "g1";
            case 1 -> "blue";
            case 2 -> "x".repeat(1 + random.nextInt(300));
            case 3 -> "%2e%2e";
            case 4 -> "na%20me";
            default -> "n" + random.nextInt(1000);
        };
    }

    private String mutate(final String body) throws Exception
    {
        final JsonNode tree = Json.mapper().readTree(body);
        final int mutations = random.nextInt(4);
        for (int m = 0; m < mutations; m++)
        {
            mutateTree(tree, 0);
        }
        String text = tree.toString();
        switch (random.nextInt(12))
        {
            case 0 -> text = text.substring(0, random.nextInt(text.length() + 1));
            case 1 ->
            {
                final int at = random.nextInt(text.length());
                text = text.substring(0, at) + (char)random.nextInt(0x20, 0x7F) + text.substring(at + 1);
            }
            case 2 -> text = text + text;
            default ->
            {
                // the tree as mutated
            }
        }
        return text;
    }

    /** Changes one place of the tree, walking down from {@code node} at random. */
    private void mutateTree(final JsonNode node, final int depth)
    {
        if (node instanceof ObjectNode object && object.size() > 0)
        {
            final List<String> names = new ArrayList<>();
            for (final Iterator<String> it = object.fieldNames(); it.hasNext();)
            {
                names.add(it.next());
            }
            final String field = names.get(random.nextInt(names.size()));
            final JsonNode child = object.get(field);
            switch (random.nextInt(depth < 4 && child.isContainerNode() ? 6 : 4))
            {
                case 0 -> object.remove(field);
                case 1 -> object.set(field, value());
                case 2 ->
                {
                    object.remove(field);
                    object.set(field + (random.nextBoolean() ? "x" : "").toUpperCase(), child);
                }
                case 3 -> object.set(random.nextBoolean() ? field : "extra" + random.nextInt(3), value());
                default -> mutateTree(child, depth + 1);
            }
        }
        else if (node instanceof ArrayNode array && array.size() > 0)
        {
            final int index = random.nextInt(array.size());
            switch (random.nextInt(4))
            {
                case 0 -> array.remove(index);
                case 1 -> array.add(array.get(index).deepCopy());
                case 2 -> array.set(index, value());
                default -> mutateTree(array.get(index), depth + 1);
            }
        }
    }

    /** A JSON value of any type, some of them extreme. */
    private JsonNode value()
    {
        return switch (random.nextInt(14))
        {
            case 0 -> NODES.nullNode();
            case 1 -> NODES.booleanNode(random.nextBoolean());
            case 2 -> NODES.numberNode(random.nextInt(-5, 70_000));
            case 3 -> NODES.numberNode(Long.MAX_VALUE);
            case 4 -> NODES.numberNode(-1e308);
            case 5 -> NODES.numberNode(new java.math.BigInteger("1" + "0".repeat(40)));
            case 6 -> NODES.textNode("");
            case 7 -> NODES.textNode("x".repeat(random.nextInt(10_000)));
            case 8 -> NODES.textNode("\u0000\u202e\uD83D\uDE00 ' \" \\ / <>");
            case 9 -> NODES.textNode(random.nextBoolean() ? "10.0.1.0/24" : "02:00:00:00:00:01");
            case 10 -> NODES.arrayNode().add(random.nextInt()).add("a").addNull();
            case 11 ->
            {
                ObjectNode deep = NODES.objectNode();
                final ObjectNode top = deep;
                for (int i = 0; i < 60; i++)
                {
                    deep = deep.putObject("d");
                }
                yield top;
            }
            case 12 -> NODES.objectNode();
            default -> NODES.textNode("blue");
        };
    }

    private static String abbreviate(final String text)
    {
        return text == null ? "null" : text.length() <= 300 ? text : text.substring(0, 300) + "...";
    }
}
