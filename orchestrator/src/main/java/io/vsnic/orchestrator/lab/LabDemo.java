package io.vsnic.orchestrator.lab;

import java.io.File;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import io.vsnic.orchestrator.model.Json;
import io.vsnic.vnic.netns.NetNs;

/**
 * {@code vsnic demo} as root: a 2-device, 2-VMs-per-device {@link Lab} with the WireGuard-encrypted
 * substrate, then cross-device ping (RTT) carrying a known payload marker while the substrate bridge is
 * captured, a 10 s iperf3 TCP run across devices, same-device ping, each device's key counters, the
 * WireGuard sessions of every device pair, and the capture's analysis (only WireGuard messages, no
 * marker in the clear; the marker inside once decrypted with the devices' key logs), and the enclave
 * {@value Lab#ENCLAVE}: its services on d1 and d2 exchange a ping and a TCP request/response, while a
 * customer VM's pings to a service address get no reply and are counted as {@code enclave_isolation}.
 * The lab is torn down at the end, on failure, and on Ctrl-C (a shutdown hook).
 */
public final class LabDemo
{
    /** The lab's name. */
    public static final String NAME = "demo";
    static final int IPERF_SECONDS = 10;
    private static final int HOOK_WAIT_SECONDS = 40;

    private static final Pattern RTT = Pattern.compile("= ([0-9.]+)/([0-9.]+)/([0-9.]+)/([0-9.]+) ms");
    private static final Pattern RECEIVED = Pattern.compile("(\\d+) received");
    /** Payload of the cross-device ping (16 bytes: ping -p repeats it); never on the substrate in the clear. */
    static final String MARKER = "vsnic-demo-mark!";

    private LabDemo()
    {
    }

    /**
     * Runs the demo, printing the report.
     *
     * @return 0 when every check passed, 1 otherwise.
     */
    public static int run(final PrintWriter out, final Lab.DaemonLauncher launcher)
    {
        out.println("vsnic demo: namespace lab as root: 2 devices x 2 VMs, Geneve inside WireGuard over a bridged veth substrate");
        out.flush();
        final DemoReport report = new DemoReport(out, 9);
        final AtomicBoolean tornDown = new AtomicBoolean();
        final AtomicBoolean interrupted = new AtomicBoolean();
        final CountDownLatch finished = new CountDownLatch(1);
        // Ctrl-C / SIGTERM: stop the scenario between steps and let it tear down; if it does not finish
        // in time, tear down from here.
        final Thread hook = new Thread(() ->
        {
            interrupted.set(true);
            System.err.println("vsnic demo: interrupted; removing lab " + NAME);
            try
            {
                if (finished.await(HOOK_WAIT_SECONDS, TimeUnit.SECONDS))
                {
                    return;
                }
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
            }
            final boolean clean = tearDown(tornDown, line -> System.err.println("vsnic demo: " + line));
            System.err.println(clean ? "vsnic demo: lab " + NAME + " removed" : "vsnic demo: lab " + NAME +
                " not fully removed: run 'vsnic lab down --name " + NAME + "'");
        }, "vsnic-demo-teardown");
        Runtime.getRuntime().addShutdownHook(hook);
        try
        {
            scenario(report, launcher, interrupted);
            if (interrupted.get() && !report.anyFailed())
            {
                report.interrupted();
            }
        }
        finally
        {
            out.print("teardown: ");
            out.flush();
            final List<String> lines = new ArrayList<>();
            final boolean clean = tearDown(tornDown, lines::add);
            out.println(clean ? "lab " + NAME + " removed (namespaces, processes, files)" : "FAILED: " + String.join("; ", lines));
            out.flush();
            finished.countDown();
            try
            {
                Runtime.getRuntime().removeShutdownHook(hook);
            }
            catch (final IllegalStateException ignored)
            {
                // already shutting down: the hook sees 'finished' and returns
            }
        }
        return report.finish();
    }

    private static boolean tearDown(final AtomicBoolean done, final java.util.function.Consumer<String> progress)
    {
        if (!done.compareAndSet(false, true))
        {
            return true;
        }
        try
        {
            Lab.down(NAME, line -> { });
            return Lab.namespaces(NAME).isEmpty();
        }
        catch (final LabException ex)
        {
            progress.accept(ex.getMessage());
            return false;
        }
    }

    private static void scenario(final DemoReport report, final Lab.DaemonLauncher launcher, final AtomicBoolean interrupted)
    {
        report.begin("lab up: 2 devices, 2 VMs each (DHCP), enclave " + Lab.ENCLAVE);
        final LabState state;
        try
        {
            Lab.down(NAME, line -> { });   // leftovers of an interrupted earlier demo
            final long started = System.nanoTime();
            state = Lab.up(new Lab.Spec(NAME, 2, 2, true, true), launcher, line -> { }, interrupted::get);
            report.pass(String.format(Locale.ROOT, "%d vsnicd, %d VMs, %d enclave services in %.1f s", state.devices().size(),
                state.vms().size(), state.services().size(), (System.nanoTime() - started) / 1e9));
            for (final LabState.Vm vm : state.vms())
            {
                report.detail(vm.name() + "  MAC " + vm.mac() + "  IP " + vm.ip() + "  (device d" + vm.device() + ", TAP " + vm.tap() + ")");
            }
        }
        catch (final LabException ex)
        {
            report.fail(interrupted.get() ? "interrupted" : ex.getMessage());
            for (int i = 0; i < 8; i++)
            {
                report.begin("(needs the lab)");
                report.skip(interrupted.get() ? "interrupted" : "lab up failed");
            }
            return;
        }
        final LabState.Vm a1 = state.vm("d1v1").orElseThrow();
        final LabState.Vm a2 = state.vm("d1v2").orElseThrow();
        final LabState.Vm b1 = state.vm("d2v1").orElseThrow();

        if (interrupted.get())
        {
            return;
        }
        report.begin("idle memory of each vsnicd (RSS)");
        final StringBuilder rss = new StringBuilder();
        for (final LabState.Device device : state.devices())
        {
            rss.append(rss.isEmpty() ? "" : ", ").append("d").append(device.index()).append(' ')
                .append(Lab.rssKib(device.pid()) / 1024).append(" MiB");
        }
        report.pass(rss.toString());

        // The substrate is captured from before the first packet between the devices (so the capture
        // holds the handshake and can be decrypted) until the end of the cross-device ping.
        final Path capturePath = Path.of(state.directory(), "substrate.pcap");
        SubstrateCapture capture = null;
        String captureError = null;
        try
        {
            capture = SubstrateCapture.start(state, capturePath);
        }
        catch (final LabException ex)
        {
            captureError = ex.getMessage();
        }
        final SubstrateCapture running = capture;
        final List<Runnable> steps = List.of(
            () ->
            {
                ping(report, "ping d1v1 -> d2v1 (across devices)", a1, b1, "-s", "120", "-p", hex(MARKER));
                if (running != null)
                {
                    running.stop();
                }
            },
            () -> iperf(report, a1, b1),
            () -> ping(report, "ping d1v1 -> d1v2 (same device)", a1, a2),
            () -> counters(report, state),
            () -> sessions(report, state));
        try
        {
            for (final Runnable step : steps)
            {
                if (interrupted.get())
                {
                    return;
                }
                step.run();
            }
        }
        finally
        {
            if (capture != null)
            {
                capture.close();
            }
        }
        if (interrupted.get())
        {
            return;
        }
        captureCheck(report, state, capturePath, captureError);
        enclave(report, state, a1);
    }

    /** What step 9 saw. */
    record EnclaveResult(List<String> problems, String pingSummary, String reply, int vmSent, int vmReplies, long isolationDelta)
    {
        boolean ok()
        {
            return problems.isEmpty();
        }
    }

    /** Port of the request/response exchange between the services. */
    static final int ENCLAVE_EXCHANGE_PORT = 7000;
    /** Echo requests from the VM to a service address (each must be dropped as enclave_isolation). */
    static final int VM_PROBES = 5;

    /**
     * Step 9's checks: service d1 pings service d2 and has a TCP request answered by it (the reply is the
     * request upper-cased by {@code tr} behind {@code socat} in d2's service namespace); then {@code vm}
     * pings d1's service address {@value #VM_PROBES} times, gets no reply, and its device's
     * {@code enclave_isolation} drops grow by at least that many.
     */
    static EnclaveResult enclaveCheck(final LabState state, final LabState.Vm vm)
    {
        final List<String> problems = new ArrayList<>();
        final LabState.Service s1 = state.services().stream().filter(s -> s.device() == 1).findFirst().orElse(null);
        final LabState.Service s2 = state.services().stream().filter(s -> s.device() == 2).findFirst().orElse(null);
        if (s1 == null || s2 == null)
        {
            problems.add("the lab has no enclave services on d1 and d2 (lab up --enclave)");
            return new EnclaveResult(problems, "", "", 0, 0, 0);
        }
        // 1. ping across devices inside the enclave
        final NetNs.Result ping = NetNs.run(Duration.ofSeconds(20), List.of(Lab.executable("ip"), "netns", "exec", s1.namespace(),
            Lab.executable("ping"), "-c", "5", "-i", "0.2", "-W", "2", s2.ip()));
        final Matcher rtt = RTT.matcher(ping.stdout());
        final Matcher received = RECEIVED.matcher(ping.stdout());
        String pingSummary = "";
        if (received.find() && rtt.find() && Integer.parseInt(received.group(1)) > 0)
        {
            pingSummary = String.format(Locale.ROOT, "ping %s/5, RTT min/avg/max %s/%s/%s ms", received.group(1), rtt.group(1), rtt.group(2),
                rtt.group(3));
        }
        else
        {
            problems.add("ping " + s1.name() + " -> " + s2.name() + " " + s2.ip() + ": " + ping.describe().lines().limit(3).toList());
        }
        // 2. a TCP request and its checked reply
        final String request = "vsnic-enclave-" + Long.toHexString(System.nanoTime());
        final String expected = request.toUpperCase(Locale.ROOT);
        String reply = "";
        Process listener = null;
        try
        {
            listener = new ProcessBuilder(Lab.executable("ip"), "netns", "exec", s2.namespace(), Lab.executable("socat"), "-T", "10",
                "TCP-LISTEN:" + ENCLAVE_EXCHANGE_PORT + ",reuseaddr", "EXEC:tr a-z A-Z")
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            NetNs.Result exchange = null;
            for (int attempt = 0; attempt < 20; attempt++)
            {
                exchange = NetNs.run(Duration.ofSeconds(15), List.of(Lab.executable("ip"), "netns", "exec", s1.namespace(), "sh", "-c",
                    "echo " + request + " | " + Lab.executable("socat") + " -t 5 -T 10 - TCP:" + s2.ip() + ":" + ENCLAVE_EXCHANGE_PORT));
                if (exchange.ok() || !exchange.stderr().contains("Connection refused"))
                {
                    break;
                }
                Lab.sleep(100);
            }
            reply = exchange.stdout().strip();
            if (!exchange.ok() || !reply.equals(expected))
            {
                problems.add("TCP " + s1.name() + " -> " + s2.ip() + ":" + ENCLAVE_EXCHANGE_PORT + ": expected " + expected + ", got '" +
                    reply + "' " + exchange.describe().lines().limit(2).toList());
            }
        }
        catch (final IOException ex)
        {
            problems.add("cannot start socat in " + s2.namespace() + ": " + ex.getMessage());
        }
        finally
        {
            if (listener != null)
            {
                listener.destroy();
            }
        }
        // 3. the customer VM is refused, and counted
        final LabState.Device device = state.device(vm.device());
        final LabState.Service target = vm.device() == s1.device() ? s1 : s2;
        int vmReplies = -1;
        long delta = 0;
        try
        {
            final long before = Lab.enclaveIsolationDrops(device);
            final NetNs.Result probe = NetNs.run(Duration.ofSeconds(20), List.of(Lab.executable("ip"), "netns", "exec", vm.namespace(),
                Lab.executable("ping"), "-c", Integer.toString(VM_PROBES), "-i", "0.2", "-W", "1", target.ip()));
            final Matcher got = RECEIVED.matcher(probe.stdout());
            vmReplies = got.find() ? Integer.parseInt(got.group(1)) : -1;
            if (vmReplies != 0)
            {
                problems.add("VM " + vm.name() + " -> " + target.ip() + ": " + (vmReplies > 0 ? vmReplies + " replies (must be none)" :
                    "ping did not run: " + probe.describe().lines().limit(2).toList()));
            }
            // the drops are counted by the data plane worker: wait for them with a deadline
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            do
            {
                delta = Lab.enclaveIsolationDrops(device) - before;
                if (delta >= VM_PROBES)
                {
                    break;
                }
                Lab.sleep(100);
            }
            while (System.nanoTime() < deadline);
            if (delta < VM_PROBES)
            {
                problems.add("d" + device.index() + " enclave_isolation grew by " + delta + ", expected at least " + VM_PROBES);
            }
        }
        catch (final LabException ex)
        {
            problems.add(ex.getMessage());
        }
        if (listener != null)
        {
            try
            {
                if (!listener.waitFor(2, TimeUnit.SECONDS))
                {
                    listener.destroyForcibly();
                }
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
            }
        }
        return new EnclaveResult(problems, pingSummary, reply, VM_PROBES, vmReplies, delta);
    }

    /** Step 9: the enclave pair talks; a VM cannot reach the enclave. */
    private static void enclave(final DemoReport report, final LabState state, final LabState.Vm vm)
    {
        report.begin("enclave pair talks; a VM cannot reach the enclave");
        for (final String tool : new String[] {"ping", "socat"})
        {
            if (NetNs.findExecutable(tool).isEmpty())
            {
                report.fail(tool + " is not installed: apt-get install -y --no-install-recommends " + ("ping".equals(tool) ? "iputils-ping" : tool));
                return;
            }
        }
        final EnclaveResult result = enclaveCheck(state, vm);
        final String summary = String.format(Locale.ROOT, "svc d1 <-> d2 replied (%s, TCP reply checked); VM %s -> svc: %d/%d replies, " +
            "enclave_isolation +%d", result.pingSummary(), vm.name(), Math.max(0, result.vmReplies()), result.vmSent(), result.isolationDelta());
        if (result.ok())
        {
            report.pass(summary);
        }
        else
        {
            report.fail(String.join("; ", result.problems()));
        }
        for (final LabState.Service service : state.services())
        {
            report.detail(service.name() + "  IP " + service.ip() + "  (device d" + service.device() + ", TAP " + service.tap() +
                ", enclave substrate " + service.endpoint() + ")");
        }
    }

    private static void ping(final DemoReport report, final String title, final LabState.Vm from, final LabState.Vm to,
        final String... options)
    {
        report.begin(title);
        if (NetNs.findExecutable("ping").isEmpty())
        {
            report.fail("ping is not installed: apt-get install -y --no-install-recommends iputils-ping");
            return;
        }
        final List<String> command = new ArrayList<>(List.of(Lab.executable("ip"), "netns", "exec", from.namespace(),
            Lab.executable("ping"), "-c", "10", "-i", "0.2", "-W", "2"));
        command.addAll(List.of(options));
        command.add(to.ip());
        final NetNs.Result result = NetNs.run(Duration.ofSeconds(20), command);
        final Matcher rtt = RTT.matcher(result.stdout());
        final Matcher received = RECEIVED.matcher(result.stdout());
        if (result.ok() && rtt.find() && received.find())
        {
            report.pass(String.format(Locale.ROOT, "%s/10 replies from %s, RTT min/avg/max %s/%s/%s ms", received.group(1), to.ip(),
                rtt.group(1), rtt.group(2), rtt.group(3)));
        }
        else
        {
            report.fail("ping " + to.ip() + " from " + from.name() + ": " + result.describe().lines().limit(3).toList());
        }
    }

    private static void iperf(final DemoReport report, final LabState.Vm client, final LabState.Vm server)
    {
        report.begin("iperf3 TCP " + IPERF_SECONDS + " s d1v1 -> d2v1 (across devices)");
        if (NetNs.findExecutable("iperf3").isEmpty())
        {
            report.fail("iperf3 is not installed: apt-get install -y --no-install-recommends iperf3");
            return;
        }
        final Optional<Double> bits = iperf3(client, server, 1, IPERF_SECONDS, report::fail);
        bits.ifPresent(b -> report.pass(String.format(Locale.ROOT, "%.2f Gbit/s", b / 1e9)));
    }

    /**
     * One iperf3 TCP run between two VMs (server started for the run, one connection).
     *
     * @return bits per second received, or empty after reporting the failure.
     */
    static Optional<Double> iperf3(final LabState.Vm client, final LabState.Vm server, final int streams, final int seconds,
        final java.util.function.Consumer<String> failure)
    {
        Process listener = null;
        try
        {
            NetNs.Result result = null;
            // the server needs a moment to listen: retry the connection (not the measurement) for up to 15 s
            // on a busy machine, and start the one-off server again if it has gone (iperf3 -s -1 exits after
            // one client, also one that connected while it was starting and failed)
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
            do
            {
                if (listener == null || !listener.isAlive())
                {
                    try
                    {
                        listener = new ProcessBuilder(Lab.executable("ip"), "netns", "exec", server.namespace(),
                            Lab.executable("iperf3"), "-s", "-1")
                            .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                            .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD).start();
                    }
                    catch (final IOException ex)
                    {
                        failure.accept("cannot start iperf3 -s: " + ex.getMessage());
                        return Optional.empty();
                    }
                    Lab.sleep(100);
                }
                result = NetNs.run(Duration.ofSeconds(seconds + 30L), List.of(Lab.executable("ip"), "netns", "exec", client.namespace(),
                    Lab.executable("iperf3"), "-c", server.ip(), "-t", Integer.toString(seconds), "-P", Integer.toString(streams), "-J"));
                if (result.ok() || !result.stdout().contains("Connection refused"))
                {
                    break;
                }
                Lab.sleep(200);
            }
            while (System.nanoTime() < deadline);
            final JsonNode json = result.stdout().isBlank() ? null : Json.mapper().readTree(result.stdout());
            if (!result.ok() || json == null || !json.path("end").path("sum_received").has("bits_per_second"))
            {
                failure.accept("iperf3 -c " + server.ip() + ": " + (json != null && json.has("error") ? json.get("error").asText() :
                    result.describe().lines().limit(3).toList().toString()));
                return Optional.empty();
            }
            return Optional.of(json.path("end").path("sum_received").path("bits_per_second").asDouble());
        }
        catch (final IOException ex)
        {
            failure.accept("iperf3 output not readable: " + ex.getMessage());
            return Optional.empty();
        }
        finally
        {
            if (listener != null)
            {
                listener.destroy();
                try
                {
                    if (!listener.waitFor(2, TimeUnit.SECONDS))
                    {
                        listener.destroyForcibly();
                    }
                }
                catch (final InterruptedException ex)
                {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }

    private static void counters(final DemoReport report, final LabState state)
    {
        report.begin("key counters of each device (REST API /metrics)");
        final List<String> problems = new ArrayList<>();
        final List<String> lines = new ArrayList<>();
        for (final Lab.DeviceStatus status : Lab.deviceStatus(state))
        {
            final Map<String, Double> c = status.counters();
            final String device = "d" + status.device().index();
            if (c.isEmpty())
            {
                problems.add(device + ": no metrics (" + status.api() + ")");
                continue;
            }
            final double overlayTx = Lab.sum(c, "vsnic_overlay_tx_packets_total");
            final double overlayRx = Lab.sum(c, "vsnic_overlay_rx_packets_total");
            lines.add(String.format(Locale.ROOT,
                "%s: vNIC rx %.0f tx %.0f | overlay tx %.0f rx %.0f | substrate datagrams tx %.0f rx %.0f | answers %.0f | drops %.0f%s | RSS %d MiB",
                device, Lab.sum(c, "vsnic_vnic_rx_packets_total"), Lab.sum(c, "vsnic_vnic_tx_packets_total"), overlayTx, overlayRx,
                Lab.sum(c, "vsnic_substrate_tx_datagrams_total"), Lab.sum(c, "vsnic_substrate_rx_datagrams_total"),
                Lab.sum(c, "vsnic_dataplane_local_answers_total"), Lab.sum(c, "vsnic_dataplane_drops_total"), dropReasons(c),
                status.rssKib() / 1024));
            if (overlayTx == 0 || overlayRx == 0)
            {
                problems.add(device + ": no overlay traffic counted");
            }
        }
        if (problems.isEmpty())
        {
            report.pass("");
        }
        else
        {
            report.fail(String.join("; ", problems));
        }
        lines.forEach(report::detail);
    }

    static String hex(final String text)
    {
        final StringBuilder hex = new StringBuilder();
        for (final byte b : text.getBytes(StandardCharsets.US_ASCII))
        {
            hex.append(String.format(Locale.ROOT, "%02x", b));
        }
        return hex.toString();
    }

    /** Step 7: every device has an established WireGuard session with every other device, and traffic crossed it. */
    private static void sessions(final DemoReport report, final LabState state)
    {
        report.begin("substrate encryption (WireGuard)");
        final List<Lab.PeerSession> sessions;
        try
        {
            sessions = Lab.sessions(state);
        }
        catch (final LabException ex)
        {
            report.fail(ex.getMessage());
            return;
        }
        final List<String> problems = new ArrayList<>();
        for (final LabState.Device device : state.devices())
        {
            for (final LabState.Device other : state.devices())
            {
                if (other.index() != device.index() && sessions.stream().noneMatch(s -> s.device() == device.index() &&
                    s.peer().equals(other.name())))
                {
                    problems.add("d" + device.index() + " has no peer " + other.name());
                }
            }
        }
        for (final Lab.PeerSession session : sessions)
        {
            if (!session.encrypted())
            {
                problems.add("d" + session.device() + " -> " + session.peer() + " is " + session.encryption());
            }
            else if (!session.up() || session.lastHandshakeAgoMs() < 0)
            {
                problems.add("d" + session.device() + " -> " + session.peer() + ": session down");
            }
            else if (session.rxBytes() == 0 || session.txBytes() == 0)
            {
                problems.add("d" + session.device() + " -> " + session.peer() + ": no traffic on the session");
            }
        }
        if (problems.isEmpty())
        {
            report.pass(sessions.size() + " sessions up (every device pair), VM traffic inside them");
        }
        else
        {
            report.fail(String.join("; ", problems));
        }
        sessions.forEach(s -> report.detail("d" + s.device() + ": " + s.describe()));
    }

    /** Step 8: the capture of step 3 holds only WireGuard; the marker is absent in the clear and present once decrypted. */
    private static void captureCheck(final DemoReport report, final LabState state, final Path capture, final String captureError)
    {
        report.begin("substrate capture holds only WireGuard messages");
        if (captureError != null)
        {
            report.fail(captureError);
            return;
        }
        final List<Path> keyLogs = state.devices().stream().map(LabState.Device::keylog).filter(java.util.Objects::nonNull).map(Path::of)
            .toList();
        final SubstrateCapture.Analysis analysis;
        try
        {
            analysis = SubstrateCapture.analyse(capture, Lab.WIREGUARD_PORT, MARKER.getBytes(StandardCharsets.US_ASCII), keyLogs);
        }
        catch (final IOException ex)
        {
            report.fail("cannot read the capture " + capture + ": " + ex.getMessage());
            return;
        }
        final List<String> problems = new ArrayList<>();
        if (!analysis.onlyWireguard())
        {
            problems.add(analysis.udp() == 0 ? "no UDP datagram captured on the substrate" : "not only WireGuard: " + analysis.describe());
        }
        if (analysis.markerInCapture() > 0)
        {
            problems.add("the marker '" + MARKER + "' is in " + analysis.markerInCapture() + " captured frames in the clear");
        }
        if (analysis.markerInInner() == 0)
        {
            problems.add("the marker is in no decrypted packet (" + analysis.decrypted() + " decrypted, " + analysis.notDecrypted() +
                " not)");
        }
        if (problems.isEmpty())
        {
            report.pass(String.format(Locale.ROOT, "%d datagrams, all WireGuard; marker not in the clear", analysis.udp()));
        }
        else
        {
            report.fail(String.join("; ", problems));
        }
        report.detail("tcpdump -i br0 in " + state.substrate() + " during step 3: " + analysis.describe());
        report.detail(String.format(Locale.ROOT, "vsnic wg decrypt -k d1/%s -k d2/%s: %d/%d transport messages decrypted, marker '%s' in %d",
            Lab.KEYLOG, Lab.KEYLOG, analysis.decrypted(), analysis.transports(), MARKER, analysis.markerInInner()));
    }

    private static String dropReasons(final Map<String, Double> counters)
    {
        final StringBuilder reasons = new StringBuilder();
        for (final Map.Entry<String, Double> sample : counters.entrySet())
        {
            if (sample.getKey().startsWith("vsnic_dataplane_drops_total{") && sample.getValue() > 0)
            {
                reasons.append(reasons.isEmpty() ? " (" : ", ").append(sample.getKey().replaceAll(".*reason=\"([^\"]*)\".*", "$1"))
                    .append(' ').append(String.format(Locale.ROOT, "%.0f", sample.getValue()));
            }
        }
        return reasons.isEmpty() ? "" : reasons + ")";
    }
}
