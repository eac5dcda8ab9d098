package io.vsnic.crypto.wireguard;

import java.util.Arrays;

/**
 * The receive-side anti-replay window of RFC 6479 ("IPsec Anti-Replay Algorithm without Bit
 * Shifting"), sized as the Linux kernel and wireguard-go size WireGuard's: a ring of
 * {@value #BITS} bits in {@value #WORDS} 64-bit words, of which {@value #WINDOW} behind the
 * highest counter are always usable (one word is given up so that advancing only ever clears
 * whole words and never shifts).
 *
 * <p>A counter is accepted when it is below {@link #limit()}, at most {@value #WINDOW} below the
 * highest accepted one, and not seen before. Call {@link #accept} only after the message's tag has
 * verified: an unauthenticated counter must not move the window.
 *
 * <p>Thread safe: {@link #accept} is one short critical section (workers that share a keypair may
 * open its messages concurrently).
 */
public final class ReplayWindow
{
    /** Bits in the ring. */
    public static final int BITS = 8192;
    /** Usable window behind the highest accepted counter. */
    public static final int WINDOW = BITS - Long.SIZE;

    static final int WORDS = BITS / Long.SIZE;
    private static final int WORD_MASK = WORDS - 1;

    private final long[] ring = new long[WORDS];
    private final long limit;
    /** Highest accepted counter plus one; 0 when nothing was accepted yet. Compared unsigned. */
    private long next;

    /**
     * @param limit counters at or above this (unsigned) are refused: REJECT_AFTER_MESSAGES.
     */
    public ReplayWindow(final long limit)
    {
        this.limit = limit;
    }

    /**
     * @return the exclusive counter limit.
     */
    public long limit()
    {
        return limit;
    }

    /**
     * Checks a counter and, when it is fresh, marks it as seen.
     *
     * @param counter the authenticated message counter (unsigned).
     * @return true when the counter is fresh; false for a replay, a counter too old for the window,
     *         or one at or beyond the limit. A false answer changes nothing.
     */
    public synchronized boolean accept(final long counter)
    {
        if (Long.compareUnsigned(counter, limit) >= 0)
        {
            return false;
        }
        final long highestPlusOne = next;
        if (Long.compareUnsigned(counter, highestPlusOne) >= 0)
        {
            // ahead of everything seen: clear the words the window moves over (all of them on a jump)
            final long fromWord = highestPlusOne == 0 ? -1 : (highestPlusOne - 1) >>> 6;
            final long toWord = counter >>> 6;
            final long advance = Math.min(toWord - fromWord, WORDS);
            for (long i = 1; i <= advance; i++)
            {
                ring[(int)((fromWord + i) & WORD_MASK)] = 0;
            }
            ring[(int)(toWord & WORD_MASK)] |= 1L << (counter & 63);
            next = counter + 1;
            return true;
        }
        if (Long.compareUnsigned(highestPlusOne - 1 - counter, WINDOW) > 0)
        {
            return false;
        }
        final int word = (int)((counter >>> 6) & WORD_MASK);
        final long bit = 1L << (counter & 63);
        if ((ring[word] & bit) != 0)
        {
            return false;
        }
        ring[word] |= bit;
        return true;
    }

    /**
     * @return the highest accepted counter, or -1 (all ones) when none was accepted.
     */
    public synchronized long highest()
    {
        return next - 1;
    }

    /**
     * Forgets everything (used when a keypair is destroyed).
     */
    public synchronized void clear()
    {
        Arrays.fill(ring, 0);
        next = 0;
    }
}
