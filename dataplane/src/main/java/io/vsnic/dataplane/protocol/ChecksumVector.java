package io.vsnic.dataplane.protocol;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The bulk of the Internet checksum with the Vector API: 64 bytes per step as two 256-bit vectors of
 * four little-endian 64-bit words, each split into its two 32-bit halves added into 64-bit lanes
 * (no carry can leave a lane before 2^32 steps). Loaded only when {@link Checksums} found the
 * incubator module; {@link Checksums#sum} turns the little-endian sum into the big-endian one.
 */
final class ChecksumVector
{
    private static final VectorSpecies<Long> SPECIES = LongVector.SPECIES_256;
    /** Bytes per step of {@link #sum32}. */
    static final int STEP = 64;

    private ChecksumVector()
    {
    }

    /**
     * @return the sum of the little-endian 32-bit words of {@code [offset, offset + length)}, where
     *         {@code length} is a multiple of {@link #STEP}.
     */
    static long sum32(final MemorySegment segment, final long offset, final long length)
    {
        LongVector a0 = LongVector.zero(SPECIES);
        LongVector a1 = LongVector.zero(SPECIES);
        final LongVector low = LongVector.broadcast(SPECIES, 0xFFFF_FFFFL);
        final long end = offset + length;
        for (long at = offset; at < end; at += STEP)
        {
            final LongVector v0 = LongVector.fromMemorySegment(SPECIES, segment, at, ByteOrder.LITTLE_ENDIAN);
            final LongVector v1 = LongVector.fromMemorySegment(SPECIES, segment, at + 32, ByteOrder.LITTLE_ENDIAN);
            a0 = a0.add(v0.and(low)).add(v0.lanewise(VectorOperators.LSHR, 32));
            a1 = a1.add(v1.and(low)).add(v1.lanewise(VectorOperators.LSHR, 32));
        }
        return a0.add(a1).reduceLanes(VectorOperators.ADD);
    }
}
