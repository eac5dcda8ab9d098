package io.vsnic.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
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
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import io.vsnic.dataplane.buffer.Frame;
import io.vsnic.dataplane.config.NetworkSpec;
import io.vsnic.dataplane.config.PortSpec;
import io.vsnic.dataplane.config.RouteSpec;
import io.vsnic.dataplane.config.RouteTarget;
import io.vsnic.dataplane.config.SubnetSpec;
import io.vsnic.dataplane.pipeline.DataPlane;
import io.vsnic.dataplane.pipeline.DataPlaneConfig;
import io.vsnic.dataplane.pipeline.MemoryPort;
import io.vsnic.dataplane.pipeline.Port;
import io.vsnic.dataplane.pipeline.Worker;
import io.vsnic.dataplane.protocol.FrameBuilder;
import io.vsnic.dataplane.protocol.Ipv4Flyweight;
import io.vsnic.dataplane.security.CompiledPolicy;
import io.vsnic.dataplane.security.ConnectionTimeouts;
import io.vsnic.dataplane.table.ForwardingState;

/**
 * The whole worker loop forwarding 64-byte frames by route (L3, through the gateway) with a network
 * route table of {@code routes} random prefixes (BGP-like lengths, as {@link LpmBenchmark}), every
 * frame to another destination: {@value #VARIANTS} prebuilt headers, each a random address inside a
 * random prefix of the table, taken in turn, so that consecutive lookups touch unrelated parts of the
 * table as Internet traffic does. With 1,000 prefixes the table stays in the caches; with 1,000,000
 * it is the 64 MiB direct /24 root and the lookups miss them. Scores are ns per frame; 0 B/op under
 * {@code -prof gc}.
 *
 * <pre>jmh-benchmarks/run.sh WorkerRoutesBenchmark -prof gc</pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 2, timeUnit = TimeUnit.SECONDS)
@Measurement(iterations = 5, time = 2, timeUnit = TimeUnit.SECONDS)
public class WorkerRoutesBenchmark
{
    private static final int BURST = WorkerBenchmark.BURST;
    /** Distinct headers (destinations) taken in turn: 4 MiB of them. */
    private static final int VARIANTS = 1 << 16;
    private static final int HEADER_BYTES = 64;
    private static final long IN_MAC = 0x02_00_00_00_00_01L;
    private static final long OUT_MAC = 0x02_00_00_00_00_03L;
    private static final long GW_MAC = ForwardingState.GATEWAY_MAC_PREFIX | 42;

    @Param({"1000", "1000000"})
    public int routes;

    private DataPlane dataPlane;
    private MemoryPort in;
    private MemoryPort out;
    private Worker worker;
    private final Frame[] frames = new Frame[BURST];
    private final Frame[] polled = new Frame[BURST];
    private MemorySegment headers;
    private int next;

    @Setup(Level.Trial)
    public void setUp()
    {
        // the table: random prefixes outside 10/8, all to the output port
        final Random random = new Random(0x524F5554L);
        final Set<Long> seen = new HashSet<>();
        final List<RouteSpec> routeSpecs = new ArrayList<>(routes);
        final int[] addresses = new int[routes];
        final int[] lengths = new int[routes];
        while (routeSpecs.size() < routes)
        {
            final int length = LpmBenchmark.ipv4Length(random, "bgp");
            final int address = random.nextInt() & (int)(0xFFFF_FFFF_0000_0000L >>> length);
            if (address >>> 24 == 10 || !seen.add((long)address << 8 | length))
            {
                continue;
            }
            addresses[routeSpecs.size()] = address;
            lengths[routeSpecs.size()] = length;
            routeSpecs.add(new RouteSpec(Ipv4Flyweight.format(address) + "/" + length, new RouteTarget.LocalPort(3)));
        }
        dataPlane = new DataPlane(new DataPlaneConfig(1, 4096, 65536, ConnectionTimeouts.DEFAULTS), null);
        final NetworkSpec network = new NetworkSpec("bench", 42, 9000,
            List.of(new SubnetSpec("10.0.1.0/24", "10.0.1.1"), new SubnetSpec("10.0.2.0/24", "10.0.2.1")), routeSpecs, List.of());
        final CompiledPolicy open = CompiledPolicy.allowAll();
        dataPlane.publish(ForwardingState.build(List.of(network), List.of(
            new PortSpec(1, "in", "bench", IN_MAC, "10.0.1.11", null, open, true),
            new PortSpec(3, "out", "bench", OUT_MAC, "10.0.2.13", null, open, true))));
        in = new MemoryPort(1, Port.KIND_VNIC, dataPlane.pool(), 1024);
        out = new MemoryPort(3, Port.KIND_VNIC, dataPlane.pool(), 1024);
        dataPlane.addPort(in);
        dataPlane.addPort(out);
        worker = dataPlane.worker(0);

        // the headers: to a random address inside a random prefix of the table each
        headers = Arena.ofAuto().allocate((long)VARIANTS * HEADER_BYTES, 64);
        final Frame scratch = dataPlane.pool().acquire();
        final int source = Ipv4Flyweight.parse("10.0.1.11");
        for (int v = 0; v < VARIANTS; v++)
        {
            final int r = random.nextInt(routes);
            final int host = lengths[r] == 32 ? 0 : random.nextInt() & (int)(0xFFFF_FFFFL >>> lengths[r]);
            final FrameBuilder builder = new FrameBuilder(scratch.segment(), scratch.start());
            builder.ethernet(GW_MAC, IN_MAC).ipv4(source, addresses[r] | host).udp(40000 + v % 64, 443).payload(64 - 14 - 20 - 8, v);
            scratch.length(builder.build());
            MemorySegment.copy(scratch.segment(), scratch.start(), headers, (long)v * HEADER_BYTES, HEADER_BYTES);
        }
        scratch.release();
        for (int i = 0; i < BURST; i++)
        {
            frames[i] = dataPlane.pool().acquire();
            frames[i].length(HEADER_BYTES);
            stamp(frames[i]);
        }
        if (forwardBurst() != BURST)
        {
            throw new IllegalStateException("the burst was not forwarded whole");
        }
    }

    /** Gives a frame the next header (and so the next destination). */
    private void stamp(final Frame frame)
    {
        MemorySegment.copy(headers, (long)next * HEADER_BYTES, frame.segment(), frame.start(), HEADER_BYTES);
        next = (next + 1) & (VARIANTS - 1);
    }

    @TearDown(Level.Trial)
    public void tearDown()
    {
        WorkerBenchmark.close(dataPlane);
    }

    @Benchmark
    @OperationsPerInvocation(BURST)
    public int forwardBurst()
    {
        in.inject(frames, BURST);
        final int processed = worker.doWork();
        final int sent = out.poll(polled, BURST);
        for (int i = 0; i < sent; i++)
        {
            stamp(polled[i]);
            frames[i] = polled[i];
        }
        return processed;
    }
}
