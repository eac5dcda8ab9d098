package io.vsnic.dataplane.offload;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;

import io.vsnic.dataplane.buffer.Frame;
import io.vsnic.dataplane.buffer.FramePool;
import io.vsnic.dataplane.status.DropReason;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Seeded fuzzing of the offload code with what a guest or a substrate peer can hand it: super-frames
 * (from a TAP: any virtio-net header over any bytes) cut by the {@link Segmenter}, partial checksums
 * completed by {@link ChecksumOffload}, and segments merged by the {@link Coalescer} both as frames and
 * as ranges of a receive buffer (the UDP GRO path, where the bytes come from other devices). Inputs
 * start as valid super-frames and are then left alone, bit-flipped in their headers, truncated, or given
 * random offload fields. Nothing may throw, every result is a count or a drop reason, and every frame
 * goes back to its pool. Valid inputs must also survive the round trip: cut, merged again, and their
 * payload bytes in the same order.
 */
class OffloadFuzzTest
{
    private static final long SEED = 0x6F_66_66_6C_64L; // "offld"
    private static final int SUPER_FRAMES = 6_000;
    private static final int OUT = 256;

    private static final int KIND_VALID = 0;
    private static final int KIND_FLIPPED = 1;
    private static final int KIND_TRUNCATED = 2;
    private static final int KIND_RANDOM_OFFLOAD = 3;
    private static final String[] KIND_NAMES = {"valid", "header-bit-flipped", "truncated", "random-offload-fields"};

    private final SplittableRandom random = new SplittableRandom(SEED);
    private final FramePool pool = new FramePool(1024);
    private final FramePool superPool = new FramePool(16, FramePool.SUPER_SLOT_BYTES, FramePool.DEFAULT_HEADROOM_BYTES);
    private final Segmenter segmenter = new Segmenter();
    private final Coalescer coalescer = new Coalescer(superPool, Coalescer.CHECKSUM_COMPLETE);
    private final Frame[] segments = new Frame[OUT];
    private final Frame[] merged = new Frame[2 * OUT + 2];
    /** A receive buffer as the substrate's UDP GRO read fills it: the segments back to back. */
    private final MemorySegment buffer = Arena.ofAuto().allocate(OUT * (long)FramePool.DEFAULT_SLOT_BYTES);
    private final long[] kinds = new long[KIND_NAMES.length];
    private final long[] reasons = new long[DropReason.count()];

    @AfterEach
    void everyFrameWentBack()
    {
        assertEquals(pool.capacity(), pool.available(), "every frame went back");
        assertEquals(superPool.capacity(), superPool.available(), "every super-frame went back");
        pool.close();
        superPool.close();
    }

    @Test
    void shouldCutCompleteAndMergeWhateverItIsGivenWithoutThrowingOrLosingAFrame()
    {
        long roundTrips = 0;
        long cut = 0;
        for (int i = 0; i < SUPER_FRAMES; i++)
        {
            final OffloadFrames.Spec spec = randomSpec();
            final int gsoSize = randomGsoSize(spec);
            final byte[] valid = OffloadFrames.build(spec);
            final int kind = random.nextInt(KIND_NAMES.length);
            kinds[kind]++;
            final byte[] bytes = kind == KIND_FLIPPED ? flipHeaderBits(valid, spec) :
                kind == KIND_TRUNCATED ? OffloadFrames.slice(valid, 0, random.nextInt(valid.length)) : valid;
            final Frame superFrame = OffloadFrames.load(superPool, bytes);
            final int type = spec.protocol == OffloadFrames.UDP ? VirtioNetHeader.GSO_UDP_L4 :
                spec.v6 ? VirtioNetHeader.GSO_TCPV6 : VirtioNetHeader.GSO_TCPV4;
            if (kind == KIND_RANDOM_OFFLOAD)
            {
                superFrame.gso(random.nextInt(256), random.nextInt(65_536));
                if (random.nextBoolean())
                {
                    superFrame.checksumPartial(random.nextInt(bytes.length + 64), random.nextInt(128));
                }
            }
            else
            {
                superFrame.gso(type, gsoSize);
                superFrame.checksumPartial(14 + spec.ipHeaderLength(), spec.protocol == OffloadFrames.TCP ? 16 : 6);
            }
            final boolean complete = random.nextBoolean();
            final boolean chained = random.nextBoolean();
            final String what = KIND_NAMES[kind] + " #" + i + " (" + bytes.length + " B, gso " + superFrame.gsoType() + "/" +
                superFrame.gsoSize() + ", complete " + complete + ", chained " + chained + ")";
            final int n;
            try
            {
                n = segmenter.segment(superFrame, pool, complete, chained, segments, 0);
            }
            catch (final RuntimeException ex)
            {
                superFrame.release();
                throw new AssertionError("Segmenter threw on " + what, ex);
            }
            if (n <= 0)
            {
                assertTrue(-n > 0 && -n < DropReason.count(), "a drop reason for " + what + ": " + n);
                reasons[-n]++;
                assertTrue(kind != KIND_VALID, "a valid super-frame is cut: " + what + " gave " + DropReason.values()[-n]);
                completeChecksum(superFrame, what);
                superFrame.release();
                continue;
            }
            cut++;
            for (int k = 0; k < n; k++)
            {
                final Frame segment = segments[k];
                assertTrue(segment.wireLength() <= bytes.length, "segment " + k + " of " + what + " is no longer than the super-frame");
                if (kind == KIND_VALID)
                {
                    assertTrue(segment.wireLength() - spec.headerLength() <= gsoSize, "segment " + k + " of " + what + " holds at most gso_size");
                    if (complete)
                    {
                        assertTrue(OffloadFrames.checksumsValid(segment.toByteArray()), "segment " + k + " of " + what + " has valid checksums");
                    }
                }
            }
            superFrame.release(); // chained segments hold it until they go
            if (kind == KIND_VALID && complete)
            {
                final boolean asRanges = random.nextBoolean();
                assertArrayEquals(payload(valid), asRanges ? mergeAsRanges(n, false, what) : mergeAsFrames(n, what),
                    "the payload after cutting and merging " + what + (asRanges ? " as ranges" : " as frames"));
                roundTrips++;
            }
            else if (random.nextBoolean())
            {
                mergeAsRanges(n, kind != KIND_VALID, what);
            }
            else
            {
                mergeAsFrames(n, what);
            }
        }
        final StringBuilder summary = new StringBuilder("offload fuzz (seed " + Long.toHexString(SEED) + "): ");
        for (int k = 0; k < KIND_NAMES.length; k++)
        {
            summary.append(KIND_NAMES[k]).append(' ').append(kinds[k]).append(", ");
        }
        summary.append(cut).append(" cut, ").append(roundTrips).append(" round trips; refused:");
        for (int r = 0; r < reasons.length; r++)
        {
            if (reasons[r] > 0)
            {
                summary.append(' ').append(DropReason.values()[r]).append(' ').append(reasons[r]);
            }
        }
        System.out.println(summary);
        assertTrue(roundTrips > SUPER_FRAMES / 10, "enough valid round trips: " + roundTrips);
        assertTrue(kinds[KIND_RANDOM_OFFLOAD] > 0 && reasons[DropReason.SEGMENTATION_FAILED.ordinal()] > 0,
            "the fuzzer reached the refusals");
    }

    /** A super-frame's spec: TCP (v4 or v6, random flags, with or without options) or UDP, 0 to about 64 KiB of payload. */
    private OffloadFrames.Spec randomSpec()
    {
        final OffloadFrames.Spec spec = new OffloadFrames.Spec();
        spec.v6 = random.nextBoolean();
        spec.protocol = random.nextInt(4) == 0 ? OffloadFrames.UDP : OffloadFrames.TCP;
        spec.ipId = random.nextInt(65_536);
        spec.sequence = random.nextLong(1L << 32);
        // ACK always; now and then PSH, FIN, CWR or ECE as a guest's TCP sets them
        spec.flags = 0x10 | (random.nextInt(4) == 0 ? 0x08 : 0) | (random.nextInt(16) == 0 ? 0x01 : 0) |
            (random.nextInt(8) == 0 ? 0x80 : 0) | (random.nextInt(8) == 0 ? 0x40 : 0);
        spec.options = random.nextBoolean() ? OffloadFrames.TCP_TIMESTAMPS : new byte[0];
        final int room = 65_535 - spec.ipHeaderLength() - spec.l4HeaderLength() + (spec.v6 ? 40 : 0);
        spec.payload = OffloadFrames.payload(random.nextInt(4) == 0 ? random.nextInt(3000) : random.nextInt(Math.min(room, 64_000)),
            random.nextInt());
        return spec;
    }

    /** A gso_size as guests use them (an MSS for a 1500 or a 1400 MTU), or any small one that keeps the count under OUT. */
    private int randomGsoSize(final OffloadFrames.Spec spec)
    {
        final int minimum = Math.max(1, (spec.payload.length + OUT - 1) / OUT);
        final int mss = 1500 - spec.ipHeaderLength() - spec.l4HeaderLength();
        final int choice = random.nextInt(3);
        return Math.max(minimum, choice == 0 ? mss : choice == 1 ? mss - 100 : 1 + random.nextInt(2000));
    }

    /** Flips one to four bits in the Ethernet, IP and L4 headers. */
    private byte[] flipHeaderBits(final byte[] valid, final OffloadFrames.Spec spec)
    {
        final byte[] bytes = valid.clone();
        final int flips = 1 + random.nextInt(4);
        for (int f = 0; f < flips; f++)
        {
            final int at = random.nextInt(Math.min(bytes.length, spec.headerLength()));
            bytes[at] ^= (byte)(1 << random.nextInt(8));
        }
        return bytes;
    }

    private void completeChecksum(final Frame frame, final String what)
    {
        try
        {
            ChecksumOffload.complete(frame);
        }
        catch (final RuntimeException ex)
        {
            throw new AssertionError("ChecksumOffload threw on " + what, ex);
        }
    }

    /**
     * Merges segments[0..n) as frames, as a worker does before a TAP that takes super-frames, and
     * releases what comes out.
     *
     * @return the TCP or UDP payloads of what came out, in order.
     */
    private byte[] mergeAsFrames(final int n, final String what)
    {
        int emitted = 0;
        try
        {
            for (int k = 0; k < n; k++)
            {
                final Frame segment = segments[k];
                segments[k] = null;
                if (segment.refersToOther() && !segment.flatten())
                {
                    fail("a chained segment of " + what + " fits its slot");
                }
                emitted = coalescer.add(segment, merged, emitted);
            }
            emitted = coalescer.flush(merged, emitted);
        }
        catch (final RuntimeException ex)
        {
            throw new AssertionError("Coalescer.add threw on " + what, ex);
        }
        return takePayloads(emitted);
    }

    /**
     * Copies segments[0..n) back to back into a receive buffer, now and then with a flipped bit, and
     * offers them to the coalescer as ranges, as the substrate's GRO read does; a range not taken is
     * copied into a frame of its own, as the substrate does.
     *
     * @return the TCP or UDP payloads of what came out, in order.
     */
    private byte[] mergeAsRanges(final int n, final boolean mutate, final String what)
    {
        long at = 0;
        final long[] starts = new long[n];
        final int[] lengths = new int[n];
        for (int k = 0; k < n; k++)
        {
            final byte[] bytes = segments[k].toByteArray();
            segments[k].release();
            segments[k] = null;
            if (mutate && random.nextInt(8) == 0)
            {
                bytes[random.nextInt(bytes.length)] ^= (byte)(1 << random.nextInt(8));
            }
            MemorySegment.copy(bytes, 0, buffer, ValueLayout.JAVA_BYTE, at, bytes.length);
            starts[k] = at;
            lengths[k] = bytes.length;
            at += bytes.length;
        }
        int emitted = 0;
        try
        {
            for (int k = 0; k < n; k++)
            {
                final int csumStart = random.nextInt(16) == 0 ? random.nextInt(lengths[k] + 8) : -1;
                final int next = coalescer.addRange(buffer, (int)starts[k], lengths[k], 50, 100, 2, random.nextInt(8) == 0,
                    csumStart, 16, pool, merged, emitted);
                if (next >= 0)
                {
                    emitted = next;
                    continue;
                }
                emitted = ~next;
                final Frame alone = pool.acquire();
                assertTrue(alone != null && alone.copyFrom(buffer, starts[k], lengths[k]));
                merged[emitted++] = alone;
            }
            emitted = coalescer.flushRange(merged, emitted);
            emitted = coalescer.flush(merged, emitted);
        }
        catch (final RuntimeException ex)
        {
            throw new AssertionError("Coalescer.addRange threw on " + what, ex);
        }
        return takePayloads(emitted);
    }

    /** Releases merged[0..emitted) and returns their L4 payloads back to back (as far as their headers say). */
    private byte[] takePayloads(final int emitted)
    {
        final ByteArrayOutputStream payloads = new ByteArrayOutputStream();
        for (int k = 0; k < emitted; k++)
        {
            final Frame frame = merged[k];
            merged[k] = null;
            completeChecksum(frame, "an emitted frame");
            final byte[] bytes = frame.toByteArray();
            frame.release();
            final int from = payloadOffset(bytes);
            if (from >= 0 && from <= bytes.length)
            {
                payloads.write(bytes, from, bytes.length - from);
            }
        }
        return payloads.toByteArray();
    }

    private static byte[] payload(final byte[] frame)
    {
        final int from = payloadOffset(frame);
        return OffloadFrames.slice(frame, from, frame.length - from);
    }

    /** Where the L4 payload of an untagged IPv4 or IPv6 frame starts, from its headers; -1 when they do not say. */
    private static int payloadOffset(final byte[] frame)
    {
        final boolean v6 = frame.length >= 14 && (frame[12] & 0xFF) == 0x86 && (frame[13] & 0xFF) == 0xDD;
        if (frame.length < 14 + (v6 ? 40 : 20))
        {
            return -1;
        }
        final int l4 = v6 ? 14 + 40 : 14 + (frame[14] & 0x0F) * 4;
        final int protocol = frame[v6 ? 20 : 23] & 0xFF;
        if (protocol == OffloadFrames.UDP)
        {
            return l4 + 8;
        }
        return l4 + 13 < frame.length ? l4 + (frame[l4 + 12] >>> 4 & 0x0F) * 4 : -1;
    }
}
