package io.vsnic.dataplane.protocol;

/**
 * ICMP for IPv4 (RFC 792) and ICMPv6 (RFC 4443): both share the first four bytes (type, code,
 * checksum) and the layout of the word that follows (identifier + sequence for echo, unused + MTU
 * for "fragmentation needed" (RFC 1191) and ICMPv6 "packet too big" (a full 32-bit MTU)).
 * ICMPv4's checksum covers the ICMP message; ICMPv6's adds the IPv6 pseudo-header.
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |     Type      |     Code      |          Checksum             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |   Identifier / unused         | Sequence Number / Next-Hop MTU|
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |     Data (echo payload, or the invoking packet's header) ...
 * +-+-+-+-+-+-+-+-+-
 * </pre>
 */
public final class IcmpFlyweight extends Flyweight
{
    public static final int TYPE_OFFSET = 0;
    public static final int CODE_OFFSET = 1;
    public static final int CHECKSUM_OFFSET = 2;
    public static final int IDENTIFIER_OFFSET = 4;
    public static final int SEQUENCE_OFFSET = 6;
    public static final int MTU_OFFSET = 6;
    public static final int ICMPV6_MTU_OFFSET = 4;
    public static final int HEADER_LENGTH = 8;

    public static final int V4_ECHO_REPLY = 0;
    public static final int V4_DESTINATION_UNREACHABLE = 3;
    public static final int V4_ECHO_REQUEST = 8;
    public static final int V4_TIME_EXCEEDED = 11;
    public static final int V4_CODE_NET_UNREACHABLE = 0;
    public static final int V4_CODE_HOST_UNREACHABLE = 1;
    public static final int V4_CODE_PORT_UNREACHABLE = 3;
    public static final int V4_CODE_FRAGMENTATION_NEEDED = 4;
    public static final int V4_CODE_ADMIN_PROHIBITED = 13;

    public static final int V6_DESTINATION_UNREACHABLE = 1;
    public static final int V6_PACKET_TOO_BIG = 2;
    public static final int V6_TIME_EXCEEDED = 3;
    public static final int V6_PARAMETER_PROBLEM = 4;
    public static final int V6_ECHO_REQUEST = 128;
    public static final int V6_ECHO_REPLY = 129;
    public static final int V6_ROUTER_SOLICITATION = 133;
    public static final int V6_ROUTER_ADVERTISEMENT = 134;
    public static final int V6_NEIGHBOR_SOLICITATION = 135;
    public static final int V6_NEIGHBOR_ADVERTISEMENT = 136;

    public int type()
    {
        return u8(TYPE_OFFSET);
    }

    public IcmpFlyweight type(final int type)
    {
        u8(TYPE_OFFSET, type);
        return this;
    }

    public int code()
    {
        return u8(CODE_OFFSET);
    }

    public IcmpFlyweight code(final int code)
    {
        u8(CODE_OFFSET, code);
        return this;
    }

    public int checksum()
    {
        return u16(CHECKSUM_OFFSET);
    }

    public IcmpFlyweight checksum(final int checksum)
    {
        u16(CHECKSUM_OFFSET, checksum);
        return this;
    }

    public int identifier()
    {
        return u16(IDENTIFIER_OFFSET);
    }

    public IcmpFlyweight identifier(final int identifier)
    {
        u16(IDENTIFIER_OFFSET, identifier);
        return this;
    }

    public int sequence()
    {
        return u16(SEQUENCE_OFFSET);
    }

    public IcmpFlyweight sequence(final int sequence)
    {
        u16(SEQUENCE_OFFSET, sequence);
        return this;
    }

    /**
     * @return the next-hop MTU of an ICMPv4 "fragmentation needed" message (RFC 1191).
     */
    public int nextHopMtu()
    {
        return u16(MTU_OFFSET);
    }

    public IcmpFlyweight nextHopMtu(final int mtu)
    {
        u16(IDENTIFIER_OFFSET, 0);
        u16(MTU_OFFSET, mtu);
        return this;
    }

    /**
     * @return the MTU of an ICMPv6 "packet too big" message (RFC 4443 section 3.2).
     */
    public long v6Mtu()
    {
        return u32(ICMPV6_MTU_OFFSET);
    }

    public IcmpFlyweight v6Mtu(final int mtu)
    {
        i32(ICMPV6_MTU_OFFSET, mtu);
        return this;
    }

    /**
     * Computes and stores the ICMPv4 checksum over {@code length} bytes of message.
     */
    public IcmpFlyweight updateChecksumV4(final int length)
    {
        u16(CHECKSUM_OFFSET, 0);
        u16(CHECKSUM_OFFSET, Checksums.checksum(segment, offset, length));
        return this;
    }

    /**
     * @return true when the ICMPv4 checksum over {@code length} bytes verifies.
     */
    public boolean isChecksumValidV4(final int length)
    {
        return Checksums.fold(Checksums.sum(segment, offset, length, 0)) == 0xFFFF;
    }

    /**
     * Computes and stores the ICMPv6 checksum, which covers the IPv6 pseudo-header.
     *
     * @param ipv6Offset offset of the IPv6 header (its addresses are read from there).
     * @param length     ICMPv6 message length.
     */
    public IcmpFlyweight updateChecksumV6(final long ipv6Offset, final int length)
    {
        u16(CHECKSUM_OFFSET, 0);
        final long sum = Checksums.sum(segment, offset, length,
            Checksums.pseudoHeaderSumIpv6(segment, ipv6Offset + Ipv6Flyweight.SOURCE_OFFSET, IpProtocol.ICMPV6, length));
        u16(CHECKSUM_OFFSET, ~Checksums.fold(sum) & 0xFFFF);
        return this;
    }

    /**
     * @return true when the ICMPv6 checksum (with pseudo-header) verifies.
     */
    public boolean isChecksumValidV6(final long ipv6Offset, final int length)
    {
        final long sum = Checksums.sum(segment, offset, length,
            Checksums.pseudoHeaderSumIpv6(segment, ipv6Offset + Ipv6Flyweight.SOURCE_OFFSET, IpProtocol.ICMPV6, length));
        return Checksums.fold(sum) == 0xFFFF;
    }
}
