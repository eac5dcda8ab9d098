package io.vsnic.dataplane.table;

import java.util.Arrays;

/**
 * An immutable IPv6 longest-prefix-match route table: one version of one virtual network's routes,
 * mapping a destination address (two {@code long}s in network order) to a next-hop id. Published and
 * read like {@link Ipv4RouteTable}: the control plane builds a version with a {@link Builder} and
 * publishes it through a {@code volatile} reference; workers call {@link #lookup(long, long)},
 * which allocates nothing, throws nothing and takes no lock. Every field is final and no array is
 * written after construction.
 *
 * <h2>Structure: binary search on prefix lengths (Waldvogel et al., SIGCOMM 1997)</h2>
 *
 * The table keeps the sorted list of prefix lengths present (excluding /0, which is the starting
 * "best match") and one open-addressing hash table holding, for every present length L, the
 * prefixes of length L. A lookup binary-searches the lengths: at length L it masks the address to
 * L bits and probes the hash table; a hit means "the answer is at least this long, search longer",
 * a miss "search shorter". To make a hit at L mean that, each prefix leaves <em>markers</em> (its
 * first L' bits) at the shorter lengths L' where the binary search towards its own length turns
 * right; each marker and prefix entry stores its precomputed best matching prefix (the longest
 * real prefix that is a prefix of it, /0 included), so the answer is simply the value of the last
 * hit. A lookup costs at most {@code ceil(log2(m + 1))} probes for m distinct lengths: 3 probes for
 * a typical virtual-network table (/0, /48, /56, /64, /128), 5 for the BGP-like table of the
 * benchmark (31 lengths), 8 for all 128 lengths; each probe hashes the masked address and reads one
 * 24-byte slot (high, low, length|value) of a table at most half full. Memory is O(n log m): one
 * entry per prefix plus at most {@code log2 m} markers, which coincide when prefixes share a
 * covering block; measured about 3.4 entries and 200 to 250 bytes per prefix for random BGP-like
 * prefixes.
 *
 * <p>Why not a 16-8-8-... multibit trie as for IPv4: with 8-bit strides a /48 sits four chunk
 * levels below the root and a /64 six, each a dependent walk, and random /48s in 2000::/3 share
 * almost no chunks below the /24 level: about three new chunks per prefix, an estimated 300 MB for
 * 100,000 prefixes with plain 1 KiB chunks, and with IPv4-style compressed chunks (about 50 bytes
 * each when they hold one prefix) no smaller than the hash table, which measured 25 MB for that set
 * (see {@code docs/performance.md}) with at most 5 probes.
 *
 * <p>Measured alternatives: a one-multiplication (Fibonacci) slot hash instead of a SplitMix-style
 * mix saved 10 to 15 % per lookup; interleaving four lookups in lockstep helped at 100,000 prefixes
 * (about 1.4 times) but cost a third more at 1,000, where mispredicted search branches dominate, so
 * there is no burst variant.
 *
 * <h2>Building</h2>
 *
 * The prefix set is kept in table order (by address, then length) beside the lookup arrays, for
 * {@link #toBuilder()}. The build walks it once with a stack of the covering prefixes of the
 * current one (table order puts a prefix before everything nested in it), so each marker's best
 * match is found on the stack without extra probes.
 */
public final class Ipv6RouteTable
{
    /** Returned by {@link #lookup(long, long)} when no prefix covers the address. */
    public static final int NO_ROUTE = -1;
    /** Largest next-hop id, the same 30 bits as IPv4. */
    public static final int MAX_NEXT_HOP = (1 << 30) - 1;

    /** The third long of a free slot; a used slot holds {@code (length << 32) | (value & 0xFFFFFFFF)}. */
    private static final long FREE = -1L;
    private static final int SLOT_LONGS = 3;
    private static final int LEVEL_LONGS = 3;
    private static final int MAX_SLOTS = 1 << 29;

    private static final Ipv6RouteTable EMPTY = new Ipv6RouteTable(new long[0], new long[0], new int[0], new int[0]);

    /** Hash table: {@code [maskedHigh, maskedLow, length << 32 | bestMatch]} per slot. */
    private final long[] slots;
    private final int slotMask;
    private final int slotShift;
    /** Present lengths ascending (without /0): {@code [highMask, lowMask, length]} per level. */
    private final long[] levels;
    private final int levelCount;
    private final int defaultHop;
    private final int entryCount;
    /** The prefix set in table order. Not used by lookups. */
    private final long[] highs;
    private final long[] lows;
    private final int[] lengths;
    private final int[] nextHops;

    private Ipv6RouteTable(final long[] highs, final long[] lows, final int[] lengths, final int[] nextHops)
    {
        this.highs = highs;
        this.lows = lows;
        this.lengths = lengths;
        this.nextHops = nextHops;
        final int n = lengths.length;

        int defaultRoute = NO_ROUTE;
        final boolean[] present = new boolean[129];
        for (int i = 0; i < n; i++)
        {
            if (lengths[i] == 0)
            {
                defaultRoute = nextHops[i];
            }
            else
            {
                present[lengths[i]] = true;
            }
        }
        final int[] levelOf = new int[129];
        int m = 0;
        for (int length = 1; length <= 128; length++)
        {
            if (present[length])
            {
                levelOf[length] = m++;
            }
        }
        final long[] lv = new long[m * LEVEL_LONGS];
        for (int length = 1; length <= 128; length++)
        {
            if (present[length])
            {
                final int l = levelOf[length] * LEVEL_LONGS;
                lv[l] = Prefixes.ipv6HighMask(length);
                lv[l + 1] = Prefixes.ipv6LowMask(length);
                lv[l + 2] = length;
            }
        }
        // For each level, the shorter levels where a binary search towards it turns right: its markers.
        final int[][] markerLevels = new int[m][];
        final int[] path = new int[32];
        for (int target = 0; target < m; target++)
        {
            int count = 0;
            int lo = 0;
            int hi = m - 1;
            while (lo <= hi)
            {
                final int mid = (lo + hi) >>> 1;
                if (mid == target)
                {
                    break;
                }
                if (mid < target)
                {
                    path[count++] = mid;
                    lo = mid + 1;
                }
                else
                {
                    hi = mid - 1;
                }
            }
            markerLevels[target] = Arrays.copyOf(path, count);
        }

        long bound = 0;
        for (int i = 0; i < n; i++)
        {
            if (lengths[i] != 0)
            {
                bound += 1 + markerLevels[levelOf[lengths[i]]].length;
            }
        }
        long[] table = newSlots(bound, n);

        final long[] stackHighs = new long[129];
        final long[] stackLows = new long[129];
        final int[] stackLengths = new int[129];
        final int[] stackHops = new int[129];
        int depth = 0;
        int entries = 0;
        for (int i = 0; i < n; i++)
        {
            final long high = highs[i];
            final long low = lows[i];
            final int length = lengths[i];
            if (length == 0)
            {
                continue;
            }
            while (depth > 0 &&
                !covers(stackHighs[depth - 1], stackLows[depth - 1], stackLengths[depth - 1], high, low))
            {
                depth--;
            }
            if (insert(table, high, low, length, nextHops[i]))
            {
                entries++;
            }
            for (final int level : markerLevels[levelOf[length]])
            {
                final int markerLength = (int)lv[level * LEVEL_LONGS + 2];
                int best = defaultRoute;
                for (int s = depth - 1; s >= 0; s--)
                {
                    if (stackLengths[s] <= markerLength)
                    {
                        best = stackHops[s];
                        break;
                    }
                }
                final long markerHigh = high & lv[level * LEVEL_LONGS];
                final long markerLow = low & lv[level * LEVEL_LONGS + 1];
                if (insert(table, markerHigh, markerLow, markerLength, best))
                {
                    entries++;
                }
            }
            stackHighs[depth] = high;
            stackLows[depth] = low;
            stackLengths[depth] = length;
            stackHops[depth++] = nextHops[i];
        }
        if (slotCount(entries) < table.length / SLOT_LONGS)
        {
            table = rehash(table, entries);
        }
        this.slots = table;
        this.slotMask = table.length / SLOT_LONGS - 1;
        this.slotShift = Long.numberOfLeadingZeros(slotMask);
        this.levels = lv;
        this.levelCount = m;
        this.defaultHop = defaultRoute;
        this.entryCount = entries;
    }

    /**
     * Fibonacci hashing: one multiplication, and the slot is the top bits of the product, which depend
     * on every bit of the key (the masked keys end in long runs of zeros, so low bits would not do).
     *
     * @return the home slot of a key in a table of {@code 2^(64 - shift)} slots.
     */
    private static int home(final long high, final long low, final long length, final int shift)
    {
        return (int)(((high ^ low * 0xC2B2AE3D27D4EB4FL ^ length) * 0x9E3779B97F4A7C15L) >>> shift);
    }

    /**
     * @return whether the prefix {@code (coverHigh, coverLow)/coverLength} covers the address.
     */
    private static boolean covers(final long coverHigh, final long coverLow, final int coverLength, final long high,
        final long low)
    {
        return (high & Prefixes.ipv6HighMask(coverLength)) == coverHigh &&
            (low & Prefixes.ipv6LowMask(coverLength)) == coverLow;
    }

    /**
     * @return a power of two at least twice {@code entries} (load at most one half), at least 2.
     */
    private static int slotCount(final long entries)
    {
        long count = 2;
        while (count < 2 * entries)
        {
            count <<= 1;
        }
        return (int)Math.min(count, Integer.MAX_VALUE);
    }

    private static long[] newSlots(final long entries, final int prefixes)
    {
        final int count = slotCount(entries);
        if (count > MAX_SLOTS)
        {
            throw new IllegalStateException("IPv6 route table of " + prefixes + " prefixes needs " + entries +
                " hash entries, more than " + MAX_SLOTS / 2);
        }
        final long[] table = new long[count * SLOT_LONGS];
        for (int p = 2; p < table.length; p += SLOT_LONGS)
        {
            table[p] = FREE;
        }
        return table;
    }

    /**
     * Puts a key into the hash table unless it is there (a marker or prefix entry with the same key
     * always carries the same best match, so the first one wins).
     *
     * @return whether the key was added.
     */
    private static boolean insert(final long[] table, final long high, final long low, final int length,
        final int value)
    {
        final int mask = table.length / SLOT_LONGS - 1;
        int slot = home(high, low, length, Long.numberOfLeadingZeros(mask));
        while (true)
        {
            final int p = slot * SLOT_LONGS;
            final long meta = table[p + 2];
            if (meta == FREE)
            {
                table[p] = high;
                table[p + 1] = low;
                table[p + 2] = (long)length << 32 | (value & 0xFFFF_FFFFL);
                return true;
            }
            if (table[p] == high && table[p + 1] == low && meta >>> 32 == length)
            {
                return false;
            }
            slot = (slot + 1) & mask;
        }
    }

    private static long[] rehash(final long[] old, final int entries)
    {
        final long[] table = newSlots(entries, entries);
        for (int p = 0; p < old.length; p += SLOT_LONGS)
        {
            final long meta = old[p + 2];
            if (meta != FREE)
            {
                insert(table, old[p], old[p + 1], (int)(meta >>> 32), (int)meta);
            }
        }
        return table;
    }

    /**
     * @return the table without routes (shared; its lookups return {@link #NO_ROUTE}).
     */
    public static Ipv6RouteTable empty()
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
     * Finds the next hop of the longest prefix that covers the address. Hot path: no allocation, no
     * exception, at most {@code ceil(log2(m + 1))} hash probes for m distinct prefix lengths.
     *
     * @param high destination address bytes 0..7 in network order.
     * @param low  destination address bytes 8..15.
     * @return the next-hop id, or {@link #NO_ROUTE}.
     */
    public int lookup(final long high, final long low)
    {
        final long[] lv = levels;
        final long[] s = slots;
        final int mask = slotMask;
        final int shift = slotShift;
        int best = defaultHop;
        int lo = 0;
        int hi = levelCount - 1;
        while (lo <= hi)
        {
            final int mid = (lo + hi) >>> 1;
            final int l = mid * LEVEL_LONGS;
            final long keyHigh = high & lv[l];
            final long keyLow = low & lv[l + 1];
            final long length = lv[l + 2];
            int slot = home(keyHigh, keyLow, length, shift);
            while (true)
            {
                final int p = slot * SLOT_LONGS;
                final long meta = s[p + 2];
                if (meta == FREE)
                {
                    hi = mid - 1;
                    break;
                }
                if (s[p] == keyHigh && s[p + 1] == keyLow && meta >>> 32 == length)
                {
                    best = (int)meta;
                    lo = mid + 1;
                    break;
                }
                slot = (slot + 1) & mask;
            }
        }
        return best;
    }

    /**
     * @return number of prefixes.
     */
    public int size()
    {
        return lengths.length;
    }

    /**
     * @return bytes of the lookup arrays (hash slots and level masks; array headers and the prefix
     *         list kept for {@link #toBuilder()} not included).
     */
    public long memoryBytes()
    {
        return (long)(slots.length + levels.length) * Long.BYTES;
    }

    /**
     * @return a builder holding this table's prefixes; building it unchanged returns this table.
     */
    public Builder toBuilder()
    {
        return new Builder(this);
    }

    /**
     * @return number of distinct prefix lengths other than /0 (the binary search runs over these).
     */
    int levelCount()
    {
        return levelCount;
    }

    /**
     * @return number of hash entries: prefixes other than /0 plus markers that are not prefixes.
     */
    int entryCount()
    {
        return entryCount;
    }

    @Override
    public String toString()
    {
        return "Ipv6RouteTable{prefixes=" + lengths.length + ", lengths=" + levelCount + ", entries=" + entryCount +
            ", slots=" + slots.length / SLOT_LONGS + ", memoryBytes=" + memoryBytes() + '}';
    }

    /**
     * Collects route changes and builds the next {@link Ipv6RouteTable} version; works like
     * {@link Ipv4RouteTable.Builder}. Control plane only; not thread-safe.
     */
    public static final class Builder
    {
        private static final int REMOVED = -1;

        private long[] baseHighs;
        private long[] baseLows;
        private int[] baseLengths;
        private int[] baseHops;
        private Ipv6RouteTable built;
        private PrefixMap changes;
        private int size;

        private Builder(final Ipv6RouteTable from)
        {
            baseHighs = from.highs;
            baseLows = from.lows;
            baseLengths = from.lengths;
            baseHops = from.nextHops;
            built = from;
            changes = new PrefixMap(16);
            size = from.lengths.length;
        }

        /**
         * Adds a route, or replaces the next hop of an identical prefix.
         *
         * @param high    address bytes 0..7 in network order.
         * @param low     address bytes 8..15; bits beyond {@code length} must be zero.
         * @param length  prefix length 0..128.
         * @param nextHop next-hop id 0..{@link #MAX_NEXT_HOP}.
         * @return this builder.
         * @throws IllegalArgumentException naming the prefix, if it is invalid or the hop is out of range.
         */
        public Builder add(final long high, final long low, final int length, final int nextHop)
        {
            Prefixes.checkIpv6(high, low, length);
            if (nextHop < 0 || nextHop > MAX_NEXT_HOP)
            {
                throw new IllegalArgumentException("next hop " + nextHop + " of " +
                    Prefixes.formatIpv6(high, low, length) + " is outside 0.." + MAX_NEXT_HOP);
            }
            if (!contains(high, low, length))
            {
                size++;
            }
            changes.put(high, low, length, nextHop);
            return this;
        }

        /**
         * Removes a route; removing a prefix that is not present does nothing.
         *
         * @return this builder.
         * @throws IllegalArgumentException naming the prefix, if it is invalid.
         */
        public Builder remove(final long high, final long low, final int length)
        {
            Prefixes.checkIpv6(high, low, length);
            if (contains(high, low, length))
            {
                size--;
                changes.put(high, low, length, REMOVED);
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
         * Builds the table of the current prefix set (control plane work, off the hot path).
         *
         * @return a new table, or the last one built if nothing changed since.
         */
        public Ipv6RouteTable build()
        {
            if (changes.size() == 0)
            {
                return built;
            }
            final int changeCount = changes.size();
            final long[] changeHighs = new long[changeCount];
            final long[] changeLows = new long[changeCount];
            final int[] changeLengths = new int[changeCount];
            final int[] changeHops = new int[changeCount];
            int n = 0;
            for (int slot = 0; slot < changes.capacity(); slot++)
            {
                if (changes.isUsed(slot))
                {
                    changeHighs[n] = changes.highAt(slot);
                    changeLows[n] = changes.lowAt(slot);
                    changeLengths[n] = changes.lengthAt(slot);
                    changeHops[n++] = changes.valueAt(slot);
                }
            }
            PrefixSort.sort(changeHighs, changeLows, changeLengths, changeHops, n);

            final long[] highs = new long[size];
            final long[] lows = new long[size];
            final int[] lengths = new int[size];
            final int[] hops = new int[size];
            final int baseCount = baseLengths.length;
            int i = 0;
            int j = 0;
            int k = 0;
            while (i < baseCount || j < n)
            {
                final int c = j == n ? -1 : i == baseCount ? 1 :
                    PrefixSort.compare(baseHighs[i], baseLows[i], baseLengths[i], changeHighs[j], changeLows[j],
                        changeLengths[j]);
                if (c < 0)
                {
                    highs[k] = baseHighs[i];
                    lows[k] = baseLows[i];
                    lengths[k] = baseLengths[i];
                    hops[k++] = baseHops[i++];
                }
                else
                {
                    if (c == 0)
                    {
                        i++;
                    }
                    if (changeHops[j] != REMOVED)
                    {
                        highs[k] = changeHighs[j];
                        lows[k] = changeLows[j];
                        lengths[k] = changeLengths[j];
                        hops[k++] = changeHops[j];
                    }
                    j++;
                }
            }
            if (k != size)
            {
                throw new IllegalStateException("merged " + k + " prefixes, expected " + size);
            }
            built = new Ipv6RouteTable(highs, lows, lengths, hops);
            baseHighs = highs;
            baseLows = lows;
            baseLengths = lengths;
            baseHops = hops;
            changes = new PrefixMap(16);
            return built;
        }

        /**
         * @return whether the prefix is in the set the next {@link #build()} will hold (with the changes so far).
         */
        public boolean contains(final long high, final long low, final int length)
        {
            final int change = changes.get(high, low, length);
            if (change != PrefixMap.MISSING)
            {
                return change != REMOVED;
            }
            int lo = 0;
            int hi = baseLengths.length - 1;
            while (lo <= hi)
            {
                final int mid = (lo + hi) >>> 1;
                final int c = PrefixSort.compare(baseHighs[mid], baseLows[mid], baseLengths[mid], high, low, length);
                if (c == 0)
                {
                    return true;
                }
                if (c < 0)
                {
                    lo = mid + 1;
                }
                else
                {
                    hi = mid - 1;
                }
            }
            return false;
        }
    }
}
