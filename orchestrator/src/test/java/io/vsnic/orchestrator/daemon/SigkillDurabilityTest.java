package io.vsnic.orchestrator.daemon;

import static io.vsnic.orchestrator.TestDaemon.expect;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import io.vsnic.orchestrator.ChildDaemon;
import io.vsnic.orchestrator.TestDaemon;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The daemon runs as a child JVM ({@code java -cp <this module's class path> VsnicCli daemon}); a
 * client sends up to 1,000 writes while the child is killed with SIGKILL at a random moment. After
 * a restart from the same state directory every acknowledged write is present (the one in flight
 * may or may not be), and the data plane forwards between the two memory vNICs as before.
 */
class SigkillDurabilityTest
{
    @TempDir
    Path dir;

    @Test
    void shouldKeepEveryAcknowledgedWriteAcrossSigkill() throws Exception
    {
        final Path config = dir.resolve("device.yaml");
        Files.writeString(config, """
            device: {name: test-device, id: 1}
            api: {listen: "127.0.0.1:0"}
            substrate: {enabled: false}
            dataplane: {workers: 1, frameSlots: 1024, connectionCapacity: 4096}
            journal: {snapshotEvery: 300}
            """);
        final Path state = dir.resolve("state");
        final ChildDaemon started = ChildDaemon.start(config, state, dir.resolve("child.err"));
        final Process child = started.process();
        final String base = started.base();
        final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

        // the vNICs that must forward after the restart
        final HttpResponse<String> setup = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/apply"))
            .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString("""
                {"networks": [{"name": "blue", "vni": 100, "subnets": [{"cidr": "10.0.1.0/24", "gateway": "10.0.1.1"}]}],
                 "securityGroups": [{"name": "open", "rules": [{"direction": "ingress", "cidr": "0.0.0.0/0"}]}],
                 "vnics": [
                   {"id": "vm1", "network": "blue", "ip": "10.0.1.11", "securityGroups": ["open"], "backend": {"type": "memory"}},
                   {"id": "vm2", "network": "blue", "ip": "10.0.1.12", "securityGroups": ["open"], "backend": {"type": "memory"}}]}
                """)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, setup.statusCode(), setup.body());

        final long seed = System.nanoTime();
        final Random random = new Random(seed);
        // a random moment within the 1,000 writes: after a random number of them, plus a random delay of up
        // to 20 ms, so that the kill usually lands in the middle of a write
        final int killAfterWrites = 20 + random.nextInt(960);
        final long killDelayUs = random.nextInt(20_000);
        final java.util.concurrent.atomic.AtomicInteger progress = new java.util.concurrent.atomic.AtomicInteger();
        final Thread killer = new Thread(() ->
        {
            try
            {
                while (progress.get() < killAfterWrites)
                {
                    Thread.sleep(1);
                }
                TimeUnit.MICROSECONDS.sleep(killDelayUs);
            }
            catch (final InterruptedException ex)
            {
                return;
            }
            child.destroyForcibly();  // SIGKILL on Linux
        }, "killer");
        killer.start();

        // writes: security groups created (g-N) and network blue's MTU changed in place (every 7th)
        final Set<String> acknowledged = new TreeSet<>();
        String inFlight = null;
        int lastAcknowledgedMtu = 1500;
        int inFlightMtu = -1;
        int sent = 0;
        for (int i = 0; i < 1000; i++)
        {
            final boolean mtuChange = i % 7 == 6;
            final int mtu = 1000 + i;
            final HttpRequest request = mtuChange ?
                HttpRequest.newBuilder(URI.create(base + "/v1/networks/blue")).header("Content-Type", "application/json")
                    .PUT(HttpRequest.BodyPublishers.ofString("{\"vni\": 100, \"mtu\": " + mtu +
                        ", \"subnets\": [{\"cidr\": \"10.0.1.0/24\", \"gateway\": \"10.0.1.1\"}]}")).build() :
                HttpRequest.newBuilder(URI.create(base + "/v1/security-groups")).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"name\": \"g-" + i + "\"}")).build();
            inFlight = mtuChange ? null : "g-" + i;
            inFlightMtu = mtuChange ? mtu : -1;
            final HttpResponse<String> response;
            try
            {
                response = http.send(request, HttpResponse.BodyHandlers.ofString());
            }
            catch (final IOException ex)
            {
                break;  // the daemon is gone
            }
            sent++;
            progress.set(sent);
            assertEquals(mtuChange ? 200 : 201, response.statusCode(), response.body());
            if (mtuChange)
            {
                lastAcknowledgedMtu = mtu;
            }
            else
            {
                acknowledged.add("g-" + i);
            }
        }
        killer.interrupt();
        killer.join();
        child.destroyForcibly();
        assertTrue(child.waitFor(30, TimeUnit.SECONDS));
        final String context = "seed " + seed + ", killed " + killDelayUs + " us after write " + killAfterWrites + ", " + sent +
            " writes acknowledged";
        System.out.println("SigkillDurabilityTest: " + context + ", exit " + child.exitValue());

        try (TestDaemon restarted = new TestDaemon(state))
        {
            final Set<String> present = new TreeSet<>();
            for (final JsonNode group : restarted.get("/v1/security-groups").json().get("items"))
            {
                if (group.get("name").asText().startsWith("g-"))
                {
                    present.add(group.get("name").asText());
                }
            }
            assertTrue(present.containsAll(acknowledged), () -> context + ": acknowledged writes missing: " +
                acknowledged.stream().filter(a -> !present.contains(a)).toList());
            final Set<String> extra = new TreeSet<>(present);
            extra.removeAll(acknowledged);
            assertTrue(extra.isEmpty() || extra.equals(Set.of(inFlight)), context + ": unexpected writes " + extra);
            final int mtu = restarted.get("/v1/networks/blue").json().get("mtu").asInt();
            assertTrue(mtu == lastAcknowledgedMtu || mtu == inFlightMtu, context + ": mtu " + mtu + ", acknowledged " +
                lastAcknowledgedMtu);
            restarted.assertForwards("vm1", "vm2", 20);
            restarted.assertForwards("vm2", "vm1", 20);
            expect(201, restarted.post("/v1/security-groups", "{\"name\": \"after-restart\"}"));
        }
    }

    @Test
    void shouldStopCleanlyWithinFiveSecondsOnSigterm() throws Exception
    {
        final Path config = dir.resolve("device.yaml");
        Files.writeString(config, """
            device: {name: test-device, id: 1}
            api: {listen: "127.0.0.1:0"}
            substrate: {bindAddress: 127.0.0.1, genevePort: 0, vxlanPort: 0}
            dataplane: {workers: 1, frameSlots: 1024, connectionCapacity: 4096}
            """);
        final Path state = dir.resolve("state");
        final ChildDaemon started = ChildDaemon.start(config, state, dir.resolve("child.err"));
        final Process child = started.process();
        final HttpClient http = HttpClient.newHttpClient();
        final HttpResponse<String> created = http.send(HttpRequest.newBuilder(URI.create(started.base() +
            "/v1/security-groups")).header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString("{\"name\": \"kept\"}")).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(201, created.statusCode());
        final long start = System.nanoTime();
        child.destroy();  // SIGTERM
        assertTrue(child.waitFor(5, TimeUnit.SECONDS), "stopped within 5 s");
        System.out.println("SIGTERM: stopped in " + (System.nanoTime() - start) / 1_000_000 + " ms, exit " + child.exitValue());
        // the JVM reports death by SIGTERM as 143 after the shutdown hook ran (systemd: SuccessExitStatus=143)
        assertEquals(143, child.exitValue());
        final String err = Files.readString(dir.resolve("child.err"));
        assertTrue(err.contains("vsnicd: stopping") && err.contains("vsnicd: stopped"), err);
        try (TestDaemon restarted = new TestDaemon(state))
        {
            expect(200, restarted.get("/v1/security-groups/kept"));
        }
    }
}
