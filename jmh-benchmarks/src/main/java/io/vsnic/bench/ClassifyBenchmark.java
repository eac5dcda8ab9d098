package io.vsnic.bench;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import io.vsnic.dataplane.buffer.Frame;
import io.vsnic.dataplane.buffer.FramePool;
import io.vsnic.dataplane.protocol.Flyweight;
import io.vsnic.dataplane.protocol.FrameBuilder;
import io.vsnic.dataplane.protocol.FrameClassifier;
import io.vsnic.dataplane.protocol.FrameLayout;
import io.vsnic.dataplane.protocol.IpProtocol;
import io.vsnic.dataplane.protocol.Ipv4Flyweight;
import io.vsnic.dataplane.protocol.TcpFlyweight;

/**
 * Cost of the first step every received frame takes: {@link FrameClassifier#classify} followed by
 * reading the values the pipeline keys on with the offsets in the {@link FrameLayout} (IPv4
 * addresses from the segment, ports, protocol, VNI, inner MAC and offsets), folded into the
 * returned {@code long} so that none of it is dead code. On one thread, with frames that are
 * already in the cache: this is the classifier's own cost, not that of memory the NIC has just
 * written.
 *
 * <ul>
 *   <li>{@code *Udp64}: one {@value #SMALL_FRAME_BYTES}-byte Ethernet/IPv4/UDP frame (22 bytes of
 *       payload; the length the classifier sees, without FCS).</li>
 *   <li>{@code *Geneve1400}: one {@value #GENEVE_FRAME_BYTES}-byte frame: outer Ethernet/IPv4/UDP
 *       to port 6081 (with a UDP checksum), Geneve with one 8-byte option (4-byte TLV header and
 *       4 bytes of data), inner Ethernet/IPv4/TCP with {@value #GENEVE_PAYLOAD_BYTES} bytes of
 *       payload.</li>
 *   <li>{@code *Udp64Burst}: {@value #BURST} different {@value #SMALL_FRAME_BYTES}-byte UDP frames
 *       (addresses, MACs and ports all differ) in {@value #BURST} pool slots, classified one after
 *       the other as a pipeline node walks a receive burst; reported per frame, so that the score
 *       compares with {@code *Udp64} but branch prediction and the caches do not see the same frame
 *       over and over.</li>
 * </ul>
 *
 * <p>Each runs with {@link FrameClassifier#forwarding()} (the data plane's configuration: no L4
 * checksum verification) and {@link FrameClassifier#verifying()} (every L4 checksum verified, so the
 * cost grows with the frame). Scores are given both as time per frame and as frames per time unit.
 * All must show {@code gc.alloc.rate.norm} of 0 B/op under {@code -prof gc}: frames, layout and
 * classifiers are built in {@link #setUp()}.
 */
@State(Scope.Thread)
@BenchmarkMode({Mode.AverageTime, Mode.Throughput})
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 1, timeUnit = TimeUnit.SECONDS)
@Measurement(iterations = 5, time = 1, timeUnit = TimeUnit.SECONDS)
public class ClassifyBenchmark
{
    /** Length of the small frame as the classifier sees it (no FCS). */
    public static final int SMALL_FRAME_BYTES = 64;
    /** Length of the Geneve frame, outer Ethernet header included. */
    public static final int GENEVE_FRAME_BYTES = 1400;
    /** Frames in one burst of {@code *Udp64Burst}: a typical receive burst. */
    public static final int BURST = 32;
    /** Slots in the pool: one per frame of the benchmark, rounded up to a power of two. */
    public static final int POOL_SLOTS = 64;
    /** VNI of the Geneve frame. */
    public static final int VNI = 0x12_3456;

    /** Ethernet (14) + IPv4 (20) + UDP (8). */
    private static final int SMALL_HEADERS_BYTES = 42;
    /** Outer Ethernet/IPv4/UDP (42) + Geneve with an 8-byte option (16) + inner Ethernet/IPv4/TCP (54). */
    private static final int GENEVE_HEADERS_BYTES = 42 + 16 + 54;
    private static final int GENEVE_PAYLOAD_BYTES = GENEVE_FRAME_BYTES - GENEVE_HEADERS_BYTES;
    private static final int SMALL_PAYLOAD_BYTES = SMALL_FRAME_BYTES - SMALL_HEADERS_BYTES;
    private static final int[][] GENEVE_OPTION = {{0x0102, 0x01}};
    private static final byte[][] GENEVE_OPTION_DATA = {{1, 2, 3, 4}};

    private final FrameClassifier forwarding = FrameClassifier.forwarding();
    private final FrameClassifier verifying = FrameClassifier.verifying();
    private final FrameLayout layout = new FrameLayout();
    private final Frame[] burst = new Frame[BURST];
    private FramePool pool;
    private Frame udp64;
    private Frame geneve1400;

    /**
     * Builds the pool and every frame once per trial, and checks that each frame classifies as
     * intended with both classifiers.
     */
    @Setup(Level.Trial)
    public void setUp()
    {
        pool = new FramePool(POOL_SLOTS);
        udp64 = buildUdp(0);
        geneve1400 = pool.acquire();
        final int length = new FrameBuilder(geneve1400.segment(), geneve1400.start())
            .ethernet(0x02_00_00_00_0A_02L, 0x02_00_00_00_0A_01L)
            .ipv4(0xC0_A8_00_01, 0xC0_A8_00_02)
            .udp(49_152, 6081)
            .geneve(VNI, GENEVE_OPTION, GENEVE_OPTION_DATA)
            .ethernet(0x02_00_00_00_0B_02L, 0x02_00_00_00_0B_01L)
            .ipv4(0x0A_00_00_01, 0x0A_00_00_02)
            .tcp(40_000, 443, 1, 1, TcpFlyweight.ACK | TcpFlyweight.PSH, null)
            .payload(GENEVE_PAYLOAD_BYTES, 7)
            .build();
        geneve1400.length(length);
        for (int i = 0; i < BURST; i++)
        {
            burst[i] = buildUdp(i + 1);
        }
        checkFrames();
    }

    /**
     * Checks that the frames still classify as intended (so every score measured a valid frame on
     * the full path) and frees the pool.
     */
    @TearDown(Level.Trial)
    public void tearDown()
    {
        try
        {
            checkFrames();
        }
        finally
        {
            pool.close();
        }
    }

    /**
     * The 64-byte UDP frame with the forwarding classifier.
     *
     * @return the values the pipeline keys on, folded.
     */
    @Benchmark
    public long forwardingUdp64()
    {
        return classifyUdp(forwarding, udp64);
    }

    /**
     * The 64-byte UDP frame with L4 checksum verification.
     *
     * @return the values the pipeline keys on, folded.
     */
    @Benchmark
    public long verifyingUdp64()
    {
        return classifyUdp(verifying, udp64);
    }

    /**
     * The 1400-byte Geneve frame with the forwarding classifier.
     *
     * @return the values the pipeline keys on, outer and inner, folded.
     */
    @Benchmark
    public long forwardingGeneve1400()
    {
        return classifyGeneve(forwarding, geneve1400);
    }

    /**
     * The 1400-byte Geneve frame with both L4 checksums (outer UDP, inner TCP) verified.
     *
     * @return the values the pipeline keys on, outer and inner, folded.
     */
    @Benchmark
    public long verifyingGeneve1400()
    {
        return classifyGeneve(verifying, geneve1400);
    }

    /**
     * {@value #BURST} different 64-byte UDP frames with the forwarding classifier; the score is per frame.
     *
     * @return the values the pipeline keys on, folded over the burst.
     */
    @Benchmark
    @OperationsPerInvocation(BURST)
    public long forwardingUdp64Burst()
    {
        return classifyBurst(forwarding);
    }

    /**
     * {@value #BURST} different 64-byte UDP frames with L4 checksum verification; the score is per frame.
     *
     * @return the values the pipeline keys on, folded over the burst.
     */
    @Benchmark
    @OperationsPerInvocation(BURST)
    public long verifyingUdp64Burst()
    {
        return classifyBurst(verifying);
    }

    private long classifyBurst(final FrameClassifier classifier)
    {
        final Frame[] frames = burst;
        long keys = 0;
        for (int i = 0; i < BURST; i++)
        {
            keys += classifyUdp(classifier, frames[i]);
        }
        return keys;
    }

    private long classifyUdp(final FrameClassifier classifier, final Frame frame)
    {
        final MemorySegment segment = frame.segment();
        final FrameLayout layout = this.layout;
        final int reason = classifier.classify(segment, frame.start(), frame.length(), layout);
        return flowKey(segment, layout) * 31 + reason;
    }

    private long classifyGeneve(final FrameClassifier classifier, final Frame frame)
    {
        final MemorySegment segment = frame.segment();
        final FrameLayout layout = this.layout;
        final int reason = classifier.classify(segment, frame.start(), frame.length(), layout);
        final FrameLayout inner = layout.inner();
        long key = flowKey(segment, layout);
        key = key * 31 + layout.vni();
        key = key * 31 + inner.destinationMac();
        key = key * 31 + ((long)inner.l3Offset() << 16 | inner.l4Offset());
        key = key * 31 + flowKey(segment, inner);
        return key * 31 + reason;
    }

    /**
     * The 5-tuple of an IPv4 layout, read as a flow-table lookup would read it: both addresses in
     * one 8-byte read (they are adjacent in the header), the rest from the layout.
     */
    private static long flowKey(final MemorySegment segment, final FrameLayout layout)
    {
        final long addresses = segment.get(Flyweight.U64, layout.l3Offset() + Ipv4Flyweight.SOURCE_OFFSET);
        final long key = addresses * 31 + ((long)layout.sourcePort() << 16 | layout.destinationPort());
        return key * 31 + layout.l4Protocol();
    }

    /**
     * A 64-byte Ethernet/IPv4/UDP frame; {@code n} varies the MACs, addresses and ports (never to an
     * overlay port).
     */
    private Frame buildUdp(final int n)
    {
        final Frame frame = pool.acquire();
        final int length = new FrameBuilder(frame.segment(), frame.start())
            .ethernet(0x02_00_00_01_00_00L + n, 0x02_00_00_02_00_00L + n * 3L)
            .ipv4(0x0A_00_00_01 + (n << 8) + n, 0x0A_80_00_01 + n * 7)
            .udp(49_152 + n * 11, 5001 + n * 13)
            .payload(SMALL_PAYLOAD_BYTES, n)
            .build();
        frame.length(length);
        return frame;
    }

    private void checkFrames()
    {
        checkUdp(udp64);
        for (final Frame frame : burst)
        {
            checkUdp(frame);
        }
        for (final FrameClassifier classifier : new FrameClassifier[]{forwarding, verifying})
        {
            classify(classifier, geneve1400);
            final FrameLayout inner = layout.inner();
            check(layout.overlayType() == FrameLayout.OVERLAY_GENEVE && layout.vni() == VNI &&
                layout.overlayHeaderLength() == 16 && inner.l4Protocol() == IpProtocol.TCP &&
                inner.destinationPort() == 443, geneve1400);
            check(classifier == forwarding || (
                layout.hasFlag(FrameLayout.FLAG_L4_CHECKSUM_VERIFIED) &&
                inner.hasFlag(FrameLayout.FLAG_L4_CHECKSUM_VERIFIED)), geneve1400);
        }
    }

    private void checkUdp(final Frame frame)
    {
        check(frame.length() == SMALL_FRAME_BYTES, frame);
        classify(forwarding, frame);
        check(layout.l4Protocol() == IpProtocol.UDP && layout.overlayType() == FrameLayout.OVERLAY_NONE, frame);
        classify(verifying, frame);
        check(layout.hasFlag(FrameLayout.FLAG_L4_CHECKSUM_VERIFIED), frame);
    }

    private void classify(final FrameClassifier classifier, final Frame frame)
    {
        final int reason = classifier.classify(frame.segment(), frame.start(), frame.length(), layout);
        check(reason == 0, frame);
    }

    private void check(final boolean condition, final Frame frame)
    {
        if (!condition)
        {
            throw new IllegalStateException("frame " + frame.index() + " of " + frame.length() +
                " bytes does not classify as the benchmark expects: " + layout.dropReason() +
                ", flags=0x" + Integer.toHexString(layout.flags()));
        }
    }
}
