package io.vsnic.dataplane.capture;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

import io.vsnic.dataplane.buffer.Frame;
import io.vsnic.dataplane.buffer.FramePool;
import org.junit.jupiter.api.Test;

/**
 * A port capture: copies come out per worker in order with their direction and lengths, a frame
 * longer than the snapshot length is truncated but keeps its length (also in the pcap record), a
 * full ring drops and counts, a stopped capture copies nothing.
 */
class PortCaptureTest
{
    private record Copy(long timestampNs, int direction, byte[] bytes, int original)
    {
    }

    private static Frame frame(final FramePool pool, final int length, final int seed)
    {
        final Frame frame = pool.acquire();
        frame.length(length);
        for (int i = 0; i < length; i++)
        {
            frame.segment().set(ValueLayout.JAVA_BYTE, frame.start() + i, (byte)(seed + i));
        }
        return frame;
    }

    private static List<Copy> drain(final PortCapture capture, final int max)
    {
        final List<Copy> copies = new ArrayList<>();
        capture.drain((timestampNs, direction, data, offset, captured, original) -> {
            copies.add(new Copy(timestampNs, direction, data.asSlice(offset, captured).toArray(ValueLayout.JAVA_BYTE), original));
            return copies.size() < max;
        });
        return copies;
    }

    @Test
    void shouldCopyBothDirectionsTruncateAndCountDrops() throws Exception
    {
        try (FramePool pool = new FramePool(64))
        {
            final PortCapture capture = new PortCapture(5, 2, 4, 64);
            final Frame[] frames = {frame(pool, 60, 1), null, frame(pool, 100, 2)};
            capture.copy(0, frames, 3, PortCapture.RECEIVED, 11);
            capture.copy(1, new Frame[] {frame(pool, 80, 3)}, 1, PortCapture.SENT, 12);
            final List<Copy> copies = drain(capture, Integer.MAX_VALUE);
            assertEquals(3, copies.size());
            assertEquals(PortCapture.RECEIVED, copies.get(0).direction());
            assertEquals(60, copies.get(0).bytes().length);
            assertEquals(11, copies.get(0).timestampNs());
            assertEquals(64, copies.get(1).bytes().length, "truncated to the snapshot length");
            assertEquals(100, copies.get(1).original());
            assertEquals((byte)2, copies.get(1).bytes()[0]);
            assertEquals(PortCapture.SENT, copies.get(2).direction());
            assertEquals(12, copies.get(2).timestampNs());

            // worker 0's ring holds 4: the 5th and 6th copies are dropped and counted
            final Frame[] six = new Frame[6];
            for (int i = 0; i < 6; i++)
            {
                six[i] = frame(pool, 64, i);
            }
            capture.copy(0, six, 6, PortCapture.RECEIVED, 13);
            assertEquals(2, capture.dropped());
            assertEquals(2, drain(capture, 2).size(), "the sink may stop a drain");
            assertEquals(2, drain(capture, Integer.MAX_VALUE).size());

            capture.stop();
            capture.copy(0, six, 1, PortCapture.RECEIVED, 14);
            assertEquals(0, drain(capture, Integer.MAX_VALUE).size());
        }
    }

    @Test
    void shouldWriteTruncatedFramesWithTheirOriginalLength() throws Exception
    {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        final MemorySegment data = MemorySegment.ofArray(new byte[] {1, 2, 3, 4, 5, 6, 7, 8});
        try (PcapWriter writer = new PcapWriter(bytes))
        {
            writer.write(1_000_000_000L, data, 2, 4, 1500);
            assertThrows(IllegalArgumentException.class, () -> writer.write(1_000_000_000L, data, 0, 8, 4));
        }
        try (CaptureReader reader = CaptureReader.open(new java.io.ByteArrayInputStream(bytes.toByteArray())))
        {
            final CaptureRecord record = reader.next();
            assertEquals(4, record.capturedLength());
            assertEquals(1500, record.originalLength());
            assertArrayEquals(new byte[] {3, 4, 5, 6}, record.data());
        }
    }

    @Test
    void shouldRefuseBadSizes()
    {
        assertThrows(IllegalArgumentException.class, () -> new PortCapture(1, 1, 3, 100));
        assertThrows(IllegalArgumentException.class, () -> new PortCapture(1, 1, 4, 10));
    }
}
