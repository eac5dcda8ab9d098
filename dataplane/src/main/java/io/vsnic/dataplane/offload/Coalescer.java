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

/**
 * Software receive offload (GRO) for TCP: merges consecutive in-order segments of one flow into
 * one super-frame with {@link Frame#gso(int, int)} set, to be written to a receiver that takes
 * super-frames (a TAP with TSO offloads) in one call.
 *
 * <p>The rules are Linux's {@code tcp_gro_receive}/{@code inet_gro_receive}. A segment joins the
 * open super-frame when it has the same addresses and ports; the same IPv4 TOS, TTL and DF (and
 * an identification one above the previous segment's) or the same IPv6 version/class/flow label
 * and hop limit; the same TCP header length and option bytes, acknowledgment number and flags
 * other than CWR, PSH and FIN; the next sequence number; a payload no longer than the first
 * segment's (the {@code gso_size}); and the IP packet stays within 65,535 bytes and one slot of
 * the super-frame pool. Otherwise the open super-frame is emitted and the segment starts a new one
 * (when it carries CWR, or is of another flow, out of order, ...). A segment with PSH or FIN, or
 * shorter than {@code gso_size}, is merged and closes the super-frame. Segments with SYN, RST or
 * URG, IPv4 options or fragments, no payload, non-TCP frames, super-frames and frames whose TCP
 * checksum does not verify pass through unchanged, after the open super-frame (order is kept).
 * The caller calls {@link #flush} at the end of each receive batch, so nothing waits longer (a batch
 * that reads a buffer several times calls {@link #flushRange} before each refill).
 *
 * <p>Checksums: a segment is merged only when its TCP checksum verifies or is already marked
 * partial by a trusted local sender ({@link Frame#checksumPartial()}) or a peer device that left it
 * partial (the remote checksum Geneve option, see {@code OverlayHeaders}) or verified on the way in
 * ({@link Frame#checksumVerified()}: opened from an authenticated WireGuard message): the merged super-frame's
 * checksum is partial ({@link #CHECKSUM_PARTIAL}, NEEDS_CSUM for the receiver, as Linux hands GRO
 * packets on) or complete, as chosen. A single segment leaves as it came (no copy).
 *
 * <p>Memory: the first segment of a flow is held as is; when a second one joins, one frame of the
 * super-frame pool is acquired and both are copied into it (the segment frames are released).
 * When that pool is empty the segments pass through uncoalesced ({@link #poolExhausted()}).
 * Nothing else is allocated. One instance per thread.
 *
 * <p>Segments in someone else's buffer ({@link #addRange}: the datagrams of a UDP GRO batch, read by
 * the substrate) are merged without a frame of their own: the first is held as a range, and the
 * second and later ones are copied once, straight into the super-frame, instead of into a frame
 * each and then again into the super-frame. Only a range that stays alone gets a frame of its own.
 */
public final class Coalescer
{
    /** Emit merged super-frames with a complete TCP checksum. */
    public static final boolean CHECKSUM_COMPLETE = true;
    /** Emit merged super-frames with a partial TCP checksum (NEEDS_CSUM). */
    public static final boolean CHECKSUM_PARTIAL = false;
    /** Largest IP packet a super-frame may hold. */
    public static final int MAX_IP_LENGTH = 65_535;

    private static final int IPV4_ADDRESSES_OFFSET = 12;
    private static final int IPV6_ADDRESSES_OFFSET = 8;
    private static final int MERGEABLE_FLAG_MASK = TcpFlyweight.CWR | TcpFlyweight.PSH | TcpFlyweight.FIN;
    private static final int CLOSING_FLAGS = TcpFlyweight.PSH | TcpFlyweight.FIN;
    private static final int PASS_FLAGS = TcpFlyweight.SYN | TcpFlyweight.RST | TcpFlyweight.URG;

    private final FramePool superPool;
    private final boolean completeChecksums;
    private final PacketHeaders headers = new PacketHeaders();
    private final Ipv4Flyweight ipv4 = new Ipv4Flyweight();

    /**
     * The open super-frame: the first segment itself while {@link #segments} is 1, a super-pool frame
     * after; null while the first segment is a range ({@link #rangeOpen}).
     */
    private Frame open;
    /** Whether the open first segment is a range of someone else's buffer ({@link #addRange}), not yet copied. */
    private boolean rangeOpen;
    private MemorySegment rangeSegment;
    private int rangeStart;
    private int rangeLength;
    private int rangeVni;
    private int rangePeer;
    /** The open range's TCP checksum was left partial by its sender. */
    private boolean rangePartial;
    /** Where a range that ends up alone is copied to ({@link #addRange}'s pool). */
    private FramePool rangePool;
    private int segments;
    private int l3Type;
    private int l3Relative;
    private int l4Relative;
    private int ipHeaderLength;
    private int tcpHeaderLength;
    private int gsoSize;
    private int firstFlags;
    private int lastIpId;
    private long nextSequence;

    private long merged;
    private long superFrames;
    private long passed;
    private long poolExhausted;
    private long rangeBytes;
    private long rangeDrops;

    /**
     * @param superPool         where merged super-frames come from (slots large enough for 64 KiB).
     * @param completeChecksums {@link #CHECKSUM_COMPLETE} or {@link #CHECKSUM_PARTIAL}.
     */
    public Coalescer(final FramePool superPool, final boolean completeChecksums)
    {
        if (superPool == null)
        {
            throw new IllegalArgumentException("superPool is required");
        }
        this.superPool = superPool;
        this.completeChecksums = completeChecksums;
    }

    /**
     * Offers one frame. The coalescer takes it: it is either merged (and later released), held as
     * the start of a super-frame, or written to {@code out} (passed through). Frames that are
     * complete are written to {@code out} in order: the super-frame this frame closed or replaced,
     * then the frame itself when it passes through.
     *
     * @param frame a frame the caller owns.
     * @param out   receives finished frames (the caller owns them); room for two is needed.
     * @param at    the next free index of {@code out}.
     * @return the next free index of {@code out}.
     */
    public int add(final Frame frame, final Frame[] out, final int at)
    {
        int next = at;
        final MemorySegment segment = frame.segment();
        if (frame.isSuperFrame() ||
            !eligible(segment, frame.start(), frame.length(), frame.checksumPartial() || frame.checksumVerified(), -1, 0))
        {
            next = flush(out, next);
            out[next++] = frame;
            passed++;
            return next;
        }
        return offer(segment, frame.start(), frame.vni(), frame.peerDevice(), frame, false, out, next);
    }

    /**
     * Offers one decapsulated segment that sits in a buffer the caller owns (a datagram of a UDP GRO
     * batch), so that a segment which merges is copied once, straight into the super-frame, instead of
     * into a frame of its own first. The range must stay readable and unchanged until the next
     * {@link #flush}. A range that is not an eligible TCP segment is not taken: the open super-frame is
     * emitted (order is kept) and the caller handles the range itself. A range that stays alone is copied
     * at {@link #flush} into a frame of {@code pool} (its checksum marked verified); when that pool is
     * empty it is lost and counted ({@link #rangeDrops()}). A range longer than a frame of {@code pool}
     * is not taken.
     *
     * @param segment    the buffer.
     * @param start      where the inner Ethernet frame starts.
     * @param length     its length.
     * @param outer      bytes of outer header that preceded it in the datagram (only counted in {@link #rangeBytes()}).
     * @param vni        the VNI it arrived with (set on the frames made from it).
     * @param peerDevice the device it came from (likewise).
     * @param verified   whether its bytes were already authenticated (opened from a WireGuard message):
     *                   then its TCP checksum is not checked.
     * @param csumStart  where its sender left the TCP checksum partial (from {@code start}; the remote
     *                   checksum option), or -1: a range whose partial checksum is not its TCP checksum
     *                   is not taken; one that stays alone becomes a frame marked partial.
     * @param csumOffset the checksum field's offset from {@code csumStart}.
     * @param pool       the pool of ordinary frames for a range that stays alone.
     * @param out        receives finished frames; room for two is needed (and one more for the final {@link #flush}).
     * @param at         the next free index of {@code out}.
     * @return the next free index of {@code out} when the range was taken, or {@code ~next} (negative)
     *     when it was not: then {@code out[at..next)} holds what was emitted before it.
     */
    public int addRange(final MemorySegment segment, final int start, final int length, final int outer, final int vni,
        final int peerDevice, final boolean verified, final int csumStart, final int csumOffset, final FramePool pool,
        final Frame[] out, final int at)
    {
        int next = at;
        if (length > pool.slotBytes() - pool.headroomBytes() || !eligible(segment, start, length, verified, csumStart, csumOffset))
        {
            return ~flush(out, next);
        }
        rangeBytes += outer + length;
        rangePool = pool;
        return offer(segment, start, vni, peerDevice, null, csumStart >= 0, out, next);
    }

    /**
     * The merge step of {@link #add} and {@link #addRange} for an eligible segment (parsed into
     * {@link #headers}): appended to the open super-frame, or emitting it and starting the next.
     *
     * @param frame   the segment as a frame (released once appended, held when it starts a super-frame),
     *                or null for a range.
     * @param partial whether the range's TCP checksum was left partial by its sender (remote checksum option).
     */
    private int offer(final MemorySegment segment, final int start, final int vni, final int peerDevice, final Frame frame,
        final boolean partial, final Frame[] out, final int at)
    {
        int next = at;
        if (isOpen() && canMerge(segment, start, vni, peerDevice))
        {
            if (segments == 1 && !promote())
            {
                // No super-frame slot: emit what is open and start over with this segment.
                next = flush(out, next);
                begin(segment, start, vni, peerDevice, frame, partial);
                return next;
            }
            append(segment);
            final boolean closes = closes(segment);
            if (frame != null)
            {
                frame.release();
            }
            return closes ? flush(out, next) : next;
        }
        next = flush(out, next);
        begin(segment, start, vni, peerDevice, frame, partial);
        if ((firstFlags & CLOSING_FLAGS) != 0)
        {
            next = flush(out, next);
        }
        return next;
    }

    private void begin(final MemorySegment segment, final int start, final int vni, final int peerDevice, final Frame frame,
        final boolean partial)
    {
        if (frame != null)
        {
            start(frame);
        }
        else
        {
            startRange(segment, start, vni, peerDevice, partial);
        }
    }

    /**
     * Emits the open super-frame, if any (call at the end of every receive batch).
     *
     * @return the next free index of {@code out}.
     */
    public int flush(final Frame[] out, final int at)
    {
        if (rangeOpen)
        {
            rangeOpen = false;
            segments = 0;
            final Frame frame = rangePool.acquire();
            if (frame == null)
            {
                rangeDrops++;
                return at;
            }
            frame.copyFrom(rangeSegment, rangeStart, rangeLength);
            frame.vni(rangeVni).peerDevice(rangePeer).checksumVerified(true);
            if (rangePartial)
            {
                frame.checksumPartial(l4Relative, TcpFlyweight.CHECKSUM_OFFSET);
            }
            rangeSegment = null;
            out[at] = frame;
            return at + 1;
        }
        if (open == null)
        {
            return at;
        }
        final Frame frame = open;
        open = null;
        if (segments > 1)
        {
            finish(frame);
            superFrames++;
        }
        segments = 0;
        out[at] = frame;
        return at + 1;
    }

    /**
     * Emits the open super-frame only while it is a range of the caller's buffer ({@link #addRange}), so
     * that the buffer may be refilled: a super-frame already in a frame of its own stays open for the
     * segments of the next read (Linux holds GRO packets across polls the same way until the queue runs
     * dry). Call {@link #flush} once the reads are done.
     *
     * @return the next free index of {@code out}.
     */
    public int flushRange(final Frame[] out, final int at)
    {
        return rangeOpen ? flush(out, at) : at;
    }

    /**
     * @return true while a super-frame is open (not yet emitted).
     */
    public boolean hasOpen()
    {
        return isOpen();
    }

    private boolean isOpen()
    {
        return open != null || rangeOpen;
    }

    /**
     * @return segments merged into an earlier one (each saved one frame downstream).
     */
    public long mergedCount()
    {
        return merged;
    }

    /**
     * @return super-frames of two or more segments emitted.
     */
    public long superFrameCount()
    {
        return superFrames;
    }

    /**
     * @return frames that could not be coalesced and passed through.
     */
    public long passedCount()
    {
        return passed;
    }

    /**
     * @return bytes of the datagrams whose ranges {@link #addRange} took (merged or emitted alone), outer headers included.
     */
    public long rangeBytes()
    {
        return rangeBytes;
    }

    /**
     * @return ranges lost because the pool of ordinary frames was empty when one had to stand alone.
     */
    public long rangeDrops()
    {
        return rangeDrops;
    }

    /**
     * @return times the super-frame pool was empty when two segments could have been merged.
     */
    public long poolExhausted()
    {
        return poolExhausted;
    }

    /** Parses the segment into {@link #headers} and says whether it may be merged at all. */
    private boolean eligible(final MemorySegment segment, final int start, final int length, final boolean trusted,
        final int csumStart, final int csumOffset)
    {
        if (!headers.parse(segment, start, length) || headers.protocol != IpProtocol.TCP || headers.payloadLength == 0)
        {
            return false;
        }
        if (headers.l3Type == PacketHeaders.L3_IPV4 && headers.ipHeaderLength != Ipv4Flyweight.MIN_HEADER_LENGTH)
        {
            return false;
        }
        if ((headerFlags(segment) & PASS_FLAGS) != 0)
        {
            return false;
        }
        if (csumStart >= 0)
        {
            // left partial by the sender: nothing to verify, but it must be the TCP checksum
            return csumStart == headers.l4Offset - start && csumOffset == TcpFlyweight.CHECKSUM_OFFSET;
        }
        if (trusted)
        {
            return true;
        }
        // Untrusted bytes: the IPv4 header checksum too, as Linux's inet_gro_receive checks it. The
        // super-frame gets a fresh header checksum when it is emitted, so a damaged first header would
        // otherwise leave with a valid one.
        if (headers.l3Type == PacketHeaders.L3_IPV4)
        {
            ipv4.wrap(segment, headers.l3Offset);
            if (!ipv4.isChecksumValid())
            {
                return false;
            }
        }
        final int l4Length = headers.l3Length - headers.ipHeaderLength;
        final long pseudo = headers.pseudoHeaderSum(segment, headers.l3Offset, l4Length);
        return Checksums.fold(Checksums.sum(segment, headers.l4Offset, l4Length, pseudo)) == 0xFFFF;
    }

    private int headerFlags(final MemorySegment segment)
    {
        return segment.get(ValueLayout.JAVA_BYTE, headers.l4Offset + TcpFlyweight.FLAGS_OFFSET) & 0xFF;
    }

    /** Whether the segment just appended closes the super-frame (PSH or FIN, or shorter than the others). */
    private boolean closes(final MemorySegment segment)
    {
        return (headerFlags(segment) & CLOSING_FLAGS) != 0 || headers.payloadLength < gsoSize;
    }

    private void start(final Frame frame)
    {
        open = frame;
        startState(frame.segment(), frame.start());
        // The open frame may carry padding after the IP packet: trim it so appends land right after the payload.
        frame.length(headers.l3Offset - frame.start() + headers.l3Length);
    }

    private void startRange(final MemorySegment segment, final int start, final int vni, final int peerDevice,
        final boolean partial)
    {
        rangeOpen = true;
        rangePartial = partial;
        rangeSegment = segment;
        rangeStart = start;
        rangeVni = vni;
        rangePeer = peerDevice;
        startState(segment, start);
        rangeLength = headers.l3Offset - start + headers.l3Length;
    }

    /** The flow state of a new super-frame from its first segment (parsed into {@link #headers}). */
    private void startState(final MemorySegment segment, final int start)
    {
        segments = 1;
        l3Type = headers.l3Type;
        l3Relative = headers.l3Offset - start;
        l4Relative = headers.l4Offset - start;
        ipHeaderLength = headers.ipHeaderLength;
        tcpHeaderLength = headers.l4HeaderLength;
        gsoSize = headers.payloadLength;
        firstFlags = headerFlags(segment);
        lastIpId = l3Type == PacketHeaders.L3_IPV4 ?
            segment.get(Flyweight.U16, headers.l3Offset + Ipv4Flyweight.IDENTIFICATION_OFFSET) & 0xFFFF : 0;
        nextSequence = ((segment.get(Flyweight.U32, headers.l4Offset + TcpFlyweight.SEQUENCE_OFFSET) & 0xFFFF_FFFFL) +
            headers.payloadLength) & 0xFFFF_FFFFL;
    }

    /**
     * Compares the offered segment (parsed into {@link #headers}) with the open super-frame.
     */
    private boolean canMerge(final MemorySegment b, final int start, final int vni, final int peerDevice)
    {
        final MemorySegment a = rangeOpen ? rangeSegment : open.segment();
        final int openStart = rangeOpen ? rangeStart : open.start();
        final int openLength = rangeOpen ? rangeLength : open.length();
        final int openL3 = openStart + l3Relative;
        final int openL4 = openStart + l4Relative;
        final int l3 = headers.l3Offset;
        final int l4 = headers.l4Offset;
        if (headers.l3Type != l3Type || headers.l4HeaderLength != tcpHeaderLength || headers.l3Offset - start != l3Relative)
        {
            return false;
        }
        // Same network and sender: frames from the overlay carry their VNI and peer device.
        if (vni != (rangeOpen ? rangeVni : open.vni()) || peerDevice != (rangeOpen ? rangePeer : open.peerDevice()))
        {
            return false;
        }
        // Same flow: addresses and ports.
        if (l3Type == PacketHeaders.L3_IPV4)
        {
            if (a.get(Flyweight.U64, openL3 + IPV4_ADDRESSES_OFFSET) != b.get(Flyweight.U64, l3 + IPV4_ADDRESSES_OFFSET))
            {
                return false;
            }
        }
        else if (MemorySegment.mismatch(a, openL3 + IPV6_ADDRESSES_OFFSET, openL3 + IPV6_ADDRESSES_OFFSET + 32,
            b, l3 + IPV6_ADDRESSES_OFFSET, l3 + IPV6_ADDRESSES_OFFSET + 32) != -1)
        {
            return false;
        }
        if (a.get(Flyweight.U32, openL4) != b.get(Flyweight.U32, l4))
        {
            return false;
        }
        // Frame layer: same MACs and EtherType / tag.
        if (MemorySegment.mismatch(a, openStart, openL3, b, start, l3) != -1)
        {
            return false;
        }
        if (l3Type == PacketHeaders.L3_IPV4)
        {
            // TOS, TTL, DF must match; the identification must follow the previous segment's.
            if (a.get(ValueLayout.JAVA_BYTE, openL3 + 1) != b.get(ValueLayout.JAVA_BYTE, l3 + 1) ||
                a.get(ValueLayout.JAVA_BYTE, openL3 + 8) != b.get(ValueLayout.JAVA_BYTE, l3 + 8) ||
                ((a.get(Flyweight.U16, openL3 + 6) ^ b.get(Flyweight.U16, l3 + 6)) & Ipv4Flyweight.FLAG_DONT_FRAGMENT) != 0)
            {
                return false;
            }
            final int id = b.get(Flyweight.U16, l3 + Ipv4Flyweight.IDENTIFICATION_OFFSET) & 0xFFFF;
            if (id != ((lastIpId + 1) & 0xFFFF))
            {
                return false;
            }
        }
        else if (a.get(Flyweight.U32, openL3) != b.get(Flyweight.U32, l3) ||
            a.get(ValueLayout.JAVA_BYTE, openL3 + 7) != b.get(ValueLayout.JAVA_BYTE, l3 + 7))
        {
            return false;
        }
        final int flags = headerFlags(b);
        if (((flags ^ firstFlags) & ~MERGEABLE_FLAG_MASK) != 0 || (flags & TcpFlyweight.CWR) != 0)
        {
            return false;
        }
        if (a.get(Flyweight.U32, openL4 + TcpFlyweight.ACKNOWLEDGMENT_OFFSET) !=
            b.get(Flyweight.U32, l4 + TcpFlyweight.ACKNOWLEDGMENT_OFFSET))
        {
            return false;
        }
        if ((b.get(Flyweight.U32, l4 + TcpFlyweight.SEQUENCE_OFFSET) & 0xFFFF_FFFFL) != nextSequence)
        {
            return false;
        }
        if (tcpHeaderLength > TcpFlyweight.MIN_HEADER_LENGTH && MemorySegment.mismatch(
            a, openL4 + TcpFlyweight.MIN_HEADER_LENGTH, openL4 + tcpHeaderLength,
            b, l4 + TcpFlyweight.MIN_HEADER_LENGTH, l4 + tcpHeaderLength) != -1)
        {
            return false;
        }
        final int payload = headers.payloadLength;
        if (payload > gsoSize)
        {
            return false;
        }
        final int openIpLength = openLength - l3Relative;
        return openIpLength + payload <= MAX_IP_LENGTH &&
            (segments > 1 ? open.tailroom() : superPool.slotBytes() - superPool.headroomBytes() - openLength) >= payload;
    }

    /**
     * Moves the single open segment into a super-pool frame.
     */
    private boolean promote()
    {
        final Frame target = superPool.acquire();
        if (target == null)
        {
            poolExhausted++;
            return false;
        }
        if (rangeOpen)
        {
            target.copyFrom(rangeSegment, rangeStart, rangeLength);
            target.vni(rangeVni).peerDevice(rangePeer);
            rangeOpen = false;
            rangeSegment = null;
        }
        else
        {
            final Frame first = open;
            target.copyFrom(first.segment(), first.start(), first.length());
            target.port(first.port()).vni(first.vni()).peerDevice(first.peerDevice()).timestampNs(first.timestampNs());
            first.release();
        }
        open = target;
        return true;
    }

    /** Appends the payload of the offered segment (parsed into {@link #headers}) to the open super-frame. */
    private void append(final MemorySegment source)
    {
        final int payload = headers.payloadLength;
        final int at = open.start() + open.length();
        MemorySegment.copy(source, headers.l4Offset + headers.l4HeaderLength, open.segment(), at, payload);
        open.length(open.length() + payload);
        final int flags = headerFlags(source);
        final int openFlagsAt = open.start() + l4Relative + TcpFlyweight.FLAGS_OFFSET;
        final MemorySegment segment = open.segment();
        segment.set(ValueLayout.JAVA_BYTE, openFlagsAt,
            (byte)((segment.get(ValueLayout.JAVA_BYTE, openFlagsAt) & 0xFF) | (flags & CLOSING_FLAGS)));
        if (l3Type == PacketHeaders.L3_IPV4)
        {
            lastIpId = (lastIpId + 1) & 0xFFFF;
        }
        nextSequence = (nextSequence + payload) & 0xFFFF_FFFFL;
        segments++;
        merged++;
    }

    /**
     * Writes the lengths, the IPv4 header checksum, the TCP checksum and the offload metadata of a merged super-frame.
     */
    private void finish(final Frame frame)
    {
        final MemorySegment segment = frame.segment();
        final int l3 = frame.start() + l3Relative;
        final int l4 = frame.start() + l4Relative;
        final int l3Length = frame.length() - l3Relative;
        final int l4Length = l3Length - ipHeaderLength;
        final long pseudo;
        if (l3Type == PacketHeaders.L3_IPV4)
        {
            segment.set(Flyweight.U16, l3 + Ipv4Flyweight.TOTAL_LENGTH_OFFSET, (short)l3Length);
            segment.set(Flyweight.U16, l3 + Ipv4Flyweight.CHECKSUM_OFFSET, (short)0);
            segment.set(Flyweight.U16, l3 + Ipv4Flyweight.CHECKSUM_OFFSET, (short)Checksums.checksum(segment, l3, ipHeaderLength));
            pseudo = (segment.get(Flyweight.U32, l3 + Ipv4Flyweight.SOURCE_OFFSET) & 0xFFFF_FFFFL) +
                (segment.get(Flyweight.U32, l3 + Ipv4Flyweight.DESTINATION_OFFSET) & 0xFFFF_FFFFL) + IpProtocol.TCP + l4Length;
        }
        else
        {
            segment.set(Flyweight.U16, l3 + 4, (short)l4Length);
            pseudo = Checksums.pseudoHeaderSumIpv6(segment, l3 + IPV6_ADDRESSES_OFFSET, IpProtocol.TCP, l4Length);
        }
        final int field = l4 + TcpFlyweight.CHECKSUM_OFFSET;
        if (completeChecksums)
        {
            segment.set(Flyweight.U16, field, (short)0);
            segment.set(Flyweight.U16, field, (short)(~Checksums.fold(Checksums.sum(segment, l4, l4Length, pseudo)) & 0xFFFF));
            frame.checksumPartial(-1, 0);
        }
        else
        {
            segment.set(Flyweight.U16, field, (short)Checksums.fold(pseudo));
            frame.checksumPartial(l4Relative, TcpFlyweight.CHECKSUM_OFFSET);
        }
        final int type = (l3Type == PacketHeaders.L3_IPV4 ? VirtioNetHeader.GSO_TCPV4 : VirtioNetHeader.GSO_TCPV6) |
            ((firstFlags & TcpFlyweight.CWR) != 0 ? VirtioNetHeader.GSO_ECN : 0);
        frame.gso(type, gsoSize);
    }
}
