package io.vsnic.bench;

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
import org.openjdk.jmh.infra.ThreadParams;

import io.vsnic.dataplane.pipeline.DataPlane;

/**
 * Scaling of the worker loop over workers of ONE data plane: run with {@code -t 1} and {@code -t 2}
 * (JMH threads); each JMH thread drives its own worker through its own lane (input port, output port,
 * burst of frames, as in {@link WorkerBenchmark}), while the workers share what a device's workers
 * share: the forwarding state, the frame pool and the connection table. The score is the total
 * packets per second over all threads, so perfect scaling doubles it from {@code -t 1} to {@code -t 2}.
 *
 * <p>{@code jmh-benchmarks/run.sh WorkerScalingBenchmark -t 1} then {@code ... -t 2}
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 2, timeUnit = TimeUnit.SECONDS)
@Measurement(iterations = 5, time = 2, timeUnit = TimeUnit.SECONDS)
public class WorkerScalingBenchmark
{
    /** The data plane all threads share, with one worker and one lane per JMH thread. */
    @State(Scope.Benchmark)
    public static class Shared
    {
        @Param({"l3", "l3sg"})
        public String path;

        @Param({"64"})
        public int frameBytes;

        DataPlane dataPlane;
        WorkerBenchmark.Lane[] lanes;

        @Setup(Level.Trial)
        public void setUp(final ThreadParams threads)
        {
            final int count = threads.getThreadCount();
            dataPlane = WorkerBenchmark.dataPlane(count, count, path, false);
            lanes = new WorkerBenchmark.Lane[count];
            for (int k = 0; k < count; k++)
            {
                lanes[k] = new WorkerBenchmark.Lane(dataPlane, k, "l2".equals(path), frameBytes);
            }
            for (final WorkerBenchmark.Lane lane : lanes)
            {
                lane.attachOutput(dataPlane);
            }
            for (final WorkerBenchmark.Lane lane : lanes)
            {
                if (lane.forward() != WorkerBenchmark.BURST)
                {
                    throw new IllegalStateException("a lane's input port is not owned by its worker");
                }
            }
        }

        @TearDown(Level.Trial)
        public void tearDown()
        {
            WorkerBenchmark.close(dataPlane);
        }
    }

    /** The lane of one JMH thread. */
    @State(Scope.Thread)
    public static class Mine
    {
        WorkerBenchmark.Lane lane;

        @Setup(Level.Trial)
        public void setUp(final Shared shared, final ThreadParams threads)
        {
            lane = shared.lanes[threads.getThreadIndex()];
        }
    }

    @Benchmark
    @OperationsPerInvocation(WorkerBenchmark.BURST)
    public int forwardBurst(final Mine mine)
    {
        return mine.lane.forward();
    }
}
