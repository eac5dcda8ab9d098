package io.vsnic.dataplane.offload;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import io.vsnic.dataplane.buffer.Frame;
import io.vsnic.dataplane.buffer.FramePool;
import org.junit.jupiter.api.Test;

class ChecksumOffloadTest
{
    @Test
    void shouldCompleteAPartialChecksumAsAVirtioDeviceWould()
    {
        try (FramePool pool = new FramePool(4))
        {
            for (final boolean v6 : List.of(false, true))
            {
                for (final int protocol : new int[] {OffloadFrames.TCP, OffloadFrames.UDP})
                {
                    final OffloadFrames.Spec spec = new OffloadFrames.Spec();
                    spec.v6 = v6;
                    spec.protocol = protocol;
                    spec.payload = OffloadFrames.payload(333, protocol);
                    final OffloadFrames.Spec partial = spec.copy();
                    partial.partialChecksum = true;
                    final int l4 = v6 ? 54 : 34;
                    final Frame frame = OffloadFrames.load(pool, OffloadFrames.build(partial))
                        .checksumPartial(l4, protocol == OffloadFrames.TCP ? 16 : 6);
                    assertEquals(spec.headerLength(), ChecksumOffload.headerLength(frame));

                    assertTrue(ChecksumOffload.complete(frame));

                    assertArrayEquals(OffloadFrames.build(spec), frame.toByteArray(), "v6=" + v6 + " protocol " + protocol);
                    assertFalse(frame.checksumPartial());
                    frame.release();
                }
            }
        }
    }

    @Test
    void shouldRefuseOffsetsOutsideTheIpPacket()
    {
        try (FramePool pool = new FramePool(4))
        {
            final OffloadFrames.Spec spec = new OffloadFrames.Spec();
            spec.payload = OffloadFrames.payload(10, 1);
            final byte[] bytes = OffloadFrames.build(spec);
            final Frame frame = OffloadFrames.load(pool, bytes).checksumPartial(bytes.length - 1, 16);
            assertFalse(ChecksumOffload.complete(frame));
            assertArrayEquals(bytes, frame.toByteArray(), "left unchanged");
            assertTrue(frame.checksumPartial());
            frame.release();
        }
    }
}
