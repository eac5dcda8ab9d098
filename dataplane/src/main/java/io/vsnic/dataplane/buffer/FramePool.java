package io.vsnic.dataplane.buffer;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A bounded pool of off-heap frame buffers, all allocated once when the pool is built: one
 * contiguous native block cut into {@code slotCount} slots of {@code slotBytes}, each described by
 * a preallocated {@link Frame}. The block is an anonymous mapping ({@link PageMemory}): a page of it
 * becomes resident when a frame is first written there, so an idle pool, or the unused tail of a
 * jumbo slot that carries 1500-byte frames, costs address space but no memory. Free slots are kept in
 * a lock-free stack ({@link IntLifoStack}: the slot released last, still in cache, goes out first;
 * {@code -Dvsnic.dataplane.freeList=fifo} keeps them in an {@link IntMpmcQueue} instead), so
 * {@link #acquire()} and {@link #release(Frame)} allocate nothing and may be called from any thread.
 *
 * <p>A {@link FrameCacheThread} (the data plane's workers) keeps up to {@link #cacheSlots()} free slots
 * of its own and moves them to and from the shared free list half a cache at a time, so that workers
 * sharing the pool do not contend on its free list per frame. Pools of fewer than
 * {@link #CACHE_MIN_SLOTS} slots keep no caches: a slot cached by one thread is invisible to the
 * others, so at most {@code cacheSlots() × threads} slots may idle in caches while another thread finds
 * the pool exhausted. {@code -Dvsnic.dataplane.frameCaches=false} turns the caches off.
 *
 * <p>Exhaustion is not an error: {@link #acquire()} returns {@code null}, the pool counts it in
 * {@link #exhaustedCount()}, and the caller drops the frame with
 * {@link io.vsnic.dataplane.status.DropReason#POOL_EXHAUSTED}. A release of a frame that is already
 * free is counted in {@link #doubleReleaseCount()} and ignored, so a bug elsewhere cannot hand the
 * same slot to two owners.
 */
public final class FramePool implements AutoCloseable
{
    /** Largest Ethernet frame the data plane carries: 9000-byte jumbo MTU + Ethernet + two VLAN tags. */
    public static final int MAX_JUMBO_FRAME_BYTES = 9000 + 14 + 8;
    /**
     * Space in front of a received frame for outer headers: outer Ethernet (14) + IPv6 (40) + UDP (8)
     * + Geneve with the largest option area (8 + 252) + WireGuard transport header (16), rounded up.
     */
    public static final int DEFAULT_HEADROOM_BYTES = 384;
    /** Default slot: headroom + jumbo frame + room for an AEAD tag, rounded to a cache line multiple. */
    public static final int DEFAULT_SLOT_BYTES = 9472;
    /**
     * Slot of a super-frame pool: headroom + Ethernet with two VLAN tags + the largest IP packet
     * (65,535 bytes, an offload super-frame), rounded up to a cache line multiple. A 64 KiB
     * super-frame does not fit a {@link #DEFAULT_SLOT_BYTES} slot, so the data plane keeps a
     * second, smaller pool of these (see {@code DataPlaneConfig.superFrameSlots}).
     */
    public static final int SUPER_SLOT_BYTES = 66_048;
    /** Slots are aligned to cache lines so that two frames never share one. */
    public static final int SLOT_ALIGNMENT = 64;

    private static final VarHandle IN_USE;

    static
    {
        try
        {
            IN_USE = MethodHandles.lookup().findVarHandle(Frame.class, "inUse", boolean.class);
        }
        catch (final ReflectiveOperationException ex)
        {
            throw new ExceptionInInitializerError(ex);
        }
    }

    private final Arena arena;
    private final MemorySegment memory;
    private final Frame[] frames;
    /** The shared free list: a stack ({@link #LIFO}) or a FIFO queue; the other is null. */
    private final IntLifoStack stack;
    private final IntMpmcQueue free;
    private final int slotBytes;
    private final int headroomBytes;
    private final AtomicLong exhausted = new AtomicLong();
    /** Slots a {@link FrameCacheThread} may keep for itself (0: no caches). */
    private final int cacheSlots;
    /** The threads' caches, for {@link #available()} (guarded by itself). */
    private final java.util.List<Cache> caches = new java.util.ArrayList<>();
    private final AtomicLong doubleReleases = new AtomicLong();

    /**
     * A pool of {@code slotCount} slots of {@link #DEFAULT_SLOT_BYTES} with {@link #DEFAULT_HEADROOM_BYTES}.
     */
    public FramePool(final int slotCount)
    {
        this(slotCount, DEFAULT_SLOT_BYTES, DEFAULT_HEADROOM_BYTES);
    }

    /**
     * @param slotCount     number of frame buffers (1..2^24).
     * @param slotBytes     bytes per slot, a multiple of {@link #SLOT_ALIGNMENT}.
     * @param headroomBytes bytes reserved in front of each received frame; less than {@code slotBytes}.
     */
    public FramePool(final int slotCount, final int slotBytes, final int headroomBytes)
    {
        if (slotCount < 1 || slotCount > (1 << 24))
        {
            throw new IllegalArgumentException("slotCount must be in 1..16777216: " + slotCount);
        }
        if (slotBytes < 128 || slotBytes % SLOT_ALIGNMENT != 0)
        {
            throw new IllegalArgumentException("slotBytes must be >= 128 and a multiple of 64: " + slotBytes);
        }
        if (headroomBytes < 0 || headroomBytes >= slotBytes)
        {
            throw new IllegalArgumentException("headroomBytes must be in 0..slotBytes-1: " + headroomBytes);
        }
        this.slotBytes = slotBytes;
        this.headroomBytes = headroomBytes;
        this.arena = Arena.ofShared();
        this.memory = PageMemory.allocate(arena, (long)slotCount * slotBytes, SLOT_ALIGNMENT);
        this.frames = new Frame[slotCount];
        this.stack = LIFO ? new IntLifoStack(slotCount) : null;
        this.free = LIFO ? null : new IntMpmcQueue(slotCount);
        this.cacheSlots = slotCount < CACHE_MIN_SLOTS || !THREAD_CACHES ? 0 : Math.min(CACHE_SLOTS, slotCount / 64);
        for (int i = 0; i < slotCount; i++)
        {
            frames[i] = new Frame(this, i, memory.asSlice((long)i * slotBytes, slotBytes));
        }
        // slot 0 first out either way: a lightly used pool touches the pages at the start of its block
        for (int i = 0; i < slotCount; i++)
        {
            offerOne(LIFO ? slotCount - 1 - i : i);
        }
    }

    /**
     * Takes a free frame, its window set to zero length after the headroom.
     *
     * @return a frame, or {@code null} when every slot is in use (counted).
     */
    public Frame acquire()
    {
        final int index;
        final Cache cache = cacheSlots == 0 ? null : cacheOfThisThread();
        if (cache != null)
        {
            if (cache.count == 0)
            {
                cache.count = pollMany(cache.slots, cacheSlots / 2);
            }
            index = cache.count == 0 ? -1 : cache.slots[--cache.count];
        }
        else
        {
            index = pollOne();
        }
        if (index < 0)
        {
            exhausted.incrementAndGet();
            return null;
        }
        final Frame frame = frames[index];
        frame.inUse = true;
        frame.reset();
        return frame;
    }

    /**
     * Returns a frame to the pool. Releasing a frame that is already free is counted and ignored.
     *
     * @param frame a frame acquired from this pool.
     * @throws IllegalArgumentException if the frame belongs to another pool (a programming error).
     */
    public void release(final Frame frame)
    {
        if (frame.pool() != this)
        {
            throw new IllegalArgumentException("frame belongs to another pool");
        }
        // One atomic step, so that two threads releasing the same frame cannot both return its slot.
        if (!IN_USE.compareAndSet(frame, true, false))
        {
            doubleReleases.incrementAndGet();
            return;
        }
        final Cache cache = cacheSlots == 0 ? null : cacheOfThisThread();
        if (cache == null)
        {
            offerOne(frame.index());
            return;
        }
        if (cache.count == cacheSlots)
        {
            // the lower half, released longest ago, goes back in one burst; the upper half, the slots
            // most likely still in this core's caches, stays on top
            final int half = cacheSlots / 2;
            offerAll(cache.slots, 0, half);
            System.arraycopy(cache.slots, half, cache.slots, 0, cacheSlots - half);
            cache.count = cacheSlots - half;
        }
        cache.slots[cache.count++] = frame.index();
    }

    /**
     * Queues every given slot. The free list has a cell for every slot of the pool, so there is room
     * for slots that are not in it; a burst offer may still claim fewer while it reads an old head.
     */
    private void offerAll(final int[] slots, final int offset, final int count)
    {
        if (stack != null)
        {
            stack.offer(slots, offset, count);
            return;
        }
        int done = 0;
        while (done < count)
        {
            final int queued = free.offer(slots, offset + done, count - done);
            if (queued == 0)
            {
                Thread.onSpinWait();
            }
            done += queued;
        }
    }

    private int pollOne()
    {
        return stack != null ? stack.poll() : free.poll();
    }

    /**
     * Fills {@code target[0..)} with up to {@code max} free slots, the one to hand out first last (a
     * cache hands out from its end).
     */
    private int pollMany(final int[] target, final int max)
    {
        if (stack == null)
        {
            return free.poll(target, 0, max);
        }
        final int taken = stack.poll(target, 0, max);
        for (int i = 0, j = taken - 1; i < j; i++, j--)
        {
            final int swap = target[i];
            target[i] = target[j];
            target[j] = swap;
        }
        return taken;
    }

    private void offerOne(final int slot)
    {
        if (stack != null)
        {
            stack.offer(slot);
        }
        else if (!free.offer(slot))
        {
            throw new IllegalStateException("free list full: " + slot);   // it has a cell for every slot
        }
    }

    /** The calling thread's cache of this pool, or null when it keeps none. */
    private Cache cacheOfThisThread()
    {
        return Thread.currentThread() instanceof FrameCacheThread thread ? thread.cache(this) : null;
    }

    /** Slots one {@link FrameCacheThread} keeps at most. */
    public static final int CACHE_SLOTS = 64;
    /** Pools smaller than this keep no per-thread caches. */
    public static final int CACHE_MIN_SLOTS = 1024;
    /** {@code -Dvsnic.dataplane.frameCaches=false}: no pool keeps per-thread caches (for comparison). */
    public static final String CACHES_PROPERTY = "vsnic.dataplane.frameCaches";
    private static final boolean THREAD_CACHES = Boolean.parseBoolean(System.getProperty(CACHES_PROPERTY, "true"));
    /**
     * {@code -Dvsnic.dataplane.freeList=fifo|lifo}: the order in which the shared free list hands slots
     * back. {@code lifo} (the default) reuses the slot released last, whose bytes are likely still in a
     * cache; {@code fifo} cycles through every slot of the pool.
     */
    public static final String FREE_LIST_PROPERTY = "vsnic.dataplane.freeList";
    private static final boolean LIFO = freeListIsLifo(System.getProperty(FREE_LIST_PROPERTY, "lifo"));

    private static boolean freeListIsLifo(final String order)
    {
        return switch (order)
        {
            case "lifo" -> true;
            case "fifo" -> false;
            default -> throw new IllegalArgumentException("-D" + FREE_LIST_PROPERTY + " must be lifo or fifo: " + order);
        };
    }

    /**
     * @return how many free slots a {@link FrameCacheThread} may keep for itself (0 for a small pool).
     */
    public int cacheSlots()
    {
        return cacheSlots;
    }

    /** A thread's private stack of free slots; only its thread touches {@link #slots}. */
    static final class Cache
    {
        final int[] slots;
        /** Written by the owning thread only; read (possibly stale) by {@link #available()}. */
        int count;

        Cache(final int capacity)
        {
            this.slots = new int[capacity];
        }
    }

    Cache newCache()
    {
        final Cache cache = new Cache(cacheSlots);
        synchronized (caches)
        {
            caches.add(cache);
        }
        return cache;
    }

    /** A thread that kept a cache ends: its slots go back to the shared free list. */
    void returnCache(final Cache cache)
    {
        synchronized (caches)
        {
            caches.remove(cache);
        }
        offerAll(cache.slots, 0, cache.count);
        cache.count = 0;
    }

    /**
     * @param index a slot index, as returned by {@link Frame#index()}.
     * @return the frame describing that slot (for queues that carry indices instead of references).
     */
    public Frame frame(final int index)
    {
        return frames[index];
    }

    /**
     * @return number of slots.
     */
    public int capacity()
    {
        return frames.length;
    }

    /**
     * @return number of free slots, those in the threads' caches included (exact when no other thread
     *         acquires or releases).
     */
    public int available()
    {
        int cached = 0;
        synchronized (caches)
        {
            for (final Cache cache : caches)
            {
                cached += cache.count;
            }
        }
        return sharedFree() + cached;
    }

    /**
     * @return free slots on the shared free list, those in the threads' caches not counted; no lock, for
     *         a hot-path decision such as how much of the pool one reader may take ({@link #available()}
     *         counts the caches too, under a lock).
     */
    public int sharedFree()
    {
        return stack != null ? stack.size() : free.size();
    }

    /**
     * @return bytes per slot.
     */
    public int slotBytes()
    {
        return slotBytes;
    }

    /**
     * @return bytes reserved in front of each received frame.
     */
    public int headroomBytes()
    {
        return headroomBytes;
    }

    /**
     * @return the native memory the slots use (fixed when the pool is built).
     */
    public long memoryBytes()
    {
        return memory.byteSize();
    }

    /**
     * @return how many times {@link #acquire()} found no free slot.
     */
    public long exhaustedCount()
    {
        return exhausted.get();
    }

    /**
     * @return how many times a free frame was released again.
     */
    public long doubleReleaseCount()
    {
        return doubleReleases.get();
    }

    /**
     * Frees the native memory. No frame of this pool may be used afterwards.
     */
    @Override
    public void close()
    {
        arena.close();
    }

    @Override
    public String toString()
    {
        return "FramePool{slots=" + frames.length + ", slotBytes=" + slotBytes + ", headroomBytes=" + headroomBytes +
            ", nativeBytes=" + memory.byteSize() + ", free=" + available() + '}';
    }
}
