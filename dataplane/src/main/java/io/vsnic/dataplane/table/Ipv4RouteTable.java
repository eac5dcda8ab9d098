package io.vsnic.dataplane.table;

import java.util.Arrays;

/**
 * An immutable IPv4 longest-prefix-match route table: one version of one virtual network's routes,
 * mapping a destination address to a next-hop id. The control plane builds a new version with a
 * {@link Builder} and publishes it through one {@code volatile} reference (read-copy-update); data
 * plane workers read that reference once per burst and call {@link #lookup(int)}, which allocates
 * nothing, throws nothing, takes no lock and makes at most three dependent array loads (four in the
 * compact layout below). Every field is final and no array is written after construction, so a
 * table may be read by any number of threads.
 *
 * <h2>Layout: a leaf-pushed multibit trie, strides 16-8-8 (DIR-16-8-8)</h2>
 *
 * All entries live in one {@code int[]}, in blocks of 256 ("chunks"). The root is the first
 * 65,536 entries, indexed by address bits 31..16. Chunks are added only below root entries that
 * have longer prefixes, and only below chunk entries (bits 15..8) that have prefixes longer than
 * /24; the last level is indexed by bits 7..0. An entry holds one of
 *
 * <pre>
 *   0 .. 2^30-1        next-hop id: the longest prefix covering every address that reaches here
 *   -1                 {@link #NO_ROUTE}
 *   2^30 | k           child chunk number k (entries [256k, 256k+256)), k below 2^23
 * </pre>
 *
 * so a lookup is {@code e = t[a >>> 16]; while (e >= 2^30) e = t[(e << 8) | next byte of a]}:
 * {@code e << 8} shifts the child flag (bit 30) out of the int and leaves {@code 256k}. Leaf
 * pushing (every entry already holds its best match) means the walk needs no backtracking and no
 * per-level "best so far".
 *
 * <p>The strides put the two commonest lengths of real tables, /16 and /24, on level boundaries,
 * and the root costs 256 KiB instead of DIR-24-8's fixed 64 MiB tbl24, which matters with one table
 * per virtual network. A chunk costs 1 KiB, so a table needs {@code 256 KiB + 1 KiB x (distinct /16s
 * holding longer prefixes + distinct /24s holding prefixes longer than /24)}: measured 66 MiB for a
 * million BGP-like prefixes (see {@code docs/performance.md}).
 *
 * <h2>Compact layout for small tables: strides 8-8-8-8</h2>
 *
 * Most virtual networks hold a handful of routes, for which the 65,536-entry root would be nearly
 * all of the memory (hundreds of networks x 256 KiB). When a table's chunks are few, the builder
 * uses a 256-entry root indexed by bits 31..24 and one more 8-bit level, chosen when that needs at
 * most half the entries of the 16-8-8 layout (roughly: fewer than 250 chunks). A table with ten
 * /24s then takes about 21 KiB instead of 266 KiB. Its extra dependent load stays within L1/L2
 * because the whole table is that small; both layouts use the same lookup loop, which reads the
 * root shift from a final field (measured in {@code docs/performance.md}).
 *
 * <h2>Building</h2>
 *
 * The prefix set is kept in table order (by address, then length) in two arrays beside the lookup
 * array: they back {@link #toBuilder()} and are not touched by lookups. {@link Builder#build()}
 * merges the builder's pending changes into that order, counts the chunks each layout needs, and
 * fills one exactly sized array in a single pass: since every prefix comes before the prefixes
 * nested in it, painting a prefix only ever overwrites entries of shorter, covering prefixes and
 * never meets a chunk below its own level. Chunks are numbered in address order, so neighbouring
 * prefixes share cache lines.
 */
public final class Ipv4RouteTable
{
    /** Returned by {@link #lookup(int)} when no prefix covers the address. */
    public static final int NO_ROUTE = -1;
    /** Largest next-hop id: ids use 30 bits, bit 30 marks a child chunk. */
    public static final int MAX_NEXT_HOP = (1 << 30) - 1;

    static final int WIDE_ROOT_BITS = 16;
    static final int COMPACT_ROOT_BITS = 8;
    private static final int CHILD = 1 << 30;
    private static final int CHUNK_BITS = 8;
    private static final int CHUNK_ENTRIES = 1 << CHUNK_BITS;
    private static final int CHUNK_MASK = CHUNK_ENTRIES - 1;
    /** Arrays of up to this many entries are safe to allocate on every JVM; 2^23 chunks would not fit. */
    private static final long MAX_ENTRIES = Integer.MAX_VALUE - 255;

    private static final Ipv4RouteTable EMPTY = new Ipv4RouteTable(new long[0], new int[0]);

    private final int[] entries;
    private final int rootShift;
    private final int chunkCount;
    /** The prefix set in table order: {@code (unsigned address << 8) | length}. Not used by lookups. */
    private final long[] keys;
    private final int[] nextHops;

    private Ipv4RouteTable(final long[] keys, final int[] nextHops)
    {
        this.keys = keys;
        this.nextHops = nextHops;

        long previous8 = -1;
        long previous16 = -1;
        long previous24 = -1;
        long chunks8 = 0;
        long chunks16 = 0;
        long chunks24 = 0;
        for (final long key : keys)
        {
            final long address = key >>> 8;
            final int length = (int)key & 0xFF;
            if (length > 8 && address >>> 24 != previous8)
            {
                previous8 = address >>> 24;
                chunks8++;
            }
            if (length > 16 && address >>> 16 != previous16)
            {
                previous16 = address >>> 16;
                chunks16++;
            }
            if (length > 24 && address >>> 8 != previous24)
            {
                previous24 = address >>> 8;
                chunks24++;
            }
        }
        final long wideEntries = (1L << WIDE_ROOT_BITS) + CHUNK_ENTRIES * (chunks16 + chunks24);
        final long compactEntries = (1L << COMPACT_ROOT_BITS) + CHUNK_ENTRIES * (chunks8 + chunks16 + chunks24);
        final int rootBits = 2 * compactEntries <= wideEntries ? COMPACT_ROOT_BITS : WIDE_ROOT_BITS;
        final long total = rootBits == COMPACT_ROOT_BITS ? compactEntries : wideEntries;
        if (total > MAX_ENTRIES)
        {
            throw new IllegalStateException("IPv4 route table of " + keys.length + " prefixes needs " + total +
                " entries, more than the " + MAX_ENTRIES + " one array can hold");
        }

        final int[] t = new int[(int)total];
        final int rootEntries = 1 << rootBits;
        Arrays.fill(t, 0, rootEntries, NO_ROUTE);
        int nextChunk = rootEntries >>> CHUNK_BITS;
        for (int i = 0; i < keys.length; i++)
        {
            nextChunk = paint(t, rootBits, nextChunk, (int)(keys[i] >>> 8), (int)keys[i] & 0xFF, nextHops[i]);
        }
        if ((long)nextChunk << CHUNK_BITS != total)
        {
            throw new IllegalStateException("IPv4 route table built " + nextChunk + " chunks of " + total / 256 +
                " counted: prefixes out of order");
        }
        this.entries = t;
        this.rootShift = 32 - rootBits;
        this.chunkCount = nextChunk - (rootEntries >>> CHUNK_BITS);
    }

    /**
     * Writes one prefix into the trie, adding the chunks on its path that do not exist yet (each
     * filled with the entry it replaces, which is the best match so far for its whole range).
     *
     * @return the next free chunk number.
     */
    private static int paint(final int[] t, final int rootBits, final int firstFreeChunk, final int address,
        final int length, final int nextHop)
    {
        int nextChunk = firstFreeChunk;
        int base = 0;
        int shift = 32 - rootBits;
        int indexMask = (1 << rootBits) - 1;
        while (length > 32 - shift)
        {
            final int slot = base + ((address >>> shift) & indexMask);
            final int entry = t[slot];
            if (entry >= CHILD)
            {
                base = entry << CHUNK_BITS;
            }
            else
            {
                base = nextChunk << CHUNK_BITS;
                Arrays.fill(t, base, base + CHUNK_ENTRIES, entry);
                t[slot] = CHILD | nextChunk;
                nextChunk++;
            }
            shift -= CHUNK_BITS;
            indexMask = CHUNK_MASK;
        }
        final int first = base + ((address >>> shift) & indexMask);
        Arrays.fill(t, first, first + (1 << (32 - shift - length)), nextHop);
        return nextChunk;
    }

    /**
     * @return the table without routes (shared; its lookups return {@link #NO_ROUTE}).
     */
    public static Ipv4RouteTable empty()
    {
        return EMPTY;
    }

    /**
     * @return an empty builder.
     */
    public static Builder builder()
    {
        return new Builder(EMPTY);
    }

    /**
     * Finds the next hop of the longest prefix that covers {@code address}. Hot path: no
     * allocation, no exception, at most three dependent loads (four in the compact layout).
     *
     * @param address IPv4 destination in network order, first octet in the high byte.
     * @return the next-hop id, or {@link #NO_ROUTE}.
     */
    public int lookup(final int address)
    {
        final int[] t = entries;
        int shift = rootShift;
        int entry = t[address >>> shift];
        while (entry >= CHILD)
        {
            shift -= CHUNK_BITS;
            entry = t[(entry << CHUNK_BITS) | ((address >>> shift) & CHUNK_MASK)];
        }
        return entry;
    }

    /**
     * @return number of prefixes.
     */
    public int size()
    {
        return keys.length;
    }

    /**
     * @return bytes of the lookup array (4 per entry; array header and the prefix list kept for
     *         {@link #toBuilder()} not included).
     */
    public long memoryBytes()
    {
        return (long)entries.length * Integer.BYTES;
    }

    /**
     * @return a builder holding this table's prefixes; building it unchanged returns this table.
     */
    public Builder toBuilder()
    {
        return new Builder(this);
    }

    /**
     * @return bits of the address the root level indexes: 16, or 8 for the compact layout.
     */
    int rootBits()
    {
        return 32 - rootShift;
    }

    /**
     * @return number of 256-entry chunks below the root.
     */
    int chunkCount()
    {
        return chunkCount;
    }

    @Override
    public String toString()
    {
        return "Ipv4RouteTable{prefixes=" + keys.length + ", rootBits=" + rootBits() + ", chunks=" + chunkCount +
            ", memoryBytes=" + memoryBytes() + '}';
    }

    /**
     * Collects route changes and builds the next {@link Ipv4RouteTable} version. It starts from a
     * table's prefix set (shared, never written) and keeps the changes in a primitive hash map;
     * {@link #build()} merges them in. Building does not reset the builder: it can go on changing
     * routes and build again. Control plane only; not thread-safe.
     */
    public static final class Builder
    {
        private static final int REMOVED = -1;

        private long[] baseKeys;
        private int[] baseHops;
        private Ipv4RouteTable built;
        private PrefixMap changes;
        private int size;

        private Builder(final Ipv4RouteTable from)
        {
            baseKeys = from.keys;
            baseHops = from.nextHops;
            built = from;
            changes = new PrefixMap(16);
            size = from.keys.length;
        }

        /**
         * Adds a route, or replaces the next hop of an identical prefix.
         *
         * @param prefix  network address in network order; bits beyond {@code length} must be zero.
         * @param length  prefix length 0..32.
         * @param nextHop next-hop id 0..{@link #MAX_NEXT_HOP}.
         * @return this builder.
         * @throws IllegalArgumentException naming the prefix, if it is invalid or the hop is out of range.
         */
        public Builder add(final int prefix, final int length, final int nextHop)
        {
            Prefixes.checkIpv4(prefix, length);
            if (nextHop < 0 || nextHop > MAX_NEXT_HOP)
            {
                throw new IllegalArgumentException("next hop " + nextHop + " of " +
                    Prefixes.formatIpv4(prefix, length) + " is outside 0.." + MAX_NEXT_HOP);
            }
            if (!contains(prefix, length))
            {
                size++;
            }
            changes.put(prefix & 0xFFFF_FFFFL, 0, length, nextHop);
            return this;
        }

        /**
         * Removes a route; removing a prefix that is not present does nothing.
         *
         * @return this builder.
         * @throws IllegalArgumentException naming the prefix, if it is invalid.
         */
        public Builder remove(final int prefix, final int length)
        {
            Prefixes.checkIpv4(prefix, length);
            if (contains(prefix, length))
            {
                size--;
                changes.put(prefix & 0xFFFF_FFFFL, 0, length, REMOVED);
            }
            return this;
        }

        /**
         * @return number of prefixes the next {@link #build()} will hold.
         */
        public int size()
        {
            return size;
        }

        /**
         * Builds the table of the current prefix set. Control plane work, off the hot path: about
         * O(n log n) for the changes plus O(n) for the table (measured in {@code docs/performance.md}).
         *
         * @return a new table, or the last one built if nothing changed since.
         */
        public Ipv4RouteTable build()
        {
            if (changes.size() == 0)
            {
                return built;
            }
            final int changeCount = changes.size();
            final long[] changeKeys = new long[changeCount];
            final int[] changeHops = new int[changeCount];
            int n = 0;
            for (int slot = 0; slot < changes.capacity(); slot++)
            {
                if (changes.isUsed(slot))
                {
                    changeKeys[n] = changes.highAt(slot) << 8 | changes.lengthAt(slot);
                    changeHops[n++] = changes.valueAt(slot);
                }
            }
            PrefixSort.sort(changeKeys, changeHops, n);

            final long[] keys = new long[size];
            final int[] hops = new int[size];
            int i = 0;
            int j = 0;
            int k = 0;
            while (i < baseKeys.length || j < n)
            {
                if (j == n || (i < baseKeys.length && baseKeys[i] < changeKeys[j]))
                {
                    keys[k] = baseKeys[i];
                    hops[k++] = baseHops[i++];
                }
                else
                {
                    if (i < baseKeys.length && baseKeys[i] == changeKeys[j])
                    {
                        i++;
                    }
                    if (changeHops[j] != REMOVED)
                    {
                        keys[k] = changeKeys[j];
                        hops[k++] = changeHops[j];
                    }
                    j++;
                }
            }
            if (k != size)
            {
                throw new IllegalStateException("merged " + k + " prefixes, expected " + size);
            }
            built = new Ipv4RouteTable(keys, hops);
            baseKeys = keys;
            baseHops = hops;
            changes = new PrefixMap(16);
            return built;
        }

        private boolean contains(final int prefix, final int length)
        {
            final int change = changes.get(prefix & 0xFFFF_FFFFL, 0, length);
            if (change != PrefixMap.MISSING)
            {
                return change != REMOVED;
            }
            return Arrays.binarySearch(baseKeys, (prefix & 0xFFFF_FFFFL) << 8 | length) >= 0;
        }
    }
}
