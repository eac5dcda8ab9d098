package io.vsnic.dataplane.protocol;

/**
 * IPv4 header (RFC 791 section 3.1), with options.
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |Version|  IHL  |    DSCP   |ECN|          Total Length         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |         Identification        |Flags|      Fragment Offset    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Time to Live |    Protocol   |         Header Checksum       |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                       Source Address                          |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Destination Address                        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Options (IHL > 5)                          |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * </pre>
 *
 * Addresses are {@code int}s in network order (the first octet in the high byte).
 */
public final class Ipv4Flyweight extends Flyweight
{
    public static final int VERSION_IHL_OFFSET = 0;
    public static final int TOS_OFFSET = 1;
    public static final int TOTAL_LENGTH_OFFSET = 2;
    public static final int IDENTIFICATION_OFFSET = 4;
    public static final int FLAGS_FRAGMENT_OFFSET = 6;
    public static final int TTL_OFFSET = 8;
    public static final int PROTOCOL_OFFSET = 9;
    public static final int CHECKSUM_OFFSET = 10;
    public static final int SOURCE_OFFSET = 12;
    public static final int DESTINATION_OFFSET = 16;
    public static final int OPTIONS_OFFSET = 20;
    public static final int MIN_HEADER_LENGTH = 20;
    public static final int MAX_HEADER_LENGTH = 60;

    public static final int FLAG_DONT_FRAGMENT = 0x4000;
    public static final int FLAG_MORE_FRAGMENTS = 0x2000;
    public static final int FRAGMENT_OFFSET_MASK = 0x1FFF;

    public static final int OPTION_END = 0;
    public static final int OPTION_NOP = 1;

    public int version()
    {
        return u8(VERSION_IHL_OFFSET) >>> 4;
    }

    /**
     * @return header length in bytes (IHL x 4).
     */
    public int headerLength()
    {
        return (u8(VERSION_IHL_OFFSET) & 0x0F) << 2;
    }

    /**
     * Writes version 4 and the IHL for a header of {@code headerLengthBytes}.
     */
    public Ipv4Flyweight versionAndHeaderLength(final int headerLengthBytes)
    {
        u8(VERSION_IHL_OFFSET, 0x40 | ((headerLengthBytes >>> 2) & 0x0F));
        return this;
    }

    public int tos()
    {
        return u8(TOS_OFFSET);
    }

    public Ipv4Flyweight tos(final int tos)
    {
        u8(TOS_OFFSET, tos);
        return this;
    }

    public int totalLength()
    {
        return u16(TOTAL_LENGTH_OFFSET);
    }

    public Ipv4Flyweight totalLength(final int totalLength)
    {
        u16(TOTAL_LENGTH_OFFSET, totalLength);
        return this;
    }

    public int identification()
    {
        return u16(IDENTIFICATION_OFFSET);
    }

    public Ipv4Flyweight identification(final int identification)
    {
        u16(IDENTIFICATION_OFFSET, identification);
        return this;
    }

    /**
     * @return the flags and fragment offset word (flags in the top three bits).
     */
    public int flagsAndFragmentOffset()
    {
        return u16(FLAGS_FRAGMENT_OFFSET);
    }

    public Ipv4Flyweight flagsAndFragmentOffset(final int value)
    {
        u16(FLAGS_FRAGMENT_OFFSET, value);
        return this;
    }

    public boolean dontFragment()
    {
        return (u16(FLAGS_FRAGMENT_OFFSET) & FLAG_DONT_FRAGMENT) != 0;
    }

    public boolean moreFragments()
    {
        return (u16(FLAGS_FRAGMENT_OFFSET) & FLAG_MORE_FRAGMENTS) != 0;
    }

    /**
     * @return fragment offset in bytes.
     */
    public int fragmentOffsetBytes()
    {
        return (u16(FLAGS_FRAGMENT_OFFSET) & FRAGMENT_OFFSET_MASK) << 3;
    }

    /**
     * @return true when this packet is a fragment (more fragments follow, or its offset is not zero).
     */
    public boolean isFragment()
    {
        return (u16(FLAGS_FRAGMENT_OFFSET) & (FLAG_MORE_FRAGMENTS | FRAGMENT_OFFSET_MASK)) != 0;
    }

    public int ttl()
    {
        return u8(TTL_OFFSET);
    }

    public Ipv4Flyweight ttl(final int ttl)
    {
        u8(TTL_OFFSET, ttl);
        return this;
    }

    public int protocol()
    {
        return u8(PROTOCOL_OFFSET);
    }

    public Ipv4Flyweight protocol(final int protocol)
    {
        u8(PROTOCOL_OFFSET, protocol);
        return this;
    }

    public int checksum()
    {
        return u16(CHECKSUM_OFFSET);
    }

    public Ipv4Flyweight checksum(final int checksum)
    {
        u16(CHECKSUM_OFFSET, checksum);
        return this;
    }

    public int source()
    {
        return i32(SOURCE_OFFSET);
    }

    public Ipv4Flyweight source(final int address)
    {
        i32(SOURCE_OFFSET, address);
        return this;
    }

    public int destination()
    {
        return i32(DESTINATION_OFFSET);
    }

    public Ipv4Flyweight destination(final int address)
    {
        i32(DESTINATION_OFFSET, address);
        return this;
    }

    /**
     * Computes the header checksum over {@link #headerLength()} bytes and stores it.
     *
     * @return this.
     */
    public Ipv4Flyweight updateChecksum()
    {
        u16(CHECKSUM_OFFSET, 0);
        u16(CHECKSUM_OFFSET, Checksums.checksum(segment, offset, headerLength()));
        return this;
    }

    /**
     * @return true when the header checksum verifies (the one's-complement sum of the header is 0xFFFF).
     */
    public boolean isChecksumValid()
    {
        return Checksums.fold(Checksums.sum(segment, offset, headerLength(), 0)) == 0xFFFF;
    }

    /**
     * Decrements the TTL and patches the header checksum incrementally (RFC 1624), without summing
     * the header again.
     *
     * @return the new TTL.
     */
    public int decrementTtl()
    {
        final int oldWord = u16(TTL_OFFSET);
        final int newWord = oldWord - 0x0100;
        u16(TTL_OFFSET, newWord);
        u16(CHECKSUM_OFFSET, Checksums.update16(u16(CHECKSUM_OFFSET), oldWord, newWord));
        return newWord >>> 8;
    }

    /**
     * Walks the options (RFC 791: END, NOP, and type-length-value options).
     *
     * @return true when the option list is well formed within {@link #headerLength()}.
     */
    public boolean areOptionsValid()
    {
        final int end = headerLength();
        int at = OPTIONS_OFFSET;
        while (at < end)
        {
            final int type = u8(at);
            if (type == OPTION_END)
            {
                return true;
            }
            if (type == OPTION_NOP)
            {
                at++;
                continue;
            }
            if (at + 1 >= end)
            {
                return false;
            }
            final int length = u8(at + 1);
            if (length < 2 || at + length > end)
            {
                return false;
            }
            at += length;
        }
        return true;
    }

    /**
     * @param address an IPv4 address in network order.
     * @return dotted-quad text.
     */
    public static String format(final int address)
    {
        return (address >>> 24) + "." + ((address >>> 16) & 0xFF) + "." + ((address >>> 8) & 0xFF) + "." + (address & 0xFF);
    }

    /**
     * @param text a dotted-quad IPv4 address.
     * @return the address in network order.
     * @throws IllegalArgumentException when the text is not an IPv4 address.
     */
    public static int parse(final String text)
    {
        final String[] parts = text.split("\\.", -1);
        if (parts.length != 4)
        {
            throw new IllegalArgumentException("not an IPv4 address: " + text);
        }
        int address = 0;
        for (final String part : parts)
        {
            if (part.isEmpty() || part.length() > 3 || !part.chars().allMatch(c -> c >= '0' && c <= '9'))
            {
                throw new IllegalArgumentException("not an IPv4 address: " + text);
            }
            final int octet = Integer.parseInt(part);
            if (octet > 255)
            {
                throw new IllegalArgumentException("not an IPv4 address: " + text);
            }
            address = (address << 8) | octet;
        }
        return address;
    }
}
