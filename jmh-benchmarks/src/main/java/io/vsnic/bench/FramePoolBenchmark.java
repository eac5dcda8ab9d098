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
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import io.vsnic.dataplane.buffer.Frame;
import io.vsnic.dataplane.buffer.FramePool;

/**
 * Cost of taking a frame buffer from a {@link FramePool} and giving it back, on one thread (the
 * uncontended case of a worker that receives and transmits on the same core).
 *
 * <ul>
 *   <li>{@link #acquireRelease()}: one {@link FramePool#acquire()} followed by one
 *       {@link Frame#release()}.</li>
 *   <li>{@link #burstAcquireRelease()}: {@value #BURST} acquires, then {@value #BURST} releases, as a
 *       worker does around one receive burst; reported per frame, so the two scores compare
 *       directly.</li>
 * </ul>
 *
 * <p>Both must show {@code gc.alloc.rate.norm} of 0 B/op under {@code -prof gc}: the pool is
 * preallocated and the hot path allocates nothing.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 1, timeUnit = TimeUnit.SECONDS)
@Measurement(iterations = 5, time = 1, timeUnit = TimeUnit.SECONDS)
public class FramePoolBenchmark
{
    /** Frames taken before any is given back in {@link #burstAcquireRelease()}: a typical receive burst. */
    public static final int BURST = 32;
    /** Slots in the pool: a realistic pool, larger than one burst, with default-sized slots. */
    public static final int POOL_SLOTS = 1024;

    private final Frame[] burst = new Frame[BURST];
    private FramePool pool;

    /**
     * Builds the pool once per trial (its native memory is allocated here, outside the measurement).
     */
    @Setup(Level.Trial)
    public void setUp()
    {
        pool = new FramePool(POOL_SLOTS);
    }

    /**
     * Checks that the benchmark measured what it claims (every acquire found a frame, nothing was
     * released twice, every frame went back) and frees the pool.
     */
    @TearDown(Level.Trial)
    public void tearDown()
    {
        try
        {
            if (pool.exhaustedCount() != 0 || pool.doubleReleaseCount() != 0 || pool.available() != POOL_SLOTS)
            {
                throw new IllegalStateException("pool misused by the benchmark: " + pool +
                    ", exhausted=" + pool.exhaustedCount() + ", doubleReleases=" + pool.doubleReleaseCount());
            }
        }
        finally
        {
            pool.close();
        }
    }

    /**
     * One acquire and one release.
     *
     * @return the frame, so that the acquire cannot be optimised away.
     */
    @Benchmark
    public Frame acquireRelease()
    {
        final Frame frame = pool.acquire();
        frame.release();
        return frame;
    }

    /**
     * {@value #BURST} acquires then {@value #BURST} releases; the score is per frame. The frames are
     * stored in a field of the state, which keeps the acquires observable without a Blackhole.
     */
    @Benchmark
    @OperationsPerInvocation(BURST)
    public void burstAcquireRelease()
    {
        final Frame[] frames = burst;
        for (int i = 0; i < BURST; i++)
        {
            frames[i] = pool.acquire();
        }
        for (int i = 0; i < BURST; i++)
        {
            frames[i].release();
        }
    }
}
