package io.vsnic.dataplane.substrate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;

import io.vsnic.dataplane.buffer.Frame;
import io.vsnic.dataplane.config.Encapsulation;
import io.vsnic.dataplane.config.NetworkSpec;
import io.vsnic.dataplane.config.PeerSpec;
import io.vsnic.dataplane.config.PortSpec;
import io.vsnic.dataplane.config.RemoteSpec;
import io.vsnic.dataplane.config.SubnetSpec;
import io.vsnic.dataplane.offload.OffloadFrames;
import io.vsnic.dataplane.offload.VirtioNetHeader;
import io.vsnic.dataplane.pipeline.DataPlane;
import io.vsnic.dataplane.pipeline.DataPlaneConfig;
import io.vsnic.dataplane.pipeline.MemoryPort;
import io.vsnic.dataplane.pipeline.Port;
import io.vsnic.dataplane.protocol.FrameBuilder;
import io.vsnic.dataplane.protocol.FrameClassifier;
import io.vsnic.dataplane.protocol.FrameLayout;
import io.vsnic.dataplane.protocol.GeneveFlyweight;
import io.vsnic.dataplane.protocol.Ipv4Flyweight;
import io.vsnic.dataplane.protocol.TcpFlyweight;
import io.vsnic.dataplane.security.CompiledPolicy;
import io.vsnic.dataplane.security.ConnectionTimeouts;
import io.vsnic.dataplane.status.DropReason;
import io.vsnic.dataplane.table.ForwardingState;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Two devices in one process joined by a real UDP substrate on loopback (127.0.0.1 and 127.0.0.2):
 * VM traffic crosses as Geneve or VXLAN in both directions, for every transport; and the receive
 * checks hold against datagrams crafted by a third, hostile peer.
 */
class OverlaySubstrateTest
{
    private static final int VNI = 100;
    private static final long MAC_A = 0x02_00_00_00_0a_01L;
    private static final long MAC_B = 0x02_00_00_00_0b_01L;
    private static final int IP_A = Ipv4Flyweight.parse("10.0.1.11");
    private static final int IP_B = Ipv4Flyweight.parse("10.0.1.21");
    private static final int OVERLAY = 4000;

    static List<Arguments> transports()
    {
        final List<Arguments> arguments = new ArrayList<>();
        for (final UdpSubstrate.Transport transport : UdpSubstrate.Transport.values())
        {
            for (final Encapsulation encapsulation : Encapsulation.values())
            {
                arguments.add(Arguments.of(transport, encapsulation));
            }
        }
        return arguments;
    }

    /** One device: a data plane, a VM port and a substrate. */
    private static final class Device implements AutoCloseable
    {
        final DataPlane dataPlane = new DataPlane(new DataPlaneConfig(1, 2048, 4096, ConnectionTimeouts.DEFAULTS));
        final MemoryPort vm;
        final UdpSubstrate substrate;

        Device(final String address, final UdpSubstrate.Transport transport) throws IOException
        {
            this(address, transport, UdpSubstrate.Config.DEFAULT_SOURCE_PORTS);
        }

        Device(final String address, final UdpSubstrate.Transport transport, final int sourcePorts) throws IOException
        {
            this(address, transport, sourcePorts, 0);
        }

        /** @param vmOffloads what the VM port takes ({@link Port#OFFLOAD_SUPER_FRAMES}, ...). */
        Device(final String address, final UdpSubstrate.Transport transport, final int sourcePorts, final int vmOffloads)
            throws IOException
        {
            vm = vmOffloads == 0 ? new MemoryPort(1, Port.KIND_VNIC, dataPlane.pool(), 1024) :
                new MemoryPort(1, Port.KIND_VNIC, dataPlane.pool(), dataPlane.superPool(), 1024, vmOffloads);
            // Ephemeral port: the peers learn it below. Each peer's encapsulation decides the header.
            substrate = new UdpSubstrate(OVERLAY, dataPlane.pool(), dataPlane::state,
                new UdpSubstrate.Config(address, 0, 0, transport, 1, 1024).withSourcePorts(sourcePorts));
            substrate.start();
        }

        void configure(final String vmIp, final long vmMac, final String remoteIp, final long remoteMac, final List<PeerSpec> peers)
        {
            configure(new SubnetSpec("10.0.1.0/24", "10.0.1.1"), vmIp, vmMac, remoteIp, remoteMac, peers);
        }

        void configure(final SubnetSpec subnet, final String vmIp, final long vmMac, final String remoteIp, final long remoteMac,
            final List<PeerSpec> peers)
        {
            final NetworkSpec network = new NetworkSpec("blue", VNI, 1500, List.of(subnet),
                List.of(), List.of(new RemoteSpec(remoteIp, remoteMac, 2)));
            final PortSpec port = new PortSpec(1, "vm", "blue", vmMac, vmIp, null, CompiledPolicy.allowAll(), true);
            dataPlane.publish(ForwardingState.build(dataPlane.state(), List.of(network), List.of(port), peers));
            dataPlane.addPort(vm);
            dataPlane.overlayPort(substrate);
            dataPlane.start();
        }

        @Override
        public void close()
        {
            substrate.close();
            dataPlane.close();
        }
    }

    private static Frame udpFrame(final DataPlane dataPlane, final long dstMac, final long srcMac, final int src, final int dst,
        final int payload)
    {
        final Frame frame = dataPlane.pool().acquire();
        final FrameBuilder builder = new FrameBuilder(frame.segment(), frame.start());
        builder.ethernet(dstMac, srcMac).ipv4(src, dst).udp(40000, 5000).payload(payload, 7);
        frame.length(builder.build());
        return frame;
    }

    private static List<Frame> await(final MemoryPort port, final int count)
    {
        return Waits.await(port, count);
    }

    private static void awaitTrue(final BooleanSupplier condition, final String what) throws InterruptedException
    {
        Waits.awaitTrue(condition, () -> what);
    }

    /**
     * A burst of equal-sized datagrams to one peer and a shorter last one (the segments of a cut
     * super-frame): with the direct path they leave as UDP GSO sends when the kernel takes them, and
     * every datagram arrives intact and in order either way.
     */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("transports")
    void shouldSendBurstsOfEqualDatagramsWholeAndInOrder(
        final UdpSubstrate.Transport transport, final Encapsulation encapsulation) throws IOException
    {
        Assumptions.assumeTrue(UdpSubstrate.isAvailable(transport), transport + " is not available on this kernel");
        // UDP GSO is on by default: turn it off for the receiver only (its GRO receive stays on)
        final Device sender = new Device("127.0.0.1", transport);
        final Device receiver;
        System.setProperty(UdpSubstrate.GSO_PROPERTY, "false");
        try
        {
            receiver = new Device("127.0.0.2", transport);
        }
        finally
        {
            System.clearProperty(UdpSubstrate.GSO_PROPERTY);
        }
        try (Device a = sender;
             Device b = receiver)
        {
            a.configure("10.0.1.11", MAC_A, "10.0.1.21", MAC_B,
                List.of(new PeerSpec(2, "b", "127.0.0.2:" + b.substrate.genevePort(), encapsulation, List.of(VNI))));
            b.configure("10.0.1.21", MAC_B, "10.0.1.11", MAC_A,
                List.of(new PeerSpec(2, "a", "127.0.0.1:" + a.substrate.genevePort(), encapsulation, List.of(VNI))));
            assertTrue(transport == UdpSubstrate.Transport.NIO || a.substrate.udpGso() ||
                a.substrate.udpGsoFallbacks() == 1, "GSO on, or its absence counted");
            assertTrue(!b.substrate.udpGso(), "GSO turned off with the property");

            final int count = 100;
            final Frame[] burst = new Frame[count];
            for (int i = 0; i < count; i++)
            {
                // payload sizes: 1200 each, the last 300; the payload's first byte (its seed) numbers the datagram
                final Frame frame = a.dataPlane.pool().acquire();
                final FrameBuilder builder = new FrameBuilder(frame.segment(), frame.start());
                builder.ethernet(MAC_B, MAC_A).ipv4(IP_A, IP_B).udp(40000, 5000).payload(i == count - 1 ? 300 : 1200, i);
                frame.length(builder.build());
                burst[i] = frame.vni(VNI).peerDevice(2);
            }
            assertEquals(count, a.substrate.transmit(burst, count));
            final List<Frame> arrived = await(b.vm, count);
            assertEquals(count, arrived.size(), "datagrams A -> B; substrate drops at A " + substrateDrops(a.substrate) +
                ", at B " + substrateDrops(b.substrate) + ", data plane drops at B " + b.dataPlane.counters().dropsByReason());
            final FrameClassifier classifier = FrameClassifier.verifying();
            final FrameLayout layout = new FrameLayout();
            for (int i = 0; i < count; i++)
            {
                final Frame frame = arrived.get(i);
                classifier.classify(frame.segment(), frame.start(), frame.length(), layout);
                assertTrue(layout.isValid(), layout.dropReason().label());
                assertTrue(layout.hasFlag(FrameLayout.FLAG_L4_CHECKSUM_VERIFIED));
                assertEquals(i == count - 1 ? 14 + 20 + 8 + 300 : 14 + 20 + 8 + 1200, frame.length(), "length of datagram " + i);
                assertEquals((byte)i, frame.segment().get(java.lang.foreign.ValueLayout.JAVA_BYTE, frame.start() + 14 + 20 + 8),
                    "order");
                frame.release();
            }
            assertEquals(count, a.substrate.txDatagrams());
            assertEquals(count, b.substrate.rxDatagrams());
            assertTrue(transport == UdpSubstrate.Transport.NIO || b.substrate.udpGro(), "GRO is on by default on the direct path");
            if (a.substrate.udpGso())
            {
                assertTrue(a.substrate.udpGsoMessages() >= 2, "100 datagrams of 1200 bytes need at least 2 GSO sends: " +
                    a.substrate.udpGsoMessages());
                // loopback carries a GSO send whole: the receiver's UDP_GRO socket takes it as one message
                assertTrue(!b.substrate.udpGro() || b.substrate.udpGroMessages() >= 1,
                    "coalesced receives at B: " + b.substrate.udpGroMessages());
            }
            else
            {
                assertEquals(0, a.substrate.udpGsoMessages());
            }
        }
    }

    /**
     * The segments of a TCP flow cut at device A cross as one UDP GSO send and arrive at B as one UDP
     * GRO batch; B's overlay port decapsulates and merges them while reading (one copy each) into
     * super-frames for a VM port that takes them. The VM gets every payload byte in order, the
     * super-frames carry the flow's headers, and the counters still count every segment and datagram.
     */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("transports")
    void shouldMergeTheTcpSegmentsOfAGroBatchWhileReading(
        final UdpSubstrate.Transport transport, final Encapsulation encapsulation) throws Exception
    {
        Assumptions.assumeTrue(transport != UdpSubstrate.Transport.NIO, "the event-loop path reads no GRO batches");
        Assumptions.assumeTrue(UdpSubstrate.isAvailable(transport), transport + " is not available on this kernel");
        try (Device a = new Device("127.0.0.1", transport);
             Device b = new Device("127.0.0.2", transport, UdpSubstrate.Config.DEFAULT_SOURCE_PORTS,
                 Port.OFFLOAD_SUPER_FRAMES | Port.OFFLOAD_PARTIAL_CHECKSUM))
        {
            a.configure("10.0.1.11", MAC_A, "10.0.1.21", MAC_B,
                List.of(new PeerSpec(2, "b", "127.0.0.2:" + b.substrate.genevePort(), encapsulation, List.of(VNI))));
            b.configure("10.0.1.21", MAC_B, "10.0.1.11", MAC_A,
                List.of(new PeerSpec(2, "a", "127.0.0.1:" + a.substrate.genevePort(), encapsulation, List.of(VNI))));
            Assumptions.assumeTrue(a.substrate.udpGso() && b.substrate.udpGro(), "UDP GSO and GRO are not both available");

            final TcpSegments flow = new TcpSegments(40, 1200, 31);
            assertEquals(flow.count, a.substrate.transmit(flow.build(a.dataPlane.pool(), MAC_B, MAC_A, IP_A, IP_B, VNI, 2), flow.count));
            awaitTrue(() -> flow.collect(b.vm), "the payload at B; drops at B " + b.dataPlane.counters().dropsByReason());
            assertTrue(java.util.Arrays.equals(flow.payload, flow.received()), "every payload byte, in order");
            final int frames = flow.arrived.size();
            assertTrue(frames < flow.count, "merged into super-frames: " + frames + " frames for " + flow.count);
            assertTrue(flow.arrived.get(0).isSuperFrame(), "the first frame is a super-frame");
            assertEquals(flow.mss, flow.arrived.get(0).gsoSize());
            assertEquals((int)flow.firstSequence, flow.firstArrivedSequence());
            flow.release();
            final io.vsnic.dataplane.status.CounterSnapshot counters = b.dataPlane.counters();
            assertEquals(flow.count, counters.rxFrames(), "every segment counted as received");
            assertEquals(flow.count - frames, counters.segmentsCoalesced());
            assertEquals(flow.count, counters.portRxPackets(b.substrate.id()));
            assertEquals(flow.datagramBytes, counters.portRxBytes(b.substrate.id()), "the datagrams' bytes");
            assertEquals(flow.count, b.substrate.rxDatagrams());
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("transports")
    void shouldCarryVmTrafficBetweenDevicesInBothDirections(
        final UdpSubstrate.Transport transport, final Encapsulation encapsulation) throws IOException, InterruptedException
    {
        Assumptions.assumeTrue(UdpSubstrate.isAvailable(transport), transport + " is not available on this kernel");
        try (Device a = new Device("127.0.0.1", transport);
             Device b = new Device("127.0.0.2", transport))
        {
            a.configure("10.0.1.11", MAC_A, "10.0.1.21", MAC_B,
                List.of(new PeerSpec(2, "b", "127.0.0.2:" + b.substrate.genevePort(), encapsulation, List.of(VNI))));
            b.configure("10.0.1.21", MAC_B, "10.0.1.11", MAC_A,
                List.of(new PeerSpec(2, "a", "127.0.0.1:" + a.substrate.genevePort(), encapsulation, List.of(VNI))));

            final int frames = 200;
            int sent = 0;
            for (int i = 0; i < frames; i++)
            {
                final Frame frame = udpFrame(a.dataPlane, MAC_B, MAC_A, IP_A, IP_B, 100 + i);
                if (a.vm.inject(frame))
                {
                    sent++;
                }
                else
                {
                    frame.release();
                }
                if (i % 32 == 31)
                {
                    Thread.sleep(1);
                }
            }
            final List<Frame> arrived = await(b.vm, sent);
            assertEquals(sent, arrived.size(), "frames A -> B; drops at B " + b.dataPlane.counters().dropsByReason() +
                " substrate drops " + substrateDrops(b.substrate));
            final FrameClassifier classifier = FrameClassifier.verifying();
            final FrameLayout layout = new FrameLayout();
            for (final Frame frame : arrived)
            {
                classifier.classify(frame.segment(), frame.start(), frame.length(), layout);
                assertTrue(layout.isValid(), layout.dropReason().label());
                assertEquals(MAC_A, layout.sourceMac());
                assertTrue(layout.hasFlag(FrameLayout.FLAG_L4_CHECKSUM_VERIFIED));
                frame.release();
            }

            final Frame reply = udpFrame(b.dataPlane, MAC_A, MAC_B, IP_B, IP_A, 64);
            assertTrue(b.vm.inject(reply));
            final List<Frame> back = await(a.vm, 1);
            assertEquals(1, back.size(), "frame B -> A");
            back.get(0).release();
            assertEquals(sent, b.substrate.rxDatagrams());
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("transports")
    void shouldDropHostileDatagramsForTheirReason(
        final UdpSubstrate.Transport transport, final Encapsulation encapsulation) throws Exception
    {
        Assumptions.assumeTrue(UdpSubstrate.isAvailable(transport), transport + " is not available on this kernel");
        Assumptions.assumeTrue(transport == UdpSubstrate.Transport.EPOLL || encapsulation == Encapsulation.GENEVE,
            "one transport covers the VXLAN receive checks");
        try (Device b = new Device("127.0.0.2", transport);
             DatagramSocket hostile = new DatagramSocket(new InetSocketAddress("127.0.0.3", 0));
             DatagramSocket stranger = new DatagramSocket(new InetSocketAddress("127.0.0.4", 0)))
        {
            b.configure("10.0.1.21", MAC_B, "10.0.1.11", MAC_A,
                List.of(new PeerSpec(2, "a", "127.0.0.3:" + hostile.getLocalPort(), encapsulation, List.of(VNI))));
            final InetSocketAddress target = new InetSocketAddress("127.0.0.2", b.substrate.genevePort());
            // 1. valid: inner source is the remote VM located at peer 2 -> delivered
            send(hostile, target, encapsulated(encapsulation, VNI, MAC_A, IP_A, false));
            // 2. from an address that is no peer
            send(stranger, target, encapsulated(encapsulation, VNI, MAC_A, IP_A, false));
            // 3. VNI not allowed for that peer
            send(hostile, target, encapsulated(encapsulation, 200, MAC_A, IP_A, false));
            // 4. inner source MAC not located at that peer (spoofing a local VM's MAC)
            send(hostile, target, encapsulated(encapsulation, VNI, MAC_B, IP_A, false));
            // 5. truncated overlay header
            send(hostile, target, new byte[] {0, 0, 0});
            if (encapsulation == Encapsulation.GENEVE)
            {
                // 6. a critical Geneve option nobody here understands
                send(hostile, target, encapsulated(encapsulation, VNI, MAC_A, IP_A, true));
            }
            final List<Frame> arrived = await(b.vm, 1);
            assertEquals(1, arrived.size());
            arrived.get(0).release();
            awaitTrue(() -> b.substrate.drops(DropReason.UNKNOWN_PEER) == 1, "unknown_peer");
            awaitTrue(() -> b.dataPlane.counters().drops(DropReason.VNI_NOT_ALLOWED) == 1, "vni_not_allowed");
            awaitTrue(() -> b.dataPlane.counters().drops(DropReason.OVERLAY_SPOOFED_SOURCE) == 1, "overlay_spoofed_source");
            awaitTrue(() -> b.dataPlane.counters().drops(DropReason.TRUNCATED) == 1, "truncated");
            if (encapsulation == Encapsulation.GENEVE)
            {
                awaitTrue(() -> b.dataPlane.counters().drops(DropReason.GENEVE_CRITICAL_OPTION) == 1, "geneve_critical_option");
            }
            assertNotNull(b.vm);
            assertEquals(null, b.vm.poll(), "nothing else was delivered");
        }
    }

    static List<Arguments> sourcePortCases()
    {
        final List<Arguments> arguments = new ArrayList<>();
        for (final UdpSubstrate.Transport transport : UdpSubstrate.Transport.values())
        {
            arguments.add(Arguments.of(transport, UdpSubstrate.Config.DEFAULT_SOURCE_PORTS));
        }
        arguments.add(Arguments.of(UdpSubstrate.Transport.EPOLL, 3));
        arguments.add(Arguments.of(UdpSubstrate.Transport.EPOLL, 0));
        return arguments;
    }

    /**
     * The outer UDP source port is flow entropy (RFC 7348 §5, RFC 8926 §3.3): 64 inner flows, three
     * datagrams each, interleaved, to a plain socket standing in for the peer. Each flow leaves from
     * the source port of its lane ({@link InnerHeaders#flowHash} modulo the pool), always the same one,
     * in 49152..65535, and in order; the flows use every lane their hashes pick. With no pool
     * ({@code sourcePorts} 0) everything leaves from the Geneve port.
     */
    @ParameterizedTest(name = "{0} sourcePorts {1}")
    @MethodSource("sourcePortCases")
    void shouldPutTheInnerFlowIntoTheOuterSourcePort(final UdpSubstrate.Transport transport, final int sourcePorts) throws Exception
    {
        Assumptions.assumeTrue(UdpSubstrate.isAvailable(transport), transport + " is not available on this kernel");
        try (Device a = new Device("127.0.0.1", transport, sourcePorts);
             DatagramSocket peer = new DatagramSocket(new InetSocketAddress("127.0.0.2", 0)))
        {
            sendTo(a, peer);
            final List<Integer> pool = a.substrate.sourcePorts();
            assertEquals(sourcePorts, pool.size(), "source ports " + pool);
            assertEquals(sourcePorts, new java.util.HashSet<>(pool).size(), "distinct source ports " + pool);
            for (final int port : pool)
            {
                assertTrue(port >= 49152 && port <= 65535, "source port in 49152..65535: " + port);
            }
            final int flows = 64;
            final int rounds = 3;
            final java.util.Map<Integer, Integer> expected = new java.util.HashMap<>();
            for (int round = 0; round < rounds; round++)
            {
                final Frame[] burst = new Frame[flows];
                for (int flow = 0; flow < flows; flow++)
                {
                    final Frame frame = a.dataPlane.pool().acquire();
                    final FrameBuilder builder = new FrameBuilder(frame.segment(), frame.start());
                    builder.ethernet(MAC_B, MAC_A).ipv4(IP_A, IP_B).udp(30000 + flow, 5000).payload(64, round);
                    frame.length(builder.build());
                    if (round == 0)
                    {
                        final int hash = InnerHeaders.flowHash(frame.segment(), frame.start(), frame.length());
                        expected.put(30000 + flow, sourcePorts == 0 ? a.substrate.genevePort() : pool.get(hash % sourcePorts));
                    }
                    burst[flow] = frame.vni(VNI).peerDevice(2);
                }
                assertEquals(flows, a.substrate.transmit(burst, flows));
            }
            final java.util.Map<Integer, Integer> seen = new java.util.HashMap<>();
            final java.util.Map<Integer, Integer> lastRound = new java.util.HashMap<>();
            final byte[] buffer = new byte[2048];
            for (int i = 0; i < flows * rounds; i++)
            {
                final DatagramPacket datagram = new DatagramPacket(buffer, buffer.length);
                peer.receive(datagram);
                // Geneve (8 bytes, no options) + Ethernet + IPv4: the inner UDP source port numbers the flow
                final int innerPort = (buffer[8 + 14 + 20] & 0xFF) << 8 | buffer[8 + 14 + 20 + 1] & 0xFF;
                final int round = buffer[8 + 14 + 20 + 8] & 0xFF;
                assertEquals(expected.get(innerPort), datagram.getPort(), "outer source port of inner flow " + innerPort);
                assertEquals(datagram.getPort(), seen.merge(innerPort, datagram.getPort(), (was, now) -> was),
                    "one flow, one source port");
                final Integer before = lastRound.put(innerPort, round);
                assertTrue(before == null ? round == 0 : round == before + 1, "flow " + innerPort + " in order");
            }
            assertEquals(flows, seen.size());
            assertEquals(new java.util.HashSet<>(expected.values()), new java.util.HashSet<>(seen.values()),
                "the flows left from every source port their hashes pick");
            if (sourcePorts == UdpSubstrate.Config.DEFAULT_SOURCE_PORTS)
            {
                assertTrue(seen.values().stream().distinct().count() >= 12, "64 flows spread over the 16 source ports: " + seen.values());
            }
        }
    }

    /**
     * An enclave created after the device started may want a port of the source port pool: the pool frees it
     * by moving that lane's socket to another port. The port can then be bound, the lane's flows leave from
     * the new port, every other lane keeps its own, and nothing is lost on the way.
     */
    @ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.EnumSource(UdpSubstrate.Transport.class)
    void shouldMoveALaneOffAPortWhenThePortIsReleased(final UdpSubstrate.Transport transport) throws Exception
    {
        Assumptions.assumeTrue(UdpSubstrate.isAvailable(transport), transport + " is not available on this kernel");
        try (Device a = new Device("127.0.0.1", transport, 4);
             DatagramSocket peer = new DatagramSocket(new InetSocketAddress("127.0.0.2", 0)))
        {
            sendTo(a, peer);
            final List<Integer> before = a.substrate.sourcePorts();
            final java.util.Map<Integer, Integer> first = outerPorts(a, peer, 32);
            final int port = before.get(1);
            final int[] quiesced = new int[1];
            assertTrue(a.substrate.releaseSourcePort(port, () -> {
                quiesced[0]++;
                a.dataPlane.quiesce();
            }));
            assertEquals(1, quiesced[0], "the senders are quiesced once, before the old socket closes");
            final List<Integer> after = a.substrate.sourcePorts();
            assertEquals(4, after.size(), "the pool keeps its size: " + after);
            assertFalse(after.contains(port), "the released port left the pool: " + after);
            assertTrue(after.get(1) >= 49152 && after.get(1) <= 65535 && !before.contains(after.get(1)), "lane 1 moved to a new port: " + after);
            assertEquals(List.of(before.get(0), before.get(2), before.get(3)), List.of(after.get(0), after.get(2), after.get(3)),
                "the other lanes keep their ports");
            assertTrue(a.substrate.avoidedSourcePorts().contains(port), "and the pool stays off it");
            try (DatagramSocket enclave = new DatagramSocket(new InetSocketAddress("127.0.0.1", port)))
            {
                assertEquals(port, enclave.getLocalPort(), "the released port can be bound");
            }
            final java.util.Map<Integer, Integer> second = outerPorts(a, peer, 32);
            assertEquals(first.keySet(), second.keySet(), "every flow still arrives");
            for (final java.util.Map.Entry<Integer, Integer> flow : first.entrySet())
            {
                final int expected = flow.getValue() == port ? after.get(1) : flow.getValue();
                assertEquals(expected, second.get(flow.getKey()), "outer source port of inner flow " + flow.getKey());
            }
            assertTrue(first.containsValue(port), "some flow used the moved lane: " + first);
            assertFalse(a.substrate.releaseSourcePort(port, a.dataPlane::quiesce), "a port the pool does not hold: nothing to do");
            assertEquals(after, a.substrate.sourcePorts());
        }
    }

    /** Makes {@code peer}, a plain socket, device 2 of {@code a}'s network (plain Geneve), its VM 10.0.1.21. */
    private static void sendTo(final Device a, final DatagramSocket peer) throws IOException
    {
        peer.setSoTimeout(10_000);
        peer.setReceiveBufferSize(1 << 20);
        a.configure("10.0.1.11", MAC_A, "10.0.1.21", MAC_B,
            List.of(new PeerSpec(2, "b", "127.0.0.2:" + peer.getLocalPort(), Encapsulation.GENEVE, List.of(VNI))));
    }

    /** Sends one datagram of each of {@code flows} inner UDP flows; returns each flow's outer source port. */
    private static java.util.Map<Integer, Integer> outerPorts(final Device a, final DatagramSocket peer, final int flows) throws IOException
    {
        final Frame[] burst = new Frame[flows];
        for (int flow = 0; flow < flows; flow++)
        {
            final Frame frame = a.dataPlane.pool().acquire();
            final FrameBuilder builder = new FrameBuilder(frame.segment(), frame.start());
            builder.ethernet(MAC_B, MAC_A).ipv4(IP_A, IP_B).udp(30000 + flow, 5000).payload(64, 0);
            frame.length(builder.build());
            burst[flow] = frame.vni(VNI).peerDevice(2);
        }
        assertEquals(flows, a.substrate.transmit(burst, flows));
        final java.util.Map<Integer, Integer> ports = new java.util.HashMap<>();
        final byte[] buffer = new byte[2048];
        for (int i = 0; i < flows; i++)
        {
            final DatagramPacket datagram = new DatagramPacket(buffer, buffer.length);
            peer.receive(datagram);
            ports.put((buffer[8 + 14 + 20] & 0xFF) << 8 | buffer[8 + 14 + 20 + 1] & 0xFF, datagram.getPort());
        }
        return ports;
    }

    static List<Arguments> remoteChecksumCases()
    {
        final List<Arguments> arguments = new ArrayList<>();
        for (final UdpSubstrate.Transport transport : UdpSubstrate.Transport.values())
        {
            arguments.add(Arguments.of(transport, true));
            arguments.add(Arguments.of(transport, false));
        }
        return arguments;
    }

    private static final SubnetSpec OFFLOAD_SUBNET = new SubnetSpec("10.60.1.0/24", "10.60.1.1");
    private static final long OFFLOAD_MAC_SRC = java.nio.ByteBuffer.allocate(8).put(new byte[2]).put(OffloadFrames.MAC_SRC).getLong(0);
    private static final long OFFLOAD_MAC_DST = java.nio.ByteBuffer.allocate(8).put(new byte[2]).put(OffloadFrames.MAC_DST).getLong(0);
    private static final int SEGMENT = 1200;

    /** A device whose VM port takes super-frames and partial checksums (a TAP with offloads), or neither. */
    private static Device offloadingDevice(final String address, final UdpSubstrate.Transport transport, final boolean vmOffloads)
        throws IOException
    {
        return new Device(address, transport, UdpSubstrate.Config.DEFAULT_SOURCE_PORTS,
            vmOffloads ? Port.OFFLOAD_SUPER_FRAMES | Port.OFFLOAD_PARTIAL_CHECKSUM : 0);
    }

    /** A TCP super-frame from OffloadFrames' 10.60.1.10 to .20, its checksum partial, as a TAP with TSO hands it over. */
    private static Frame offloadedSuperFrame(final DataPlane dataPlane, final byte[] payload)
    {
        final OffloadFrames.Spec spec = new OffloadFrames.Spec();
        spec.payload = payload;
        spec.partialChecksum = true;
        final Frame frame = OffloadFrames.load(dataPlane.superPool(), OffloadFrames.build(spec));
        frame.gso(VirtioNetHeader.GSO_TCPV4, SEGMENT).checksumPartial(34, TcpFlyweight.CHECKSUM_OFFSET);
        return frame;
    }

    /** The TCP payload of an untagged IPv4 frame. */
    private static byte[] tcpPayload(final byte[] frame)
    {
        final int l4 = 34;
        final int ipEnd = 14 + ((frame[16] & 0xFF) << 8 | frame[17] & 0xFF);
        return java.util.Arrays.copyOfRange(frame, l4 + ((frame[l4 + 12] & 0xF0) >>> 4) * 4, ipEnd);
    }

    /**
     * Remote checksum offload on the wire: a super-frame whose checksum the VM left partial is cut with
     * each segment's TCP checksum left partial, and each datagram carries the remote checksum option (class
     * 0xFF56, type 0x81, critical, the C flag set) naming where the checksum starts and where it goes; without
     * remote checksum towards the peer every segment leaves with its checksum finished and no option.
     */
    @ParameterizedTest(name = "{0} remoteChecksum {1}")
    @MethodSource("remoteChecksumCases")
    void shouldSendTheSegmentsOfASuperFrameWithTheirChecksumsPartialOnlyToAPeerWithRemoteChecksum(
        final UdpSubstrate.Transport transport, final boolean remoteChecksum) throws Exception
    {
        Assumptions.assumeTrue(UdpSubstrate.isAvailable(transport), transport + " is not available on this kernel");
        try (Device a = offloadingDevice("127.0.0.1", transport, true);
             DatagramSocket peer = new DatagramSocket(new InetSocketAddress("127.0.0.2", 0)))
        {
            peer.setSoTimeout((int)java.util.concurrent.TimeUnit.SECONDS.toMillis(Waits.HANG_GUARD_SECONDS));
            a.configure(OFFLOAD_SUBNET, "10.60.1.10", OFFLOAD_MAC_SRC, "10.60.1.20", OFFLOAD_MAC_DST,
                List.of(new PeerSpec(2, "b", "127.0.0.2:" + peer.getLocalPort(), Encapsulation.GENEVE, List.of(VNI))
                    .withRemoteChecksum(remoteChecksum)));
            final byte[] payload = OffloadFrames.payload(5 * SEGMENT + 300, 17);
            assertTrue(a.vm.inject(offloadedSuperFrame(a.dataPlane, payload)));

            final java.io.ByteArrayOutputStream received = new java.io.ByteArrayOutputStream();
            final byte[] buffer = new byte[2048];
            for (int k = 0; k < 6; k++)
            {
                final DatagramPacket datagram = new DatagramPacket(buffer, buffer.length);
                peer.receive(datagram);
                final MemorySegment bytes = MemorySegment.ofArray(java.util.Arrays.copyOf(buffer, datagram.getLength()));
                final GeneveFlyweight geneve = new GeneveFlyweight();
                geneve.wrap(bytes, 0);
                final byte[] inner = java.util.Arrays.copyOfRange(buffer, geneve.headerLength(), datagram.getLength());
                if (remoteChecksum)
                {
                    assertEquals(16, geneve.headerLength(), "segment " + k + ": the option is there");
                    assertTrue(geneve.hasCriticalOptions());
                    assertEquals(OverlayHeaders.OPTION_CLASS, geneve.optionClass(0));
                    assertEquals(OverlayHeaders.OPTION_REMOTE_CHECKSUM, geneve.optionType(0));
                    assertEquals(34 << 16 | TcpFlyweight.CHECKSUM_OFFSET, geneve.optionData32(0));
                    assertFalse(OffloadFrames.checksumsValid(inner), "segment " + k + ": the checksum is left partial");
                    final Frame check = OffloadFrames.load(a.dataPlane.pool(), inner);
                    check.checksumPartial(34, TcpFlyweight.CHECKSUM_OFFSET);
                    assertTrue(io.vsnic.dataplane.offload.ChecksumOffload.complete(check));
                    assertTrue(OffloadFrames.checksumsValid(check.toByteArray()), "segment " + k + ": it verifies once finished");
                    check.release();
                }
                else
                {
                    assertEquals(8, geneve.headerLength(), "segment " + k + ": no option");
                    assertTrue(OffloadFrames.checksumsValid(inner), "segment " + k + ": the checksum is finished");
                }
                received.write(tcpPayload(inner));
            }
            assertTrue(java.util.Arrays.equals(payload, received.toByteArray()), "every payload byte, in order");
            assertEquals(1, a.dataPlane.counters().superFramesSegmented(), "the worker cut it");
            assertEquals(6, a.dataPlane.counters().segmentsBuilt());
            // the direct path sends the segments chained (payload from the super-frame in place) where nothing
            // needs them whole; a checksum to finish flattens them first
            assertEquals(transport != UdpSubstrate.Transport.NIO, a.substrate.chainedSegments());
            Waits.awaitTrue(() -> a.substrate.txDatagrams() == 6, () -> "six datagrams counted as sent: " + a.substrate.txDatagrams());
            assertEquals(remoteChecksum && a.substrate.chainedSegments() ? 6 : 0, a.substrate.chainedDatagrams());
        }
    }

    /**
     * Remote checksum offload between two devices: what B receives with the option is marked partial and
     * handed on unfinished to a VM port that takes partial checksums (super-frames merged from it too),
     * finished to one that does not; either way every payload byte arrives and every checksum verifies
     * once finished.
     */
    @ParameterizedTest(name = "{0} B's VM takes offloads {1}")
    @MethodSource("remoteChecksumCases")
    void shouldHandOnWhatArrivesWithThePartialChecksumOptionFinishedOrNotAsTheVmTakesIt(
        final UdpSubstrate.Transport transport, final boolean vmOffloads) throws Exception
    {
        Assumptions.assumeTrue(UdpSubstrate.isAvailable(transport), transport + " is not available on this kernel");
        try (Device a = offloadingDevice("127.0.0.1", transport, true);
             Device b = offloadingDevice("127.0.0.2", transport, vmOffloads))
        {
            a.configure(OFFLOAD_SUBNET, "10.60.1.10", OFFLOAD_MAC_SRC, "10.60.1.20", OFFLOAD_MAC_DST,
                List.of(new PeerSpec(2, "b", "127.0.0.2:" + b.substrate.genevePort(), Encapsulation.GENEVE, List.of(VNI))
                    .withRemoteChecksum(true)));
            b.configure(OFFLOAD_SUBNET, "10.60.1.20", OFFLOAD_MAC_DST, "10.60.1.10", OFFLOAD_MAC_SRC,
                List.of(new PeerSpec(2, "a", "127.0.0.1:" + a.substrate.genevePort(), Encapsulation.GENEVE, List.of(VNI))
                    .withRemoteChecksum(true)));
            final byte[] payload = OffloadFrames.payload(7 * SEGMENT + 1, 23);
            assertTrue(a.vm.inject(offloadedSuperFrame(a.dataPlane, payload)));

            final java.io.ByteArrayOutputStream received = new java.io.ByteArrayOutputStream();
            final List<Boolean> partial = new ArrayList<>();
            awaitTrue(() ->
            {
                for (Frame frame = b.vm.poll(); frame != null; frame = b.vm.poll())
                {
                    partial.add(frame.checksumPartial());
                    assertTrue(io.vsnic.dataplane.offload.ChecksumOffload.complete(frame));
                    final byte[] bytes = frame.toByteArray();
                    assertTrue(OffloadFrames.checksumsValid(bytes), "frame " + partial.size() + " verifies once finished");
                    received.writeBytes(tcpPayload(bytes));
                    frame.release();
                }
                return received.size() >= payload.length;
            }, "the payload at B; drops at B " + b.dataPlane.counters().dropsByReason());
            assertTrue(java.util.Arrays.equals(payload, received.toByteArray()), "every payload byte, in order");
            assertTrue(vmOffloads ? partial.stream().allMatch(p -> p) : partial.stream().noneMatch(p -> p),
                "handed on partial exactly when the VM takes it: " + partial);
        }
    }

    /**
     * {@code substrate.interface}: every socket bound to the loopback interface carries traffic as
     * before; an interface that does not exist stops the start with a message naming it; NIO, which
     * cannot bind to a device, is refused in the configuration.
     */
    @org.junit.jupiter.api.Test
    void shouldBindEverySocketToTheConfiguredInterface() throws Exception
    {
        Assumptions.assumeTrue(UdpSubstrate.isAvailable(UdpSubstrate.Transport.EPOLL), "epoll is not available here");
        try (DataPlane dataPlane = new DataPlane(new DataPlaneConfig(1, 1024, 4096, ConnectionTimeouts.DEFAULTS));
             DatagramSocket peer = new DatagramSocket(new InetSocketAddress("127.0.0.2", 0)))
        {
            final UdpSubstrate bound = new UdpSubstrate(OVERLAY, dataPlane.pool(), dataPlane::state,
                new UdpSubstrate.Config("127.0.0.1", 0, 0, UdpSubstrate.Transport.EPOLL, 2, 1024).withInterface("lo"));
            try
            {
                bound.start();
                dataPlane.publish(ForwardingState.build(dataPlane.state(), List.of(new NetworkSpec("blue", VNI, 1500,
                    List.of(new SubnetSpec("10.0.1.0/24", "10.0.1.1")), List.of(), List.of())), List.of(),
                    List.of(new PeerSpec(2, "b", "127.0.0.2:" + peer.getLocalPort(), Encapsulation.GENEVE, List.of(VNI)))));
                final Frame frame = udpFrame(dataPlane, MAC_B, MAC_A, IP_A, IP_B, 100);
                frame.vni(VNI).peerDevice(2);
                assertEquals(1, bound.transmit(new Frame[] {frame}, 1));
                peer.setSoTimeout(10_000);
                final DatagramPacket datagram = new DatagramPacket(new byte[2048], 2048);
                peer.receive(datagram);
                assertEquals(8 + 14 + 20 + 8 + 100, datagram.getLength(), "the Geneve datagram left through lo");
            }
            finally
            {
                bound.close();
            }
            final UdpSubstrate nowhere = new UdpSubstrate(OVERLAY, dataPlane.pool(), dataPlane::state,
                new UdpSubstrate.Config("127.0.0.1", 0, 0, UdpSubstrate.Transport.EPOLL, 1, 1024).withInterface("vsnicnone0"));
            final IOException error = org.junit.jupiter.api.Assertions.assertThrows(IOException.class, nowhere::start);
            assertTrue(error.getMessage().contains("vsnicnone0") && error.getMessage().contains("no such interface"), error.getMessage());
            final IllegalArgumentException nio = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> new UdpSubstrate.Config("127.0.0.1", 0, 0, UdpSubstrate.Transport.NIO, 1, 1024).withInterface("lo"));
            assertTrue(nio.getMessage().contains("substrate.interface"), nio.getMessage());
        }
    }

    @org.junit.jupiter.api.Test
    void shouldRefuseToStartOnABindItCannotGet() throws IOException
    {
        try (DatagramSocket taken = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0));
             DataPlane dataPlane = new DataPlane(new DataPlaneConfig(1, 1024, 4096, ConnectionTimeouts.DEFAULTS)))
        {
            final UdpSubstrate substrate = new UdpSubstrate(OVERLAY, dataPlane.pool(), dataPlane::state,
                new UdpSubstrate.Config("127.0.0.1", taken.getLocalPort(), 0, UdpSubstrate.Transport.NIO, 1, 1024));
            final IOException error = org.junit.jupiter.api.Assertions.assertThrows(IOException.class, substrate::start);
            assertTrue(error.getMessage().contains("127.0.0.1:" + taken.getLocalPort()), error.getMessage());
        }
    }

    private static Object substrateDrops(final UdpSubstrate substrate)
    {
        final StringBuilder text = new StringBuilder();
        for (final DropReason reason : DropReason.values())
        {
            if (substrate.drops(reason) != 0)
            {
                text.append(reason.label()).append('=').append(substrate.drops(reason)).append(' ');
            }
        }
        return text;
    }

    private static void send(final DatagramSocket socket, final InetSocketAddress target, final byte[] payload) throws IOException
    {
        socket.send(new DatagramPacket(payload, payload.length, target));
    }

    private static byte[] encapsulated(
        final Encapsulation encapsulation, final int vni, final long srcMac, final int srcIp, final boolean criticalOption)
    {
        final MemorySegment segment = MemorySegment.ofArray(new byte[2048]);
        final FrameBuilder builder = new FrameBuilder(segment, 0);
        // Build a whole outer frame and keep only the UDP payload: the overlay header and the inner frame.
        builder.ethernet(0x02_00_00_00_00_99L, 0x02_00_00_00_00_98L).ipv4(1, 2).udp(1, encapsulation == Encapsulation.GENEVE ? 6081 : 4789);
        if (encapsulation == Encapsulation.GENEVE)
        {
            if (criticalOption)
            {
                builder.geneve(vni, new int[][] {{0x0105, 0x80 | 7}}, new byte[][] {{0, 0, 0, 1}});
            }
            else
            {
                builder.geneve(vni);
            }
        }
        else
        {
            builder.vxlan(vni);
        }
        builder.ethernet(MAC_B, srcMac).ipv4(srcIp, IP_B).udp(7, 8).payload(16, 1);
        final int length = builder.build();
        final int payloadOffset = 14 + 20 + 8;
        final byte[] bytes = new byte[length - payloadOffset];
        MemorySegment.copy(segment, java.lang.foreign.ValueLayout.JAVA_BYTE, payloadOffset, bytes, 0, bytes.length);
        if (criticalOption)
        {
            assertTrue((bytes[1] & GeneveFlyweight.FLAG_CRITICAL) != 0);
        }
        return bytes;
    }
}
