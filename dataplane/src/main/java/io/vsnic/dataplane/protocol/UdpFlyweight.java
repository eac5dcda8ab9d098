package io.vsnic.dataplane.protocol;

/**
 * UDP header (RFC 768).
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |          Source Port          |       Destination Port        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |            Length             |           Checksum            |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * </pre>
 *
 * A checksum of zero means "none" over IPv4 (RFC 768) and, for tunnel protocols, over IPv6
 * (RFC 6935 / RFC 6936); a computed checksum of zero is sent as 0xFFFF.
 */
public final class UdpFlyweight extends Flyweight
{
    public static final int SOURCE_PORT_OFFSET = 0;
    public static final int DESTINATION_PORT_OFFSET = 2;
    public static final int LENGTH_OFFSET = 4;
    public static final int CHECKSUM_OFFSET = 6;
    public static final int HEADER_LENGTH = 8;

    public int sourcePort()
    {
        return u16(SOURCE_PORT_OFFSET);
    }

    public UdpFlyweight sourcePort(final int port)
    {
        u16(SOURCE_PORT_OFFSET, port);
        return this;
    }

    public int destinationPort()
    {
        return u16(DESTINATION_PORT_OFFSET);
    }

    public UdpFlyweight destinationPort(final int port)
    {
        u16(DESTINATION_PORT_OFFSET, port);
        return this;
    }

    public int length()
    {
        return u16(LENGTH_OFFSET);
    }

    public UdpFlyweight length(final int length)
    {
        u16(LENGTH_OFFSET, length);
        return this;
    }

    public int checksum()
    {
        return u16(CHECKSUM_OFFSET);
    }

    public UdpFlyweight checksum(final int checksum)
    {
        u16(CHECKSUM_OFFSET, checksum);
        return this;
    }

    /**
     * Computes and stores the checksum over {@code length} bytes with the given unfolded pseudo-header
     * sum (see {@link Checksums#pseudoHeaderSumIpv4} / {@link Checksums#pseudoHeaderSumIpv6}).
     */
    public UdpFlyweight updateChecksum(final long pseudoHeaderSum, final int length)
    {
        u16(CHECKSUM_OFFSET, 0);
        final int checksum = ~Checksums.fold(Checksums.sum(segment, offset, length, pseudoHeaderSum)) & 0xFFFF;
        u16(CHECKSUM_OFFSET, checksum == 0 ? 0xFFFF : checksum);
        return this;
    }

    /**
     * @return the folded one's-complement sum of pseudo-header and datagram; 0xFFFF when it verifies.
     */
    public int verifySum(final long pseudoHeaderSum, final int length)
    {
        return Checksums.fold(Checksums.sum(segment, offset, length, pseudoHeaderSum));
    }
}
