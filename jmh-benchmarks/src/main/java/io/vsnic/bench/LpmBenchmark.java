package io.vsnic.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import io.vsnic.dataplane.pipeline.Worker;
import io.vsnic.dataplane.table.Ipv4RouteTable;
import io.vsnic.dataplane.table.Ipv6RouteTable;
import io.vsnic.dataplane.table.NetworkTable;
import io.vsnic.dataplane.table.Prefixes;

/**
 * Longest-prefix-match route lookups and table builds ({@link Ipv4RouteTable}, {@link Ipv6RouteTable}).
 *
 * <p>Tables hold random prefixes, each with its own next hop (the worst case for chunk
 * compression), drawn from one of two length distributions:
 * <ul>
 *   <li>IPv4 {@code bgp}: 60 % /24, 35 % /16../23, 3 % /8../15, 2 % /25../32 (uniform within each
 *       range), roughly the shape of the Internet routing table; {@code uniform}: /8../32 uniformly.</li>
 *   <li>IPv6 {@code bgp}: 50 % /48, 15 % /32, 25 % /33../47, 7 % /20../31, 1.5 % /64 and 1.5 % /128
 *       (overlay host routes), all inside 2000::/3; {@code uniform}: /16../128 uniformly inside 2000::/3.</li>
 * </ul>
 *
 * <p>Lookups walk {@value #ADDRESSES} precomputed destinations, so that the loop is not dominated by
 * array overhead and the table, not the address array, decides what is in cache; scores are per
 * lookup ({@link OperationsPerInvocation}), throughput in lookups per second on one thread. IPv4
 * destinations are uniformly random 32-bit addresses. IPv6 destinations are random addresses inside
 * randomly chosen prefixes of the table (uniformly random 128-bit addresses would almost all miss a
 * 2000::/3 table after the first probe).
 *
 * <ul>
 *   <li>{@link #ipv4Lookup}: {@link Ipv4RouteTable#lookup(int)} one address after another.</li>
 *   <li>{@link #ipv4LookupVector}: the same lookups in vectors, as a worker makes them (root entries of
 *       a large table read ahead for the whole vector).</li>
 *   <li>{@link RandomReadBenchmark} (a class of its own): one random read per destination into arrays
 *       of 256 KiB to 64 MiB, what any table of those sizes costs at the least on the machine.</li>
 *   <li>{@link #ipv6Lookup}: {@link Ipv6RouteTable#lookup(long, long)}.</li>
 *   <li>{@code *Build*}: control plane cost of a new version, from scratch (builder, every add, build)
 *       and after one route change on a table's {@code toBuilder()} (the usual case).</li>
 * </ul>
 *
 * <p>Lookups must show {@code gc.alloc.rate.norm} of 0 B/op under {@code -prof gc}; builds allocate
 * by design. Tear-down checks that the lookups found routes, so the benchmark measured real walks.
 *
 * <p>On a shared machine the wall-clock score counts the time the benchmark thread waited for a
 * core. Each lookup iteration therefore also prints {@code [cpu] N M lookups per CPU-second}: the
 * lookups done divided by the thread's CPU time in that iteration ({@link ThreadMXBean}), which is
 * what one core does while the benchmark has it (other tenants can still evict its caches).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 1, timeUnit = TimeUnit.SECONDS)
@Measurement(iterations = 5, time = 1, timeUnit = TimeUnit.SECONDS)
public class LpmBenchmark
{
    /** Destinations per invocation: 4 MiB of IPv4 addresses, larger than L2. */
    public static final int ADDRESSES = 1 << 20;

    /**
     * Counts lookups and the benchmark thread's CPU time per iteration, and prints their ratio.
     */
    @State(Scope.Thread)
    public static class CpuMeter
    {
        private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

        long lookups;
        private long cpuStartNs;

        /**
         * Starts counting (runs on the benchmark thread, as the state is per thread).
         */
        @Setup(Level.Iteration)
        public void start()
        {
            lookups = 0;
            cpuStartNs = THREADS.getCurrentThreadCpuTime();
        }

        /**
         * Prints lookups per CPU-second for the iteration.
         */
        @TearDown(Level.Iteration)
        public void stop()
        {
            final long cpuNs = THREADS.getCurrentThreadCpuTime() - cpuStartNs;
            if (lookups > 0 && cpuNs > 0)
            {
                System.out.printf("[cpu] %.1f M lookups per CPU-second ", lookups * 1e3 / cpuNs);
            }
        }
    }

    /**
     * An IPv4 table of {@code prefixes} random prefixes and {@value #ADDRESSES} random destinations.
     */
    @State(Scope.Thread)
    public static class Ipv4State
    {
        @Param({"1000", "1000000"})
        public int prefixes;

        @Param({"bgp", "uniform"})
        public String lengths;

        Ipv4RouteTable table;
        int[] addresses;
        int routedInSetUp;
        /** Whether a worker would read the root entries of a vector ahead ({@link NetworkTable#largeRoutes4()}). */
        boolean touched;

        /**
         * Builds the table and the destinations once per trial.
         */
        @Setup(Level.Trial)
        public void setUp()
        {
            table = ipv4Table(prefixes, lengths, 0x4C504D34L);
            final Random random = new Random(0xADD4L);
            addresses = new int[ADDRESSES];
            for (int i = 0; i < ADDRESSES; i++)
            {
                addresses[i] = random.nextInt();
            }
            routedInSetUp = routed();
            touched = table.memoryBytes() > NetworkTable.TOUCHED_ROUTE_BYTES;
            System.out.printf("%n%s: %s lengths, %.1f%% of destinations routed, %.2f bytes per prefix%n", table,
                lengths, 100.0 * routedInSetUp / ADDRESSES, (double)table.memoryBytes() / table.size());
        }

        /**
         * Checks that the destinations exercise the table (some are routed) and that the table still
         * gives the answers it gave before the measurement.
         */
        @TearDown(Level.Trial)
        public void tearDown()
        {
            if (routedInSetUp == 0 || routed() != routedInSetUp)
            {
                throw new IllegalStateException("benchmark did not measure routed lookups in " + table);
            }
        }

        private int routed()
        {
            int routed = 0;
            for (final int address : addresses)
            {
                routed += table.lookup(address) == Ipv4RouteTable.NO_ROUTE ? 0 : 1;
            }
            return routed;
        }
    }

    /**
     * An IPv6 table of {@code prefixes} random prefixes and {@value #ADDRESSES} destinations inside them.
     */
    @State(Scope.Thread)
    public static class Ipv6State
    {
        @Param({"1000", "100000"})
        public int prefixes;

        @Param({"bgp", "uniform"})
        public String lengths;

        Ipv6RouteTable table;
        long[] highs;
        long[] lows;

        /**
         * Builds the table and the destinations once per trial.
         */
        @Setup(Level.Trial)
        public void setUp()
        {
            final Random random = new Random(0x4C504D36L);
            final long[][] prefixList = new long[prefixes][];
            final Ipv6RouteTable.Builder builder = Ipv6RouteTable.builder();
            while (builder.size() < prefixes)
            {
                final int length = ipv6Length(random, lengths);
                final long high = (0x2000_0000_0000_0000L | random.nextLong() >>> 3) & Prefixes.ipv6HighMask(length);
                final long low = random.nextLong() & Prefixes.ipv6LowMask(length);
                final int before = builder.size();
                builder.add(high, low, length, before);
                if (builder.size() > before)
                {
                    prefixList[before] = new long[] {high, low, length};
                }
            }
            table = builder.build();
            highs = new long[ADDRESSES];
            lows = new long[ADDRESSES];
            for (int i = 0; i < ADDRESSES; i++)
            {
                final long[] prefix = prefixList[random.nextInt(prefixes)];
                final int length = (int)prefix[2];
                highs[i] = prefix[0] | random.nextLong() & ~Prefixes.ipv6HighMask(length);
                lows[i] = prefix[1] | random.nextLong() & ~Prefixes.ipv6LowMask(length);
            }
            tearDown();
            System.out.printf("%n%s: %s lengths, %.2f bytes per prefix%n", table, lengths,
                (double)table.memoryBytes() / table.size());
        }

        /**
         * Checks that every destination is routed: each lies inside a prefix of the table.
         */
        @TearDown(Level.Trial)
        public void tearDown()
        {
            for (int i = 0; i < ADDRESSES; i++)
            {
                if (table.lookup(highs[i], lows[i]) == Ipv6RouteTable.NO_ROUTE)
                {
                    throw new IllegalStateException("destination " + Prefixes.formatIpv6(highs[i], lows[i]) +
                        " not routed in " + table);
                }
            }
        }
    }

    /**
     * The prefix list of an IPv4 table, kept so that builds can be measured from scratch.
     */
    @State(Scope.Thread)
    public static class Ipv4BuildState
    {
        @Param({"1000", "1000000"})
        public int prefixes;

        int[] addresses;
        int[] lengthsOf;
        Ipv4RouteTable table;
        int flip;

        /**
         * Draws the BGP-like prefix list once per trial.
         */
        @Setup(Level.Trial)
        public void setUp()
        {
            addresses = new int[prefixes];
            lengthsOf = new int[prefixes];
            final Random random = new Random(0x4C504D34L);
            final Ipv4RouteTable.Builder builder = Ipv4RouteTable.builder();
            while (builder.size() < prefixes)
            {
                final int length = ipv4Length(random, "bgp");
                final int address = random.nextInt() & Prefixes.ipv4Mask(length);
                final int before = builder.size();
                builder.add(address, length, before);
                if (builder.size() > before)
                {
                    addresses[before] = address;
                    lengthsOf[before] = length;
                }
            }
            table = builder.build();
        }
    }

    /**
     * The prefix list of an IPv6 table, for build measurements.
     */
    @State(Scope.Thread)
    public static class Ipv6BuildState
    {
        @Param({"1000", "100000"})
        public int prefixes;

        long[] highs;
        long[] lows;
        int[] lengthsOf;
        Ipv6RouteTable table;
        int flip;

        /**
         * Draws the BGP-like prefix list once per trial.
         */
        @Setup(Level.Trial)
        public void setUp()
        {
            final Random random = new Random(0x4C504D36L);
            highs = new long[prefixes];
            lows = new long[prefixes];
            lengthsOf = new int[prefixes];
            final Ipv6RouteTable.Builder builder = Ipv6RouteTable.builder();
            while (builder.size() < prefixes)
            {
                final int length = ipv6Length(random, "bgp");
                final long high = (0x2000_0000_0000_0000L | random.nextLong() >>> 3) & Prefixes.ipv6HighMask(length);
                final long low = random.nextLong() & Prefixes.ipv6LowMask(length);
                final int before = builder.size();
                builder.add(high, low, length, before);
                if (builder.size() > before)
                {
                    highs[before] = high;
                    lows[before] = low;
                    lengthsOf[before] = length;
                }
            }
            table = builder.build();
        }
    }

    /**
     * {@link Ipv4RouteTable#lookup(int)} for each of {@value #ADDRESSES} random destinations.
     *
     * @return the sum of next hops, so that no lookup can be optimised away.
     */
    @Benchmark
    @OperationsPerInvocation(ADDRESSES)
    public long ipv4Lookup(final Ipv4State state, final CpuMeter meter)
    {
        final Ipv4RouteTable table = state.table;
        final int[] addresses = state.addresses;
        long sum = 0;
        for (int i = 0; i < addresses.length; i++)
        {
            sum += table.lookup(addresses[i]);
        }
        meter.lookups += ADDRESSES;
        return sum;
    }

    /**
     * {@link Ipv4RouteTable#lookup(int)} as a data plane worker looks up a vector's destinations: in vectors
     * of {@link Worker#BURST}, and for a table larger than {@link NetworkTable#TOUCHED_ROUTE_BYTES} (the
     * worker's rule) with every destination's root entry read first ({@link Ipv4RouteTable#touch}), so that
     * those loads, which depend on nothing but the addresses, miss the caches together; then the lookups,
     * with their first loads in cache. Smaller tables are looked up one after another, as in {@link #ipv4Lookup}
     * (the same figure).
     *
     * @return the sum of next hops and touched entries.
     */
    @Benchmark
    @OperationsPerInvocation(ADDRESSES)
    public long ipv4LookupVector(final Ipv4State state, final CpuMeter meter)
    {
        if (!state.touched)
        {
            // one flat loop: a loop of 256 inside another ran a cache-resident table's one-nanosecond
            // lookups at half the rate, which would measure the loop, not the table
            return ipv4Lookup(state, meter);
        }
        final Ipv4RouteTable table = state.table;
        final int[] addresses = state.addresses;
        long sum = 0;
        for (int vector = 0; vector < addresses.length; vector += Worker.BURST)
        {
            final int end = vector + Worker.BURST;
            int roots = 0;
            for (int i = vector; i < end; i++)
            {
                roots += table.touch(addresses[i]);
            }
            sum += roots;
            for (int i = vector; i < end; i++)
            {
                sum += table.lookup(addresses[i]);
            }
        }
        meter.lookups += ADDRESSES;
        return sum;
    }

    /**
     * {@link Ipv6RouteTable#lookup(long, long)} for each of {@value #ADDRESSES} destinations.
     *
     * @return the sum of next hops.
     */
    @Benchmark
    @OperationsPerInvocation(ADDRESSES)
    public long ipv6Lookup(final Ipv6State state, final CpuMeter meter)
    {
        final Ipv6RouteTable table = state.table;
        final long[] highs = state.highs;
        final long[] lows = state.lows;
        long sum = 0;
        for (int i = 0; i < highs.length; i++)
        {
            sum += table.lookup(highs[i], lows[i]);
        }
        meter.lookups += ADDRESSES;
        return sum;
    }

    /**
     * A new IPv4 table from scratch: a builder, every add, build.
     *
     * @return the table.
     */
    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    public Ipv4RouteTable ipv4BuildFromScratch(final Ipv4BuildState state)
    {
        final Ipv4RouteTable.Builder builder = Ipv4RouteTable.builder();
        for (int i = 0; i < state.prefixes; i++)
        {
            builder.add(state.addresses[i], state.lengthsOf[i], i);
        }
        return builder.build();
    }

    /**
     * The next version of an IPv4 table after one route change (a /24 alternately added and removed).
     *
     * @return the table.
     */
    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    public Ipv4RouteTable ipv4RebuildAfterOneChange(final Ipv4BuildState state)
    {
        final Ipv4RouteTable.Builder builder = state.table.toBuilder();
        final int prefix = 0x0A_7B_2D_00;
        if ((state.flip ^= 1) == 1)
        {
            builder.add(prefix, 24, 7);
        }
        else
        {
            builder.remove(prefix, 24);
        }
        return builder.build();
    }

    /**
     * A new IPv6 table from scratch.
     *
     * @return the table.
     */
    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    public Ipv6RouteTable ipv6BuildFromScratch(final Ipv6BuildState state)
    {
        final Ipv6RouteTable.Builder builder = Ipv6RouteTable.builder();
        for (int i = 0; i < state.prefixes; i++)
        {
            builder.add(state.highs[i], state.lows[i], state.lengthsOf[i], i);
        }
        return builder.build();
    }

    /**
     * The next version of an IPv6 table after one route change.
     *
     * @return the table.
     */
    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    public Ipv6RouteTable ipv6RebuildAfterOneChange(final Ipv6BuildState state)
    {
        final Ipv6RouteTable.Builder builder = state.table.toBuilder();
        final long high = 0x2001_0db8_0042_0000L;
        if ((state.flip ^= 1) == 1)
        {
            builder.add(high, 0, 48, 7);
        }
        else
        {
            builder.remove(high, 0, 48);
        }
        return builder.build();
    }

    static Ipv4RouteTable ipv4Table(final int prefixes, final String lengths, final long seed)
    {
        final Random random = new Random(seed);
        final Ipv4RouteTable.Builder builder = Ipv4RouteTable.builder();
        while (builder.size() < prefixes)
        {
            final int length = ipv4Length(random, lengths);
            builder.add(random.nextInt() & Prefixes.ipv4Mask(length), length, builder.size());
        }
        return builder.build();
    }

    /**
     * Draws one IPv4 prefix length of a distribution (the class Javadoc gives both). Public for
     * {@code probes/NarrowRoot.java}, which builds its tables from the same prefixes.
     *
     * @param lengths {@code bgp} or {@code uniform}.
     * @return a length 8..32.
     */
    public static int ipv4Length(final Random random, final String lengths)
    {
        if ("uniform".equals(lengths))
        {
            return 8 + random.nextInt(25);
        }
        final int p = random.nextInt(100);
        if (p < 60)
        {
            return 24;
        }
        if (p < 95)
        {
            return 16 + random.nextInt(8);
        }
        if (p < 98)
        {
            return 8 + random.nextInt(8);
        }
        return 25 + random.nextInt(8);
    }

    static int ipv6Length(final Random random, final String lengths)
    {
        if ("uniform".equals(lengths))
        {
            return 16 + random.nextInt(113);
        }
        final int p = random.nextInt(200);
        if (p < 100)
        {
            return 48;
        }
        if (p < 130)
        {
            return 32;
        }
        if (p < 180)
        {
            return 33 + random.nextInt(15);
        }
        if (p < 194)
        {
            return 20 + random.nextInt(12);
        }
        return p < 197 ? 64 : 128;
    }
}
