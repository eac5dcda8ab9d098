package io.vsnic.crypto.wireguard;

import java.time.Clock;
import java.time.Instant;

/**
 * The 12-byte TAI64N timestamp of handshake initiations (WireGuard paper section 5.4.2): an
 * 8-byte big-endian TAI64 label, {@code 2^62 + 10 + unix seconds} as the Linux kernel writes it,
 * then 4 bytes of big-endian nanoseconds. Being big-endian, two timestamps compare as unsigned
 * byte strings ({@link #compare}).
 */
public final class Tai64n
{
    /** Timestamp length in bytes. */
    public static final int LENGTH = 12;
    /** TAI64 label of the unix epoch: 2^62 + 10 (the TAI−UTC offset the kernel uses). */
    public static final long LABEL_EPOCH = (1L << 62) + 10;
    /**
     * Nanoseconds are rounded down to a multiple of this (2^24 ns ≈ 16.8 ms), as the Linux kernel
     * does, so that the timestamp does not leak a precise clock.
     */
    public static final int WHITENING_NS = 1 << 24;

    private Tai64n()
    {
    }

    /**
     * Where a handshake initiation gets its timestamp from (a test hook: inject a fixed one).
     */
    @FunctionalInterface
    public interface Source
    {
        /**
         * Writes the current timestamp.
         *
         * @param dst    12 bytes are written.
         * @param offset where.
         */
        void now(byte[] dst, int offset);
    }

    /**
     * @param epochSeconds unix seconds.
     * @param nanos        nanoseconds within the second.
     * @param dst          where the 12 bytes go.
     * @param offset       where in {@code dst}.
     */
    public static void encode(final long epochSeconds, final int nanos, final byte[] dst, final int offset)
    {
        final long label = LABEL_EPOCH + epochSeconds;
        for (int i = 0; i < 8; i++)
        {
            dst[offset + i] = (byte)(label >>> (56 - 8 * i));
        }
        for (int i = 0; i < 4; i++)
        {
            dst[offset + 8 + i] = (byte)(nanos >>> (24 - 8 * i));
        }
    }

    /**
     * @param label the TAI64 label (such as 4611686019959514235).
     * @param nanos the nanoseconds.
     * @return the 12-byte timestamp.
     */
    public static byte[] ofLabel(final long label, final int nanos)
    {
        final byte[] out = new byte[LENGTH];
        encode(label - LABEL_EPOCH, nanos, out, 0);
        return out;
    }

    /**
     * @param timestamp 12 bytes.
     * @return the TAI64 label.
     */
    public static long label(final byte[] timestamp)
    {
        long label = 0;
        for (int i = 0; i < 8; i++)
        {
            label = label << 8 | (timestamp[i] & 0xFF);
        }
        return label;
    }

    /**
     * @param timestamp 12 bytes.
     * @return the nanoseconds field.
     */
    public static int nanos(final byte[] timestamp)
    {
        int nanos = 0;
        for (int i = 8; i < LENGTH; i++)
        {
            nanos = nanos << 8 | (timestamp[i] & 0xFF);
        }
        return nanos;
    }

    /**
     * @return negative, zero or positive as {@code a} is older than, equal to or newer than {@code b}
     *         (unsigned byte-string order).
     */
    public static int compare(final byte[] a, final byte[] b)
    {
        for (int i = 0; i < LENGTH; i++)
        {
            final int d = (a[i] & 0xFF) - (b[i] & 0xFF);
            if (d != 0)
            {
                return d;
            }
        }
        return 0;
    }

    /**
     * @param clock the wall clock.
     * @return a source reading that clock, with the nanoseconds whitened to {@value #WHITENING_NS} ns.
     */
    public static Source clock(final Clock clock)
    {
        return (dst, offset) ->
        {
            final Instant now = clock.instant();
            encode(now.getEpochSecond(), now.getNano() & -WHITENING_NS, dst, offset);
        };
    }
}
