package io.vsnic.vnic.qemu;

import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.LockSupport;

import io.vsnic.dataplane.buffer.Frame;
import io.vsnic.dataplane.buffer.FramePool;
import io.vsnic.dataplane.pipeline.Port;

/**
 * Plays the owning worker in tests: calls {@link Port#receive} until enough frames arrived or the
 * time is up, keeps their bytes and releases them.
 */
final class PortDriver
{
    private PortDriver()
    {
    }

    static List<byte[]> receive(final Port port, final int expected, final Duration timeout)
    {
        final List<byte[]> result = new ArrayList<>();
        final Frame[] frames = new Frame[64];
        final long deadline = System.nanoTime() + timeout.toNanos();
        while (result.size() < expected && System.nanoTime() < deadline)
        {
            final int count = port.receive(frames, frames.length);
            for (int i = 0; i < count; i++)
            {
                result.add(frames[i].toByteArray());
                frames[i].release();
                frames[i] = null;
            }
            if (count == 0)
            {
                LockSupport.parkNanos(200_000);
            }
        }
        return result;
    }

    /** Calls receive for a while, expecting nothing (for "this must not produce a frame" checks). */
    static int receiveFor(final Port port, final Duration duration)
    {
        int total = 0;
        final Frame[] frames = new Frame[64];
        final long deadline = System.nanoTime() + duration.toNanos();
        while (System.nanoTime() < deadline)
        {
            final int count = port.receive(frames, frames.length);
            for (int i = 0; i < count; i++)
            {
                frames[i].release();
                frames[i] = null;
            }
            total += count;
            LockSupport.parkNanos(200_000);
        }
        return total;
    }

    static byte[] pattern(final int length, final int seed)
    {
        final byte[] bytes = new byte[length];
        for (int i = 0; i < length; i++)
        {
            bytes[i] = (byte)(seed * 31 + i);
        }
        return bytes;
    }

    static Frame frameOf(final FramePool pool, final byte[] bytes)
    {
        final Frame frame = pool.acquire();
        if (frame == null)
        {
            throw new IllegalStateException("pool exhausted in test");
        }
        frame.copyFrom(MemorySegment.ofArray(bytes), 0, bytes.length);
        return frame;
    }
}
