package io.vsnic.dataplane.buffer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

class FramePoolTest
{
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final int SLOT_BYTES = 2048;
    private static final int HEADROOM = 128;

    private final FramePool pool = new FramePool(4, SLOT_BYTES, HEADROOM);

    @AfterEach
    void closePool()
    {
        pool.close();
    }

    @Test
    void shouldReturnNullAndCountExhaustionWhenEverySlotIsAcquired()
    {
        final Set<Integer> indices = new HashSet<>();
        for (int i = 0; i < pool.capacity(); i++)
        {
            final Frame frame = pool.acquire();
            assertNotNull(frame);
            assertSame(pool, frame.pool());
            assertTrue(indices.add(frame.index()), "each slot handed out once");
        }
        assertEquals(0, pool.available());
        assertEquals(0, pool.exhaustedCount());

        assertNull(pool.acquire());
        assertEquals(1, pool.exhaustedCount());
        assertNull(pool.acquire());
        assertEquals(2, pool.exhaustedCount());
    }

    @Test
    void shouldMakeFrameAvailableAgainWhenReleased()
    {
        final Frame[] frames = acquireAll();
        assertNull(pool.acquire());

        frames[2].release();

        assertEquals(1, pool.available());
        assertSame(frames[2], pool.acquire());
        assertEquals(0, pool.available());
        for (final Frame frame : frames)
        {
            pool.release(frame);
        }
        assertEquals(pool.capacity(), pool.available());
        assertEquals(0, pool.doubleReleaseCount());
    }

    @Test
    void shouldResetWindowPortAndTimestampWhenFrameIsAcquiredAgain()
    {
        final Frame frame = pool.acquire();
        assertEquals(HEADROOM, frame.start());
        assertEquals(0, frame.length());
        assertEquals(-1, frame.port());
        assertEquals(0, frame.timestampNs());

        frame.window(3, 100).port(7).timestampNs(123_456_789L);
        frame.release();
        final Frame[] all = acquireAll();

        for (final Frame again : all)
        {
            assertEquals(HEADROOM, again.start());
            assertEquals(0, again.length());
            assertEquals(-1, again.port());
            assertEquals(0, again.timestampNs());
        }
    }

    @Test
    void shouldCountAndIgnoreDoubleRelease()
    {
        final Frame frame = pool.acquire();
        frame.release();

        frame.release();
        pool.release(frame);

        assertEquals(2, pool.doubleReleaseCount());
        assertEquals(pool.capacity(), pool.available());
        final Frame[] frames = acquireAll();
        assertNull(pool.acquire(), "the slot released twice must not be handed out twice");
        assertEquals(pool.capacity(), distinct(frames));
    }

    @Test
    void shouldKeepAReferredFrameOutOfThePoolUntilTheLastFrameReferringToItGoes()
    {
        final Frame owner = pool.acquire();
        owner.segment().asSlice(owner.start(), 100).fill((byte)7);
        owner.length(100);
        final Frame first = pool.acquire();
        final Frame second = pool.acquire();
        first.segment().set(ValueLayout.JAVA_BYTE, first.start(), (byte)1);
        first.length(1);

        assertTrue(first.refer(owner, owner.start() + 10, 50));
        assertTrue(second.refer(owner, owner.start(), 100));
        assertFalse(first.refer(owner, owner.start(), 1), "one referenced range per frame");
        assertFalse(owner.refer(owner, 0, 1), "not itself");
        final Frame third = pool.acquire();
        assertFalse(third.refer(owner, SLOT_BYTES - 10, 11), "outside the owner's slot");
        assertFalse(third.refer(owner, 0, -1));
        third.release();
        assertEquals(51, first.wireLength());
        final byte[] expected = new byte[51];
        expected[0] = 1;
        Arrays.fill(expected, 1, 51, (byte)7);
        assertArrayEquals(expected, first.toByteArray());

        owner.release();
        assertEquals(1, pool.available(), "the owner waits for the frames that refer to it");
        assertTrue(first.flatten());
        assertArrayEquals(expected, first.toByteArray());
        assertFalse(first.refersToOther());
        assertEquals(0, first.referencedLength());
        first.release();
        assertEquals(2, pool.available(), "the owner still waits for the second frame");
        second.release();
        assertEquals(4, pool.available(), "the owner went back with the last one");
        assertEquals(0, pool.doubleReleaseCount());
        final Frame[] frames = acquireAll();
        for (final Frame frame : frames)
        {
            assertFalse(frame.refersToOther(), "acquired frames refer to nothing");
            assertEquals(0, frame.referencedLength());
        }
    }

    @Test
    void shouldNotFlattenReferredBytesThatDoNotFitTheSlot()
    {
        final Frame owner = pool.acquire();
        final Frame frame = pool.acquire();
        frame.length(SLOT_BYTES - HEADROOM - 100);
        assertTrue(frame.refer(owner, 0, 101));

        assertFalse(frame.flatten());
        assertTrue(frame.refersToOther());
        assertEquals(SLOT_BYTES - HEADROOM - 100, frame.length());

        owner.release();
        frame.release();
        assertEquals(pool.capacity(), pool.available());
    }

    @Test
    void shouldRejectFrameOfAnotherPool()
    {
        try (FramePool other = new FramePool(1, 128, 0))
        {
            final Frame foreign = other.acquire();

            assertThrows(IllegalArgumentException.class, () -> pool.release(foreign));
            assertEquals(pool.capacity(), pool.available());
        }
    }

    @Test
    void shouldRejectConfigurationWhenSizesAreInvalid()
    {
        assertThrows(IllegalArgumentException.class, () -> new FramePool(0, 128, 0));
        assertThrows(IllegalArgumentException.class, () -> new FramePool((1 << 24) + 1, 128, 0));
        assertThrows(IllegalArgumentException.class, () -> new FramePool(1, 64, 0));
        assertThrows(IllegalArgumentException.class, () -> new FramePool(1, 130, 0));
        assertThrows(IllegalArgumentException.class, () -> new FramePool(1, 128, 128));
        assertThrows(IllegalArgumentException.class, () -> new FramePool(1, 128, -1));
    }

    @Test
    void shouldCutOneAlignedBlockIntoDisjointSlots()
    {
        final Frame[] frames = acquireAll();

        assertEquals((long)pool.capacity() * SLOT_BYTES, pool.memoryBytes());
        assertEquals(SLOT_BYTES, pool.slotBytes());
        assertEquals(HEADROOM, pool.headroomBytes());
        for (final Frame frame : frames)
        {
            assertEquals(0, frame.segment().address() % FramePool.SLOT_ALIGNMENT);
            assertEquals(SLOT_BYTES, frame.segment().byteSize());
            frame.segment().fill((byte)frame.index());
        }
        for (final Frame frame : frames)
        {
            final byte[] bytes = frame.segment().toArray(ValueLayout.JAVA_BYTE);
            for (final byte b : bytes)
            {
                assertEquals((byte)frame.index(), b);
            }
        }
    }

    @Test
    void shouldMakeSlotsResidentOnlyWhenFramesAreWrittenAndFailAccessAfterClose() throws java.io.IOException
    {
        org.junit.jupiter.api.Assumptions.assumeTrue(PageMemory.lazy(), "no mmap here: the pool is allocated and zeroed up front");
        final long before = rssAnonKib();
        final FramePool big = new FramePool(16_384);   // 148 MiB of jumbo slots
        final Frame frame;
        try
        {
            final long afterBuild = rssAnonKib();
            assertTrue(afterBuild - before < 32 * 1024,
                "a new 148 MiB pool made " + (afterBuild - before) + " KiB resident (zeroed up front?)");
            frame = big.acquire();
            final MemorySegment slot = frame.segment();
            for (long i = 0; i < slot.byteSize(); i += 8)
            {
                assertEquals(0L, slot.get(ValueLayout.JAVA_LONG_UNALIGNED, i), "a fresh slot reads zero");
            }
            slot.fill((byte)0x5A);
            assertEquals((byte)0x5A, slot.get(ValueLayout.JAVA_BYTE, slot.byteSize() - 1));
            assertEquals(1, mappingsOfKib(big.memoryBytes() / 1024),
                "the pool is one mapping of exactly its size (guard pages keep neighbours from merging into it)");
        }
        finally
        {
            big.close();
        }
        assertThrows(IllegalStateException.class, () -> frame.segment().get(ValueLayout.JAVA_BYTE, 0),
            "the mapping is gone with the pool");
    }

    private static long mappingsOfKib(final long kib) throws java.io.IOException
    {
        return java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/smaps")).stream()
            .filter(line -> line.startsWith("Size:") && Long.parseLong(line.replaceAll("[^0-9]", "")) == kib).count();
    }

        private static long rssAnonKib() throws java.io.IOException
    {
        for (final String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/status")))
        {
            if (line.startsWith("RssAnon:"))
            {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        throw new java.io.IOException("no RssAnon in /proc/self/status");
    }

    @Test
    void shouldUseDefaultsForJumboFramesWhenOnlySlotCountIsGiven()
    {
        try (FramePool defaults = new FramePool(2))
        {
            final Frame frame = defaults.acquire();

            assertEquals(FramePool.DEFAULT_SLOT_BYTES, defaults.slotBytes());
            assertEquals(FramePool.DEFAULT_HEADROOM_BYTES, frame.headroom());
            assertTrue(frame.maxFrameBytes() >= FramePool.MAX_JUMBO_FRAME_BYTES);
        }
    }

    @Test
    void shouldPrependIntoHeadroomUntilItIsUsedUp()
    {
        final Frame frame = pool.acquire();
        frame.length(100);

        assertTrue(frame.prepend(50));
        assertEquals(HEADROOM - 50, frame.start());
        assertEquals(150, frame.length());
        assertEquals(HEADROOM - 50, frame.headroom());

        assertFalse(frame.prepend(HEADROOM - 50 + 1));
        assertFalse(frame.prepend(-1));
        assertEquals(HEADROOM - 50, frame.start(), "a refused prepend changes nothing");
        assertEquals(150, frame.length());

        assertTrue(frame.prepend(HEADROOM - 50));
        assertEquals(0, frame.start());
        assertEquals(HEADROOM + 100, frame.length());
        assertTrue(frame.prepend(0));
        assertFalse(frame.prepend(1));
    }

    @Test
    void shouldStripFromTheFrontUntilTheFrameIsEmpty()
    {
        final Frame frame = pool.acquire();
        frame.length(60);

        assertTrue(frame.strip(14));
        assertEquals(HEADROOM + 14, frame.start());
        assertEquals(46, frame.length());

        assertFalse(frame.strip(47));
        assertFalse(frame.strip(-1));
        assertEquals(46, frame.length());

        assertTrue(frame.strip(46));
        assertEquals(0, frame.length());
        assertEquals(HEADROOM + 60, frame.start());
        assertFalse(frame.strip(1));
    }

    @Test
    void shouldKeepHeadroomPlusLengthPlusTailroomEqualToTheSlot()
    {
        final Frame frame = pool.acquire();
        frame.length(1000);
        frame.prepend(20);
        frame.strip(50);

        assertEquals(SLOT_BYTES, frame.headroom() + frame.length() + frame.tailroom());
        assertEquals(SLOT_BYTES - HEADROOM, frame.maxFrameBytes());
    }

    @Test
    void shouldAcceptWindowWhenItFitsTheSlotExactly()
    {
        final Frame frame = pool.acquire();

        frame.window(0, SLOT_BYTES);
        assertEquals(0, frame.tailroom());
        frame.window(SLOT_BYTES, 0);
        assertEquals(0, frame.length());
        frame.window(10, SLOT_BYTES - 10);
        assertEquals(10, frame.start());
    }

    @Test
    void shouldRejectWindowWhenItLeavesTheSlot()
    {
        final Frame frame = pool.acquire();
        frame.window(5, 10);

        assertThrows(IllegalArgumentException.class, () -> frame.window(1, SLOT_BYTES));
        assertThrows(IllegalArgumentException.class, () -> frame.window(-1, 10));
        assertThrows(IllegalArgumentException.class, () -> frame.window(0, -1));
        assertThrows(IllegalArgumentException.class, () -> frame.window(SLOT_BYTES + 1, 0));
        assertThrows(IllegalArgumentException.class, () -> frame.window(1, Integer.MAX_VALUE), "start + length overflows int");
        assertThrows(IllegalArgumentException.class, () -> frame.window(Integer.MAX_VALUE, Integer.MAX_VALUE));
        assertEquals(5, frame.start());
        assertEquals(10, frame.length());
    }

    @Test
    void shouldRefuseLengthWhenItLeavesTheSlot()
    {
        final Frame frame = pool.acquire();

        assertTrue(frame.length(SLOT_BYTES - HEADROOM));
        assertFalse(frame.length(SLOT_BYTES - HEADROOM + 1));
        assertFalse(frame.length(-1));
        assertFalse(frame.length(Integer.MAX_VALUE), "start + length overflows int");
        assertEquals(SLOT_BYTES - HEADROOM, frame.length());
    }

    @Test
    void shouldCopyBytesAfterTheHeadroomWhenTheyFit()
    {
        final Frame frame = pool.acquire();
        frame.window(0, 0);
        final byte[] source = new byte[SLOT_BYTES];
        for (int i = 0; i < source.length; i++)
        {
            source[i] = (byte)(i * 7);
        }
        final MemorySegment sourceSegment = MemorySegment.ofArray(source);

        assertTrue(frame.copyFrom(sourceSegment, 3, 60));
        assertEquals(HEADROOM, frame.start());
        assertEquals(60, frame.length());
        assertArrayEquals(Arrays.copyOfRange(source, 3, 63), frame.toByteArray());

        assertTrue(frame.copyFrom(sourceSegment, 0, frame.maxFrameBytes()));
        assertEquals(SLOT_BYTES - HEADROOM, frame.length());
        assertTrue(frame.copyFrom(sourceSegment, 0, 0));
        assertEquals(0, frame.length());
    }

    @Test
    void shouldRefuseCopyWhenBytesDoNotFit()
    {
        final Frame frame = pool.acquire();
        final MemorySegment source = Arena.ofAuto().allocate(SLOT_BYTES);
        frame.copyFrom(source, 0, 10);

        assertFalse(frame.copyFrom(source, 0, frame.maxFrameBytes() + 1));
        assertFalse(frame.copyFrom(source, 0, -1));
        assertFalse(frame.copyFrom(source, 0, Integer.MAX_VALUE), "headroom + length overflows int");
        assertEquals(10, frame.length());
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void shouldDeliverEveryFrameIntactWhenTwoProducersPassFramesToTwoConsumers() throws Exception
    {
        final int framesPerProducer = 150_000;
        final int producers = 2;
        final int consumers = 2;
        try (FramePool shared = new FramePool(64, SLOT_BYTES, HEADROOM))
        {
            final BlockingQueue<Frame> queue = new ArrayBlockingQueue<>(32);
            final AtomicLong verified = new AtomicLong();
            final AtomicReference<Throwable> failure = new AtomicReference<>();
            final Thread[] threads = new Thread[producers + consumers];
            for (int p = 0; p < producers; p++)
            {
                final int producer = p;
                threads[p] = new Thread(() -> produce(shared, queue, producer, framesPerProducer, failure), "producer-" + p);
            }
            for (int c = 0; c < consumers; c++)
            {
                threads[producers + c] = new Thread(() -> consume(queue, verified, failure), "consumer-" + c);
            }
            for (final Thread thread : threads)
            {
                thread.start();
            }
            for (int p = 0; p < producers; p++)
            {
                threads[p].join();
            }
            for (int c = 0; c < consumers; c++)
            {
                queue.put(poisonPill(shared));
            }
            for (int c = 0; c < consumers; c++)
            {
                threads[producers + c].join();
            }

            assertNull(failure.get(), () -> "failure in a worker: " + failure.get());
            assertEquals((long)producers * framesPerProducer, verified.get());
            assertEquals(shared.capacity(), shared.available(), "every frame returned");
            assertEquals(0, shared.doubleReleaseCount());
        }
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void shouldCountOneDoubleReleaseWhenTwoThreadsReleaseTheSameFrameAtOnce() throws Exception
    {
        final int rounds = 20_000;
        try (FramePool shared = new FramePool(4, 128, 0))
        {
            final Frame held = shared.acquire();
            final Frame[] contested = new Frame[1];
            final AtomicInteger go = new AtomicInteger(-1);
            final AtomicInteger released = new AtomicInteger();
            // The follower spins until the leader publishes a round, then both release the same frame.
            final Thread follower = new Thread(() ->
            {
                for (int round = 0; round < rounds; round++)
                {
                    while (go.get() != round)
                    {
                        Thread.onSpinWait();
                    }
                    contested[0].release();
                    released.incrementAndGet();
                }
            }, "follower");
            follower.start();
            for (int round = 0; round < rounds; round++)
            {
                contested[0] = shared.acquire();
                assertNotNull(contested[0], "round " + round);
                go.set(round);
                contested[0].release();
                released.incrementAndGet();
                while (released.get() != 2 * (round + 1))
                {
                    Thread.onSpinWait();
                }
            }
            follower.join();

            assertEquals(rounds, shared.doubleReleaseCount(), "exactly one of the two releases in each round is a double release");
            assertEquals(shared.capacity() - 1, shared.available());
            final Set<Frame> handedOut = new HashSet<>();
            Frame frame;
            while ((frame = shared.acquire()) != null)
            {
                assertNotSame(held, frame);
                assertTrue(handedOut.add(frame), "slot " + frame.index() + " handed out twice");
            }
            assertEquals(shared.capacity() - 1, handedOut.size());
        }
    }

    private static void produce(
        final FramePool pool, final BlockingQueue<Frame> queue, final int producer, final int count,
        final AtomicReference<Throwable> failure)
    {
        try
        {
            for (int sequence = 0; sequence < count; sequence++)
            {
                Frame frame;
                while ((frame = pool.acquire()) == null)
                {
                    Thread.onSpinWait();
                }
                final int length = 16 + 8 * (sequence % 200);
                frame.length(length);
                final MemorySegment segment = frame.segment();
                segment.set(ValueLayout.JAVA_INT_UNALIGNED, frame.start(), producer);
                segment.set(ValueLayout.JAVA_INT_UNALIGNED, frame.start() + 4, sequence);
                final long pattern = pattern(producer, sequence);
                for (int at = 8; at < length; at += 8)
                {
                    segment.set(LONG, frame.start() + at, pattern + at);
                }
                frame.port(producer);
                queue.put(frame);
            }
        }
        catch (final Throwable ex)
        {
            failure.compareAndSet(null, ex);
        }
    }

    private static void consume(final BlockingQueue<Frame> queue, final AtomicLong verified, final AtomicReference<Throwable> failure)
    {
        try
        {
            while (true)
            {
                final Frame frame = queue.take();
                if (frame.port() == Integer.MIN_VALUE)
                {
                    frame.release();
                    return;
                }
                final MemorySegment segment = frame.segment();
                final int producer = segment.get(ValueLayout.JAVA_INT_UNALIGNED, frame.start());
                final int sequence = segment.get(ValueLayout.JAVA_INT_UNALIGNED, frame.start() + 4);
                final long pattern = pattern(producer, sequence);
                if (producer != frame.port() || frame.length() != 16 + 8 * (sequence % 200))
                {
                    throw new AssertionError("frame of producer " + producer + " seq " + sequence + " has port " + frame.port() +
                        " length " + frame.length());
                }
                for (int at = 8; at < frame.length(); at += 8)
                {
                    if (segment.get(LONG, frame.start() + at) != pattern + at)
                    {
                        throw new AssertionError("corrupt byte at " + at + " of producer " + producer + " seq " + sequence);
                    }
                }
                frame.release();
                verified.incrementAndGet();
            }
        }
        catch (final Throwable ex)
        {
            failure.compareAndSet(null, ex);
        }
    }

    private static Frame poisonPill(final FramePool pool)
    {
        Frame frame;
        while ((frame = pool.acquire()) == null)
        {
            Thread.onSpinWait();
        }
        return frame.port(Integer.MIN_VALUE);
    }

    private static long pattern(final int producer, final int sequence)
    {
        return (0x9E37_79B9_7F4A_7C15L * (sequence + 1)) ^ ((long)producer << 56);
    }

    private Frame[] acquireAll()
    {
        final Frame[] frames = new Frame[pool.available()];
        for (int i = 0; i < frames.length; i++)
        {
            frames[i] = pool.acquire();
            assertNotNull(frames[i]);
        }
        return frames;
    }

    private static int distinct(final Frame[] frames)
    {
        final Set<Integer> indices = new HashSet<>();
        for (final Frame frame : frames)
        {
            indices.add(frame.index());
        }
        return indices.size();
    }

    /** Runs {@code task} on a {@link FrameCacheThread} and waits for it (rethrowing what it threw). */
    private static void onCachingThread(final ThrowingRunnable task) throws Exception
    {
        final AtomicReference<Throwable> failure = new AtomicReference<>();
        final Thread thread = new FrameCacheThread(() ->
        {
            try
            {
                task.run();
            }
            catch (final Throwable ex)
            {
                failure.set(ex);
            }
        }, "caching");
        thread.start();
        thread.join();
        if (failure.get() instanceof Error error)
        {
            throw error;
        }
        if (failure.get() != null)
        {
            throw new AssertionError(failure.get());
        }
    }

    private interface ThrowingRunnable
    {
        void run() throws Exception;
    }

    @Test
    void shouldHandOutTheSlotReleasedLastFirstSoThatItsBytesAreStillInCache() throws Exception
    {
        // the default free list (-Dvsnic.dataplane.freeList=lifo); the build runs the tests without the property
        final Frame first = pool.acquire();
        final Frame second = pool.acquire();
        assertEquals(0, first.index(), "a fresh pool starts at its first slot");
        assertEquals(1, second.index());
        first.release();
        second.release();
        assertSame(second, pool.acquire());
        assertSame(first, pool.acquire());

        try (FramePool shared = new FramePool(2048, 128, 0))
        {
            onCachingThread(() ->
            {
                // more than a cache holds: the cache overflows into the shared list and refills from it
                final Frame[] burst = new Frame[3 * shared.cacheSlots()];
                for (int round = 0; round < 3; round++)
                {
                    for (int i = 0; i < burst.length; i++)
                    {
                        burst[i] = shared.acquire();
                    }
                    for (final Frame frame : burst)
                    {
                        frame.release();
                    }
                    final Set<Integer> used = new HashSet<>();
                    for (final Frame frame : burst)
                    {
                        used.add(frame.index());
                    }
                    assertEquals(burst.length, used.size());
                    for (int i = 0; i < burst.length; i++)
                    {
                        assertTrue(used.contains(i), "round " + round + ": slot " + i + " was not reused: " + used);
                    }
                }
                final Frame last = burst[burst.length - 1];
                assertSame(last, shared.acquire(), "the cache hands back its newest slot");
                last.release();
            });
        }
    }

    @Test
    void shouldCountCachedSlotsAsAvailableAndReturnThemWhenTheThreadEnds() throws Exception
    {
        try (FramePool shared = new FramePool(2048, 128, 0))
        {
            assertEquals(32, shared.cacheSlots(), "a sixty-fourth of the pool, at most 64");
            assertEquals(0, pool.cacheSlots(), "a small pool keeps no caches");
            onCachingThread(() ->
            {
                final Frame frame = shared.acquire();
                assertEquals(shared.capacity() - 1, shared.available(), "the other slots of the burst wait in the cache");
                frame.release();
                assertEquals(shared.capacity(), shared.available());
                final Frame[] all = new Frame[shared.capacity()];
                for (int i = 0; i < all.length; i++)
                {
                    all[i] = shared.acquire();
                    assertNotNull(all[i], "slot " + i);
                }
                assertNull(shared.acquire(), "every slot is in use");
                assertEquals(1, shared.exhaustedCount());
                assertEquals(0, shared.available());
                for (final Frame each : all)
                {
                    each.release();
                }
                assertEquals(shared.capacity(), shared.available());
                // keep some in the cache when the thread ends
                shared.acquire().release();
            });
            assertEquals(shared.capacity(), shared.available(), "the ended thread's cache went back");
            final Set<Frame> handedOut = new HashSet<>();
            Frame frame;
            while ((frame = shared.acquire()) != null)
            {
                assertTrue(handedOut.add(frame), "slot " + frame.index() + " handed out twice");
            }
            assertEquals(shared.capacity(), handedOut.size());
        }
    }

    /**
     * Two caching threads and a plain one share a pool: each takes bursts of frames, marks each slot as
     * its own (a slot held twice fails the mark), and hands half of them to the next thread to release,
     * so slots flow between the caches and the shared free list. Every slot ends free, once.
     */
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void shouldNeverHandOutASlotTwiceWhenCachingThreadsShareThePool() throws Exception
    {
        final int threads = 3;
        final int rounds = 20_000;
        try (FramePool shared = new FramePool(1024, 128, 0))
        {
            final java.util.concurrent.atomic.AtomicIntegerArray owner = new java.util.concurrent.atomic.AtomicIntegerArray(shared.capacity());
            final java.util.List<java.util.concurrent.ConcurrentLinkedQueue<Frame>> handOff = new java.util.ArrayList<>();
            for (int t = 0; t < threads; t++)
            {
                handOff.add(new java.util.concurrent.ConcurrentLinkedQueue<>());
            }
            final AtomicReference<Throwable> failure = new AtomicReference<>();
            final java.util.concurrent.CountDownLatch done = new java.util.concurrent.CountDownLatch(threads);
            final AtomicInteger finished = new AtomicInteger();
            final Thread[] workers = new Thread[threads];
            for (int t = 0; t < threads; t++)
            {
                final int id = t + 1;
                final Runnable task = () ->
                {
                    try
                    {
                        final java.util.Random random = new java.util.Random(id);
                        final Frame[] burst = new Frame[100];
                        for (int round = 0; round < rounds && failure.get() == null; round++)
                        {
                            final int want = 1 + random.nextInt(burst.length);
                            int got = 0;
                            while (got < want)
                            {
                                final Frame frame = shared.acquire();
                                if (frame == null)
                                {
                                    break;
                                }
                                if (!owner.compareAndSet(frame.index(), 0, id))
                                {
                                    throw new AssertionError("slot " + frame.index() + " handed out while held by " + owner.get(frame.index()));
                                }
                                burst[got++] = frame;
                            }
                            for (int i = 0; i < got; i++)
                            {
                                owner.set(burst[i].index(), 0);
                                if ((i & 1) == 0)
                                {
                                    burst[i].release();
                                }
                                else
                                {
                                    handOff.get(id % threads).add(burst[i]);
                                }
                            }
                            Frame given;
                            while ((given = handOff.get(id - 1).poll()) != null)
                            {
                                given.release();
                            }
                        }
                        finished.incrementAndGet();
                        // frames handed to this thread by the slower ones still get released
                        while (finished.get() < threads)
                        {
                            Frame given;
                            while ((given = handOff.get(id - 1).poll()) != null)
                            {
                                given.release();
                            }
                            Thread.onSpinWait();
                        }
                        Frame given;
                        while ((given = handOff.get(id - 1).poll()) != null)
                        {
                            given.release();
                        }
                    }
                    catch (final Throwable ex)
                    {
                        failure.compareAndSet(null, ex);
                        finished.incrementAndGet();
                    }
                    finally
                    {
                        done.countDown();
                    }
                };
                workers[t] = id == threads ? new Thread(task, "plain") : new FrameCacheThread(task, "caching-" + id);
                workers[t].start();
            }
            for (final Thread worker : workers)
            {
                worker.join();
            }
            assertNull(failure.get(), () -> "failure: " + failure.get());
            for (final java.util.concurrent.ConcurrentLinkedQueue<Frame> queue : handOff)
            {
                Frame left;
                while ((left = queue.poll()) != null)
                {
                    left.release();
                }
            }
            assertEquals(0, shared.doubleReleaseCount());
            assertEquals(shared.capacity(), shared.available(), "every slot back, the caches of the ended threads too");
            final Set<Integer> slots = new HashSet<>();
            Frame frame;
            while ((frame = shared.acquire()) != null)
            {
                assertTrue(slots.add(frame.index()), "slot " + frame.index() + " free twice");
            }
            assertEquals(shared.capacity(), slots.size());
        }
    }
}
