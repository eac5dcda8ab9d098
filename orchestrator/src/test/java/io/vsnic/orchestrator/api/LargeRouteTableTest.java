package io.vsnic.orchestrator.api;

import static io.vsnic.orchestrator.TestDaemon.expect;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;

import com.fasterxml.jackson.databind.JsonNode;
import io.vsnic.dataplane.protocol.Ipv4Flyweight;
import io.vsnic.dataplane.table.ForwardingState;
import io.vsnic.orchestrator.ChildDaemon;
import io.vsnic.orchestrator.TestDaemon;
import io.vsnic.orchestrator.VnicTraffic;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Route tables larger than the API's usual body limit and than one journal document: loaded in one
 * {@code PUT .../routes}, forwarded through, journalled in parts and restored after a restart; and the
 * body limits that still hold everywhere else.
 */
class LargeRouteTableTest
{
    /** About 21 MB of JSON: more than one journal document (16 MiB) holds, so the entries go in parts. */
    private static final int ROUTES = 300_000;

    @TempDir
    Path state;

    /** Route i: the /24 at 11.0.0.0 + i * 256, to vm2, every tenth one {@code reject}. */
    private static String routes(final int count)
    {
        final StringBuilder json = new StringBuilder(count * 72).append("{\"items\":[");
        for (int i = 0; i < count; i++)
        {
            final int address = (11 << 24) + (i << 8);
            json.append(i == 0 ? "" : ",").append("{\"prefix\":\"").append(Ipv4Flyweight.format(address)).append("/24\",\"target\":")
                .append(i % 10 == 9 ? "{\"type\":\"reject\"}" : "{\"type\":\"port\",\"vnic\":\"vm2\"}").append('}');
        }
        return json.append("]}").toString();
    }

    /** Sends one UDP frame from vm1 through the gateway to {@code destination} and expects it at vm2. */
    private static void assertRouted(final TestDaemon daemon, final String destination) throws InterruptedException
    {
        final VnicTraffic traffic = new VnicTraffic(daemon);
        final VnicTraffic.Vnic vm1 = traffic.vnic("vm1");
        final VnicTraffic.Vnic vm2 = traffic.vnic("vm2");
        final long gateway = ForwardingState.GATEWAY_MAC_PREFIX | 100;
        traffic.sendFrame(vm1, b -> b.ethernet(gateway, vm1.mac()).ipv4(vm1.ip(), Ipv4Flyweight.parse(destination))
            .udp(40000, 5000).payload(64, 1));
        assertEquals(1, traffic.receive(vm2, 1), "routed to vm2 by the route for " + destination);
    }

    @Test
    void shouldLoadForwardJournalAndRestoreATableLargerThanOneJournalDocument() throws Exception
    {
        final String body = routes(ROUTES);
        assertTrue(body.length() > 16 << 20, "more than one journal document: " + body.length());
        final long version;
        try (TestDaemon daemon = new TestDaemon(state))
        {
            daemon.twoVnics();
            final TestDaemon.Response put = expect(204, daemon.put("/v1/networks/blue/routes", body, "Prefer", "return=minimal"));
            assertEquals("return=minimal", put.header("Preference-Applied"));
            version = Long.parseLong(put.header("ETag").replace("\"", ""));
            assertEquals(version, daemon.get("/v1/networks/blue").json().get("version").asLong());
            assertRouted(daemon, "11.0.0.9");
            assertRouted(daemon, "15.147.222.200"); // the last port route, i = 299,998
            // an unrelated change (a vNIC) keeps the compiled table; a route change compiles it again
            final io.vsnic.dataplane.table.Ipv4RouteTable table = daemon.daemon.dataPlane().state().network(0).routes4();
            expect(201, daemon.post("/v1/vnics", "{\"id\": \"vm3\", \"network\": \"blue\", \"ip\": \"10.0.1.13\", " +
                "\"backend\": {\"type\": \"memory\"}}"));
            assertTrue(table == daemon.daemon.dataPlane().state().network(0).routes4(), "route table taken over");
            expect(204, daemon.delete("/v1/vnics/vm3"));
            assertTrue(table == daemon.daemon.dataPlane().state().network(0).routes4(), "route table taken over");
            assertRouted(daemon, "11.0.0.9");
        }
        try (TestDaemon daemon = new TestDaemon(state))
        {
            assertTrue(daemon.get("/v1/status").json().at("/journal/corruptTail").isNull());
            final JsonNode routes = expect(200, daemon.get("/v1/networks/blue/routes")).json();
            assertEquals(version, routes.get("version").asLong());
            assertEquals(ROUTES, routes.get("items").size());
            assertEquals("11.0.0.0/24", routes.get("items").get(0).get("prefix").asText());
            assertEquals("15.147.223.0/24", routes.get("items").get(ROUTES - 1).get("prefix").asText());
            assertEquals("reject", routes.get("items").get(ROUTES - 1).at("/target/type").asText());
            assertRouted(daemon, "11.2.3.4");
            // one route added and one removed: journalled as themselves, not as the 21 MB network
            final long before = daemon.get("/v1/status").json().at("/journal/bytesInGeneration").asLong();
            expect(201, daemon.post("/v1/networks/blue/routes", "{\"prefix\": \"10.99.0.0/16\", \"target\": {\"type\": \"reject\"}}"));
            expect(204, daemon.delete("/v1/networks/blue/routes?prefix=11.0.0.0/24"));
            final long grown = daemon.get("/v1/status").json().at("/journal/bytesInGeneration").asLong() - before;
            assertTrue(grown > 0 && grown < 1_000, "two one-route changes took " + grown + " journal bytes");
            // and the data plane has them (edited into its tables, not compiled again: ForwardingStateTest)
            final io.vsnic.dataplane.table.NetworkTable blue = daemon.daemon.dataPlane().state().network(0);
            assertTrue(blue.route4(Ipv4Flyweight.parse("11.0.0.9")) < 0, "the removed route no longer routes");
            assertEquals(io.vsnic.dataplane.table.NetworkTable.HOP_REJECT, blue.hopKind(blue.route4(Ipv4Flyweight.parse("10.99.7.7"))));
            assertRouted(daemon, "11.0.1.9");
            expect(201, daemon.post("/v1/networks/blue/routes", "{\"prefix\": \"10.98.0.0/16\", \"target\": {\"type\": \"port\", \"vnic\": \"vm2\"}}"));
            assertRouted(daemon, "10.98.1.2");
            expect(204, daemon.delete("/v1/networks/blue/routes?prefix=10.98.0.0/16"));
            // the restart wrote the whole state as the new generation's snapshot, in parts: once more
        }
        try (TestDaemon daemon = new TestDaemon(state))
        {
            final JsonNode routes = daemon.get("/v1/networks/blue/routes").json();
            assertEquals(ROUTES, routes.get("items").size(), "one added, one removed");
            assertEquals("10.99.0.0/16", routes.get("items").get(ROUTES - 1).get("prefix").asText());
            assertEquals("11.0.1.0/24", routes.get("items").get(0).get("prefix").asText());
            assertEquals(routes.get("version").asLong(), daemon.get("/v1/networks/blue").json().get("version").asLong());
            // whole tables again and again: the generation rolls over once the changes outweigh its snapshot
            // (here at 64 MiB), so that replay and disk stay bounded
            final long generation = daemon.get("/v1/status").json().at("/journal/generation").asLong();
            for (int i = 0; i < 4; i++)
            {
                expect(204, daemon.put("/v1/networks/blue/routes", routes(ROUTES - i % 2), "Prefer", "return=minimal"));
            }
            final JsonNode journal = daemon.get("/v1/status").json().get("journal");
            assertEquals(generation + 1, journal.get("generation").asLong(), journal.toString());
            assertTrue(journal.get("bytesInGeneration").asLong() < 64L << 20, journal.toString());
            expect(200, daemon.put("/v1/networks/blue/routes", "{\"items\": []}"));
        }
    }

    @Test
    void shouldKeepTheUsualBodyLimitEverywhereElse() throws Exception
    {
        try (TestDaemon daemon = new TestDaemon(state))
        {
            daemon.twoVnics();
            // above 1 MiB on the routes: taken
            final String body = routes(20_000);
            assertTrue(body.length() > ApiServer.MAX_BODY_BYTES);
            assertEquals(20_000, expect(200, daemon.put("/v1/networks/blue/routes", body)).json().get("items").size());
            // above 1 MiB elsewhere, chunked (no Content-Length): refused once aggregated
            final HttpRequest chunked = HttpRequest.newBuilder(URI.create(daemon.base() + "/v1/networks"))
                .header("Content-Type", "application/json").timeout(Duration.ofSeconds(30))
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(
                    ("{\"name\": \"" + "x".repeat(2 << 20) + "\"}").getBytes(StandardCharsets.UTF_8))))
                .build();
            final HttpResponse<String> refused = HttpClient.newHttpClient().send(chunked, HttpResponse.BodyHandlers.ofString());
            assertEquals(413, refused.statusCode(), refused.body());
            assertTrue(refused.body().contains("payload_too_large"), refused.body());
            // a declared length above the routes' own limit: refused before the body is sent
            assertEquals(413, declaredLength(daemon, "PUT", "/v1/networks/blue/routes", ApiServer.MAX_ROUTES_BODY_BYTES + 1L));
            assertEquals(413, declaredLength(daemon, "PUT", "/v1/networks/blue", ApiServer.MAX_BODY_BYTES + 1L));
            assertEquals(20_000, daemon.get("/v1/networks/blue/routes").json().get("items").size(), "nothing changed");
        }
    }

    /**
     * A table too large for the daemon's heap is refused with a clear 503 ({@code insufficient_memory}), not a
     * dropped connection or a dead control thread, and the daemon goes on taking changes.
     */
    @Test
    void shouldRefuseATableTooLargeForTheHeapAndGoOn() throws Exception
    {
        final Path config = state.resolve("device.yaml");
        java.nio.file.Files.writeString(config, """
            device: {name: small-heap, id: 1}
            api: {listen: "127.0.0.1:0"}
            substrate: {enabled: false}
            dataplane: {workers: 1, frameSlots: 1024, connectionCapacity: 4096}
            """);
        final ChildDaemon child = ChildDaemon.start(config, state.resolve("state"), state.resolve("child.err"),
            java.util.List.of("-Xmx48m", "-XX:+UseSerialGC"));
        try
        {
            final HttpClient http = HttpClient.newHttpClient();
            final java.util.function.BiFunction<String, String, HttpResponse<String>> send = (path, body) ->
            {
                try
                {
                    return http.send(HttpRequest.newBuilder(URI.create(child.base() + path)).timeout(Duration.ofSeconds(60))
                        .header("Content-Type", "application/json").method(path.equals("/v1/apply") ? "POST" : "PUT",
                            HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
                }
                catch (final java.io.IOException | InterruptedException ex)
                {
                    throw new AssertionError(path + ": " + ex, ex);
                }
            };
            assertEquals(200, send.apply("/v1/apply", """
                {"networks": [{"name": "blue", "vni": 100, "subnets": [{"cidr": "10.0.1.0/24", "gateway": "10.0.1.1"}]}],
                 "vnics": [{"id": "vm2", "network": "blue", "ip": "10.0.1.12", "backend": {"type": "memory"}}]}
                """).statusCode());
            final HttpResponse<String> refused = send.apply("/v1/networks/blue/routes", routes(ROUTES));
            assertEquals(503, refused.statusCode(), refused.body());
            assertTrue(refused.body().contains("insufficient_memory"), refused.body());
            final HttpResponse<String> small = send.apply("/v1/networks/blue/routes", routes(100));
            assertEquals(200, small.statusCode(), small.body());
            assertTrue(small.body().contains("\"version\" : 2"), "the refused table made no revision: " + small.body());
        }
        finally
        {
            child.process().destroyForcibly().waitFor();
        }
    }

    /** Sends only the head of a request declaring {@code length} body bytes; returns the status answered. */
    private static int declaredLength(final TestDaemon daemon, final String method, final String path, final long length)
        throws Exception
    {
        try (Socket socket = new Socket("127.0.0.1", daemon.daemon.apiAddress().getPort()))
        {
            socket.setSoTimeout(10_000);
            final OutputStream out = socket.getOutputStream();
            out.write((method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: " +
                length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            final InputStream in = socket.getInputStream();
            final StringBuilder line = new StringBuilder();
            for (int c = in.read(); c >= 0 && c != '\n'; c = in.read())
            {
                line.append((char)c);
            }
            // "HTTP/1.1 413 Request Entity Too Large"
            return Integer.parseInt(line.toString().split(" ")[1]);
        }
    }
}
