package io.vsnic.orchestrator.api;

import static io.vsnic.orchestrator.TestDaemon.expect;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import com.fasterxml.jackson.databind.JsonNode;
import io.vsnic.orchestrator.TestDaemon;
import io.vsnic.orchestrator.model.Json;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The server against {@code docs/api/openapi.yaml}: every documented operation, called with its
 * documented example, answers a documented 2xx status with a body that has the schema's required
 * properties (and an ETag where one is documented); every documented path answers 405 with the
 * documented methods in {@code Allow} for the others; undocumented paths answer 404.
 */
class ApiContractTest
{
    private static final List<String> METHODS = List.of("GET", "PUT", "POST", "DELETE", "PATCH");
    /** Delete order: what refers to others first. */
    private static final List<String> DELETE_ORDER = List.of("routes", "remotes", "vnics", "peers", "security-groups", "networks");

    @TempDir
    Path state;

    private TestDaemon daemon;
    private JsonNode spec;

    @BeforeEach
    void start() throws Exception
    {
        spec = Json.yaml().readTree(Files.readAllBytes(openapi()));
        daemon = new TestDaemon(state);
        // the enclave examples name this key file (an enclave needs its own WireGuard key)
        final Path exampleKey = Path.of("/tmp/vsnic-enclave-example.key");
        if (!Files.exists(exampleKey))
        {
            io.vsnic.crypto.KeyFiles.writePrivateKey(exampleKey,
                io.vsnic.crypto.DeviceKeys.generate(new java.security.SecureRandom()).privateKey(), true);
        }
        expect(200, daemon.post("/v1/apply", """
            {"networks": [{"name": "blue", "vni": 100, "subnets": [{"cidr": "10.0.1.0/24", "gateway": "10.0.1.1"}]}],
             "securityGroups": [{"name": "web", "rules": [{"direction": "ingress", "protocol": "tcp", "ports": "80", "cidr": "0.0.0.0/0"}]}],
             "vnics": [{"id": "vm1", "network": "blue", "ip": "10.0.1.11", "securityGroups": ["web"], "backend": {"type": "memory"}},
                       {"id": "vm9", "network": "blue", "ip": "10.0.1.19", "securityGroups": ["web"],
                        "backend": {"type": "qemu-stream", "mode": "connect", "path": "%s"}}],
             "peers": [{"name": "edge-2", "device": 2, "endpoint": "127.0.0.2:6081", "encryption": "none"}],
             "enclaves": [{"name": "pay", "vni": 7001, "cidr": "10.77.0.0/24", "gateway": "10.77.0.1",
               "substrate": {"bindAddress": "127.0.0.1", "port": 51901, "privateKeyFile": "/tmp/vsnic-enclave-example.key",
                             "innerAddress": "10.97.0.1"},
               "services": [{"name": "api", "ip": "10.77.0.11", "backend": {"type": "memory"}}]}]}
            """.formatted(state.resolve("nobody-listens.sock"))));
        // vm9 waits for a QEMU that never listens: task 1, which GET /v1/tasks/{id} shows
    }

    @AfterEach
    void stop()
    {
        daemon.close();
    }

    static Path openapi()
    {
        final Path root = Path.of(System.getProperty("vsnic.repo.root", ".."));
        final Path file = root.resolve("docs/api/openapi.yaml");
        return Files.exists(file) ? file : Path.of("../docs/api/openapi.yaml");
    }

    private record Operation(String method, String path, JsonNode node)
    {
    }

    private List<Operation> operations()
    {
        final List<Operation> operations = new ArrayList<>();
        final Iterator<Map.Entry<String, JsonNode>> paths = spec.get("paths").properties().iterator();
        while (paths.hasNext())
        {
            final Map.Entry<String, JsonNode> path = paths.next();
            for (final String method : METHODS)
            {
                final JsonNode operation = path.getValue().get(method.toLowerCase());
                if (operation != null)
                {
                    operations.add(new Operation(method, path.getKey(), operation));
                }
            }
        }
        return operations;
    }

    private JsonNode resolve(final JsonNode node)
    {
        if (node != null && node.has("$ref"))
        {
            JsonNode target = spec;
            for (final String part : node.get("$ref").asText().substring(2).split("/"))
            {
                target = target.get(part);
            }
            return resolve(target);
        }
        return node;
    }

    /** The example of a path parameter; for DELETE of a top-level resource, the one its collection's POST example creates. */
    private String concretePath(final Operation operation)
    {
        String path = operation.path();
        final List<JsonNode> parameters = new ArrayList<>();
        final JsonNode pathItem = spec.get("paths").get(operation.path());
        pathItem.path("parameters").forEach(p -> parameters.add(resolve(p)));
        operation.node().path("parameters").forEach(p -> parameters.add(resolve(p)));
        final StringBuilder query = new StringBuilder();
        for (final JsonNode parameter : parameters)
        {
            final String name = parameter.get("name").asText();
            final String in = parameter.get("in").asText();
            if (in.equals("path"))
            {
                String value = parameter.get("example").asText();
                if (operation.method().equals("DELETE") && path.matches("/v1/[a-z-]+/\\{[a-z]+}"))
                {
                    final String collection = path.split("/")[2];
                    final JsonNode created = resolve(spec.get("paths").get("/v1/" + collection).get("post")
                        .get("requestBody")).get("content").get("application/json").get("example");
                    value = created.has("id") ? created.get("id").asText() : created.get("name").asText();
                }
                path = path.replace("{" + name + "}", value);
            }
            else if (in.equals("query") && parameter.path("required").asBoolean())
            {
                query.append(query.isEmpty() ? "?" : "&").append(name).append('=').append(parameter.get("example").asText());
            }
        }
        return path + query;
    }

    private static int order(final Operation operation)
    {
        final int method = switch (operation.method())
        {
            case "GET" -> 0;
            case "POST" -> 1;
            case "PUT" -> 2;
            default -> 3;
        };
        int delete = 0;
        if (operation.method().equals("DELETE"))
        {
            final String[] parts = operation.path().split("/");
            delete = DELETE_ORDER.indexOf(parts[parts.length - 1].startsWith("{") ? parts[2] : parts[parts.length - 1]);
        }
        return method * 100 + delete;
    }

    @Test
    void shouldAnswerEveryDocumentedOperationAsDocumented()
    {
        final List<Operation> operations = operations();
        assertTrue(operations.size() >= 30, "documented operations: " + operations.size());
        operations.sort(Comparator.comparingInt(ApiContractTest::order));
        for (final Operation operation : operations)
        {
            if (operation.node().path("x-vsnic-cluster-only").asBoolean())
            {
                // standalone answers 409 not_clustered: covered by the cluster tests
                assertEquals(409, daemon.request(operation.method(), concretePath(operation), "{}").status(), operation.path());
                continue;
            }
            final String path = concretePath(operation);
            final JsonNode requestBody = resolve(operation.node().get("requestBody"));
            final String body = requestBody == null ? null :
                requestBody.get("content").get("application/json").get("example").toString();
            final TestDaemon.Response response = daemon.request(operation.method(), path, body);
            final String what = operation.method() + " " + path + " -> " + response.status() + " " + response.body();
            final JsonNode documented = operation.node().get("responses").get(Integer.toString(response.status()));
            assertNotNull(documented, "undocumented status: " + what);
            assertEquals(2, response.status() / 100, "the documented example succeeds: " + what);
            final JsonNode resolved = resolve(documented);
            final JsonNode content = resolved.path("content");
            if (content.has("application/json"))
            {
                assertNotNull(response.json(), "JSON body: " + what);
                final JsonNode schema = resolve(content.get("application/json").get("schema"));
                schema.path("required").forEach(name -> assertTrue(response.json().has(name.asText()),
                    "required property " + name.asText() + ": " + what));
                if (schema.path("additionalProperties").isBoolean() && !schema.get("additionalProperties").asBoolean())
                {
                    response.json().fieldNames().forEachRemaining(name -> assertTrue(schema.get("properties").has(name),
                        "property " + name + " is documented: " + what));
                }
            }
            else if (content.has("text/plain"))
            {
                assertTrue(response.header("content-type").startsWith("text/plain"), what);
            }
            else
            {
                assertEquals("", response.body(), "no body: " + what);
            }
            if (resolved.path("headers").has("ETag"))
            {
                assertNotNull(response.header("ETag"), "ETag: " + what);
            }
        }
    }

    @Test
    void shouldAnswerErrorsWithTheDocumentedShape()
    {
        for (final Operation operation : operations())
        {
            if (!operation.path().contains("{"))
            {
                continue;
            }
            final String path = operation.path().replaceAll("\\{[a-z]+}", "no-such-thing") +
                (operation.method().equals("DELETE") && operation.path().endsWith("routes") ? "?prefix=10.9.0.0/16" : "") +
                (operation.method().equals("DELETE") && operation.path().endsWith("remotes") ? "?ip=10.0.1.99" : "");
            if (operation.method().equals("PUT") || operation.method().equals("POST") ||
                operation.node().path("x-vsnic-cluster-only").asBoolean())
            {
                continue;
            }
            final TestDaemon.Response response = daemon.request(operation.method(), path, null);
            assertEquals(404, response.status(), operation.method() + " " + path);
            assertNotNull(operation.node().get("responses").get("404"), "404 documented for " + operation.method() + " " + operation.path());
            assertEquals("not_found", response.errorCode());
            assertTrue(response.json().get("error").has("message"));
        }
    }

    @Test
    void shouldAnswer405WithTheDocumentedMethodsForOtherMethods()
    {
        final Iterator<Map.Entry<String, JsonNode>> paths = spec.get("paths").properties().iterator();
        while (paths.hasNext())
        {
            final Map.Entry<String, JsonNode> entry = paths.next();
            final Set<String> documented = new TreeSet<>();
            METHODS.forEach(m -> {
                if (entry.getValue().has(m.toLowerCase()))
                {
                    documented.add(m);
                }
            });
            final String path = entry.getKey().replace("{name}", "blue").replace("{id}", "vm1");
            for (final String method : METHODS)
            {
                if (documented.contains(method))
                {
                    continue;
                }
                final TestDaemon.Response response = daemon.request(method, path, method.equals("GET") ? null : "{}");
                assertEquals(405, response.status(), method + " " + path + ": " + response.body());
                assertEquals("method_not_allowed", response.errorCode());
                assertEquals(documented, new TreeSet<>(List.of(response.header("Allow").split(",\\s*"))),
                    "Allow of " + path);
            }
        }
    }

    @Test
    void shouldAnswer404ForUndocumentedRoutes()
    {
        for (final String path : List.of("/", "/v1", "/v1/", "/v2/networks", "/v1/unknown", "/v1/networks/blue/unknown",
            "/v1/vnics/vm1/routes", "/v1/status/extra", "/metrics/extra", "/v1/networks/blue/routes/extra", "/api/v1/networks",
            "/v1/security-groups/web/rules", "/v1/peers/edge-2/session", "/V1/networks", "/v1/enclaves/pay/services", "/v1/tasks/1/attempts"))
        {
            for (final String method : List.of("GET", "POST"))
            {
                final TestDaemon.Response response = daemon.request(method, path, method.equals("GET") ? null : "{}");
                assertEquals(404, response.status(), method + " " + path + ": " + response.body());
                assertEquals("not_found", response.errorCode(), method + " " + path);
            }
        }
    }

    @Test
    void shouldDocumentEveryRouteTheServerAnswers() throws IOException
    {
        // the server's own route table (ApiRoutes) against the document: each answers something other than 404
        final Set<String> documented = new TreeSet<>();
        spec.get("paths").fieldNames().forEachRemaining(documented::add);
        assertEquals(Set.of("/v1/networks", "/v1/networks/{name}", "/v1/networks/{name}/routes", "/v1/networks/{name}/remotes",
            "/v1/security-groups", "/v1/security-groups/{name}", "/v1/vnics", "/v1/vnics/{id}", "/v1/peers", "/v1/peers/{name}",
            "/v1/apply", "/v1/manifest", "/v1/status", "/v1/topology", "/metrics", "/v1/cluster", "/v1/cluster/tokens",
            "/v1/cluster/join", "/v1/cluster/members/{name}", "/v1/enclaves", "/v1/enclaves/{name}", "/v1/tasks", "/v1/tasks/{id}"),
            documented);
    }
}
