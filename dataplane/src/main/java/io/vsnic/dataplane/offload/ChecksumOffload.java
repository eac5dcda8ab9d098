package io.vsnic.dataplane.offload;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import io.vsnic.dataplane.buffer.Frame;
import io.vsnic.dataplane.protocol.Checksums;
import io.vsnic.dataplane.protocol.EthernetFlyweight;
import io.vsnic.dataplane.protocol.Flyweight;
import io.vsnic.dataplane.protocol.IpProtocol;
import io.vsnic.dataplane.protocol.Ipv4Flyweight;
import io.vsnic.dataplane.protocol.Ipv6Flyweight;
import io.vsnic.dataplane.protocol.TcpFlyweight;

/**
 * What a NIC with checksum offload does, in software, for a frame whose L4 checksum is partial
 * ({@link Frame#checksumPartial()}, virtio {@code NEEDS_CSUM}): {@link #complete} finishes it the way
 * virtio defines it (the one's-complement sum from {@code csum_start} to the end of the IP packet,
 * stored at {@code csum_start + csum_offset}); {@link #headerLength} gives the {@code hdr_len} of a
 * virtio-net header for a super-frame.
 *
 * <p>Stateless and allocation-free: safe from any thread (a port's transmit runs on every worker).
 */
public final class ChecksumOffload
{
    private ChecksumOffload()
    {
    }

    /**
     * Completes a partial checksum in place and marks the frame complete. A frame that is not partial
     * is left alone.
     *
     * @return false when the partial range does not lie inside the frame's IP packet (the frame is left
     *     unchanged and should be dropped).
     */
    public static boolean complete(final Frame frame)
    {
        if (!frame.checksumPartial())
        {
            return true;
        }
        final MemorySegment segment = frame.segment();
        final int start = frame.start();
        final int end = ipEnd(segment, start, frame.length());
        final int from = start + frame.csumStart();
        final int field = from + frame.csumOffset();
        if (end < 0 || from >= end || field + 2 > end)
        {
            return false;
        }
        final int protocol = segment.get(ValueLayout.JAVA_BYTE, protocolOffset(segment, start)) & 0xFF;
        int checksum = ~Checksums.fold(Checksums.sum(segment, from, end - from, 0)) & 0xFFFF;
        if (checksum == 0 && protocol == IpProtocol.UDP)
        {
            checksum = 0xFFFF;
        }
        segment.set(Flyweight.U16, field, (short)checksum);
        frame.checksumPartial(-1, 0);
        return true;
    }

    /**
     * @return the {@code hdr_len} of a virtio-net header for the frame: the bytes up to the end of the
     *     L4 header (TCP with its options when the checksum field sits at the TCP offset, else UDP's
     *     8 bytes) when the checksum is partial; 0 (unknown, the kernel then finds it) otherwise.
     */
    public static int headerLength(final Frame frame)
    {
        if (!frame.checksumPartial())
        {
            return 0;
        }
        final MemorySegment segment = frame.segment();
        final int l4 = frame.start() + frame.csumStart();
        if (frame.csumOffset() == TcpFlyweight.CHECKSUM_OFFSET && l4 + TcpFlyweight.MIN_HEADER_LENGTH <= frame.start() + frame.length())
        {
            return frame.csumStart() +
                ((segment.get(ValueLayout.JAVA_BYTE, l4 + TcpFlyweight.DATA_OFFSET_OFFSET) & 0xF0) >>> 4) * 4;
        }
        return frame.csumStart() + PacketHeaders.UDP_HEADER_LENGTH;
    }

    /**
     * @return the offset just past the IP packet of an Ethernet frame (without padding), or -1 when
     *     it is not IPv4/IPv6 or its length field disagrees with the frame.
     */
    static int ipEnd(final MemorySegment segment, final int start, final int length)
    {
        if (length < EthernetFlyweight.HEADER_LENGTH + Ipv4Flyweight.MIN_HEADER_LENGTH)
        {
            return -1;
        }
        final int l3 = l3Offset(segment, start);
        final int etherType = segment.get(Flyweight.U16, l3 - 2) & 0xFFFF;
        final int ipLength;
        if (etherType == EthernetFlyweight.ETHER_TYPE_IPV4)
        {
            ipLength = segment.get(Flyweight.U16, l3 + Ipv4Flyweight.TOTAL_LENGTH_OFFSET) & 0xFFFF;
        }
        else if (etherType == EthernetFlyweight.ETHER_TYPE_IPV6)
        {
            ipLength = Ipv6Flyweight.HEADER_LENGTH + (segment.get(Flyweight.U16, l3 + 4) & 0xFFFF);
        }
        else
        {
            return -1;
        }
        return l3 + ipLength > start + length ? -1 : l3 + ipLength;
    }

    private static int l3Offset(final MemorySegment segment, final int start)
    {
        final int etherType = segment.get(Flyweight.U16, start + 12) & 0xFFFF;
        return etherType == 0x8100 || etherType == 0x88A8 ? start + 18 : start + EthernetFlyweight.HEADER_LENGTH;
    }

    private static int protocolOffset(final MemorySegment segment, final int start)
    {
        final int l3 = l3Offset(segment, start);
        return (segment.get(Flyweight.U16, l3 - 2) & 0xFFFF) == EthernetFlyweight.ETHER_TYPE_IPV4 ?
            l3 + Ipv4Flyweight.PROTOCOL_OFFSET : l3 + 6;
    }
}
