package io.vsnic.bench;

import java.util.Random;
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
import org.openjdk.jmh.annotations.Warmup;

/**
 * The machine's memory curve as a table lookup meets it: independent reads of one {@code int} each, at
 * uniformly random places of an array of {@code kib} KiB, one after another (as {@link LpmBenchmark}'s
 * lookups, with {@value LpmBenchmark#ADDRESSES} precomputed random indexes). Reads per second, so a
 * figure bounds the lookups of any table of that size with uniformly random destinations: compare it
 * with {@link LpmBenchmark#ipv4Lookup} at a thousand prefixes to see what a ratio of lookups at a million
 * to lookups at a thousand could be on this machine, whatever the layout.
 *
 * <pre>jmh-benchmarks/run.sh RandomReadBenchmark -f 1 -wi 3 -i 5</pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 1, timeUnit = TimeUnit.SECONDS)
@Measurement(iterations = 5, time = 1, timeUnit = TimeUnit.SECONDS)
public class RandomReadBenchmark
{
    /** Array size in KiB (a power of two): L1/L2-resident, L3-resident, beyond L3. */
    @Param({"256", "1024", "2048", "4096", "8192", "16384", "65536"})
    public int kib;

    private int[] memory;
    private int[] indexes;

    /**
     * Fills the array and draws the indexes.
     */
    @Setup(Level.Trial)
    public void setUp()
    {
        if (Integer.bitCount(kib) != 1 || kib < 1 || kib > 1 << 20)
        {
            throw new IllegalArgumentException("kib must be a power of two up to 1 GiB: " + kib);
        }
        final Random random = new Random(0x5EADL);
        memory = new int[kib << 8];
        for (int i = 0; i < memory.length; i++)
        {
            memory[i] = random.nextInt(1 << 16);
        }
        indexes = new int[LpmBenchmark.ADDRESSES];
        for (int i = 0; i < indexes.length; i++)
        {
            indexes[i] = random.nextInt(memory.length);
        }
    }

    /**
     * One random read per index.
     *
     * @return the sum of the values read.
     */
    @Benchmark
    @OperationsPerInvocation(LpmBenchmark.ADDRESSES)
    public long read()
    {
        final int[] m = memory;
        final int[] at = indexes;
        long sum = 0;
        for (int i = 0; i < at.length; i++)
        {
            sum += m[at[i]];
        }
        return sum;
    }
}
