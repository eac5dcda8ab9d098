package io.vsnic.dataplane.substrate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import io.vsnic.crypto.DeviceKeys;
import io.vsnic.crypto.wireguard.Rejection;
import io.vsnic.crypto.wireguard.WireguardDevice;
import io.vsnic.crypto.wireguard.WireguardMessages;
import io.vsnic.crypto.wireguard.WireguardTimers;
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
import io.vsnic.dataplane.protocol.FrameClassifier;
import io.vsnic.dataplane.protocol.FrameLayout;
import io.vsnic.dataplane.protocol.Ipv4Flyweight;
import io.vsnic.dataplane.security.CompiledPolicy;
import io.vsnic.dataplane.security.ConnectionTimeouts;
import io.vsnic.dataplane.status.DropReason;
import io.vsnic.dataplane.table.ForwardingState;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Two devices in one process with an encrypted substrate on loopback: every overlay packet between
 * them is a WireGuard transport message. A relay socket stands between them (each device's
 * configured endpoint for the other) and records every datagram, so the tests can check what is on
 * the wire and inject tampered, replayed and foreign messages.
 */
class WireguardSubstrateTest
{
    private static final int VNI = 100;
    private static final long MAC_A = 0x02_00_00_00_0a_01L;
    private static final long MAC_B = 0x02_00_00_00_0b_01L;
    private static final int IP_A = Ipv4Flyweight.parse("10.0.1.11");
    private static final int IP_B = Ipv4Flyweight.parse("10.0.1.21");
    private static final int OVERLAY = 4000;
    private static final byte[] MARKER = "vsnic-plaintext-marker:".getBytes(StandardCharsets.US_ASCII);
    private static final SecureRandom RANDOM = new SecureRandom();

    /** One device: a data plane, a VM port and a substrate with WireGuard on. */
    private static final class Device implements AutoCloseable
    {
        final DataPlane dataPlane;
        final DeviceKeys keys = DeviceKeys.generate(RANDOM);
        final String inner;
        final MemoryPort vm;
        final UdpSubstrate substrate;

        Device(final String address, final String inner, final UdpSubstrate.Transport transport, final WireguardTimers timers)
            throws IOException
        {
            this(address, inner, transport, timers, 1);
        }

        /** With {@code workers} workers and as many receive queues. */
        Device(final String address, final String inner, final UdpSubstrate.Transport transport, final WireguardTimers timers,
            final int workers) throws IOException
        {
            this(address, inner, transport, timers, workers, 0);
        }

        /** @param vmOffloads what the VM port takes ({@link Port#OFFLOAD_SUPER_FRAMES}, ...). */
        Device(final String address, final String inner, final UdpSubstrate.Transport transport, final WireguardTimers timers,
            final int workers, final int vmOffloads) throws IOException
        {
            this.inner = inner;
            dataPlane = new DataPlane(new DataPlaneConfig(workers, 2048, 4096, ConnectionTimeouts.DEFAULTS));
            vm = vmOffloads == 0 ? new MemoryPort(1, Port.KIND_VNIC, dataPlane.pool(), 4096) :
                new MemoryPort(1, Port.KIND_VNIC, dataPlane.pool(), dataPlane.superPool(), 4096, vmOffloads);
            final WireguardConfig wg = WireguardConfig.of(keys.privateKey(), inner).withListenPort(0).withTimers(timers);
            substrate = new UdpSubstrate(OVERLAY, dataPlane.pool(), dataPlane::state,
                new UdpSubstrate.Config(address, 0, 0, transport, workers, 2048).withWireguard(wg));
            substrate.start();
        }

        void configure(final String vmIp, final long vmMac, final String remoteIp, final long remoteMac, final List<PeerSpec> peers)
        {
            final NetworkSpec network = new NetworkSpec("blue", VNI, 1500, List.of(new SubnetSpec("10.0.1.0/24", "10.0.1.1")),
                List.of(), List.of(new RemoteSpec(remoteIp, remoteMac, 2)));
            final PortSpec port = new PortSpec(1, "vm", "blue", vmMac, vmIp, null, CompiledPolicy.allowAll(), true);
            dataPlane.publish(ForwardingState.build(dataPlane.state(), List.of(network), List.of(port), peers));
            dataPlane.addPort(vm);
            dataPlane.overlayPort(substrate);
            dataPlane.start();
        }

        PeerSpec asPeer(final String endpoint, final Encapsulation encapsulation)
        {
            return PeerSpec.wireguard(2, "peer", endpoint, encapsulation, List.of(VNI), keys.publicKeyBase64(), inner);
        }

        @Override
        public void close()
        {
            substrate.close();
            dataPlane.close();
        }
    }

    private record Pair(Device a, Device b, RecordingRelay relay) implements AutoCloseable
    {
        @Override
        public void close()
        {
            relay.close();
            a.close();
            b.close();
        }
    }

    private static Pair pair(final UdpSubstrate.Transport transport, final Encapsulation encapsulation, final WireguardTimers timers)
        throws IOException
    {
        return pair(transport, encapsulation, timers, "10.99.0.1", "10.99.0.2");
    }

    private static Pair pair(final UdpSubstrate.Transport transport, final Encapsulation encapsulation, final WireguardTimers timers,
        final String innerA, final String innerB) throws IOException
    {
        return pair(transport, encapsulation, timers, innerA, innerB, 1);
    }

    private static Pair pair(final UdpSubstrate.Transport transport, final Encapsulation encapsulation, final WireguardTimers timers,
        final String innerA, final String innerB, final int workers) throws IOException
    {
        final Device a = new Device("127.0.0.1", innerA, transport, timers, workers);
        final Device b = new Device("127.0.0.2", innerB, transport, timers, workers);
        final RecordingRelay relay = new RecordingRelay("127.0.0.3", new InetSocketAddress("127.0.0.1", a.substrate.wireguardPort()),
            new InetSocketAddress("127.0.0.2", b.substrate.wireguardPort()));
        a.configure("10.0.1.11", MAC_A, "10.0.1.21", MAC_B, List.of(b.asPeer(relay.endpoint(), encapsulation)));
        b.configure("10.0.1.21", MAC_B, "10.0.1.11", MAC_A, List.of(a.asPeer(relay.endpoint(), encapsulation)));
        return new Pair(a, b, relay);
    }

    static List<Arguments> transports()
    {
        return List.of(Arguments.of(UdpSubstrate.Transport.EPOLL, Encapsulation.GENEVE),
            Arguments.of(UdpSubstrate.Transport.IO_URING, Encapsulation.VXLAN),
            Arguments.of(UdpSubstrate.Transport.NIO, Encapsulation.VXLAN));
    }

    private static Frame udpFrame(final DataPlane dataPlane, final long dstMac, final long srcMac, final int src, final int dst,
        final int sequence, final int size)
    {
        final Frame frame = dataPlane.pool().acquire();
        final byte[] payload = new byte[size];
        System.arraycopy(MARKER, 0, payload, 0, MARKER.length);
        ByteBuffer.wrap(payload).putInt(MARKER.length, sequence);
        for (int i = MARKER.length + 4; i < size; i++)
        {
            payload[i] = (byte)(i * 31 + sequence);
        }
        final FrameBuilder builder = new FrameBuilder(frame.segment(), frame.start());
        builder.ethernet(dstMac, srcMac).ipv4(src, dst).udp(40000, 5000).payload(payload);
        frame.length(builder.build());
        return frame;
    }

    private static int sequenceOf(final Frame frame)
    {
        final int payload = frame.start() + 14 + 20 + 8;
        final byte[] marker = new byte[MARKER.length];
        MemorySegment.copy(frame.segment(), ValueLayout.JAVA_BYTE, payload, marker, 0, marker.length);
        assertTrue(Arrays.equals(MARKER, marker), "payload arrived intact");
        return frame.segment().get(ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN), payload + MARKER.length);
    }

    private static List<Frame> await(final MemoryPort port, final int count)
    {
        return Waits.await(port, count);
    }

    private static void awaitTrue(final BooleanSupplier condition, final String what) throws InterruptedException
    {
        awaitTrue(condition, what, null);
    }

    private static void awaitTrue(final BooleanSupplier condition, final String what, final UdpSubstrate substrate)
        throws InterruptedException
    {
        Waits.awaitTrue(condition, () -> what + (substrate == null ? "" : "; drops " + substrateDrops(substrate)));
    }

    private static void sendAndExpect(final Device from, final Device to, final long dstMac, final long srcMac, final int src,
        final int dst, final int frames)
    {
        for (int i = 0; i < frames; i++)
        {
            final Frame frame = udpFrame(from.dataPlane, dstMac, srcMac, src, dst, i, 100 + i);
            assertTrue(from.vm.inject(frame));
        }
        final List<Frame> arrived = await(to.vm, frames);
        assertEquals(frames, arrived.size(), "frames arrived; drops at receiver " + to.dataPlane.counters().dropsByReason() +
            " substrate drops " + substrateDrops(to.substrate) + "; sender substrate drops " + substrateDrops(from.substrate));
        final FrameClassifier classifier = FrameClassifier.verifying();
        final FrameLayout layout = new FrameLayout();
        for (int i = 0; i < frames; i++)
        {
            final Frame frame = arrived.get(i);
            classifier.classify(frame.segment(), frame.start(), frame.length(), layout);
            assertTrue(layout.isValid(), layout.dropReason().label());
            assertTrue(layout.hasFlag(FrameLayout.FLAG_L4_CHECKSUM_VERIFIED));
            assertEquals(i, sequenceOf(frame), "in order");
            frame.release();
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("transports")
    void shouldCarryVmTrafficBothWaysInsideWireguardWhicheverSideStarts(
        final UdpSubstrate.Transport transport, final Encapsulation encapsulation) throws Exception
    {
        Assumptions.assumeTrue(UdpSubstrate.isAvailable(transport), transport + " is not available on this kernel");
        try (Pair p = pair(transport, encapsulation, WireguardTimers.DEFAULT))
        {
            // A has no session: its frames are staged, A initiates, the frames follow in order
            sendAndExpect(p.a(), p.b(), MAC_B, MAC_A, IP_A, IP_B, 100);
            sendAndExpect(p.b(), p.a(), MAC_A, MAC_B, IP_B, IP_A, 50);
            assertEquals(WireguardMessages.TYPE_INITIATION, type(p.relay().fromA.get(0)), "A initiated");
            assertEquals(1, count(p.relay().all(), WireguardMessages.TYPE_INITIATION), () -> trace(p.relay()));
            assertOnlyWireguardOnTheWire(p.relay().all());
        }
        try (Pair p = pair(transport, encapsulation, WireguardTimers.DEFAULT))
        {
            sendAndExpect(p.b(), p.a(), MAC_A, MAC_B, IP_B, IP_A, 30);
            assertEquals(WireguardMessages.TYPE_INITIATION, type(p.relay().fromB.get(0)), "B initiated");
            sendAndExpect(p.a(), p.b(), MAC_B, MAC_A, IP_A, IP_B, 30);
            assertEquals(1, count(p.relay().all(), WireguardMessages.TYPE_INITIATION));
            assertOnlyWireguardOnTheWire(p.relay().all());
            assertEquals(1, p.a().substrate.wireguardPeers().size());
            assertTrue(p.a().substrate.wireguardPeers().get(0).sessionUp());
        }
    }

    /**
     * The segments of a TCP flow sealed at A arrive at B's WireGuard socket; B opens each message in
     * place in its receive buffer and merges the overlay packets' segments while reading (their TCP
     * checksums not checked again: the tag covered them) into super-frames for a VM port that takes
     * them. Every payload byte arrives in order, and every segment is counted.
     */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("transports")
    void shouldMergeOpenedSegmentsWhileReading(final UdpSubstrate.Transport transport, final Encapsulation encapsulation)
        throws Exception
    {
        Assumptions.assumeTrue(transport != UdpSubstrate.Transport.NIO, "the event-loop path opens messages into frames");
        Assumptions.assumeTrue(UdpSubstrate.isAvailable(transport), transport + " is not available on this kernel");
        try (Device a = new Device("127.0.0.1", "10.99.0.1", transport, WireguardTimers.DEFAULT);
             Device b = new Device("127.0.0.2", "10.99.0.2", transport, WireguardTimers.DEFAULT, 1,
                 Port.OFFLOAD_SUPER_FRAMES | Port.OFFLOAD_PARTIAL_CHECKSUM))
        {
            a.configure("10.0.1.11", MAC_A, "10.0.1.21", MAC_B,
                List.of(b.asPeer("127.0.0.2:" + b.substrate.wireguardPort(), encapsulation)));
            b.configure("10.0.1.21", MAC_B, "10.0.1.11", MAC_A,
                List.of(a.asPeer("127.0.0.1:" + a.substrate.wireguardPort(), encapsulation)));
            sendAndExpect(a, b, MAC_B, MAC_A, IP_A, IP_B, 1);   // the handshake first
            final long rxBefore = b.dataPlane.counters().rxFrames();

            final TcpSegments flow = new TcpSegments(40, 1200, 37);
            assertEquals(flow.count, a.substrate.transmit(flow.build(a.dataPlane.pool(), MAC_B, MAC_A, IP_A, IP_B, VNI, 2), flow.count));
            awaitTrue(() -> flow.collect(b.vm), "the payload at B; drops at B " + b.dataPlane.counters().dropsByReason(), b.substrate);
            assertTrue(java.util.Arrays.equals(flow.payload, flow.received()), "every payload byte, in order");
            final int frames = flow.arrived.size();
            assertTrue(frames < flow.count, "merged into super-frames: " + frames + " frames for " + flow.count);
            assertEquals(flow.mss, flow.arrived.get(0).gsoSize());
            assertEquals((int)flow.firstSequence, flow.firstArrivedSequence());
            flow.release();
            final io.vsnic.dataplane.status.CounterSnapshot counters = b.dataPlane.counters();
            assertEquals(flow.count, counters.rxFrames() - rxBefore, "every segment counted as received");
            assertEquals(flow.count - frames, counters.segmentsCoalesced());
        }
    }

    /**
     * Two workers and two receive queues per device: the WireGuard socket has one reader (queue 0, so
     * one thread touches the sessions' replay windows) and traffic flows both ways, in order.
     */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("transports")
    void shouldReadTheWireguardSocketFromOneQueueWithTwoWorkers(final UdpSubstrate.Transport transport,
        final Encapsulation encapsulation) throws Exception
    {
        Assumptions.assumeTrue(UdpSubstrate.isAvailable(transport), transport + " is not available on this kernel");
        Assumptions.assumeTrue(transport != UdpSubstrate.Transport.NIO, "receive queues are a direct-path feature");
        try (Pair p = pair(transport, encapsulation, WireguardTimers.DEFAULT, "10.99.0.1", "10.99.0.2", 2))
        {
            assertEquals(2, p.a().substrate.receiveQueueCount());
            sendAndExpect(p.a(), p.b(), MAC_B, MAC_A, IP_A, IP_B, 50);     // staged (at most 128) while A initiates
            sendAndExpect(p.a(), p.b(), MAC_B, MAC_A, IP_A, IP_B, 300);
            sendAndExpect(p.b(), p.a(), MAC_A, MAC_B, IP_B, IP_A, 300);
            for (final Device device : List.of(p.a(), p.b()))
            {
                assertTrue(device.substrate.rxQueueDatagrams(0) >= 300, "queue 0 read the WireGuard socket");
                assertEquals(0, device.substrate.rxQueueDatagrams(1), "no other queue reads it");
            }
            assertOnlyWireguardOnTheWire(p.relay().all());
        }
    }

    @Test
    void shouldCarryTrafficBetweenIpv6InnerAddresses() throws Exception
    {
        try (Pair p = pair(UdpSubstrate.Transport.EPOLL, Encapsulation.GENEVE, WireguardTimers.DEFAULT, "fd00:99::1", "fd00:99::2"))
        {
            sendAndExpect(p.a(), p.b(), MAC_B, MAC_A, IP_A, IP_B, 20);
            sendAndExpect(p.b(), p.a(), MAC_A, MAC_B, IP_B, IP_A, 20);
            assertOnlyWireguardOnTheWire(p.relay().all());
            // IPv6 inner headers make every message 20 bytes longer than IPv4 ones would (padded to 16)
            final byte[] data = p.relay().fromA.stream().filter(m -> type(m) == WireguardMessages.TYPE_TRANSPORT && m.length > 32)
                .findFirst().orElseThrow();
            assertTrue(data.length >= 32 + 40 + 8 + 8 + 14 + 20 + 8 + 100, "inner IPv6 + UDP + Geneve + frame: " + data.length);
        }
    }

    @Test
    void shouldRekeyRepeatedlyWithoutLosingOrReorderingAPacket() throws Exception
    {
        final long rekeyNs = TimeUnit.SECONDS.toNanos(2);
        // REJECT 4 s, KEEPALIVE 1 s, REKEY_TIMEOUT 0.5 s: the initiator's keypair asks for a rekey after 2 s
        // when sending and after 4 - 1 - 0.5 = 2.5 s when receiving, as the paper's 120/165 s scaled down
        final WireguardTimers timers = WireguardTimers.DEFAULT.withRekeyAfterTimeNs(rekeyNs)
            .withRejectAfterTimeNs(TimeUnit.SECONDS.toNanos(4)).withKeepaliveTimeoutNs(TimeUnit.SECONDS.toNanos(1))
            .withRekeyTimeoutNs(TimeUnit.MILLISECONDS.toNanos(500), TimeUnit.MILLISECONDS.toNanos(50));
        try (Pair p = pair(UdpSubstrate.Transport.EPOLL, Encapsulation.GENEVE, timers))
        {
            final long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(9);
            final int window = 16;
            int sentAb = 0;
            int sentBa = 0;
            int gotAb = 0;
            int gotBa = 0;
            final Waits.Progress guard = new Waits.Progress();
            while (System.nanoTime() < end || gotAb < sentAb || gotBa < sentBa)
            {
                final String state = "A->B sent " + sentAb + " got " + gotAb + ", B->A sent " + sentBa + " got " + gotBa;
                guard.check(() -> state + "; drops at B " + substrateDrops(p.b().substrate) + " at A " +
                    substrateDrops(p.a().substrate) + " pipeline B " + p.b().dataPlane.counters().dropsByReason());
                if (System.nanoTime() < end && sentAb - gotAb < window)
                {
                    assertTrue(p.a().vm.inject(udpFrame(p.a().dataPlane, MAC_B, MAC_A, IP_A, IP_B, sentAb, 64 + sentAb % 1200)));
                    sentAb++;
                }
                if (System.nanoTime() < end && sentBa - gotBa < window)
                {
                    assertTrue(p.b().vm.inject(udpFrame(p.b().dataPlane, MAC_A, MAC_B, IP_B, IP_A, sentBa, 64 + sentBa % 700)));
                    sentBa++;
                }
                Frame frame;
                boolean progress = false;
                while ((frame = p.b().vm.poll()) != null)
                {
                    assertEquals(gotAb++, sequenceOf(frame), "A->B in order, nothing lost");
                    frame.release();
                    progress = true;
                }
                while ((frame = p.a().vm.poll()) != null)
                {
                    assertEquals(gotBa++, sequenceOf(frame), "B->A in order, nothing lost");
                    frame.release();
                    progress = true;
                }
                if (progress)
                {
                    guard.made();
                }
                else
                {
                    Thread.onSpinWait();
                }
            }
            final List<byte[]> wire = p.relay().all();
            final int handshakes = count(wire, WireguardMessages.TYPE_RESPONSE);
            System.out.println("rekey test: A->B " + sentAb + " B->A " + sentBa + " frames, " + handshakes + " handshakes, " +
                wire.size() + " datagrams on the wire");
            assertTrue(handshakes >= 4, "a first handshake and at least three rekeys: " + handshakes);
            assertEquals(sentAb, gotAb);
            assertEquals(sentBa, gotBa);
            assertOnlyWireguardOnTheWire(wire);
            assertEquals(0, p.b().substrate.drops(DropReason.WG_REPLAY) + p.b().substrate.drops(DropReason.WG_DECRYPT_FAILED));
        }
    }

    @Test
    void shouldDropTamperedReplayedAndForeignMessagesWithoutChangingState() throws Exception
    {
        try (Pair p = pair(UdpSubstrate.Transport.EPOLL, Encapsulation.GENEVE, WireguardTimers.DEFAULT))
        {
            sendAndExpect(p.a(), p.b(), MAC_B, MAC_A, IP_A, IP_B, 5);
            final InetSocketAddress bSocket = p.relay().b;
            final byte[] data = p.relay().fromA.stream().filter(m -> type(m) == WireguardMessages.TYPE_TRANSPORT && m.length > 32)
                .reduce((x, y) -> y).orElseThrow();
            final WireguardPeerStatus before = p.b().substrate.wireguardPeers().get(0);

            // 1. one flipped bit in the ciphertext, sent from another address: no decryption, no roaming
            final byte[] flipped = data.clone();
            flipped[40] ^= 0x01;
            try (DatagramSocket stranger = new DatagramSocket(new InetSocketAddress("127.0.0.4", 0)))
            {
                stranger.send(new DatagramPacket(flipped, flipped.length, bSocket));
                awaitTrue(() -> p.b().substrate.drops(DropReason.WG_DECRYPT_FAILED) == 1, "wg_decrypt_failed");
                // 2. the same message again: a replay, from the stranger too
                stranger.send(new DatagramPacket(data, data.length, bSocket));
                awaitTrue(() -> p.b().substrate.drops(DropReason.WG_REPLAY) == 1, "wg_replay");
                // 3. truncated transport message
                stranger.send(new DatagramPacket(data, 20, bSocket));
                awaitTrue(() -> p.b().substrate.drops(DropReason.WG_MALFORMED) == 1, "wg_malformed");
            }
            assertEquals(1, p.b().substrate.wireguardRejections(Rejection.DECRYPT_FAILED));
            assertEquals(1, p.b().substrate.wireguardRejections(Rejection.REPLAY));
            final WireguardPeerStatus after = p.b().substrate.wireguardPeers().get(0);
            assertEquals(before.endpoint(), after.endpoint(), "endpoint does not move on unauthenticated packets");
            assertEquals(before.rxBytes(), after.rxBytes());
            assertNull(p.b().vm.poll(), "nothing delivered");

            // 4. a handshake from a key that is no peer of B (it knows B's public key)
            final DeviceKeys strangerKeys = DeviceKeys.generate(RANDOM);
            final WireguardDevice strangerDevice = WireguardDevice.builder(strangerKeys).build();
            final var toB = strangerDevice.addPeer(DeviceKeys.decodeKey(p.b().substrate.wireguardPublicKey()), null);
            final byte[] initiation = new byte[WireguardMessages.INITIATION_LENGTH];
            strangerDevice.createInitiation(toB, MemorySegment.ofArray(initiation), 0, strangerDevice.nanoTime());
            p.relay().inject(initiation, bSocket);
            awaitTrue(() -> p.b().substrate.drops(DropReason.WG_UNKNOWN_KEY) == 1, "wg_unknown_key", p.b().substrate);
            assertEquals(1, p.b().substrate.wireguardRejections(Rejection.UNKNOWN_PEER));
            // 5. a replayed initiation of A (its timestamp is not newer): dropped, the session stays
            final byte[] aInitiation = p.relay().fromA.get(0);
            p.relay().inject(aInitiation, bSocket);
            awaitTrue(() -> p.b().substrate.drops(DropReason.WG_STALE_HANDSHAKE) == 1, "wg_stale_handshake", p.b().substrate);

            // 6. A's initiation with a damaged MAC1
            final byte[] badMac = aInitiation.clone();
            badMac[WireguardMessages.INITIATION_MAC1_OFFSET] ^= 0x01;
            p.relay().inject(badMac, bSocket);
            awaitTrue(() -> p.b().substrate.drops(DropReason.WG_BAD_MAC) == 1, "wg_bad_mac", p.b().substrate);

            // the session carries on as before
            sendAndExpect(p.a(), p.b(), MAC_B, MAC_A, IP_A, IP_B, 5);
            assertEquals(1, count(p.relay().fromB, WireguardMessages.TYPE_RESPONSE), "B answered nothing but A's one initiation");
        }
    }

    /**
     * A flood of handshake initiations (valid MAC1, so each costs the responder real work) read by the
     * worker on the direct path: every one is accounted for by a counter (a stale-handshake, cookie or
     * backlog drop, or an answered initiation), none is lost silently, memory stays bounded by the
     * backlog limit, and the established session keeps carrying traffic.
     */
    @Test
    void shouldAccountForEveryMessageOfAHandshakeFlood() throws Exception
    {
        try (Pair p = pair(UdpSubstrate.Transport.EPOLL, Encapsulation.GENEVE, WireguardTimers.DEFAULT))
        {
            sendAndExpect(p.a(), p.b(), MAC_B, MAC_A, IP_A, IP_B, 5);
            final UdpSubstrate b = p.b().substrate;
            final byte[] replayed = p.relay().fromA.get(0);
            final int flood = 3000;
            final long before = handshakeOutcomes(b);
            final long readBefore = b.rxDatagrams();
            try (DatagramSocket attacker = new DatagramSocket(new InetSocketAddress("127.0.0.4", 0)))
            {
                for (int i = 0; i < flood; i++)
                {
                    attacker.send(new DatagramPacket(replayed, replayed.length, p.relay().b));
                }
            }
            // the kernel may drop some of the burst before B reads it (socket buffer): those never reach a counter,
            // so wait until what B read and what it counted stop changing, then check every one it read
            final long[] last = {-1, -1, System.nanoTime()};
            awaitTrue(() ->
            {
                final long read = b.rxDatagrams();
                final long counted = handshakeOutcomes(b);
                if (read != last[0] || counted != last[1])
                {
                    last[0] = read;
                    last[1] = counted;
                    last[2] = System.nanoTime();
                    return false;
                }
                // unchanged for half a second (not a speed assertion: how long "quiet" must last)
                return counted > before && System.nanoTime() - last[2] > TimeUnit.MILLISECONDS.toNanos(500);
            }, "the flood drained");
            final long accounted = handshakeOutcomes(b) - before;
            final long read = b.rxDatagrams() - readBefore;
            assertTrue(accounted > 0 && accounted <= flood, "flood messages accounted for: " + accounted);
            // what B read in that time is the flood, plus at most a keepalive or two of A's session
            assertTrue(read >= accounted && read - accounted <= 2, "read " + read + ", accounted for " + accounted);
            assertEquals(0, b.drops(DropReason.WG_UNKNOWN_KEY) + b.drops(DropReason.WG_BAD_MAC), "nothing else was rejected");
            sendAndExpect(p.a(), p.b(), MAC_B, MAC_A, IP_A, IP_B, 5);
        }
    }

    private static long handshakeOutcomes(final UdpSubstrate substrate)
    {
        return substrate.drops(DropReason.WG_STALE_HANDSHAKE) + substrate.drops(DropReason.WG_COOKIE_REQUIRED) +
            substrate.drops(DropReason.WG_HANDSHAKE_BACKLOG);
    }

    @Test
    void shouldRoamToTheSourceOfTheLastAuthenticatedPacket() throws Exception
    {
        try (Device a = new Device("127.0.0.1", "10.99.0.1", UdpSubstrate.Transport.EPOLL, WireguardTimers.DEFAULT);
             Device b = new Device("127.0.0.2", "10.99.0.2", UdpSubstrate.Transport.EPOLL, WireguardTimers.DEFAULT))
        {
            // B believes A is somewhere nobody listens; A knows where B is
            a.configure("10.0.1.11", MAC_A, "10.0.1.21", MAC_B,
                List.of(b.asPeer("127.0.0.2:" + b.substrate.wireguardPort(), Encapsulation.VXLAN)));
            b.configure("10.0.1.21", MAC_B, "10.0.1.11", MAC_A, List.of(a.asPeer("127.0.0.9:9", Encapsulation.VXLAN)));
            sendAndExpect(a, b, MAC_B, MAC_A, IP_A, IP_B, 3);
            assertEquals(new InetSocketAddress("127.0.0.1", a.substrate.wireguardPort()), b.substrate.wireguardPeers().get(0).endpoint());
            sendAndExpect(b, a, MAC_A, MAC_B, IP_B, IP_A, 3);
        }
    }

    @Test
    void shouldKeepPlaintextPeersWorkingBesideEncryptedOnes() throws Exception
    {
        try (Device a = new Device("127.0.0.1", "10.99.0.1", UdpSubstrate.Transport.EPOLL, WireguardTimers.DEFAULT);
             Device b = new Device("127.0.0.2", "10.99.0.2", UdpSubstrate.Transport.EPOLL, WireguardTimers.DEFAULT))
        {
            a.configure("10.0.1.11", MAC_A, "10.0.1.21", MAC_B,
                List.of(new PeerSpec(2, "b", "127.0.0.2:" + b.substrate.genevePort(), Encapsulation.GENEVE, List.of(VNI))));
            b.configure("10.0.1.21", MAC_B, "10.0.1.11", MAC_A,
                List.of(new PeerSpec(2, "a", "127.0.0.1:" + a.substrate.genevePort(), Encapsulation.GENEVE, List.of(VNI))));
            sendAndExpect(a, b, MAC_B, MAC_A, IP_A, IP_B, 10);
            assertEquals(0, b.substrate.wireguardPeers().size());
            assertEquals(0, b.substrate.wireguardRejections(Rejection.UNKNOWN_PEER));
        }
    }

    private static String trace(final RecordingRelay relay)
    {
        final StringBuilder text = new StringBuilder("A:");
        relay.fromA.stream().limit(12).forEach(m -> text.append(' ').append(type(m)).append('/').append(m.length));
        text.append(" B:");
        relay.fromB.stream().limit(12).forEach(m -> text.append(' ').append(type(m)).append('/').append(m.length));
        return text.toString();
    }

    private static int type(final byte[] message)
    {
        return message.length < 4 ? -1 : ByteBuffer.wrap(message).order(ByteOrder.LITTLE_ENDIAN).getInt(0);
    }

    private static int count(final List<byte[]> messages, final int type)
    {
        return (int)messages.stream().filter(m -> type(m) == type).count();
    }

    /** Every datagram is a WireGuard message of its type's length, and no plaintext payload shows. */
    private static void assertOnlyWireguardOnTheWire(final List<byte[]> messages)
    {
        assertTrue(!messages.isEmpty());
        for (final byte[] m : messages)
        {
            final int type = type(m);
            switch (type)
            {
                case WireguardMessages.TYPE_INITIATION -> assertEquals(WireguardMessages.INITIATION_LENGTH, m.length);
                case WireguardMessages.TYPE_RESPONSE -> assertEquals(WireguardMessages.RESPONSE_LENGTH, m.length);
                case WireguardMessages.TYPE_COOKIE_REPLY -> assertEquals(WireguardMessages.COOKIE_REPLY_LENGTH, m.length);
                case WireguardMessages.TYPE_TRANSPORT -> assertTrue(m.length >= 32 && (m.length - 32) % 16 == 0,
                    "transport message length " + m.length);
                default -> throw new AssertionError("not a WireGuard message: type " + type + ", " + m.length + " bytes");
            }
            for (int i = 0; i + 8 <= m.length; i++)
            {
                if (Arrays.equals(m, i, i + 8, MARKER, 0, 8))
                {
                    throw new AssertionError("plaintext payload bytes on the wire at offset " + i);
                }
            }
        }
    }

    private static String substrateDrops(final UdpSubstrate substrate)
    {
        final StringBuilder text = new StringBuilder();
        for (final DropReason reason : DropReason.values())
        {
            if (substrate.drops(reason) != 0)
            {
                text.append(reason.label()).append('=').append(substrate.drops(reason)).append(' ');
            }
        }
        return text.toString();
    }
}
