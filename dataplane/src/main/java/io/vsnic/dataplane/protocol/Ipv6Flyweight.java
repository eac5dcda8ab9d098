package io.vsnic.dataplane.protocol;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * IPv6 fixed header (RFC 8200 section 3). Extension headers (section 4) are walked by
 * {@link FrameClassifier}, which records where the upper-layer header starts.
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |Version| Traffic Class |           Flow Label                  |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |         Payload Length        |  Next Header  |   Hop Limit   |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                                                               |
 * +                    Source Address (128 bits)                  +
 * |                                                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                                                               |
 * +                 Destination Address (128 bits)                +
 * |                                                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * </pre>
 *
 * Addresses are read as two {@code long}s: the high 64 bits and the low 64 bits.
 */
public final class Ipv6Flyweight extends Flyweight
{
    public static final int VERSION_CLASS_FLOW_OFFSET = 0;
    public static final int PAYLOAD_LENGTH_OFFSET = 4;
    public static final int NEXT_HEADER_OFFSET = 6;
    public static final int HOP_LIMIT_OFFSET = 7;
    public static final int SOURCE_OFFSET = 8;
    public static final int DESTINATION_OFFSET = 24;
    public static final int HEADER_LENGTH = 40;
    /** The IPv6 fragment extension header is 8 bytes (RFC 8200 section 4.5). */
    public static final int FRAGMENT_HEADER_LENGTH = 8;

    public int version()
    {
        return u8(VERSION_CLASS_FLOW_OFFSET) >>> 4;
    }

    public int trafficClass()
    {
        return (i32(VERSION_CLASS_FLOW_OFFSET) >>> 20) & 0xFF;
    }

    public int flowLabel()
    {
        return i32(VERSION_CLASS_FLOW_OFFSET) & 0xF_FFFF;
    }

    /**
     * Writes version 6 with the given traffic class and flow label.
     */
    public Ipv6Flyweight versionClassFlow(final int trafficClass, final int flowLabel)
    {
        i32(VERSION_CLASS_FLOW_OFFSET, 6 << 28 | (trafficClass & 0xFF) << 20 | (flowLabel & 0xF_FFFF));
        return this;
    }

    public int payloadLength()
    {
        return u16(PAYLOAD_LENGTH_OFFSET);
    }

    public Ipv6Flyweight payloadLength(final int length)
    {
        u16(PAYLOAD_LENGTH_OFFSET, length);
        return this;
    }

    public int nextHeader()
    {
        return u8(NEXT_HEADER_OFFSET);
    }

    public Ipv6Flyweight nextHeader(final int nextHeader)
    {
        u8(NEXT_HEADER_OFFSET, nextHeader);
        return this;
    }

    public int hopLimit()
    {
        return u8(HOP_LIMIT_OFFSET);
    }

    public Ipv6Flyweight hopLimit(final int hopLimit)
    {
        u8(HOP_LIMIT_OFFSET, hopLimit);
        return this;
    }

    public long sourceHigh()
    {
        return segment.get(U64, offset + SOURCE_OFFSET);
    }

    public long sourceLow()
    {
        return segment.get(U64, offset + SOURCE_OFFSET + 8);
    }

    public Ipv6Flyweight source(final long high, final long low)
    {
        segment.set(U64, offset + SOURCE_OFFSET, high);
        segment.set(U64, offset + SOURCE_OFFSET + 8, low);
        return this;
    }

    public long destinationHigh()
    {
        return segment.get(U64, offset + DESTINATION_OFFSET);
    }

    public long destinationLow()
    {
        return segment.get(U64, offset + DESTINATION_OFFSET + 8);
    }

    public Ipv6Flyweight destination(final long high, final long low)
    {
        segment.set(U64, offset + DESTINATION_OFFSET, high);
        segment.set(U64, offset + DESTINATION_OFFSET + 8, low);
        return this;
    }

    /**
     * @return true when {@code nextHeader} names an extension header that the classifier walks over
     *     (hop-by-hop, routing, fragment, destination options, AH, mobility, HIP, shim6).
     */
    public static boolean isExtensionHeader(final int nextHeader)
    {
        return switch (nextHeader)
        {
            case IpProtocol.HOP_BY_HOP, IpProtocol.IPV6_ROUTING, IpProtocol.IPV6_FRAGMENT,
                IpProtocol.IPV6_DESTINATION_OPTIONS, IpProtocol.AH, IpProtocol.MOBILITY,
                IpProtocol.HIP, IpProtocol.SHIM6 -> true;
            default -> false;
        };
    }

    /**
     * @return the address at {@code at} formatted per RFC 5952 (as {@link InetAddress} does it, compressed).
     */
    public static String format(final MemorySegment segment, final long at)
    {
        final byte[] bytes = segment.asSlice(at, 16).toArray(ValueLayout.JAVA_BYTE);
        return format(bytes);
    }

    /**
     * @return the 16-byte address formatted per RFC 5952 (longest zero run compressed).
     */
    public static String format(final byte[] address)
    {
        int bestStart = -1;
        int bestLength = 0;
        for (int i = 0; i < 8; )
        {
            if (word(address, i) == 0)
            {
                int j = i;
                while (j < 8 && word(address, j) == 0)
                {
                    j++;
                }
                if (j - i > bestLength && j - i >= 2)
                {
                    bestStart = i;
                    bestLength = j - i;
                }
                i = j;
            }
            else
            {
                i++;
            }
        }
        final StringBuilder text = new StringBuilder(39);
        for (int i = 0; i < 8; i++)
        {
            if (i == bestStart)
            {
                text.append("::");
                i += bestLength - 1;
                continue;
            }
            if (text.length() > 0 && text.charAt(text.length() - 1) != ':')
            {
                text.append(':');
            }
            text.append(Integer.toHexString(word(address, i)));
        }
        return text.toString();
    }

    private static int word(final byte[] address, final int index)
    {
        return (address[index * 2] & 0xFF) << 8 | (address[index * 2 + 1] & 0xFF);
    }

    /**
     * @param text an IPv6 address literal (no zone).
     * @return its 16 bytes.
     * @throws IllegalArgumentException when the text is not an IPv6 address.
     */
    public static byte[] parse(final String text)
    {
        // Starting with a hex digit or ':' keeps InetAddress on its literal parser (never a name lookup).
        if (text.indexOf(':') < 0 || !text.matches("[0-9A-Fa-f:][0-9A-Fa-f:.]*"))
        {
            throw new IllegalArgumentException("not an IPv6 address: " + text);
        }
        try
        {
            final InetAddress address = InetAddress.getByName(text);
            if (address instanceof Inet6Address)
            {
                return address.getAddress();
            }
            if (address instanceof Inet4Address)
            {
                // InetAddress turns an IPv4-mapped literal (::ffff:a.b.c.d) into an Inet4Address.
                final byte[] mapped = new byte[16];
                mapped[10] = (byte)0xFF;
                mapped[11] = (byte)0xFF;
                System.arraycopy(address.getAddress(), 0, mapped, 12, 4);
                return mapped;
            }
            throw new IllegalArgumentException("not an IPv6 address: " + text);
        }
        catch (final UnknownHostException ex)
        {
            throw new IllegalArgumentException("not an IPv6 address: " + text, ex);
        }
    }
}
