package io.vsnic.dataplane.offload;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import io.vsnic.dataplane.buffer.Frame;
import io.vsnic.dataplane.buffer.FramePool;
import io.vsnic.dataplane.protocol.TcpFlyweight;
import io.vsnic.dataplane.status.DropReason;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

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
        final OffloadFrames.Spec spec = new OffloadFrames.Spec();
        spec.payload = OffloadFrames.payload(40 * 1000, 6);
        final Frame superFrame = OffloadFrames.load(superPool, OffloadFrames.build(spec)).gso(VirtioNetHeader.GSO_TCPV4, 1000);
        final Frame[] held = new Frame[pool.capacity() - 10];
        for (int i = 0; i < held.length; i++)
        {
            held[i] = pool.acquire();
        }
        assertEquals(-DropReason.POOL_EXHAUSTED.ordinal(), segmenter.segment(superFrame, pool, true, out, 0));
        assertEquals(10, pool.available());
        for (final Frame frame : held)
        {
            frame.release();
        }
        superFrame.release();
    }
}
