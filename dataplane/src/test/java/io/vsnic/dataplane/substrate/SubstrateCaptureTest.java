package io.vsnic.dataplane.substrate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import io.vsnic.dataplane.buffer.Frame;
import io.vsnic.dataplane.config.Encapsulation;
import io.vsnic.dataplane.config.NetworkSpec;
import io.vsnic.dataplane.config.PeerSpec;
import io.vsnic.dataplane.config.PortSpec;
import io.vsnic.dataplane.config.RemoteSpec;
import io.vsnic.dataplane.config.SubnetSpec;
import io.vsnic.dataplane.pipeline.DataPlane;
import io.vsnic.dataplane.pipeline.DataPlaneConfig;
import io.vsnic.dataplane.pipeline.MemoryPort;
import io.vsnic.dataplane.pipeline.Port;
import io.vsnic.dataplane.protocol.FrameBuilder;
import io.vsnic.dataplane.protocol.Ipv4Flyweight;
import io.vsnic.dataplane.security.CompiledPolicy;
import io.vsnic.dataplane.security.ConnectionTimeouts;
import io.vsnic.dataplane.table.ForwardingState;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Captures the substrate between two vsnic devices on loopback with tshark (root) and has tshark
 * decode every captured packet as Geneve with the network's VNI and the VMs' inner frames.
 */
class SubstrateCaptureTest
{
    private static final int VNI = 0x2a2a;
    private static final long MAC_A = 0x02_00_00_00_0a_01L;
    private static final long MAC_B = 0x02_00_00_00_0b_01L;

    @Test
    void shouldShowOnlyValidGeneveWithTheNetworksVniOnTheSubstrate(@TempDir final Path directory) throws Exception
    {
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "capturing on lo needs root");
        Assumptions.assumeTrue(onPath("tshark"), "tshark is not installed (apt-get install tshark)");
        try (DataPlane a = new DataPlane(new DataPlaneConfig(1, 2048, 4096, ConnectionTimeouts.DEFAULTS));
             DataPlane b = new DataPlane(new DataPlaneConfig(1, 2048, 4096, ConnectionTimeouts.DEFAULTS));
             UdpSubstrate substrateA = new UdpSubstrate(4000, a.pool(), a::state,
                 new UdpSubstrate.Config("127.0.0.1", 0, 0, UdpSubstrate.Transport.EPOLL, 1, 1024));
             UdpSubstrate substrateB = new UdpSubstrate(4000, b.pool(), b::state,
                 new UdpSubstrate.Config("127.0.0.2", 0, 0, UdpSubstrate.Transport.EPOLL, 1, 1024)))
        {
            // a capture on lo (or a veth) shows a UDP GSO send as the one packet the kernel carries, not the
            // datagrams it becomes on a wire: this test is about those datagrams, so it sends one per message
            System.setProperty(UdpSubstrate.GSO_PROPERTY, "false");
            try
            {
                substrateA.start();
                substrateB.start();
            }
            finally
            {
                System.clearProperty(UdpSubstrate.GSO_PROPERTY);
            }
            final MemoryPort vmA = new MemoryPort(1, Port.KIND_VNIC, a.pool(), 1024);
            final MemoryPort vmB = new MemoryPort(1, Port.KIND_VNIC, b.pool(), 1024);
            configure(a, vmA, substrateA, "10.0.1.11", MAC_A, "10.0.1.21", MAC_B, "127.0.0.2:" + substrateB.genevePort());
            configure(b, vmB, substrateB, "10.0.1.21", MAC_B, "10.0.1.11", MAC_A, "127.0.0.1:" + substrateA.genevePort());

            final Path capture = directory.resolve("substrate.pcap");
            final int packets = 20;
            final Process tshark = new ProcessBuilder("tshark", "-i", "lo", "-f",
                "udp and (port " + substrateA.genevePort() + " or port " + substrateB.genevePort() + ")",
                "-c", Integer.toString(packets), "-a", "duration:30", "-w", capture.toString())
                .redirectErrorStream(true).start();
            awaitCapturing(tshark);
            for (int i = 0; i < packets / 2; i++)
            {
                inject(a, vmA, MAC_B, MAC_A, "10.0.1.11", "10.0.1.21");
                inject(b, vmB, MAC_A, MAC_B, "10.0.1.21", "10.0.1.11");
                Thread.sleep(20);
            }
            assertTrue(tshark.waitFor(40, TimeUnit.SECONDS), "tshark finished");
            drain(vmA);
            drain(vmB);

            final List<String> lines = run("tshark", "-r", capture.toString(),
                "-d", "udp.port==" + substrateA.genevePort() + ",geneve", "-d", "udp.port==" + substrateB.genevePort() + ",geneve",
                "-T", "fields", "-E", "separator=|", "-e", "frame.protocols", "-e", "geneve.vni", "-e", "eth.src",
                "-e", "ip.src", "-e", "_ws.malformed");
            assertEquals(packets, lines.size(), "captured packets: " + lines + "; sent by A " + substrateA.txDatagrams() +
                " (GSO sends " + substrateA.udpGsoMessages() + "), by B " + substrateB.txDatagrams() + " (GSO sends " +
                substrateB.udpGsoMessages() + "); data plane drops at A " + a.counters().dropsByReason() + ", at B " +
                b.counters().dropsByReason());
            for (final String line : lines)
            {
                final String[] fields = line.split("\\|", -1);
                assertTrue(fields[0].contains(":udp:geneve:eth:ethertype:ip:udp"), line);
                assertEquals(String.format("0x%06x", VNI), fields[1], line);
                assertTrue(fields[2].contains("02:00:00:00:0a:01") || fields[2].contains("02:00:00:00:0b:01"), line);
                assertTrue(fields[3].contains("10.0.1.11") || fields[3].contains("10.0.1.21"), line);
                assertTrue(fields[4].isEmpty(), "malformed: " + line);
            }
        }
    }

    private static void configure(final DataPlane dataPlane, final MemoryPort vm, final UdpSubstrate substrate,
        final String ip, final long mac, final String remoteIp, final long remoteMac, final String peerEndpoint)
    {
        final NetworkSpec network = new NetworkSpec("blue", VNI, 1500, List.of(new SubnetSpec("10.0.1.0/24", "10.0.1.1")),
            List.of(), List.of(new RemoteSpec(remoteIp, remoteMac, 2)));
        dataPlane.publish(ForwardingState.build(null, List.of(network),
            List.of(new PortSpec(1, "vm", "blue", mac, ip, null, CompiledPolicy.allowAll(), true)),
            List.of(new PeerSpec(2, "peer", peerEndpoint, Encapsulation.GENEVE, List.of()))));
        dataPlane.addPort(vm);
        dataPlane.overlayPort(substrate);
        dataPlane.start();
    }

    private static void inject(final DataPlane dataPlane, final MemoryPort vm, final long dstMac, final long srcMac,
        final String src, final String dst)
    {
        final Frame frame = dataPlane.pool().acquire();
        final FrameBuilder builder = new FrameBuilder(frame.segment(), frame.start());
        builder.ethernet(dstMac, srcMac).ipv4(Ipv4Flyweight.parse(src), Ipv4Flyweight.parse(dst)).udp(33000, 33001).payload(64, 3);
        frame.length(builder.build());
        assertTrue(vm.inject(frame));
    }

    private static void drain(final MemoryPort port)
    {
        Frame frame;
        while ((frame = port.poll()) != null)
        {
            frame.release();
        }
    }

    private static void awaitCapturing(final Process tshark) throws IOException, InterruptedException
    {
        final InputStream out = tshark.getInputStream();
        final StringBuilder seen = new StringBuilder();
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < deadline && !seen.toString().contains("Capturing on"))
        {
            if (out.available() > 0)
            {
                seen.append((char)out.read());
            }
            else
            {
                Thread.sleep(10);
            }
        }
        assertTrue(seen.toString().contains("Capturing on"), "tshark did not start: " + seen);
        Thread.sleep(300);
    }

    private static List<String> run(final String... command) throws IOException, InterruptedException
    {
        final Process process = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        final String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(60, TimeUnit.SECONDS));
        final List<String> lines = new ArrayList<>();
        output.lines().filter(line -> !line.isBlank()).forEach(lines::add);
        return lines;
    }

    private static boolean onPath(final String program)
    {
        for (final String directory : System.getenv().getOrDefault("PATH", "").split(":"))
        {
            if (Files.isExecutable(Path.of(directory, program)))
            {
                return true;
            }
        }
        return false;
    }
}
