package io.vsnic.dataplane.substrate;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

import io.vsnic.dataplane.buffer.Frame;
import io.vsnic.dataplane.pipeline.MemoryPort;

/**
 * Hang guards for tests that wait on traffic: each waits for an outcome and gives up after a generous
 * {@link #HANG_GUARD_SECONDS}, so a broken path fails the test instead of hanging it. They measure
 * nothing; speed is measured with JMH.
 */
public final class Waits
{
    /** How long a wait may see no outcome before the test fails. */
    public static final long HANG_GUARD_SECONDS = 10;

    private Waits()
    {
    }

    /**
     * @return up to {@code count} frames from {@code port}: fewer only when the hang guard ran out.
     */
    public static List<Frame> await(final MemoryPort port, final int count)
    {
        final List<Frame> frames = new ArrayList<>();
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(HANG_GUARD_SECONDS);
        while (frames.size() < count && System.nanoTime() < deadline)
        {
            final Frame frame = port.poll();
            if (frame == null)
            {
                Thread.onSpinWait();
                continue;
            }
            frames.add(frame);
        }
        return frames;
    }

    /**
     * Waits until {@code condition} holds.
     *
     * @param what what is awaited, for the failure message (evaluated only on failure).
     * @throws AssertionError when the hang guard runs out first.
     */
    public static void awaitTrue(final BooleanSupplier condition, final Supplier<String> what) throws InterruptedException
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(HANG_GUARD_SECONDS);
        while (!condition.getAsBoolean())
        {
            if (System.nanoTime() > deadline)
            {
                throw new AssertionError("timed out waiting for " + what.get());
            }
            Thread.sleep(5);
        }
    }

    /**
     * A hang guard for a loop that makes progress in steps (frames exchanged): {@link #check} fails
     * when no step was {@link #made} for {@link #HANG_GUARD_SECONDS}. It measures nothing.
     */
    public static final class Progress
    {
        private long lastNs = System.nanoTime();

        /** A step was made: the guard starts again. */
        public void made()
        {
            lastNs = System.nanoTime();
        }

        /**
         * @param what the state to report when the guard runs out (evaluated only then).
         * @throws AssertionError when no step was made for the hang guard's time.
         */
        public void check(final Supplier<String> what)
        {
            if (System.nanoTime() - lastNs > TimeUnit.SECONDS.toNanos(HANG_GUARD_SECONDS))
            {
                throw new AssertionError("no progress for " + HANG_GUARD_SECONDS + " s: " + what.get());
            }
        }
    }
}
