package io.vsnic.dataplane.substrate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

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
import io.vsnic.dataplane.status.CounterSnapshot;
import io.vsnic.dataplane.status.DropReason;
import io.vsnic.dataplane.table.ForwardingState;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Receive queues of the direct substrate path spread over the workers: a device with two workers and
 * two {@code SO_REUSEPORT} receive queues takes Geneve datagrams from many source ports (many
 * 4-tuples) on both queues, each read by its own worker, and delivers every datagram exactly once;
 * the datagrams of one 4-tuple stay on one queue and arrive in order.
 */
class ReceiveQueueSpreadTest
{
    private static final int VNI = 100;
    private static final int OVERLAY = 4000;
    private static final long MAC_A = 0x02_00_00_00_0a_01L;
    private static final long MAC_B = 0x02_00_00_00_0b_01L;
    private static final int IP_A = Ipv4Flyweight.parse("10.0.1.11");
    private static final int IP_B = Ipv4Flyweight.parse("10.0.1.21");
    /** Where the tag sits in a datagram: Geneve (8) + Ethernet (14) + IPv4 (20) + UDP (8). */
    private static final int TAG_OFFSET = 8 + 14 + 20 + 8;
    /** The same tag in a delivered inner frame. */
    private static final int INNER_TAG_OFFSET = 14 + 20 + 8;
    private static final ValueLayout.OfInt TAG = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    /** A device with two workers and a substrate of two receive queues on 127.0.0.2; the peer is 127.0.0.1. */
    private static final class Device implements AutoCloseable
    {
        final DataPlane dataPlane = new DataPlane(new DataPlaneConfig(2, 8192, 4096, ConnectionTimeouts.DEFAULTS));
        final MemoryPort vm = new MemoryPort(1, Port.KIND_VNIC, dataPlane.pool(), 4096);
        final UdpSubstrate substrate;

        Device(final UdpSubstrate.Transport transport, final int queues) throws IOException
        {
            substrate = new UdpSubstrate(OVERLAY, dataPlane.pool(), dataPlane::state,
                new UdpSubstrate.Config("127.0.0.2", 0, 0, transport, queues, 1024));
            try
            {
                substrate.start();
            }
            catch (final IOException ex)
            {
                dataPlane.close();
                throw ex;
            }
            final NetworkSpec network = new NetworkSpec("blue", VNI, 1500, List.of(new SubnetSpec("10.0.1.0/24", "10.0.1.1")),
                List.of(), List.of(new RemoteSpec("10.0.1.11", MAC_A, 2)));
            final PortSpec port = new PortSpec(1, "vm", "blue", MAC_B, "10.0.1.21", null, CompiledPolicy.allowAll(), true);
            // the peer is an address: its datagrams may come from any source port (the port is flow entropy)
            dataPlane.publish(ForwardingState.build(dataPlane.state(), List.of(network), List.of(port),
                List.of(new PeerSpec(2, "a", "127.0.0.1:6081", Encapsulation.GENEVE, List.of(VNI)))));
            dataPlane.addPort(vm);
            dataPlane.overlayPort(substrate);
            dataPlane.start();
        }

        InetSocketAddress target()
        {
            return new InetSocketAddress("127.0.0.2", substrate.genevePort());
        }

        /** Frames from the overlay that each worker took into its pipeline. */
        long overlayFramesOfWorker(final int worker)
        {
            return CounterSnapshot.of(List.of(dataPlane.worker(worker).counters())).portRxPackets(OVERLAY);
        }

        @Override
        public void close()
        {
            substrate.close();
            dataPlane.close();
        }
    }

    @ParameterizedTest
    @EnumSource(value = UdpSubstrate.Transport.class, names = {"EPOLL", "IO_URING"})
    void shouldSpreadManyFlowsOverBothWorkersAndDeliverEachDatagramOnce(final UdpSubstrate.Transport transport) throws Exception
    {
        Assumptions.assumeTrue(UdpSubstrate.isAvailable(transport), transport + " is not available on this kernel");
        final int senders = 32;
        final int perSender = 50;
        final int total = senders * perSender;
        final List<DatagramSocket> sockets = new ArrayList<>();
        try (Device b = new Device(transport, 2))
        {
            assertEquals(2, b.substrate.receiveQueueCount(), "two receive queues on the direct path");
            assertEquals(1, b.substrate.receiveQueues().size(), "one queue port besides the substrate port");
            for (int s = 0; s < senders; s++)
            {
                sockets.add(new DatagramSocket(new InetSocketAddress("127.0.0.1", 0)));   // 32 source ports: 32 4-tuples
            }
            final InetSocketAddress target = b.target();
            for (int seq = 0; seq < perSender; seq++)
            {
                for (int s = 0; s < senders; s++)
                {
                    final byte[] datagram = datagram(s << 16 | seq);
                    sockets.get(s).send(new DatagramPacket(datagram, datagram.length, target));
                }
                Thread.sleep(1);   // paced: loopback drops what a socket buffer cannot hold, and that is not under test
            }
            final List<Frame> arrived = Waits.await(b.vm, total);
            final boolean[] seen = new boolean[senders * 65536];
            final FrameClassifier classifier = FrameClassifier.verifying();
            final FrameLayout layout = new FrameLayout();
            int duplicates = 0;
            for (final Frame frame : arrived)
            {
                classifier.classify(frame.segment(), frame.start(), frame.length(), layout);
                assertTrue(layout.isValid() && layout.hasFlag(FrameLayout.FLAG_L4_CHECKSUM_VERIFIED), layout.dropReason().label());
                final int tag = frame.segment().get(TAG, frame.start() + INNER_TAG_OFFSET);
                duplicates += seen[tag] ? 1 : 0;
                seen[tag] = true;
                frame.release();
            }
            assertEquals(total, arrived.size(), "delivered; substrate drops " + drops(b.substrate) + ", data plane drops " +
                b.dataPlane.counters().dropsByReason());
            assertEquals(0, duplicates, "duplicated datagrams");
            Waits.awaitTrue(() -> b.substrate.rxQueueDatagrams(0) + b.substrate.rxQueueDatagrams(1) == total,
                () -> "queue counts " + b.substrate.rxQueueDatagrams(0) + " + " + b.substrate.rxQueueDatagrams(1));
            assertEquals(total, b.substrate.rxDatagrams());
            assertTrue(b.substrate.rxQueueDatagrams(0) > 0 && b.substrate.rxQueueDatagrams(1) > 0,
                "both queues received: " + b.substrate.rxQueueDatagrams(0) + " / " + b.substrate.rxQueueDatagrams(1));
            // each queue is read by its own worker: both workers took overlay frames into their pipeline
            assertEquals(total, b.overlayFramesOfWorker(0) + b.overlayFramesOfWorker(1));
            assertTrue(b.overlayFramesOfWorker(0) > 0 && b.overlayFramesOfWorker(1) > 0,
                "both workers received: " + b.overlayFramesOfWorker(0) + " / " + b.overlayFramesOfWorker(1));
            assertNull(b.vm.poll(), "nothing beyond the datagrams sent");
        }
        finally
        {
            sockets.forEach(DatagramSocket::close);
        }
    }

    @ParameterizedTest
    @EnumSource(value = UdpSubstrate.Transport.class, names = {"EPOLL", "IO_URING"})
    void shouldKeepOneFlowOnOneQueueInOrder(final UdpSubstrate.Transport transport) throws Exception
    {
        Assumptions.assumeTrue(UdpSubstrate.isAvailable(transport), transport + " is not available on this kernel");
        final int count = 1000;
        try (Device b = new Device(transport, 2);
             DatagramSocket flow = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0)))
        {
            final InetSocketAddress target = b.target();
            for (int seq = 0; seq < count; seq++)
            {
                final byte[] datagram = datagram(seq);
                flow.send(new DatagramPacket(datagram, datagram.length, target));
                if (seq % 64 == 63)
                {
                    Thread.sleep(1);
                }
            }
            final List<Frame> arrived = Waits.await(b.vm, count);
            final int[] order = new int[arrived.size()];
            for (int i = 0; i < order.length; i++)
            {
                final Frame frame = arrived.get(i);
                order[i] = frame.segment().get(TAG, frame.start() + INNER_TAG_OFFSET);
                frame.release();
            }
            assertEquals(count, order.length, "delivered; substrate drops " + drops(b.substrate));
            for (int i = 0; i < count; i++)
            {
                assertEquals(i, order[i], "datagram at position " + i);
            }
            final long first = b.substrate.rxQueueDatagrams(0);
            final long second = b.substrate.rxQueueDatagrams(1);
            assertEquals(count, first + second);
            assertTrue(first == 0 || second == 0, "one 4-tuple, one queue: " + first + " / " + second);
            assertNotEquals(b.overlayFramesOfWorker(0) > 0, b.overlayFramesOfWorker(1) > 0, "one worker took the flow");
        }
    }

    @ParameterizedTest
    @EnumSource(value = UdpSubstrate.Transport.class, names = {"EPOLL", "IO_URING"})
    void shouldStopReceivingOnEveryQueueWhenThePortIsRemoved(final UdpSubstrate.Transport transport) throws Exception
    {
        Assumptions.assumeTrue(UdpSubstrate.isAvailable(transport), transport + " is not available on this kernel");
        try (Device b = new Device(transport, 3))
        {
            assertEquals(2, b.substrate.receiveQueues().size());
            assertEquals(b.substrate, b.dataPlane.removePort(OVERLAY));
            try (DatagramSocket socket = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0)))
            {
                final byte[] datagram = datagram(7);
                for (int i = 0; i < 20; i++)
                {
                    socket.send(new DatagramPacket(datagram, datagram.length, b.target()));
                }
            }
            // no worker reads any queue now: nothing reaches the VM, the datagrams wait in the socket buffers
            for (int i = 0; i < 100; i++)
            {
                assertNull(b.vm.poll());
                Thread.sleep(1);
            }
            assertEquals(0, b.substrate.rxDatagrams());
        }
    }

    /** A Geneve datagram holding an inner UDP frame from the remote VM whose payload starts with {@code tag}. */
    private static byte[] datagram(final int tag)
    {
        final byte[] payload = new byte[32];
        MemorySegment.ofArray(payload).set(TAG, 0, tag);
        final MemorySegment segment = MemorySegment.ofArray(new byte[512]);
        final FrameBuilder builder = new FrameBuilder(segment, 0);
        // a whole outer frame, of which the UDP payload (Geneve header + inner frame) is kept
        builder.ethernet(0x02_00_00_00_00_99L, 0x02_00_00_00_00_98L).ipv4(1, 2).udp(1, 6081).geneve(VNI);
        builder.ethernet(MAC_B, MAC_A).ipv4(IP_A, IP_B).udp(40000, 5000).payload(payload);
        final int length = builder.build();
        final int outer = 14 + 20 + 8;
        final byte[] bytes = new byte[length - outer];
        MemorySegment.copy(segment, ValueLayout.JAVA_BYTE, outer, bytes, 0, bytes.length);
        assertEquals(tag, MemorySegment.ofArray(bytes).get(TAG, TAG_OFFSET));
        return bytes;
    }

    private static String drops(final UdpSubstrate substrate)
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
