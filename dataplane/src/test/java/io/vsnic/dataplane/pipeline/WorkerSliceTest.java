package io.vsnic.dataplane.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

import io.vsnic.dataplane.nativeio.Syscalls;
import io.vsnic.dataplane.security.ConnectionTimeouts;
import org.junit.jupiter.api.Test;

/**
 * Worker threads ask the kernel for a short time slice ({@link Worker#SLICE_NS}, {@code vsnic.worker.sliceMicros}),
 * so that a woken worker preempts whatever runs on its CPU. Linux reports a fair-class thread's slice from 6.12
 * on ({@code sched_getattr}'s runtime, and {@code se.slice} in {@code /proc/self/task/TID/sched}); on older
 * kernels the checks of the slice itself are skipped, with the reason.
 */
class WorkerSliceTest
{
    @Test
    void shouldGiveEachWorkerThreadTheConfiguredSlice() throws Exception
    {
        assumeSlicesReported();
        try (DataPlane dataPlane = new DataPlane(new DataPlaneConfig(2, 1024, 4096, ConnectionTimeouts.DEFAULTS)))
        {
            assertEquals(0, dataPlane.worker(0).sliceNanos(), "not started");
            dataPlane.start();   // returns once the workers have done their start-up
            for (int i = 0; i < dataPlane.workerCount(); i++)
            {
                assertEquals(Worker.SLICE_NS, dataPlane.worker(i).sliceNanos(), "worker " + i + " as sched_getattr reports it");
            }
            assertEquals(100_000, Worker.SLICE_NS, "the default: 100 µs");
            // the scheduler's own view, where the kernel exposes it
            int seen = 0;
            try (Stream<Path> tasks = Files.list(Path.of("/proc/self/task")))
            {
                for (final Path task : (Iterable<Path>)tasks::iterator)
                {
                    final Path sched = task.resolve("sched");
                    if (readOrEmpty(task.resolve("comm")).startsWith("vsnic-worker-") && Files.isReadable(sched))
                    {
                        assertEquals(String.valueOf(Worker.SLICE_NS), field(readOrEmpty(sched), "se.slice"), task.toString());
                        seen++;
                    }
                }
            }
            assumeTrue(seen > 0, "no /proc/self/task/TID/sched here (CONFIG_SCHED_DEBUG off): sched_getattr checked only");
        }
    }

    @Test
    void shouldSetAndReadTheCallingThreadsSlice() throws Exception
    {
        assumeSlicesReported();
        final AtomicLong before = new AtomicLong(-1);
        final AtomicLong after = new AtomicLong(-1);
        final AtomicLong result = new AtomicLong(-1);
        final Thread thread = new Thread(() ->
        {
            before.set(Syscalls.sliceNanos());
            result.set(Syscalls.setSliceNanos(2_500_000));
            after.set(Syscalls.sliceNanos());
        });
        thread.start();
        thread.join();
        assertEquals(0, result.get(), "sched_setattr");
        assertEquals(2_500_000, after.get());
        assertTrue(before.get() >= 100_000 && before.get() != 2_500_000, "a new thread has the default slice: " + before.get());
    }

    @Test
    void shouldRefuseSlicesTheKernelWouldClamp()
    {
        assertThrows(IllegalArgumentException.class, () -> Syscalls.setSliceNanos(99_999));
        assertThrows(IllegalArgumentException.class, () -> Syscalls.setSliceNanos(100_000_001));
        assertEquals(0, Worker.sliceFromMicros(0), "0 leaves the kernel's default");
        assertEquals(0, Worker.sliceFromMicros(-5));
        assertEquals(100_000, Worker.sliceFromMicros(1), "clamped to the kernel's shortest");
        assertEquals(300_000, Worker.sliceFromMicros(300));
        assertEquals(100_000_000, Worker.sliceFromMicros(1_000_000), "clamped to the kernel's longest");
    }

    /** Skips unless this kernel reports fair-class slices (Linux 6.12 and later, the EEVDF custom slice). */
    private static void assumeSlicesReported()
    {
        assumeTrue(Syscalls.AVAILABLE, "no native calls here (Linux on x86-64 or AArch64 only)");
        final String[] version = System.getProperty("os.version", "0.0").split("[.-]");
        final int major = Integer.parseInt(version[0]);
        final int minor = version.length > 1 ? Integer.parseInt(version[1]) : 0;
        assumeTrue(major > 6 || major == 6 && minor >= 12, "Linux " + System.getProperty("os.version") +
            " reports no fair-class time slice (custom slices arrived in 6.12)");
    }

    private static String readOrEmpty(final Path file)
    {
        try
        {
            return Files.readString(file);
        }
        catch (final IOException ended)
        {
            return "";   // the thread ended while listed
        }
    }

    /** The value of a {@code name : value} line of a {@code /proc/.../sched} file. */
    private static String field(final String text, final String name)
    {
        for (final String line : text.split("\n"))
        {
            final int colon = line.indexOf(':');
            if (colon > 0 && line.substring(0, colon).strip().equals(name))
            {
                return line.substring(colon + 1).strip();
            }
        }
        return "(no " + name + ")";
    }
}
