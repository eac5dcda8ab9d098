package io.vsnic.dataplane.buffer;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Bounded lock-free stack of the ints {@code 0..capacity-1}, each on it at most once: a free list
 * that hands back the value released last (a Treiber stack linked through an {@code int[]}). A pool
 * whose free slots come back in this order reuses the buffers a thread has just written and read,
 * which are still in its caches; a FIFO list cycles through every slot of the pool instead.
 *
 * <p>The head is one {@code long}: the top value plus one in the low 32 bits, a version in the high
 * 32 bits that every change increments, so that a compare-and-set cannot succeed on a head that was
 * popped and pushed again in between (the ABA problem). A link read from a node another thread has
 * just taken may be stale; the compare-and-set then fails and the operation starts over. Offering and
 * polling allocate nothing; a burst is linked first and pushed, or cut off and popped, with one
 * compare-and-set.
 *
 * <p>Thread safety: any thread may offer and poll concurrently. A value must not be offered while it
 * is already on the stack (the caller owns each value it offers).
 */
public final class IntLifoStack
{
    private static final VarHandle HEAD;
    private static final long EMPTY = 0L;

    static
    {
        try
        {
            HEAD = MethodHandles.lookup().findVarHandle(IntLifoStack.class, "head", long.class);
        }
        catch (final ReflectiveOperationException ex)
        {
            throw new ExceptionInInitializerError(ex);
        }
    }

    /** The value below each value on the stack, or -1 (written before the head that publishes it). */
    private final int[] next;
    /** Values on the stack: updated after each change, so exact only while nobody changes it. */
    private final AtomicInteger size = new AtomicInteger();

    @SuppressWarnings("unused")
    private long p01, p02, p03, p04, p05, p06, p07;
    private volatile long head = EMPTY;
    @SuppressWarnings("unused")
    private long p11, p12, p13, p14, p15, p16, p17;

    /**
     * @param capacity the values the stack can hold: {@code 0..capacity-1} (1..2^30).
     */
    public IntLifoStack(final int capacity)
    {
        if (capacity < 1 || capacity > (1 << 30))
        {
            throw new IllegalArgumentException("capacity must be in 1..2^30: " + capacity);
        }
        this.next = new int[capacity];
    }

    /**
     * @return the largest value plus one.
     */
    public int capacity()
    {
        return next.length;
    }

    /**
     * Pushes {@code value}.
     *
     * @param value in {@code 0..capacity-1}, not on the stack.
     */
    public void offer(final int value)
    {
        check(value);
        long current;
        do
        {
            current = head;
            next[value] = top(current);
        }
        while (!HEAD.compareAndSet(this, current, link(current, value)));
        size.incrementAndGet();
    }

    /**
     * Pushes {@code source[offset..offset + count)} with one compare-and-set; the last one given ends
     * on top.
     */
    public void offer(final int[] source, final int offset, final int count)
    {
        if (count <= 0)
        {
            return;
        }
        for (int i = 0; i < count; i++)
        {
            check(source[offset + i]);
        }
        // each value lies on the one given before it
        for (int i = 1; i < count; i++)
        {
            next[source[offset + i]] = source[offset + i - 1];
        }
        final int bottom = source[offset];
        final int last = source[offset + count - 1];
        long current;
        do
        {
            current = head;
            next[bottom] = top(current);
        }
        while (!HEAD.compareAndSet(this, current, link(current, last)));
        size.addAndGet(count);
    }

    /**
     * @return the value on top, taken off, or -1 when the stack is empty.
     */
    public int poll()
    {
        long current;
        int top;
        do
        {
            current = head;
            top = top(current);
            if (top < 0)
            {
                return -1;
            }
        }
        while (!HEAD.compareAndSet(this, current, link(current, next[top])));
        size.decrementAndGet();
        return top;
    }

    /**
     * Takes up to {@code max} values with one compare-and-set into {@code target[offset..]}, the top
     * one first.
     *
     * @return how many were taken (0 when the stack is empty).
     */
    public int poll(final int[] target, final int offset, final int max)
    {
        if (max <= 0)
        {
            return 0;
        }
        long current;
        int taken;
        int below;
        do
        {
            current = head;
            int value = top(current);
            taken = 0;
            // the links may change under this walk; the compare-and-set below then fails
            while (value >= 0 && taken < max)
            {
                target[offset + taken++] = value;
                value = next[value];
            }
            below = value;
            if (taken == 0)
            {
                return 0;
            }
        }
        while (!HEAD.compareAndSet(this, current, link(current, below)));
        size.addAndGet(-taken);
        return taken;
    }

    /**
     * @return the values on the stack (exact while no thread offers or polls).
     */
    public int size()
    {
        return Math.max(0, size.get());
    }

    private void check(final int value)
    {
        if (value < 0 || value >= next.length)
        {
            throw new IllegalArgumentException("value must be in 0.." + (next.length - 1) + ": " + value);
        }
    }

    private static int top(final long head)
    {
        return (int)head - 1;
    }

    /** The head after {@code current} with {@code top} on top (-1: empty) and the next version. */
    private static long link(final long current, final int top)
    {
        return (((current >>> 32) + 1) << 32) | ((top + 1) & 0xFFFF_FFFFL);
    }
}
