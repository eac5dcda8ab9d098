package io.vsnic.dataplane.pipeline;

import java.lang.foreign.MemorySegment;

import io.vsnic.dataplane.buffer.Frame;
import io.vsnic.dataplane.protocol.EthernetFlyweight;
import io.vsnic.dataplane.protocol.IcmpFlyweight;
import io.vsnic.dataplane.protocol.IpProtocol;
import io.vsnic.dataplane.protocol.Ipv4Flyweight;
import io.vsnic.dataplane.protocol.Ipv6Flyweight;

/**
 * Builds ICMP and ICMPv6 error messages (RFC 792 / RFC 1191 / RFC 4443) from the gateway to the
 * sender of an offending packet, into a fresh frame: Ethernet from the gateway MAC to the sender's
 * MAC, IP from the gateway address, and as much of the offending packet as fits (576 bytes in total
 * for ICMPv4 as RFC 1812 section 4.3.2.3 recommends, the IPv6 minimum MTU of 1280 for ICMPv6).
 * One instance per worker; allocates nothing.
 */
final class IcmpWriter
{
    private static final int MAX_ICMPV4_IP_LENGTH = 576;
    private static final int MAX_ICMPV6_IP_LENGTH = 1280;
    private static final int TTL = 64;

    private final EthernetFlyweight ethernet = new EthernetFlyweight();
    private final Ipv4Flyweight ipv4 = new Ipv4Flyweight();
    private final Ipv6Flyweight ipv6 = new Ipv6Flyweight();
    private final IcmpFlyweight icmp = new IcmpFlyweight();
    private int identification;

    /**
     * Writes an ICMPv4 error into {@code out}.
     *
     * @param in             the offending frame.
     * @param l3Offset       offset of its IPv4 header.
     * @param l3Length       its IPv4 total length.
     * @param out            an empty frame to fill.
     * @param gatewayMac     source MAC.
     * @param gateway        source IPv4 address (the gateway).
     * @param type           ICMP type.
     * @param code           ICMP code.
     * @param mtu            next-hop MTU for "fragmentation needed", else 0.
     */
    void writeV4(
        final Frame in, final int l3Offset, final int l3Length, final Frame out, final long gatewayMac, final int gateway,
        final int type, final int code, final int mtu)
    {
        final MemorySegment src = in.segment();
        ipv4.wrap(src, l3Offset);
        final int destination = ipv4.source();
        ethernet.wrap(src, in.start());
        final long destinationMac = ethernet.source();

        final int quoted = Math.min(l3Length, MAX_ICMPV4_IP_LENGTH - Ipv4Flyweight.MIN_HEADER_LENGTH - IcmpFlyweight.HEADER_LENGTH);
        final int ipLength = Ipv4Flyweight.MIN_HEADER_LENGTH + IcmpFlyweight.HEADER_LENGTH + quoted;
        final int start = out.start();
        final MemorySegment dst = out.segment();
        ethernet.wrap(dst, start);
        ethernet.destination(destinationMac).source(gatewayMac).etherType(EthernetFlyweight.ETHER_TYPE_IPV4);
        final int ip = start + EthernetFlyweight.HEADER_LENGTH;
        ipv4.wrap(dst, ip);
        ipv4.versionAndHeaderLength(Ipv4Flyweight.MIN_HEADER_LENGTH).tos(0xC0).totalLength(ipLength)
            .identification(identification++ & 0xFFFF).flagsAndFragmentOffset(0).ttl(TTL).protocol(IpProtocol.ICMP)
            .source(gateway).destination(destination).updateChecksum();
        final int icmpOffset = ip + Ipv4Flyweight.MIN_HEADER_LENGTH;
        icmp.wrap(dst, icmpOffset);
        icmp.type(type).code(code).identifier(0).sequence(0);
        if (mtu > 0)
        {
            icmp.nextHopMtu(mtu);
        }
        MemorySegment.copy(src, l3Offset, dst, icmpOffset + IcmpFlyweight.HEADER_LENGTH, quoted);
        icmp.updateChecksumV4(IcmpFlyweight.HEADER_LENGTH + quoted);
        out.length(EthernetFlyweight.HEADER_LENGTH + ipLength);
    }

    /**
     * Writes an ICMPv6 error into {@code out}.
     *
     * @param mtu the MTU for "packet too big", else 0 (the second word is then zero, or the pointer for
     *            parameter problems, which we do not send).
     */
    void writeV6(
        final Frame in, final int l3Offset, final int l3Length, final Frame out, final long gatewayMac,
        final long gatewayHigh, final long gatewayLow, final int type, final int code, final int mtu)
    {
        final MemorySegment src = in.segment();
        ethernet.wrap(src, in.start());
        final long destinationMac = ethernet.source();
        final int quoted = Math.min(l3Length, MAX_ICMPV6_IP_LENGTH - Ipv6Flyweight.HEADER_LENGTH - IcmpFlyweight.HEADER_LENGTH);
        final int icmpLength = IcmpFlyweight.HEADER_LENGTH + quoted;
        final int start = out.start();
        final MemorySegment dst = out.segment();
        ethernet.wrap(dst, start);
        ethernet.destination(destinationMac).source(gatewayMac).etherType(EthernetFlyweight.ETHER_TYPE_IPV6);
        final int ip = start + EthernetFlyweight.HEADER_LENGTH;
        ipv6.wrap(dst, ip);
        ipv6.versionClassFlow(0, 0).payloadLength(icmpLength).nextHeader(IpProtocol.ICMPV6).hopLimit(255)
            .source(gatewayHigh, gatewayLow);
        MemorySegment.copy(src, l3Offset + Ipv6Flyweight.SOURCE_OFFSET, dst, ip + Ipv6Flyweight.DESTINATION_OFFSET, 16);
        final int icmpOffset = ip + Ipv6Flyweight.HEADER_LENGTH;
        icmp.wrap(dst, icmpOffset);
        icmp.type(type).code(code).v6Mtu(mtu);
        MemorySegment.copy(src, l3Offset, dst, icmpOffset + IcmpFlyweight.HEADER_LENGTH, quoted);
        icmp.updateChecksumV6(ip, icmpLength);
        out.length(EthernetFlyweight.HEADER_LENGTH + Ipv6Flyweight.HEADER_LENGTH + icmpLength);
    }
}
