package io.vsnic.dataplane.buffer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.ValueLayout;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

/**
 * The single-producer, single-consumer slot ring: slots come out in order, a full ring drops and counts instead of
 * waiting, and a producer and a consumer on two threads lose nothing that was not counted.
 */
class SpscSlotRingTest
{
    private static boolean offer(final SpscSlotRing ring, final long value)
    {
        final long at = ring.claim();
        if (at < 0)
        {
            return false;
        }
        ring.memory().set(ValueLayout.JAVA_LONG, at + 8, value);
        ring.publish();
        return true;
    }

    private static long poll(final SpscSlotRing ring)
    {
        final long at = ring.peek();
        if (at < 0)
        {
            return -1;
        }
        final long value = ring.memory().get(ValueLayout.JAVA_LONG, at + 8);
        ring.advance();
        return value;
    }

    @Test
    void shouldDropAndCountWhenFullAndKeepOrder()
    {
        final SpscSlotRing ring = new SpscSlotRing(4, 64);
        for (int i = 0; i < 4; i++)
        {
            assertTrue(offer(ring, i));
        }
        assertTrue(!offer(ring, 99), "full");
        assertTrue(!offer(ring, 100), "still full");
        assertEquals(2, ring.overflows());
        assertEquals(4, ring.size());
        assertEquals(0, poll(ring));
        assertTrue(offer(ring, 4), "room again after a poll");
        for (int i = 1; i <= 4; i++)
        {
            assertEquals(i, poll(ring));
        }
        assertEquals(-1, poll(ring));
        assertEquals(2, ring.overflows());
    }

    @Test
    void shouldRefuseSizesThatAreNotPowersOfTwo()
    {
        assertThrows(IllegalArgumentException.class, () -> new SpscSlotRing(3, 64));
        assertThrows(IllegalArgumentException.class, () -> new SpscSlotRing(1, 64));
        assertThrows(IllegalArgumentException.class, () -> new SpscSlotRing(1 << 21, 64));
        assertThrows(IllegalArgumentException.class, () -> new SpscSlotRing(4, 0));
    }

    @Test
    void shouldLoseNothingUncountedBetweenTwoThreads() throws InterruptedException
    {
        final SpscSlotRing ring = new SpscSlotRing(64, 64);
        final int total = 2_000_000;
        final AtomicLong received = new AtomicLong();
        final AtomicLong outOfOrder = new AtomicLong();
        final Thread consumer = new Thread(() -> {
            long last = -1;
            long count = 0;
            long misses = 0;
            while (true)
            {
                final long value = poll(ring);
                if (value < 0)
                {
                    if (++misses > 50_000_000L)
                    {
                        break;
                    }
                    Thread.onSpinWait();
                    continue;
                }
                if (value == Long.MAX_VALUE)
                {
                    break;
                }
                if (value <= last)
                {
                    outOfOrder.incrementAndGet();
                }
                last = value;
                count++;
            }
            received.set(count);
        });
        consumer.start();
        long written = 0;
        for (int i = 0; i < total; i++)
        {
            if (offer(ring, i))
            {
                written++;
            }
        }
        while (!offer(ring, Long.MAX_VALUE))
        {
            Thread.onSpinWait();
        }
        consumer.join(60_000);
        assertEquals(0, outOfOrder.get());
        assertEquals(written, received.get());
        // the end marker's failed attempts are counted too
        assertTrue(ring.overflows() >= total - written, "overflows " + ring.overflows() + ", dropped " + (total - written));
    }
}
