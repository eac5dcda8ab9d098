package io.vsnic.dataplane.pipeline;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import io.vsnic.dataplane.buffer.Frame;
import io.vsnic.dataplane.protocol.EthernetFlyweight;
import io.vsnic.dataplane.protocol.FrameLayout;
import io.vsnic.dataplane.protocol.Flyweight;
import io.vsnic.dataplane.protocol.IpProtocol;
import io.vsnic.dataplane.protocol.Ipv4Flyweight;
import io.vsnic.dataplane.protocol.UdpFlyweight;
import io.vsnic.dataplane.status.DropReason;
import io.vsnic.dataplane.table.NetworkTable;
import io.vsnic.dataplane.table.PortEntry;

/**
 * The DHCPv4 server of every vNIC (RFC 2131, options of RFC 2132), answered in place by the worker
 * that receives the request: it offers exactly the vNIC's configured address with the subnet mask,
 * the subnet's gateway as router and server identifier, the network's MTU (option 26) and the
 * network's DNS servers. DISCOVER gets an OFFER; REQUEST (selecting, renewing, rebinding) an ACK
 * when it asks for the vNIC's address and a NAK for any other; INFORM an ACK with the options and no
 * lease; RELEASE and DECLINE need no answer. The client hardware address must be the vNIC's MAC.
 * One instance per worker; allocates nothing.
 */
final class DhcpServer
{
    static final int SERVER_PORT = 67;
    static final int CLIENT_PORT = 68;
    static final int LEASE_SECONDS = 86_400;

    private static final int OP = 0;
    private static final int HTYPE = 1;
    private static final int HLEN = 2;
    private static final int HOPS = 3;
    private static final int SECS = 8;
    private static final int FLAGS = 10;
    private static final int CIADDR = 12;
    private static final int YIADDR = 16;
    private static final int SIADDR = 20;
    private static final int CHADDR = 28;
    private static final int SNAME = 44;
    private static final int MAGIC = 236;
    private static final int OPTIONS = 240;
    private static final int MAGIC_COOKIE = 0x6382_5363;
    private static final int MIN_BOOTP_LENGTH = 300;
    private static final int FLAG_BROADCAST = 0x8000;

    static final int DISCOVER = 1;
    static final int OFFER = 2;
    static final int REQUEST = 3;
    static final int DECLINE = 4;
    static final int ACK = 5;
    static final int NAK = 6;
    static final int RELEASE = 7;
    static final int INFORM = 8;

    private static final int OPTION_PAD = 0;
    private static final int OPTION_SUBNET_MASK = 1;
    private static final int OPTION_ROUTER = 3;
    private static final int OPTION_DNS = 6;
    private static final int OPTION_MTU = 26;
    private static final int OPTION_REQUESTED_IP = 50;
    private static final int OPTION_LEASE_TIME = 51;
    private static final int OPTION_MESSAGE_TYPE = 53;
    private static final int OPTION_SERVER_ID = 54;
    private static final int OPTION_RENEWAL_TIME = 58;
    private static final int OPTION_REBINDING_TIME = 59;
    private static final int OPTION_END = 255;

    private final EthernetFlyweight ethernet = new EthernetFlyweight();
    private final Ipv4Flyweight ipv4 = new Ipv4Flyweight();
    private final UdpFlyweight udp = new UdpFlyweight();

    /**
     * @return true when the frame is a DHCP client message (IPv4 UDP 68 to 67).
     */
    static boolean isClientMessage(final FrameLayout layout)
    {
        return layout.l3Type() == FrameLayout.L3_IPV4 && layout.l4Protocol() == IpProtocol.UDP &&
            layout.destinationPort() == SERVER_PORT && layout.sourcePort() == CLIENT_PORT &&
            (layout.flags() & FrameLayout.FLAG_FRAGMENT) == 0;
    }

    /**
     * Turns a client message into the server's reply, in place.
     *
     * @return 0 when the frame now holds a reply to send back to the port, else a drop reason ordinal.
     */
    int answer(final Frame frame, final FrameLayout layout, final NetworkTable network, final PortEntry port)
    {
        final MemorySegment segment = frame.segment();
        final int bootp = layout.l4Offset() + UdpFlyweight.HEADER_LENGTH;
        final int bootpLength = layout.l4Length() - UdpFlyweight.HEADER_LENGTH;
        if (!port.hasIpv4() || bootpLength < OPTIONS + 3 || u8(segment, bootp + OP) != 1 || u8(segment, bootp + HTYPE) != 1 ||
            u8(segment, bootp + HLEN) != 6 || segment.get(Flyweight.U32, bootp + MAGIC) != MAGIC_COOKIE ||
            mac(segment, bootp + CHADDR) != port.mac())
        {
            return DropReason.DHCP_MALFORMED.ordinal();
        }
        final int subnet = network.subnet4Of(port.ipv4());
        if (subnet < 0)
        {
            return DropReason.DHCP_MALFORMED.ordinal();
        }
        int type = -1;
        int requested = 0;
        int at = bootp + OPTIONS;
        final int end = bootp + bootpLength;
        while (at < end)
        {
            final int code = u8(segment, at);
            if (code == OPTION_END)
            {
                break;
            }
            if (code == OPTION_PAD)
            {
                at++;
                continue;
            }
            if (at + 1 >= end)
            {
                return DropReason.DHCP_MALFORMED.ordinal();
            }
            final int length = u8(segment, at + 1);
            if (at + 2 + length > end)
            {
                return DropReason.DHCP_MALFORMED.ordinal();
            }
            if (code == OPTION_MESSAGE_TYPE && length == 1)
            {
                type = u8(segment, at + 2);
            }
            else if (code == OPTION_REQUESTED_IP && length == 4)
            {
                requested = segment.get(Flyweight.U32, at + 2);
            }
            at += 2 + length;
        }
        final int ciaddr = segment.get(Flyweight.U32, bootp + CIADDR);
        final int reply;
        switch (type)
        {
            case DISCOVER -> reply = OFFER;
            case REQUEST ->
            {
                final int asked = requested != 0 ? requested : ciaddr;
                reply = asked == port.ipv4() ? ACK : NAK;
            }
            case INFORM -> reply = ACK;
            case RELEASE, DECLINE ->
            {
                return DropReason.DHCP_NO_REPLY.ordinal();
            }
            default ->
            {
                return DropReason.DHCP_MALFORMED.ordinal();
            }
        }
        final boolean lease = reply != NAK && type != INFORM;
        final int server = network.gateway4(subnet);
        final int flags = segment.get(Flyweight.U16, bootp + FLAGS) & 0xFFFF;

        segment.set(ValueLayout.JAVA_BYTE, bootp + OP, (byte)2);
        segment.set(ValueLayout.JAVA_BYTE, bootp + HOPS, (byte)0);
        segment.set(Flyweight.U16, bootp + SECS, (short)0);
        if (type != INFORM)
        {
            segment.set(Flyweight.U32, bootp + CIADDR, 0);
        }
        segment.set(Flyweight.U32, bootp + YIADDR, lease ? port.ipv4() : 0);
        segment.set(Flyweight.U32, bootp + SIADDR, 0);
        segment.asSlice(bootp + SNAME, MAGIC - SNAME).fill((byte)0);
        int option = bootp + OPTIONS;
        option = option1(segment, option, OPTION_MESSAGE_TYPE, reply);
        option = option4(segment, option, OPTION_SERVER_ID, server);
        if (reply != NAK)
        {
            if (lease)
            {
                option = option4(segment, option, OPTION_LEASE_TIME, LEASE_SECONDS);
                option = option4(segment, option, OPTION_RENEWAL_TIME, LEASE_SECONDS / 2);
                option = option4(segment, option, OPTION_REBINDING_TIME, LEASE_SECONDS * 7 / 8);
            }
            final int length = network.prefixLength4(subnet);
            option = option4(segment, option, OPTION_SUBNET_MASK, length == 0 ? 0 : -1 << (32 - length));
            option = option4(segment, option, OPTION_ROUTER, server);
            segment.set(ValueLayout.JAVA_BYTE, option, (byte)OPTION_MTU);
            segment.set(ValueLayout.JAVA_BYTE, option + 1, (byte)2);
            segment.set(Flyweight.U16, option + 2, (short)network.mtuBytes());
            option += 4;
            final int dns = Math.min(network.dnsServer4Count(), 8);
            if (dns > 0)
            {
                segment.set(ValueLayout.JAVA_BYTE, option, (byte)OPTION_DNS);
                segment.set(ValueLayout.JAVA_BYTE, option + 1, (byte)(4 * dns));
                for (int i = 0; i < dns; i++)
                {
                    segment.set(Flyweight.U32, option + 2 + 4 * i, network.dnsServer4(i));
                }
                option += 2 + 4 * dns;
            }
        }
        segment.set(ValueLayout.JAVA_BYTE, option++, (byte)OPTION_END);
        int replyLength = option - bootp;
        if (replyLength < MIN_BOOTP_LENGTH)
        {
            segment.asSlice(option, MIN_BOOTP_LENGTH - replyLength).fill((byte)0);
            replyLength = MIN_BOOTP_LENGTH;
        }

        final boolean broadcast = reply == NAK || (flags & FLAG_BROADCAST) != 0 || (type != INFORM && ciaddr == 0);
        final int destination = broadcast ? -1 : (type == INFORM || ciaddr != 0 ? ciaddr : port.ipv4());
        ethernet.wrap(segment, frame.start());
        ethernet.destination(broadcast && (flags & FLAG_BROADCAST) != 0 ? EthernetFlyweight.BROADCAST : port.mac())
            .source(network.gatewayMac());
        final int ip = layout.l3Offset();
        ipv4.wrap(segment, ip);
        ipv4.versionAndHeaderLength(Ipv4Flyweight.MIN_HEADER_LENGTH).tos(0)
            .totalLength(Ipv4Flyweight.MIN_HEADER_LENGTH + UdpFlyweight.HEADER_LENGTH + replyLength)
            .identification(0).flagsAndFragmentOffset(0).ttl(64).protocol(IpProtocol.UDP).source(server).destination(destination)
            .updateChecksum();
        final int udpOffset = ip + Ipv4Flyweight.MIN_HEADER_LENGTH;
        if (udpOffset + UdpFlyweight.HEADER_LENGTH != bootp)
        {
            // The request had IPv4 options: move the BOOTP message up behind a 20-byte header.
            MemorySegment.copy(segment, bootp, segment, udpOffset + UdpFlyweight.HEADER_LENGTH, replyLength);
        }
        udp.wrap(segment, udpOffset);
        udp.sourcePort(SERVER_PORT).destinationPort(CLIENT_PORT).length(UdpFlyweight.HEADER_LENGTH + replyLength);
        udp.updateChecksum(io.vsnic.dataplane.protocol.Checksums.pseudoHeaderSumIpv4(server, destination, IpProtocol.UDP,
            UdpFlyweight.HEADER_LENGTH + replyLength), UdpFlyweight.HEADER_LENGTH + replyLength);
        frame.length(udpOffset + UdpFlyweight.HEADER_LENGTH + replyLength - frame.start());
        return 0;
    }

    private static int option1(final MemorySegment segment, final int at, final int code, final int value)
    {
        segment.set(ValueLayout.JAVA_BYTE, at, (byte)code);
        segment.set(ValueLayout.JAVA_BYTE, at + 1, (byte)1);
        segment.set(ValueLayout.JAVA_BYTE, at + 2, (byte)value);
        return at + 3;
    }

    private static int option4(final MemorySegment segment, final int at, final int code, final int value)
    {
        segment.set(ValueLayout.JAVA_BYTE, at, (byte)code);
        segment.set(ValueLayout.JAVA_BYTE, at + 1, (byte)4);
        segment.set(Flyweight.U32, at + 2, value);
        return at + 6;
    }

    private static int u8(final MemorySegment segment, final long at)
    {
        return segment.get(ValueLayout.JAVA_BYTE, at) & 0xFF;
    }

    private static long mac(final MemorySegment segment, final long at)
    {
        return ((segment.get(Flyweight.U16, at) & 0xFFFFL) << 32) | (segment.get(Flyweight.U32, at + 2) & 0xFFFF_FFFFL);
    }
}
