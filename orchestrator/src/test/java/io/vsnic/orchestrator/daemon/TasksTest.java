package io.vsnic.orchestrator.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The backoff of a task and its journal on its own (the daemon tests drive the rest).
 */
class TasksTest
{
    @TempDir
    Path dir;

    @Test
    void shouldBackOffExponentiallyWithJitterUpToTheCap() throws Exception
    {
        try (Tasks tasks = Tasks.open(dir.resolve("tasks"), new Tasks.Settings(500, 30_000, 100, 1000)))
        {
            for (int attempts = 1; attempts <= 80; attempts++)
            {
                final long full = Math.min(30_000, 500L << Math.min(attempts - 1, 30));
                long low = Long.MAX_VALUE;
                long high = Long.MIN_VALUE;
                for (int i = 0; i < 200; i++)
                {
                    final long delay = tasks.backoffMs(attempts);
                    low = Math.min(low, delay);
                    high = Math.max(high, delay);
                }
                final int n = attempts;
                assertTrue(low >= full / 2, () -> "attempt " + n + ": at least half of " + full);
                assertTrue(high <= full, () -> "attempt " + n + ": at most " + full);
                assertTrue(high > low, () -> "attempt " + n + ": jittered");
            }
            final long far = tasks.backoffMs(Integer.MAX_VALUE);
            assertTrue(far >= 15_000 && far <= 30_000, "no overflow far past the cap: " + far);
        }
    }

    @Test
    void shouldStartEmptyAndReopenItsOwnJournal() throws Exception
    {
        try (Tasks tasks = Tasks.open(dir.resolve("tasks"), new Tasks.Settings(20, 200, 100, 1000)))
        {
            assertTrue(tasks.list().isEmpty());
            assertTrue(!tasks.replay().corrupt());
        }
        try (Tasks tasks = Tasks.open(dir.resolve("tasks"), new Tasks.Settings(20, 200, 100, 1000)))
        {
            assertTrue(tasks.list().isEmpty());
            assertEquals(1, tasks.replay().entries().size(), "the snapshot the first start wrote");
        }
    }
}
