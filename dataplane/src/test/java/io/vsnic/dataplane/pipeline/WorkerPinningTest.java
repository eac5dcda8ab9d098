package io.vsnic.dataplane.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import io.vsnic.dataplane.nativeio.CpuList;
import io.vsnic.dataplane.nativeio.Syscalls;
import io.vsnic.dataplane.security.ConnectionTimeouts;
import org.junit.jupiter.api.Test;

/**
 * Workers pinned to CPUs ({@link DataPlaneConfig#workerCpus}): each worker thread's CPU set, as the kernel
 * reports it in {@code /proc/self/task/TID/status}, is exactly its configured CPU.
 */
class WorkerPinningTest
{
    @Test
    void shouldRunEachWorkerOnItsConfiguredCpu() throws Exception
    {
        final int[] allowed = Syscalls.allowedCpus();
        // the last CPU for worker 0 and the first for worker 1: neither is what an unpinned thread would have
        final int[] cpus = {allowed[allowed.length - 1], allowed[0]};
        final List<Integer> list = allowed.length == 1 ? List.of(cpus[0]) : List.of(cpus[0], cpus[1]);
        try (DataPlane dataPlane = new DataPlane(new DataPlaneConfig(2, 1024, 4096, ConnectionTimeouts.DEFAULTS,
            DataPlaneConfig.DEFAULT_SUPER_FRAME_SLOTS, list)))
        {
            assertArrayEquals(new int[] {-1, -1}, dataPlane.pinnedCpus(), "not started");
            final List<String> before = workerTasks();
            dataPlane.start();   // returns once both workers have pinned themselves
            final int[] expected = {cpus[0], allowed.length == 1 ? cpus[0] : cpus[1]};
            assertArrayEquals(expected, dataPlane.pinnedCpus());
            // the kernel's view of this data plane's two new worker threads
            final List<String> started = workerTasks();
            started.removeAll(before);
            assertEquals(2, started.size(), "two new worker threads: " + started);
            for (final String task : started)
            {
                final String comm = Files.readString(Path.of("/proc/self/task", task, "comm")).strip();
                final int worker = Integer.parseInt(comm.substring(comm.lastIndexOf('-') + 1));
                assertEquals(String.valueOf(expected[worker]), cpusAllowed(task), comm + " (task " + task + ")");
            }
        }
    }

    @Test
    void shouldRefuseCpusOutsideTheCpuSet()
    {
        assertThrows(IllegalArgumentException.class, () -> new DataPlaneConfig(1, 1024, 4096, ConnectionTimeouts.DEFAULTS,
            DataPlaneConfig.DEFAULT_SUPER_FRAME_SLOTS, List.of(1024)));
        assertThrows(IllegalArgumentException.class, () -> new DataPlaneConfig(1, 1024, 4096, ConnectionTimeouts.DEFAULTS,
            DataPlaneConfig.DEFAULT_SUPER_FRAME_SLOTS, List.of(-1)));
        assertEquals(-1, new DataPlaneConfig(1, 1024, 4096, ConnectionTimeouts.DEFAULTS).workerCpu(0), "unpinned by default");
        assertTrue(CpuList.format(Syscalls.allowedCpus()).length() > 0);
    }

    /** Thread ids of this process's tasks named {@code vsnic-worker-N}. */
    private static List<String> workerTasks() throws IOException
    {
        final List<String> tasks = new ArrayList<>();
        try (Stream<Path> all = Files.list(Path.of("/proc/self/task")))
        {
            for (final Path task : (Iterable<Path>)all::iterator)
            {
                try
                {
                    if (Files.readString(task.resolve("comm")).startsWith("vsnic-worker-"))
                    {
                        tasks.add(task.getFileName().toString());
                    }
                }
                catch (final IOException ended)
                {
                    // the thread ended while listed
                }
            }
        }
        return tasks;
    }

    private static String cpusAllowed(final String task) throws IOException
    {
        for (final String line : Files.readAllLines(Path.of("/proc/self/task", task, "status")))
        {
            if (line.startsWith("Cpus_allowed_list:"))
            {
                return line.substring("Cpus_allowed_list:".length()).strip();
            }
        }
        throw new IOException("no Cpus_allowed_list in /proc/self/task/" + task + "/status");
    }
}
