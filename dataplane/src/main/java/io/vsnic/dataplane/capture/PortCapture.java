package io.vsnic.dataplane.capture;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import io.vsnic.dataplane.buffer.Frame;
import io.vsnic.dataplane.buffer.SpscSlotRing;

/**
 * A live capture of one data plane port: the workers copy every frame the port receives (before
 * the pipeline touches it) and every frame handed to it for transmission into preallocated slots,
 * one single-producer ring ({@link SpscSlotRing}) per worker; one consumer thread drains them ({@link #drain}) into a
 * pcap stream. A full ring drops the copy and counts it ({@link #dropped()}): the workers never
 * wait. A frame longer than the snapshot length is truncated (its original length is kept).
 *
 * <pre>
 * Slot: 0 long worker clock (ns) | 8 int original length | 12 int captured length |
 *       16 int direction (0 received from the port, 1 sent to it) | 32.. captured bytes
 * </pre>
 *
 * <p>Cost when no capture runs: the worker reads the data plane's capture reference once per
 * vector (a volatile read) and compares a port id. Threads: {@link #copy} by worker {@code w} for
 * ring {@code w} only; {@link #drain} by one consumer.
 */
public final class PortCapture
{
    /** Frame received from the port (VM to network). */
    public static final int RECEIVED = 0;
    /** Frame sent to the port (network to VM). */
    public static final int SENT = 1;
    /** Default snapshot length: a jumbo frame. */
    public static final int DEFAULT_SNAP_BYTES = 9216;

    private static final int HEADER_BYTES = 32;

    /** What the consumer receives, once per captured frame. */
    @FunctionalInterface
    public interface Sink
    {
        /**
         * @param timestampNs    the worker's clock ({@link System#nanoTime()}) when it copied the frame.
         * @param direction      {@link #RECEIVED} or {@link #SENT}.
         * @param data           memory holding the captured bytes (valid during this call only).
         * @param offset         offset of the first byte.
         * @param capturedLength bytes captured.
         * @param originalLength the frame's length.
         * @return false to stop draining (the frame counts as delivered).
         */
        boolean frame(long timestampNs, int direction, MemorySegment data, long offset, int capturedLength, int originalLength);
    }

    private final int portId;
    private final int snapBytes;
    private final int slotBytes;
    private final SpscSlotRing[] rings;
    private volatile boolean active = true;

    /**
     * @param portId    the captured port.
     * @param workers   data plane workers (one ring each).
     * @param slots     frames each ring holds (a power of two, 2..65536).
     * @param snapBytes bytes kept of each frame (64..65535).
     */
    public PortCapture(final int portId, final int workers, final int slots, final int snapBytes)
    {
        if (slots < 2 || slots > 65_536 || Integer.bitCount(slots) != 1)
        {
            throw new IllegalArgumentException("capture slots must be a power of two in 2..65536: " + slots);
        }
        if (snapBytes < 64 || snapBytes > 65_535)
        {
            throw new IllegalArgumentException("snapshot length must be in 64..65535: " + snapBytes);
        }
        this.portId = portId;
        this.snapBytes = snapBytes;
        this.slotBytes = (HEADER_BYTES + snapBytes + 63) & ~63;
        this.rings = new SpscSlotRing[workers];
        for (int i = 0; i < workers; i++)
        {
            rings[i] = new SpscSlotRing(slots, slotBytes);
        }
    }

    /**
     * @return the captured port's id.
     */
    public int portId()
    {
        return portId;
    }

    /**
     * Worker {@code worker}: copies frames {@code [0, count)} of {@code frames} into its ring.
     *
     * @param worker    the calling worker's index.
     * @param frames    the frames (not modified, not released).
     * @param count     how many.
     * @param direction {@link #RECEIVED} or {@link #SENT}.
     * @param nowNs     the worker's clock.
     */
    public void copy(final int worker, final Frame[] frames, final int count, final int direction, final long nowNs)
    {
        if (!active)
        {
            return;
        }
        final SpscSlotRing ring = rings[worker];
        final MemorySegment m = ring.memory();
        for (int i = 0; i < count; i++)
        {
            final Frame frame = frames[i];
            if (frame == null)
            {
                continue;
            }
            final long at = ring.claim();
            if (at < 0)
            {
                continue;
            }
            final int length = frame.wireLength();
            final int captured = Math.min(length, snapBytes);
            m.set(ValueLayout.JAVA_LONG, at, nowNs);
            m.set(ValueLayout.JAVA_INT, at + 8, length);
            m.set(ValueLayout.JAVA_INT, at + 12, captured);
            m.set(ValueLayout.JAVA_INT, at + 16, direction);
            final int head = Math.min(frame.length(), captured);
            MemorySegment.copy(frame.segment(), frame.start(), m, at + HEADER_BYTES, head);
            if (captured > head)
            {
                // a chained segment: its payload follows in the super-frame it was cut from
                MemorySegment.copy(frame.referencedSegment(), frame.referencedOffset(), m, at + HEADER_BYTES + head, captured - head);
            }
            ring.publish();
        }
    }

    /**
     * Consumer: hands every frame waiting in the rings to {@code sink}, ring by ring (frames of
     * different workers are not merged by time).
     *
     * @return frames handed over.
     */
    public int drain(final Sink sink)
    {
        int count = 0;
        for (final SpscSlotRing ring : rings)
        {
            final MemorySegment m = ring.memory();
            long at;
            while ((at = ring.peek()) >= 0)
            {
                final boolean more = sink.frame(m.get(ValueLayout.JAVA_LONG, at), m.get(ValueLayout.JAVA_INT, at + 16), m,
                    at + HEADER_BYTES, m.get(ValueLayout.JAVA_INT, at + 12), m.get(ValueLayout.JAVA_INT, at + 8));
                ring.advance();
                count++;
                if (!more)
                {
                    return count;
                }
            }
        }
        return count;
    }

    /**
     * Stops copying (workers skip the capture from now on; frames already copied can still be drained).
     */
    public void stop()
    {
        active = false;
    }

    /**
     * @return copies dropped because a ring was full.
     */
    public long dropped()
    {
        long sum = 0;
        for (final SpscSlotRing ring : rings)
        {
            sum += ring.overflows();
        }
        return sum;
    }

    @Override
    public String toString()
    {
        return "PortCapture{port=" + portId + ", snapBytes=" + snapBytes + ", dropped=" + dropped() + '}';
    }
}
