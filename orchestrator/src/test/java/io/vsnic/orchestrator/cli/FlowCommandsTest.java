package io.vsnic.orchestrator.cli;

import static io.vsnic.orchestrator.TestDaemon.expect;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import io.vsnic.dataplane.capture.CaptureReader;
import io.vsnic.dataplane.capture.CaptureRecord;
import io.vsnic.dataplane.protocol.ArpFlyweight;
import io.vsnic.dataplane.protocol.Ipv4Flyweight;
import io.vsnic.orchestrator.TestDaemon;
import io.vsnic.orchestrator.VnicTraffic;
import io.vsnic.orchestrator.Waits;
import io.vsnic.orchestrator.daemon.DeviceConfig;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code vsnic flows --follow} and {@code vsnic capture} against an in-process daemon with two memory
 * vNICs: follow prints a flow created after it started; a capture holds the ARP and ICMP frames of
 * the vNIC in both directions, stops at {@code --count}, and is read back by tshark.
 */
class FlowCommandsTest
{
    @TempDir
    Path dir;

    private TestDaemon daemon;
    private VnicTraffic traffic;
    private VnicTraffic.Vnic vm1;
    private VnicTraffic.Vnic vm2;

    @BeforeEach
    void start() throws Exception
    {
        daemon = new TestDaemon(dir.resolve("state"), DeviceConfig.parse("""
            device: {name: test-device, id: 1}
            api: {listen: "127.0.0.1:0"}
            substrate: {enabled: false}
            dataplane: {workers: 1, frameSlots: 1024, connectionCapacity: 4096}
            flowLogs: {roll: secondly, scanInterval: 50ms}
            """.getBytes(StandardCharsets.UTF_8)));
        daemon.twoVnics();
        traffic = new VnicTraffic(daemon);
        vm1 = traffic.vnic("vm1");
        vm2 = traffic.vnic("vm2");
    }

    @AfterEach
    void stop()
    {
        daemon.close();
    }

    /** A CLI run in a thread: its output so far, and its exit code once done. */
    private static final class Background
    {
        final StringWriter out = new StringWriter();
        final StringWriter err = new StringWriter();
        final AtomicInteger exit = new AtomicInteger(-1);
        final Thread thread;

        Background(final String api, final String... args)
        {
            final CommandLine cli = VsnicCli.commandLine();
            cli.setOut(new PrintWriter(out, true));
            cli.setErr(new PrintWriter(err, true));
            final String[] all = new String[args.length + 2];
            System.arraycopy(args, 0, all, 0, args.length);
            all[args.length] = "--api";
            all[args.length + 1] = api;
            thread = new Thread(() -> exit.set(cli.execute(all)), "vsnic-cli-test");
            thread.start();
        }

        synchronized String out()
        {
            return out.toString();
        }
    }

    @Test
    void shouldFollowAndPrintAFlowCreatedAfterItStarted() throws Exception
    {
        final Background follow = new Background(daemon.base(), "flows", "--follow", "-o", "json");
        try
        {
            Thread.sleep(300);
            traffic.send(vm1, vm2, b -> b.udp(45678, 5353).payload(32, 1));
            assertEquals(1, traffic.receive(vm2, 1));
            Waits.awaitTrue(Duration.ofSeconds(15), () -> follow.out().contains("\"sourcePort\":45678"),
                () -> "follow printing the new flow: " + follow.out() + follow.err);
            final String line = follow.out().lines().filter(l -> l.contains("\"sourcePort\":45678")).findFirst()
                .orElseThrow(() -> new AssertionError("follow did not print the new flow: " + follow.out() + follow.err));
            assertTrue(line.contains("\"event\":\"start\"") && line.contains("\"vnic\":\"vm1\"") &&
                line.contains("\"destination\":\"10.0.1.12\"") && line.contains("\"destinationPort\":5353"), line);
        }
        finally
        {
            follow.thread.interrupt();
            follow.thread.join(10_000);
        }
        assertTrue(!follow.thread.isAlive(), "follow stops when interrupted");
    }

    @Test
    void shouldCaptureBothDirectionsAndStopAtCount() throws Exception
    {
        final Path file = dir.resolve("vm1.pcap");
        final Background capture = new Background(daemon.base(), "capture", "--vnic", "vm1", "-w", file.toString(), "--count", "4");
        final int port = expect(200, daemon.get("/v1/vnics/vm1")).json().get("port").asInt();
        Waits.awaitTrue(() -> daemon.daemon.dataPlane().capturing(port), () -> "the capture to start");
        assertTrue(daemon.daemon.dataPlane().capturing(port), "capture started: " + capture.err);
        // 1: ARP request from vm1 for its gateway; 2: the data plane's answer to vm1
        traffic.sendFrame(vm1, b -> b.ethernet(0xFFFF_FFFF_FFFFL, vm1.mac())
            .arp(ArpFlyweight.OPERATION_REQUEST, vm1.mac(), vm1.ip(), 0, Ipv4Flyweight.parse("10.0.1.1")));
        assertEquals(1, traffic.receive(vm1, 1));
        // 3: echo request vm1 -> vm2 (received from vm1); 4: echo reply vm2 -> vm1 (sent to vm1)
        traffic.send(vm1, vm2, b -> b.icmpEcho(true, 77, 1).payload(56, 2));
        assertEquals(1, traffic.receive(vm2, 1));
        traffic.send(vm2, vm1, b -> b.icmpEcho(false, 77, 1).payload(56, 2));
        assertEquals(1, traffic.receive(vm1, 1));
        // beyond --count: not in the file
        traffic.send(vm1, vm2, b -> b.icmpEcho(true, 77, 2).payload(56, 2));
        assertEquals(1, traffic.receive(vm2, 1));
        capture.thread.join(15_000);
        assertEquals(0, capture.exit.get(), capture.out() + capture.err);
        assertTrue(capture.out().contains("4 frames of vnic vm1 written to " + file), capture.out());

        final List<CaptureRecord> records;
        try (CaptureReader reader = CaptureReader.open(file))
        {
            records = reader.readAll();
        }
        assertEquals(4, records.size());
        assertTrue(daemon.get("/metrics").body().contains("vsnic_capture_frames_total 4"));

        final String tshark = WgCommandTest.which("tshark");
        Assumptions.assumeTrue(tshark != null, "tshark is not installed (apt-get install tshark): skipping the tshark read-back");
        final Process process = new ProcessBuilder(tshark, "-r", file.toString(), "-T", "fields", "-e", "frame.number",
            "-e", "eth.type", "-e", "arp.opcode", "-e", "ip.src", "-e", "ip.dst", "-e", "icmp.type", "-e", "icmp.ident")
            .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        final String fields = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, process.exitValue(), fields);
        final List<String> lines = fields.lines().toList();
        assertEquals(List.of(
            "1\t0x0806\t1\t\t\t\t",
            "2\t0x0806\t2\t\t\t\t",
            "3\t0x0800\t\t10.0.1.11\t10.0.1.12\t8\t77",
            "4\t0x0800\t\t10.0.1.12\t10.0.1.11\t0\t77"), lines, fields);
    }

    @Test
    void shouldWriteAnEmptyCaptureAfterSecondsAndRefuseBadRequests() throws Exception
    {
        final Path file = dir.resolve("quiet.pcap");
        final Background quiet = new Background(daemon.base(), "capture", "--vnic", "vm2", "-w", file.toString(), "--seconds", "1");
        quiet.thread.join(15_000);
        assertEquals(0, quiet.exit.get(), quiet.out() + quiet.err);
        assertTrue(quiet.out().contains("0 frames of vnic vm2"), quiet.out());
        try (CaptureReader reader = CaptureReader.open(file))
        {
            assertEquals(0, reader.readAll().size());
        }

        final Background missing = new Background(daemon.base(), "capture", "--vnic", "nope", "-w", dir.resolve("x.pcap").toString());
        missing.thread.join(15_000);
        assertEquals(1, missing.exit.get());
        assertTrue(missing.err.toString().contains("404 not_found"), missing.err.toString());

        assertEquals("count", daemon.get("/v1/vnics/vm1/capture?count=0").errorField());
        assertEquals("seconds", daemon.get("/v1/vnics/vm1/capture?seconds=x").errorField());
        assertEquals("snaplen", daemon.get("/v1/vnics/vm1/capture?snaplen=10").errorField());
        assertEquals(405, daemon.post("/v1/vnics/vm1/capture", "{}").status());

        // one capture at a time: a second one while the first runs is 409 capture_busy
        final Background first = new Background(daemon.base(), "capture", "--vnic", "vm1", "-w", dir.resolve("a.pcap").toString(),
            "--seconds", "3");
        final int port = expect(200, daemon.get("/v1/vnics/vm1")).json().get("port").asInt();
        Waits.awaitTrue(() -> daemon.daemon.dataPlane().capturing(port), () -> "the capture to start");
        final TestDaemon.Response busy = daemon.get("/v1/vnics/vm2/capture?count=1");
        assertEquals(409, busy.status(), busy.body());
        assertEquals("capture_busy", busy.errorCode());
        first.thread.join(15_000);
        assertEquals(0, first.exit.get(), first.err.toString());
    }
}
