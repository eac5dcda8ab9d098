package io.vsnic.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.infra.IterationParams;
import org.openjdk.jmh.profile.InternalProfiler;
import org.openjdk.jmh.results.AggregationPolicy;
import org.openjdk.jmh.results.IterationResult;
import org.openjdk.jmh.results.ScalarResult;

import io.vsnic.dataplane.security.CompiledPolicy;
import io.vsnic.dataplane.security.ConnectionTable;
import io.vsnic.dataplane.security.ConnectionTimeouts;
import io.vsnic.dataplane.security.Direction;
import io.vsnic.dataplane.security.SecurityGroup;
import io.vsnic.dataplane.security.SecurityRule;

/**
 * Cost of connection tracking per packet, on one thread.
 *
 * <ul>
 *   <li>{@link #lookupEstablished(Lookup)}: a data segment of an established TCP flow, chosen in
 *       random order among {@code liveFlows} live flows (1k: the table is in L1/L2; 1M: 72 MiB of
 *       table, most lookups miss the caches). The clock does not move, so the entry is only read:
 *       the common case, since a flow's deadline is written at most once per 2^20 ns.</li>
 *   <li>{@link #lookupEstablishedRefreshing(Lookup)}: the same, but the clock moves 2 ms per
 *       packet, so every lookup also CASes the entry's deadline (the worst case).</li>
 *   <li>{@link #lookupUnknownDenied(Lookup)}: a packet of a flow that does not exist and may not
 *       be created: both 16-slot buckets are read (what a port scan or a flood costs).</li>
 *   <li>{@link #createExpireChurn(Churn)}: every packet opens a new UDP flow while older flows
 *       expire (32 ms timeout, clock + 1 µs per packet, about 32k live flows in a 64k table), so
 *       each create reuses an expired slot lazily.</li>
 *   <li>{@link #createExpireChurnWithSweep(Churn)}: the same, plus {@code expire(now, 2)} per
 *       packet, an idle worker's incremental sweep spread over the packets.</li>
 *   <li>{@link #policyLastOf64Rules(Policy)}: a {@link CompiledPolicy} ingress check that matches
 *       only the last of 64 IPv4 rules, the policy cost for a new flow.</li>
 * </ul>
 *
 * <p>All must show {@code gc.alloc.rate.norm} of 0 B/op under {@code -prof gc}.
 *
 * <p>On a shared machine, add {@code -prof 'io.vsnic.bench.ConnectionTableBenchmark$ThreadCpuProfiler'}:
 * it reports {@code cpu.time.norm}, the benchmark threads' CPU time per operation, which unlike
 * the wall-clock score does not count the time the thread waited for a CPU, and
 * {@code cpu.share}, the fraction of the iteration they ran.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 1, timeUnit = TimeUnit.SECONDS)
@Measurement(iterations = 5, time = 1, timeUnit = TimeUnit.SECONDS)
public class ConnectionTableBenchmark
{
    /** Virtual network of every benchmark flow. */
    public static final int NETWORK = 42;
    /** IANA protocol numbers. */
    public static final int TCP = 6;
    public static final int UDP = 17;
    /** TCP flags used. */
    public static final int SYN = 0x02;
    public static final int ACK = 0x10;
    public static final int SYN_ACK = SYN | ACK;
    /** The server side of every benchmark flow: 10.99.0.1:443. */
    public static final int SERVER = 0x0A63_0001;
    public static final int SERVER_PORT = 443;

    /**
     * A table holding {@code liveFlows} established TCP flows, and a random visiting order.
     */
    @State(Scope.Thread)
    public static class Lookup
    {
        /** Live flows in the table; the table has twice as many slots. */
        @Param({"1024", "1048576"})
        public int liveFlows;

        ConnectionTable table;
        int[] clients;
        int[] clientPorts;
        int[] order;
        int cursor;
        int unknown;
        long nowNs;
        long misses;

        /**
         * Builds the table and opens every flow with a full handshake.
         */
        @Setup(Level.Trial)
        public void setUp()
        {
            table = new ConnectionTable(2 * liveFlows, ConnectionTimeouts.DEFAULTS);
            clients = new int[liveFlows];
            clientPorts = new int[liveFlows];
            nowNs = System.nanoTime();
            for (int i = 0; i < liveFlows; i++)
            {
                clients[i] = 0x0A00_0000 + i;
                clientPorts[i] = 1024 + (i & 0x7FFF);
                check(table.trackV4(NETWORK, TCP, clients[i], SERVER, clientPorts[i], SERVER_PORT, SYN, nowNs, true),
                    ConnectionTable.CREATED);
                check(table.trackV4(NETWORK, TCP, SERVER, clients[i], SERVER_PORT, clientPorts[i], SYN_ACK, nowNs,
                    false), ConnectionTable.REPLY);
                check(table.trackV4(NETWORK, TCP, clients[i], SERVER, clientPorts[i], SERVER_PORT, ACK, nowNs, false),
                    ConnectionTable.ESTABLISHED);
            }
            order = new int[liveFlows];
            for (int i = 0; i < liveFlows; i++)
            {
                order[i] = i;
            }
            final SplittableRandom random = new SplittableRandom(7);
            for (int i = liveFlows - 1; i > 0; i--)
            {
                final int j = random.nextInt(i + 1);
                final int swap = order[i];
                order[i] = order[j];
                order[j] = swap;
            }
        }

        /**
         * Checks that every lookup found its flow and that the table did not grow.
         */
        @TearDown(Level.Trial)
        public void tearDown()
        {
            if (misses != 0 || table.size() != liveFlows)
            {
                throw new IllegalStateException("benchmark did not measure what it claims: misses=" + misses +
                    ", " + table);
            }
        }

        int next()
        {
            final int i = order[cursor];
            cursor = cursor + 1 == order.length ? 0 : cursor + 1;
            return i;
        }
    }

    /**
     * A table with short UDP timeouts into which every packet inserts a new flow.
     */
    @State(Scope.Thread)
    public static class Churn
    {
        /** Slots in the churn table. */
        public static final int CAPACITY = 1 << 16;
        /** Fake clock step per packet. */
        public static final long STEP_NS = 1_000;

        ConnectionTable table;
        long nowNs;
        int counter;
        long full;

        /**
         * Builds a table where flows live 32 ms of fake time: about 32k live flows at 1 µs per packet.
         */
        @Setup(Level.Trial)
        public void setUp()
        {
            final long ms = TimeUnit.MILLISECONDS.toNanos(1);
            table = new ConnectionTable(CAPACITY,
                new ConnectionTimeouts(32 * ms, 32 * ms, 32 * ms, 32 * ms, 32 * ms, 32 * ms));
            nowNs = 0;
        }

        /**
         * Checks that the table never ran full (else FULL, not a create, would have been measured).
         */
        @TearDown(Level.Trial)
        public void tearDown()
        {
            if (full != 0 || table.size() > CAPACITY)
            {
                throw new IllegalStateException("churn table ran full " + full + " times: " + table);
            }
        }

        int createNext()
        {
            nowNs += STEP_NS;
            final int n = counter++;
            final int verdict = table.trackV4(NETWORK, UDP, 0x0B00_0000 | (n & 0xFF_FFFF), SERVER,
                1024 + ((n >>> 24) & 0x3FFF), 53, 0, nowNs, true);
            if (verdict == ConnectionTable.FULL)
            {
                full++;
            }
            return verdict;
        }
    }

    /**
     * A port policy of 64 IPv4 ingress rules where only the last matches the probe packet.
     */
    @State(Scope.Thread)
    public static class Policy
    {
        CompiledPolicy policy;
        int source;

        /**
         * Compiles the policy.
         */
        @Setup(Level.Trial)
        public void setUp()
        {
            final List<SecurityRule> rules = new ArrayList<>();
            for (int i = 0; i < 63; i++)
            {
                rules.add(new SecurityRule(Direction.INGRESS, UDP, 1000 + i, 1000 + i, "10." + i + ".0.0/16"));
            }
            rules.add(new SecurityRule(Direction.INGRESS, TCP, 5432, 5432, "172.16.0.0/12"));
            policy = CompiledPolicy.compile(List.of(new SecurityGroup("bench", rules)));
            source = 0xAC1F_0001;
            if (!policy.allowsIngressV4(TCP, source, 5432))
            {
                throw new IllegalStateException("policy does not match the probe packet");
            }
        }
    }

    /**
     * A data segment of an established flow; the clock stands still, so the entry is only read.
     *
     * @param s the table.
     * @return the verdict (ESTABLISHED).
     */
    @Benchmark
    public int lookupEstablished(final Lookup s)
    {
        final int i = s.next();
        final int verdict = s.table.trackV4(NETWORK, TCP, s.clients[i], SERVER, s.clientPorts[i], SERVER_PORT, ACK,
            s.nowNs, false);
        if (verdict != ConnectionTable.ESTABLISHED)
        {
            s.misses++;
        }
        return verdict;
    }

    /**
     * A data segment of an established flow with the clock 2 ms later than the previous packet: every
     * lookup also writes the entry's deadline.
     *
     * @param s the table.
     * @return the verdict (ESTABLISHED).
     */
    @Benchmark
    public int lookupEstablishedRefreshing(final Lookup s)
    {
        final int i = s.next();
        s.nowNs += 2_000_000;
        final int verdict = s.table.trackV4(NETWORK, TCP, s.clients[i], SERVER, s.clientPorts[i], SERVER_PORT, ACK,
            s.nowNs, false);
        if (verdict != ConnectionTable.ESTABLISHED)
        {
            s.misses++;
        }
        return verdict;
    }

    /**
     * A UDP packet of a flow that does not exist, not allowed to create one.
     *
     * @param s the table.
     * @return the verdict (DENIED).
     */
    @Benchmark
    public int lookupUnknownDenied(final Lookup s)
    {
        final int n = s.unknown++;
        final int verdict = s.table.trackV4(NETWORK, UDP, 0x0C00_0000 | (n & 0xFF_FFFF), SERVER, 1024 + (n >>> 24),
            53, 0, s.nowNs, false);
        if (verdict != ConnectionTable.DENIED)
        {
            s.misses++;
        }
        return verdict;
    }

    /**
     * Creates one new UDP flow while older ones expire.
     *
     * @param s the churn table.
     * @return the verdict (CREATED).
     */
    @Benchmark
    public int createExpireChurn(final Churn s)
    {
        return s.createNext();
    }

    /**
     * Creates one new UDP flow and sweeps two slots.
     *
     * @param s the churn table.
     * @return the verdict plus the number of slots freed.
     */
    @Benchmark
    public int createExpireChurnWithSweep(final Churn s)
    {
        return s.createNext() + s.table.expire(s.nowNs, 2);
    }

    /**
     * One ingress check against 64 rules that matches only the last.
     *
     * @param s the policy.
     * @return true.
     */
    @Benchmark
    public boolean policyLastOf64Rules(final Policy s)
    {
        return s.policy.allowsIngressV4(TCP, s.source, 5432);
    }

    /**
     * A JMH profiler that divides the CPU time of the benchmark's worker threads by the operations of
     * the iteration ({@code cpu.time.norm}, ns/op) and reports which share of the iteration's wall
     * time they were running ({@code cpu.share}, 1.0 = a whole CPU per thread). On a machine shared
     * with other work, the wall-clock score includes time the thread spent waiting for a CPU;
     * {@code cpu.time.norm} does not (it still includes cache misses caused by the other work).
     */
    public static final class ThreadCpuProfiler implements InternalProfiler
    {
        private final ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        private final Map<Long, Long> cpuAtStart = new HashMap<>();
        private long wallAtStart;

        @Override
        public String getDescription()
        {
            return "CPU time of the benchmark threads per operation";
        }

        @Override
        public void beforeIteration(final BenchmarkParams benchmarkParams, final IterationParams iterationParams)
        {
            cpuAtStart.clear();
            for (final ThreadInfo info : threads.getThreadInfo(threads.getAllThreadIds()))
            {
                if (info != null && info.getThreadName().contains("-jmh-worker-"))
                {
                    cpuAtStart.put(info.getThreadId(), threads.getThreadCpuTime(info.getThreadId()));
                }
            }
            wallAtStart = System.nanoTime();
        }

        @Override
        public Collection<ScalarResult> afterIteration(
            final BenchmarkParams benchmarkParams, final IterationParams iterationParams, final IterationResult result)
        {
            final long wallNs = System.nanoTime() - wallAtStart;
            long cpuNs = 0;
            int measured = 0;
            for (final Map.Entry<Long, Long> entry : cpuAtStart.entrySet())
            {
                final long now = threads.getThreadCpuTime(entry.getKey());
                if (now >= 0 && entry.getValue() >= 0)
                {
                    cpuNs += now - entry.getValue();
                    measured++;
                }
            }
            final long ops = result.getMetadata().getAllOps();
            final List<ScalarResult> results = new ArrayList<>(2);
            if (ops > 0 && measured > 0)
            {
                results.add(new ScalarResult("cpu.time.norm", (double)cpuNs / ops, "ns/op", AggregationPolicy.AVG));
                results.add(new ScalarResult("cpu.share", (double)cpuNs / ((double)wallNs * measured), "CPU",
                    AggregationPolicy.AVG));
            }
            return results;
        }
    }

    private static void check(final int verdict, final int expected)
    {
        if (verdict != expected)
        {
            throw new IllegalStateException("setup: expected " + ConnectionTable.verdictName(expected) + ", got " +
                ConnectionTable.verdictName(verdict));
        }
    }
}
