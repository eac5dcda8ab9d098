package io.vsnic.dataplane.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.vsnic.dataplane.buffer.Frame;
import io.vsnic.dataplane.buffer.FramePool;
import org.junit.jupiter.api.Test;

class MemoryPortTest
{
    @Test
    void shouldMoveBurstsInOrderAndStopWhereTheRingIsFull()
    {
        try (FramePool pool = new FramePool(600))
        {
            final MemoryPort port = new MemoryPort(1, Port.KIND_VNIC, pool, 512);
            final Frame[] frames = new Frame[600];
            for (int i = 0; i < frames.length; i++)
            {
                frames[i] = pool.acquire();
            }
            // more than one claim (256 per chunk), and more than the ring holds
            assertEquals(512, port.inject(frames, 600));
            assertEquals(512, port.pendingReceive());
            final Frame[] received = new Frame[600];
            final Frame[] rest = new Frame[300];
            assertEquals(300, port.receive(received, 300));
            assertEquals(212, port.receive(rest, 300), "the rest");
            for (int i = 0; i < 512; i++)
            {
                assertSame(frames[i], i < 300 ? received[i] : rest[i - 300], "frame " + i);
            }

            assertEquals(512, port.transmit(frames, 600));
            final Frame[] polled = new Frame[600];
            assertEquals(512, port.poll(polled, 600));
            for (int i = 0; i < 512; i++)
            {
                assertSame(frames[i], polled[i], "frame " + i);
            }
            assertNull(port.poll());
            assertEquals(0, port.poll(polled, 600));
            for (final Frame frame : frames)
            {
                frame.release();
            }
        }
    }

    @Test
    void shouldRefuseFramesOfAnotherPool()
    {
        try (FramePool pool = new FramePool(4); FramePool other = new FramePool(4))
        {
            final MemoryPort port = new MemoryPort(1, Port.KIND_VNIC, pool, 8);
            final Frame foreign = other.acquire();
            assertThrows(IllegalArgumentException.class, () -> port.transmit(new Frame[] {foreign}, 1));
            assertEquals(0, port.poll(new Frame[1], 1));
            foreign.release();
        }
    }
}
