package io.vsnic.dataplane.buffer;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * Bounded lock-free multi-producer multi-consumer queue of non-negative ints (D. Vyukov's
 * bounded MPMC design): a power-of-two ring where every cell carries a sequence number telling
 * whether it is ready to be written or read. Offering and polling allocate nothing.
 *
 * <p>Thread safety: any thread may offer and poll concurrently.
 */
public final class IntMpmcQueue
{
    private static final VarHandle SEQUENCE = MethodHandles.arrayElementVarHandle(long[].class);
    private static final VarHandle HEAD;
    private static final VarHandle TAIL;

    static
    {
        try
        {
            final MethodHandles.Lookup lookup = MethodHandles.lookup();
            HEAD = lookup.findVarHandle(IntMpmcQueue.class, "head", long.class);
            TAIL = lookup.findVarHandle(IntMpmcQueue.class, "tail", long.class);
        }
        catch (final ReflectiveOperationException ex)
        {
            throw new ExceptionInInitializerError(ex);
        }
    }

    private final int mask;
    private final long[] sequences;
    private final int[] values;

    // Padding keeps head and tail on different cache lines (producers and consumers differ).
    @SuppressWarnings("unused")
    private long p01, p02, p03, p04, p05, p06, p07;
    private volatile long head;
    @SuppressWarnings("unused")
    private long p11, p12, p13, p14, p15, p16, p17;
    private volatile long tail;
    @SuppressWarnings("unused")
    private long p21, p22, p23, p24, p25, p26, p27;

    /**
     * @param requestedCapacity minimum capacity; rounded up to a power of two, at least two (with a
     *                          single cell, "written at p" and "free for p + 1" carry the same sequence).
     */
    public IntMpmcQueue(final int requestedCapacity)
    {
        if (requestedCapacity < 1 || requestedCapacity > (1 << 30))
        {
            throw new IllegalArgumentException("capacity must be in 1..2^30: " + requestedCapacity);
        }
        int actual = 2;
        while (actual < requestedCapacity)
        {
            actual <<= 1;
        }
        this.mask = actual - 1;
        this.sequences = new long[actual];
        this.values = new int[actual];
        for (int i = 0; i < actual; i++)
        {
            sequences[i] = i;
        }
    }

    /**
     * @return the number of cells (a power of two).
     */
    public int capacity()
    {
        return mask + 1;
    }

    /**
     * @param value a non-negative value.
     * @return false when the queue is full.
     */
    public boolean offer(final int value)
    {
        long position = (long)TAIL.getVolatile(this);
        for (int spins = 0; ; spins++)
        {
            final int index = (int)position & mask;
            final long sequence = (long)SEQUENCE.getAcquire(sequences, index);
            final long difference = sequence - position;
            if (difference == 0)
            {
                if (TAIL.compareAndSet(this, position, position + 1))
                {
                    values[index] = value;
                    SEQUENCE.setRelease(sequences, index, position + 1);
                    return true;
                }
                position = (long)TAIL.getVolatile(this);
            }
            else if (difference < 0)
            {
                // The cell still holds the value of position - capacity. The queue is full only if
                // that value is still counted; otherwise a poll has taken it and is about to free the cell.
                if (position - (long)HEAD.getVolatile(this) >= mask + 1L)
                {
                    return false;
                }
                backOff(spins);
                position = (long)TAIL.getVolatile(this);
            }
            else
            {
                position = (long)TAIL.getVolatile(this);
            }
        }
    }

    /**
     * Offers {@code source[offset..offset + count)} in order, claiming as many cells as are free with
     * one compare-and-set (a burst costs one contended operation, not one per value).
     *
     * @return how many values were queued: the first ones given, fewer than {@code count} when the
     *         queue filled up, 0 when it is full.
     */
    public int offer(final int[] source, final int offset, final int count)
    {
        long position;
        int claimed;
        do
        {
            position = (long)TAIL.getVolatile(this);
            // head read after tail: a stale head only underestimates the free cells
            final long free = mask + 1L - (position - (long)HEAD.getVolatile(this));
            claimed = (int)Math.min(count, free);
            if (claimed <= 0)
            {
                return 0;
            }
        }
        while (!TAIL.compareAndSet(this, position, position + claimed));
        for (int i = 0; i < claimed; i++)
        {
            final long at = position + i;
            final int index = (int)at & mask;
            // a poller has claimed the value this cell held (head passed it) and is about to free it
            for (int spins = 0; (long)SEQUENCE.getAcquire(sequences, index) != at; spins++)
            {
                backOff(spins);
            }
            values[index] = source[offset + i];
            SEQUENCE.setRelease(sequences, index, at + 1);
        }
        return claimed;
    }

    /**
     * Takes up to {@code max} of the oldest values into {@code target[offset..)}, claiming them with
     * one compare-and-set.
     *
     * @return how many values were taken (0 when the queue is empty).
     */
    public int poll(final int[] target, final int offset, final int max)
    {
        long position;
        int claimed;
        do
        {
            position = (long)HEAD.getVolatile(this);
            claimed = (int)Math.min(max, (long)TAIL.getVolatile(this) - position);
            if (claimed <= 0)
            {
                return 0;
            }
        }
        while (!HEAD.compareAndSet(this, position, position + claimed));
        for (int i = 0; i < claimed; i++)
        {
            final long at = position + i;
            final int index = (int)at & mask;
            // an offer has claimed this position (tail passed it) and is about to publish its value
            for (int spins = 0; (long)SEQUENCE.getAcquire(sequences, index) != at + 1; spins++)
            {
                backOff(spins);
            }
            target[offset + i] = values[index];
            SEQUENCE.setRelease(sequences, index, at + mask + 1);
        }
        return claimed;
    }

    /**
     * Waits for another thread that is between its claim and its store: spins briefly, then yields,
     * so that on an oversubscribed machine the waiter does not burn the time slice the other thread
     * needs to finish.
     */
    private static void backOff(final int spins)
    {
        if (spins < 64)
        {
            Thread.onSpinWait();
        }
        else
        {
            Thread.yield();
        }
    }

    /**
     * @return the oldest value, or -1 when the queue is empty.
     */
    public int poll()
    {
        long position = (long)HEAD.getVolatile(this);
        for (int spins = 0; ; spins++)
        {
            final int index = (int)position & mask;
            final long sequence = (long)SEQUENCE.getAcquire(sequences, index);
            final long difference = sequence - (position + 1);
            if (difference == 0)
            {
                if (HEAD.compareAndSet(this, position, position + 1))
                {
                    final int value = values[index];
                    SEQUENCE.setRelease(sequences, index, position + mask + 1);
                    return value;
                }
                position = (long)HEAD.getVolatile(this);
            }
            else if (difference < 0)
            {
                // Nothing written here yet. The queue is empty only if no offer has claimed this position;
                // otherwise that offer is about to publish its value.
                if (position >= (long)TAIL.getVolatile(this))
                {
                    return -1;
                }
                backOff(spins);
                position = (long)HEAD.getVolatile(this);
            }
            else
            {
                position = (long)HEAD.getVolatile(this);
            }
        }
    }

    /**
     * @return an estimate of the number of queued values (exact when no thread is offering or polling).
     */
    public int size()
    {
        while (true)
        {
            final long before = head;
            final long currentTail = tail;
            final long after = head;
            if (before == after)
            {
                return (int)Math.max(0, Math.min(currentTail - after, mask + 1L));
            }
        }
    }
}
