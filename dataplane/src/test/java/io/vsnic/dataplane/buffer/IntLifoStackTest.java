package io.vsnic.dataplane.buffer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Arrays;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class IntLifoStackTest
{
    @ParameterizedTest
    @ValueSource(ints = {0, -1, Integer.MIN_VALUE, (1 << 30) + 1, Integer.MAX_VALUE})
    void shouldRejectCapacityWhenOutOfRange(final int capacity)
    {
        assertThrows(IllegalArgumentException.class, () -> new IntLifoStack(capacity));
    }

    @ParameterizedTest
    @ValueSource(ints = {-1, 8, 9, Integer.MAX_VALUE})
    void shouldRejectValueOutsideItsCapacity(final int value)
    {
        final IntLifoStack stack = new IntLifoStack(8);

        assertThrows(IllegalArgumentException.class, () -> stack.offer(value));
        assertThrows(IllegalArgumentException.class, () -> stack.offer(new int[] {1, value}, 0, 2));
        assertEquals(0, stack.size(), "a refused burst pushes nothing");
        assertEquals(-1, stack.poll());
    }

    @Test
    void shouldPollTheValueOfferedLastFirst()
    {
        final IntLifoStack stack = new IntLifoStack(16);
        for (int i = 0; i < 10; i++)
        {
            stack.offer(i);
        }
        assertEquals(10, stack.size());

        for (int i = 9; i >= 0; i--)
        {
            assertEquals(i, stack.poll());
        }
        assertEquals(-1, stack.poll());
        assertEquals(0, stack.size());
    }

    @Test
    void shouldPushABurstWithItsLastValueOnTopAndPopABurstTopFirst()
    {
        final IntLifoStack stack = new IntLifoStack(16);
        stack.offer(3);
        stack.offer(new int[] {99, 7, 11, 5, 99}, 1, 3);   // 7, 11, 5: 5 ends on top
        stack.offer(new int[0], 0, 0);
        assertEquals(4, stack.size());

        final int[] taken = new int[6];
        assertEquals(2, stack.poll(taken, 1, 2));
        assertArrayEquals(new int[] {0, 5, 11, 0, 0, 0}, taken);
        assertEquals(2, stack.poll(taken, 3, 5), "only two are left");
        assertArrayEquals(new int[] {0, 5, 11, 7, 3, 0}, taken);
        assertEquals(0, stack.poll(taken, 0, 4));
        assertEquals(0, stack.poll(taken, 0, 0));
        assertEquals(0, stack.size());
    }

    @Test
    void shouldHoldEveryValueOfItsCapacityAtOnce()
    {
        final IntLifoStack stack = new IntLifoStack(1000);
        for (int i = 0; i < 1000; i++)
        {
            stack.offer(i);
        }
        final int[] all = new int[1000];
        assertEquals(1000, stack.poll(all, 0, 2000));
        for (int i = 0; i < 1000; i++)
        {
            assertEquals(999 - i, all[i]);
        }
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void shouldNeverHandOneValueToTwoOwnersWhenFourThreadsPollAndOfferBursts() throws Exception
    {
        // 64 values circulate among four threads that take them one by one and in bursts and give them
        // back; a value taken while another thread still owns it, or lost, fails the test.
        final int capacity = 64;
        final int threads = 4;
        final int cycles = 200_000;
        final IntLifoStack stack = new IntLifoStack(capacity);
        for (int value = 0; value < capacity; value++)
        {
            stack.offer(value);
        }
        final AtomicIntegerArray owner = new AtomicIntegerArray(capacity);
        final AtomicReference<Throwable> failure = new AtomicReference<>();
        final CountDownLatch start = new CountDownLatch(1);
        final Thread[] workers = new Thread[threads];
        for (int t = 0; t < threads; t++)
        {
            final int thread = t + 1;
            workers[t] = new Thread(() ->
            {
                final int[] held = new int[capacity];
                try
                {
                    start.await();
                    for (int cycle = 0; cycle < cycles && failure.get() == null; cycle++)
                    {
                        final int count;
                        if ((cycle & 1) == 0)
                        {
                            final int value = stack.poll();
                            count = value < 0 ? 0 : 1;
                            held[0] = value;
                        }
                        else
                        {
                            count = stack.poll(held, 0, 1 + cycle % 7);
                        }
                        for (int i = 0; i < count; i++)
                        {
                            if (!owner.compareAndSet(held[i], 0, thread))
                            {
                                throw new AssertionError("value " + held[i] + " handed out while owned by " + owner.get(held[i]));
                            }
                        }
                        for (int i = 0; i < count; i++)
                        {
                            owner.set(held[i], 0);
                        }
                        if (count == 1)
                        {
                            stack.offer(held[0]);
                        }
                        else
                        {
                            stack.offer(held, 0, count);
                        }
                    }
                }
                catch (final Throwable ex)
                {
                    failure.compareAndSet(null, ex);
                }
            }, "lifo-" + t);
            workers[t].start();
        }
        start.countDown();
        for (final Thread worker : workers)
        {
            worker.join();
        }

        assertNull(failure.get(), () -> "worker failed: " + failure.get());
        assertEquals(capacity, stack.size());
        final int[] all = new int[capacity + 1];
        assertEquals(capacity, stack.poll(all, 0, capacity + 1));
        final int[] sorted = Arrays.copyOf(all, capacity);
        Arrays.sort(sorted);
        for (int value = 0; value < capacity; value++)
        {
            assertEquals(value, sorted[value], "every value comes back exactly once");
        }
    }
}
