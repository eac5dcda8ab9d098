package io.vsnic.dataplane.table;

/**
 * An immutable open-addressing hash table from a 128-bit key (two longs; IPv4 addresses and MACs use
 * only the first) to a location (int) and a MAC (long). Built once by the control plane, then read
 * by any number of workers without synchronisation (it is published through a volatile snapshot
 * reference). Lookups allocate nothing; the load factor is at most 0.5, so probes are short.
 */
public final class KeyedTable
{
    /** Returned by {@link #find} when the key is absent. */
    public static final int ABSENT = -1;

    private static final KeyedTable EMPTY = new Builder().build();

    private final long[] first;
    private final long[] second;
    private final int[] locations;
    private final long[] macs;
    private final boolean[] used;
    private final int mask;
    private final int size;

    private KeyedTable(final Builder builder)
    {
        int capacity = 8;
        while (capacity < builder.count * 2)
        {
            capacity <<= 1;
        }
        this.mask = capacity - 1;
        this.first = new long[capacity];
        this.second = new long[capacity];
        this.locations = new int[capacity];
        this.macs = new long[capacity];
        this.used = new boolean[capacity];
        this.size = builder.count;
        for (int i = 0; i < builder.count; i++)
        {
            int slot = hash(builder.first[i], builder.second[i]) & mask;
            while (used[slot])
            {
                if (first[slot] == builder.first[i] && second[slot] == builder.second[i])
                {
                    throw new IllegalArgumentException("duplicate key");
                }
                slot = (slot + 1) & mask;
            }
            used[slot] = true;
            first[slot] = builder.first[i];
            second[slot] = builder.second[i];
            locations[slot] = builder.locations[i];
            macs[slot] = builder.macs[i];
        }
    }

    /**
     * @return a table with no entries.
     */
    public static KeyedTable empty()
    {
        return EMPTY;
    }

    static int hash(final long a, final long b)
    {
        long h = a * 0x9E37_79B9_7F4A_7C15L + b;
        h ^= h >>> 33;
        h *= 0xFF51_AFD7_ED55_8CCDL;
        h ^= h >>> 33;
        h *= 0xC4CE_B9FE_1A85_EC53L;
        h ^= h >>> 33;
        return (int)h;
    }

    /**
     * @return the slot holding the key, or {@link #ABSENT}.
     */
    public int find(final long a, final long b)
    {
        int slot = hash(a, b) & mask;
        while (used[slot])
        {
            if (first[slot] == a && second[slot] == b)
            {
                return slot;
            }
            slot = (slot + 1) & mask;
        }
        return ABSENT;
    }

    /**
     * @return the location stored in a slot returned by {@link #find}.
     */
    public int location(final int slot)
    {
        return locations[slot];
    }

    /**
     * @return the MAC stored in a slot returned by {@link #find}.
     */
    public long mac(final int slot)
    {
        return macs[slot];
    }

    /**
     * @return number of entries.
     */
    public int size()
    {
        return size;
    }

    /**
     * @return bytes of the arrays.
     */
    public long memoryBytes()
    {
        return (long)first.length * (8 + 8 + 4 + 8 + 1);
    }

    /**
     * Collects entries; duplicate keys are an error (the control plane validates before building).
     */
    public static final class Builder
    {
        private long[] first = new long[8];
        private long[] second = new long[8];
        private int[] locations = new int[8];
        private long[] macs = new long[8];
        private int count;

        /**
         * Adds an entry; a duplicate key makes {@link #build()} fail.
         */
        public Builder put(final long a, final long b, final int location, final long mac)
        {
            if (count == first.length)
            {
                first = java.util.Arrays.copyOf(first, count * 2);
                second = java.util.Arrays.copyOf(second, count * 2);
                locations = java.util.Arrays.copyOf(locations, count * 2);
                macs = java.util.Arrays.copyOf(macs, count * 2);
            }
            first[count] = a;
            second[count] = b;
            locations[count] = location;
            macs[count] = mac;
            count++;
            return this;
        }

        /**
         * @throws IllegalArgumentException when a key was put twice.
         */
        public KeyedTable build()
        {
            return count == 0 && EMPTY != null ? EMPTY : new KeyedTable(this);
        }
    }
}
