package io.vsnic.dataplane.offload;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import io.vsnic.dataplane.buffer.Frame;
import io.vsnic.dataplane.buffer.FramePool;
import io.vsnic.dataplane.capture.PcapWriter;
import io.vsnic.dataplane.protocol.TcpFlyweight;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CoalescerTest
{
    private static final int MSS = 1448;

    /** The TCP checksum field of an untagged IPv4 frame without options: Ethernet 14 + IPv4 20 + 16. */
    private static final int ETHERNET_IP_TCP_CHECKSUM = 14 + 20 + 16;
    private final FramePool pool = new FramePool(512);
    private final FramePool superPool = new FramePool(8, FramePool.SUPER_SLOT_BYTES, FramePool.DEFAULT_HEADROOM_BYTES);
    private final Coalescer coalescer = new Coalescer(superPool, Coalescer.CHECKSUM_COMPLETE);
    private final Frame[] out = new Frame[128];
    private int emitted;

    @AfterEach
    void release()
    {
        for (int i = 0; i < out.length; i++)
        {
            if (out[i] != null)
            {
                out[i].release();
            }
        }
        assertEquals(pool.capacity(), pool.available(), "every frame went back");
        assertEquals(superPool.capacity(), superPool.available(), "every super-frame went back");
        pool.close();
        superPool.close();
    }

    private static OffloadFrames.Spec segmentSpec(final OffloadFrames.Spec flow, final int k, final int payload)
    {
        final OffloadFrames.Spec s = flow.copy();
        s.sequence = flow.sequence + (long)k * MSS & 0xFFFF_FFFFL;
        s.ipId = flow.ipId + k;
        s.payload = OffloadFrames.slice(flow.payload, k * MSS, payload);
        return s;
    }

    private void add(final OffloadFrames.Spec spec)
    {
        emitted = coalescer.add(OffloadFrames.load(pool, OffloadFrames.build(spec)), out, emitted);
    }

    private void flush()
    {
        emitted = coalescer.flush(out, emitted);
    }

    /** Checks that exactly one frame was emitted, the whole flow as one super-frame, and releases it. */
    private void takeTheSuperFrame(final OffloadFrames.Spec flow)
    {
        assertEquals(1, emitted);
        assertArrayEquals(OffloadFrames.build(flow), out[0].toByteArray(), "v6=" + flow.v6);
        assertEquals(flow.v6 ? VirtioNetHeader.GSO_TCPV6 : VirtioNetHeader.GSO_TCPV4, out[0].gsoType());
        assertEquals(MSS, out[0].gsoSize());
        out[0].release();
        out[0] = null;
        emitted = 0;
    }

    @Test
    void shouldMergeInOrderSegmentsIntoOneSuperFrame()
    {
        for (final boolean v6 : List.of(false, true))
        {
            final OffloadFrames.Spec flow = new OffloadFrames.Spec();
            flow.v6 = v6;
            flow.payload = OffloadFrames.payload(5 * MSS, 11);
            for (int k = 0; k < 5; k++)
            {
                add(segmentSpec(flow, k, MSS));
            }
            assertEquals(0, emitted, "held until the end of the batch");
            flush();
            assertFalse(out[0].checksumPartial());
            takeTheSuperFrame(flow);
        }
        assertEquals(8, coalescer.mergedCount());
        assertEquals(2, coalescer.superFrameCount());
    }

    @Test
    void shouldNotMergeSegmentsOfAnotherNetworkOrPeerDevice()
    {
        // the same inner flow in two networks (overlapping addresses) or from two devices stays apart
        final OffloadFrames.Spec flow = new OffloadFrames.Spec();
        flow.payload = OffloadFrames.payload(4 * MSS, 17);
        final int[][] tags = {{100, 7}, {200, 7}, {200, 8}, {200, 8}};
        for (int k = 0; k < 4; k++)
        {
            final Frame frame = OffloadFrames.load(pool, OffloadFrames.build(segmentSpec(flow, k, MSS)));
            frame.vni(tags[k][0]).peerDevice(tags[k][1]);
            emitted = coalescer.add(frame, out, emitted);
        }
        flush();
        assertEquals(3, emitted, "vni 100; vni 200 from device 7; vni 200 from device 8 (two merged)");
        assertEquals(1, coalescer.superFrameCount());
        assertEquals(200, out[2].vni());
        assertEquals(8, out[2].peerDevice());
        assertArrayEquals(OffloadFrames.build(segmentSpec(flow, 2, 2 * MSS)), out[2].toByteArray());
    }

    @Test
    void shouldCloseTheSuperFrameOnPshAndOnAShortSegment()
    {
        final OffloadFrames.Spec flow = new OffloadFrames.Spec();
        flow.payload = OffloadFrames.payload(4 * MSS, 12);
        final OffloadFrames.Spec second = segmentSpec(flow, 1, MSS);
        second.flags |= TcpFlyweight.PSH;
        add(segmentSpec(flow, 0, MSS));
        add(second);
        assertEquals(1, emitted, "PSH closes it");
        add(segmentSpec(flow, 2, MSS));
        add(segmentSpec(flow, 3, 100));
        assertEquals(2, emitted, "a segment shorter than gso_size closes it");

        final OffloadFrames.Spec firstTwo = flow.copy();
        firstTwo.flags |= TcpFlyweight.PSH;
        firstTwo.payload = OffloadFrames.slice(flow.payload, 0, 2 * MSS);
        assertArrayEquals(OffloadFrames.build(firstTwo), out[0].toByteArray());
        final OffloadFrames.Spec lastTwo = segmentSpec(flow, 2, MSS + 100);
        assertArrayEquals(OffloadFrames.build(lastTwo), out[1].toByteArray());
    }

    @Test
    void shouldNotMergeOutOfOrderOtherFlowsOrChangedHeaders()
    {
        final OffloadFrames.Spec flow = new OffloadFrames.Spec();
        flow.payload = OffloadFrames.payload(3 * MSS, 13);
        final OffloadFrames.Spec other = flow.copy();
        other.sourcePort++;
        final OffloadFrames.Spec otherAck = segmentSpec(flow, 1, MSS);
        otherAck.acknowledgment++;
        final OffloadFrames.Spec otherOptions = segmentSpec(flow, 1, MSS);
        otherOptions.options = new byte[] {1, 1, 8, 10, 0, 0, 0x12, 0x35, 0, 0, 0x56, 0x78};
        final OffloadFrames.Spec otherId = segmentSpec(flow, 1, MSS);
        otherId.ipId += 7;
        final OffloadFrames.Spec otherTtl = segmentSpec(flow, 1, MSS);
        otherTtl.ttl = 63;
        final OffloadFrames.Spec cwr = segmentSpec(flow, 1, MSS);
        cwr.flags |= TcpFlyweight.CWR;
        final List<OffloadFrames.Spec> seconds = List.of(segmentSpec(flow, 2, MSS), segmentSpec(other, 1, MSS), otherAck,
            otherOptions, otherId, otherTtl, cwr);
        for (final OffloadFrames.Spec candidate : seconds)
        {
            add(segmentSpec(flow, 0, MSS));
            add(candidate);
            flush();
            assertEquals(2, emitted, "not merged: " + candidate.sequence + "/" + candidate.ipId);
            for (int i = 0; i < 2; i++)
            {
                assertFalse(out[i].isSuperFrame());
                out[i].release();
                out[i] = null;
            }
            emitted = 0;
        }
        assertEquals(0, coalescer.mergedCount());
    }

    @Test
    void shouldPassSynRstUrgAndBadChecksumsThroughInOrder()
    {
        final OffloadFrames.Spec flow = new OffloadFrames.Spec();
        flow.payload = OffloadFrames.payload(3 * MSS, 14);
        for (final int flag : new int[] {TcpFlyweight.SYN, TcpFlyweight.RST, TcpFlyweight.URG})
        {
            add(segmentSpec(flow, 0, MSS));
            final OffloadFrames.Spec special = segmentSpec(flow, 1, MSS);
            special.flags |= flag;
            add(special);
            assertEquals(2, emitted, "the open segment first, then the passed one");
            assertEquals(OffloadFrames.build(segmentSpec(flow, 0, MSS)).length, out[0].length());
            assertArrayEquals(OffloadFrames.build(special), out[1].toByteArray());
            out[0].release();
            out[1].release();
            out[0] = null;
            out[1] = null;
            emitted = 0;
        }
        add(segmentSpec(flow, 0, MSS));
        final byte[] corrupt = OffloadFrames.build(segmentSpec(flow, 1, MSS));
        corrupt[corrupt.length - 1] ^= 1;
        emitted = coalescer.add(OffloadFrames.load(pool, corrupt), out, emitted);
        flush();
        assertEquals(2, emitted);
        assertArrayEquals(corrupt, out[1].toByteArray(), "a corrupt segment is handed on unchanged for the receiver to reject");
        assertEquals(0, coalescer.mergedCount());
    }

    /**
     * Segments opened from authenticated WireGuard messages are marked verified: they are merged
     * without a checksum pass (the AEAD tag covered them), and the merged super-frame still carries
     * correct checksums (the coalescer writes them itself).
     */
    @Test
    void shouldMergeVerifiedSegmentsWithoutCheckingTheirChecksums()
    {
        final OffloadFrames.Spec flow = new OffloadFrames.Spec();
        flow.payload = OffloadFrames.payload(2 * MSS, 15);
        for (int k = 0; k < 2; k++)
        {
            final byte[] bytes = OffloadFrames.build(segmentSpec(flow, k, MSS));
            final int checksum = ETHERNET_IP_TCP_CHECKSUM;
            bytes[checksum] ^= 0x55;   // a wrong checksum field: not looked at for a verified segment
            emitted = coalescer.add(OffloadFrames.load(pool, bytes).checksumVerified(true), out, emitted);
        }
        flush();
        assertEquals(1, emitted, "merged into one super-frame");
        assertEquals(1, coalescer.mergedCount());
        assertTrue(OffloadFrames.checksumsValid(out[0].toByteArray()), "the super-frame's checksums are the coalescer's own");
    }

    @Test
    void shouldStopAtTheIpLengthLimit()
    {
        final OffloadFrames.Spec flow = new OffloadFrames.Spec();
        flow.payload = OffloadFrames.payload(60 * MSS, 15);
        for (int k = 0; k < 60; k++)
        {
            add(segmentSpec(flow, k, MSS));
        }
        flush();
        assertEquals(2, emitted);
        final int perSuperFrame = (Coalescer.MAX_IP_LENGTH - 20 - 32) / MSS;
        assertEquals(20 + 32 + perSuperFrame * MSS, out[0].length() - 14);
        assertEquals(60 - perSuperFrame, (out[1].length() - 14 - 52) / MSS);
        assertTrue(OffloadFrames.checksumsValid(out[0].toByteArray()) && OffloadFrames.checksumsValid(out[1].toByteArray()));
    }

    @Test
    void shouldPassSegmentsThroughWhenTheSuperPoolIsEmpty()
    {
        final Frame[] held = new Frame[superPool.capacity()];
        for (int i = 0; i < held.length; i++)
        {
            held[i] = superPool.acquire();
        }
        final OffloadFrames.Spec flow = new OffloadFrames.Spec();
        flow.payload = OffloadFrames.payload(3 * MSS, 16);
        for (int k = 0; k < 3; k++)
        {
            add(segmentSpec(flow, k, MSS));
        }
        flush();
        assertEquals(3, emitted);
        assertEquals(2, coalescer.poolExhausted());
        for (final Frame frame : held)
        {
            frame.release();
        }
    }

    /** Lays frames out one after the other in one native buffer, each after an 8-byte stand-in for the overlay header. */
    private static MemorySegment datagrams(final Arena arena, final List<byte[]> frames, final int[] starts)
    {
        final MemorySegment buffer = arena.allocate(65_536, 64);
        int at = 0;
        for (int i = 0; i < frames.size(); i++)
        {
            buffer.asSlice(at, 8).fill((byte)0x5A);
            starts[i] = at + 8;
            MemorySegment.copy(MemorySegment.ofArray(frames.get(i)), 0, buffer, at + 8, frames.get(i).length);
            at += 8 + frames.get(i).length;
        }
        return buffer;
    }

    private int addRange(final MemorySegment buffer, final int start, final int length)
    {
        return coalescer.addRange(buffer, start, length, 8, 300, 9, false, -1, 0, pool, out, emitted);
    }

    /**
     * Segments that sit in one buffer (a UDP GRO batch) are merged straight into the super-frame: no
     * frame of the ordinary pool is taken, the result is the same super-frame as from frames, and the
     * bytes counted are the datagrams' (outer headers included).
     */
    @Test
    void shouldMergeRangesOfABufferWithoutAFrameEach()
    {
        for (final boolean v6 : List.of(false, true))
        {
            final OffloadFrames.Spec flow = new OffloadFrames.Spec();
            flow.v6 = v6;
            flow.payload = OffloadFrames.payload(5 * MSS, 21);
            final List<byte[]> frames = new ArrayList<>();
            for (int k = 0; k < 5; k++)
            {
                frames.add(OffloadFrames.build(segmentSpec(flow, k, MSS)));
            }
            final long bytesBefore = coalescer.rangeBytes();
            try (Arena arena = Arena.ofConfined())
            {
                final int[] starts = new int[5];
                final MemorySegment buffer = datagrams(arena, frames, starts);
                for (int k = 0; k < 5; k++)
                {
                    emitted = addRange(buffer, starts[k], frames.get(k).length);
                    assertEquals(pool.capacity(), pool.available(), "no ordinary frame taken");
                }
                flush();
            }
            assertEquals(300, out[0].vni());
            assertEquals(9, out[0].peerDevice());
            assertEquals(5 * 8 + frames.stream().mapToLong(f -> f.length).sum(), coalescer.rangeBytes() - bytesBefore);
            takeTheSuperFrame(flow);
        }
        assertEquals(8, coalescer.mergedCount());
        assertEquals(2, coalescer.superFrameCount());
    }

    /**
     * A batch that refills its buffer (one UDP GRO read after another): {@link Coalescer#flushRange}
     * before each refill emits a lone segment still in the buffer, copied, but keeps a super-frame that
     * has a frame of its own open, so the next buffer's segments join it.
     */
    @Test
    void shouldKeepASuperFrameOpenAcrossBufferRefillsButNotALoneRange()
    {
        final OffloadFrames.Spec flow = new OffloadFrames.Spec();
        flow.payload = OffloadFrames.payload(6 * MSS, 41);
        final List<byte[]> frames = new ArrayList<>();
        for (int k = 0; k < 6; k++)
        {
            frames.add(OffloadFrames.build(segmentSpec(flow, k, MSS)));
        }
        try (Arena arena = Arena.ofConfined())
        {
            final int[] starts = new int[3];
            final MemorySegment first = datagrams(arena, frames.subList(0, 3), starts);
            for (int k = 0; k < 3; k++)
            {
                emitted = addRange(first, starts[k], frames.get(k).length);
            }
            emitted = coalescer.flushRange(out, emitted);
            assertEquals(0, emitted, "the super-frame stays open");
            first.fill((byte)0xEE);   // the buffer is refilled
            final MemorySegment second = datagrams(arena, frames.subList(3, 6), starts);
            for (int k = 0; k < 3; k++)
            {
                emitted = addRange(second, starts[k], frames.get(3 + k).length);
            }
            emitted = coalescer.flushRange(out, emitted);
            assertEquals(0, emitted);
            flush();
        }
        takeTheSuperFrame(flow);

        // a lone range goes at flushRange, as a copy that outlives the buffer
        try (Arena arena = Arena.ofConfined())
        {
            final int[] starts = new int[1];
            final MemorySegment buffer = datagrams(arena, frames.subList(0, 1), starts);
            emitted = addRange(buffer, starts[0], frames.get(0).length);
            emitted = coalescer.flushRange(out, emitted);
            assertEquals(1, emitted, "a lone range is emitted before the refill");
            buffer.fill((byte)0xEE);
            assertFalse(coalescer.hasOpen());
            flush();
            assertEquals(1, emitted, "nothing else was open");
        }
        assertArrayEquals(frames.get(0), out[0].toByteArray());
        assertEquals(1, coalescer.superFrameCount());
    }

    /**
     * Ranges whose sender left the TCP checksum partial (the remote checksum option): merged without a
     * check (there is no checksum to verify), a lone one handed on marked partial at its TCP header; a
     * range whose partial checksum is not at its TCP checksum field is not taken.
     */
    @Test
    void shouldMergeRangesWithAPartialChecksumAndMarkALoneOnePartial()
    {
        final OffloadFrames.Spec flow = new OffloadFrames.Spec();
        flow.payload = OffloadFrames.payload(3 * MSS, 24);
        final List<byte[]> frames = new ArrayList<>();
        for (int k = 0; k < 3; k++)
        {
            final OffloadFrames.Spec segment = segmentSpec(flow, k, MSS);
            segment.partialChecksum = true;
            frames.add(OffloadFrames.build(segment));
        }
        try (Arena arena = Arena.ofConfined())
        {
            final int[] starts = new int[3];
            final MemorySegment buffer = datagrams(arena, frames, starts);
            assertTrue(coalescer.addRange(buffer, starts[0], frames.get(0).length, 8, 300, 9, false, 34, 7, pool, out, emitted) < 0,
                "a partial checksum that is not the TCP checksum: not taken");
            assertTrue(addRange(buffer, starts[0], frames.get(0).length) < 0, "without the option it does not verify: not taken");
            for (int k = 0; k < 2; k++)
            {
                emitted = coalescer.addRange(buffer, starts[k], frames.get(k).length, 8, 300, 9, false, 34,
                    TcpFlyweight.CHECKSUM_OFFSET, pool, out, emitted);
            }
            flush();
            assertEquals(1, emitted);
            assertTrue(out[0].isSuperFrame(), "merged");
            assertFalse(out[0].checksumPartial(), "this coalescer finishes the super-frame's checksum");
            assertTrue(OffloadFrames.checksumsValid(out[0].toByteArray()), "the super-frame's checksum, finished, verifies");
            out[0].release();
            emitted = 0;

            emitted = coalescer.addRange(buffer, starts[2], frames.get(2).length, 8, 300, 9, false, 34,
                TcpFlyweight.CHECKSUM_OFFSET, pool, out, emitted);
            flush();
            assertEquals(1, emitted);
            assertFalse(out[0].isSuperFrame());
            assertTrue(out[0].checksumPartial(), "alone, still partial");
            assertEquals(34, out[0].csumStart());
            assertEquals(TcpFlyweight.CHECKSUM_OFFSET, out[0].csumOffset());
            assertTrue(ChecksumOffload.complete(out[0]));
            assertTrue(OffloadFrames.checksumsValid(out[0].toByteArray()));
            out[0].release();
            emitted = 0;
        }
    }

    /**
     * A range that stays alone gets an ordinary frame (padding after the IP packet trimmed, checksum
     * marked verified); one that is not an eligible TCP segment (UDP, SYN, a bad checksum) is not
     * taken, after the open super-frame was emitted; and a lone range is counted lost when the ordinary
     * pool is empty.
     */
    @Test
    void shouldHandRangesBackOrGiveThemAFrame()
    {
        final OffloadFrames.Spec flow = new OffloadFrames.Spec();
        flow.payload = OffloadFrames.payload(4 * MSS, 22);
        final OffloadFrames.Spec udp = flow.copy();
        udp.protocol = OffloadFrames.UDP;
        udp.payload = OffloadFrames.slice(flow.payload, 0, 100);
        final OffloadFrames.Spec syn = segmentSpec(flow, 2, MSS);
        syn.flags |= TcpFlyweight.SYN;
        final byte[] corrupt = OffloadFrames.build(segmentSpec(flow, 3, MSS));
        corrupt[corrupt.length - 1] ^= 1;
        // a TTL that changed on the way: the TCP checksum (no TTL in its pseudo-header) still verifies,
        // the IPv4 header checksum does not
        final byte[] damagedHeader = OffloadFrames.build(segmentSpec(flow, 3, MSS));
        damagedHeader[14 + 8]--;
        final byte[] first = OffloadFrames.build(segmentSpec(flow, 0, MSS));
        final byte[] padded = java.util.Arrays.copyOf(first, first.length + 6);
        final List<byte[]> frames = List.of(padded, OffloadFrames.build(udp), OffloadFrames.build(syn), corrupt, damagedHeader);
        try (Arena arena = Arena.ofConfined())
        {
            final int[] starts = new int[5];
            final MemorySegment buffer = datagrams(arena, frames, starts);
            emitted = addRange(buffer, starts[0], padded.length);
            assertEquals(0, emitted, "held as a range");
            final int next = addRange(buffer, starts[1], frames.get(1).length);
            assertTrue(next < 0, "a UDP datagram is not taken");
            emitted = ~next;
            assertEquals(1, emitted, "the lone range was emitted first, in a frame of its own");
            assertArrayEquals(first, out[0].toByteArray(), "padding trimmed");
            assertTrue(out[0].checksumVerified());
            assertEquals(300, out[0].vni());
            assertFalse(out[0].isSuperFrame());
            for (int k = 2; k < 5; k++)
            {
                final int result = addRange(buffer, starts[k], frames.get(k).length);
                assertTrue(result < 0, "not taken: " + k);
                emitted = ~result;
            }
            assertEquals(1, emitted);

            final Frame[] held = new Frame[pool.available()];
            for (int i = 0; i < held.length; i++)
            {
                held[i] = pool.acquire();
            }
            emitted = addRange(buffer, starts[0], padded.length);
            flush();
            assertEquals(1, emitted, "nothing emitted: no frame for the lone range");
            assertEquals(1, coalescer.rangeDrops());
            for (final Frame frame : held)
            {
                frame.release();
            }
        }
        assertEquals(0, coalescer.mergedCount());
    }

    @Test
    void shouldGiveBackTheOriginalAfterSegmentThenCoalesce(@TempDir final Path directory) throws Exception
    {
        final Segmenter segmenter = new Segmenter();
        final Coalescer partial = new Coalescer(superPool, Coalescer.CHECKSUM_PARTIAL);
        final List<byte[]> written = new ArrayList<>();
        for (final boolean v6 : List.of(false, true))
        {
            final OffloadFrames.Spec flow = new OffloadFrames.Spec();
            flow.v6 = v6;
            flow.flags = TcpFlyweight.ACK | TcpFlyweight.PSH | TcpFlyweight.CWR;
            flow.partialChecksum = true;
            flow.payload = OffloadFrames.payload(44 * MSS + 77, 17);
            final byte[] original = OffloadFrames.build(flow);
            final int type = (v6 ? VirtioNetHeader.GSO_TCPV6 : VirtioNetHeader.GSO_TCPV4) | VirtioNetHeader.GSO_ECN;
            final Frame superFrame = OffloadFrames.load(superPool, original).gso(type, MSS);
            final Frame[] segments = new Frame[64];
            final int count = segmenter.segment(superFrame, pool, Segmenter.CHECKSUM_COMPLETE, segments, 0);
            superFrame.release();
            assertEquals(45, count);
            for (int k = 0; k < count; k++)
            {
                written.add(segments[k].toByteArray());
                emitted = partial.add(segments[k], out, emitted);
            }
            emitted = partial.flush(out, emitted);

            assertEquals(1, emitted);
            assertArrayEquals(original, out[0].toByteArray(), "v6=" + v6);
            assertEquals(type, out[0].gsoType());
            assertEquals(MSS, out[0].gsoSize());
            assertEquals(v6 ? 54 : 34, out[0].csumStart());
            assertEquals(TcpFlyweight.CHECKSUM_OFFSET, out[0].csumOffset());
            out[0].release();
            out[0] = null;
            emitted = 0;
        }
        for (final byte[] segment : written)
        {
            assertTrue(OffloadFrames.checksumsValid(segment));
        }
        tsharkAgrees(directory, written);
    }

    /**
     * Cross-check of every segment's IP and TCP checksum by a dissector nobody here wrote.
     */
    private static void tsharkAgrees(final Path directory, final List<byte[]> frames) throws IOException, InterruptedException
    {
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/tshark")),
            "tshark is not installed (apt-get install -y --no-install-recommends tshark): cross-check skipped");
        final Path capture = directory.resolve("segments.pcap");
        try (PcapWriter writer = PcapWriter.open(capture))
        {
            for (int i = 0; i < frames.size(); i++)
            {
                writer.write(1_700_000_000_000_000_000L + i * 1_000L, frames.get(i));
            }
        }
        final Process tshark = new ProcessBuilder("tshark", "-n", "-r", capture.toString(),
            "-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE", "-T", "fields", "-E", "separator=|",
            "-e", "frame.number", "-e", "ip.checksum.status", "-e", "tcp.checksum.status", "-e", "_ws.malformed")
            .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        final String output = new String(tshark.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertTrue(tshark.waitFor(60, TimeUnit.SECONDS));
        final String[] lines = output.strip().split("\n");
        assertEquals(frames.size(), lines.length, output);
        for (int i = 0; i < lines.length; i++)
        {
            final String[] fields = lines[i].split("\\|", -1);
            final boolean v6 = frames.get(i)[12] == (byte)0x86;
            assertEquals(v6 ? "" : "1", fields[1], "IPv4 checksum good: " + lines[i]);
            assertEquals("1", fields[2], "TCP checksum good: " + lines[i]);
            assertTrue(fields[3].isEmpty(), "not malformed: " + lines[i]);
        }
    }
}
