package io.vsnic.dataplane.offload;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import io.vsnic.dataplane.buffer.Frame;
import io.vsnic.dataplane.buffer.FramePool;
import io.vsnic.dataplane.protocol.Checksums;
import io.vsnic.dataplane.protocol.Flyweight;
import io.vsnic.dataplane.protocol.IpProtocol;
import io.vsnic.dataplane.protocol.Ipv4Flyweight;
import io.vsnic.dataplane.protocol.TcpFlyweight;
import io.vsnic.dataplane.status.DropReason;

/**
 * Software segmentation offload (TSO/USO): cuts a super-frame ({@link Frame#isSuperFrame()}) into
 * frames whose payload is at most {@link Frame#gsoSize()} bytes, as a NIC would on the wire.
 *
 * <p>Every segment gets a copy of the headers with: the IP length (IPv4 total length, IPv6 payload
 * length); for IPv4 an identification incremented by one per segment from the super-frame's and a
 * recomputed header checksum; for TCP the sequence number advanced by the payload before it, FIN
 * and PSH only on the last segment, CWR only on the first (RFC 3168 section 6.1.2 semantics of
 * {@code VIRTIO_NET_HDR_GSO_ECN} / Linux {@code tcp_gso_segment}); for UDP ({@code GSO_UDP_L4})
 * the UDP length. The L4 checksum is either complete ({@link #CHECKSUM_COMPLETE}) or left partial
 * for a receiver that completes it ({@link #CHECKSUM_PARTIAL}: the field holds the folded
 * pseudo-header sum and the frame records {@link Frame#checksumPartial(int, int)}). Whatever the
 * super-frame's checksum field held is ignored: each segment's is computed from its bytes.
 *
 * <p>Supported: {@code GSO_TCPV4}, {@code GSO_TCPV6} (both with or without the ECN bit),
 * {@code GSO_UDP_L4}, over untagged or single-tagged Ethernet, IPv4 with options, IPv6 without
 * extension headers. {@code GSO_UDP} (UFO, which fragments at the IP layer) is refused.
 *
 * <p>A chained cut ({@link #CHAINED}) copies only the headers: each segment's payload stays in the
 * super-frame and the segment {@link Frame#refer refers} to it, for a port that sends the two parts as
 * one frame ({@code Port.OFFLOAD_CHAINED}). Every segment still fits one pool slot, so that it can be
 * {@link Frame#flatten() flattened} wherever it must be whole.
 *
 * <p>Per call: one {@link FramePool#acquire()} and one copy per segment; nothing else is allocated.
 * A failure is a drop reason, never an exception; segments already built are released. One
 * instance per thread.
 */
public final class Segmenter
{
    /** Each segment's L4 checksum is computed in full. */
    public static final boolean CHECKSUM_COMPLETE = true;
    /** Each segment's L4 checksum is left partial (NEEDS_CSUM) for a receiver that completes it. */
    public static final boolean CHECKSUM_PARTIAL = false;
    /** Segments refer to their payload in the super-frame ({@link Frame#refer}) instead of copying it. */
    public static final boolean CHAINED = true;
    /** Segments hold a copy of their payload. */
    public static final boolean COPIED = false;

    private final PacketHeaders headers = new PacketHeaders();
    private long segmentsBuilt;
    private long superFramesCut;

    /**
     * Cuts {@code superFrame} into segments written to {@code out[at..at + n)}. The super-frame is
     * left untouched; the caller keeps owning (and releases) it.
     *
     * @param superFrame        the super-frame; its {@link Frame#gsoType()} and {@link Frame#gsoSize()} say how.
     * @param pool              where the segments come from (each must fit one of its slots).
     * @param completeChecksums {@link #CHECKSUM_COMPLETE} or {@link #CHECKSUM_PARTIAL}.
     * @param out               receives the segments, which the caller then owns.
     * @param at                first index to fill.
     * @return the number of segments {@code n > 0}, or minus the {@link DropReason} ordinal:
     *     {@code SEGMENTATION_FAILED}, {@code OVERSIZE} (a segment does not fit a slot),
     *     {@code POOL_EXHAUSTED}.
     */
    public int segment(
        final Frame superFrame, final FramePool pool, final boolean completeChecksums, final Frame[] out, final int at)
    {
        return segment(superFrame, pool, completeChecksums, COPIED, out, at);
    }

    /**
     * Cuts {@code superFrame} into segments written to {@code out[at..at + n)}, their payload copied
     * ({@link #COPIED}) or referred to ({@link #CHAINED}: the segments hold the super-frame back from its
     * pool until they are released, and all of them stay on the calling thread). The super-frame is
     * left untouched; the caller keeps owning (and releases) it.
     *
     * @param superFrame        the super-frame; its {@link Frame#gsoType()} and {@link Frame#gsoSize()} say how.
     * @param pool              where the segments come from (each must fit one of its slots).
     * @param completeChecksums {@link #CHECKSUM_COMPLETE} or {@link #CHECKSUM_PARTIAL}.
     * @param chained           {@link #CHAINED} or {@link #COPIED}.
     * @param out               receives the segments, which the caller then owns.
     * @param at                first index to fill.
     * @return the number of segments {@code n > 0}, or minus the {@link DropReason} ordinal, as
     *     {@link #segment(Frame, FramePool, boolean, Frame[], int)}.
     */
    public int segment(final Frame superFrame, final FramePool pool, final boolean completeChecksums, final boolean chained,
        final Frame[] out, final int at)
    {
        final MemorySegment source = superFrame.segment();
        final int base = superFrame.start();
        final int gsoType = VirtioNetHeader.baseType(superFrame.gsoType());
        final int gsoSize = superFrame.gsoSize();
        if (!headers.parse(source, base, superFrame.length()) || gsoSize <= 0 || !typeMatches(gsoType))
        {
            return -DropReason.SEGMENTATION_FAILED.ordinal();
        }
        final int headerLength = headers.headerLength;
        final int payload = headers.payloadLength;
        final int count = payload == 0 ? 1 : (payload + gsoSize - 1) / gsoSize;
        if (count > out.length - at)
        {
            return -DropReason.SEGMENTATION_FAILED.ordinal();
        }
        final int l3Relative = headers.l3Offset - base;
        final int l4Relative = headers.l4Offset - base;
        final boolean v4 = headers.l3Type == PacketHeaders.L3_IPV4;
        final boolean tcp = headers.protocol == IpProtocol.TCP;
        final int ipId = v4 ? source.get(Flyweight.U16, headers.l3Offset + Ipv4Flyweight.IDENTIFICATION_OFFSET) & 0xFFFF : 0;
        final long sequence = tcp ? source.get(Flyweight.U32, headers.l4Offset + TcpFlyweight.SEQUENCE_OFFSET) & 0xFFFF_FFFFL : 0;
        final int flags = tcp ? source.get(ValueLayout.JAVA_BYTE, headers.l4Offset + TcpFlyweight.FLAGS_OFFSET) & 0xFF : 0;
        final int checksumField = headers.checksumFieldOffset();
        // the IPv4 header's sum without its total length, identification and checksum: the same for every segment
        final long ipBase = v4 ? Checksums.sum(source, headers.l3Offset, headers.ipHeaderLength, 0)
            + (~source.get(Flyweight.U16, headers.l3Offset + Ipv4Flyweight.TOTAL_LENGTH_OFFSET) & 0xFFFF)
            + (~ipId & 0xFFFF)
            + (~source.get(Flyweight.U16, headers.l3Offset + Ipv4Flyweight.CHECKSUM_OFFSET) & 0xFFFF) : 0;

        for (int k = 0; k < count; k++)
        {
            final int chunk = Math.min(gsoSize, payload - k * gsoSize);
            final Frame segment = pool.acquire();
            final int reason = segment == null ? DropReason.POOL_EXHAUSTED.ordinal() :
                headerLength + Math.max(chunk, 0) > segment.maxFrameBytes() ? DropReason.OVERSIZE.ordinal() : 0;
            if (reason != 0)
            {
                if (segment != null)
                {
                    segment.release();
                }
                for (int j = 0; j < k; j++)
                {
                    out[at + j].release();
                    out[at + j] = null;
                }
                return -reason;
            }
            final MemorySegment target = segment.segment();
            final int start = segment.start();
            MemorySegment.copy(source, base, target, start, headerLength);
            final long payloadAt = base + headerLength + (long)k * gsoSize;
            if (chunk > 0 && chained && segment.refer(superFrame, payloadAt, chunk))
            {
                segment.length(headerLength);
            }
            else
            {
                if (chunk > 0)
                {
                    MemorySegment.copy(source, payloadAt, target, start + headerLength, chunk);
                }
                segment.length(headerLength + Math.max(chunk, 0));
            }
            segment.port(superFrame.port()).vni(superFrame.vni()).peerDevice(superFrame.peerDevice())
                .timestampNs(superFrame.timestampNs());
            final int l3 = start + l3Relative;
            final int l4 = start + l4Relative;
            final int l4Length = headers.l4HeaderLength + Math.max(chunk, 0);
            if (v4)
            {
                final int totalLength = headers.ipHeaderLength + l4Length;
                final int id = (ipId + k) & 0xFFFF;
                target.set(Flyweight.U16, l3 + Ipv4Flyweight.TOTAL_LENGTH_OFFSET, (short)totalLength);
                target.set(Flyweight.U16, l3 + Ipv4Flyweight.IDENTIFICATION_OFFSET, (short)id);
                // RFC 1624: the two changed fields added to the constant rest, not the header summed again
                target.set(Flyweight.U16, l3 + Ipv4Flyweight.CHECKSUM_OFFSET, (short)(~Checksums.fold(ipBase + totalLength + id)));
            }
            else
            {
                target.set(Flyweight.U16, l3 + 4, (short)(headers.ipHeaderLength - 40 + l4Length));
            }
            if (tcp)
            {
                target.set(Flyweight.U32, l4 + TcpFlyweight.SEQUENCE_OFFSET, (int)(sequence + (long)k * gsoSize));
                int segmentFlags = flags;
                if (k > 0)
                {
                    segmentFlags &= ~TcpFlyweight.CWR;
                }
                if (k < count - 1)
                {
                    segmentFlags &= ~(TcpFlyweight.FIN | TcpFlyweight.PSH);
                }
                target.set(ValueLayout.JAVA_BYTE, l4 + TcpFlyweight.FLAGS_OFFSET, (byte)segmentFlags);
            }
            else
            {
                target.set(Flyweight.U16, l4 + PacketHeaders.UDP_LENGTH_OFFSET, (short)l4Length);
            }
            final long pseudo = headers.pseudoHeaderSum(target, l3, l4Length);
            if (completeChecksums)
            {
                target.set(Flyweight.U16, l4 + checksumField, (short)0);
                // the L4 header's length is even (TCP: 4-byte words, UDP: 8), so the payload's sum continues it
                final long sum = segment.refersToOther() ?
                    Checksums.sum(source, payloadAt, chunk, Checksums.sum(target, l4, headers.l4HeaderLength, pseudo)) :
                    Checksums.sum(target, l4, l4Length, pseudo);
                int checksum = ~Checksums.fold(sum) & 0xFFFF;
                if (checksum == 0 && !tcp)
                {
                    checksum = 0xFFFF;
                }
                target.set(Flyweight.U16, l4 + checksumField, (short)checksum);
            }
            else
            {
                target.set(Flyweight.U16, l4 + checksumField, (short)Checksums.fold(pseudo));
                segment.checksumPartial(l4Relative, checksumField);
            }
            out[at + k] = segment;
        }
        segmentsBuilt += count;
        superFramesCut++;
        return count;
    }

    private boolean typeMatches(final int gsoType)
    {
        return switch (gsoType)
        {
            case VirtioNetHeader.GSO_TCPV4 -> headers.l3Type == PacketHeaders.L3_IPV4 && headers.protocol == IpProtocol.TCP;
            case VirtioNetHeader.GSO_TCPV6 -> headers.l3Type == PacketHeaders.L3_IPV6 && headers.protocol == IpProtocol.TCP;
            case VirtioNetHeader.GSO_UDP_L4 -> headers.protocol == IpProtocol.UDP;
            default -> false;
        };
    }

    /**
     * @return how many segments this segmenter built.
     */
    public long segmentsBuilt()
    {
        return segmentsBuilt;
    }

    /**
     * @return how many super-frames it cut.
     */
    public long superFramesCut()
    {
        return superFramesCut;
    }
}
