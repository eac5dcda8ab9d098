package io.vsnic.bench;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import io.vsnic.dataplane.buffer.Frame;
import io.vsnic.dataplane.buffer.FramePool;
import io.vsnic.dataplane.offload.Coalescer;
import io.vsnic.dataplane.offload.Segmenter;
import io.vsnic.dataplane.offload.VirtioNetHeader;
import io.vsnic.dataplane.protocol.Checksums;

/**
 * Cost of the software offloads on one 64 KiB TCP/IPv4 super-frame ({@value #SEGMENTS} segments of
 * {@value #MSS} bytes, timestamps option, 65,212-byte IP packet), per super-frame:
 *
 * <ul>
 *   <li>{@link #segmentComplete()}: cut into segments with complete TCP checksums (towards a port
 *       without offloads), then release them;</li>
 *   <li>{@link #segmentPartial()}: the same with partial checksums left for the receiver;</li>
 *   <li>{@link #segmentChained()}: as {@link #segmentPartial()}, each segment's payload left in the
 *       super-frame ({@link Segmenter#CHAINED}: what the overlay port's direct path takes), headers only copied;</li>
 *   <li>{@link #segmentThenCoalesce()}: cut (complete checksums), then merge the segments back into one
 *       super-frame (each segment's checksum is verified, as GRO does): the coalescing cost is the
 *       difference to {@link #segmentComplete()}.</li>
 * </ul>
 *
 * <p>{@code gc.alloc.rate.norm} must be 0 B/op under {@code -prof gc}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 1, timeUnit = TimeUnit.SECONDS)
@Measurement(iterations = 5, time = 1, timeUnit = TimeUnit.SECONDS)
public class OffloadBenchmark
{
    /** Segment payload: the MSS of a 1500-byte MTU with TCP timestamps. */
    public static final int MSS = 1448;
    /** Segments per super-frame: 45 × 1448 + 52 header bytes = 65,212 bytes of IP packet. */
    public static final int SEGMENTS = 45;

    private final Segmenter segmenter = new Segmenter();
    private final Frame[] segments = new Frame[64];
    private final Frame[] out = new Frame[4];
    private FramePool pool;
    private FramePool superPool;
    private Coalescer coalescer;
    private Frame superFrame;

    @Setup(Level.Trial)
    public void setUp()
    {
        pool = new FramePool(256);
        superPool = new FramePool(4, FramePool.SUPER_SLOT_BYTES, FramePool.DEFAULT_HEADROOM_BYTES);
        coalescer = new Coalescer(superPool, Coalescer.CHECKSUM_PARTIAL);
        final byte[] payload = new byte[SEGMENTS * MSS];
        new Random(1).nextBytes(payload);
        final int tcpLength = 32 + payload.length;
        final ByteBuffer b = ByteBuffer.allocate(14 + 20 + tcpLength);
        b.put(new byte[] {2, 0, 0, 0, 0x0b, 0x0b, 2, 0, 0, 0, 0x0a, 0x0a}).putShort((short)0x0800);
        b.put((byte)0x45).put((byte)0).putShort((short)(20 + tcpLength)).putShort((short)0x1000).putShort((short)0x4000)
            .put((byte)64).put((byte)6).putShort((short)0).putInt(0x0a3c010a).putInt(0x0a3c0114);
        b.putShort((short)40000).putShort((short)5201).putInt(0x1000).putInt(0x2000).put((byte)(8 << 4)).put((byte)0x18)
            .putShort((short)502).putShort((short)0).putShort((short)0)
            .put(new byte[] {1, 1, 8, 10, 0, 0, 0x12, 0x34, 0, 0, 0x56, 0x78}).put(payload);
        final byte[] bytes = b.array();
        final MemorySegment m = MemorySegment.ofArray(bytes);
        final int ipChecksum = Checksums.checksum(m, 14, 20);
        bytes[24] = (byte)(ipChecksum >>> 8);
        bytes[25] = (byte)ipChecksum;
        final int partial = Checksums.fold(Checksums.pseudoHeaderSumIpv4(0x0a3c010a, 0x0a3c0114, 6, tcpLength));
        bytes[34 + 16] = (byte)(partial >>> 8);
        bytes[34 + 17] = (byte)partial;
        superFrame = superPool.acquire();
        superFrame.copyFrom(m, 0, bytes.length);
        superFrame.gso(VirtioNetHeader.GSO_TCPV4, MSS).checksumPartial(34, 16);
    }

    @TearDown(Level.Trial)
    public void tearDown()
    {
        superFrame.release();
        try
        {
            if (pool.available() != pool.capacity() || superPool.available() != superPool.capacity() ||
                pool.exhaustedCount() != 0 || superPool.exhaustedCount() != 0 || coalescer.poolExhausted() != 0)
            {
                throw new IllegalStateException("benchmark misused the pools: " + pool + ", " + superPool);
            }
        }
        finally
        {
            pool.close();
            superPool.close();
        }
    }

    @Benchmark
    public int segmentComplete()
    {
        final int count = cut(Segmenter.CHECKSUM_COMPLETE);
        for (int i = 0; i < count; i++)
        {
            segments[i].release();
        }
        return count;
    }

    @Benchmark
    public int segmentPartial()
    {
        final int count = cut(Segmenter.CHECKSUM_PARTIAL);
        for (int i = 0; i < count; i++)
        {
            segments[i].release();
        }
        return count;
    }

    @Benchmark
    public int segmentChained()
    {
        final int count = cut(Segmenter.CHECKSUM_PARTIAL, Segmenter.CHAINED);
        for (int i = 0; i < count; i++)
        {
            segments[i].release();
        }
        return count;
    }

    @Benchmark
    public int segmentThenCoalesce()
    {
        final int count = cut(Segmenter.CHECKSUM_COMPLETE);
        int emitted = 0;
        for (int i = 0; i < count; i++)
        {
            emitted = coalescer.add(segments[i], out, emitted);
        }
        emitted = coalescer.flush(out, emitted);
        if (emitted != 1 || out[0].length() != superFrame.length())
        {
            throw new IllegalStateException("coalesced into " + emitted + " frames");
        }
        final int length = out[0].length();
        out[0].release();
        return length;
    }

    private int cut(final boolean complete)
    {
        return cut(complete, Segmenter.COPIED);
    }

    private int cut(final boolean complete, final boolean chained)
    {
        final int count = segmenter.segment(superFrame, pool, complete, chained, segments, 0);
        if (count != SEGMENTS)
        {
            throw new IllegalStateException("segmenter returned " + count);
        }
        return count;
    }
}
