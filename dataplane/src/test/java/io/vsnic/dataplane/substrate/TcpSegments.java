package io.vsnic.dataplane.substrate;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import io.vsnic.dataplane.buffer.Frame;
import io.vsnic.dataplane.buffer.FramePool;
import io.vsnic.dataplane.pipeline.MemoryPort;
import io.vsnic.dataplane.protocol.FrameBuilder;
import io.vsnic.dataplane.protocol.Ipv4Flyweight;

/**
 * The in-order segments of one TCP flow between two VMs (IPv4 without options, no TCP options, the
 * last one with PSH), built as the sending device's worker would hand them to its overlay port, and
 * what a receiving VM port collects of them: every frame, and the TCP payload bytes in arrival order.
 */
final class TcpSegments
{
    private static final int ETHERNET_IPV4 = 14 + 20;

    final byte[] payload;
    final int mss;
    final int count;
    final long firstSequence;
    /** Bytes of the overlay datagrams the segments become (each frame plus an 8-byte overlay header). */
    int datagramBytes;
    final List<Frame> arrived = new ArrayList<>();
    private final ByteArrayOutputStream received = new ByteArrayOutputStream();

    TcpSegments(final int count, final int mss, final long seed)
    {
        this.count = count;
        this.mss = mss;
        this.firstSequence = 0xFFFF_F000L;   // wraps inside the flow
        this.payload = new byte[count * mss];
        new Random(seed).nextBytes(payload);
    }

    /** The segments from {@code srcMac}/{@code src} to {@code dstMac}/{@code dst}, tagged for {@code vni} and device {@code peer}. */
    Frame[] build(final FramePool pool, final long dstMac, final long srcMac, final int src, final int dst, final int vni,
        final int peer)
    {
        final Frame[] frames = new Frame[count];
        datagramBytes = 0;
        for (int k = 0; k < count; k++)
        {
            final Frame frame = pool.acquire();
            final FrameBuilder builder = new FrameBuilder(frame.segment(), frame.start());
            builder.ethernet(dstMac, srcMac).ipv4(src, dst, 64, 0x2000 + k, Ipv4Flyweight.FLAG_DONT_FRAGMENT, null)
                .tcp(40000, 5201, (firstSequence + (long)k * mss) & 0xFFFF_FFFFL, 77, k == count - 1 ? 0x18 : 0x10, null)
                .payload(Arrays.copyOfRange(payload, k * mss, (k + 1) * mss));
            frame.length(builder.build());
            datagramBytes += frame.length() + 8;
            frames[k] = frame.vni(vni).peerDevice(peer);
        }
        return frames;
    }

    /** Takes what waits at {@code port}; true once every payload byte arrived. */
    boolean collect(final MemoryPort port)
    {
        for (Frame frame = port.poll(); frame != null; frame = port.poll())
        {
            arrived.add(frame);
            final int tcpHeader = (frame.segment().get(ValueLayout.JAVA_BYTE, frame.start() + ETHERNET_IPV4 + 12) & 0xF0) >> 2;
            received.write(frame.toByteArray(), ETHERNET_IPV4 + tcpHeader, frame.length() - ETHERNET_IPV4 - tcpHeader);
        }
        return received.size() >= payload.length;
    }

    /** @return the payload bytes collected so far, in arrival order. */
    byte[] received()
    {
        return received.toByteArray();
    }

    /** @return the first collected frame's TCP sequence number. */
    int firstArrivedSequence()
    {
        final Frame first = arrived.get(0);
        return first.segment().get(io.vsnic.dataplane.protocol.Flyweight.U32, first.start() + ETHERNET_IPV4 + 4);
    }

    void release()
    {
        for (final Frame frame : arrived)
        {
            frame.release();
        }
        arrived.clear();
    }
}
