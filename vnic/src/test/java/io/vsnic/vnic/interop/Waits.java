package io.vsnic.vnic.interop;

import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/** The interop tests' one hang guard: polls a condition every 100 ms for at most 30 s. */
final class Waits
{
    private static final long LIMIT_NS = TimeUnit.SECONDS.toNanos(30);

    private Waits()
    {
    }

    /**
     * @param what  what is awaited (for the failure message).
     * @param state the state to report when it times out.
     * @throws AssertionError when the condition stays false for 30 s.
     */
    static void awaitTrue(final BooleanSupplier condition, final String what, final Supplier<String> state) throws InterruptedException
    {
        final long deadline = System.nanoTime() + LIMIT_NS;
        while (!condition.getAsBoolean())
        {
            if (System.nanoTime() > deadline)
            {
                throw new AssertionError("timed out waiting for " + what + ": " + state.get());
            }
            Thread.sleep(100);
        }
    }
}
