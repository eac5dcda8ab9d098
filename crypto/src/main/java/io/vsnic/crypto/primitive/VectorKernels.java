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
 * Vector API kernels for ChaCha20 and Poly1305, 256 bits wide (AVX2) or 512 bits wide (AVX-512),
 * fixed when the class loads ({@link VectorSupport#requestedBits()}, else the widest the CPU
 * runs natively): every species here is a {@code static final} constant, so C2 compiles one
 * width only. Loaded only when {@link VectorSupport#enabled()}; every method allocates nothing
 * once JIT-compiled. Vectors never cross a method boundary here: a helper that C2 compiles on its
 * own and then declines to inline would box every vector passed to it (a rotate helper did
 * exactly that: 26 KB per call).
 *
 * <ul>
 *   <li>{@link #keystream}: {@link #BLOCKS} (8 or 16) ChaCha20 blocks at once, one block per
 *       lane: lane {@code j} of vector {@code i} is word {@code i} of block {@code counter + j}.
 *       The vectors are stored word-major and transposed with a plain loop into block-major
 *       order ({@code keystream[16·j + i]}), so that {@link #xorBlock} reads each block with
 *       contiguous loads. (Gathers with an index map would save the loop but fall back to
 *       allocating Java code when C2 inlines them into the callers.) At 512 bits a rotate is one
 *       {@code vprold} and the sixteen state vectors fit in the 32 registers.</li>
 *   <li>{@link #polyBlocks}: Poly1305 over groups of {@link #POLY_LANES} (4 or 8) 16-byte
 *       blocks, one block per lane, radix 2^26 (five 26-bit limbs per lane, so that every product
 *       is a 32×32→64-bit {@code vpmuludq}; operands are masked to 32 bits so that C2 sees that).
 *       Lane {@code 2i} takes block {@code i} of each group and lane {@code 2i+1} block
 *       {@code i + L/2} (L the lane count: blocks 0, 2, 1, 3 in four lanes, 0, 4, 1, 5, 2, 6, 3,
 *       7 in eight); every group but the last multiplies all lanes by r^L, the last multiplies
 *       block {@code j} by r^(L−j), and the lanes are summed: the same polynomial as Horner's rule
 *       one block at a time. That lane order lets two overlapping loads and a blend split a group
 *       into low and high halves ({@code at} and {@code at+8(L−1)}, {@code at+8} and
 *       {@code at+8L}, the odd lanes from the second): no cross-lane permutes (four
 *       {@code vpermd} and two {@code vpblendvb} before, about 10 % of the kernel). The
 *       multipliers are computed once per call (masked there: C2 then still uses
 *       {@code vpmuludq}; unmasked, a 64-bit vector multiply on AVX2 costs three), the last
 *       group's powers are stored lane-ordered (plain loads, no gather), and the carries after
 *       each group run as two chains side by side (d3→d4→d0 next to d0→d1→d2, then d2→d3→d4),
 *       leaving limbs a little above 2^26 that the next products absorb.</li>
 * </ul>
 */
final class VectorKernels
{
    /** Vector width in bits: 256 or 512. */
    static final int BITS = VectorSupport.requestedBits() != 0 ? VectorSupport.requestedBits()
        : IntVector.SPECIES_PREFERRED.vectorBitSize() >= 512 ? 512 : 256;
    private static final VectorSpecies<Integer> INTS = BITS == 512 ? IntVector.SPECIES_512 : IntVector.SPECIES_256;
    private static final VectorSpecies<Long> LONGS = BITS == 512 ? LongVector.SPECIES_512 : LongVector.SPECIES_256;
    /** ChaCha20 blocks per {@link #keystream} pass: 8 or 16. */
    static final int BLOCKS = INTS.length();
    /** Poly1305 blocks per group of {@link #polyBlocks}: 4 or 8. */
    static final int POLY_LANES = LONGS.length();
    /** Bytes per group of {@link #polyBlocks}: 64 or 128. */
    static final int POLY_GROUP_BYTES = 16 * POLY_LANES;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final IntVector LANE_INDEX = IntVector.zero(INTS).addIndex(1);
    /*
     * The 16×16 transpose of a 512-bit keystream pass: LOW_b and HIGH_b pick, from two vectors whose word
     * numbers differ in bit b, the lanes whose block number has bit b clear (LOW_b) or set (HIGH_b).
     * Index i < 16 is lane i of the first vector, 16 + i lane i of the second (IntVector.selectFrom of two).
     */
    private static final IntVector LOW_0 = permuteIndex(0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30);
    private static final IntVector HIGH_0 = permuteIndex(1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31);
    private static final IntVector LOW_1 = permuteIndex(0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29);
    private static final IntVector HIGH_1 = permuteIndex(2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31);
    private static final IntVector LOW_2 = permuteIndex(0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27);
    private static final IntVector HIGH_2 = permuteIndex(4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31);
    private static final IntVector LOW_3 = permuteIndex(0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
    private static final IntVector HIGH_3 = permuteIndex(8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
    /** The odd lanes: {@link #polyBlocks} takes them from the second of two overlapping loads. */
    private static final VectorMask<Long> ODD_LANES = VectorMask.fromLong(LONGS, 0xAAAA_AAAA_AAAA_AAAAL);
    /** All ones in lane 0 only: puts a broadcast accumulator limb into lane 0. */
    private static final LongVector LANE0 = LongVector.zero(LONGS).withLane(0, -1L);
    /** Offsets of the second loads that {@link #polyBlocks} blends into a group's low and high halves. */
    private static final int SECOND_LOW = 8 * (POLY_LANES - 1);
    private static final int SECOND_HIGH = 8 * POLY_LANES;
    private static final long M26 = 0x3FFFFFF;
    private static final long LOW32 = 0xFFFF_FFFFL;

    /** Words per ChaCha20 block times lanes: the size of the {@code soa} and {@code keystream} scratch. */
    static final int SOA_LENGTH = 16 * BLOCKS;
    /** Where {@link #polyBlocks} keeps the lane-ordered powers in its scratch, after r^2 .. r^L in radix 2^64. */
    private static final int LANE_POWERS = 3 * (POLY_LANES - 1);
    /** Size of the {@code powers} scratch of {@link #polyBlocks}: r^2 .. r^L in radix 2^64, then r .. r^L in 5 limbs, lane-ordered. */
    static final int POWERS_LENGTH = LANE_POWERS + 5 * POLY_LANES;

    private VectorKernels()
    {
    }

    /** A permute index vector for the 512-bit transpose (unused, and never touched, at 256 bits). */
    private static IntVector permuteIndex(final int... lanes)
    {
        return BLOCKS == 16 ? IntVector.fromArray(INTS, lanes, 0) : IntVector.zero(INTS);
    }

    /**
     * Computes {@link #BLOCKS} ChaCha20 blocks into {@code keystream}, block-major ({@code soa} is
     * scratch): lanes below {@code split} take blocks {@code counter, counter+1, ...} of the nonce
     * {@code (n0, n1, n2)}, and lanes from {@code split} on blocks {@code 0, 1, ...} of the nonce
     * {@code (n0, n1b, n2b)} (the next message's, so that a message's last pass leaves no lane
     * idle; {@code split = BLOCKS} for one message only).
     */
    static void keystream(final int[] key, final int counter, final int n0, final int n1, final int n2,
        final int split, final int n1b, final int n2b, final int[] soa, final int[] keystream)
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
        final VectorMask<Integer> next = LANE_INDEX.compare(VectorOperators.GE, split);
        final IntVector counters = LANE_INDEX.add(counter).blend(LANE_INDEX.sub(split), next);
        final IntVector nonce1 = IntVector.broadcast(INTS, n1).blend(n1b, next);
        final IntVector nonce2 = IntVector.broadcast(INTS, n2).blend(n2b, next);
        IntVector x12 = counters;
        IntVector x13 = IntVector.broadcast(INTS, n0);
        IntVector x14 = nonce1;
        IntVector x15 = nonce2;
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
        if (BLOCKS == 16)
        {
            // in registers: four stages of two-table permutes (vpermi2d), stage b swapping bit b of
            // the word number (which vector) with bit b of the block number (which lane)
            final IntVector a0 = x0.add(ChaCha20.C0);
            final IntVector a1 = x1.add(ChaCha20.C1);
            final IntVector a2 = x2.add(ChaCha20.C2);
            final IntVector a3 = x3.add(ChaCha20.C3);
            final IntVector a4 = x4.add(key[0]);
            final IntVector a5 = x5.add(key[1]);
            final IntVector a6 = x6.add(key[2]);
            final IntVector a7 = x7.add(key[3]);
            final IntVector a8 = x8.add(key[4]);
            final IntVector a9 = x9.add(key[5]);
            final IntVector a10 = x10.add(key[6]);
            final IntVector a11 = x11.add(key[7]);
            final IntVector a12 = x12.add(counters);
            final IntVector a13 = x13.add(n0);
            final IntVector a14 = x14.add(nonce1);
            final IntVector a15 = x15.add(nonce2);
            final IntVector b0 = LOW_0.selectFrom(a0, a1);
            final IntVector b1 = HIGH_0.selectFrom(a0, a1);
            final IntVector b2 = LOW_0.selectFrom(a2, a3);
            final IntVector b3 = HIGH_0.selectFrom(a2, a3);
            final IntVector b4 = LOW_0.selectFrom(a4, a5);
            final IntVector b5 = HIGH_0.selectFrom(a4, a5);
            final IntVector b6 = LOW_0.selectFrom(a6, a7);
            final IntVector b7 = HIGH_0.selectFrom(a6, a7);
            final IntVector b8 = LOW_0.selectFrom(a8, a9);
            final IntVector b9 = HIGH_0.selectFrom(a8, a9);
            final IntVector b10 = LOW_0.selectFrom(a10, a11);
            final IntVector b11 = HIGH_0.selectFrom(a10, a11);
            final IntVector b12 = LOW_0.selectFrom(a12, a13);
            final IntVector b13 = HIGH_0.selectFrom(a12, a13);
            final IntVector b14 = LOW_0.selectFrom(a14, a15);
            final IntVector b15 = HIGH_0.selectFrom(a14, a15);
            final IntVector c0 = LOW_1.selectFrom(b0, b2);
            final IntVector c2 = HIGH_1.selectFrom(b0, b2);
            final IntVector c1 = LOW_1.selectFrom(b1, b3);
            final IntVector c3 = HIGH_1.selectFrom(b1, b3);
            final IntVector c4 = LOW_1.selectFrom(b4, b6);
            final IntVector c6 = HIGH_1.selectFrom(b4, b6);
            final IntVector c5 = LOW_1.selectFrom(b5, b7);
            final IntVector c7 = HIGH_1.selectFrom(b5, b7);
            final IntVector c8 = LOW_1.selectFrom(b8, b10);
            final IntVector c10 = HIGH_1.selectFrom(b8, b10);
            final IntVector c9 = LOW_1.selectFrom(b9, b11);
            final IntVector c11 = HIGH_1.selectFrom(b9, b11);
            final IntVector c12 = LOW_1.selectFrom(b12, b14);
            final IntVector c14 = HIGH_1.selectFrom(b12, b14);
            final IntVector c13 = LOW_1.selectFrom(b13, b15);
            final IntVector c15 = HIGH_1.selectFrom(b13, b15);
            final IntVector d0 = LOW_2.selectFrom(c0, c4);
            final IntVector d4 = HIGH_2.selectFrom(c0, c4);
            final IntVector d1 = LOW_2.selectFrom(c1, c5);
            final IntVector d5 = HIGH_2.selectFrom(c1, c5);
            final IntVector d2 = LOW_2.selectFrom(c2, c6);
            final IntVector d6 = HIGH_2.selectFrom(c2, c6);
            final IntVector d3 = LOW_2.selectFrom(c3, c7);
            final IntVector d7 = HIGH_2.selectFrom(c3, c7);
            final IntVector d8 = LOW_2.selectFrom(c8, c12);
            final IntVector d12 = HIGH_2.selectFrom(c8, c12);
            final IntVector d9 = LOW_2.selectFrom(c9, c13);
            final IntVector d13 = HIGH_2.selectFrom(c9, c13);
            final IntVector d10 = LOW_2.selectFrom(c10, c14);
            final IntVector d14 = HIGH_2.selectFrom(c10, c14);
            final IntVector d11 = LOW_2.selectFrom(c11, c15);
            final IntVector d15 = HIGH_2.selectFrom(c11, c15);
            final IntVector e0 = LOW_3.selectFrom(d0, d8);
            final IntVector e8 = HIGH_3.selectFrom(d0, d8);
            final IntVector e1 = LOW_3.selectFrom(d1, d9);
            final IntVector e9 = HIGH_3.selectFrom(d1, d9);
            final IntVector e2 = LOW_3.selectFrom(d2, d10);
            final IntVector e10 = HIGH_3.selectFrom(d2, d10);
            final IntVector e3 = LOW_3.selectFrom(d3, d11);
            final IntVector e11 = HIGH_3.selectFrom(d3, d11);
            final IntVector e4 = LOW_3.selectFrom(d4, d12);
            final IntVector e12 = HIGH_3.selectFrom(d4, d12);
            final IntVector e5 = LOW_3.selectFrom(d5, d13);
            final IntVector e13 = HIGH_3.selectFrom(d5, d13);
            final IntVector e6 = LOW_3.selectFrom(d6, d14);
            final IntVector e14 = HIGH_3.selectFrom(d6, d14);
            final IntVector e7 = LOW_3.selectFrom(d7, d15);
            final IntVector e15 = HIGH_3.selectFrom(d7, d15);
            e0.intoArray(keystream, 0);
            e1.intoArray(keystream, 16);
            e2.intoArray(keystream, 32);
            e3.intoArray(keystream, 48);
            e4.intoArray(keystream, 64);
            e5.intoArray(keystream, 80);
            e6.intoArray(keystream, 96);
            e7.intoArray(keystream, 112);
            e8.intoArray(keystream, 128);
            e9.intoArray(keystream, 144);
            e10.intoArray(keystream, 160);
            e11.intoArray(keystream, 176);
            e12.intoArray(keystream, 192);
            e13.intoArray(keystream, 208);
            e14.intoArray(keystream, 224);
            e15.intoArray(keystream, 240);
            return;
        }
        x0.add(ChaCha20.C0).intoArray(soa, 0);
        x1.add(ChaCha20.C1).intoArray(soa, BLOCKS);
        x2.add(ChaCha20.C2).intoArray(soa, 2 * BLOCKS);
        x3.add(ChaCha20.C3).intoArray(soa, 3 * BLOCKS);
        x4.add(key[0]).intoArray(soa, 4 * BLOCKS);
        x5.add(key[1]).intoArray(soa, 5 * BLOCKS);
        x6.add(key[2]).intoArray(soa, 6 * BLOCKS);
        x7.add(key[3]).intoArray(soa, 7 * BLOCKS);
        x8.add(key[4]).intoArray(soa, 8 * BLOCKS);
        x9.add(key[5]).intoArray(soa, 9 * BLOCKS);
        x10.add(key[6]).intoArray(soa, 10 * BLOCKS);
        x11.add(key[7]).intoArray(soa, 11 * BLOCKS);
        x12.add(counters).intoArray(soa, 12 * BLOCKS);
        x13.add(n0).intoArray(soa, 13 * BLOCKS);
        x14.add(nonce1).intoArray(soa, 14 * BLOCKS);
        x15.add(nonce2).intoArray(soa, 15 * BLOCKS);
        for (int block = 0; block < BLOCKS; block++)
        {
            for (int word = 0; word < 16; word++)
            {
                keystream[16 * block + word] = soa[BLOCKS * word + block];
            }
        }
    }

    /**
     * XORs keystream block {@code lane} (0 to {@link #BLOCKS}−1) of {@code keystream} into 64 bytes
     * of {@code data}: one vector at 512 bits, two at 256.
     */
    static void xorBlock(final int[] keystream, final int lane, final MemorySegment data, final long at)
    {
        if (BLOCKS == 16)
        {
            IntVector.fromMemorySegment(INTS, data, at, LE)
                .lanewise(VectorOperators.XOR, IntVector.fromArray(INTS, keystream, 16 * lane))
                .intoMemorySegment(data, at, LE);
        }
        else
        {
            final IntVector low = IntVector.fromArray(INTS, keystream, 16 * lane);
            final IntVector high = IntVector.fromArray(INTS, keystream, 16 * lane + 8);
            IntVector.fromMemorySegment(INTS, data, at, LE).lanewise(VectorOperators.XOR, low)
                .intoMemorySegment(data, at, LE);
            IntVector.fromMemorySegment(INTS, data, at + 32, LE).lanewise(VectorOperators.XOR, high)
                .intoMemorySegment(data, at + 32, LE);
        }
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
     * Absorbs {@code length} bytes (a multiple of {@link #POLY_GROUP_BYTES}, at least one group) of
     * full 16-byte blocks into the Poly1305 state {@code poly}, with the same result as absorbing
     * them one by one.
     *
     * @param powers scratch of {@link #POWERS_LENGTH} longs.
     */
    static void polyBlocks(final Poly1305 poly, final MemorySegment data, final long offset, final long length,
        final long[] powers)
    {
        // r^2 .. r^L (radix 2^64) into powers[0 .. 3(L-1)), then r .. r^L in radix 2^26, lane-ordered
        // for the last group (lane 2i holds block i, lane 2i+1 block i + L/2; block j takes r^(L-j)):
        // powers[LANE_POWERS + L·limb + lane]
        poly.powersOfR(powers, POLY_LANES);
        for (int block = 0; block < POLY_LANES; block++)
        {
            final int lane = block < POLY_LANES / 2 ? 2 * block : 2 * (block - POLY_LANES / 2) + 1;
            final int k = POLY_LANES - block;
            if (k == 1)
            {
                limbs(poly.r0(), poly.r1(), 0, powers, lane);
            }
            else
            {
                limbs(powers[3 * (k - 2)], powers[3 * (k - 2) + 1], powers[3 * (k - 2) + 2], powers, lane);
            }
        }

        // the accumulator so far goes into lane 0
        final long h0 = poly.h0();
        final long h1 = poly.h1();
        final long h2 = poly.h2();
        LongVector a0 = LongVector.broadcast(LONGS, h0 & M26).and(LANE0);
        LongVector a1 = LongVector.broadcast(LONGS, (h0 >>> 26) & M26).and(LANE0);
        LongVector a2 = LongVector.broadcast(LONGS, ((h0 >>> 52) | (h1 << 12)) & M26).and(LANE0);
        LongVector a3 = LongVector.broadcast(LONGS, (h1 >>> 14) & M26).and(LANE0);
        LongVector a4 = LongVector.broadcast(LONGS, (h1 >>> 40) | (h2 << 24)).and(LANE0);

        // every group but the last: all lanes times r^L, the constants computed once. Every
        // multiplication operand is masked to 32 bits (also the hoisted ones), which is what lets C2
        // emit one vpmuludq instead of a 64×64-bit multiplication built from three.
        final LongVector m0 = LongVector.broadcast(LONGS, powers[LANE_POWERS]).and(LOW32);
        final LongVector m1 = LongVector.broadcast(LONGS, powers[LANE_POWERS + POLY_LANES]).and(LOW32);
        final LongVector m2 = LongVector.broadcast(LONGS, powers[LANE_POWERS + 2 * POLY_LANES]).and(LOW32);
        final LongVector m3 = LongVector.broadcast(LONGS, powers[LANE_POWERS + 3 * POLY_LANES]).and(LOW32);
        final LongVector m4 = LongVector.broadcast(LONGS, powers[LANE_POWERS + 4 * POLY_LANES]).and(LOW32);
        final LongVector s1 = LongVector.broadcast(LONGS, 5 * powers[LANE_POWERS + POLY_LANES]).and(LOW32);
        final LongVector s2 = LongVector.broadcast(LONGS, 5 * powers[LANE_POWERS + 2 * POLY_LANES]).and(LOW32);
        final LongVector s3 = LongVector.broadcast(LONGS, 5 * powers[LANE_POWERS + 3 * POLY_LANES]).and(LOW32);
        final LongVector s4 = LongVector.broadcast(LONGS, 5 * powers[LANE_POWERS + 4 * POLY_LANES]).and(LOW32);
        final LongVector hibit = LongVector.broadcast(LONGS, 1L << 24);
        final long last = offset + length - POLY_GROUP_BYTES;
        for (long at = offset; at < last; at += POLY_GROUP_BYTES)
        {
            final LongVector lo = LongVector.fromMemorySegment(LONGS, data, at, LE)
                .blend(LongVector.fromMemorySegment(LONGS, data, at + SECOND_LOW, LE), ODD_LANES);
            final LongVector hi = LongVector.fromMemorySegment(LONGS, data, at + 8, LE)
                .blend(LongVector.fromMemorySegment(LONGS, data, at + SECOND_HIGH, LE), ODD_LANES);
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

        // the last group: block j times r^(L-j) (lane-ordered powers: plain loads, no gather), then
        // the lanes summed: the same polynomial as Horner's rule one block at a time
        final LongVector lo = LongVector.fromMemorySegment(LONGS, data, last, LE)
            .blend(LongVector.fromMemorySegment(LONGS, data, last + SECOND_LOW, LE), ODD_LANES);
        final LongVector hi = LongVector.fromMemorySegment(LONGS, data, last + 8, LE)
            .blend(LongVector.fromMemorySegment(LONGS, data, last + SECOND_HIGH, LE), ODD_LANES);
        final LongVector b0 = a0.add(lo.and(M26)).and(LOW32);
        final LongVector b1 = a1.add(lo.lanewise(VectorOperators.LSHR, 26).and(M26)).and(LOW32);
        final LongVector b2 = a2.add(lo.lanewise(VectorOperators.LSHR, 52)
            .or(hi.lanewise(VectorOperators.LSHL, 12)).and(M26)).and(LOW32);
        final LongVector b3 = a3.add(hi.lanewise(VectorOperators.LSHR, 14).and(M26)).and(LOW32);
        final LongVector b4 = a4.add(hi.lanewise(VectorOperators.LSHR, 40).or(hibit)).and(LOW32);
        final LongVector n0 = LongVector.fromArray(LONGS, powers, LANE_POWERS).and(LOW32);
        final LongVector n1 = LongVector.fromArray(LONGS, powers, LANE_POWERS + POLY_LANES).and(LOW32);
        final LongVector n2 = LongVector.fromArray(LONGS, powers, LANE_POWERS + 2 * POLY_LANES).and(LOW32);
        final LongVector n3 = LongVector.fromArray(LONGS, powers, LANE_POWERS + 3 * POLY_LANES).and(LOW32);
        final LongVector n4 = LongVector.fromArray(LONGS, powers, LANE_POWERS + 4 * POLY_LANES).and(LOW32);
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

    /**
     * Splits {@code w0 + w1·2^64 + w2·2^128} (partially reduced: {@code w2} at most 4) into five
     * 26-bit limbs (the top one below 2^26 + 2^24) at {@code out[LANE_POWERS + L·limb + lane]}.
     */
    private static void limbs(final long w0, final long w1, final long w2, final long[] out, final int lane)
    {
        out[LANE_POWERS + lane] = w0 & M26;
        out[LANE_POWERS + POLY_LANES + lane] = (w0 >>> 26) & M26;
        out[LANE_POWERS + 2 * POLY_LANES + lane] = ((w0 >>> 52) | (w1 << 12)) & M26;
        out[LANE_POWERS + 3 * POLY_LANES + lane] = (w1 >>> 14) & M26;
        out[LANE_POWERS + 4 * POLY_LANES + lane] = (w1 >>> 40) | (w2 << 24);
    }
}
