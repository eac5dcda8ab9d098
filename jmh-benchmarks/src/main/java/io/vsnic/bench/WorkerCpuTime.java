package io.vsnic.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;

/**
 * The CPU-time cross-check of {@link WorkerBenchmark}: the same set-up and burst, timed with the
 * thread's own CPU time ({@link ThreadMXBean#getCurrentThreadCpuTime}). On a machine other processes
 * share, JMH's wall-clock scores swing with the load; CPU time mostly does not. Prints, per path and
 * frame size, the minimum and the median nanoseconds per packet of {@code rounds} rounds of
 * {@code bursts} bursts of {@value WorkerBenchmark#BURST} frames, after a warm-up.
 *
 * <p>{@code java <project JVM flags> -cp benchmarks.jar io.vsnic.bench.WorkerCpuTime [rounds] [bursts] [paths]}
 * ({@code paths}: comma-separated, default {@code l2,l3,l3sg}).
 */
public final class WorkerCpuTime
{
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    private WorkerCpuTime()
    {
    }

    /**
     * @param args optional rounds (default 7), bursts per round (default 20,000) and paths.
     */
    public static void main(final String[] args)
    {
        final int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 7;
        final int bursts = args.length > 1 ? Integer.parseInt(args[1]) : 20_000;
        final String[] paths = (args.length > 2 ? args[2] : "l2,l3,l3sg").split(",");
        System.out.println("| path | frame bytes | min ns/packet | median ns/packet | Mpps per core (median) |");
        System.out.println("|---|---|---|---|---|");
        long sink = 0;
        for (final String path : paths)
        {
            for (final int size : new int[] {64, 1400})
            {
                final WorkerBenchmark bench = new WorkerBenchmark();
                bench.path = path;
                bench.frameBytes = size;
                bench.flowLogs = false;
                bench.setUp();
                for (int i = 0; i < bursts * 2; i++)
                {
                    sink += bench.forwardBurst();
                }
                final double[] ns = new double[rounds];
                for (int r = 0; r < rounds; r++)
                {
                    final long start = THREADS.getCurrentThreadCpuTime();
                    for (int i = 0; i < bursts; i++)
                    {
                        sink += bench.forwardBurst();
                    }
                    ns[r] = (THREADS.getCurrentThreadCpuTime() - start) / ((double)bursts * WorkerBenchmark.BURST);
                }
                bench.tearDown();
                Arrays.sort(ns);
                final double median = ns[rounds / 2];
                System.out.printf("| %s | %d | %.1f | %.1f | %.2f |%n", path, size, ns[0], median, 1e3 / median);
            }
        }
        if (sink == 42)
        {
            System.out.println();
        }
    }
}
