package io.vsnic.orchestrator.lab;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import io.vsnic.vnic.netns.NetNs;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The namespace lab end to end (root): {@code up} with 2 devices x 1 VM on the WireGuard-encrypted
 * substrate (sessions up, a substrate capture holding only WireGuard that decrypts to the pinged
 * marker, cross-device ping and a checksummed transfer), {@code down}, and nothing of the lab left
 * afterwards: no namespace, link, process or file — also for a plain lab whose daemons were killed
 * with SIGKILL (whose capture shows the marker in the clear: the capture check can fail).
 */
class LabTest
{
    private final List<String> progress = new ArrayList<>();

    @BeforeEach
    void requireRoot()
    {
        assumeLab("ping:iputils-ping", "socat:socat", "tcpdump:tcpdump");
    }

    /**
     * Skips (with the reason) unless this is root, the lab's prerequisites are there, and every
     * {@code TOOL:DEBIAN-PACKAGE} is on the PATH.
     */
    static void assumeLab(final String... tools)
    {
        Assumptions.assumeTrue(NetNs.isRoot(), "needs root: creates network namespaces and TAP devices");
        Assumptions.assumeTrue(Lab.missingPrerequisite().isEmpty(), () -> "lab prerequisite missing: " + Lab.missingPrerequisite().get());
        for (final String tool : tools)
        {
            final String[] nameAndPackage = tool.split(":", 2);
            Assumptions.assumeTrue(NetNs.findExecutable(nameAndPackage[0]).isPresent(),
                () -> "needs " + nameAndPackage[0] + " (apt-get install " + nameAndPackage[1] + ")");
        }
    }

    static String uniqueName()
    {
        return NetNs.uniqueName("t", 7);
    }

    private LabState up(final String name, final boolean encryption) throws LabException
    {
        return Lab.up(new Lab.Spec(name, 2, 1, encryption), Lab.DaemonLauncher.sameJvm(), progress::add);
    }

    private static final byte[] MARKER = LabDemo.MARKER.getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    /** Pings b from a with the marker as payload while the substrate is captured; returns the capture's analysis. */
    private static SubstrateCapture.Analysis pingCaptured(final LabState state, final LabState.Vm a, final LabState.Vm b,
        final Path directory, final int port) throws Exception
    {
        final Path file = directory.resolve("substrate.pcap");
        try (SubstrateCapture capture = SubstrateCapture.start(state, file))
        {
            final NetNs.Result ping = inVm(a, Duration.ofSeconds(20), "ping", "-c", "3", "-i", "0.2", "-W", "2", "-s", "120", "-p",
                LabDemo.hex(LabDemo.MARKER), b.ip());
            assertTrue(ping.ok(), "cross-device ping: " + ping.describe());
            capture.stop();
        }
        final List<Path> keyLogs = state.devices().stream().map(LabState.Device::keylog).filter(java.util.Objects::nonNull)
            .map(Path::of).toList();
        return SubstrateCapture.analyse(file, port, MARKER, keyLogs);
    }

    @Test
    void shouldCarryTrafficAcrossDevicesAndLeaveNothingBehind(@TempDir final Path directory) throws Exception
    {
        final String name = uniqueName();
        try
        {
            final LabState state = up(name, true);
            assertTrue(state.encryption());
            assertEquals(2, state.devices().size());
            assertEquals(2, state.vms().size(), String.join("\n", progress));
            final LabState.Vm a = state.vm("d1v1").orElseThrow();
            final LabState.Vm b = state.vm("d2v1").orElseThrow();
            assertEquals("10.77.1.11", a.ip(), "address from the device's DHCP server");
            assertEquals("10.77.2.11", b.ip());

            // The first packets between the devices: the capture holds the handshake, so the key logs decrypt it.
            final SubstrateCapture.Analysis capture = pingCaptured(state, a, b, directory, Lab.WIREGUARD_PORT);
            assertTrue(capture.onlyWireguard(), "only WireGuard on the substrate: " + capture.describe());
            assertEquals(1, capture.initiations(), capture.describe());
            assertEquals(1, capture.responses(), capture.describe());
            assertTrue(capture.transports() >= 6, "3 echoes and 3 replies: " + capture.describe());
            assertEquals(0, capture.markerInCapture(), "the marker never crosses the substrate in the clear");
            assertEquals(capture.transports(), capture.decrypted(), "the key logs decrypt every transport message");
            assertTrue(capture.markerInInner() >= 6, "the marker is inside the decrypted packets: " + capture.markerInInner());

            final List<Lab.PeerSession> sessions = Lab.sessions(state);
            assertEquals(2, sessions.size(), sessions.toString());
            for (final Lab.PeerSession session : sessions)
            {
                assertTrue(session.encrypted() && session.up() && session.lastHandshakeAgoMs() >= 0, session.describe());
                assertTrue(session.rxBytes() > 0 && session.txBytes() > 0, session.describe());
            }
            for (final LabState.Device device : state.devices())
            {
                assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(
                    Files.getPosixFilePermissions(Path.of(device.keylog()))), "key log of d" + device.index());
            }

            final Path payload = directory.resolve("payload.bin");
            final byte[] bytes = new byte[4 * 1024 * 1024];
            new Random(9).nextBytes(bytes);
            Files.write(payload, bytes);
            final Path received = directory.resolve("received.bin");
            transfer(a, b, payload, received);
            assertEquals(sha256(payload), sha256(received), "4 MiB across devices, byte-exact");

            for (final LabState.Device device : state.devices())
            {
                final Path key = Path.of(device.keyFile());
                assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(key)));
                assertEquals(device.publicKey(), io.vsnic.crypto.DeviceKeys.fromPrivateKey(io.vsnic.crypto.KeyFiles.readPrivateKey(key))
                    .publicKeyBase64(), "public key of " + key);
                final LabState.Device other = state.device(3 - device.index());
                final com.fasterxml.jackson.databind.JsonNode peer = Lab.api(other).getJson("/v1/peers/" + device.name());
                assertEquals(device.publicKey(), peer.path("publicKey").asText(), "d" + other.index() + " knows d" + device.index() + "'s key");
            }

            assertEquals(7, Lab.exec(state, "d2v1", List.of("sh", "-c", "exit 7")), "lab exec passes the exit status through");
            assertThrows(LabException.class, () -> Lab.exec(state, "d9v9", List.of("true")));

            final List<Lab.DeviceStatus> statuses = Lab.deviceStatus(state);
            for (final Lab.DeviceStatus status : statuses)
            {
                assertTrue(status.alive() && status.api().startsWith("ok"), status.toString());
                assertTrue(Lab.sum(status.counters(), "vsnic_overlay_tx_packets_total") > 0, "overlay counters: " + status);
                assertTrue(status.rssKib() > 0);
            }
        }
        finally
        {
            Lab.down(name, progress::add);
        }
        assertNothingLeft(name);
        assertEquals(0, Lab.down(name, progress::add), "down again finds nothing");
    }

    @Test
    void shouldConnectTheEnclaveServicesAcrossDevicesAndRefuseTheVm() throws Exception
    {
        final String name = uniqueName();
        try
        {
            final LabState state = Lab.up(new Lab.Spec(name, 2, 1, true, true), Lab.DaemonLauncher.sameJvm(), progress::add);
            assertEquals(2, state.services().size(), String.join("\n", progress));
            for (final LabState.Service service : state.services())
            {
                final LabState.Device device = state.device(service.device());
                final Path key = Path.of(service.keyFile());
                assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(key)));
                assertEquals(service.publicKey(), io.vsnic.crypto.DeviceKeys.fromPrivateKey(io.vsnic.crypto.KeyFiles.readPrivateKey(key))
                    .publicKeyBase64(), "public key of " + key);
                assertFalse(service.publicKey().equals(device.publicKey()), "the enclave key is not the device key");
                assertEquals("ok (2 services, 1 peers)", Lab.enclaveOnDevice(device), "enclave on d" + device.index());
                assertEquals(Integer.toString(Lab.ENCLAVE_PORT), NetNs.run(Duration.ofSeconds(5), List.of("ip", "netns", "exec",
                    device.namespace(), "cat", "/proc/sys/net/ipv4/ip_local_reserved_ports")).stdout().trim(),
                    "the enclave port is kept out of d" + device.index() + "'s source port pool");
                assertEquals(Lab.serviceAddress(service.device()), Lab.vmIp(service.namespace(), service.tap()).orElse(null));
            }
            final LabState.Vm vm = state.vm("d1v1").orElseThrow();
            final LabDemo.EnclaveResult result = LabDemo.enclaveCheck(state, vm);
            assertTrue(result.ok(), String.join("; ", result.problems()));
            assertTrue(result.reply().startsWith("VSNIC-ENCLAVE-"), "the reply made by the service on d2: " + result.reply());
            assertEquals(0, result.vmReplies(), "the VM gets no reply from the service address");
            assertTrue(result.isolationDelta() >= LabDemo.VM_PROBES, "enclave_isolation +" + result.isolationDelta());
            assertEquals(0, Lab.exec(state, "d2svc", List.of("true")), "lab exec reaches a service namespace");
        }
        finally
        {
            Lab.down(name, progress::add);
        }
        assertNothingLeft(name);
        final String links = NetNs.ip("-o", "link", "show").stdout();
        assertFalse(links.contains("e" + name + "d"), "no enclave TAP of the lab in the root namespace:\n" + links);
    }

    @Test
    void shouldRemoveLabWhoseDaemonsWereKilled(@TempDir final Path directory) throws Exception
    {
        final String name = uniqueName();
        try
        {
            final LabState state = up(name, false);
            assertFalse(state.encryption());
            assertTrue(Lab.sessions(state).stream().noneMatch(Lab.PeerSession::encrypted), "plain lab: peers encryption none");
            final SubstrateCapture.Analysis capture = pingCaptured(state, state.vm("d1v1").orElseThrow(), state.vm("d2v1").orElseThrow(),
                directory, Lab.WIREGUARD_PORT);
            assertFalse(capture.onlyWireguard(), "plain Geneve is not WireGuard: " + capture.describe());
            assertTrue(capture.markerInCapture() >= 6, "plain lab: the marker crosses in the clear: " + capture.markerInCapture());
            for (final LabState.Device device : state.devices())
            {
                final ProcessHandle daemon = ProcessHandle.of(device.pid()).orElseThrow();
                daemon.destroyForcibly();
                assertTrue(daemon.onExit().get(10, TimeUnit.SECONDS).pid() == device.pid());
            }
            assertFalse(Lab.deviceStatus(state).stream().anyMatch(Lab.DeviceStatus::alive), "daemons are gone");
        }
        finally
        {
            final int removed = Lab.down(name, progress::add);
            assertTrue(removed >= 6, "namespaces and the directory were removed: " + removed + " " + progress);
        }
        assertNothingLeft(name);
    }

    @Test
    void shouldRefuseBadSpecsWithoutMakingAnything() throws IOException
    {
        final String name = uniqueName();
        assertThrows(LabException.class,
            () -> Lab.up(new Lab.Spec("Bad-Name", 1, 1, true), Lab.DaemonLauncher.sameJvm(), progress::add));
        final LabException devices = assertThrows(LabException.class,
            () -> Lab.up(new Lab.Spec(name, 0, 1, true), Lab.DaemonLauncher.sameJvm(), progress::add));
        assertTrue(devices.getMessage().contains("--devices"), devices.getMessage());
        assertNothingLeft(name);
    }

    private static void assertNothingLeft(final String name) throws IOException
    {
        assertEquals(List.of(), Lab.namespaces(name), "namespaces");
        assertFalse(Files.exists(Lab.directory(name)), "lab directory " + Lab.directory(name));
        final String links = NetNs.ip("-o", "link", "show").stdout();
        assertFalse(links.contains("t" + name), "no TAP of the lab in the root namespace:\n" + links);
        final List<Long> processes = ProcessHandle.allProcesses()
            .filter(p -> Lab.commandLine(p.pid()).contains(Lab.directory(name).toString())).map(ProcessHandle::pid).toList();
        assertEquals(List.of(), processes, "processes of the lab");
    }

    static NetNs.Result inVm(final LabState.Vm vm, final Duration timeout, final String... command)
    {
        final List<String> full = new ArrayList<>(List.of(Lab.executable("ip"), "netns", "exec", vm.namespace()));
        full.addAll(List.of(command));
        return NetNs.run(timeout, full);
    }

    static void transfer(final LabState.Vm sender, final LabState.Vm receiver, final Path payload, final Path target)
        throws IOException, InterruptedException
    {
        final int port = 20000 + new Random().nextInt(20000);
        final Process listener = new ProcessBuilder(Lab.executable("ip"), "netns", "exec", receiver.namespace(), "socat", "-u",
            "TCP-LISTEN:" + port + ",reuseaddr", "CREATE:" + target)
            .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).redirectErrorStream(true).start();
        try
        {
            NetNs.Result send = null;
            for (int attempt = 0; attempt < 50; attempt++)
            {
                send = inVm(sender, Duration.ofSeconds(180), "socat", "-u", "OPEN:" + payload,
                    "TCP:" + receiver.ip() + ":" + port + ",connect-timeout=10");
                if (send.ok() || !send.stderr().contains("Connection refused"))
                {
                    break;
                }
                Thread.sleep(100);
            }
            assertTrue(send.ok(), "send: " + send.describe());
            assertTrue(listener.waitFor(60, TimeUnit.SECONDS), "receiver finished");
            assertEquals(0, listener.exitValue(), new String(listener.getInputStream().readAllBytes()));
        }
        finally
        {
            listener.destroyForcibly();
        }
    }

    static String sha256(final Path file)
    {
        final NetNs.Result result = NetNs.run(Duration.ofSeconds(30), List.of("sha256sum", file.toString()));
        assertEquals(0, result.exitCode(), result.describe());
        return result.stdout().split("\\s+")[0];
    }
}
