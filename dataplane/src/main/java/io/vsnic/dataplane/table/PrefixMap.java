package io.vsnic.dataplane.table;

import java.util.Arrays;

/**
 * An open-addressing hash map (linear probing, power-of-two capacity, load at most one half) from a
 * prefix {@code (high, low, length)} to an {@code int}, in parallel primitive arrays so that a
 * builder holding a million pending changes boxes nothing. IPv4 prefixes use {@code high} for the
 * unsigned address and {@code low = 0}.
 *
 * <p>Entries are never deleted: a builder records a removal as a value ({@link #MISSING} is what
 * {@link #get} returns for a key that was never put). Control plane only; not thread-safe.
 */
final class PrefixMap
{
    /** Returned by {@link #get} for a key that is not in the map; never stored as a value. */
    static final int MISSING = Integer.MIN_VALUE;

    private static final int FREE = -1;
    private static final int MIN_CAPACITY = 16;

    private long[] highs;
    private long[] lows;
    private int[] lengths;
    private int[] values;
    private int mask;
    private int size;

    /**
     * An empty map with room for {@code expected} entries before it grows.
     */
    PrefixMap(final int expected)
    {
        int capacity = MIN_CAPACITY;
        while (capacity < 2L * expected)
        {
            capacity <<= 1;
        }
        allocate(capacity);
    }

    /**
     * Mixes a prefix key into a well-spread hash (SplitMix64 finalizer over a linear combination of
     * the three parts): builders see adversarial-looking keys (long runs of zero host bits), and a
     * few extra multiplications do not matter off the hot path.
     */
    private static int hash(final long high, final long low, final long length)
    {
        long z = high + low * 0x9E3779B97F4A7C15L + length * 0xC2B2AE3D27D4EB4FL;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return (int)(z ^ (z >>> 31));
    }

    /**
     * @return the value for the key, or {@link #MISSING}.
     */
    int get(final long high, final long low, final int length)
    {
        int slot = hash(high, low, length) & mask;
        while (lengths[slot] != FREE)
        {
            if (lengths[slot] == length && highs[slot] == high && lows[slot] == low)
            {
                return values[slot];
            }
            slot = (slot + 1) & mask;
        }
        return MISSING;
    }

    /**
     * Sets the value for the key, adding the key if it is absent.
     */
    void put(final long high, final long low, final int length, final int value)
    {
        int slot = hash(high, low, length) & mask;
        while (lengths[slot] != FREE)
        {
            if (lengths[slot] == length && highs[slot] == high && lows[slot] == low)
            {
                values[slot] = value;
                return;
            }
            slot = (slot + 1) & mask;
        }
        highs[slot] = high;
        lows[slot] = low;
        lengths[slot] = length;
        values[slot] = value;
        if (++size * 2 > lengths.length)
        {
            grow();
        }
    }

    /**
     * @return number of keys.
     */
    int size()
    {
        return size;
    }

    /**
     * @return number of slots; iterate with {@link #isUsed(int)} and the slot accessors.
     */
    int capacity()
    {
        return lengths.length;
    }

    boolean isUsed(final int slot)
    {
        return lengths[slot] != FREE;
    }

    long highAt(final int slot)
    {
        return highs[slot];
    }

    long lowAt(final int slot)
    {
        return lows[slot];
    }

    int lengthAt(final int slot)
    {
        return lengths[slot];
    }

    int valueAt(final int slot)
    {
        return values[slot];
    }

    private void allocate(final int capacity)
    {
        highs = new long[capacity];
        lows = new long[capacity];
        lengths = new int[capacity];
        values = new int[capacity];
        Arrays.fill(lengths, FREE);
        mask = capacity - 1;
    }

    private void grow()
    {
        if (lengths.length >= 1 << 29)
        {
            throw new IllegalStateException("too many pending prefix changes: " + size);
        }
        final long[] oldHighs = highs;
        final long[] oldLows = lows;
        final int[] oldLengths = lengths;
        final int[] oldValues = values;
        allocate(oldLengths.length << 1);
        for (int i = 0; i < oldLengths.length; i++)
        {
            if (oldLengths[i] != FREE)
            {
                int slot = hash(oldHighs[i], oldLows[i], oldLengths[i]) & mask;
                while (lengths[slot] != FREE)
                {
                    slot = (slot + 1) & mask;
                }
                highs[slot] = oldHighs[i];
                lows[slot] = oldLows[i];
                lengths[slot] = oldLengths[i];
                values[slot] = oldValues[i];
            }
        }
    }
}
