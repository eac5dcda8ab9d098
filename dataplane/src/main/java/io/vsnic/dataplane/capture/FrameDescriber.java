package io.vsnic.dataplane.capture;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import io.vsnic.dataplane.protocol.ArpFlyweight;
import io.vsnic.dataplane.protocol.EthernetFlyweight;
import io.vsnic.dataplane.protocol.FrameLayout;
import io.vsnic.dataplane.protocol.GeneveFlyweight;
import io.vsnic.dataplane.protocol.IcmpFlyweight;
import io.vsnic.dataplane.protocol.IpProtocol;
import io.vsnic.dataplane.protocol.Ipv4Flyweight;
import io.vsnic.dataplane.protocol.Ipv6Flyweight;
import io.vsnic.dataplane.protocol.TcpFlyweight;
import io.vsnic.dataplane.protocol.UdpFlyweight;

/**
 * Turns a classified frame into the text {@code vsnic pcap inspect} prints: one line per layer
 * group (outer headers, overlay header, inner headers), or the drop reason. Tooling only: it
 * allocates strings freely.
 *
 * <p>Example:
 * <pre>
 *     1  148 B  eth 36:dc:85:1e:b3:40 &gt; 00:16:3e:08:71:cf  ipv4 192.168.203.1 &gt; 192.168.202.1 ttl 64 len 134  udp 45149 &gt; 4789 [no cksum]
 *               vxlan vni 100
 *               eth 00:16:3e:37:f6:04 &gt; 00:30:88:01:00:02  ipv4 192.168.203.3 &gt; 192.168.203.5 ttl 64 len 84  icmp echo-request id 1292 seq 1
 * </pre>
 */
public final class FrameDescriber
{
    private static final String INDENT = "              ";

    private final Ipv4Flyweight ipv4 = new Ipv4Flyweight();
    private final Ipv6Flyweight ipv6 = new Ipv6Flyweight();
    private final ArpFlyweight arp = new ArpFlyweight();
    private final UdpFlyweight udp = new UdpFlyweight();
    private final TcpFlyweight tcp = new TcpFlyweight();
    private final IcmpFlyweight icmp = new IcmpFlyweight();
    private final GeneveFlyweight geneve = new GeneveFlyweight();

    /**
     * @param number  frame number to print.
     * @param segment memory holding the frame.
     * @param layout  the classifier's result for it.
     * @return the description, lines separated by '\n', without a trailing newline.
     */
    public String describe(final int number, final MemorySegment segment, final FrameLayout layout)
    {
        final StringBuilder text = new StringBuilder(256);
        text.append(String.format("%5d %5d B  ", number, layout.frameLength()));
        describeBody(text, segment, layout);
        return text.toString();
    }

    /**
     * The description without the frame number and length: the layers, continuation lines for an
     * overlay's inner frame (indented as in {@link #describe}), and the drop reason.
     *
     * @param segment memory holding the frame or packet.
     * @param layout  the classifier's result for it.
     * @return the description, lines separated by '\n', without a trailing newline.
     */
    public String describeBody(final MemorySegment segment, final FrameLayout layout)
    {
        final StringBuilder text = new StringBuilder(256);
        describeBody(text, segment, layout);
        return text.toString();
    }

    private void describeBody(final StringBuilder text, final MemorySegment segment, final FrameLayout layout)
    {
        describeLayers(text, segment, layout);
        if (layout.overlayType() != FrameLayout.OVERLAY_NONE && layout.overlayHeaderLength() > 0)
        {
            text.append('\n').append(INDENT);
            describeOverlay(text, segment, layout);
            final FrameLayout inner = layout.inner();
            text.append('\n').append(INDENT);
            describeLayers(text, segment, inner);
            if (!inner.isValid())
            {
                text.append("  DROP ").append(inner.dropReason().label()).append(" (inner frame)");
            }
        }
        else if (!layout.isValid())
        {
            text.append("  DROP ").append(layout.dropReason().label());
            if (layout.overlayType() != FrameLayout.OVERLAY_NONE)
            {
                text.append(" (overlay header)");
            }
        }
    }

    private void describeLayers(final StringBuilder text, final MemorySegment segment, final FrameLayout layout)
    {
        final int start = text.length();
        if (layout.l2Offset() >= 0)
        {
            text.append("eth ").append(EthernetFlyweight.formatMac(layout.sourceMac()))
                .append(" > ").append(EthernetFlyweight.formatMac(layout.destinationMac()));
            if (layout.vlanCount() > 0)
            {
                text.append(" vlan ").append(layout.outerVlanId());
                if (layout.vlanCount() > 1)
                {
                    text.append(" vlan ").append(layout.innerVlanId());
                }
            }
            if (layout.l3Type() == FrameLayout.L3_NONE && layout.etherType() >= 0)
            {
                text.append(String.format(" ethertype 0x%04x", layout.etherType()));
            }
        }
        switch (layout.l3Type())
        {
            case FrameLayout.L3_ARP -> describeArp(sep(text, start), segment, layout);
            case FrameLayout.L3_IPV4 -> describeIpv4(sep(text, start), segment, layout);
            case FrameLayout.L3_IPV6 -> describeIpv6(sep(text, start), segment, layout);
            default ->
            {
            }
        }
        if (layout.l4Offset() >= 0 && layout.l4HeaderLength() > 0)
        {
            describeL4(sep(text, start), segment, layout);
        }
        appendFlags(text, layout);
    }

    private static StringBuilder sep(final StringBuilder text, final int start)
    {
        if (text.length() > start)
        {
            text.append("  ");
        }
        return text;
    }

    private void describeArp(final StringBuilder text, final MemorySegment segment, final FrameLayout layout)
    {
        arp.wrap(segment, layout.l3Offset());
        if (arp.operation() == ArpFlyweight.OPERATION_REQUEST)
        {
            text.append("arp who-has ").append(Ipv4Flyweight.format(arp.targetIp()))
                .append(" tell ").append(Ipv4Flyweight.format(arp.senderIp()));
        }
        else if (arp.operation() == ArpFlyweight.OPERATION_REPLY)
        {
            text.append("arp reply ").append(Ipv4Flyweight.format(arp.senderIp()))
                .append(" is-at ").append(EthernetFlyweight.formatMac(arp.senderMac()));
        }
        else
        {
            text.append("arp op ").append(arp.operation());
        }
    }

    private void describeIpv4(final StringBuilder text, final MemorySegment segment, final FrameLayout layout)
    {
        ipv4.wrap(segment, layout.l3Offset());
        text.append("ipv4 ").append(Ipv4Flyweight.format(ipv4.source())).append(" > ")
            .append(Ipv4Flyweight.format(ipv4.destination()))
            .append(" ttl ").append(ipv4.ttl()).append(" id ").append(ipv4.identification())
            .append(" len ").append(ipv4.totalLength());
        if (ipv4.dontFragment())
        {
            text.append(" DF");
        }
        if (ipv4.isFragment())
        {
            text.append(" frag ").append(ipv4.fragmentOffsetBytes()).append(ipv4.moreFragments() ? "+" : "");
        }
        if (layout.hasFlag(FrameLayout.FLAG_IP_OPTIONS))
        {
            text.append(" options ").append(ipv4.headerLength() - Ipv4Flyweight.MIN_HEADER_LENGTH).append(" B");
        }
        if (layout.l4Offset() < 0 || layout.l4HeaderLength() == 0)
        {
            text.append(" proto ").append(IpProtocol.name(ipv4.protocol()));
        }
    }

    private void describeIpv6(final StringBuilder text, final MemorySegment segment, final FrameLayout layout)
    {
        ipv6.wrap(segment, layout.l3Offset());
        text.append("ipv6 ").append(Ipv6Flyweight.format(segment, layout.l3Offset() + Ipv6Flyweight.SOURCE_OFFSET))
            .append(" > ").append(Ipv6Flyweight.format(segment, layout.l3Offset() + Ipv6Flyweight.DESTINATION_OFFSET))
            .append(" hlim ").append(ipv6.hopLimit()).append(" plen ").append(ipv6.payloadLength());
        if (ipv6.flowLabel() != 0)
        {
            text.append(String.format(" flow 0x%05x", ipv6.flowLabel()));
        }
        if (layout.l3HeaderLength() > Ipv6Flyweight.HEADER_LENGTH)
        {
            text.append(" ext ").append(layout.l3HeaderLength() - Ipv6Flyweight.HEADER_LENGTH).append(" B");
        }
        if (layout.l4Offset() < 0 || layout.l4HeaderLength() == 0)
        {
            text.append(" next ").append(IpProtocol.name(layout.l4Protocol()));
        }
    }

    private void describeL4(final StringBuilder text, final MemorySegment segment, final FrameLayout layout)
    {
        switch (layout.l4Protocol())
        {
            case IpProtocol.UDP ->
            {
                udp.wrap(segment, layout.l4Offset());
                text.append("udp ").append(udp.sourcePort()).append(" > ").append(udp.destinationPort())
                    .append(" len ").append(udp.length());
            }
            case IpProtocol.TCP ->
            {
                tcp.wrap(segment, layout.l4Offset());
                text.append("tcp ").append(tcp.sourcePort()).append(" > ").append(tcp.destinationPort())
                    .append(" [").append(TcpFlyweight.formatFlags(tcp.flags())).append("] seq ").append(tcp.sequence());
                if ((tcp.flags() & TcpFlyweight.ACK) != 0)
                {
                    text.append(" ack ").append(tcp.acknowledgment());
                }
                text.append(" win ").append(tcp.window())
                    .append(" len ").append(layout.l4Length() - layout.l4HeaderLength());
            }
            case IpProtocol.ICMP, IpProtocol.ICMPV6 -> describeIcmp(text, segment, layout);
            default -> text.append(IpProtocol.name(layout.l4Protocol()));
        }
    }

    private void describeIcmp(final StringBuilder text, final MemorySegment segment, final FrameLayout layout)
    {
        icmp.wrap(segment, layout.l4Offset());
        final boolean v6 = layout.l4Protocol() == IpProtocol.ICMPV6;
        text.append(v6 ? "icmp6 " : "icmp ");
        final int type = icmp.type();
        final String name = v6 ? switch (type)
        {
            case IcmpFlyweight.V6_ECHO_REQUEST -> "echo-request";
            case IcmpFlyweight.V6_ECHO_REPLY -> "echo-reply";
            case IcmpFlyweight.V6_PACKET_TOO_BIG -> "packet-too-big mtu " + icmp.v6Mtu();
            case IcmpFlyweight.V6_DESTINATION_UNREACHABLE -> "unreachable code " + icmp.code();
            case IcmpFlyweight.V6_TIME_EXCEEDED -> "time-exceeded";
            case IcmpFlyweight.V6_NEIGHBOR_SOLICITATION -> "neighbor-solicitation";
            case IcmpFlyweight.V6_NEIGHBOR_ADVERTISEMENT -> "neighbor-advertisement";
            case IcmpFlyweight.V6_ROUTER_SOLICITATION -> "router-solicitation";
            case IcmpFlyweight.V6_ROUTER_ADVERTISEMENT -> "router-advertisement";
            default -> "type " + type + " code " + icmp.code();
        } : switch (type)
        {
            case IcmpFlyweight.V4_ECHO_REQUEST -> "echo-request";
            case IcmpFlyweight.V4_ECHO_REPLY -> "echo-reply";
            case IcmpFlyweight.V4_DESTINATION_UNREACHABLE -> icmp.code() == IcmpFlyweight.V4_CODE_FRAGMENTATION_NEEDED ?
                "frag-needed mtu " + icmp.nextHopMtu() : "unreachable code " + icmp.code();
            case IcmpFlyweight.V4_TIME_EXCEEDED -> "time-exceeded";
            default -> "type " + type + " code " + icmp.code();
        };
        text.append(name);
        if (name.startsWith("echo"))
        {
            text.append(" id ").append(icmp.identifier()).append(" seq ").append(icmp.sequence());
        }
    }

    private void describeOverlay(final StringBuilder text, final MemorySegment segment, final FrameLayout layout)
    {
        if (layout.overlayType() == FrameLayout.OVERLAY_VXLAN)
        {
            text.append("vxlan vni ").append(layout.vni()).append(String.format(" (0x%x)", layout.vni()));
            return;
        }
        geneve.wrap(segment, layout.overlayOffset());
        text.append("geneve vni ").append(layout.vni()).append(String.format(" (0x%x)", layout.vni()))
            .append(String.format(" proto 0x%04x", layout.geneveProtocol()));
        if (geneve.isOam())
        {
            text.append(" [O]");
        }
        if (geneve.hasCriticalOptions())
        {
            text.append(" [C]");
        }
        final int end = geneve.optionsLength();
        if (end > 0)
        {
            text.append(" options [");
            int at = 0;
            while (at + GeneveFlyweight.OPTION_HEADER_LENGTH <= end)
            {
                if (at > 0)
                {
                    text.append(", ");
                }
                final int dataLength = geneve.optionDataLength(at);
                final int type = geneve.optionType(at);
                text.append(String.format("class 0x%x type 0x%x%s len %d data ", geneve.optionClass(at), type,
                    (type & GeneveFlyweight.OPTION_TYPE_CRITICAL) != 0 ? "(C)" : "",
                    GeneveFlyweight.OPTION_HEADER_LENGTH + dataLength));
                final long dataAt = layout.overlayOffset() + GeneveFlyweight.OPTIONS_OFFSET + at + GeneveFlyweight.OPTION_HEADER_LENGTH;
                for (int i = 0; i < dataLength; i++)
                {
                    if (i > 0 && i % 4 == 0)
                    {
                        text.append(' ');
                    }
                    text.append(String.format("%02x", segment.get(ValueLayout.JAVA_BYTE, dataAt + i) & 0xFF));
                }
                at += GeneveFlyweight.OPTION_HEADER_LENGTH + dataLength;
            }
            text.append(']');
        }
    }

    private static void appendFlags(final StringBuilder text, final FrameLayout layout)
    {
        if (layout.hasFlag(FrameLayout.FLAG_UDP_NO_CHECKSUM))
        {
            text.append(" [no cksum]");
        }
        if (layout.hasFlag(FrameLayout.FLAG_L4_CHECKSUM_VERIFIED))
        {
            text.append(" [cksum ok]");
        }
        if (layout.hasFlag(FrameLayout.FLAG_L4_CHECKSUM_PARTIAL))
        {
            text.append(" [cksum partial]");
        }
        if (layout.hasFlag(FrameLayout.FLAG_SUPER_PACKET))
        {
            text.append(" [super-packet]");
        }
    }
}
