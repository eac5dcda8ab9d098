package io.vsnic.bench;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
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
import org.openjdk.jmh.annotations.Warmup;

import io.vsnic.dataplane.config.NetworkSpec;
import io.vsnic.dataplane.config.PortSpec;
import io.vsnic.dataplane.config.RouteSpec;
import io.vsnic.dataplane.config.RouteTarget;
import io.vsnic.dataplane.config.SubnetSpec;
import io.vsnic.dataplane.protocol.Ipv4Flyweight;
import io.vsnic.dataplane.security.CompiledPolicy;
import io.vsnic.dataplane.table.ForwardingState;

/**
 * The control plane's side of a route change: the next {@link ForwardingState} of one network with
 * {@code routes} routes (BGP-like lengths as {@link LpmBenchmark}; nine in ten to a vNIC, one in ten
 * {@code reject}, targets shared as the daemon shares them), built from scratch ({@link #compile}) or
 * from the previous snapshot after one route was added or removed ({@link #editOneRoute}: the route
 * tables edited instead of compiled). Scores are ms per snapshot.
 *
 * <pre>jmh-benchmarks/run.sh ForwardingStateBenchmark -prof gc</pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = "-Xmx4g")
@Warmup(iterations = 3, time = 2, timeUnit = TimeUnit.SECONDS)
@Measurement(iterations = 5, time = 2, timeUnit = TimeUnit.SECONDS)
public class ForwardingStateBenchmark
{
    /** Below {@code ForwardingState}'s 1,024 an edit compiles the list in full: cheap there. */
    @Param({"1000", "100000", "1000000"})
    public int routes;

    private List<RouteSpec> without;
    private List<RouteSpec> with;
    private List<PortSpec> ports;
    private ForwardingState current;
    private boolean added;

    @Setup(Level.Trial)
    public void setUp()
    {
        final Random random = new Random(0x46535442L);
        final Set<Long> seen = new HashSet<>();
        final RouteTarget port = new RouteTarget.LocalPort(3);
        final RouteTarget reject = new RouteTarget.Reject();
        final List<RouteSpec> list = new ArrayList<>(routes);
        while (list.size() < routes)
        {
            final int length = LpmBenchmark.ipv4Length(random, "bgp");
            final int address = random.nextInt() & (int)(0xFFFF_FFFF_0000_0000L >>> length);
            if (address >>> 24 == 10 || address >>> 16 == 0xC612 || !seen.add((long)address << 8 | length))
            {
                continue;
            }
            list.add(new RouteSpec(Ipv4Flyweight.format(address) + "/" + length, list.size() % 10 == 9 ? reject : port));
        }
        without = List.copyOf(list);
        list.add(new RouteSpec("198.18.0.0/16", reject)); // 198.18/16 is kept out of the random ones above
        with = List.copyOf(list);
        final CompiledPolicy open = CompiledPolicy.allowAll();
        ports = List.of(new PortSpec(1, "in", "bench", 0x02_00_00_00_00_01L, "10.0.1.11", null, open, true),
            new PortSpec(3, "out", "bench", 0x02_00_00_00_00_03L, "10.0.2.13", null, open, true));
        current = ForwardingState.build(null, List.of(network(without)), ports);
    }

    private static NetworkSpec network(final List<RouteSpec> routes)
    {
        return new NetworkSpec("bench", 42, 9000,
            List.of(new SubnetSpec("10.0.1.0/24", "10.0.1.1"), new SubnetSpec("10.0.2.0/24", "10.0.2.1")), routes, List.of());
    }

    /**
     * Every route parsed, every hop compiled, the tables built.
     *
     * @return the snapshot.
     */
    @Benchmark
    public ForwardingState compile()
    {
        return ForwardingState.build(null, List.of(network(without)), ports);
    }

    /**
     * One route added, then removed in the next call, each edited into the previous snapshot's tables.
     *
     * @return the snapshot.
     */
    @Benchmark
    public ForwardingState editOneRoute()
    {
        added = !added;
        current = ForwardingState.build(current, List.of(network(added ? with : without)), ports);
        return current;
    }
}
