package io.vsnic.dataplane.table;

import java.util.Arrays;

/**
 * An immutable IPv4 longest-prefix-match route table: one version of one virtual network's routes,
 * mapping a destination address to a next-hop id. The control plane builds a new version with a
 * {@link Builder} and publishes it through one {@code volatile} reference (read-copy-update); data
 * plane workers read that reference once per burst and call {@link #lookup(int)}, which allocates
 * nothing, throws nothing and takes no lock. Every field is final and no array is written after
 * construction, so a table may be read by any number of threads.
 *
 * <h2>Layout: a leaf-pushed multibit trie, strides 16-8-8, with compressed chunks</h2>
 *
 * (The usual layout; very large tables use a /24 root and small ones an /8 root, both below.)
 * Everything lives in one {@code int[]}. The root is its first 65,536 entries, indexed by address
 * bits 31..16. Below a root entry whose /16 holds longer prefixes hangs a chunk indexed by bits
 * 15..8, and below a chunk entry whose /24 holds prefixes longer than /24 a chunk indexed by bits
 * 7..0. Leaf pushing: every entry already holds the best match for its whole range, so a walk never
 * backtracks. An entry is
 *
 * <pre>
 *   0 .. 2^30-1        a next-hop id
 *   -1                 {@link #NO_ROUTE}
 *   2^30 | offset      a child chunk starting at {@code offset} in the same array
 * </pre>
 *
 * A chunk stands for 256 entries but stores one value per run of equal neighbours (in the spirit of
 * Poptrie's leaf compression, Asai and Ohara, SIGCOMM 2015):
 *
 * <pre>
 *   int 0..7   256-bit bitmap, four 64-bit words as (low, high) int pairs: bit i set when entry i
 *              starts a run (entry 0 always does)
 *   int 8      byte w = number of runs started in words 0..w-1 (at most 192, so a byte suffices)
 *   int 9..    one value per run, in order
 * </pre>
 *
 * Entry i is value number {@code runsBefore(word) + bitCount(word bits 0..i) - 1}: the header and
 * the value are two dependent loads, usually in the same or the next cache line. A lookup that ends
 * at the root takes one load, one that ends at a /16 chunk three (root, header, value), one that
 * needs a /24 chunk five. The lookup is written out level by level rather than as a loop, which
 * measured twice as fast at a million prefixes: the processor then overlaps the memory accesses of
 * consecutive lookups.
 *
 * <p>Why compressed rather than plain 256-entry chunks (the textbook DIR-16-8-8, one load per level,
 * which this class started as): in a leaf-pushed chunk most entries repeat their neighbours. On the
 * same 1,000,000 random prefixes plain chunks take 89 MB with BGP-like lengths and 535 MB with
 * uniform lengths /8../32, compressed chunks 10.6 MB and 30.5 MB. Lookups per second under JMH on a
 * 2-core EPYC guest (docs/performance.md), both layouts built from the same prefixes:
 *
 * <pre>
 *   prefixes                            compressed     plain chunks
 *   100,000 BGP-like (machine loaded)   79..89 M/s     60..65 M/s
 *   300,000 BGP-like (machine loaded)   77..78 M/s     44..53 M/s
 *   1M BGP-like, machine quiet          64 M/s         49..56 M/s
 *   1M BGP-like, machine loaded         16..38 M/s     54..59 M/s
 *   1M uniform,  machine loaded         11..29 M/s     41..47 M/s
 * </pre>
 *
 * Compressed tables are smaller everywhere and faster up to a few hundred thousand prefixes and on a
 * quiet machine; a million-prefix compressed table (10 to 30 MB) lives in the shared L3, so other
 * tenants that evict it cost it up to three quarters of its speed, while plain chunks go to DRAM
 * anyway and lose little. We keep compressed chunks up to Internet-sized tables (then the direct
 * root below takes over): with one table per virtual network, most of them small, and the pipeline's
 * other tables competing for the same caches, the eight- to seventeen-fold smaller footprint is worth
 * more. A large-table variant with plain /16 chunks and compressed /24 chunks (68 MB for a million
 * BGP-like prefixes) measured 20 M/s, consistently and unexplained, and was dropped.
 *
 * <p>Also measured and not adopted: a burst variant that walks 256 addresses level by level (for
 * more memory accesses in flight), and a branch-free last level (always reading a chunk and
 * selecting the result). Both looked faster in a standalone harness and were slower under JMH, by a
 * third to a half at a million prefixes.
 *
 * <h2>Direct /24 root for very large tables (DIR-24-8)</h2>
 *
 * A table of at least {@link #DIRECT_MIN_PREFIXES} prefixes (524,288 by default, an Internet-sized
 * table) gets a root of 2^24 entries indexed by address bits 31..8, with the compressed chunks above
 * only below /24 blocks that hold longer prefixes: DIR-24-8 (Gupta, Lin and McKeown, INFOCOM 1998; DPDK's
 * {@code rte_lpm}). A lookup is then one load for almost every destination, into a 64 MiB array that
 * misses every cache, and consecutive lookups overlap fully because none of them waits for an earlier
 * load of its own. Measured under JMH on the 2-vCPU Zen 5 guest (docs/performance.md, "Route lookup"),
 * both layouts built from the same prefixes, M lookups/s mean ± 99.9 %:
 *
 * <pre>
 *   prefixes               /16 root, compressed    direct /24 root    memory, compressed / direct
 *   100,000 BGP-like       121 ± 21                83 ± 3             3.1 / 67.2 MB
 *   300,000 BGP-like       105 ± 7                 85 ± 9             5.2 / 67.4 MB
 *   1M BGP-like            74 ± 18 (32, 38)        86 ± 3             10.6 / 68.1 MB
 *   1M uniform /8../32     56 ± 26 (34, 29)        74 ± 4             30.5 / 89.1 MB
 * </pre>
 *
 * (in brackets: two runs of the compressed layout an hour before, same machine). Below a few hundred
 * thousand prefixes the compressed table fits the caches and wins; at a million it spills into the
 * shared L3, where other tenants make it swing by 2-3× between runs, while the direct root goes to
 * memory every time and holds its figure. Building is faster too (one million BGP-like prefixes:
 * 221 against 282 ms from scratch, 13 against 38 ms after one change), since most prefixes are painted
 * straight into the root. The price is a fixed 64 MiB per table version (two
 * while an update is published). The daemon never gets there today: its journal holds the desired
 * state in entries of at most 16 MiB, about 250,000 routes in all (docs/operations.md, "The journal").
 *
 * <h2>Compact root for small tables</h2>
 *
 * Most virtual networks hold a handful of routes, for which a 65,536-entry root (256 KiB) would be
 * nearly all of the memory. A table with fewer than {@value #SMALL_MAX_BLOCKS} /16 and /24 blocks
 * holding longer prefixes gets a 256-entry root indexed by bits 31..24 and one more 8-bit level: ten
 * routes then take about 2 KiB and a hundred about 10 KiB. The deeper walk costs little because such
 * a table sits in L1 or L2.
 *
 * <h2>Building</h2>
 *
 * The prefix set is kept in table order (by address, then length) in two arrays beside the lookup
 * array: they back {@link #toBuilder()} and are never read by lookups. {@link Builder#build()} merges
 * the builder's pending changes into that order and writes the lookup array in one pass: since every
 * prefix comes before the prefixes nested in it, each chunk is painted in a 256-entry scratch array
 * (children first), compressed, and appended once. Chunks are laid out in address order.
 */
public final class Ipv4RouteTable
{
    /** Returned by {@link #lookup(int)} when no prefix covers the address. */
    public static final int NO_ROUTE = -1;
    /** Largest next-hop id: ids use 30 bits, bit 30 marks a child chunk. */
    public static final int MAX_NEXT_HOP = (1 << 30) - 1;

    static final int WIDE_ROOT_BITS = 16;
    static final int COMPACT_ROOT_BITS = 8;
    static final int DIRECT_ROOT_BITS = 24;
    /**
     * Tables of at least this many prefixes get the direct /24 root (system property
     * {@code vsnic.lpm.directRootPrefixes}, default 524,288; 0 turns the direct root off).
     */
    static final int DIRECT_MIN_PREFIXES = Integer.getInteger("vsnic.lpm.directRootPrefixes", 524_288);
    /** Tables with fewer /16 and /24 blocks holding longer prefixes get the compact root. */
    static final int SMALL_MAX_BLOCKS = 256;
    /** Tables of at most this many prefixes are looked up by a linear scan. */
    static final int LINEAR_MAX = 8;

    private static final int CHILD = 1 << 30;
    private static final int CHUNK_BITS = 8;
    private static final int CHUNK_ENTRIES = 1 << CHUNK_BITS;
    private static final int CHUNK_MASK = CHUNK_ENTRIES - 1;
    /** Chunk header: four 64-bit bitmap words as (low, high) int pairs, then the rank bases. */
    private static final int RANK_BASES = 8;
    private static final int HEADER_INTS = 9;
    /** Chunk offsets must stay below the child flag. */
    private static final long MAX_ENTRIES = CHILD;

    private static final Ipv4RouteTable EMPTY = of(new long[0], new int[0]);

    private final int[] entries;
    /**
     * Tables of at most {@value #LINEAR_MAX} prefixes (most virtual networks: their subnets and a
     * default route) are also kept as {network, mask, next hop} triples, longest prefix first, and
     * looked up by a scan that stops at the first match: a few compares in one cache line instead of
     * a walk of dependent loads through three levels. Null for larger tables.
     */
    private final int[] linear;
    private final int rootShift;
    private final int chunkCount;
    /** The prefix set in table order: {@code (unsigned address << 8) | length}. Not used by lookups. */
    private final long[] keys;
    private final int[] nextHops;

    private Ipv4RouteTable(final long[] keys, final int[] nextHops, final int rootBits)
    {
        if (rootBits != WIDE_ROOT_BITS && rootBits != COMPACT_ROOT_BITS && rootBits != DIRECT_ROOT_BITS)
        {
            throw new IllegalArgumentException("rootBits must be 8, 16 or 24: " + rootBits);
        }
        this.keys = keys;
        this.nextHops = nextHops;
        final Assembler assembler = new Assembler(keys, nextHops, rootBits);
        this.entries = assembler.assemble();
        this.rootShift = 32 - rootBits;
        this.chunkCount = assembler.chunks;
        this.linear = keys.length <= LINEAR_MAX ? linear(keys, nextHops) : null;
    }

    private static int[] linear(final long[] keys, final int[] nextHops)
    {
        // longest first; prefixes of equal length cannot overlap, so their order does not matter
        final int[] triples = new int[keys.length * 3];
        int at = 0;
        for (int length = 32; length >= 0; length--)
        {
            for (int i = 0; i < keys.length; i++)
            {
                if (((int)keys[i] & 0xFF) == length)
                {
                    triples[at++] = (int)(keys[i] >>> 8);
                    triples[at++] = length == 0 ? 0 : -1 << (32 - length);
                    triples[at++] = nextHops[i];
                }
            }
        }
        return triples;
    }

    /**
     * Builds the table of a prefix set in table order, choosing the root width.
     */
    static Ipv4RouteTable of(final long[] keys, final int[] nextHops)
    {
        if (DIRECT_MIN_PREFIXES > 0 && keys.length >= DIRECT_MIN_PREFIXES)
        {
            return new Ipv4RouteTable(keys, nextHops, DIRECT_ROOT_BITS);
        }
        final boolean small = countBlocks(keys, SMALL_MAX_BLOCKS) < SMALL_MAX_BLOCKS;
        return new Ipv4RouteTable(keys, nextHops, small ? COMPACT_ROOT_BITS : WIDE_ROOT_BITS);
    }

    /**
     * @return the number of /16 blocks holding prefixes longer than /16 plus the number of /24 blocks
     *         holding prefixes longer than /24 (the chunks of the 16-8-8 layout), counting up to
     *         {@code limit} only.
     */
    static int countBlocks(final long[] keys, final int limit)
    {
        long previous16 = -1;
        long previous24 = -1;
        int blocks = 0;
        for (int i = 0; i < keys.length && blocks < limit; i++)
        {
            final long address = keys[i] >>> 8;
            final int length = (int)keys[i] & 0xFF;
            if (length > 16 && address >>> 16 != previous16)
            {
                previous16 = address >>> 16;
                blocks++;
            }
            if (length > 24 && address >>> 8 != previous24)
            {
                previous24 = address >>> 8;
                blocks++;
            }
        }
        return blocks;
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
     * allocation, no exception.
     *
     * @param address IPv4 destination in network order, first octet in the high byte.
     * @return the next-hop id, or {@link #NO_ROUTE}.
     */
    public int lookup(final int address)
    {
        final int[] l = linear;
        if (l != null)
        {
            for (int i = 0; i < l.length; i += 3)
            {
                if ((address & l[i + 1]) == l[i])
                {
                    return l[i + 2];
                }
            }
            return NO_ROUTE;
        }
        final int[] t = entries;
        final int shift = rootShift;
        int entry = t[address >>> shift];
        if (entry >= CHILD)
        {
            entry = chunkEntry(t, entry ^ CHILD, (address >>> (shift - CHUNK_BITS)) & CHUNK_MASK);
            // (a direct root's /24 chunks hold only leaves: it never gets past this level)
            if (entry >= CHILD)
            {
                entry = chunkEntry(t, entry ^ CHILD, (address >>> (shift - 2 * CHUNK_BITS)) & CHUNK_MASK);
                if (entry >= CHILD)
                {
                    // only the compact root has a fourth level
                    entry = chunkEntry(t, entry ^ CHILD, address & CHUNK_MASK);
                }
            }
        }
        return entry;
    }

    /**
     * A lookup's first load on its own: the root entry for {@code address}, returned so that the load
     * is not dropped. It depends on nothing but the address, so a vector of frames can issue it for
     * all its destinations before their lookups and have their cache misses overlap (the Java stand-in
     * for a prefetch): a table of a million prefixes misses every cache, and one miss at a time cost
     * the worker loop about 0.4 µs per frame.
     *
     * @return the root entry (0 for a linearly scanned table, which has no root).
     */
    public int touch(final int address)
    {
        return linear != null ? 0 : entries[address >>> rootShift];
    }

    /**
     * @return entry {@code index} of the chunk at {@code chunk}: the value of the run it belongs to,
     *         whose number is the count of run starts up to and including {@code index}, minus one.
     */
    private static int chunkEntry(final int[] t, final int chunk, final int index)
    {
        final int word = index >>> 6;
        final int low = chunk + (word << 1);
        final long bits = (long)t[low + 1] << 32 | (t[low] & 0xFFFF_FFFFL);
        // bits << (63 - index) keeps bits 0..index of the word (shift counts are taken mod 64)
        final int rank = ((t[chunk + RANK_BASES] >>> (word << 3)) & 0xFF) + Long.bitCount(bits << (63 - index)) - 1;
        return t[chunk + HEADER_INTS + rank];
    }

    /**
     * @return number of prefixes.
     */
    public int size()
    {
        return keys.length;
    }

    /**
     * @return bytes of the lookup array (4 per int; the array header and the prefix list kept for
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
     * @return true when lookups scan the prefixes (at most {@value #LINEAR_MAX}) instead of walking the trie.
     */
    boolean scansLinearly()
    {
        return linear != null;
    }

    /**
     * @return bits of the address the root indexes: 16, 8 for the compact root, 24 for the direct root.
     */
    int rootBits()
    {
        return 32 - rootShift;
    }

    /**
     * @return number of chunks below the root.
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
     * Writes a prefix set in table order into the lookup array in one pass: the root directly, each
     * chunk first as 256 plain entries in a scratch array of its depth (starting from the entry it
     * replaces, the best match so far for its whole range), then compressed onto the end of the
     * output. A chunk's children are finished before the chunk itself, so it is written once.
     */
    private static final class Assembler
    {
        private final long[] keys;
        private final int[] hops;
        private final int rootBits;
        private final int[][] scratch = new int[3][CHUNK_ENTRIES];
        private int[] out;
        private int size;
        private int chunks;

        Assembler(final long[] keys, final int[] hops, final int rootBits)
        {
            this.keys = keys;
            this.hops = hops;
            this.rootBits = rootBits;
            // the root, then room for chunks: under a /16 root about eight ints per prefix; under the
            // direct root only /24 blocks holding longer prefixes have one, at most 265 ints each
            final long chunkRoom = rootBits == DIRECT_ROOT_BITS ? directChunkRoom(keys) : keys.length * 8L;
            this.out = new int[(int)Math.min(MAX_ENTRIES, (1L << rootBits) + Math.min(chunkRoom, 1 << 24))];
            this.size = 1 << rootBits;
        }

        int[] assemble()
        {
            final int rootEntries = 1 << rootBits;
            Arrays.fill(out, 0, rootEntries, NO_ROUTE);
            final int rootShift = 32 - rootBits;
            int i = 0;
            while (i < keys.length)
            {
                final int address = (int)(keys[i] >>> 8);
                final int length = (int)keys[i] & 0xFF;
                final int index = address >>> rootShift;
                if (length <= rootBits)
                {
                    Arrays.fill(out, index, index + (1 << (rootBits - length)), hops[i]);
                    i++;
                }
                else
                {
                    // every prefix that follows inside this root entry is longer than the root level
                    int end = i + 1;
                    while (end < keys.length && (int)(keys[end] >>> 8) >>> rootShift == index)
                    {
                        end++;
                    }
                    final int offset = chunk(i, end, out[index], rootShift - CHUNK_BITS, 0);
                    // append() may have replaced out: write the root entry into the current one
                    out[index] = CHILD | offset;
                    i = end;
                }
            }
            // a little slack is cheaper than copying a direct root's 64 MiB once more
            final boolean keep = size == out.length || rootBits == DIRECT_ROOT_BITS && out.length - size <= out.length >>> 6;
            return keep ? out : Arrays.copyOf(out, size);
        }

        /**
         * @return an upper bound of the ints the /24 chunks under a direct root take: each /24 block
         *     holding {@code p} longer prefixes gets one chunk of at most {@code 1 + 2p} runs (each prefix
         *     paints one range, which starts at most two new runs), and never more than 256.
         */
        private static long directChunkRoom(final long[] keys)
        {
            long room = 0;
            long block = -1;
            int inBlock = 0;
            for (final long key : keys)
            {
                if (((int)key & 0xFF) <= DIRECT_ROOT_BITS)
                {
                    continue;
                }
                final long address = key >>> 8;
                if (address >>> 8 != block)
                {
                    room += inBlock == 0 ? 0 : HEADER_INTS + Math.min(CHUNK_ENTRIES, 1 + 2 * inBlock);
                    block = address >>> 8;
                    inBlock = 0;
                }
                inBlock++;
            }
            return room + (inBlock == 0 ? 0 : HEADER_INTS + Math.min(CHUNK_ENTRIES, 1 + 2 * inBlock));
        }

        /**
         * Builds the chunk indexed by address bits {@code [shift, shift + 8)} for the prefixes
         * {@code [from, to)}, which all lie inside one entry of the level above and are longer than it.
         *
         * @return the chunk's offset in the lookup array.
         */
        private int chunk(final int from, final int to, final int background, final int shift, final int depth)
        {
            final int[] plain = scratch[depth];
            Arrays.fill(plain, background);
            final int end = 32 - shift;
            int i = from;
            while (i < to)
            {
                final int address = (int)(keys[i] >>> 8);
                final int length = (int)keys[i] & 0xFF;
                final int index = (address >>> shift) & CHUNK_MASK;
                if (length <= end)
                {
                    Arrays.fill(plain, index, index + (1 << (end - length)), hops[i]);
                    i++;
                }
                else
                {
                    int groupEnd = i + 1;
                    while (groupEnd < to && (((int)(keys[groupEnd] >>> 8) >>> shift) & CHUNK_MASK) == index)
                    {
                        groupEnd++;
                    }
                    plain[index] = CHILD | chunk(i, groupEnd, plain[index], shift - CHUNK_BITS, depth + 1);
                    i = groupEnd;
                }
            }
            return append(plain);
        }

        /**
         * Appends a chunk in compressed form: run-start bitmap, rank bases, one value per run.
         *
         * @return the chunk's offset.
         */
        private int append(final int[] plain)
        {
            int needed = HEADER_INTS + 1;
            for (int index = 1; index < CHUNK_ENTRIES; index++)
            {
                needed += plain[index] != plain[index - 1] ? 1 : 0;
            }
            if (size + needed > out.length)
            {
                // double the chunk area (not a direct root's 64 MiB with it)
                final long grown = Math.max((long)out.length + Math.max(size - (1L << rootBits), 1024), (long)size + needed);
                if (grown > MAX_ENTRIES)
                {
                    throw new IllegalStateException("IPv4 route table of " + keys.length +
                        " prefixes needs more than " + MAX_ENTRIES + " entries");
                }
                out = Arrays.copyOf(out, (int)grown);
            }
            final int offset = size;
            int runs = 0;
            int rankBases = 0;
            for (int word = 0; word < CHUNK_ENTRIES / 64; word++)
            {
                rankBases |= runs << (word << 3);
                long bits = 0;
                for (int bit = 0; bit < 64; bit++)
                {
                    final int index = word << 6 | bit;
                    if (index == 0 || plain[index] != plain[index - 1])
                    {
                        bits |= 1L << bit;
                        out[offset + HEADER_INTS + runs++] = plain[index];
                    }
                }
                out[offset + (word << 1)] = (int)bits;
                out[offset + (word << 1) + 1] = (int)(bits >>> 32);
            }
            out[offset + RANK_BASES] = rankBases;
            size = offset + HEADER_INTS + runs;
            chunks++;
            return offset;
        }
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
         * A table of {@link #DIRECT_MIN_PREFIXES} prefixes or more takes a 64 MiB root on the heap (the
         * direct /24 root), so each version of it needs that much heap, and the previous version stays
         * reachable until the readers have moved on.
         *
         * @return a new table, or the last one built if nothing changed since.
         */
        public Ipv4RouteTable build()
        {
            if (changes.size() > 0)
            {
                merge();
                built = of(baseKeys, baseHops);
            }
            return built;
        }

        /**
         * Builds with a given root width, for tests that check both layouts on the same prefixes.
         */
        Ipv4RouteTable build(final int rootBits)
        {
            merge();
            return new Ipv4RouteTable(baseKeys, baseHops, rootBits);
        }

        /**
         * Merges the pending changes into a new sorted prefix list, which becomes the base.
         */
        private void merge()
        {
            final int changeCount = changes.size();
            if (changeCount == 0)
            {
                return;
            }
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
            baseKeys = keys;
            baseHops = hops;
            changes = new PrefixMap(16);
        }

        /**
         * @return whether the prefix is in the set the next {@link #build()} will hold (with the changes so far).
         */
        public boolean contains(final int prefix, final int length)
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
