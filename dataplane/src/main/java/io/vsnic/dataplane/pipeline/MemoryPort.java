package io.vsnic.dataplane.pipeline;

import io.vsnic.dataplane.buffer.Frame;
import io.vsnic.dataplane.buffer.FramePool;
import io.vsnic.dataplane.buffer.IntMpmcQueue;

/**
 * An in-memory port for tests, benchmarks and the in-process demo: two bounded lock-free rings of
 * frame indices. The "wire" side {@link #inject injects} frames that the owning worker then
 * receives, and {@link #poll polls} the frames workers transmitted. No allocation per frame.
 */
public final class MemoryPort implements Port
{
    private final int id;
    private final int kind;
    private final FramePool pool;
    private final IntMpmcQueue rx;
    private final IntMpmcQueue tx;

    /**
     * @param id            port id.
     * @param kind          {@link Port#KIND_VNIC} or {@link Port#KIND_OVERLAY}.
     * @param pool          the pool every frame through this port comes from.
     * @param queueCapacity capacity of each ring (rounded up to a power of two).
     */
    public MemoryPort(final int id, final int kind, final FramePool pool, final int queueCapacity)
    {
        this.id = id;
        this.kind = kind;
        this.pool = pool;
        this.rx = new IntMpmcQueue(queueCapacity);
        this.tx = new IntMpmcQueue(queueCapacity);
    }

    @Override
    public int id()
    {
        return id;
    }

    @Override
    public int kind()
    {
        return kind;
    }

    /**
     * Wire side: queues a frame for the worker to receive. On failure the caller still owns it.
     *
     * @return false when the receive ring is full.
     */
    public boolean inject(final Frame frame)
    {
        if (frame.pool() != pool)
        {
            throw new IllegalArgumentException("frame from another pool");
        }
        return rx.offer(frame.index());
    }

    /**
     * Wire side: takes the oldest transmitted frame; the caller owns it (and must release it).
     *
     * @return a frame, or null when none is waiting.
     */
    public Frame poll()
    {
        final int index = tx.poll();
        return index < 0 ? null : pool.frame(index);
    }

    /**
     * @return frames waiting to be received by the worker.
     */
    public int pendingReceive()
    {
        return rx.size();
    }

    @Override
    public int receive(final Frame[] frames, final int max)
    {
        int count = 0;
        while (count < max)
        {
            final int index = rx.poll();
            if (index < 0)
            {
                break;
            }
            frames[count++] = pool.frame(index);
        }
        return count;
    }

    @Override
    public int transmit(final Frame[] frames, final int count)
    {
        for (int i = 0; i < count; i++)
        {
            if (!tx.offer(frames[i].index()))
            {
                return i;
            }
        }
        return count;
    }
}
