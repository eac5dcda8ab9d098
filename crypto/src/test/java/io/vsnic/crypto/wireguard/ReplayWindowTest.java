package io.vsnic.crypto.wireguard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.BitSet;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

class ReplayWindowTest
{
    private static final long LIMIT = WireguardTimers.REJECT_AFTER_MESSAGES;

    @Test
    void shouldHaveTheKernelsSize()
    {
        assertEquals(8192, ReplayWindow.BITS);
        assertEquals(8128, ReplayWindow.WINDOW);
    }

    @Test
    void shouldAcceptInOrderCountersOnce()
    {
        final ReplayWindow window = new ReplayWindow(LIMIT);
        assertEquals(-1, window.highest());
        for (long c = 0; c < 20_000; c++)
        {
            assertTrue(window.accept(c), "counter " + c);
            assertFalse(window.accept(c), "duplicate " + c);
        }
        assertEquals(19_999, window.highest());
    }

    @Test
    void shouldAcceptOutOfOrderWithinTheWindowAndRefuseOlder()
    {
        final ReplayWindow window = new ReplayWindow(LIMIT);
        assertTrue(window.accept(10_000));
        assertTrue(window.accept(10_000 - 8128), "exactly WINDOW behind is still usable");
        assertFalse(window.accept(10_000 - 8129), "one further is too old");
        assertFalse(window.accept(0));
        assertTrue(window.accept(9_999));
        assertTrue(window.accept(5_000));
        assertFalse(window.accept(5_000));
        assertTrue(window.accept(10_001));
        assertFalse(window.accept(10_000));
        assertEquals(10_001, window.highest());
    }

    @Test
    void shouldForgetEverythingOnAHugeJumpButNotTheJumpItself()
    {
        final ReplayWindow window = new ReplayWindow(LIMIT);
        for (long c = 0; c < 100; c++)
        {
            assertTrue(window.accept(c));
        }
        final long far = 1L << 40;
        assertTrue(window.accept(far));
        assertFalse(window.accept(far));
        assertFalse(window.accept(99), "left far behind");
        assertTrue(window.accept(far - 1), "a fresh counter just behind the jump");
        assertTrue(window.accept(far - 8128));
        assertFalse(window.accept(far - 8129));
        // a jump of less than the ring must not leave stale bits of the previous lap
        assertTrue(window.accept(far + 8192 + 5));
        assertTrue(window.accept(far + 8192 + 5 - 8128 + 64), "bit of an old lap must have been cleared");
    }

    @Test
    void shouldRefuseCountersAtTheLimit()
    {
        final ReplayWindow window = new ReplayWindow(LIMIT);
        assertFalse(window.accept(LIMIT), "REJECT_AFTER_MESSAGES itself");
        assertFalse(window.accept(-1L), "2^64 - 1");
        assertEquals(-1, window.highest(), "a refused counter changes nothing");
        assertTrue(window.accept(LIMIT - 1), "the last usable counter");
        assertFalse(window.accept(LIMIT - 1));
        assertTrue(window.accept(LIMIT - 2));
        assertFalse(window.accept(0), "far below a huge (unsigned) highest counter");

        final ReplayWindow small = new ReplayWindow(100);
        assertTrue(small.accept(99));
        assertFalse(small.accept(100));
    }

    @Test
    void shouldAgreeWithASimpleReferenceOnRandomTraffic()
    {
        final SplittableRandom random = new SplittableRandom(6479);
        for (int run = 0; run < 20; run++)
        {
            final ReplayWindow window = new ReplayWindow(LIMIT);
            final BitSet seen = new BitSet();
            long max = -1;
            long base = 0;
            for (int i = 0; i < 50_000; i++)
            {
                final int kind = random.nextInt(100);
                final long c;
                if (kind < 60)
                {
                    c = base + random.nextInt(64);
                }
                else if (kind < 85)
                {
                    c = Math.max(0, max - random.nextInt(9000));
                }
                else if (kind < 97)
                {
                    c = Math.max(0, max + random.nextInt(12_000));
                }
                else
                {
                    c = max + 50_000 + random.nextInt(1 << 20);
                }
                base = Math.max(base, c - 32);
                final boolean expected = !seen.get((int)c) && (max < 0 || c + ReplayWindow.WINDOW >= max);
                assertEquals(expected, window.accept(c), "run " + run + " step " + i + " counter " + c + " max " + max);
                if (expected)
                {
                    seen.set((int)c);
                    max = Math.max(max, c);
                }
                assertEquals(max, window.highest());
            }
        }
    }
}
