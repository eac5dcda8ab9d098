package io.vsnic.orchestrator.daemon;

import static io.vsnic.orchestrator.TestDaemon.expect;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.URI;
import java.net.UnixDomainSocketAddress;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.function.Supplier;

import com.fasterxml.jackson.databind.JsonNode;
import io.vsnic.dataplane.protocol.EthernetFlyweight;
import io.vsnic.dataplane.protocol.FrameBuilder;
import io.vsnic.dataplane.protocol.Ipv4Flyweight;
import io.vsnic.orchestrator.ChildDaemon;
import io.vsnic.orchestrator.TestDaemon;
import io.vsnic.orchestrator.model.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Restart with resumable tasks: a vNIC whose VM side cannot be opened yet is accepted and pending with
 * the reason, its task retries with a growing attempt count and backoff, survives restarts (and a
 * SIGKILL) with its attempt count, completes when the endpoint appears, and is cancelled when the
 * vNIC is deleted or re-backed. Applying the same manifest twice changes nothing, tasks included.
 */
class ResumableTasksTest
{
    private static final Duration WAIT = Duration.ofSeconds(20);

    @TempDir
    Path dir;

    private static final String CONFIG = """
        device: {name: test-device, id: 1}
        api: {listen: "127.0.0.1:0"}
        substrate: {enabled: false}
        dataplane: {workers: 1, frameSlots: 1024, connectionCapacity: 4096}
        tasks: {retryInitialMs: 20, retryMaxMs: 200}
        """;

    private static DeviceConfig config() throws ConfigException
    {
        return DeviceConfig.parse(CONFIG.getBytes(StandardCharsets.UTF_8));
    }

    private static String manifest(final String vnics)
    {
        return """
            {"networks": [{"name": "blue", "vni": 100, "subnets": [{"cidr": "10.0.1.0/24", "gateway": "10.0.1.1"}]}],
             "securityGroups": [{"name": "open", "rules": [{"direction": "ingress", "cidr": "0.0.0.0/0"}]}],
             "vnics": [%s]}
            """.formatted(vnics);
    }

    private static String streamVnic(final String id, final String ip, final Path path, final String mode)
    {
        return "{\"id\": \"" + id + "\", \"network\": \"blue\", \"ip\": \"" + ip + "\", \"securityGroups\": [\"open\"], " +
            "\"backend\": {\"type\": \"qemu-stream\", \"path\": \"" + path + "\", \"mode\": \"" + mode + "\"}}";
    }

    /** Polls until the value passes, or fails with the last value. */
    private static <T> T await(final String what, final Supplier<T> value, final Predicate<T> done) throws InterruptedException
    {
        return await(what, WAIT, value, done);
    }

    private static <T> T await(final String what, final Duration within, final Supplier<T> value, final Predicate<T> done)
        throws InterruptedException
    {
        final long deadline = System.nanoTime() + within.toNanos();
        T last = value.get();
        while (!done.test(last))
        {
            if (System.nanoTime() > deadline)
            {
                throw new AssertionError("timed out waiting for " + what + "; last: " + last);
            }
            Thread.sleep(10);
            last = value.get();
        }
        return last;
    }

    private static List<JsonNode> tasks(final TestDaemon daemon)
    {
        final List<JsonNode> tasks = new ArrayList<>();
        expect(200, daemon.get("/v1/tasks")).json().get("items").forEach(tasks::add);
        return tasks;
    }

    private static JsonNode task(final TestDaemon daemon, final String id)
    {
        return expect(200, daemon.get("/v1/tasks/" + id)).json();
    }

    @Test
    void shouldKeepAVnicPendingUntilQemuListensAndResumeItsTaskAfterARestart() throws Exception
    {
        final Path socket = dir.resolve("vm1.sock");
        final Path later = dir.resolve("later");
        final String body = manifest(streamVnic("vm1", "10.0.1.11", socket, "connect") + ", " +
            streamVnic("vm2", "10.0.1.12", later.resolve("vm2.sock"), "listen"));
        final Path state = dir.resolve("state");
        final String taskId;
        final int attemptsBeforeRestart;
        try (TestDaemon daemon = new TestDaemon(state, config()))
        {
            final JsonNode applied = expect(200, daemon.post("/v1/apply", body)).json();
            assertTrue(applied.get("applied").asBoolean(), applied.toString());

            // accepted, journalled, pending with the reason and its task
            final JsonNode vm1 = expect(200, daemon.get("/v1/vnics/vm1")).json();
            assertEquals("pending", vm1.at("/status/state").asText(), vm1.toString());
            assertFalse(vm1.at("/status/attached").asBoolean());
            assertTrue(vm1.at("/status/reason").asText().contains("nothing listens on " + socket), vm1.toString());
            taskId = vm1.at("/status/task").asText();
            final JsonNode vm2 = expect(200, daemon.get("/v1/vnics/vm2")).json();
            assertEquals("pending", vm2.at("/status/state").asText(), vm2.toString());
            assertTrue(vm2.at("/status/reason").asText().contains("directory"), vm2.toString());
            assertEquals(2, tasks(daemon).size());

            final JsonNode first = task(daemon, taskId);
            assertEquals("vnic-attach", first.get("kind").asText());
            assertEquals("vnic/vm1", first.get("resource").asText());
            assertNotNull(first.get("created").asText(null));

            // retried with backoff: the attempts grow, each with its error and the next retry time
            final JsonNode retried = await("attempts >= 4", () -> task(daemon, taskId), t -> t.get("attempts").asInt() >= 4);
            assertTrue(retried.get("state").asText().equals("pending") || retried.get("state").asText().equals("running"),
                retried.toString());
            assertTrue(retried.get("lastError").asText().contains("nothing listens"), retried.toString());

            // the same manifest again: nothing changes, no task is created or cancelled
            final JsonNode again = expect(200, daemon.post("/v1/apply", body)).json();
            assertFalse(again.get("changed").asBoolean(), again.toString());
            final List<JsonNode> after = tasks(daemon);
            assertEquals(2, after.size(), after.toString());
            assertEquals(taskId, daemon.get("/v1/vnics/vm1").json().at("/status/task").asText());
            after.forEach(t -> assertTrue(t.get("state").asText().matches("pending|running"), t.toString()));

            // the directory of vm2's socket appears: its task attaches it and a VM can connect
            Files.createDirectories(later);
            await("vm2 attached", () -> daemon.get("/v1/vnics/vm2").json(), v -> v.at("/status/attached").asBoolean());
            try (SocketChannel vm = SocketChannel.open(UnixDomainSocketAddress.of(later.resolve("vm2.sock"))))
            {
                assertTrue(vm.isConnected());
            }
            attemptsBeforeRestart = task(daemon, taskId).get("attempts").asInt();
        }

        // a restart: the task is the same one and keeps its attempts (the start's own try counts)
        try (TestDaemon daemon = new TestDaemon(state, config()))
        {
            final JsonNode resumed = task(daemon, taskId);
            assertEquals("vnic/vm1", resumed.get("resource").asText());
            assertTrue(resumed.get("attempts").asInt() > attemptsBeforeRestart, resumed + " after " + attemptsBeforeRestart);
            assertEquals(taskId, daemon.get("/v1/vnics/vm1").json().at("/status/task").asText());
            assertEquals("attached", daemon.get("/v1/vnics/vm2").json().at("/status/state").asText());
            final int resumedAttempts = resumed.get("attempts").asInt();
            await("more attempts after the restart", () -> task(daemon, taskId), t -> t.get("attempts").asInt() > resumedAttempts);

            // QEMU starts listening: the task succeeds and the VM is on the network (its ARP for the gateway is answered)
            try (ServerSocketChannel qemu = ServerSocketChannel.open(StandardProtocolFamily.UNIX))
            {
                qemu.bind(UnixDomainSocketAddress.of(socket));
                final JsonNode done = await("task succeeded", () -> task(daemon, taskId), t -> t.get("state").asText().equals("succeeded"));
                assertTrue(done.get("lastError").isNull(), done.toString());
                assertTrue(done.get("nextRetry").isNull(), done.toString());
                final JsonNode vm1 = expect(200, daemon.get("/v1/vnics/vm1")).json();
                assertEquals("attached", vm1.at("/status/state").asText(), vm1.toString());
                assertTrue(vm1.at("/status/backend/connected").asBoolean(), vm1.toString());
                try (SocketChannel vm = qemu.accept())
                {
                    assertGatewayAnswersArp(vm, vm1);
                }
            }
            // QEMU went away: the vNIC is pending again, with a new task
            final JsonNode again = await("vm1 pending again", () -> daemon.get("/v1/vnics/vm1").json(),
                v -> v.at("/status/state").asText().equals("pending") && v.at("/status/task").isTextual());
            assertFalse(again.at("/status/task").asText().equals(taskId), again.toString());
            assertTrue(again.at("/status/reason").asText().matches(".*(QEMU closed the connection|nothing listens).*"), again.toString());
        }
    }

    /** Sends an ARP request for the gateway as the VM and expects the data plane's reply on the stream. */
    private static void assertGatewayAnswersArp(final SocketChannel vm, final JsonNode vnic) throws IOException
    {
        final long mac = EthernetFlyweight.parseMac(vnic.get("mac").asText());
        final byte[] frame = new byte[128];
        final FrameBuilder builder = new FrameBuilder(java.lang.foreign.MemorySegment.ofArray(frame), 0);
        final int length = builder.ethernet(0xFFFF_FFFF_FFFFL, mac)
            .arp(1, mac, Ipv4Flyweight.parse(vnic.get("ip").asText()), 0, Ipv4Flyweight.parse("10.0.1.1")).build();
        final ByteBuffer out = ByteBuffer.allocate(4 + length).order(ByteOrder.BIG_ENDIAN).putInt(length).put(frame, 0, length).flip();
        vm.configureBlocking(true);
        while (out.hasRemaining())
        {
            vm.write(out);
        }
        final ByteBuffer prefix = ByteBuffer.allocate(4).order(ByteOrder.BIG_ENDIAN);
        readFully(vm, prefix);
        final int replyLength = prefix.flip().getInt();
        assertTrue(replyLength >= 42 && replyLength <= 1514, "reply length " + replyLength);
        final ByteBuffer reply = ByteBuffer.allocate(replyLength);
        readFully(vm, reply);
        final byte[] bytes = reply.array();
        final byte[] destination = java.util.Arrays.copyOfRange(bytes, 0, 6);
        final byte[] expected = ByteBuffer.allocate(8).putLong(mac).array();
        assertArrayEquals(java.util.Arrays.copyOfRange(expected, 2, 8), destination, "the reply is for the VM");
        assertEquals(0x0806, ((bytes[12] & 0xFF) << 8) | (bytes[13] & 0xFF), "ARP");
        assertEquals(2, ((bytes[20] & 0xFF) << 8) | (bytes[21] & 0xFF), "ARP reply");
    }

    private static void readFully(final SocketChannel channel, final ByteBuffer buffer) throws IOException
    {
        channel.configureBlocking(false);
        final long deadline = System.nanoTime() + WAIT.toNanos();
        while (buffer.hasRemaining())
        {
            final int read = channel.read(buffer);
            if (read < 0)
            {
                throw new IOException("the stream ended");
            }
            if (read == 0)
            {
                if (System.nanoTime() > deadline)
                {
                    throw new AssertionError("no reply within " + WAIT);
                }
                java.util.concurrent.locks.LockSupport.parkNanos(1_000_000);
            }
        }
    }

    @Test
    void shouldCancelTheTaskWhenThePendingVnicChangesOrIsDeleted() throws Exception
    {
        try (TestDaemon daemon = new TestDaemon(dir.resolve("state"), config()))
        {
            expect(200, daemon.post("/v1/apply", manifest(streamVnic("vm1", "10.0.1.11", dir.resolve("a.sock"), "connect"))));
            final String first = daemon.get("/v1/vnics/vm1").json().at("/status/task").asText();
            await("a retry", () -> task(daemon, first), t -> t.get("attempts").asInt() >= 2);

            // a change that does not touch the backend keeps the task
            final JsonNode vm1 = daemon.get("/v1/vnics/vm1").json();
            expect(200, daemon.put("/v1/vnics/vm1", "{\"network\": \"blue\", \"ip\": \"10.0.1.31\", \"securityGroups\": [\"open\"], " +
                "\"backend\": " + vm1.get("backend") + "}"));
            assertEquals(first, daemon.get("/v1/vnics/vm1").json().at("/status/task").asText());

            // another socket: the first task is cancelled, a new one works on the new spec
            expect(200, daemon.put("/v1/vnics/vm1", streamVnic("vm1", "10.0.1.31", dir.resolve("b.sock"), "connect")));
            final JsonNode cancelled = task(daemon, first);
            assertEquals("cancelled", cancelled.get("state").asText(), cancelled.toString());
            assertTrue(cancelled.get("nextRetry").isNull());
            final String second = daemon.get("/v1/vnics/vm1").json().at("/status/task").asText();
            assertFalse(second.equals(first));
            assertTrue(task(daemon, second).get("spec").asText().contains("b.sock"));

            // deleted: its task is cancelled and makes no more attempts
            expect(204, daemon.delete("/v1/vnics/vm1"));
            final JsonNode gone = task(daemon, second);
            assertEquals("cancelled", gone.get("state").asText(), gone.toString());
            assertTrue(gone.get("lastError").asText().contains("deleted"), gone.toString());
            // the runner wakes at least every few backoffs: give it several, nothing may move
            Thread.sleep(500);
            assertEquals(gone, task(daemon, second), "a cancelled task stays as it is");
            try (ServerSocketChannel qemu = ServerSocketChannel.open(StandardProtocolFamily.UNIX))
            {
                qemu.bind(UnixDomainSocketAddress.of(dir.resolve("b.sock")));
                Thread.sleep(300);
                expect(404, daemon.get("/v1/vnics/vm1"));
                assertEquals("cancelled", task(daemon, second).get("state").asText());
            }
            assertEquals(404, daemon.get("/v1/tasks/999").status());
            assertEquals("not_found", daemon.get("/v1/tasks/999").errorCode());
            assertEquals(405, daemon.post("/v1/tasks", "{}").status());
        }
    }

    @Test
    void shouldStartWithAVnicWhoseBackendVanishedWhileStoppedAndAttachItLater() throws Exception
    {
        final Path run = dir.resolve("run");
        Files.createDirectories(run);
        final Path state = dir.resolve("state");
        try (TestDaemon daemon = new TestDaemon(state, config()))
        {
            expect(200, daemon.post("/v1/apply", manifest(streamVnic("vm1", "10.0.1.11", run.resolve("vm1.sock"), "listen"))));
            assertEquals("attached", daemon.get("/v1/vnics/vm1").json().at("/status/state").asText());
            assertTrue(tasks(daemon).isEmpty(), "attached at once: no task");
        }
        // the hypervisor's run directory is gone while vsnicd is stopped (before tasks, such a state stopped the start)
        Files.delete(run);
        try (TestDaemon daemon = new TestDaemon(state, config()))
        {
            final JsonNode vm1 = daemon.get("/v1/vnics/vm1").json();
            assertEquals("pending", vm1.at("/status/state").asText(), vm1.toString());
            assertTrue(vm1.at("/status/reason").asText().contains("does not exist yet"), vm1.toString());
            final String taskId = vm1.at("/status/task").asText();
            Files.createDirectories(run);
            await("attached", () -> task(daemon, taskId), t -> t.get("state").asText().equals("succeeded"));
            assertEquals("attached", daemon.get("/v1/vnics/vm1").json().at("/status/state").asText());
        }
    }

    @Test
    void shouldResumeTheTaskWithItsAttemptsAfterSigkill() throws Exception
    {
        final Path config = dir.resolve("device.yaml");
        Files.writeString(config, CONFIG);
        final Path state = dir.resolve("state");
        final Path socket = dir.resolve("vm1.sock");
        final ChildDaemon child = ChildDaemon.start(config, state, dir.resolve("child.err"));
        final String taskId;
        final int seen;
        try
        {
            final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
            final HttpResponse<String> applied = http.send(HttpRequest.newBuilder(URI.create(child.base() + "/v1/apply"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(manifest(streamVnic("vm1", "10.0.1.11", socket, "connect")))).build(),
                HttpResponse.BodyHandlers.ofString());
            assertEquals(200, applied.statusCode(), applied.body());
            final Supplier<JsonNode> tasks = () ->
            {
                try
                {
                    return Json.mapper().readTree(http.send(HttpRequest.newBuilder(URI.create(child.base() + "/v1/tasks")).build(),
                        HttpResponse.BodyHandlers.ofString()).body());
                }
                catch (final IOException ex)
                {
                    throw new AssertionError(ex);
                }
                catch (final InterruptedException ex)
                {
                    Thread.currentThread().interrupt();
                    throw new AssertionError(ex);
                }
            };
            final JsonNode before = await("attempts >= 5", tasks, t -> t.at("/items/0/attempts").asInt() >= 5);
            taskId = before.at("/items/0/id").asText();
            seen = before.at("/items/0/attempts").asInt();
        }
        finally
        {
            child.process().destroyForcibly();  // SIGKILL on Linux
            assertTrue(child.process().waitFor(30, TimeUnit.SECONDS));
        }
        try (TestDaemon daemon = new TestDaemon(state, config()))
        {
            final JsonNode resumed = task(daemon, taskId);
            assertTrue(resumed.get("attempts").asInt() > seen, "every attempt the API showed was journalled: " + resumed +
                ", seen " + seen);
            assertEquals(1, tasks(daemon).size(), "the same task, not a new one");
            try (ServerSocketChannel qemu = ServerSocketChannel.open(StandardProtocolFamily.UNIX))
            {
                qemu.bind(UnixDomainSocketAddress.of(socket));
                await("task succeeded", () -> task(daemon, taskId), t -> t.get("state").asText().equals("succeeded"));
                assertEquals("attached", daemon.get("/v1/vnics/vm1").json().at("/status/state").asText());
            }
        }
    }

    @Test
    void shouldWaitForTheHypervisorsTapWhenCreateIsOff() throws Exception
    {
        assumeTrue("root".equals(System.getProperty("user.name")) && Files.exists(Path.of("/dev/net/tun")),
            "needs root and /dev/net/tun to create a TAP (skipped: not root or no /dev/net/tun)");
        final String tap = "vsM" + Long.toHexString(System.nanoTime() & 0xFFFFFFFL);
        try (TestDaemon daemon = new TestDaemon(dir.resolve("state"), config()))
        {
            expect(200, daemon.post("/v1/apply", manifest("{\"id\": \"vm1\", \"network\": \"blue\", \"ip\": \"10.0.1.11\", " +
                "\"backend\": {\"type\": \"tap\", \"name\": \"" + tap + "\", \"create\": \"off\"}}")));
            final JsonNode pending = daemon.get("/v1/vnics/vm1").json();
            assertEquals("pending", pending.at("/status/state").asText(), pending.toString());
            assertTrue(pending.at("/status/reason").asText().contains("does not exist yet"), pending.toString());
            assertFalse(Files.exists(Path.of("/sys/class/net", tap)), "vsnic did not create it");
            final String taskId = pending.at("/status/task").asText();
            await("a retry", () -> task(daemon, taskId), t -> t.get("attempts").asInt() >= 2);

            // the hypervisor makes the TAP (persistent, as libvirt or `ip tuntap add` do)
            run("ip", "tuntap", "add", "dev", tap, "mode", "tap");
            await("task succeeded", () -> task(daemon, taskId), t -> t.get("state").asText().equals("succeeded"));
            final JsonNode attached = daemon.get("/v1/vnics/vm1").json();
            assertEquals("attached", attached.at("/status/state").asText(), attached.toString());
            assertEquals(tap, attached.at("/status/backend/tap").asText());

            // detached: the hypervisor's TAP stays
            expect(204, daemon.delete("/v1/vnics/vm1"));
            assertTrue(Files.exists(Path.of("/sys/class/net", tap)), "the hypervisor's persistent TAP is left alone");
            assertNull(daemon.daemon.controller().tasks().activeFor("vnic/vm1"));
        }
        finally
        {
            if (Files.exists(Path.of("/sys/class/net", tap)))
            {
                run("ip", "link", "del", tap);
            }
        }
    }

    @Test
    void shouldAttachWhenARealQemuStartsListeningAndServeItsDhcp() throws Exception
    {
        final var qemu = io.vsnic.vnic.netns.NetNs.findExecutable("qemu-system-x86_64");
        assumeTrue(qemu.isPresent(), "qemu-system-x86_64 is not installed (Debian qemu-system-x86): skipped");
        final Path socket = dir.resolve("qemu-vm1.sock");
        try (TestDaemon daemon = new TestDaemon(dir.resolve("state"), config()))
        {
            expect(200, daemon.post("/v1/apply", manifest("{\"id\": \"vm1\", \"network\": \"blue\", \"ip\": \"10.0.1.11\", " +
                "\"mac\": \"52:54:00:77:00:21\", \"securityGroups\": [\"open\"], " +
                "\"backend\": {\"type\": \"qemu-stream\", \"mode\": \"connect\", \"path\": \"" + socket + "\"}}")));
            final String taskId = daemon.get("/v1/vnics/vm1").json().at("/status/task").asText();
            await("a retry", () -> task(daemon, taskId), t -> t.get("attempts").asInt() >= 2);

            // QEMU with -netdev stream,server=on: no disk, SeaBIOS boots the NIC's iPXE ROM, which asks for DHCP
            final Process process = new ProcessBuilder(qemu.get().toString(),
                "-nodefaults", "-no-user-config", "-nographic", "-display", "none", "-serial", "none", "-monitor", "none",
                "-machine", "pc,accel=tcg", "-m", "64", "-boot", "n",
                "-netdev", "stream,id=n0,server=on,addr.type=unix,addr.path=" + socket,
                "-device", "virtio-net-pci,netdev=n0,mac=52:54:00:77:00:21")
                .redirectErrorStream(true).redirectOutput(dir.resolve("qemu.log").toFile())
                .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile())).start();
            try
            {
                await("task succeeded", () -> task(daemon, taskId), t -> t.get("state").asText().equals("succeeded") ||
                    !process.isAlive());
                assertTrue(process.isAlive(), () -> "QEMU exited: " + log(dir.resolve("qemu.log")));
                // the data plane's DHCP server answers the guest: DISCOVER, OFFER, REQUEST, ACK through QEMU
                // (a TCG-emulated guest needs a while to boot its NIC ROM)
                final JsonNode vm1 = await("DHCP both ways", Duration.ofSeconds(120), () -> daemon.get("/v1/vnics/vm1").json(),
                    v -> v.at("/counters/rxPackets").asLong() >= 2 && v.at("/counters/txPackets").asLong() >= 2 || !process.isAlive());
                assertTrue(process.isAlive(), () -> "QEMU exited: " + log(dir.resolve("qemu.log")));
                assertTrue(vm1.at("/status/backend/connected").asBoolean(), vm1.toString());
            }
            finally
            {
                process.destroyForcibly();
                process.waitFor(10, TimeUnit.SECONDS);
            }
            // QEMU is gone: pending again, waiting for the next QEMU
            await("vm1 pending again", () -> daemon.get("/v1/vnics/vm1").json(),
                v -> v.at("/status/state").asText().equals("pending") && v.at("/status/task").isTextual());
        }
    }

    private static String log(final Path file)
    {
        try
        {
            return Files.readString(file);
        }
        catch (final IOException ex)
        {
            return "(no log: " + ex.getMessage() + ")";
        }
    }

    private static void run(final String... command) throws IOException, InterruptedException
    {
        final Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        final String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(30, TimeUnit.SECONDS), String.join(" ", command));
        assertEquals(0, process.exitValue(), String.join(" ", command) + ": " + output);
    }
}
