package io.vsnic.crypto.primitive;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector API kernels (256-bit, AVX2-sized) for ChaCha20 and Poly1305. Loaded only when
 * {@link VectorSupport#enabled()}; every method allocates nothing once JIT-compiled. Vectors
 * never cross a method boundary here: a helper that C2 compiles on its own and then declines to
 * inline would box every vector passed to it (a rotate helper did exactly that: 26 KB per call).
 *
 * <ul>
 *   <li>{@link #keystream8}: eight ChaCha20 blocks at once, one block per lane: lane {@code j} of
 *       vector {@code i} is word {@code i} of block {@code counter + j}. The vectors are stored
 *       word-major and transposed with a plain loop into block-major order ({@code keystream[16·j +
 *       i]}), so that {@link #xorBlock} reads each block with two contiguous loads. (Gathers with an
 *       index map would save the loop but fall back to allocating Java code when C2 inlines them
 *       into the callers.)</li>
 *   <li>{@link #polyBlocks}: Poly1305 over groups of four 16-byte blocks in four lanes, radix
 *       2^26 (five 26-bit limbs per lane, so that every product is a 32×32→64-bit
 *       {@code vpmuludq}; operands are masked to 32 bits so that C2 sees that). Lanes 0-3 take
 *       blocks 0, 2, 1, 3 of each group of four and multiply by r^4; the last group multiplies the
 *       lanes by r^4, r^2, r^3, r, and the lanes are summed: the same polynomial as Horner's rule
 *       one block at a time. That lane order lets two overlapping loads and a blend split a group
 *       into low and high halves ({@code at} and {@code at+24}, {@code at+8} and {@code at+32},
 *       lanes 1 and 3 from the second): no cross-lane permutes (four {@code vpermd} and two
 *       {@code vpblendvb} before, about 10 % of the kernel). The multipliers are computed once per call (masked there: C2 then
 *       still uses {@code vpmuludq}; unmasked, a 64-bit vector multiply on AVX2 costs three), the
 *       last group's powers are stored lane-ordered (plain loads, no gather), and the carries
 *       after each group run as two chains side by side (d3→d4→d0 next to d0→d1→d2, then
 *       d2→d3→d4), leaving limbs a little above 2^26 that the next products absorb.</li>
 * </ul>
 */
final class VectorKernels
{
    private static final VectorSpecies<Integer> INTS = IntVector.SPECIES_256;
    private static final VectorSpecies<Long> LONGS = LongVector.SPECIES_256;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final IntVector LANE_INDEX = IntVector.fromArray(INTS, new int[] {0, 1, 2, 3, 4, 5, 6, 7}, 0);
    /** Lanes 1 and 3: {@link #polyBlocks} takes them from the second of two overlapping loads. */
    private static final VectorMask<Long> ODD_LANES = VectorMask.fromValues(LONGS, false, true, false, true);
    /** All ones in lane 0 only: puts a broadcast accumulator limb into lane 0. */
    private static final LongVector LANE0 = LongVector.fromArray(LONGS, new long[] {-1, 0, 0, 0}, 0);
    private static final long M26 = 0x3FFFFFF;
    private static final long LOW32 = 0xFFFF_FFFFL;

    /** Words per ChaCha20 block times lanes: the size of the {@code soa} and {@code keystream} scratch. */
    static final int SOA_LENGTH = 128;
    /** Size of the {@code powers} scratch of {@link #polyBlocks}: r^2 .. r^4 in radix 2^64, then r .. r^4 in 5 limbs, lane-ordered. */
    static final int POWERS_LENGTH = 40;

    private VectorKernels()
    {
    }

    /**
     * Computes ChaCha20 blocks {@code counter .. counter+7} into {@code keystream}, block-major
     * ({@code soa} is scratch).
     */
    static void keystream8(final int[] key, final int counter, final int n0, final int n1, final int n2,
        final int[] soa, final int[] keystream)
    {
        IntVector x0 = IntVector.broadcast(INTS, ChaCha20.C0);
        IntVector x1 = IntVector.broadcast(INTS, ChaCha20.C1);
        IntVector x2 = IntVector.broadcast(INTS, ChaCha20.C2);
        IntVector x3 = IntVector.broadcast(INTS, ChaCha20.C3);
        IntVector x4 = IntVector.broadcast(INTS, key[0]);
        IntVector x5 = IntVector.broadcast(INTS, key[1]);
        IntVector x6 = IntVector.broadcast(INTS, key[2]);
        IntVector x7 = IntVector.broadcast(INTS, key[3]);
        IntVector x8 = IntVector.broadcast(INTS, key[4]);
        IntVector x9 = IntVector.broadcast(INTS, key[5]);
        IntVector x10 = IntVector.broadcast(INTS, key[6]);
        IntVector x11 = IntVector.broadcast(INTS, key[7]);
        final IntVector counters = LANE_INDEX.add(counter);
        IntVector x12 = counters;
        IntVector x13 = IntVector.broadcast(INTS, n0);
        IntVector x14 = IntVector.broadcast(INTS, n1);
        IntVector x15 = IntVector.broadcast(INTS, n2);
        for (int i = 0; i < 10; i++)
        {
            // column round
            x0 = x0.add(x4);
            x1 = x1.add(x5);
            x2 = x2.add(x6);
            x3 = x3.add(x7);
            x12 = x12.lanewise(VectorOperators.XOR, x0).lanewise(VectorOperators.ROL, 16);
            x13 = x13.lanewise(VectorOperators.XOR, x1).lanewise(VectorOperators.ROL, 16);
            x14 = x14.lanewise(VectorOperators.XOR, x2).lanewise(VectorOperators.ROL, 16);
            x15 = x15.lanewise(VectorOperators.XOR, x3).lanewise(VectorOperators.ROL, 16);
            x8 = x8.add(x12);
            x9 = x9.add(x13);
            x10 = x10.add(x14);
            x11 = x11.add(x15);
            x4 = x4.lanewise(VectorOperators.XOR, x8).lanewise(VectorOperators.ROL, 12);
            x5 = x5.lanewise(VectorOperators.XOR, x9).lanewise(VectorOperators.ROL, 12);
            x6 = x6.lanewise(VectorOperators.XOR, x10).lanewise(VectorOperators.ROL, 12);
            x7 = x7.lanewise(VectorOperators.XOR, x11).lanewise(VectorOperators.ROL, 12);
            x0 = x0.add(x4);
            x1 = x1.add(x5);
            x2 = x2.add(x6);
            x3 = x3.add(x7);
            x12 = x12.lanewise(VectorOperators.XOR, x0).lanewise(VectorOperators.ROL, 8);
            x13 = x13.lanewise(VectorOperators.XOR, x1).lanewise(VectorOperators.ROL, 8);
            x14 = x14.lanewise(VectorOperators.XOR, x2).lanewise(VectorOperators.ROL, 8);
            x15 = x15.lanewise(VectorOperators.XOR, x3).lanewise(VectorOperators.ROL, 8);
            x8 = x8.add(x12);
            x9 = x9.add(x13);
            x10 = x10.add(x14);
            x11 = x11.add(x15);
            x4 = x4.lanewise(VectorOperators.XOR, x8).lanewise(VectorOperators.ROL, 7);
            x5 = x5.lanewise(VectorOperators.XOR, x9).lanewise(VectorOperators.ROL, 7);
            x6 = x6.lanewise(VectorOperators.XOR, x10).lanewise(VectorOperators.ROL, 7);
            x7 = x7.lanewise(VectorOperators.XOR, x11).lanewise(VectorOperators.ROL, 7);
            // diagonal round
            x0 = x0.add(x5);
            x1 = x1.add(x6);
            x2 = x2.add(x7);
            x3 = x3.add(x4);
            x15 = x15.lanewise(VectorOperators.XOR, x0).lanewise(VectorOperators.ROL, 16);
            x12 = x12.lanewise(VectorOperators.XOR, x1).lanewise(VectorOperators.ROL, 16);
            x13 = x13.lanewise(VectorOperators.XOR, x2).lanewise(VectorOperators.ROL, 16);
            x14 = x14.lanewise(VectorOperators.XOR, x3).lanewise(VectorOperators.ROL, 16);
            x10 = x10.add(x15);
            x11 = x11.add(x12);
            x8 = x8.add(x13);
            x9 = x9.add(x14);
            x5 = x5.lanewise(VectorOperators.XOR, x10).lanewise(VectorOperators.ROL, 12);
            x6 = x6.lanewise(VectorOperators.XOR, x11).lanewise(VectorOperators.ROL, 12);
            x7 = x7.lanewise(VectorOperators.XOR, x8).lanewise(VectorOperators.ROL, 12);
            x4 = x4.lanewise(VectorOperators.XOR, x9).lanewise(VectorOperators.ROL, 12);
            x0 = x0.add(x5);
            x1 = x1.add(x6);
            x2 = x2.add(x7);
            x3 = x3.add(x4);
            x15 = x15.lanewise(VectorOperators.XOR, x0).lanewise(VectorOperators.ROL, 8);
            x12 = x12.lanewise(VectorOperators.XOR, x1).lanewise(VectorOperators.ROL, 8);
            x13 = x13.lanewise(VectorOperators.XOR, x2).lanewise(VectorOperators.ROL, 8);
            x14 = x14.lanewise(VectorOperators.XOR, x3).lanewise(VectorOperators.ROL, 8);
            x10 = x10.add(x15);
            x11 = x11.add(x12);
            x8 = x8.add(x13);
            x9 = x9.add(x14);
            x5 = x5.lanewise(VectorOperators.XOR, x10).lanewise(VectorOperators.ROL, 7);
            x6 = x6.lanewise(VectorOperators.XOR, x11).lanewise(VectorOperators.ROL, 7);
            x7 = x7.lanewise(VectorOperators.XOR, x8).lanewise(VectorOperators.ROL, 7);
            x4 = x4.lanewise(VectorOperators.XOR, x9).lanewise(VectorOperators.ROL, 7);
        }
        x0.add(ChaCha20.C0).intoArray(soa, 0);
        x1.add(ChaCha20.C1).intoArray(soa, 8);
        x2.add(ChaCha20.C2).intoArray(soa, 16);
        x3.add(ChaCha20.C3).intoArray(soa, 24);
        x4.add(key[0]).intoArray(soa, 32);
        x5.add(key[1]).intoArray(soa, 40);
        x6.add(key[2]).intoArray(soa, 48);
        x7.add(key[3]).intoArray(soa, 56);
        x8.add(key[4]).intoArray(soa, 64);
        x9.add(key[5]).intoArray(soa, 72);
        x10.add(key[6]).intoArray(soa, 80);
        x11.add(key[7]).intoArray(soa, 88);
        x12.add(counters).intoArray(soa, 96);
        x13.add(n0).intoArray(soa, 104);
        x14.add(n1).intoArray(soa, 112);
        x15.add(n2).intoArray(soa, 120);
        for (int block = 0; block < 8; block++)
        {
            for (int word = 0; word < 16; word++)
            {
                keystream[16 * block + word] = soa[8 * word + block];
            }
        }
    }

    /**
     * XORs keystream block {@code lane} (0-7) of {@code keystream} into 64 bytes of {@code data}.
     */
    static void xorBlock(final int[] keystream, final int lane, final MemorySegment data, final long at)
    {
        final IntVector low = IntVector.fromArray(INTS, keystream, 16 * lane);
        final IntVector high = IntVector.fromArray(INTS, keystream, 16 * lane + 8);
        IntVector.fromMemorySegment(INTS, data, at, LE).lanewise(VectorOperators.XOR, low)
            .intoMemorySegment(data, at, LE);
        IntVector.fromMemorySegment(INTS, data, at + 32, LE).lanewise(VectorOperators.XOR, high)
            .intoMemorySegment(data, at + 32, LE);
    }

    /**
     * XORs the first {@code length} (below 64) bytes of keystream block {@code lane} into data.
     */
    static void xorPartialBlock(final int[] keystream, final int lane, final MemorySegment data, final long at,
        final int length)
    {
        int i = 0;
        for (; i + 4 <= length; i += 4)
        {
            data.set(ChaCha20.INT_LE, at + i, data.get(ChaCha20.INT_LE, at + i) ^ keystream[16 * lane + (i >> 2)]);
        }
        for (; i < length; i++)
        {
            final byte k = (byte)(keystream[16 * lane + (i >> 2)] >>> (8 * (i & 3)));
            data.set(ValueLayout.JAVA_BYTE, at + i, (byte)(data.get(ValueLayout.JAVA_BYTE, at + i) ^ k));
        }
    }

    /**
     * Word {@code word} of keystream block {@code lane}.
     */
    static int word(final int[] keystream, final int lane, final int word)
    {
        return keystream[16 * lane + word];
    }

    /**
     * Absorbs {@code length} bytes (a multiple of 64, at least 64) of full 16-byte blocks into the
     * Poly1305 state {@code poly}, with the same result as absorbing them one by one.
     *
     * @param powers scratch of {@link #POWERS_LENGTH} longs.
     */
    static void polyBlocks(final Poly1305 poly, final MemorySegment data, final long offset, final long length,
        final long[] powers)
    {
        // r^2, r^3, r^4 (radix 2^64) into powers[0..8], then r .. r^4 in radix 2^26, lane-ordered
        // for the last group (lanes 0-3 hold blocks 0, 2, 1, 3 of a group, so they take r^4, r^2,
        // r^3, r): powers[20 + 4·limb + lane]
        poly.powersOfR(powers);
        limbs(powers[6], powers[7], powers[8], powers, 0);
        limbs(powers[0], powers[1], powers[2], powers, 1);
        limbs(powers[3], powers[4], powers[5], powers, 2);
        limbs(poly.r0(), poly.r1(), 0, powers, 3);

        // the accumulator so far goes into lane 0
        final long h0 = poly.h0();
        final long h1 = poly.h1();
        final long h2 = poly.h2();
        LongVector a0 = LongVector.broadcast(LONGS, h0 & M26).and(LANE0);
        LongVector a1 = LongVector.broadcast(LONGS, (h0 >>> 26) & M26).and(LANE0);
        LongVector a2 = LongVector.broadcast(LONGS, ((h0 >>> 52) | (h1 << 12)) & M26).and(LANE0);
        LongVector a3 = LongVector.broadcast(LONGS, (h1 >>> 14) & M26).and(LANE0);
        LongVector a4 = LongVector.broadcast(LONGS, (h1 >>> 40) | (h2 << 24)).and(LANE0);

        // every group but the last: all lanes times r^4, the constants computed once. Every
        // multiplication operand is masked to 32 bits (also the hoisted ones), which is what lets C2
        // emit one vpmuludq instead of a 64×64-bit multiplication built from three.
        final LongVector m0 = LongVector.broadcast(LONGS, powers[LANE_POWERS]).and(LOW32);
        final LongVector m1 = LongVector.broadcast(LONGS, powers[LANE_POWERS + 4]).and(LOW32);
        final LongVector m2 = LongVector.broadcast(LONGS, powers[LANE_POWERS + 8]).and(LOW32);
        final LongVector m3 = LongVector.broadcast(LONGS, powers[LANE_POWERS + 12]).and(LOW32);
        final LongVector m4 = LongVector.broadcast(LONGS, powers[LANE_POWERS + 16]).and(LOW32);
        final LongVector s1 = LongVector.broadcast(LONGS, 5 * powers[LANE_POWERS + 4]).and(LOW32);
        final LongVector s2 = LongVector.broadcast(LONGS, 5 * powers[LANE_POWERS + 8]).and(LOW32);
        final LongVector s3 = LongVector.broadcast(LONGS, 5 * powers[LANE_POWERS + 12]).and(LOW32);
        final LongVector s4 = LongVector.broadcast(LONGS, 5 * powers[LANE_POWERS + 16]).and(LOW32);
        final LongVector hibit = LongVector.broadcast(LONGS, 1L << 24);
        final long last = offset + length - 64;
        for (long at = offset; at < last; at += 64)
        {
            final LongVector lo = LongVector.fromMemorySegment(LONGS, data, at, LE)
                .blend(LongVector.fromMemorySegment(LONGS, data, at + 24, LE), ODD_LANES);
            final LongVector hi = LongVector.fromMemorySegment(LONGS, data, at + 8, LE)
                .blend(LongVector.fromMemorySegment(LONGS, data, at + 32, LE), ODD_LANES);
            final LongVector b0 = a0.add(lo.and(M26)).and(LOW32);
            final LongVector b1 = a1.add(lo.lanewise(VectorOperators.LSHR, 26).and(M26)).and(LOW32);
            final LongVector b2 = a2.add(lo.lanewise(VectorOperators.LSHR, 52)
                .or(hi.lanewise(VectorOperators.LSHL, 12)).and(M26)).and(LOW32);
            final LongVector b3 = a3.add(hi.lanewise(VectorOperators.LSHR, 14).and(M26)).and(LOW32);
            final LongVector b4 = a4.add(hi.lanewise(VectorOperators.LSHR, 40).or(hibit)).and(LOW32);
            final LongVector d0 = b0.mul(m0).add(b1.mul(s4)).add(b2.mul(s3).add(b3.mul(s2))).add(b4.mul(s1));
            final LongVector d1 = b0.mul(m1).add(b1.mul(m0)).add(b2.mul(s4).add(b3.mul(s3))).add(b4.mul(s2));
            final LongVector d2 = b0.mul(m2).add(b1.mul(m1)).add(b2.mul(m0).add(b3.mul(s4))).add(b4.mul(s3));
            final LongVector d3 = b0.mul(m3).add(b1.mul(m2)).add(b2.mul(m1).add(b3.mul(m0))).add(b4.mul(s4));
            final LongVector d4 = b0.mul(m4).add(b1.mul(m3)).add(b2.mul(m2).add(b3.mul(m1))).add(b4.mul(m0));
            // two carry chains side by side (d3 → d4 → d0 and d0 → d1 → d2 → d3 → d4), and ×5 as a
            // shift and an add: limbs end below 2^26 except a1 and a4 (below 2^26 + 2^11), which the
            // next products absorb (every product stays below 2^57, every sum of five below 2^60)
            LongVector c = d3.lanewise(VectorOperators.LSHR, 26);
            LongVector e = d0.lanewise(VectorOperators.LSHR, 26);
            LongVector x3 = d3.and(M26);
            LongVector x0 = d0.and(M26);
            final LongVector x4 = d4.add(c);
            LongVector x1 = d1.add(e);
            c = x4.lanewise(VectorOperators.LSHR, 26);
            e = x1.lanewise(VectorOperators.LSHR, 26);
            a4 = x4.and(M26);
            x1 = x1.and(M26);
            x0 = x0.add(c).add(c.lanewise(VectorOperators.LSHL, 2));
            final LongVector x2 = d2.add(e);
            c = x2.lanewise(VectorOperators.LSHR, 26);
            e = x0.lanewise(VectorOperators.LSHR, 26);
            a2 = x2.and(M26);
            a0 = x0.and(M26);
            x3 = x3.add(c);
            a1 = x1.add(e);
            c = x3.lanewise(VectorOperators.LSHR, 26);
            a3 = x3.and(M26);
            a4 = a4.add(c);
        }

        // the last group: lanes times r^4, r^2, r^3, r (lane-ordered powers: plain loads, no gather), then
        // the lanes summed: the same polynomial as Horner's rule one block at a time
        final LongVector lo = LongVector.fromMemorySegment(LONGS, data, last, LE)
            .blend(LongVector.fromMemorySegment(LONGS, data, last + 24, LE), ODD_LANES);
        final LongVector hi = LongVector.fromMemorySegment(LONGS, data, last + 8, LE)
            .blend(LongVector.fromMemorySegment(LONGS, data, last + 32, LE), ODD_LANES);
        final LongVector b0 = a0.add(lo.and(M26)).and(LOW32);
        final LongVector b1 = a1.add(lo.lanewise(VectorOperators.LSHR, 26).and(M26)).and(LOW32);
        final LongVector b2 = a2.add(lo.lanewise(VectorOperators.LSHR, 52)
            .or(hi.lanewise(VectorOperators.LSHL, 12)).and(M26)).and(LOW32);
        final LongVector b3 = a3.add(hi.lanewise(VectorOperators.LSHR, 14).and(M26)).and(LOW32);
        final LongVector b4 = a4.add(hi.lanewise(VectorOperators.LSHR, 40).or(hibit)).and(LOW32);
        final LongVector n0 = LongVector.fromArray(LONGS, powers, LANE_POWERS).and(LOW32);
        final LongVector n1 = LongVector.fromArray(LONGS, powers, LANE_POWERS + 4).and(LOW32);
        final LongVector n2 = LongVector.fromArray(LONGS, powers, LANE_POWERS + 8).and(LOW32);
        final LongVector n3 = LongVector.fromArray(LONGS, powers, LANE_POWERS + 12).and(LOW32);
        final LongVector n4 = LongVector.fromArray(LONGS, powers, LANE_POWERS + 16).and(LOW32);
        final LongVector t1 = n1.add(n1.lanewise(VectorOperators.LSHL, 2)).and(LOW32);
        final LongVector t2 = n2.add(n2.lanewise(VectorOperators.LSHL, 2)).and(LOW32);
        final LongVector t3 = n3.add(n3.lanewise(VectorOperators.LSHL, 2)).and(LOW32);
        final LongVector t4 = n4.add(n4.lanewise(VectorOperators.LSHL, 2)).and(LOW32);
        final LongVector d0 = b0.mul(n0).add(b1.mul(t4)).add(b2.mul(t3).add(b3.mul(t2))).add(b4.mul(t1));
        final LongVector d1 = b0.mul(n1).add(b1.mul(n0)).add(b2.mul(t4).add(b3.mul(t3))).add(b4.mul(t2));
        final LongVector d2 = b0.mul(n2).add(b1.mul(n1)).add(b2.mul(n0).add(b3.mul(t4))).add(b4.mul(t3));
        final LongVector d3 = b0.mul(n3).add(b1.mul(n2)).add(b2.mul(n1).add(b3.mul(n0))).add(b4.mul(t4));
        final LongVector d4 = b0.mul(n4).add(b1.mul(n3)).add(b2.mul(n2).add(b3.mul(n1))).add(b4.mul(n0));

        // sum the lanes (each below 2^60: the sum fits), carry fully, and hand the accumulator back in radix 2^64
        long l0 = d0.reduceLanes(VectorOperators.ADD);
        long l1 = d1.reduceLanes(VectorOperators.ADD);
        long l2 = d2.reduceLanes(VectorOperators.ADD);
        long l3 = d3.reduceLanes(VectorOperators.ADD);
        long l4 = d4.reduceLanes(VectorOperators.ADD);
        long c = l0 >>> 26;
        l0 &= M26;
        l1 += c;
        c = l1 >>> 26;
        l1 &= M26;
        l2 += c;
        c = l2 >>> 26;
        l2 &= M26;
        l3 += c;
        c = l3 >>> 26;
        l3 &= M26;
        l4 += c;
        c = l4 >>> 26;
        l4 &= M26;
        l0 += c * 5;
        c = l0 >>> 26;
        l0 &= M26;
        l1 += c;
        // once more up to l4, so that l0-l3 are below 2^26 and the limbs do not overlap below
        c = l1 >>> 26;
        l1 &= M26;
        l2 += c;
        c = l2 >>> 26;
        l2 &= M26;
        l3 += c;
        c = l3 >>> 26;
        l3 &= M26;
        l4 += c;
        poly.setAccumulator(l0 | (l1 << 26) | (l2 << 52), (l2 >>> 12) | (l3 << 14) | (l4 << 40), l4 >>> 24);
    }

    /** Where {@link #polyBlocks} keeps the lane-ordered powers in its scratch. */
    private static final int LANE_POWERS = 20;

    /**
     * Splits {@code w0 + w1·2^64 + w2·2^128} (partially reduced: {@code w2} at most 4) into five
     * 26-bit limbs (the top one below 2^26 + 2^24) at {@code out[20 + 4·limb + lane]}.
     */
    private static void limbs(final long w0, final long w1, final long w2, final long[] out, final int lane)
    {
        out[LANE_POWERS + lane] = w0 & M26;
        out[LANE_POWERS + 4 + lane] = (w0 >>> 26) & M26;
        out[LANE_POWERS + 8 + lane] = ((w0 >>> 52) | (w1 << 12)) & M26;
        out[LANE_POWERS + 12 + lane] = (w1 >>> 14) & M26;
        out[LANE_POWERS + 16 + lane] = (w1 >>> 40) | (w2 << 24);
    }
}
