package io.vsnic.dataplane.protocol;

/**
 * Ethernet II header (IEEE 802.3 clause 3.2.6 with an EtherType >= 0x0600).
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                 Destination MAC address                       |
 * +                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                               |                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
 * |                    Source MAC address                         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |          EtherType            |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * </pre>
 *
 * MAC addresses are handled as the low 48 bits of a {@code long}.
 */
public final class EthernetFlyweight extends Flyweight
{
    public static final int DESTINATION_OFFSET = 0;
    public static final int SOURCE_OFFSET = 6;
    public static final int ETHER_TYPE_OFFSET = 12;
    public static final int HEADER_LENGTH = 14;

    public static final int ETHER_TYPE_IPV4 = 0x0800;
    public static final int ETHER_TYPE_ARP = 0x0806;
    public static final int ETHER_TYPE_VLAN = 0x8100;
    public static final int ETHER_TYPE_QINQ = 0x88A8;
    public static final int ETHER_TYPE_IPV6 = 0x86DD;
    /** Transparent Ethernet bridging: the Geneve protocol type of an inner Ethernet frame. */
    public static final int ETHER_TYPE_TEB = 0x6558;

    public static final long BROADCAST = 0xFFFF_FFFF_FFFFL;

    public long destination()
    {
        return mac(DESTINATION_OFFSET);
    }

    public EthernetFlyweight destination(final long mac)
    {
        mac(DESTINATION_OFFSET, mac);
        return this;
    }

    public long source()
    {
        return mac(SOURCE_OFFSET);
    }

    public EthernetFlyweight source(final long mac)
    {
        mac(SOURCE_OFFSET, mac);
        return this;
    }

    public int etherType()
    {
        return u16(ETHER_TYPE_OFFSET);
    }

    public EthernetFlyweight etherType(final int etherType)
    {
        u16(ETHER_TYPE_OFFSET, etherType);
        return this;
    }

    /**
     * @param mac a MAC address in the low 48 bits.
     * @return true for group (multicast and broadcast) addresses: the I/G bit is set.
     */
    public static boolean isMulticast(final long mac)
    {
        return (mac & 0x0100_0000_0000L) != 0;
    }

    /**
     * @param mac a MAC address in the low 48 bits.
     * @return the address as {@code aa:bb:cc:dd:ee:ff}.
     */
    public static String formatMac(final long mac)
    {
        final StringBuilder text = new StringBuilder(17);
        for (int shift = 40; shift >= 0; shift -= 8)
        {
            final int octet = (int)(mac >>> shift) & 0xFF;
            text.append(Character.forDigit(octet >>> 4, 16)).append(Character.forDigit(octet & 0xF, 16));
            if (shift != 0)
            {
                text.append(':');
            }
        }
        return text.toString();
    }

    /**
     * @param text a MAC address as six colon- or dash-separated hex octets.
     * @return the address in the low 48 bits.
     * @throws IllegalArgumentException when the text is not a MAC address.
     */
    public static long parseMac(final String text)
    {
        final String[] parts = text.split("[:-]", -1);
        if (parts.length != 6)
        {
            throw new IllegalArgumentException("not a MAC address: " + text);
        }
        long mac = 0;
        for (final String part : parts)
        {
            if (part.isEmpty() || part.length() > 2 || !part.chars().allMatch(EthernetFlyweight::isAsciiHexDigit))
            {
                throw new IllegalArgumentException("not a MAC address: " + text);
            }
            try
            {
                mac = (mac << 8) | Integer.parseInt(part, 16);
            }
            catch (final NumberFormatException ex)
            {
                throw new IllegalArgumentException("not a MAC address: " + text, ex);
            }
        }
        return mac;
    }

    private static boolean isAsciiHexDigit(final int c)
    {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    }
}
