package io.vsnic.dataplane.flow;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A bounded single-producer, single-consumer ring of fixed-size flow records in native memory,
 * preallocated: the producer (one worker) writes a record's fields into the next slot and publishes
 * it with a release store of the tail; the consumer (the flow log's collector) reads up to the tail
 * it loads with acquire and frees the slots with a release store of the head. When the ring is full
 * the record is not written and {@link #overflows()} grows: the producer never waits.
 *
 * <pre>
 * Record ({@value #RECORD_BYTES} bytes, native byte order, never leaves the process):
 *   0 byte event | 1 byte ipVersion (4/6) | 2 byte protocol | 3 pad | 4 int network (VNI)
 *   8 int port (the vNIC's data plane port, -1 none) | 12 int pad
 *  16 long sourceHigh | 24 long sourceLow | 32 long destinationHigh | 40 long destinationLow
 *  48 int sourcePort | 52 int destinationPort | 56 long startNs | 64 long endNs
 *  72 long packets | 80 long bytes
 * </pre>
 *
 * <p>Threads: {@code offer} by the one producer, {@code poll} by the one consumer.
 */
public final class FlowRecordRing
{
    /** Bytes per record slot. */
    public static final int RECORD_BYTES = 128;

    static final long EVENT = 0;
    static final long IP_VERSION = 1;
    static final long PROTOCOL = 2;
    static final long NETWORK = 4;
    static final long PORT = 8;
    static final long SOURCE_HIGH = 16;
    static final long SOURCE_LOW = 24;
    static final long DESTINATION_HIGH = 32;
    static final long DESTINATION_LOW = 40;
    static final long SOURCE_PORT = 48;
    static final long DESTINATION_PORT = 52;
    static final long START_NS = 56;
    static final long END_NS = 64;
    static final long PACKETS = 72;
    static final long BYTES = 80;

    private static final VarHandle HEAD;
    private static final VarHandle TAIL;
    private static final VarHandle OVERFLOWS;

    static
    {
        try
        {
            final MethodHandles.Lookup lookup = MethodHandles.lookup();
            HEAD = lookup.findVarHandle(FlowRecordRing.class, "head", long.class);
            TAIL = lookup.findVarHandle(FlowRecordRing.class, "tail", long.class);
            OVERFLOWS = lookup.findVarHandle(FlowRecordRing.class, "overflows", long.class);
        }
        catch (final ReflectiveOperationException ex)
        {
            throw new ExceptionInInitializerError(ex);
        }
    }

    private final MemorySegment memory;
    private final int mask;
    // Padding: the head is written by the consumer, the tail and the overflow count by the producer.
    @SuppressWarnings("unused")
    private long p01, p02, p03, p04, p05, p06, p07;
    private volatile long head;
    @SuppressWarnings("unused")
    private long p11, p12, p13, p14, p15, p16, p17;
    private volatile long tail;
    private long headCache;
    private volatile long overflows;
    @SuppressWarnings("unused")
    private long p21, p22, p23, p24, p25, p26, p27;

    /**
     * @param slots records held; a power of two, 2..1048576.
     */
    public FlowRecordRing(final int slots)
    {
        if (slots < 2 || slots > (1 << 20) || Integer.bitCount(slots) != 1)
        {
            throw new IllegalArgumentException("flow log ring slots must be a power of two in 2..1048576: " + slots);
        }
        this.mask = slots - 1;
        this.memory = Arena.ofAuto().allocate((long)slots * RECORD_BYTES, 64);
    }

    /**
     * Producer: claims the next slot.
     *
     * @return the slot's offset to write the fields at, then {@link #publish}; or -1 when the ring is
     *         full (counted as an overflow, nothing to publish).
     */
    long claim()
    {
        final long t = (long)TAIL.getOpaque(this);
        if (t - headCache > mask)
        {
            headCache = (long)HEAD.getAcquire(this);
            if (t - headCache > mask)
            {
                OVERFLOWS.setOpaque(this, (long)OVERFLOWS.getOpaque(this) + 1);
                return -1;
            }
        }
        return (t & mask) * RECORD_BYTES;
    }

    /**
     * Producer: makes the claimed record visible to the consumer.
     */
    void publish()
    {
        TAIL.setRelease(this, (long)TAIL.getOpaque(this) + 1);
    }

    MemorySegment memory()
    {
        return memory;
    }

    /**
     * Consumer: the offset of the oldest unread record, or -1 when the ring is empty.
     */
    long peek()
    {
        final long h = (long)HEAD.getOpaque(this);
        return h == (long)TAIL.getAcquire(this) ? -1 : (h & mask) * RECORD_BYTES;
    }

    /**
     * Consumer: frees the record {@link #peek} returned.
     */
    void advance()
    {
        HEAD.setRelease(this, (long)HEAD.getOpaque(this) + 1);
    }

    /**
     * @return records dropped because the ring was full (written by the producer only).
     */
    public long overflows()
    {
        return overflows;
    }

    /**
     * @return records waiting for the consumer.
     */
    public long size()
    {
        return tail - head;
    }

    /**
     * @return the number of slots.
     */
    public int capacity()
    {
        return mask + 1;
    }

    static void putByte(final MemorySegment m, final long at, final int value)
    {
        m.set(ValueLayout.JAVA_BYTE, at, (byte)value);
    }
}
