package io.vsnic.dataplane.offload;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import io.vsnic.dataplane.protocol.EthernetFlyweight;
import io.vsnic.dataplane.protocol.Flyweight;
import io.vsnic.dataplane.protocol.IpProtocol;
import io.vsnic.dataplane.protocol.Ipv4Flyweight;
import io.vsnic.dataplane.protocol.Ipv6Flyweight;
import io.vsnic.dataplane.protocol.TcpFlyweight;

/**
 * The header offsets the segmenter and the coalescer need, found by one short walk: Ethernet
 * (untagged or one 802.1Q/802.1ad tag), IPv4 (with or without options) or IPv6 without extension
 * headers, then TCP or UDP. Offsets are absolute in the frame's segment. Reused per frame; one
 * instance per thread.
 */
final class PacketHeaders
{
    static final int L3_IPV4 = 4;
    static final int L3_IPV6 = 6;
    static final int UDP_HEADER_LENGTH = 8;
    static final int UDP_LENGTH_OFFSET = 4;
    static final int UDP_CHECKSUM_OFFSET = 6;

    int l3Type;
    int l3Offset;
    int ipHeaderLength;
    /** Length of the IP packet according to its header (total length, or 40 + payload length). */
    int l3Length;
    int protocol;
    int l4Offset;
    int l4HeaderLength;
    /** Bytes from the frame start to the payload. */
    int headerLength;
    /** Payload bytes after the L4 header. */
    int payloadLength;

    /**
     * @return true when the frame holds a complete TCP or UDP packet in IPv4/IPv6 whose lengths agree
     *     with the frame (the frame may carry Ethernet padding after the IP packet).
     */
    boolean parse(final MemorySegment segment, final int start, final int length)
    {
        if (length < EthernetFlyweight.HEADER_LENGTH + Ipv4Flyweight.MIN_HEADER_LENGTH)
        {
            return false;
        }
        int l3 = start + EthernetFlyweight.HEADER_LENGTH;
        int etherType = segment.get(Flyweight.U16, start + 12) & 0xFFFF;
        if (etherType == 0x8100 || etherType == 0x88A8)
        {
            etherType = segment.get(Flyweight.U16, start + 16) & 0xFFFF;
            l3 += 4;
        }
        final int end = start + length;
        if (etherType == EthernetFlyweight.ETHER_TYPE_IPV4)
        {
            if (end - l3 < Ipv4Flyweight.MIN_HEADER_LENGTH)
            {
                return false;
            }
            final int versionIhl = segment.get(ValueLayout.JAVA_BYTE, l3) & 0xFF;
            ipHeaderLength = (versionIhl & 0x0F) * 4;
            l3Length = segment.get(Flyweight.U16, l3 + Ipv4Flyweight.TOTAL_LENGTH_OFFSET) & 0xFFFF;
            final int fragment = segment.get(Flyweight.U16, l3 + Ipv4Flyweight.FLAGS_FRAGMENT_OFFSET) &
                (Ipv4Flyweight.FLAG_MORE_FRAGMENTS | Ipv4Flyweight.FRAGMENT_OFFSET_MASK);
            if (versionIhl >>> 4 != 4 || ipHeaderLength < Ipv4Flyweight.MIN_HEADER_LENGTH || fragment != 0)
            {
                return false;
            }
            protocol = segment.get(ValueLayout.JAVA_BYTE, l3 + Ipv4Flyweight.PROTOCOL_OFFSET) & 0xFF;
            l3Type = L3_IPV4;
        }
        else if (etherType == EthernetFlyweight.ETHER_TYPE_IPV6)
        {
            if (end - l3 < Ipv6Flyweight.HEADER_LENGTH || (segment.get(ValueLayout.JAVA_BYTE, l3) & 0xF0) != 0x60)
            {
                return false;
            }
            ipHeaderLength = Ipv6Flyweight.HEADER_LENGTH;
            l3Length = Ipv6Flyweight.HEADER_LENGTH + (segment.get(Flyweight.U16, l3 + 4) & 0xFFFF);
            protocol = segment.get(ValueLayout.JAVA_BYTE, l3 + 6) & 0xFF;
            l3Type = L3_IPV6;
        }
        else
        {
            return false;
        }
        l3Offset = l3;
        if (l3Length < ipHeaderLength || l3Length > end - l3)
        {
            return false;
        }
        l4Offset = l3 + ipHeaderLength;
        final int l4Available = l3Length - ipHeaderLength;
        if (protocol == IpProtocol.TCP)
        {
            if (l4Available < TcpFlyweight.MIN_HEADER_LENGTH)
            {
                return false;
            }
            l4HeaderLength = ((segment.get(ValueLayout.JAVA_BYTE, l4Offset + TcpFlyweight.DATA_OFFSET_OFFSET) & 0xF0) >>> 4) * 4;
            if (l4HeaderLength < TcpFlyweight.MIN_HEADER_LENGTH || l4HeaderLength > l4Available)
            {
                return false;
            }
        }
        else if (protocol == IpProtocol.UDP)
        {
            if (l4Available < UDP_HEADER_LENGTH)
            {
                return false;
            }
            l4HeaderLength = UDP_HEADER_LENGTH;
        }
        else
        {
            return false;
        }
        headerLength = l4Offset + l4HeaderLength - start;
        payloadLength = l3Offset + l3Length - (l4Offset + l4HeaderLength);
        return true;
    }

    /**
     * @return the unfolded pseudo-header sum for an L4 length.
     */
    long pseudoHeaderSum(final MemorySegment segment, final int l3, final int l4Length)
    {
        if (l3Type == L3_IPV4)
        {
            return (segment.get(Flyweight.U32, l3 + Ipv4Flyweight.SOURCE_OFFSET) & 0xFFFF_FFFFL) +
                (segment.get(Flyweight.U32, l3 + Ipv4Flyweight.DESTINATION_OFFSET) & 0xFFFF_FFFFL) + protocol + l4Length;
        }
        return io.vsnic.dataplane.protocol.Checksums.pseudoHeaderSumIpv6(segment, l3 + Ipv6Flyweight.SOURCE_OFFSET,
            protocol, l4Length);
    }

    /**
     * @return offset of the checksum field inside the L4 header.
     */
    int checksumFieldOffset()
    {
        return protocol == IpProtocol.TCP ? TcpFlyweight.CHECKSUM_OFFSET : UDP_CHECKSUM_OFFSET;
    }
}
