package io.vsnic.orchestrator;

import java.time.Duration;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * Hang guards for tests that wait on a daemon, a CLI process or traffic: each waits for an outcome
 * and gives up after a generous guard, so that a broken path fails the test instead of hanging it.
 * They measure nothing (speed is measured with JMH) and never fail a run that merely is slow.
 */
public final class Waits
{
    /** The guard the daemon tests use unless they need a longer one. */
    public static final Duration HANG_GUARD = Duration.ofSeconds(10);

    private Waits()
    {
    }

    /**
     * Waits until {@code condition} holds, polling every few milliseconds.
     *
     * @param guard how long the condition may stay false before the test fails.
     * @param what  what is awaited, for the failure message (evaluated only on failure).
     * @throws AssertionError when the guard runs out first.
     */
    public static void awaitTrue(final Duration guard, final BooleanSupplier condition, final Supplier<String> what)
        throws InterruptedException
    {
        final long deadline = System.nanoTime() + guard.toNanos();
        while (!condition.getAsBoolean())
        {
            if (System.nanoTime() - deadline > 0)
            {
                throw new AssertionError("timed out waiting for " + what.get());
            }
            Thread.sleep(5);
        }
    }

    /** As {@link #awaitTrue(Duration, BooleanSupplier, Supplier)} with {@link #HANG_GUARD}. */
    public static void awaitTrue(final BooleanSupplier condition, final Supplier<String> what) throws InterruptedException
    {
        awaitTrue(HANG_GUARD, condition, what);
    }
}
