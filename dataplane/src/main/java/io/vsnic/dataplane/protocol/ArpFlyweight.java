package io.vsnic.dataplane.protocol;

/**
 * ARP for IPv4 over Ethernet (RFC 826), the only form the data plane answers.
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |     Hardware type (1)         |     Protocol type (0x0800)    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | HLEN (6)      | PLEN (4)      |          Operation            |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                 Sender hardware address (6)                   |
 * +                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                               |  Sender protocol address (4)  |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                               |                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
 * |                 Target hardware address (6)                   |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                 Target protocol address (4)                   |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * </pre>
 */
public final class ArpFlyweight extends Flyweight
{
    public static final int HARDWARE_TYPE_OFFSET = 0;
    public static final int PROTOCOL_TYPE_OFFSET = 2;
    public static final int HARDWARE_LENGTH_OFFSET = 4;
    public static final int PROTOCOL_LENGTH_OFFSET = 5;
    public static final int OPERATION_OFFSET = 6;
    public static final int SENDER_MAC_OFFSET = 8;
    public static final int SENDER_IP_OFFSET = 14;
    public static final int TARGET_MAC_OFFSET = 18;
    public static final int TARGET_IP_OFFSET = 24;
    public static final int HEADER_LENGTH = 28;

    public static final int HARDWARE_TYPE_ETHERNET = 1;
    public static final int OPERATION_REQUEST = 1;
    public static final int OPERATION_REPLY = 2;

    public int hardwareType()
    {
        return u16(HARDWARE_TYPE_OFFSET);
    }

    public int protocolType()
    {
        return u16(PROTOCOL_TYPE_OFFSET);
    }

    public int hardwareLength()
    {
        return u8(HARDWARE_LENGTH_OFFSET);
    }

    public int protocolLength()
    {
        return u8(PROTOCOL_LENGTH_OFFSET);
    }

    /**
     * Writes the fixed Ethernet/IPv4 fields (hardware type, protocol type, lengths) and the operation.
     */
    public ArpFlyweight ethernetIpv4(final int operation)
    {
        u16(HARDWARE_TYPE_OFFSET, HARDWARE_TYPE_ETHERNET);
        u16(PROTOCOL_TYPE_OFFSET, EthernetFlyweight.ETHER_TYPE_IPV4);
        u8(HARDWARE_LENGTH_OFFSET, 6);
        u8(PROTOCOL_LENGTH_OFFSET, 4);
        u16(OPERATION_OFFSET, operation);
        return this;
    }

    /**
     * @return true when this is ARP for IPv4 over Ethernet (the only kind the data plane handles).
     */
    public boolean isEthernetIpv4()
    {
        return hardwareType() == HARDWARE_TYPE_ETHERNET && protocolType() == EthernetFlyweight.ETHER_TYPE_IPV4 &&
            hardwareLength() == 6 && protocolLength() == 4;
    }

    public int operation()
    {
        return u16(OPERATION_OFFSET);
    }

    public ArpFlyweight operation(final int operation)
    {
        u16(OPERATION_OFFSET, operation);
        return this;
    }

    public long senderMac()
    {
        return mac(SENDER_MAC_OFFSET);
    }

    public ArpFlyweight senderMac(final long mac)
    {
        mac(SENDER_MAC_OFFSET, mac);
        return this;
    }

    public int senderIp()
    {
        return i32(SENDER_IP_OFFSET);
    }

    public ArpFlyweight senderIp(final int ip)
    {
        i32(SENDER_IP_OFFSET, ip);
        return this;
    }

    public long targetMac()
    {
        return mac(TARGET_MAC_OFFSET);
    }

    public ArpFlyweight targetMac(final long mac)
    {
        mac(TARGET_MAC_OFFSET, mac);
        return this;
    }

    public int targetIp()
    {
        return i32(TARGET_IP_OFFSET);
    }

    public ArpFlyweight targetIp(final int ip)
    {
        i32(TARGET_IP_OFFSET, ip);
        return this;
    }
}
