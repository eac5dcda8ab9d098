package io.vsnic.dataplane.pipeline;

import io.vsnic.dataplane.buffer.Frame;
import io.vsnic.dataplane.buffer.FramePool;
import io.vsnic.dataplane.buffer.IntMpmcQueue;

/**
 * An in-memory port for tests, benchmarks and the in-process demo: two bounded lock-free rings of
 * frame indices. The "wire" side {@link #inject injects} frames that the owning worker then
 * receives, and {@link #poll polls} the frames workers transmitted. No allocation per frame.
 *
 * <p>Built with a super-frame pool, the port also carries that pool's frames (an index with
 * {@link #SUPER_TAG} set) and can declare {@link Port#txOffloads()}, to model a receiver that takes
 * super-frames and partial checksums; by default it takes neither (like a QEMU socket netdev).
 */
public final class MemoryPort implements Port
{
    /** Marks an index in the rings as one of the super-frame pool. */
    private static final int SUPER_TAG = 1 << 30;
    /** Frames moved per ring claim: bursts go through the rings in chunks of this many. */
    private static final int CHUNK = 256;

    private final int id;
    private final int kind;
    private final FramePool pool;
    private final FramePool superPool;
    private final int txOffloads;
    private final IntMpmcQueue rx;
    private final IntMpmcQueue tx;
    /** The owning worker's indices of one receive burst. */
    private final int[] received = new int[CHUNK];
    /** Indices of one burst for transmit, inject and poll, which any thread may call. */
    private final ThreadLocal<int[]> scratch = ThreadLocal.withInitial(() -> new int[CHUNK]);

    /**
     * @param id            port id.
     * @param kind          {@link Port#KIND_VNIC} or {@link Port#KIND_OVERLAY}.
     * @param pool          the pool every frame through this port comes from.
     * @param queueCapacity capacity of each ring (rounded up to a power of two).
     */
    public MemoryPort(final int id, final int kind, final FramePool pool, final int queueCapacity)
    {
        this(id, kind, pool, null, queueCapacity, 0);
    }

    /**
     * @param id            port id.
     * @param kind          {@link Port#KIND_VNIC} or {@link Port#KIND_OVERLAY}.
     * @param pool          the ordinary frame pool.
     * @param superPool     the super-frame pool (may be null: then only {@code pool}'s frames pass).
     * @param queueCapacity capacity of each ring (rounded up to a power of two).
     * @param txOffloads    what {@link #transmit} takes ({@link Port#OFFLOAD_PARTIAL_CHECKSUM},
     *                      {@link Port#OFFLOAD_SUPER_FRAMES}); super-frames need {@code superPool}.
     */
    public MemoryPort(
        final int id, final int kind, final FramePool pool, final FramePool superPool, final int queueCapacity,
        final int txOffloads)
    {
        if ((txOffloads & OFFLOAD_SUPER_FRAMES) != 0 && superPool == null)
        {
            throw new IllegalArgumentException("a port that takes super-frames needs the super-frame pool");
        }
        this.id = id;
        this.kind = kind;
        this.pool = pool;
        this.superPool = superPool;
        this.txOffloads = txOffloads;
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

    @Override
    public int txOffloads()
    {
        return txOffloads;
    }

    /**
     * Wire side: queues a frame for the worker to receive. On failure the caller still owns it.
     *
     * @return false when the receive ring is full.
     */
    public boolean inject(final Frame frame)
    {
        return rx.offer(encode(frame));
    }

    /**
     * Wire side: takes the oldest transmitted frame; the caller owns it (and must release it).
     *
     * @return a frame, or null when none is waiting.
     */
    public Frame poll()
    {
        return decode(tx.poll());
    }

    /**
     * Wire side: queues {@code frames[0..count)} for the worker to receive, in order, with one ring
     * claim per {@value #CHUNK} frames. The caller still owns the frames that were not queued.
     *
     * @return how many were queued (the first ones; fewer when the receive ring filled up).
     */
    public int inject(final Frame[] frames, final int count)
    {
        return offer(rx, scratch.get(), frames, count);
    }

    /**
     * Wire side: takes up to {@code max} of the oldest transmitted frames into {@code frames}; the
     * caller owns them (and must release them).
     *
     * @return how many were taken.
     */
    public int poll(final Frame[] frames, final int max)
    {
        return take(tx, scratch.get(), frames, max);
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
        return take(rx, received, frames, max);
    }

    @Override
    public int transmit(final Frame[] frames, final int count)
    {
        return offer(tx, scratch.get(), frames, count);
    }

    /** Queues {@code frames[0..count)} on {@code ring}, one claim per {@value #CHUNK}; stops when it fills. */
    private int offer(final IntMpmcQueue ring, final int[] indices, final Frame[] frames, final int count)
    {
        int done = 0;
        while (done < count)
        {
            final int n = Math.min(CHUNK, count - done);
            for (int i = 0; i < n; i++)
            {
                indices[i] = encode(frames[done + i]);
            }
            final int queued = ring.offer(indices, 0, n);
            done += queued;
            if (queued < n)
            {
                break;
            }
        }
        return done;
    }

    /** Takes up to {@code max} frames off {@code ring} into {@code frames}, one claim per {@value #CHUNK}. */
    private int take(final IntMpmcQueue ring, final int[] indices, final Frame[] frames, final int max)
    {
        int done = 0;
        while (done < max)
        {
            final int wanted = Math.min(CHUNK, max - done);
            final int n = ring.poll(indices, 0, wanted);
            for (int i = 0; i < n; i++)
            {
                frames[done + i] = decode(indices[i]);
            }
            done += n;
            if (n < wanted)
            {
                break;
            }
        }
        return done;
    }

    private int encode(final Frame frame)
    {
        if (frame.pool() == pool)
        {
            return frame.index();
        }
        if (superPool != null && frame.pool() == superPool)
        {
            return frame.index() | SUPER_TAG;
        }
        throw new IllegalArgumentException("frame from another pool");
    }

    private Frame decode(final int index)
    {
        if (index < 0)
        {
            return null;
        }
        return (index & SUPER_TAG) != 0 ? superPool.frame(index & ~SUPER_TAG) : pool.frame(index);
    }
}
