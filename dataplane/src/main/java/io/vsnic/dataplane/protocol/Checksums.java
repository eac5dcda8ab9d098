package io.vsnic.dataplane.protocol;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The Internet checksum (RFC 1071) over memory segments, the pseudo-header sums of UDP/TCP/ICMPv6
 * for IPv4 (RFC 768, RFC 9293) and IPv6 (RFC 8200 section 8.1), and the incremental update of
 * RFC 1624 for in-place rewrites (TTL decrement, address or port rewrites).
 *
 * <p>Sums are accumulated unfolded in a {@code long} (32-bit words read eight bytes at a time), then
 * folded to 16 bits: the one's-complement sum of 32-bit words folds to the same value as the sum of
 * 16-bit words, because 2^16 = 1 modulo 0xFFFF. Stateless and thread-safe.
 *
 * <p>Ranges of at least {@link #VECTOR_MIN_BYTES} are summed 64 bytes per step by {@link ChecksumVector}
 * (the Vector API) when the JVM has the incubator module {@code jdk.incubator.vector} (the project's
 * JVM flags add it) and {@value #VECTOR_PROPERTY} is not {@code false}: about 2.5 times faster at 1,400
 * bytes on this project's AVX2 machine (docs/performance.md). Until the JIT compiles it, that kernel runs
 * as slow, allocating Java: {@link #warmUp} at start.
 */
public final class Checksums
{
    private static final ValueLayout.OfByte U8 = ValueLayout.JAVA_BYTE;
    /** System property that turns the vector kernel off when set to {@code false}. */
    public static final String VECTOR_PROPERTY = "vsnic.dataplane.vectorChecksum";
    /** Shortest range summed by the vector kernel. */
    public static final int VECTOR_MIN_BYTES = 256;
    private static final boolean VECTOR = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent() &&
        !"false".equalsIgnoreCase(System.getProperty(VECTOR_PROPERTY));

    private Checksums()
    {
    }

    /**
     * Adds {@code length} bytes starting at {@code offset} to {@code sum}, as 16-bit big-endian words
     * counted from {@code offset} (an odd last byte is padded with a zero byte).
     *
     * @return the unfolded sum; fold it with {@link #fold(long)}.
     */
    public static long sum(final MemorySegment segment, final long offset, final int length, final long sum)
    {
        if (VECTOR && length >= VECTOR_MIN_BYTES)
        {
            // the vector kernel sums little-endian words (no byte swaps): the one's-complement sum of
            // byte-swapped 16-bit words is the byte-swapped sum (RFC 1071 section 2(B)), so its folded
            // sum, swapped back, adds what the big-endian words would; the rest continues at an even
            // distance from offset, so it pairs its bytes as before
            final int bulk = length & -ChecksumVector.STEP;
            final long le = ChecksumVector.sum32(segment, offset, bulk);
            final int folded = fold(le);
            return scalarSum(segment, offset + bulk, length - bulk, sum + ((folded >>> 8) | (folded & 0xFF) << 8));
        }
        return scalarSum(segment, offset, length, sum);
    }

    /** {@link #sum} without the vector kernel (also its reference in tests). */
    static long scalarSum(final MemorySegment segment, final long offset, final int length, final long sum)
    {
        long acc = sum;
        long at = offset;
        final long end = offset + length;
        while (end - at >= 32)
        {
            final long w0 = segment.get(Flyweight.U64, at);
            final long w1 = segment.get(Flyweight.U64, at + 8);
            final long w2 = segment.get(Flyweight.U64, at + 16);
            final long w3 = segment.get(Flyweight.U64, at + 24);
            acc += (w0 >>> 32) + (w0 & 0xFFFF_FFFFL) + (w1 >>> 32) + (w1 & 0xFFFF_FFFFL) +
                (w2 >>> 32) + (w2 & 0xFFFF_FFFFL) + (w3 >>> 32) + (w3 & 0xFFFF_FFFFL);
            at += 32;
        }
        while (end - at >= 8)
        {
            final long w = segment.get(Flyweight.U64, at);
            acc += (w >>> 32) + (w & 0xFFFF_FFFFL);
            at += 8;
        }
        if (end - at >= 4)
        {
            acc += segment.get(Flyweight.U32, at) & 0xFFFF_FFFFL;
            at += 4;
        }
        if (end - at >= 2)
        {
            acc += segment.get(Flyweight.U16, at) & 0xFFFF;
            at += 2;
        }
        if (end - at == 1)
        {
            acc += (segment.get(U8, at) & 0xFF) << 8;
        }
        return acc;
    }

    /**
     * @return whether {@link #sum} uses the vector kernel for long ranges.
     */
    public static boolean vectorKernel()
    {
        return VECTOR;
    }

    /**
     * Sums {@code buffer} until the JIT has compiled the vector kernel (or {@code maxNs} passed), so that
     * the first traffic after start does not run it interpreted. Pass memory of the kind the data path
     * sums (a pool frame). Does nothing without the vector kernel.
     *
     * @param buffer at least 1,500 bytes; only read.
     * @return true when the kernel runs at compiled speed.
     */
    public static boolean warmUp(final MemorySegment buffer, final long maxNs)
    {
        if (!VECTOR)
        {
            return true;
        }
        final long[] sink = {0};
        final boolean fast = io.vsnic.crypto.primitive.VectorSupport.untilFast(maxNs, () ->
        {
            for (int i = 0; i < 16; i++)
            {
                sink[0] += sum(buffer, i, 1400 + i, sink[0] & 0xFFFF);
            }
        });
        return fast;
    }

    /**
     * Folds an unfolded sum to 16 bits with end-around carry.
     *
     * @return the one's-complement sum in 0..0xFFFF (not yet complemented).
     */
    public static int fold(final long sum)
    {
        long s = (sum & 0xFFFF_FFFFL) + (sum >>> 32);
        s = (s & 0xFFFF) + (s >>> 16);
        s = (s & 0xFFFF) + (s >>> 16);
        s = (s & 0xFFFF) + (s >>> 16);
        return (int)s;
    }

    /**
     * @return the Internet checksum (complemented, ready for the header) of the bytes, with the
     *     checksum field inside the range set to zero by the caller.
     */
    public static int checksum(final MemorySegment segment, final long offset, final int length)
    {
        return ~fold(sum(segment, offset, length, 0)) & 0xFFFF;
    }

    /**
     * @return the unfolded sum of the IPv4 pseudo-header: source, destination, zero + protocol, L4 length.
     */
    public static long pseudoHeaderSumIpv4(final int source, final int destination, final int protocol, final int l4Length)
    {
        return (source & 0xFFFF_FFFFL) + (destination & 0xFFFF_FFFFL) + protocol + l4Length;
    }

    /**
     * @param segment          memory holding the IPv6 header.
     * @param addressesOffset  offset of the IPv6 source address (the destination follows it).
     * @param protocol         the upper-layer protocol (after extension headers).
     * @param l4Length         the upper-layer packet length.
     * @return the unfolded sum of the IPv6 pseudo-header (RFC 8200 section 8.1).
     */
    public static long pseudoHeaderSumIpv6(
        final MemorySegment segment, final long addressesOffset, final int protocol, final int l4Length)
    {
        return sum(segment, addressesOffset, 32, 0) + protocol + (l4Length & 0xFFFF_FFFFL);
    }

    /**
     * RFC 1624 equation 3: the new checksum after one 16-bit word of the covered data changes from
     * {@code oldWord} to {@code newWord}: {@code HC' = ~(~HC + ~m + m')}.
     *
     * @return the updated checksum field.
     */
    public static int update16(final int checksum, final int oldWord, final int newWord)
    {
        final long sum = (~checksum & 0xFFFF) + (~oldWord & 0xFFFF) + (newWord & 0xFFFF);
        return ~fold(sum) & 0xFFFF;
    }

    /**
     * RFC 1624 equation 3 applied to a 32-bit field (an IPv4 address): both halves change.
     *
     * @return the updated checksum field.
     */
    public static int update32(final int checksum, final int oldValue, final int newValue)
    {
        final long sum = (~checksum & 0xFFFF) +
            (~(oldValue >>> 16) & 0xFFFF) + (~oldValue & 0xFFFF) +
            ((newValue >>> 16) & 0xFFFF) + (newValue & 0xFFFF);
        return ~fold(sum) & 0xFFFF;
    }
}
