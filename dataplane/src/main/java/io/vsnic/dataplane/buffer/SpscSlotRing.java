package io.vsnic.dataplane.buffer;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A bounded single-producer, single-consumer ring of fixed-size slots in native memory,
 * preallocated: the producer claims the next slot ({@link #claim}), writes it and publishes it with
 * a release store of the tail ({@link #publish}); the consumer reads up to the tail it loads with
 * acquire ({@link #peek}) and frees the slot with a release store of the head ({@link #advance}).
 * When the ring is full, {@link #claim} counts an overflow and returns -1: the producer never waits.
 * Head and tail live on cache lines of their own; the producer keeps a cached copy of the head and
 * reads the real one only when the ring looks full.
 *
 * <p>Used for the flow log's records and for port captures' frame copies (one ring per worker).
 *
 * <p>Threads: {@code claim}/{@code publish} by the one producer, {@code peek}/{@code advance} by the
 * one consumer; the counters by any thread.
 */
public final class SpscSlotRing
{
    private static final VarHandle HEAD;
    private static final VarHandle TAIL;
    private static final VarHandle OVERFLOWS;

    static
    {
        try
        {
            final MethodHandles.Lookup lookup = MethodHandles.lookup();
            HEAD = lookup.findVarHandle(SpscSlotRing.class, "head", long.class);
            TAIL = lookup.findVarHandle(SpscSlotRing.class, "tail", long.class);
            OVERFLOWS = lookup.findVarHandle(SpscSlotRing.class, "overflows", long.class);
        }
        catch (final ReflectiveOperationException ex)
        {
            throw new ExceptionInInitializerError(ex);
        }
    }

    private final MemorySegment memory;
    private final int mask;
    private final int slotBytes;
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
     * @param slots     slots held; a power of two, 2..1048576.
     * @param slotBytes bytes per slot, 1..1048576 (a multiple of 64 keeps each slot on cache lines of its own).
     */
    public SpscSlotRing(final int slots, final int slotBytes)
    {
        if (slots < 2 || slots > (1 << 20) || Integer.bitCount(slots) != 1)
        {
            throw new IllegalArgumentException("ring slots must be a power of two in 2..1048576: " + slots);
        }
        if (slotBytes < 1 || slotBytes > (1 << 20))
        {
            throw new IllegalArgumentException("slot bytes must be in 1..1048576: " + slotBytes);
        }
        this.mask = slots - 1;
        this.slotBytes = slotBytes;
        this.memory = Arena.ofAuto().allocate((long)slots * slotBytes, 64);
    }

    /**
     * Producer: claims the next slot.
     *
     * @return the slot's offset in {@link #memory()}, to write and then {@link #publish}; or -1 when the
     *         ring is full (counted as an overflow; nothing to publish).
     */
    public long claim()
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
        return (t & mask) * slotBytes;
    }

    /**
     * Producer: makes the claimed slot visible to the consumer.
     */
    public void publish()
    {
        TAIL.setRelease(this, (long)TAIL.getOpaque(this) + 1);
    }

    /**
     * @return the slots' memory.
     */
    public MemorySegment memory()
    {
        return memory;
    }

    /**
     * Consumer: the offset of the oldest unread slot, or -1 when the ring is empty.
     */
    public long peek()
    {
        final long h = (long)HEAD.getOpaque(this);
        return h == (long)TAIL.getAcquire(this) ? -1 : (h & mask) * slotBytes;
    }

    /**
     * Consumer: frees the slot {@link #peek} returned.
     */
    public void advance()
    {
        HEAD.setRelease(this, (long)HEAD.getOpaque(this) + 1);
    }

    /**
     * @return claims refused because the ring was full.
     */
    public long overflows()
    {
        return overflows;
    }

    /**
     * @return slots waiting for the consumer.
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

    /**
     * @return bytes per slot.
     */
    public int slotBytes()
    {
        return slotBytes;
    }
}
