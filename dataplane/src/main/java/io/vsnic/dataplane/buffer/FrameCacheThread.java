package io.vsnic.dataplane.buffer;

/**
 * A thread that keeps a small cache of free frame slots for each {@link FramePool} it uses (up to
 * {@link #POOLS}), so that {@link FramePool#acquire()} and {@link FramePool#release(Frame)} on it
 * touch the pool's shared free list only once per half cache, with one burst operation, instead of
 * once per frame. Workers that both receive and release frames at millions per second run on such
 * threads: two of them sharing a pool then stop bouncing the free list's cache lines between cores.
 *
 * <p>When the thread's task returns (or throws) the cached slots go back to their pools. A pool too
 * small to spare a cache ({@link FramePool#cacheSlots()} 0) is used directly.
 */
public class FrameCacheThread extends Thread
{
    /** Pools one thread caches for; frames of further pools take the shared free list. */
    public static final int POOLS = 4;

    private final FramePool[] pools = new FramePool[POOLS];
    private final FramePool.Cache[] caches = new FramePool.Cache[POOLS];

    /**
     * @param task what the thread runs.
     * @param name the thread's name.
     */
    public FrameCacheThread(final Runnable task, final String name)
    {
        super(task, name);
    }

    /** The calling thread's cache for {@code pool}, made on first use; null when {@link #POOLS} are taken. */
    FramePool.Cache cache(final FramePool pool)
    {
        for (int i = 0; i < POOLS; i++)
        {
            final FramePool known = pools[i];
            if (known == pool)
            {
                return caches[i];
            }
            if (known == null)
            {
                final FramePool.Cache cache = pool.newCache();
                caches[i] = cache;
                pools[i] = pool;
                return cache;
            }
        }
        return null;
    }

    @Override
    public void run()
    {
        try
        {
            super.run();
        }
        finally
        {
            for (int i = 0; i < POOLS && pools[i] != null; i++)
            {
                pools[i].returnCache(caches[i]);
            }
        }
    }
}
