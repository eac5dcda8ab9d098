package io.vsnic.dataplane.buffer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class IntMpmcQueueTest
{
    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({"1, 2", "2, 2", "3, 4", "5, 8", "64, 64", "65, 128", "1000, 1024", "1024, 1024", "1025, 2048"})
    void shouldRoundCapacityUpToPowerOfTwo(final int requested, final int expected)
    {
        assertEquals(expected, new IntMpmcQueue(requested).capacity());
    }

    @ParameterizedTest
    @ValueSource(ints = {0, -1, Integer.MIN_VALUE, (1 << 30) + 1, Integer.MAX_VALUE})
    void shouldRejectCapacityWhenOutOfRange(final int requested)
    {
        assertThrows(IllegalArgumentException.class, () -> new IntMpmcQueue(requested));
    }

    @Test
    void shouldPollValuesInOfferOrder()
    {
        final IntMpmcQueue queue = new IntMpmcQueue(16);
        for (int i = 0; i < 10; i++)
        {
            assertTrue(queue.offer(i * 3));
        }
        assertEquals(10, queue.size());

        for (int i = 0; i < 10; i++)
        {
            assertEquals(i * 3, queue.poll());
        }
        assertEquals(-1, queue.poll());
        assertEquals(0, queue.size());
    }

    @Test
    void shouldRefuseOfferWhenFullAndAcceptAgainAfterPoll()
    {
        final IntMpmcQueue queue = new IntMpmcQueue(5);
        for (int i = 0; i < 8; i++)
        {
            assertTrue(queue.offer(i), "offer " + i);
        }

        assertFalse(queue.offer(99));
        assertEquals(8, queue.size());

        assertEquals(0, queue.poll());
        assertTrue(queue.offer(8));
        assertFalse(queue.offer(9));
        for (int i = 1; i <= 8; i++)
        {
            assertEquals(i, queue.poll());
        }
        assertEquals(-1, queue.poll());
    }

    @Test
    void shouldHoldTwoValuesWithoutOverwritingWhenOneCellIsRequested()
    {
        final IntMpmcQueue queue = new IntMpmcQueue(1);

        assertEquals(-1, queue.poll());
        assertTrue(queue.offer(10));
        assertTrue(queue.offer(11));
        assertFalse(queue.offer(12), "full: the third value must be refused, not written over the first");
        assertEquals(10, queue.poll());
        assertEquals(11, queue.poll());
        assertEquals(-1, queue.poll());
    }

    @Test
    void shouldKeepFifoOrderAcrossManyWrapsOfTheRing()
    {
        final IntMpmcQueue queue = new IntMpmcQueue(8);
        int next = 0;
        int expected = 0;
        for (int round = 0; round < 100_000; round++)
        {
            final int offers = round % 9;
            for (int i = 0; i < offers && queue.offer(next); i++)
            {
                next++;
            }
            final int polls = (round * 7) % 9;
            for (int i = 0; i < polls; i++)
            {
                final int value = queue.poll();
                if (value < 0)
                {
                    break;
                }
                assertEquals(expected++, value);
            }
            assertEquals(next - expected, queue.size());
        }
        assertTrue(next > 100_000, "the ring wrapped many times");
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void shouldPollEveryOfferedValueExactlyOnceWhenFourThreadsOfferAndPoll() throws Exception
    {
        final int threads = 4;
        final int valuesPerThread = 250_000;
        final IntMpmcQueue queue = new IntMpmcQueue(64);
        final AtomicIntegerArray polled = new AtomicIntegerArray(threads * valuesPerThread);
        final AtomicReference<Throwable> failure = new AtomicReference<>();
        final CountDownLatch start = new CountDownLatch(1);
        final CountDownLatch offersDone = new CountDownLatch(threads);
        final Thread[] workers = new Thread[threads];
        for (int t = 0; t < threads; t++)
        {
            final int thread = t;
            workers[t] = new Thread(() ->
            {
                // per producer, the last value this thread polled: FIFO means they must increase
                final int[] lastSeen = {-1, -1, -1, -1};
                try
                {
                    start.await();
                    for (int i = 0; i < valuesPerThread; i++)
                    {
                        final int value = thread * valuesPerThread + i;
                        while (!queue.offer(value))
                        {
                            pollOne(queue, polled, lastSeen, valuesPerThread);
                        }
                        if ((i & 1) == 0)
                        {
                            pollOne(queue, polled, lastSeen, valuesPerThread);
                        }
                    }
                    offersDone.countDown();
                    while (offersDone.getCount() > 0 || queue.size() > 0)
                    {
                        pollOne(queue, polled, lastSeen, valuesPerThread);
                    }
                }
                catch (final Throwable ex)
                {
                    failure.compareAndSet(null, ex);
                    offersDone.countDown();
                }
            }, "mpmc-" + t);
            workers[t].start();
        }
        start.countDown();
        for (final Thread worker : workers)
        {
            worker.join();
        }

        assertNull(failure.get(), () -> "worker failed: " + failure.get());
        assertEquals(-1, queue.poll());
        for (int value = 0; value < polled.length(); value++)
        {
            if (polled.get(value) != 1)
            {
                assertEquals(1, polled.get(value), "value " + value + " polled " + polled.get(value) + " times");
            }
        }
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void shouldNeitherRefuseNorComeUpEmptyWhenQueueIsNeitherFullNorEmpty() throws Exception
    {
        // Six values circulate through eight cells among four threads that each hold at most one:
        // at least two values are always queued and at most six, so every poll must find a value and
        // every offer must succeed, even when a thread is descheduled halfway through a poll or offer.
        final int threads = 4;
        final int cycles = 300_000;
        final IntMpmcQueue queue = new IntMpmcQueue(8);
        for (int value = 0; value < 6; value++)
        {
            assertTrue(queue.offer(value));
        }
        final AtomicReference<Throwable> failure = new AtomicReference<>();
        final Thread[] workers = new Thread[threads];
        for (int t = 0; t < threads; t++)
        {
            workers[t] = new Thread(() ->
            {
                try
                {
                    for (int i = 0; i < cycles && failure.get() == null; i++)
                    {
                        final int value = queue.poll();
                        if (value < 0)
                        {
                            throw new AssertionError("poll came up empty with values queued, cycle " + i);
                        }
                        if (!queue.offer(value))
                        {
                            throw new AssertionError("offer refused with at most six of eight cells used, cycle " + i);
                        }
                    }
                }
                catch (final Throwable ex)
                {
                    failure.compareAndSet(null, ex);
                }
            }, "cycler-" + t);
            workers[t].start();
        }
        for (final Thread worker : workers)
        {
            worker.join();
        }

        assertNull(failure.get(), () -> "worker failed: " + failure.get());
        assertEquals(6, queue.size());
        final boolean[] seen = new boolean[6];
        for (int i = 0; i < 6; i++)
        {
            seen[queue.poll()] = true;
        }
        for (final boolean value : seen)
        {
            assertTrue(value);
        }
    }

    private static void pollOne(final IntMpmcQueue queue, final AtomicIntegerArray polled, final int[] lastSeen, final int perThread)
    {
        final int value = queue.poll();
        if (value < 0)
        {
            return;
        }
        if (polled.incrementAndGet(value) != 1)
        {
            throw new AssertionError("value " + value + " polled twice");
        }
        final int producer = value / perThread;
        if (value <= lastSeen[producer])
        {
            throw new AssertionError("value " + value + " after " + lastSeen[producer] + " from the same producer");
        }
        lastSeen[producer] = value;
    }
    @Test
    void shouldOfferAndPollBurstsInOrderAndStopAtFullOrEmpty()
    {
        final IntMpmcQueue queue = new IntMpmcQueue(8);
        final int[] values = {10, 11, 12, 13, 14, 15, 16, 17, 18, 19};
        assertEquals(3, queue.offer(values, 0, 3));
        assertEquals(1, queue.offer(values, 3, 1));
        assertEquals(4, queue.offer(values, 4, 6), "only four cells left");
        assertEquals(0, queue.offer(values, 8, 2), "full");
        assertFalse(queue.offer(99));
        assertEquals(0, queue.offer(values, 0, 0));

        final int[] out = new int[12];
        assertEquals(5, queue.poll(out, 2, 5));
        assertArrayEquals(new int[] {10, 11, 12, 13, 14}, java.util.Arrays.copyOfRange(out, 2, 7));
        assertEquals(15, queue.poll(), "single and burst polls share one order");
        assertEquals(2, queue.offer(values, 8, 2));
        assertEquals(4, queue.poll(out, 0, 12));
        assertArrayEquals(new int[] {16, 17, 18, 19}, java.util.Arrays.copyOfRange(out, 0, 4));
        assertEquals(0, queue.poll(out, 0, 12));
        assertEquals(-1, queue.poll());
        assertEquals(0, queue.size());
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void shouldPassEveryValueExactlyOnceInProducerOrderWhenBurstsRaceSingles() throws Exception
    {
        // two producers offer bursts of 1..17 values, one offers singly; two consumers poll bursts, one singly
        final int producers = 3;
        final int perProducer = 100_000;
        final IntMpmcQueue queue = new IntMpmcQueue(64);
        final AtomicIntegerArray polled = new AtomicIntegerArray(producers * perProducer);
        final AtomicReference<Throwable> failure = new AtomicReference<>();
        final java.util.concurrent.atomic.AtomicInteger taken = new java.util.concurrent.atomic.AtomicInteger();
        final Thread[] threads = new Thread[producers + 3];
        for (int p = 0; p < producers; p++)
        {
            final int producer = p;
            threads[p] = new Thread(() ->
            {
                final int[] burst = new int[17];
                int next = 0;
                while (next < perProducer)
                {
                    final int size = producer == 2 ? 1 : Math.min(1 + next % 17, perProducer - next);
                    for (int k = 0; k < size; k++)
                    {
                        burst[k] = producer * perProducer + next + k;
                    }
                    final int queued = producer == 2 ? (queue.offer(burst[0]) ? 1 : 0) : queue.offer(burst, 0, size);
                    next += queued;
                    if (queued == 0)
                    {
                        Thread.yield();
                    }
                }
            }, "burst-producer-" + p);
        }
        for (int c = 0; c < 3; c++)
        {
            final int consumer = c;
            threads[producers + c] = new Thread(() ->
            {
                final int[] lastSeen = {-1, -1, -1};
                final int[] out = new int[13];
                try
                {
                    while (taken.get() < polled.length())
                    {
                        final int n;
                        if (consumer == 2)
                        {
                            final int value = queue.poll();
                            out[0] = value;
                            n = value < 0 ? 0 : 1;
                        }
                        else
                        {
                            n = queue.poll(out, 0, 1 + consumer * 12);
                        }
                        for (int k = 0; k < n; k++)
                        {
                            final int value = out[k];
                            final int producer = value / perProducer;
                            if (value % perProducer <= lastSeen[producer])
                            {
                                throw new AssertionError("value " + value + " after " + lastSeen[producer]);
                            }
                            lastSeen[producer] = value % perProducer;
                            polled.incrementAndGet(value);
                        }
                        taken.addAndGet(n);
                        if (n == 0)
                        {
                            Thread.yield();
                        }
                    }
                }
                catch (final Throwable ex)
                {
                    failure.compareAndSet(null, ex);
                    taken.set(Integer.MAX_VALUE);
                }
            }, "burst-consumer-" + c);
        }
        for (final Thread thread : threads)
        {
            thread.start();
        }
        for (final Thread thread : threads)
        {
            thread.join();
        }
        assertNull(failure.get(), () -> "consumer failed: " + failure.get());
        for (int value = 0; value < polled.length(); value++)
        {
            if (polled.get(value) != 1)
            {
                assertEquals(1, polled.get(value), "value " + value + " polled " + polled.get(value) + " times");
            }
        }
        assertEquals(-1, queue.poll());
    }
}
