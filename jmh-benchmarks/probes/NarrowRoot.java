import java.util.Arrays;
import java.util.BitSet;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;

import io.vsnic.bench.LpmBenchmark;
import io.vsnic.dataplane.table.Ipv4RouteTable;
import io.vsnic.dataplane.table.Prefixes;

/**
 * Could any IPv4 layout look a million random prefixes up at 0.8 of the rate at a thousand (issue 3)?
 * {@code RandomReadBenchmark} says a random read costs about what a 1k lookup does up to about 8 MiB, so
 * this probe builds the smallest layout with one read for most destinations that the data model
 * allows, and times it beside {@link Ipv4RouteTable} in one JVM.
 *
 * <p>The layout ("narrow root", not built into vsnic): a root of 2^22 {@code short}s indexed by address bits
 * 31..10 (8 MiB). A root entry is either a leaf, an index into a table of the distinct next hops (vsnic
 * interns its next hops, so a network has as many as it has distinct targets; here 4,096), or a child:
 * four more {@code short}s for the /22 block's four /24s, which are leaves or 256-entry chunks for /24
 * blocks holding longer prefixes. Children are found through a base offset per /16. It is built from
 * {@link Ipv4RouteTable} itself (every /24 looked up), so it answers as the real table does, which the
 * probe checks on five million addresses before it times anything.
 *
 * <p>Timed, in rounds, each over 50 passes of 2^20 random destinations (as {@code LpmBenchmark}):
 * {@link Ipv4RouteTable} at 1,000 prefixes (the ratio's denominator) and at 1,000,000 (the direct /24 root),
 * the narrow root's lookup one destination at a time and in vectors of 256 looked up in three passes
 * ({@link Narrow#lookupStaged}), and two bounds of what any layout with this root could do: the root read and
 * the next-hop table read alone (wrong answers for the 16 % of destinations below a child), and the root
 * read alone. Run from the repository root after {@code ./mvnw -q -DskipTests package} (in
 * {@code jmh-benchmarks}, which holds the dataplane classes):
 *
 * <pre>
 * java -Xmx8g -cp jmh-benchmarks/target/benchmarks.jar jmh-benchmarks/probes/NarrowRoot.java [hops] [rounds]
 * </pre>
 *
 * Lengths are {@code LpmBenchmark}'s BGP-like mix (60 % /24, 35 % /16../23, 3 % /8../15, 2 % /25../32); next hops
 * default to 4,096, shared round robin. Each variant has a method of its own, compiled on its own.
 */
public final class NarrowRoot
{
    private static final int ROOT_SHIFT = 10;
    private static final int CHILD = 0x8000;
    /** Destinations per vector of the staged lookup: the worker's burst. */
    private static final int VECTOR = 256;

    private static long sink;

    private NarrowRoot()
    {
    }

    /** The narrow-root table: lookups only. */
    static final class Narrow
    {
        final short[] root;
        final int[] childBase;
        final short[] children;
        final int[] chunkBase;
        final short[] chunks;
        final int[] hops;

        Narrow(final short[] root, final int[] childBase, final short[] children, final int[] chunkBase, final short[] chunks,
            final int[] hops)
        {
            this.root = root;
            this.childBase = childBase;
            this.children = children;
            this.chunkBase = chunkBase;
            this.chunks = chunks;
            this.hops = hops;
        }

        int lookup(final int address)
        {
            final int entry = root[address >>> ROOT_SHIFT];
            if (entry >= 0)
            {
                return hops[entry];
            }
            final int group = address >>> 16;
            final int child = children[childBase[group] + ((entry & 0x7FFF) << 2) + ((address >>> 8) & 3)];
            if (child >= 0)
            {
                return hops[child];
            }
            return hops[chunks[chunkBase[group] + ((child & 0x7FFF) << 8) + (address & 0xFF)]];
        }

        /**
         * Looks up {@code out.length} destinations from {@code addresses[from]} in three passes, as a
         * vector pipeline would: every root entry first (independent reads), then the leaves through the
         * next-hop table while the destinations below a child are collected without a branch, then those.
         */
        void lookupStaged(final int[] addresses, final int from, final int[] entries, final int[] below, final int[] out)
        {
            final int n = out.length;
            for (int i = 0; i < n; i++)
            {
                entries[i] = root[addresses[from + i] >>> ROOT_SHIFT];
            }
            int children = 0;
            final int mask = hops.length - 1;
            for (int i = 0; i < n; i++)
            {
                final int entry = entries[i];
                out[i] = hops[entry & mask];
                below[children] = i;
                children += entry >>> 31;
            }
            for (int k = 0; k < children; k++)
            {
                final int i = below[k];
                final int address = addresses[from + i];
                final int group = address >>> 16;
                final int child = this.children[childBase[group] + ((entries[i] & 0x7FFF) << 2) + ((address >>> 8) & 3)];
                out[i] = child >= 0 ? hops[child] :
                    hops[chunks[chunkBase[group] + ((child & 0x7FFF) << 8) + (address & 0xFF)]];
            }
        }

        /** A bound, not a lookup: the root read and the next-hop read, as if no destination had a child. */
        int rootAndHop(final int address)
        {
            return hops[root[address >>> ROOT_SHIFT] & (hops.length - 1)];
        }

        /** A bound, not a lookup: the root read alone. */
        int rootOnly(final int address)
        {
            return root[address >>> ROOT_SHIFT];
        }

        long bytes()
        {
            return root.length * 2L + childBase.length * 4L + children.length * 2L + chunkBase.length * 4L +
                chunks.length * 2L + hops.length * 4L;
        }
    }

    public static void main(final String[] args)
    {
        final int hopCount = args.length > 0 ? Integer.parseInt(args[0]) : 4096;
        final int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        if (Integer.bitCount(hopCount) != 1 || hopCount > 16384)
        {
            throw new IllegalArgumentException("hops must be a power of two up to 16384: " + hopCount);
        }
        final BitSet longBlocks = new BitSet(1 << 24);
        final Ipv4RouteTable million = table(1_000_000, hopCount, longBlocks);
        final Ipv4RouteTable thousand = table(1000, hopCount, new BitSet());
        final Narrow narrow = narrow(million, longBlocks, hopCount);
        System.out.printf("BGP-like lengths, %d next hops; direct root %.1f MB; narrow root %.1f MB (root %.1f, children %.1f, " +
            "/24 chunks %.1f)%n", hopCount, million.memoryBytes() / 1e6, narrow.bytes() / 1e6, narrow.root.length * 2 / 1e6,
            narrow.children.length * 2 / 1e6, narrow.chunks.length * 2 / 1e6);

        final Random random = new Random(0xADD4L);
        final int[] addresses = new int[1 << 20];
        for (int i = 0; i < addresses.length; i++)
        {
            addresses[i] = random.nextInt();
        }
        int belowChild = 0;
        for (int i = 0; i < addresses.length + 4_000_000; i++)
        {
            final int address = i < addresses.length ? addresses[i] : random.nextInt();
            if (narrow.lookup(address) != million.lookup(address))
            {
                throw new AssertionError("narrow root and Ipv4RouteTable differ at " + Integer.toHexString(address));
            }
            belowChild += i < addresses.length && narrow.root[address >>> ROOT_SHIFT] < 0 ? 1 : 0;
        }
        final int[] entries = new int[VECTOR];
        final int[] below = new int[VECTOR];
        final int[] out = new int[VECTOR];
        for (int from = 0; from < addresses.length; from += VECTOR)
        {
            narrow.lookupStaged(addresses, from, entries, below, out);
            for (int i = 0; i < VECTOR; i++)
            {
                if (out[i] != million.lookup(addresses[from + i]))
                {
                    throw new AssertionError("staged lookup and Ipv4RouteTable differ at " + Integer.toHexString(addresses[from + i]));
                }
            }
        }
        System.out.printf("answers checked; %.1f %% of the destinations are below a child%n", 100.0 * belowChild / addresses.length);

        // two rounds of warm-up, not printed
        for (int round = -2; round < rounds; round++)
        {
            final double small = rate(addresses, thousand);
            final double direct = rate(addresses, million);
            final double narrowed = rate(addresses, narrow);
            final double staged = staged(addresses, narrow);
            final double rootAndHop = rootAndHop(addresses, narrow);
            final double rootOnly = rootOnly(addresses, narrow);
            if (round >= 0)
            {
                System.out.printf("round %d, M lookups/s (/ 1k): 1k %.0f; 1M direct root %.0f (%.2f), narrow root %.0f (%.2f), " +
                    "staged in vectors of %d %.0f (%.2f); bounds: root + hop %.0f (%.2f), root only %.0f (%.2f)%n", round, small, direct,
                    direct / small, narrowed, narrowed / small, VECTOR, staged, staged / small, rootAndHop, rootAndHop / small, rootOnly,
                    rootOnly / small);
            }
        }
        if (sink == 42)
        {
            System.out.println();
        }
    }

    private static double rate(final int[] addresses, final Ipv4RouteTable table)
    {
        long sum = 0;
        final long start = System.nanoTime();
        for (int pass = 0; pass < 50; pass++)
        {
            for (final int address : addresses)
            {
                sum += table.lookup(address);
            }
        }
        return done(sum, start, addresses.length);
    }

    private static double rate(final int[] addresses, final Narrow table)
    {
        long sum = 0;
        final long start = System.nanoTime();
        for (int pass = 0; pass < 50; pass++)
        {
            for (final int address : addresses)
            {
                sum += table.lookup(address);
            }
        }
        return done(sum, start, addresses.length);
    }

    private static double staged(final int[] addresses, final Narrow table)
    {
        final int[] entries = new int[VECTOR];
        final int[] below = new int[VECTOR];
        final int[] out = new int[VECTOR];
        long sum = 0;
        final long start = System.nanoTime();
        for (int pass = 0; pass < 50; pass++)
        {
            for (int from = 0; from < addresses.length; from += VECTOR)
            {
                table.lookupStaged(addresses, from, entries, below, out);
                for (final int hop : out)
                {
                    sum += hop;
                }
            }
        }
        return done(sum, start, addresses.length);
    }

    private static double rootAndHop(final int[] addresses, final Narrow table)
    {
        long sum = 0;
        final long start = System.nanoTime();
        for (int pass = 0; pass < 50; pass++)
        {
            for (final int address : addresses)
            {
                sum += table.rootAndHop(address);
            }
        }
        return done(sum, start, addresses.length);
    }

    private static double rootOnly(final int[] addresses, final Narrow table)
    {
        long sum = 0;
        final long start = System.nanoTime();
        for (int pass = 0; pass < 50; pass++)
        {
            for (final int address : addresses)
            {
                sum += table.rootOnly(address);
            }
        }
        return done(sum, start, addresses.length);
    }

    private static double done(final long sum, final long start, final int addresses)
    {
        final long ns = System.nanoTime() - start;
        sink += sum;
        return 50.0 * addresses * 1e3 / ns;
    }

    /** {@code LpmBenchmark}'s prefixes and lengths (same seed), next hops shared round robin. */
    private static Ipv4RouteTable table(final int prefixes, final int hopCount, final BitSet longBlocks)
    {
        final Random random = new Random(0x4C504D34L);
        final Ipv4RouteTable.Builder builder = Ipv4RouteTable.builder();
        while (builder.size() < prefixes)
        {
            final int length = LpmBenchmark.ipv4Length(random, "bgp");
            final int prefix = random.nextInt() & Prefixes.ipv4Mask(length);
            builder.add(prefix, length, builder.size() % hopCount);
            if (length > 24)
            {
                longBlocks.set(prefix >>> 8);
            }
        }
        return builder.build();
    }

    /** The narrow root of {@code table}, whose /24 blocks holding longer prefixes are {@code longBlocks}. */
    private static Narrow narrow(final Ipv4RouteTable table, final BitSet longBlocks, final int hopCount)
    {
        final Map<Integer, Integer> index = new HashMap<>();
        final int[] hops = new int[hopCount];
        final java.util.function.IntUnaryOperator indexOf = hop -> index.computeIfAbsent(hop, h ->
        {
            if (index.size() >= hopCount)
            {
                throw new IllegalStateException("more than " + hopCount + " distinct next hops");
            }
            hops[index.size()] = h;
            return index.size();
        });
        final short[] root = new short[1 << 22];
        final int[] childBase = new int[1 << 16];
        final int[] chunkBase = new int[1 << 16];
        short[] children = new short[1 << 20];
        short[] chunks = new short[1 << 16];
        int childInts = 0;
        int chunkInts = 0;
        final int[] blocks = new int[4];
        for (int group = 0; group < 1 << 16; group++)
        {
            childBase[group] = childInts;
            chunkBase[group] = chunkInts;
            int childCount = 0;
            int chunkCount = 0;
            for (int r = group << 6; r < (group + 1) << 6; r++)
            {
                boolean leaf = true;
                for (int q = 0; q < 4; q++)
                {
                    final int block = r << 2 | q;
                    blocks[q] = longBlocks.get(block) ? Integer.MIN_VALUE : table.lookup(block << 8);
                    leaf &= blocks[q] != Integer.MIN_VALUE && blocks[q] == blocks[0];
                }
                if (leaf)
                {
                    root[r] = (short)indexOf.applyAsInt(blocks[0]);
                    continue;
                }
                root[r] = (short)(CHILD | childCount++);
                if (childInts + 4 > children.length)
                {
                    children = Arrays.copyOf(children, children.length * 2);
                }
                for (int q = 0; q < 4; q++)
                {
                    if (blocks[q] != Integer.MIN_VALUE)
                    {
                        children[childInts++] = (short)indexOf.applyAsInt(blocks[q]);
                        continue;
                    }
                    children[childInts++] = (short)(CHILD | chunkCount++);
                    if (chunkInts + 256 > chunks.length)
                    {
                        chunks = Arrays.copyOf(chunks, chunks.length * 2);
                    }
                    final int block = r << 2 | q;
                    for (int i = 0; i < 256; i++)
                    {
                        chunks[chunkInts++] = (short)indexOf.applyAsInt(table.lookup(block << 8 | i));
                    }
                }
            }
        }
        // a power-of-two hop table, so that rootAndHop can mask instead of branch
        return new Narrow(root, childBase, Arrays.copyOf(children, childInts), chunkBase, Arrays.copyOf(chunks, chunkInts), hops);
    }
}
