package io.vsnic.crypto.primitive;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The Poly1305 one-time authenticator of RFC 8439 section 2.5, computed in radix 2^64: the
 * accumulator is {@code h0 + h1·2^64 + h2·2^128} and the clamped key part
 * {@code r = r0 + r1·2^64}. Because clamping clears the two low bits of {@code r1},
 * {@code r1·2^128 ≡ (5·r1/4)·2^0 (mod 2^130 − 5)}, so one block costs four 64×64→128-bit
 * products ({@link Math#unsignedMultiplyHigh}) and two small ones.
 *
 * <p>One instance computes one tag at a time: {@link #init}, any number of updates, {@link #finish}.
 * It allocates nothing and may be reused; it is not thread safe.
 */
public final class Poly1305
{
    /** Key length in bytes ({@code r || s}). */
    public static final int KEY_LENGTH = 32;
    /** Tag length in bytes. */
    public static final int TAG_LENGTH = 16;
    /** Block length in bytes. */
    public static final int BLOCK_LENGTH = 16;

    private static final long R0_CLAMP = 0x0FFF_FFFC_0FFF_FFFFL;
    private static final long R1_CLAMP = 0x0FFF_FFFC_0FFF_FFFCL;

    /** Full blocks below this many bytes are absorbed one at a time even when vector kernels are on. */
    static final int VECTOR_MIN_BYTES = 256;

    private final long[] powers;
    private long r0;
    private long r1;
    private long s1;
    private long pad0;
    private long pad1;
    private long h0;
    private long h1;
    private long h2;

    /**
     * An instance that uses the vector kernel for long inputs in native memory when
     * {@link VectorSupport#enabled()}.
     */
    public Poly1305()
    {
        this(true);
    }

    /**
     * @param vector false to stay with plain Java whatever {@link VectorSupport#enabled()} says.
     */
    Poly1305(final boolean vector)
    {
        powers = vector && VectorSupport.enabled() ? new long[VectorKernels.POWERS_LENGTH] : null;
    }

    /**
     * Starts a tag with a one-time key given as four little-endian 64-bit words.
     *
     * @param k0 key bytes 0-7 (r, low).
     * @param k1 key bytes 8-15 (r, high).
     * @param k2 key bytes 16-23 (s, low).
     * @param k3 key bytes 24-31 (s, high).
     */
    public void init(final long k0, final long k1, final long k2, final long k3)
    {
        r0 = k0 & R0_CLAMP;
        r1 = k1 & R1_CLAMP;
        s1 = r1 + (r1 >>> 2);
        pad0 = k2;
        pad1 = k3;
        h0 = 0;
        h1 = 0;
        h2 = 0;
    }

    /**
     * Starts a tag with a 32-byte one-time key.
     *
     * @param key    the key.
     * @param offset where it starts.
     */
    public void init(final byte[] key, final int offset)
    {
        final MemorySegment k = MemorySegment.ofArray(key);
        init(k.get(ChaCha20.LONG_LE, offset), k.get(ChaCha20.LONG_LE, offset + 8),
            k.get(ChaCha20.LONG_LE, offset + 16), k.get(ChaCha20.LONG_LE, offset + 24));
    }

    /**
     * Absorbs whole 16-byte blocks and then, if {@code length} is not a multiple of 16, the rest
     * padded with zeros to a full block: the padding of the AEAD construction (RFC 8439 section
     * 2.8). Every block counts as 16 bytes long.
     *
     * @param data   the input.
     * @param offset where it starts.
     * @param length how many bytes.
     */
    public void updatePadded(final MemorySegment data, final long offset, final long length)
    {
        final long full = length & ~15L;
        long done = 0;
        if (powers != null && full >= VECTOR_MIN_BYTES && data.isNative())
        {
            done = full - full % VectorKernels.POLY_GROUP_BYTES;
            VectorKernels.polyBlocks(this, data, offset, done, powers);
        }
        blocks(data, offset + done, full - done);
        final int rest = (int)(length - full);
        if (rest > 0)
        {
            long m0 = 0;
            long m1 = 0;
            final long at = offset + full;
            for (int i = 0; i < rest; i++)
            {
                final long b = data.get(ValueLayout.JAVA_BYTE, at + i) & 0xFFL;
                if (i < 8)
                {
                    m0 |= b << (8 * i);
                }
                else
                {
                    m1 |= b << (8 * (i - 8));
                }
            }
            block(m0, m1, 1);
        }
    }

    /**
     * Absorbs a complete message whose last block may be short: a short block gets a 0x01 byte
     * after its end instead of bit 128 (RFC 8439 section 2.5.1). Use it for a standalone MAC, once.
     *
     * @param data   the input.
     * @param offset where it starts.
     * @param length how many bytes.
     */
    public void updateFinal(final MemorySegment data, final long offset, final long length)
    {
        final long full = length & ~15L;
        blocks(data, offset, full);
        final int rest = (int)(length - full);
        if (rest > 0)
        {
            long m0 = 0;
            long m1 = 0;
            final long at = offset + full;
            for (int i = 0; i <= rest; i++)
            {
                final long b = i < rest ? data.get(ValueLayout.JAVA_BYTE, at + i) & 0xFFL : 1L;
                if (i < 8)
                {
                    m0 |= b << (8 * i);
                }
                else
                {
                    m1 |= b << (8 * (i - 8));
                }
            }
            block(m0, m1, 0);
        }
    }

    /**
     * Absorbs one full block given as two little-endian words (used for the AEAD length block).
     *
     * @param m0 bytes 0-7.
     * @param m1 bytes 8-15.
     */
    public void update(final long m0, final long m1)
    {
        block(m0, m1, 1);
    }

    long r0()
    {
        return r0;
    }

    long r1()
    {
        return r1;
    }

    long h0()
    {
        return h0;
    }

    long h1()
    {
        return h1;
    }

    long h2()
    {
        return h2;
    }

    /**
     * r^2 .. r^{@code highest} for the vector kernel: three words each (radix 2^64, partially
     * reduced: below 5·2^128), r^k at {@code out[3·(k−2)]}. Each is the previous one times the
     * clamped r, with the block arithmetic (four 64×64→128-bit products instead of the 25 of radix
     * 2^26). The accumulator is left as it was.
     *
     * @param out     at least {@code 3·(highest−1)} longs.
     * @param highest the highest power, at least 2.
     */
    void powersOfR(final long[] out, final int highest)
    {
        final long a0 = h0;
        final long a1 = h1;
        final long a2 = h2;
        h0 = r0;
        h1 = r1;
        h2 = 0;
        for (int k = 0, end = 3 * (highest - 1); k < end; k += 3)
        {
            block(0, 0, 0);
            out[k] = h0;
            out[k + 1] = h1;
            out[k + 2] = h2;
        }
        h0 = a0;
        h1 = a1;
        h2 = a2;
    }

    /** Replaces the accumulator (radix 2^64, {@code a2} small) after a vector kernel absorbed blocks. */
    void setAccumulator(final long a0, final long a1, final long a2)
    {
        h0 = a0;
        h1 = a1;
        h2 = a2;
    }

    /**
     * Absorbs {@code length} bytes, a multiple of 16, as full blocks.
     */
    private void blocks(final MemorySegment data, final long offset, final long length)
    {
        long a0 = h0;
        long a1 = h1;
        long a2 = h2;
        final long k0 = r0;
        final long k1 = r1;
        final long ks = s1;
        final long end = offset + length;
        for (long at = offset; at < end; at += BLOCK_LENGTH)
        {
            final long m0 = data.get(ChaCha20.LONG_LE, at);
            final long m1 = data.get(ChaCha20.LONG_LE, at + 8);
            // h += m | 2^128
            final long t0 = a0 + m0;
            final long c0 = carry(a0, m0, t0);
            final long u1 = a1 + m1;
            final long c1 = carry(a1, m1, u1);
            final long t1 = u1 + c0;
            final long c2 = carry(u1, c0, t1);
            final long t2 = a2 + c1 + c2 + 1;

            // d0 = t0·r0 + t1·s1, d1 = t0·r1 + t1·r0 + t2·s1, d2 = t2·r0
            final long p0l = t0 * k0;
            final long p0h = Math.unsignedMultiplyHigh(t0, k0);
            final long q0l = t1 * ks;
            final long q0h = Math.unsignedMultiplyHigh(t1, ks);
            final long d0l = p0l + q0l;
            final long d0h = p0h + q0h + carry(p0l, q0l, d0l);

            final long p1l = t0 * k1;
            final long p1h = Math.unsignedMultiplyHigh(t0, k1);
            final long q1l = t1 * k0;
            final long q1h = Math.unsignedMultiplyHigh(t1, k0);
            final long w1 = t2 * ks;
            final long e1l = p1l + q1l;
            final long e1h = p1h + q1h + carry(p1l, q1l, e1l);
            final long d1l = e1l + w1;
            final long d1h = e1h + carry(e1l, w1, d1l);

            final long d2 = t2 * k0;

            // carry d0 into d1 and d1 into d2
            final long f1 = d1l + d0h;
            final long f2 = d2 + d1h + carry(d1l, d0h, f1);

            // reduce: everything from bit 130 up, times 5, goes back to bit 0
            final long over = (f2 & ~3L) + (f2 >>> 2);
            a0 = d0l + over;
            final long g = carry(d0l, over, a0);
            a1 = f1 + g;
            a2 = (f2 & 3) + carry(f1, g, a1);
        }
        h0 = a0;
        h1 = a1;
        h2 = a2;
    }

    private void block(final long m0, final long m1, final long hibit)
    {
        final long t0 = h0 + m0;
        final long c0 = carry(h0, m0, t0);
        final long u1 = h1 + m1;
        final long c1 = carry(h1, m1, u1);
        final long t1 = u1 + c0;
        final long c2 = carry(u1, c0, t1);
        final long t2 = h2 + c1 + c2 + hibit;

        final long p0l = t0 * r0;
        final long p0h = Math.unsignedMultiplyHigh(t0, r0);
        final long q0l = t1 * s1;
        final long q0h = Math.unsignedMultiplyHigh(t1, s1);
        final long d0l = p0l + q0l;
        final long d0h = p0h + q0h + carry(p0l, q0l, d0l);

        final long p1l = t0 * r1;
        final long p1h = Math.unsignedMultiplyHigh(t0, r1);
        final long q1l = t1 * r0;
        final long q1h = Math.unsignedMultiplyHigh(t1, r0);
        final long w1 = t2 * s1;
        final long e1l = p1l + q1l;
        final long e1h = p1h + q1h + carry(p1l, q1l, e1l);
        final long d1l = e1l + w1;
        final long d1h = e1h + carry(e1l, w1, d1l);

        final long d2 = t2 * r0;

        final long f1 = d1l + d0h;
        final long f2 = d2 + d1h + carry(d1l, d0h, f1);

        final long over = (f2 & ~3L) + (f2 >>> 2);
        h0 = d0l + over;
        final long g = carry(d0l, over, h0);
        h1 = f1 + g;
        h2 = (f2 & 3) + carry(f1, g, h1);
    }

    /**
     * Completes the tag: reduces the accumulator fully modulo 2^130 − 5, adds {@code s} modulo
     * 2^128 and writes the 16 bytes little-endian.
     *
     * @param out    where the tag goes.
     * @param offset where in {@code out}.
     */
    public void finish(final MemorySegment out, final long offset)
    {
        out.set(ChaCha20.LONG_LE, offset, tag0());
        out.set(ChaCha20.LONG_LE, offset + 8, tag1);
    }

    /**
     * Completes the tag and compares it in constant time with 16 bytes at {@code offset}.
     *
     * @param expected the received tag.
     * @param offset   where it starts.
     * @return true when equal.
     */
    public boolean verify(final MemorySegment expected, final long offset)
    {
        final long t0 = tag0();
        final long diff = (t0 ^ expected.get(ChaCha20.LONG_LE, offset)) |
            (tag1 ^ expected.get(ChaCha20.LONG_LE, offset + 8));
        return diff == 0;
    }

    private long tag1;

    private long tag0()
    {
        // carry h2's bits above 130 once more (h2 may be up to 4 after the last block)
        long a0 = h0;
        long a1 = h1;
        long a2 = h2;
        long over = (a2 & ~3L) + (a2 >>> 2);
        a2 &= 3;
        long t = a0 + over;
        long c = carry(a0, over, t);
        a0 = t;
        t = a1 + c;
        c = carry(a1, c, t);
        a1 = t;
        a2 += c;

        // g = h + 5; if g >= 2^130 then h = g - 2^130 (select in constant time)
        final long g0 = a0 + 5;
        final long gc0 = carry(a0, 5, g0);
        final long g1 = a1 + gc0;
        final long gc1 = carry(a1, gc0, g1);
        final long g2 = a2 + gc1;
        final long mask = -(g2 >>> 2); // all ones when g >= 2^130
        a0 = (a0 & ~mask) | (g0 & mask);
        a1 = (a1 & ~mask) | (g1 & mask);

        // tag = (h + s) mod 2^128
        final long s0 = a0 + pad0;
        tag1 = a1 + pad1 + carry(a0, pad0, s0);
        h0 = 0;
        h1 = 0;
        h2 = 0;
        return s0;
    }

    /** The carry out of the unsigned addition {@code sum = x + y}: 0 or 1, without branches. */
    private static long carry(final long x, final long y, final long sum)
    {
        return ((x & y) | ((x | y) & ~sum)) >>> 63;
    }

    /**
     * Zeroes the key and the accumulator.
     */
    public void wipe()
    {
        r0 = 0;
        r1 = 0;
        s1 = 0;
        pad0 = 0;
        pad1 = 0;
        h0 = 0;
        h1 = 0;
        h2 = 0;
        tag1 = 0;
    }
}
