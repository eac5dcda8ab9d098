package io.vsnic.vnic.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.vsnic.dataplane.config.NetworkSpec;
import io.vsnic.dataplane.config.PortSpec;
import io.vsnic.dataplane.config.SubnetSpec;
import io.vsnic.dataplane.pipeline.DataPlane;
import io.vsnic.dataplane.pipeline.DataPlaneConfig;
import io.vsnic.dataplane.protocol.EthernetFlyweight;
import io.vsnic.dataplane.security.CompiledPolicy;
import io.vsnic.dataplane.security.ConnectionTimeouts;
import io.vsnic.dataplane.table.ForwardingState;
import io.vsnic.vnic.EndpointCounter;
import io.vsnic.vnic.netns.NetNs;
import io.vsnic.vnic.tap.TapDevice;
import io.vsnic.vnic.tap.TapOptions;
import io.vsnic.vnic.tap.TapPort;
import io.vsnic.vnic.tap.TunFlags;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two VMs (network namespaces) behind TAP vNICs opened with {@code IFF_VNET_HDR} and every offload:
 * a 100 MB TCP transfer from one to the other arrives byte-exact, most of its bytes were read from
 * the sending VM's TAP as 64 KiB super-frames and written whole to the receiving VM's TAP, and the
 * receiving kernel counts no checksum error ({@code InCsumErrors} of {@code /proc/net/snmp}); 20 MB
 * over IPv6 arrive byte-exact too (as TCPv6 super-frames with offloads). The same VMs without
 * offloads work as before. With iperf3 installed, both are measured in the same run.
 */
class TapOffloadTest
{
    private static final long MAC_A = 0x02_00_00_00_1a_0aL;
    private static final long MAC_B = 0x02_00_00_00_1b_0bL;
    private static final int UDP_BURSTS = 5;
    private static final int UDP_SEGMENTS_PER_BURST = 40;
    private static final int UDP_DATAGRAMS = UDP_BURSTS * UDP_SEGMENTS_PER_BURST;
    /** Receives UDP datagrams until 3 s of silence; checks each one's content; prints "received N bad M". */
    private static final String UDP_RECEIVER = """
        import socket, struct, sys
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, 33, 8 << 20)  # SO_RCVBUFFORCE
        s.bind(("0.0.0.0", int(sys.argv[1])))
        s.settimeout(10)
        received = bad = 0
        while True:
            try:
                data = s.recv(65536)
            except socket.timeout:
                break
            s.settimeout(3)
            index = struct.unpack("!Q", data[:8])[0]
            body = bytes((index + i) & 0xFF for i in range(len(data) - 8))
            if len(data) != 1400 or data[8:] != body:
                bad += 1
            else:
                received += 1
        print("received", received, "bad", bad)
        """;
    /** Sends bursts of 1400-byte datagrams, each burst one sendto with UDP_SEGMENT (USO in the kernel). */
    private static final String UDP_SENDER = """
        import socket, struct, sys, time
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(17, 103, 1400)  # SOL_UDP, UDP_SEGMENT
        index = 0
        for burst in range(int(sys.argv[3])):
            buffer = b""
            for k in range(int(sys.argv[4])):
                buffer += struct.pack("!Q", index) + bytes((index + i) & 0xFF for i in range(1392))
                index += 1
            s.sendto(buffer, (sys.argv[1], int(sys.argv[2])))
            time.sleep(0.1)
        """;

    /** What one configuration moved. */
    private record Run(double transferSeconds, long rxFrames, long rxBytes, long rxSuperFrames, long rxSuperBytes,
        long txSuperFrames, long csumErrorsBefore, long csumErrorsAfter, double iperfGbits, String offloads,
        long ipv6SuperFrames, int udpReceived, long udpSuperFrames)
    {
    }

    @Test
    void shouldCarryTcpAsSuperFramesBetweenVmsWithOffloadsAndWorkWithout(@TempDir final Path directory) throws Exception
    {
        Assumptions.assumeTrue(NetNs.isRoot(), "needs root: creates namespaces and TAP devices");
        Assumptions.assumeTrue(NetNs.findExecutable("socat").isPresent(), "needs socat (apt-get install socat)");
        final Path payload = directory.resolve("payload.bin");
        final byte[] bytes = new byte[100 * 1024 * 1024];
        new Random(11).nextBytes(bytes);
        Files.write(payload, bytes);
        final String expected = sha256(payload);
        final Path payload6 = directory.resolve("payload6.bin");
        Files.write(payload6, java.util.Arrays.copyOf(bytes, 20 * 1024 * 1024));
        final String expected6 = sha256(payload6);

        final Run off = run(directory, payload, expected, payload6, expected6, false);
        final Run on = run(directory, payload, expected, payload6, expected6, true);

        System.out.printf("offloads off: 100 MB in %.2f s (%.0f Mbit/s), %d frames read, iperf3 %.2f Gbit/s%n",
            off.transferSeconds(), 800 / off.transferSeconds(), off.rxFrames(), off.iperfGbits());
        System.out.printf("offloads on (%s): 100 MB in %.2f s (%.0f Mbit/s), %d frames read of which %d super-frames " +
                "(%.1f %% of the bytes), %d super-frames written, %d super-frames in the 20 MB IPv6 transfer, iperf3 %.2f Gbit/s%n",
            on.offloads(), on.transferSeconds(), 800 / on.transferSeconds(), on.rxFrames(), on.rxSuperFrames(),
            100.0 * on.rxSuperBytes() / on.rxBytes(), on.txSuperFrames(), on.ipv6SuperFrames(), on.iperfGbits());

        assertEquals(0, off.rxSuperFrames(), "no super-frames without offloads");
        assertEquals(off.csumErrorsBefore(), off.csumErrorsAfter(), "InCsumErrors without offloads");
        assertTrue(on.rxSuperFrames() > 0, "super-frames read with offloads");
        assertTrue(on.rxSuperBytes() * 2 > on.rxBytes(),
            "most bytes arrive in super-frames: " + on.rxSuperBytes() + " of " + on.rxBytes());
        assertTrue(on.txSuperFrames() > 0, "super-frames written whole to the receiving TAP");
        assertTrue(on.ipv6SuperFrames() > 0, "the IPv6 transfer came as super-frames too");
        assertTrue(off.udpReceived() > 0 && on.udpReceived() > 0, "UDP datagrams arrived (every one checked)");
        assertEquals(0, off.udpSuperFrames(), "no UDP super-frames without offloads");
        assertTrue(on.udpSuperFrames() > 0, "UDP_SEGMENT sends came as USO super-frames");
        System.out.printf("UDP_SEGMENT: %d of %d datagrams intact without offloads, %d of %d with (%d USO super-frames)%n",
            off.udpReceived(), UDP_DATAGRAMS, on.udpReceived(), UDP_DATAGRAMS, on.udpSuperFrames());
        assertEquals(on.csumErrorsBefore(), on.csumErrorsAfter(), "the receiving kernel found no bad checksum");
    }

    private static Run run(final Path directory, final Path payload, final String expected, final Path payload6,
        final String expected6, final boolean offloads) throws Exception
    {
        final TapOptions options = offloads ? TapOptions.defaults().withOffloads(10, TapOptions.ALL_OFFLOADS) : TapOptions.defaults();
        try (NetNs scope = NetNs.open();
             DataPlane dataPlane = new DataPlane(new DataPlaneConfig(1, 8192, 65536, ConnectionTimeouts.DEFAULTS, 256)))
        {
            final String nsA = scope.createNamespace("oa");
            final String nsB = scope.createNamespace("ob");
            final String suffix = nsA.substring(nsA.length() - 6);
            final String[] taps = {"toa" + suffix, "tob" + suffix};
            final String[] namespaces = {nsA, nsB};
            final long[] macs = {MAC_A, MAC_B};
            final String[] addresses = {"10.61.1.10/24", "10.61.1.20/24"};
            // The SLAAC (EUI-64) addresses the guests also form from the router advertisement: the data plane
            // lets a port send from its configured address only, so configured and formed must agree.
            final String[] addresses6 = {"fd61:0:0:1:0:ff:fe00:1a0a/64", "fd61:0:0:1:0:ff:fe00:1b0b/64"};
            final TapPort[] ports = new TapPort[2];
            for (int i = 0; i < 2; i++)
            {
                scope.adoptLink(null, taps[i]);
                ports[i] = new TapPort(i + 1, TapDevice.open(taps[i], options), dataPlane.pool(), dataPlane.superPool());
                scope.moveLink(taps[i], namespaces[i]);
                scope.setMac(namespaces[i], taps[i], EthernetFlyweight.formatMac(macs[i]));
                scope.addAddress(namespaces[i], taps[i], addresses[i]);
                final NetNs.Result v6 = scope.exec(namespaces[i], NetNs.IP_TIMEOUT, "ip", "-6", "addr", "add", addresses6[i],
                    "dev", taps[i], "nodad");
                assertTrue(v6.ok(), v6.describe());
                scope.up(namespaces[i], taps[i]);
                scope.up(namespaces[i], "lo");
                dataPlane.addPort(ports[i]);
            }
            final NetworkSpec blue = new NetworkSpec("blue", 100, 1500,
                List.of(new SubnetSpec("10.61.1.0/24", "10.61.1.1"), new SubnetSpec("fd61:0:0:1::/64", "fd61:0:0:1::1")));
            final CompiledPolicy open = CompiledPolicy.allowAll();
            dataPlane.publish(ForwardingState.build(List.of(blue), List.of(
                new PortSpec(1, "vm-a", "blue", MAC_A, "10.61.1.10", "fd61:0:0:1:0:ff:fe00:1a0a", open, true),
                new PortSpec(2, "vm-b", "blue", MAC_B, "10.61.1.20", "fd61:0:0:1:0:ff:fe00:1b0b", open, true))));
            dataPlane.start();

            final long errorsBefore = inCsumErrors(scope, nsB);
            final Path received = directory.resolve(offloads ? "received-on.bin" : "received-off.bin");
            final long started = System.nanoTime();
            transfer(scope, nsB, nsA, "10.61.1.20", payload, received);
            final double seconds = (System.nanoTime() - started) / 1e9;
            assertEquals(expected, sha256(received), "100 MB byte-exact, offloads " + (offloads ? "on" : "off"));
            Files.delete(received);
            final long superBefore6 = ports[0].counters().get(EndpointCounter.RX_SUPER_FRAMES);
            transfer(scope, nsB, nsA, "[fd61:0:0:1:0:ff:fe00:1b0b]", payload6, received);
            assertEquals(expected6, sha256(received), "20 MB over IPv6 byte-exact, offloads " + (offloads ? "on" : "off"));
            Files.delete(received);
            final long ipv6SuperFrames = ports[0].counters().get(EndpointCounter.RX_SUPER_FRAMES) - superBefore6;
            final long superBeforeUdp = ports[0].counters().get(EndpointCounter.RX_SUPER_FRAMES);
            final int udpReceived = udpSegmentation(scope, nsB, nsA, "10.61.1.20");
            final long udpSuperFrames = ports[0].counters().get(EndpointCounter.RX_SUPER_FRAMES) - superBeforeUdp;
            final double gbits = iperf(scope, nsB, nsA, "10.61.1.20");
            final long errorsAfter = inCsumErrors(scope, nsB);
            final var rx = ports[0].counters();
            final var tx = ports[1].counters();
            assertEquals(0, rx.get(EndpointCounter.RX_BAD_VNET_HEADER));
            assertEquals(0, tx.get(EndpointCounter.TX_ERRORS), "writes the receiving TAP refused");
            return new Run(seconds, rx.get(EndpointCounter.RX_FRAMES), rx.get(EndpointCounter.RX_BYTES),
                rx.get(EndpointCounter.RX_SUPER_FRAMES), rx.get(EndpointCounter.RX_SUPER_BYTES),
                tx.get(EndpointCounter.TX_SUPER_FRAMES), errorsBefore, errorsAfter, gbits,
                TunFlags.describeOffloads(ports[0].device().offloads()), ipv6SuperFrames, udpReceived, udpSuperFrames);
        }
    }

    /**
     * Sends {@link #UDP_DATAGRAMS} datagrams from {@code senderNs} with {@code UDP_SEGMENT} (one send per
     * burst of {@link #UDP_SEGMENTS_PER_BURST}) and checks every datagram that arrives in {@code receiverNs}.
     *
     * @return how many arrived intact (none may arrive damaged).
     */
    private static int udpSegmentation(final NetNs scope, final String receiverNs, final String senderNs, final String receiverIp)
        throws IOException, InterruptedException
    {
        final int port = 20000 + new Random().nextInt(20000);
        final Process receiver = new ProcessBuilder("ip", "netns", "exec", receiverNs, "/usr/bin/python3", "-c", UDP_RECEIVER,
            Integer.toString(port)).redirectErrorStream(true).start();
        try
        {
            Thread.sleep(1000);
            final NetNs.Result send = scope.exec(senderNs, Duration.ofSeconds(30), "/usr/bin/python3", "-c", UDP_SENDER, receiverIp,
                Integer.toString(port), Integer.toString(UDP_BURSTS), Integer.toString(UDP_SEGMENTS_PER_BURST));
            assertEquals(0, send.exitCode(), "UDP sender: " + send.describe());
            assertTrue(receiver.waitFor(30, TimeUnit.SECONDS), "UDP receiver finished");
            final String output = new String(receiver.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).strip();
            final Matcher counts = Pattern.compile("received (\\d+) bad (\\d+)").matcher(output);
            assertTrue(counts.find(), "UDP receiver: " + output);
            assertEquals(0, Integer.parseInt(counts.group(2)), "damaged datagrams: " + output);
            return Integer.parseInt(counts.group(1));
        }
        finally
        {
            receiver.destroyForcibly();
        }
    }

    /**
     * @return the sum of the {@code InCsumErrors} columns (IP-level protocols: TCP, UDP, ICMP) of the namespace.
     */
    private static long inCsumErrors(final NetNs scope, final String ns)
    {
        final NetNs.Result snmp = scope.exec(ns, Duration.ofSeconds(5), "cat", "/proc/net/snmp");
        assertTrue(snmp.ok(), snmp.describe());
        final String[] lines = snmp.stdout().split("\n");
        long total = 0;
        for (int i = 0; i + 1 < lines.length; i += 2)
        {
            final String[] names = lines[i].trim().split("\\s+");
            final String[] values = lines[i + 1].trim().split("\\s+");
            for (int c = 1; c < names.length && c < values.length; c++)
            {
                if (names[c].equals("InCsumErrors"))
                {
                    total += Long.parseLong(values[c]);
                }
            }
        }
        return total;
    }

    private static void transfer(final NetNs scope, final String receiverNs, final String senderNs, final String receiverIp,
        final Path payload, final Path target) throws IOException, InterruptedException
    {
        final int port = 20000 + new Random().nextInt(20000);
        final boolean v6 = receiverIp.startsWith("[");
        final Process listener = new ProcessBuilder("ip", "netns", "exec", receiverNs, "socat", "-u",
            (v6 ? "TCP6-LISTEN:" : "TCP4-LISTEN:") + port + ",reuseaddr", "CREATE:" + target).redirectErrorStream(true).start();
        try
        {
            Thread.sleep(500);
            final NetNs.Result send = scope.exec(senderNs, Duration.ofSeconds(180), "socat", "-u",
                "OPEN:" + payload, (v6 ? "TCP6:" : "TCP4:") + receiverIp + ":" + port + ",connect-timeout=10");
            assertEquals(0, send.exitCode(), "send: " + send.describe());
            assertTrue(listener.waitFor(60, TimeUnit.SECONDS), "receiver finished");
        }
        finally
        {
            listener.destroyForcibly();
        }
    }

    /**
     * @return the receiver's TCP throughput of a 5 s iperf3 run in Gbit/s, or NaN when iperf3 is not installed.
     */
    private static double iperf(final NetNs scope, final String serverNs, final String clientNs, final String serverIp)
        throws IOException, InterruptedException
    {
        if (NetNs.findExecutable("iperf3").isEmpty())
        {
            return Double.NaN;
        }
        final int port = 20000 + new Random().nextInt(20000);
        final Process server = new ProcessBuilder("ip", "netns", "exec", serverNs, "iperf3", "-s", "-1", "-p",
            Integer.toString(port)).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        try
        {
            Thread.sleep(500);
            final NetNs.Result client = scope.exec(clientNs, Duration.ofSeconds(60), "iperf3", "-c", serverIp, "-p",
                Integer.toString(port), "-t", "5", "-J");
            assertEquals(0, client.exitCode(), "iperf3: " + client.describe());
            final Matcher received = Pattern.compile("\"sum_received\"\\s*:\\s*\\{[^}]*?\"bits_per_second\"\\s*:\\s*([0-9.eE+]+)")
                .matcher(client.stdout());
            assertTrue(received.find(), client.stdout());
            return Double.parseDouble(received.group(1)) / 1e9;
        }
        finally
        {
            server.waitFor(10, TimeUnit.SECONDS);
            server.destroyForcibly();
        }
    }

    private static String sha256(final Path file)
    {
        final NetNs.Result result = NetNs.run(Duration.ofSeconds(30), List.of("sha256sum", file.toString()));
        assertEquals(0, result.exitCode(), result.describe());
        return result.stdout().split("\\s+")[0];
    }
}
