package io.vsnic.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;

/**
 * The CPU-time cross-check of {@link AeadBenchmark}: the same states and benchmark methods, timed
 * with the thread's own CPU time ({@link ThreadMXBean#getCurrentThreadCpuTime}), which is also what
 * {@code openssl speed} divides by. On a machine that other processes share, JMH's wall-clock
 * scores swing with the load; CPU time mostly does not. Prints, per operation, the minimum and the
 * median of {@code rounds} rounds of {@code ops} operations after a warm-up.
 *
 * <p>{@code java <project JVM flags> -cp benchmarks.jar io.vsnic.bench.AeadCpuTime [rounds] [ops]}
 * ({@code jmh-benchmarks/crypto-bench.sh} runs it).
 */
public final class AeadCpuTime
{
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
    private static long sink;

    private AeadCpuTime()
    {
    }

    /**
     * @param args optional rounds (default 7) and operations per round (default 100,000).
     */
    public static void main(final String[] args)
    {
        final int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 7;
        final int ops = args.length > 1 ? Integer.parseInt(args[1]) : 100_000;
        final AeadBenchmark bench = new AeadBenchmark();
        final int bits = io.vsnic.crypto.primitive.VectorSupport.vectorBits();
        System.out.println("vsnic kernels: " + (bits == 0 ? "plain Java" : "Vector API, " + bits + " bits wide"));
        System.out.println();
        System.out.println("| operation | bytes | min ns/op | median ns/op | MB/s per core (median) "
            + "| packets/s per core (median) |");
        System.out.println("|---|---|---|---|---|---|");
        for (final int size : new int[] {1420, 64})
        {
            final AeadBenchmark.Raw raw = new AeadBenchmark.Raw();
            raw.implementation = "vsnic";
            raw.size = size;
            raw.setUp();
            final AeadBenchmark.Codec codec = new AeadBenchmark.Codec();
            codec.size = size;
            codec.setUp();
            final String[] names = {"seal", "open", "codecSeal", "codecSealOpen"};
            for (int k = 0; k < names.length; k++)
            {
                run(bench, raw, codec, k, ops * 2);
                final double[] ns = new double[rounds];
                for (int r = 0; r < rounds; r++)
                {
                    final long start = THREADS.getCurrentThreadCpuTime();
                    run(bench, raw, codec, k, ops);
                    ns[r] = (THREADS.getCurrentThreadCpuTime() - start) / (double)ops;
                }
                Arrays.sort(ns);
                final double median = ns[rounds / 2];
                System.out.printf("| %s | %d | %.0f | %.0f | %.0f | %.0f |%n", names[k], size, ns[0], median,
                    size * 1e3 / median, 1e9 / median);
            }
            raw.tearDown();
            codec.tearDown();
        }
        if (sink == 42)
        {
            System.out.println();
        }
    }

    private static void run(final AeadBenchmark bench, final AeadBenchmark.Raw raw, final AeadBenchmark.Codec codec,
        final int which, final int ops)
    {
        long acc = 0;
        for (int i = 0; i < ops; i++)
        {
            acc += switch (which)
            {
                case 0 -> bench.seal(raw);
                case 1 -> bench.open(raw) ? 1 : 0;
                case 2 -> bench.codecSeal(codec);
                default -> bench.codecSealOpen(codec);
            };
        }
        sink += acc;
    }
}
