package io.vsnic.dataplane.offload;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

import io.vsnic.dataplane.buffer.Frame;
import io.vsnic.dataplane.buffer.FramePool;
import io.vsnic.dataplane.protocol.Checksums;
import io.vsnic.dataplane.protocol.TcpFlyweight;
import io.vsnic.dataplane.status.DropReason;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class SegmenterTest
{
    private static final int MSS = 1448;

    private final FramePool pool = new FramePool(256);
    private final FramePool superPool = new FramePool(4, FramePool.SUPER_SLOT_BYTES, FramePool.DEFAULT_HEADROOM_BYTES);
    private final Segmenter segmenter = new Segmenter();
    private final Frame[] out = new Frame[64];

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
        assertEquals(pool.capacity(), pool.available(), "every segment frame went back");
        pool.close();
        superPool.close();
    }

    @Test
    void shouldCutTcpV4SuperFrameWithIdsSequenceFlagsAndChecksums()
    {
        shouldCutTcp(false);
    }

    @Test
    void shouldCutTcpV6SuperFrameWithSequenceFlagsAndChecksums()
    {
        shouldCutTcp(true);
    }

    private void shouldCutTcp(final boolean v6)
    {
        final OffloadFrames.Spec spec = new OffloadFrames.Spec();
        spec.v6 = v6;
        spec.flags = TcpFlyweight.ACK | TcpFlyweight.PSH | TcpFlyweight.FIN | TcpFlyweight.CWR;
        spec.payload = OffloadFrames.payload(2 * MSS + 100, 1);
        spec.partialChecksum = true;
        final Frame superFrame = OffloadFrames.load(superPool, OffloadFrames.build(spec))
            .gso(v6 ? VirtioNetHeader.GSO_TCPV6 : VirtioNetHeader.GSO_TCPV4 | VirtioNetHeader.GSO_ECN, MSS);

        final int count = segmenter.segment(superFrame, pool, Segmenter.CHECKSUM_COMPLETE, out, 0);

        assertEquals(3, count);
        final int[] flags = {
            TcpFlyweight.ACK | TcpFlyweight.CWR, TcpFlyweight.ACK, TcpFlyweight.ACK | TcpFlyweight.PSH | TcpFlyweight.FIN};
        for (int k = 0; k < count; k++)
        {
            final OffloadFrames.Spec expected = spec.copy();
            expected.partialChecksum = false;
            expected.sequence = (spec.sequence + (long)k * MSS) & 0xFFFF_FFFFL;
            expected.ipId = spec.ipId + k;
            expected.flags = flags[k];
            expected.payload = OffloadFrames.slice(spec.payload, k * MSS, Math.min(MSS, spec.payload.length - k * MSS));
            final byte[] bytes = out[k].toByteArray();
            assertArrayEquals(OffloadFrames.build(expected), bytes, "segment " + k);
            assertTrue(OffloadFrames.checksumsValid(bytes), "segment " + k);
            assertTrue(!out[k].isSuperFrame() && !out[k].checksumPartial());
        }
        superFrame.release();
    }

    @Test
    void shouldLeaveChecksumsPartialWhenAsked()
    {
        final OffloadFrames.Spec spec = new OffloadFrames.Spec();
        spec.payload = OffloadFrames.payload(MSS + 1, 2);
        final Frame superFrame = OffloadFrames.load(superPool, OffloadFrames.build(spec)).gso(VirtioNetHeader.GSO_TCPV4, MSS);

        assertEquals(2, segmenter.segment(superFrame, pool, Segmenter.CHECKSUM_PARTIAL, out, 0));

        for (int k = 0; k < 2; k++)
        {
            final OffloadFrames.Spec expected = spec.copy();
            expected.partialChecksum = true;
            expected.sequence = spec.sequence + (long)k * MSS & 0xFFFF_FFFFL;
            expected.ipId = spec.ipId + k;
            expected.payload = OffloadFrames.slice(spec.payload, k * MSS, k == 0 ? MSS : 1);
            assertArrayEquals(OffloadFrames.build(expected), out[k].toByteArray(), "segment " + k);
            assertEquals(34, out[k].csumStart());
            assertEquals(16, out[k].csumOffset());
        }
        superFrame.release();
    }

    @Test
    void shouldCutUdpL4SuperFrameIntoDatagrams()
    {
        for (final boolean v6 : List.of(false, true))
        {
            final OffloadFrames.Spec spec = new OffloadFrames.Spec();
            spec.v6 = v6;
            spec.protocol = OffloadFrames.UDP;
            spec.payload = OffloadFrames.payload(3 * 1400, 3);
            final Frame superFrame = OffloadFrames.load(superPool, OffloadFrames.build(spec)).gso(VirtioNetHeader.GSO_UDP_L4, 1400);

            assertEquals(3, segmenter.segment(superFrame, pool, Segmenter.CHECKSUM_COMPLETE, out, 0));

            for (int k = 0; k < 3; k++)
            {
                final OffloadFrames.Spec expected = spec.copy();
                expected.ipId = spec.ipId + k;
                expected.payload = OffloadFrames.slice(spec.payload, k * 1400, 1400);
                assertArrayEquals(OffloadFrames.build(expected), out[k].toByteArray(), "v6=" + v6 + " datagram " + k);
                out[k].release();
                out[k] = null;
            }
            superFrame.release();
        }
    }

    @Test
    void shouldCutSegmentsOfExactlyGsoSize()
    {
        final OffloadFrames.Spec spec = new OffloadFrames.Spec();
        spec.payload = OffloadFrames.payload(4 * MSS, 4);
        final Frame superFrame = OffloadFrames.load(superPool, OffloadFrames.build(spec)).gso(VirtioNetHeader.GSO_TCPV4, MSS);
        assertEquals(4, segmenter.segment(superFrame, pool, Segmenter.CHECKSUM_COMPLETE, out, 0));
        for (int k = 0; k < 4; k++)
        {
            assertEquals(spec.headerLength() + MSS, out[k].length());
        }
        superFrame.release();
    }

    @Test
    void shouldRefuseWhatItCannotCut()
    {
        final OffloadFrames.Spec spec = new OffloadFrames.Spec();
        spec.payload = OffloadFrames.payload(3000, 5);
        final Frame superFrame = OffloadFrames.load(superPool, OffloadFrames.build(spec));
        final int failed = -DropReason.SEGMENTATION_FAILED.ordinal();
        assertEquals(failed, segmenter.segment(superFrame.gso(VirtioNetHeader.GSO_UDP, MSS), pool, true, out, 0), "UFO");
        assertEquals(failed, segmenter.segment(superFrame.gso(VirtioNetHeader.GSO_TCPV6, MSS), pool, true, out, 0), "v4 as v6");
        assertEquals(failed, segmenter.segment(superFrame.gso(VirtioNetHeader.GSO_UDP_L4, MSS), pool, true, out, 0), "tcp as udp");
        assertEquals(failed, segmenter.segment(superFrame.gso(VirtioNetHeader.GSO_TCPV4, 10), pool, true, out, 0), "300 segments");
        spec.payload = OffloadFrames.payload(20_000, 5);
        final Frame large = OffloadFrames.load(superPool, OffloadFrames.build(spec)).gso(VirtioNetHeader.GSO_TCPV4, 10_000);
        assertEquals(-DropReason.OVERSIZE.ordinal(), segmenter.segment(large, pool, true, out, 60), "gso_size beyond a slot");
        large.release();
        superFrame.window(superFrame.start(), 40);
        assertEquals(failed, segmenter.segment(superFrame.gso(VirtioNetHeader.GSO_TCPV4, MSS), pool, true, out, 0), "truncated");
        superFrame.release();
        for (final Frame frame : out)
        {
            assertNull(frame);
        }
    }

    @Test
    void shouldReleaseEverySegmentWhenThePoolRunsDry()
    {
        final Frame superFrame = fortySegments();
        final Frame[] held = holdAllButTen();
        assertEquals(-DropReason.POOL_EXHAUSTED.ordinal(), segmenter.segment(superFrame, pool, true, out, 0));
        assertEquals(10, pool.available());
        for (final Frame frame : held)
        {
            frame.release();
        }
        superFrame.release();
    }

    @ParameterizedTest(name = "{0} v6={1} payload={2} complete={3}")
    @CsvSource({
        "TCP, false, 4344, true", "TCP, false, 4345, false", "TCP, true, 2897, true", "TCP, true, 1448, false",
        "UDP, false, 4200, true", "UDP, true, 1401, false", "TCP, false, 0, true"})
    void shouldCutChainedSegmentsThatSendTheSameBytesAsCopiedOnes(
        final String protocol, final boolean v6, final int payload, final boolean complete)
    {
        final OffloadFrames.Spec spec = new OffloadFrames.Spec();
        spec.v6 = v6;
        final boolean udp = protocol.equals("UDP");
        spec.protocol = udp ? OffloadFrames.UDP : spec.protocol;
        spec.flags = TcpFlyweight.ACK | TcpFlyweight.PSH;
        spec.payload = OffloadFrames.payload(payload, 7);
        final int gsoSize = udp ? 1400 : MSS;
        final int type = udp ? VirtioNetHeader.GSO_UDP_L4 : v6 ? VirtioNetHeader.GSO_TCPV6 : VirtioNetHeader.GSO_TCPV4;
        final Frame superFrame = OffloadFrames.load(superPool, OffloadFrames.build(spec)).gso(type, gsoSize);
        final Frame[] copied = new Frame[64];

        final int count = segmenter.segment(superFrame, pool, complete, Segmenter.COPIED, copied, 0);
        assertEquals(count, segmenter.segment(superFrame, pool, complete, Segmenter.CHAINED, out, 0));

        assertTrue(count > 0);
        final int headers = spec.headerLength();
        for (int k = 0; k < count; k++)
        {
            final int chunk = Math.min(gsoSize, payload - k * gsoSize);
            assertArrayEquals(copied[k].toByteArray(), out[k].toByteArray(), "segment " + k);
            assertEquals(chunk > 0, out[k].refersToOther(), "segment " + k + " leaves its payload in the super-frame");
            assertEquals(headers, out[k].length(), "segment " + k + " window: the headers only");
            assertEquals(copied[k].wireLength(), out[k].wireLength());
            assertEquals(copied[k].checksumPartial(), out[k].checksumPartial());
            assertEquals(copied[k].csumStart(), out[k].csumStart());
            if (complete)
            {
                assertTrue(OffloadFrames.checksumsValid(out[k].toByteArray()), "segment " + k);
            }
            copied[k].release();
        }
        // the super-frame stays out of its pool while segments refer to it, whoever is released first
        final int free = superPool.available();
        superFrame.release();
        final boolean referred = out[0].refersToOther();
        assertEquals(referred ? free : free + 1, superPool.available(), "held by its segments");
        if (referred)
        {
            // a flattened segment holds its whole frame and lets go of the super-frame
            final byte[] before = out[0].toByteArray();
            assertTrue(out[0].flatten());
            assertFalse(out[0].refersToOther());
            assertArrayEquals(before, out[0].toByteArray());
            assertEquals(before.length, out[0].length());
        }
        for (int k = 0; k < count; k++)
        {
            boolean held = false;
            for (int j = k; j < count; j++)
            {
                held |= out[j].refersToOther();
            }
            assertEquals(held ? free : free + 1, superPool.available(), "held before segment " + k + " goes: " + held);
            out[k].release();
            out[k] = null;
        }
        assertEquals(free + 1, superPool.available(), "back once the last segment is released");
    }

    @Test
    void shouldLetGoOfTheSuperFrameWhenAChainedCutFails()
    {
        final Frame superFrame = fortySegments();
        final Frame[] held = holdAllButTen();
        final int free = superPool.available();

        assertEquals(-DropReason.POOL_EXHAUSTED.ordinal(), segmenter.segment(superFrame, pool, true, Segmenter.CHAINED, out, 0));
        superFrame.release();

        assertEquals(free + 1, superPool.available(), "no segment holds it back");
        for (final Frame frame : held)
        {
            frame.release();
        }
    }

    @Test
    void shouldGiveEverySegmentTheIpv4HeaderChecksumOfItsOwnLengthAndIdentificationAlsoWhenTheIdWraps()
    {
        for (final int ipId : new int[] {0, 0x1234, 0xFFFE, 0xFFFF})
        {
            for (final int tos : new int[] {0, 0xB8})
            {
                final OffloadFrames.Spec spec = new OffloadFrames.Spec();
                spec.ipId = ipId;
                spec.tos = tos;
                spec.payload = OffloadFrames.payload(3 * MSS + 17, ipId + tos);
                final Frame superFrame = OffloadFrames.load(superPool, OffloadFrames.build(spec)).gso(VirtioNetHeader.GSO_TCPV4, MSS);
                // whatever the super-frame's own header checksum says is not used
                superFrame.segment().set(ValueLayout.JAVA_SHORT_UNALIGNED, superFrame.start() + 24, (short)0x5A5A);

                assertEquals(4, segmenter.segment(superFrame, pool, Segmenter.CHECKSUM_COMPLETE, Segmenter.CHAINED, out, 0));

                for (int k = 0; k < 4; k++)
                {
                    final byte[] bytes = out[k].toByteArray();
                    final int id = (bytes[18] & 0xFF) << 8 | bytes[19] & 0xFF;
                    assertEquals((ipId + k) & 0xFFFF, id, "id " + ipId + " segment " + k);
                    final MemorySegment header = MemorySegment.ofArray(java.util.Arrays.copyOfRange(bytes, 14, 34));
                    assertEquals(0xFFFF, Checksums.fold(Checksums.sum(header, 0, 20, 0)), "id " + ipId + " tos " + tos + " segment " + k);
                    assertTrue(OffloadFrames.checksumsValid(bytes));
                    out[k].release();
                    out[k] = null;
                }
                superFrame.release();
            }
        }
    }

    /** A TCP super-frame of 40 segments of 1,000 bytes. */
    private Frame fortySegments()
    {
        final OffloadFrames.Spec spec = new OffloadFrames.Spec();
        spec.payload = OffloadFrames.payload(40 * 1000, 6);
        return OffloadFrames.load(superPool, OffloadFrames.build(spec)).gso(VirtioNetHeader.GSO_TCPV4, 1000);
    }

    /** Takes every frame of the segment pool but ten, so that a cut into more segments runs it dry. */
    private Frame[] holdAllButTen()
    {
        final Frame[] held = new Frame[pool.capacity() - 10];
        for (int i = 0; i < held.length; i++)
        {
            held[i] = pool.acquire();
        }
        return held;
    }
}
