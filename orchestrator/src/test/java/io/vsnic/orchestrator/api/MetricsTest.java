package io.vsnic.orchestrator.api;

import static io.vsnic.orchestrator.TestDaemon.expect;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import io.vsnic.dataplane.buffer.Frame;
import io.vsnic.dataplane.protocol.EthernetFlyweight;
import io.vsnic.dataplane.protocol.FrameBuilder;
import io.vsnic.dataplane.protocol.Ipv4Flyweight;
import io.vsnic.orchestrator.TestDaemon;
import io.vsnic.orchestrator.model.Json;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code /metrics}: the exposition parses (every sample has a TYPE, counters end in _total, labels
 * are well-formed), the counters move with traffic, {@code promtool check metrics} (Debian package
 * {@code prometheus}) accepts it, and a real Prometheus server scrapes it.
 */
class MetricsTest
{
    private static final Pattern SAMPLE = Pattern.compile("([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{([^}]*)\\})? (-?[0-9.eE+]+|NaN)");
    private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\"");

    @TempDir
    Path state;

    private TestDaemon daemon;

    @BeforeEach
    void start() throws Exception
    {
        daemon = new TestDaemon(state, true);
        daemon.twoVnics();
    }

    @AfterEach
    void stop()
    {
        daemon.close();
    }

    /** Parses the exposition strictly; returns sample value by "name{sorted labels}". */
    static Map<String, Double> parse(final String text)
    {
        final Map<String, String> types = new HashMap<>();
        final Map<String, Double> samples = new HashMap<>();
        final Set<String> helps = new HashSet<>();
        for (final String line : text.split("\n"))
        {
            if (line.startsWith("# HELP "))
            {
                helps.add(line.split(" ")[2]);
                continue;
            }
            if (line.startsWith("# TYPE "))
            {
                final String[] parts = line.split(" ");
                assertEquals(4, parts.length, line);
                assertTrue(Set.of("counter", "gauge").contains(parts[3]), line);
                assertTrue(types.put(parts[2], parts[3]) == null, "one TYPE per metric: " + line);
                continue;
            }
            final Matcher matcher = SAMPLE.matcher(line);
            assertTrue(matcher.matches(), "sample line: " + line);
            final String name = matcher.group(1);
            assertNotNull(types.get(name), "TYPE before sample: " + line);
            assertTrue(helps.contains(name), "HELP for " + name);
            if (types.get(name).equals("counter"))
            {
                assertTrue(name.endsWith("_total"), "counter name ends with _total: " + name);
            }
            final java.util.TreeMap<String, String> labels = new java.util.TreeMap<>();
            if (matcher.group(3) != null)
            {
                final Matcher label = LABEL.matcher(matcher.group(3));
                int end = 0;
                while (label.find())
                {
                    assertEquals(end, label.start(), "labels well-formed: " + line);
                    labels.put(label.group(1), label.group(2));
                    end = label.end() + 1;
                }
                assertEquals(matcher.group(3).length() + 1, end, "labels well-formed: " + line);
            }
            assertTrue(samples.put(labels.isEmpty() ? name : name + labels, Double.parseDouble(matcher.group(4))) == null, "duplicate series: " + line);
        }
        return samples;
    }

    private Map<String, Double> scrape()
    {
        final TestDaemon.Response response = expect(200, daemon.get("/metrics"));
        assertTrue(response.header("Content-Type").startsWith("text/plain; version=0.0.4"));
        return parse(response.body());
    }

    private void send(final String from, final long dstMac, final int dstIp, final int count)
    {
        final JsonNode source = daemon.get("/v1/vnics/" + from).json();
        for (int i = 0; i < count; i++)
        {
            final Frame frame = daemon.daemon.dataPlane().pool().acquire();
            final FrameBuilder builder = new FrameBuilder(frame.segment(), frame.start());
            builder.ethernet(dstMac, EthernetFlyweight.parseMac(source.get("mac").asText()))
                .ipv4(Ipv4Flyweight.parse(source.get("ip").asText()), dstIp).udp(1000 + i, 2000).payload(100, i);
            frame.length(builder.build());
            assertTrue(daemon.daemon.memoryPort(from).inject(frame));
        }
    }

    private Map<String, Double> awaitValue(final String series, final double value) throws InterruptedException
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        Map<String, Double> samples = scrape();
        while (!Double.valueOf(value).equals(samples.get(series)) && System.nanoTime() < deadline)
        {
            Thread.sleep(20);
            samples = scrape();
        }
        assertEquals(value, samples.get(series), series);
        return samples;
    }

    @Test
    void shouldExposeEveryCounterAndMoveThemWithTraffic() throws InterruptedException
    {
        final Map<String, Double> before = scrape();
        assertEquals(0.0, before.get("vsnic_vnic_rx_packets_total{network=blue, vnic=vm1}"));
        assertEquals(0.0, before.get("vsnic_dataplane_drops_total{reason=unknown_mac}"));
        assertNotNull(before.get("vsnic_network_rx_packets_total{network=blue, vni=100}"));
        assertNotNull(before.get("vsnic_substrate_rx_datagrams_total"));
        assertNotNull(before.get("vsnic_substrate_rx_queue_datagrams_total{queue=0}"), "per receive queue: " + before.keySet().stream()
            .filter(k -> k.startsWith("vsnic_substrate_rx_queue")).toList());
        assertNotNull(before.get("vsnic_substrate_drops_total{reason=unknown_peer}"));
        assertNotNull(before.get("vsnic_substrate_drops_total{reason=wg_handshake_backlog}"));
        assertNotNull(before.get("vsnic_substrate_kernel_udp_errors_total{counter=RcvbufErrors, protocol=udp}"),
            "the kernel's own UDP receive-buffer drops (/proc/net/snmp) are exported: " + before.keySet().stream()
                .filter(k -> k.startsWith("vsnic_substrate_kernel")).toList());
        assertEquals(1.0, before.get("vsnic_resources{kind=network}"));
        assertEquals(2.0, before.get("vsnic_resources{kind=vnic}"));
        final int reasons = (int)before.keySet().stream().filter(k -> k.startsWith("vsnic_dataplane_drops_total{")).count();
        assertEquals(io.vsnic.dataplane.status.DropReason.count() - 1, reasons, "every drop reason is exported");

        final JsonNode vm2 = daemon.get("/v1/vnics/vm2").json();
        send("vm1", EthernetFlyweight.parseMac(vm2.get("mac").asText()), Ipv4Flyweight.parse("10.0.1.12"), 25);
        send("vm1", 0x02_00_00_00_99_99L, Ipv4Flyweight.parse("10.0.1.12"), 3);
        final Map<String, Double> after = awaitValue("vsnic_vnic_rx_packets_total{network=blue, vnic=vm1}", 28);
        awaitValue("vsnic_vnic_tx_packets_total{network=blue, vnic=vm2}", 25);
        final Map<String, Double> last = awaitValue("vsnic_dataplane_drops_total{reason=unknown_mac}", 3);
        assertEquals(3.0, last.get("vsnic_vnic_drops_total{network=blue, vnic=vm1}"));
        assertEquals(28.0, last.get("vsnic_network_rx_packets_total{network=blue, vni=100}"));
        assertEquals(25.0, last.get("vsnic_network_tx_packets_total{network=blue, vni=100}"));
        assertTrue(after.get("vsnic_vnic_rx_bytes_total{network=blue, vnic=vm1}") >= 28 * 142);
        assertTrue(last.get("vsnic_dataplane_rx_frames_total") >= 28);
        for (int i = 0; i < 25; i++)
        {
            daemon.daemon.memoryPort("vm2").poll().release();
        }
        assertEquals(25, daemon.get("/v1/vnics/vm2").json().at("/counters/txPackets").asLong(), "the API shows the same counters");
    }

    private static String which(final String tool)
    {
        for (final String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(File.pathSeparator))
        {
            final File file = new File(dir, tool);
            if (file.canExecute())
            {
                return file.getPath();
            }
        }
        return null;
    }

    @Test
    void shouldPassPromtoolCheckMetrics() throws Exception
    {
        final String promtool = which("promtool");
        Assumptions.assumeTrue(promtool != null, "promtool is not installed (Debian package prometheus): skipping the lint");
        final String body = expect(200, daemon.get("/metrics")).body();
        final Process process = new ProcessBuilder(promtool, "check", "metrics").redirectErrorStream(true).start();
        process.getOutputStream().write(body.getBytes(StandardCharsets.UTF_8));
        process.getOutputStream().close();
        final String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, process.exitValue(), "promtool check metrics: " + output);
        assertEquals("", output.trim(), "no lint findings");
    }

    @Test
    void shouldBeScrapedByARealPrometheusServer(@TempDir final Path prometheusDir) throws Exception
    {
        final String prometheus = which("prometheus");
        Assumptions.assumeTrue(prometheus != null, "prometheus is not installed (Debian package prometheus): skipping the scrape");
        final int port;
        try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress()))
        {
            port = socket.getLocalPort();
        }
        final Path config = prometheusDir.resolve("prometheus.yml");
        Files.writeString(config, """
            global: {scrape_interval: 1s, scrape_timeout: 1s}
            scrape_configs:
              - job_name: vsnic
                static_configs: [{targets: ["127.0.0.1:%d"]}]
            """.formatted(daemon.daemon.apiAddress().getPort()));
        final Process process = new ProcessBuilder(prometheus, "--config.file=" + config,
            "--storage.tsdb.path=" + prometheusDir.resolve("data"), "--web.listen-address=127.0.0.1:" + port)
            .redirectErrorStream(true).redirectOutput(prometheusDir.resolve("prometheus.log").toFile()).start();
        try
        {
            final HttpClient http = HttpClient.newHttpClient();
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(45);
            while (System.nanoTime() < deadline)
            {
                Thread.sleep(500);
                final JsonNode result;
                try
                {
                    final HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port +
                        "/api/v1/query?query=vsnic_resources%7Bkind%3D%22vnic%22%7D")).timeout(Duration.ofSeconds(2)).build(),
                        HttpResponse.BodyHandlers.ofString());
                    result = Json.mapper().readTree(response.body());
                }
                catch (final IOException ex)
                {
                    continue;
                }
                final JsonNode data = result.path("data").path("result");
                if (data.size() == 1)
                {
                    assertEquals("2", data.get(0).get("value").get(1).asText(), "Prometheus scraped vsnic_resources{kind=vnic}");
                    final HttpResponse<String> targets = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port +
                        "/api/v1/targets")).build(), HttpResponse.BodyHandlers.ofString());
                    final JsonNode target = Json.mapper().readTree(targets.body()).at("/data/activeTargets/0");
                    assertEquals("up", target.get("health").asText(), target.toString());
                    return;
                }
            }
            fail("Prometheus did not scrape the daemon within 45 s; log: " + Files.readString(prometheusDir.resolve("prometheus.log")));
        }
        finally
        {
            process.destroy();
            if (!process.waitFor(10, TimeUnit.SECONDS))
            {
                process.destroyForcibly();
            }
        }
    }
}
