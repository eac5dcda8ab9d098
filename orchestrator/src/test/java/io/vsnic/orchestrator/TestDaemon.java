package io.vsnic.orchestrator;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import io.vsnic.orchestrator.daemon.ConfigException;
import io.vsnic.orchestrator.daemon.Daemon;
import io.vsnic.orchestrator.daemon.DeviceConfig;
import io.vsnic.orchestrator.model.Json;

/**
 * A daemon started in-process on an ephemeral API port (loopback), substrate off or on an ephemeral
 * loopback port, with a JSON HTTP client.
 */
public final class TestDaemon implements AutoCloseable
{
    public final Daemon daemon;
    public final Path stateDirectory;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    /** A response: status, headers, body text and its JSON (or null). */
    public record Response(int status, Map<String, java.util.List<String>> headers, String body, JsonNode json)
    {
        public String header(final String name)
        {
            return headers.entrySet().stream().filter(e -> e.getKey().equalsIgnoreCase(name)).map(e -> e.getValue().get(0))
                .findFirst().orElse(null);
        }

        public String errorCode()
        {
            return json == null ? null : json.path("error").path("code").asText(null);
        }

        public String errorField()
        {
            return json == null ? null : json.path("error").path("field").asText(null);
        }
    }

    public TestDaemon(final Path stateDirectory) throws Daemon.StartException, ConfigException
    {
        this(stateDirectory, false);
    }

    public TestDaemon(final Path stateDirectory, final boolean substrate) throws Daemon.StartException, ConfigException
    {
        this.stateDirectory = stateDirectory;
        this.daemon = Daemon.start(config(substrate), stateDirectory);
    }

    public TestDaemon(final Path stateDirectory, final DeviceConfig config) throws Daemon.StartException
    {
        this.stateDirectory = stateDirectory;
        this.daemon = Daemon.start(config, stateDirectory);
    }

    public static DeviceConfig config(final boolean substrate) throws ConfigException
    {
        return DeviceConfig.parse(("""
            device: {name: test-device, id: 1}
            api: {listen: "127.0.0.1:0"}
            substrate: {enabled: %s, bindAddress: 127.0.0.1, genevePort: 0, vxlanPort: 0, transport: nio}
            dataplane: {workers: 1, frameSlots: 1024, connectionCapacity: 4096}
            """.formatted(substrate)).getBytes(StandardCharsets.UTF_8));
    }

    public String base()
    {
        return "http://127.0.0.1:" + daemon.apiAddress().getPort();
    }

    public Response request(final String method, final String path, final String body, final String... headers)
    {
        try
        {
            final HttpRequest.Builder builder = HttpRequest.newBuilder(URI.create(base() + path)).timeout(Duration.ofSeconds(30));
            for (int i = 0; i < headers.length; i += 2)
            {
                builder.header(headers[i], headers[i + 1]);
            }
            if (body != null && headers.length == 0)
            {
                builder.header("Content-Type", "application/json");
            }
            builder.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
            final HttpResponse<String> response = http.send(builder.build(), HttpResponse.BodyHandlers.ofString());
            JsonNode json = null;
            final String type = response.headers().firstValue("content-type").orElse("");
            if (type.startsWith("application/json") && !response.body().isEmpty())
            {
                json = Json.mapper().readTree(response.body());
            }
            return new Response(response.statusCode(), response.headers().map(), response.body(), json);
        }
        catch (final IOException ex)
        {
            throw new AssertionError(method + " " + path + " failed: " + ex, ex);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw new AssertionError(ex);
        }
    }

    public Response get(final String path)
    {
        return request("GET", path, null);
    }

    public Response post(final String path, final String body)
    {
        return request("POST", path, body);
    }

    public Response put(final String path, final String body, final String... headers)
    {
        return request("PUT", path, body, headers.length == 0 ? new String[0] : withJson(headers));
    }

    public Response delete(final String path, final String... headers)
    {
        return request("DELETE", path, null, headers);
    }

    private static String[] withJson(final String[] headers)
    {
        final String[] all = new String[headers.length + 2];
        System.arraycopy(headers, 0, all, 0, headers.length);
        all[headers.length] = "Content-Type";
        all[headers.length + 1] = "application/json";
        return all;
    }

    /** Asserts a status, showing the body on failure; returns the response. */
    public static Response expect(final int status, final Response response)
    {
        assertEquals(status, response.status(), () -> "status; body: " + response.body());
        return response;
    }

    /** Two memory vNICs vm1 (10.0.1.11) and vm2 (10.0.1.12) in network blue, ingress open. */
    public void twoVnics()
    {
        expect(200, post("/v1/apply", """
            {"networks": [{"name": "blue", "vni": 100, "subnets": [{"cidr": "10.0.1.0/24", "gateway": "10.0.1.1"}]}],
             "securityGroups": [{"name": "open", "rules": [{"direction": "ingress", "cidr": "0.0.0.0/0"}]}],
             "vnics": [
               {"id": "vm1", "network": "blue", "ip": "10.0.1.11", "securityGroups": ["open"], "backend": {"type": "memory"}},
               {"id": "vm2", "network": "blue", "ip": "10.0.1.12", "securityGroups": ["open"], "backend": {"type": "memory"}}]}
            """));
    }

    /**
     * Sends {@code count} UDP frames from one memory vNIC to another (same subnet) and asserts that
     * every one arrives, unchanged in length.
     */
    public void assertForwards(final String from, final String to, final int count) throws InterruptedException
    {
        final VnicTraffic traffic = new VnicTraffic(this);
        final VnicTraffic.Vnic source = traffic.vnic(from);
        final VnicTraffic.Vnic target = traffic.vnic(to);
        int length = 0;
        for (int i = 0; i < count; i++)
        {
            final int sourcePort = 40000 + i;
            final int seed = i;
            length = traffic.send(source, target, b -> b.udp(sourcePort, 5000).payload(64, seed));
        }
        assertEquals(count, traffic.receive(target, count, length), "frames forwarded from " + from + " to " + to);
    }

    @Override
    public void close()
    {
        daemon.close();
    }
}
