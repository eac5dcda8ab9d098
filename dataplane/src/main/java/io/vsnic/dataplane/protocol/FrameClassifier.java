package io.vsnic.dataplane.protocol;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import io.vsnic.dataplane.status.DropReason;

/**
 * The one validation step every frame passes before anything else looks at it: classifies a raw
 * Ethernet frame as either "valid, here are the header offsets" or "drop, reason R", filling a
 * reusable {@link FrameLayout}. Overlay frames (VXLAN on the configured ports, Geneve) are decoded
 * one level deep and their inner frame is classified by the same rules.
 *
 * <p>What is checked, layer by layer: Ethernet length, up to two VLAN tags, a unicast source MAC,
 * the EtherType; ARP is Ethernet/IPv4; IPv4 version, IHL, total length against the frame, header
 * checksum, option list, a non-multicast source; IPv6 version, payload length, the extension header
 * chain (at most {@link #MAX_IPV6_EXTENSION_HEADERS}); UDP length, TCP data offset, ICMP length;
 * VXLAN I flag; Geneve version, option area and TLVs, protocol type. Expected bad input is never an
 * exception: it is a {@link DropReason}.
 *
 * <p>L4 checksums are verified only when configured ({@link Builder#verifyL4Checksums(boolean)}):
 * tools and tests verify them; the forwarding path leaves that to the endpoints (as a NIC with
 * receive offload does) because most frames from a TAP carry a partial checksum anyway. A checksum
 * field holding just the pseudo-header sum is recognised as partial
 * ({@link FrameLayout#FLAG_L4_CHECKSUM_PARTIAL}) rather than dropped, as are offload super-packets
 * larger than the MTU ({@link FrameLayout#FLAG_SUPER_PACKET}).
 *
 * <p>The common path (Ethernet, IPv4, UDP, TCP, Geneve) reads each fixed header with a few wide
 * big-endian reads straight from the segment rather than through the flyweights: wrapping a
 * flyweight stores a reference (a GC write barrier) and each accessor is one more bounds-checked
 * read. Each layer is a small method so that the JIT inlines the whole path of a frame; rare cases
 * (VLAN tags, IPv4 options and fragments) have methods of their own. {@code ClassifyBenchmark} in
 * jmh-benchmarks measures it (docs/performance.md).
 *
 * <p>Thread safety: one instance per thread (it holds flyweights); it allocates nothing per frame.
 */
public final class FrameClassifier
{
    /** More extension headers than this in one IPv6 packet is treated as malformed. */
    public static final int MAX_IPV6_EXTENSION_HEADERS = 8;
    /** Default MTU above which an IP packet is flagged as an offload super-packet. */
    public static final int DEFAULT_MTU_BYTES = 1500;

    // Drop reasons as int constants: they fold into the compiled code like the enum ordinals do,
    // but take fewer bytecodes, which keeps the hot methods under the JIT's inlining size limit.
    private static final int BAD_ADDRESS = DropReason.BAD_ADDRESS.ordinal();
    private static final int BAD_ARP = DropReason.BAD_ARP.ordinal();
    private static final int BAD_CHECKSUM = DropReason.BAD_CHECKSUM.ordinal();
    private static final int BAD_GENEVE_VERSION = DropReason.BAD_GENEVE_VERSION.ordinal();
    private static final int BAD_IHL = DropReason.BAD_IHL.ordinal();
    private static final int BAD_IP_LENGTH = DropReason.BAD_IP_LENGTH.ordinal();
    private static final int BAD_IP_OPTIONS = DropReason.BAD_IP_OPTIONS.ordinal();
    private static final int BAD_IP_VERSION = DropReason.BAD_IP_VERSION.ordinal();
    private static final int BAD_TCP_OFFSET = DropReason.BAD_TCP_OFFSET.ordinal();
    private static final int BAD_UDP_LENGTH = DropReason.BAD_UDP_LENGTH.ordinal();
    private static final int BAD_VXLAN_FLAGS = DropReason.BAD_VXLAN_FLAGS.ordinal();
    private static final int GENEVE_OPTION_OVERFLOW = DropReason.GENEVE_OPTION_OVERFLOW.ordinal();
    private static final int TOO_MANY_VLAN_TAGS = DropReason.TOO_MANY_VLAN_TAGS.ordinal();
    private static final int TRUNCATED = DropReason.TRUNCATED.ordinal();
    private static final int UNSUPPORTED_ETHERTYPE = DropReason.UNSUPPORTED_ETHERTYPE.ordinal();
    private static final int UNSUPPORTED_GENEVE_PROTOCOL = DropReason.UNSUPPORTED_GENEVE_PROTOCOL.ordinal();

    private final boolean verifyL4Checksums;
    private final int mtuBytes;
    private final int vxlanPort;
    private final int vxlanLegacyPort;
    private final int genevePort;

    private final Ipv4Flyweight ipv4 = new Ipv4Flyweight();
    private final Ipv6Flyweight ipv6 = new Ipv6Flyweight();
    private final ArpFlyweight arp = new ArpFlyweight();
    private final IcmpFlyweight icmp = new IcmpFlyweight();
    private final VxlanFlyweight vxlan = new VxlanFlyweight();

    private FrameClassifier(final Builder builder)
    {
        this.verifyL4Checksums = builder.verifyL4Checksums;
        this.mtuBytes = builder.mtuBytes;
        this.vxlanPort = builder.vxlanPort;
        this.vxlanLegacyPort = builder.vxlanLegacyPort;
        this.genevePort = builder.genevePort;
    }

    /**
     * @return a classifier with the defaults: no L4 checksum verification, MTU 1500, VXLAN on 4789
     *     and 8472, Geneve on 6081.
     */
    public static FrameClassifier forwarding()
    {
        return builder().build();
    }

    /**
     * @return a classifier that also verifies every L4 checksum (for tools and tests).
     */
    public static FrameClassifier verifying()
    {
        return builder().verifyL4Checksums(true).build();
    }

    /**
     * @return a builder with the defaults.
     */
    public static Builder builder()
    {
        return new Builder();
    }

    /**
     * Classifies the Ethernet frame of {@code length} bytes at {@code offset}.
     *
     * @param segment memory holding the frame.
     * @param offset  offset of the first byte of the Ethernet header.
     * @param length  frame length in bytes (without FCS).
     * @param layout  filled with the result.
     * @return the {@link DropReason} ordinal, 0 when valid (also in {@code layout}).
     */
    public int classify(final MemorySegment segment, final int offset, final int length, final FrameLayout layout)
    {
        layout.reset(offset, length);
        final int reason = classifyEthernet(segment, offset, length, layout, true);
        layout.dropReason = reason;
        return reason;
    }

    /**
     * Classifies a bare IP packet of {@code length} bytes at {@code offset}: no link-layer header
     * (a {@code LINKTYPE_RAW} capture record, the plaintext of a WireGuard transport message). The
     * version nibble picks IPv4 or IPv6; the layout has no L2 ({@link FrameLayout#l2Offset()} is
     * -1). Overlay (VXLAN/Geneve) inside the packet is classified as in an Ethernet frame.
     *
     * @param segment memory holding the packet.
     * @param offset  offset of the first byte of the IP header.
     * @param length  packet length in bytes.
     * @param layout  filled with the result.
     * @return the {@link DropReason} ordinal, 0 when valid (also in {@code layout}).
     */
    public int classifyIp(final MemorySegment segment, final int offset, final int length, final FrameLayout layout)
    {
        layout.reset(offset, length);
        final int reason;
        if (length < 1)
        {
            reason = TRUNCATED;
        }
        else
        {
            reason = switch ((segment.get(ValueLayout.JAVA_BYTE, offset) >>> 4) & 0x0F)
            {
                case 4 ->
                {
                    layout.etherType = EthernetFlyweight.ETHER_TYPE_IPV4;
                    yield classifyIpv4(segment, offset, length, layout, true);
                }
                case 6 ->
                {
                    layout.etherType = EthernetFlyweight.ETHER_TYPE_IPV6;
                    yield classifyIpv6(segment, offset, length, layout, true);
                }
                default -> BAD_IP_VERSION;
            };
        }
        layout.dropReason = reason;
        return reason;
    }

    private int classifyEthernet(
        final MemorySegment segment, final int offset, final int length, final FrameLayout layout, final boolean outer)
    {
        if (length < EthernetFlyweight.HEADER_LENGTH)
        {
            return TRUNCATED;
        }
        // Two overlapping 8-byte reads cover the 14-byte header: the destination (and two bytes of
        // the source), then the source and the EtherType.
        final long destinationWord = segment.get(Flyweight.U64, offset);
        final long sourceWord = segment.get(Flyweight.U64, offset + EthernetFlyweight.SOURCE_OFFSET);
        final long sourceMac = sourceWord >>> 16;
        layout.l2Offset = offset;
        layout.destinationMac = destinationWord >>> 16;
        layout.sourceMac = sourceMac;
        if (EthernetFlyweight.isMulticast(sourceMac))
        {
            return BAD_ADDRESS;
        }
        int etherType = (int)sourceWord & 0xFFFF;
        int at = offset + EthernetFlyweight.HEADER_LENGTH;
        if (etherType == EthernetFlyweight.ETHER_TYPE_VLAN || etherType == EthernetFlyweight.ETHER_TYPE_QINQ)
        {
            at = skipVlanTags(segment, offset + length, at, etherType, layout);
            if (at < 0)
            {
                return -at;
            }
            etherType = layout.etherType;
        }
        else
        {
            layout.etherType = etherType;
        }
        final int remaining = offset + length - at;
        return switch (etherType)
        {
            case EthernetFlyweight.ETHER_TYPE_IPV4 -> classifyIpv4(segment, at, remaining, layout, outer);
            case EthernetFlyweight.ETHER_TYPE_IPV6 -> classifyIpv6(segment, at, remaining, layout, outer);
            case EthernetFlyweight.ETHER_TYPE_ARP -> classifyArp(segment, at, remaining, layout);
            default -> UNSUPPORTED_ETHERTYPE;
        };
    }

    /**
     * Walks the VLAN tags that start at {@code first} (kept out of {@link #classifyEthernet} so that
     * the untagged path stays small enough to inline).
     *
     * @param end            offset of the first byte after the frame.
     * @param first          offset of the first tag.
     * @param firstEtherType the EtherType in front of the first tag (0x8100 or 0x88A8).
     * @return the offset after the last tag, with {@code layout.etherType} set; or minus the drop reason.
     */
    private static int skipVlanTags(
        final MemorySegment segment, final int end, final int first, final int firstEtherType, final FrameLayout layout)
    {
        int etherType = firstEtherType;
        int at = first;
        while (etherType == EthernetFlyweight.ETHER_TYPE_VLAN || etherType == EthernetFlyweight.ETHER_TYPE_QINQ)
        {
            if (layout.vlanCount == 2)
            {
                return -TOO_MANY_VLAN_TAGS;
            }
            if (end - at < VlanTagFlyweight.TAG_LENGTH)
            {
                return -TRUNCATED;
            }
            final int vlanId = segment.get(Flyweight.U16, at) & 0x0FFF;
            if (layout.vlanCount == 0)
            {
                layout.outerVlanId = vlanId;
            }
            else
            {
                layout.innerVlanId = vlanId;
            }
            layout.vlanCount++;
            etherType = segment.get(Flyweight.U16, at + 2) & 0xFFFF;
            at += VlanTagFlyweight.TAG_LENGTH;
        }
        layout.etherType = etherType;
        return at;
    }

    private int classifyArp(final MemorySegment segment, final int offset, final int length, final FrameLayout layout)
    {
        if (length < ArpFlyweight.HEADER_LENGTH)
        {
            return TRUNCATED;
        }
        arp.wrap(segment, offset);
        if (!arp.isEthernetIpv4())
        {
            return BAD_ARP;
        }
        layout.l3Type = FrameLayout.L3_ARP;
        layout.l3Offset = offset;
        layout.l3HeaderLength = ArpFlyweight.HEADER_LENGTH;
        layout.l3Length = ArpFlyweight.HEADER_LENGTH;
        return 0;
    }

    private int classifyIpv4(
        final MemorySegment segment, final int offset, final int length, final FrameLayout layout, final boolean outer)
    {
        if (length < Ipv4Flyweight.MIN_HEADER_LENGTH)
        {
            return TRUNCATED;
        }
        // The fixed header in three reads: version/IHL, TOS, total length, identification,
        // flags/fragment offset; then TTL, protocol, checksum, source; then the destination. The
        // same words make the header checksum (a sum of 32-bit words, see Checksums).
        final long word0 = segment.get(Flyweight.U64, offset);
        final int versionAndIhl = (int)(word0 >>> 56);
        if (versionAndIhl >>> 4 != 4)
        {
            return BAD_IP_VERSION;
        }
        final int headerLength = (versionAndIhl & 0x0F) << 2;
        if (headerLength < Ipv4Flyweight.MIN_HEADER_LENGTH || headerLength > length)
        {
            return BAD_IHL;
        }
        final int totalLength = (int)(word0 >>> 32) & 0xFFFF;
        if (totalLength < headerLength || totalLength > length)
        {
            return BAD_IP_LENGTH;
        }
        final long word1 = segment.get(Flyweight.U64, offset + Ipv4Flyweight.TTL_OFFSET);
        final int destination = segment.get(Flyweight.U32, offset + Ipv4Flyweight.DESTINATION_OFFSET);
        final long headerSum = sumOfWords(word0) + sumOfWords(word1) + (destination & 0xFFFF_FFFFL);
        if (headerLength > Ipv4Flyweight.MIN_HEADER_LENGTH)
        {
            final int reason = checkIpv4Options(segment, offset, headerLength, headerSum, layout);
            if (reason != 0)
            {
                return reason;
            }
        }
        else if (Checksums.fold(headerSum) != 0xFFFF)
        {
            return BAD_CHECKSUM;
        }
        final int source = (int)word1;
        if ((source >>> 28) == 0xE || source == -1)
        {
            return BAD_ADDRESS;
        }
        final int protocol = (int)(word1 >>> 48) & 0xFF;
        setIpv4Layout(layout, offset, headerLength, totalLength, protocol);
        final int flagsAndFragmentOffset = (int)word0;
        if ((flagsAndFragmentOffset & (Ipv4Flyweight.FLAG_MORE_FRAGMENTS | Ipv4Flyweight.FRAGMENT_OFFSET_MASK)) != 0 &&
            isLaterFragment(flagsAndFragmentOffset, layout))
        {
            return 0;
        }
        return classifyL4(segment, offset + headerLength, totalLength - headerLength, layout, outer, false);
    }

    private void setIpv4Layout(
        final FrameLayout layout, final int offset, final int headerLength, final int totalLength, final int protocol)
    {
        layout.l3Type = FrameLayout.L3_IPV4;
        layout.l3Offset = offset;
        layout.l3HeaderLength = headerLength;
        layout.l3Length = totalLength;
        layout.l4Protocol = protocol;
        if (totalLength > mtuBytes)
        {
            layout.flags |= FrameLayout.FLAG_SUPER_PACKET;
        }
    }

    /**
     * @return the sum of the two 32-bit halves of {@code word}, a term of an unfolded Internet checksum.
     */
    private static long sumOfWords(final long word)
    {
        return (word >>> 32) + (word & 0xFFFF_FFFFL);
    }

    /**
     * Flags an IPv4 fragment.
     *
     * @param flagsAndFragmentOffset the flags/fragment-offset word (in the low 16 bits).
     * @return true for a later fragment (offset not zero), which has no L4 header.
     */
    private static boolean isLaterFragment(final int flagsAndFragmentOffset, final FrameLayout layout)
    {
        layout.flags |= FrameLayout.FLAG_FRAGMENT;
        if ((flagsAndFragmentOffset & Ipv4Flyweight.FRAGMENT_OFFSET_MASK) != 0)
        {
            layout.flags |= FrameLayout.FLAG_LATER_FRAGMENT;
            return true;
        }
        return false;
    }

    /**
     * The checks of an IPv4 header with options (rare, so out of the hot path): the header checksum
     * over the options too, then the option list.
     *
     * @param fixedHeaderSum the unfolded sum of the first 20 bytes.
     * @return 0 or the drop reason.
     */
    private int checkIpv4Options(
        final MemorySegment segment, final int offset, final int headerLength, final long fixedHeaderSum,
        final FrameLayout layout)
    {
        final long sum = Checksums.sum(
            segment, offset + Ipv4Flyweight.MIN_HEADER_LENGTH, headerLength - Ipv4Flyweight.MIN_HEADER_LENGTH, fixedHeaderSum);
        if (Checksums.fold(sum) != 0xFFFF)
        {
            return BAD_CHECKSUM;
        }
        layout.flags |= FrameLayout.FLAG_IP_OPTIONS;
        ipv4.wrap(segment, offset);
        return ipv4.areOptionsValid() ? 0 : BAD_IP_OPTIONS;
    }

    private int classifyIpv6(
        final MemorySegment segment, final int offset, final int length, final FrameLayout layout, final boolean outer)
    {
        if (length < Ipv6Flyweight.HEADER_LENGTH)
        {
            return TRUNCATED;
        }
        ipv6.wrap(segment, offset);
        if (ipv6.version() != 6)
        {
            return BAD_IP_VERSION;
        }
        final int packetLength = Ipv6Flyweight.HEADER_LENGTH + ipv6.payloadLength();
        if (packetLength > length)
        {
            return BAD_IP_LENGTH;
        }
        if ((ipv6.sourceHigh() >>> 56) == 0xFF)
        {
            return BAD_ADDRESS;
        }
        layout.l3Type = FrameLayout.L3_IPV6;
        layout.l3Offset = offset;
        layout.l3Length = packetLength;
        if (packetLength > mtuBytes)
        {
            layout.flags |= FrameLayout.FLAG_SUPER_PACKET;
        }
        int nextHeader = ipv6.nextHeader();
        int at = offset + Ipv6Flyweight.HEADER_LENGTH;
        final int end = offset + packetLength;
        int extensions = 0;
        while (Ipv6Flyweight.isExtensionHeader(nextHeader))
        {
            if (++extensions > MAX_IPV6_EXTENSION_HEADERS || end - at < 8)
            {
                return DropReason.BAD_IPV6_EXTENSION.ordinal();
            }
            final int following = segment.get(ValueLayout.JAVA_BYTE, at) & 0xFF;
            final int extensionLength;
            if (nextHeader == IpProtocol.IPV6_FRAGMENT)
            {
                extensionLength = Ipv6Flyweight.FRAGMENT_HEADER_LENGTH;
                final int offsetAndFlags = segment.get(Flyweight.U16, at + 2) & 0xFFFF;
                layout.flags |= FrameLayout.FLAG_FRAGMENT;
                if ((offsetAndFlags & 0xFFF8) != 0)
                {
                    layout.flags |= FrameLayout.FLAG_LATER_FRAGMENT;
                }
            }
            else if (nextHeader == IpProtocol.AH)
            {
                extensionLength = ((segment.get(ValueLayout.JAVA_BYTE, at + 1) & 0xFF) + 2) << 2;
            }
            else
            {
                extensionLength = ((segment.get(ValueLayout.JAVA_BYTE, at + 1) & 0xFF) + 1) << 3;
            }
            if (extensionLength > end - at)
            {
                return DropReason.BAD_IPV6_EXTENSION.ordinal();
            }
            at += extensionLength;
            nextHeader = following;
        }
        layout.l3HeaderLength = at - offset;
        layout.l4Protocol = nextHeader;
        if ((layout.flags & FrameLayout.FLAG_LATER_FRAGMENT) != 0 || nextHeader == IpProtocol.IPV6_NO_NEXT)
        {
            return 0;
        }
        final int l4Length = end - at;
        return classifyL4(segment, at, l4Length, layout, outer, true);
    }

    private int classifyL4(
        final MemorySegment segment,
        final int offset,
        final int length,
        final FrameLayout layout,
        final boolean outer,
        final boolean ipv6Packet)
    {
        layout.l4Offset = offset;
        layout.l4Length = length;
        // One small method per protocol, so that the one a frame takes inlines into its caller.
        return switch (layout.l4Protocol)
        {
            case IpProtocol.UDP -> classifyUdp(segment, offset, length, layout, outer, ipv6Packet);
            case IpProtocol.TCP -> classifyTcp(segment, offset, length, layout, ipv6Packet);
            case IpProtocol.ICMP, IpProtocol.ICMPV6 -> classifyIcmp(segment, offset, length, layout, ipv6Packet);
            default -> 0;
        };
    }

    private int classifyUdp(
        final MemorySegment segment,
        final int offset,
        final int length,
        final FrameLayout layout,
        final boolean outer,
        final boolean ipv6Packet)
    {
        if (length < UdpFlyweight.HEADER_LENGTH)
        {
            return TRUNCATED;
        }
        // The whole header in one read: source port, destination port, length, checksum.
        final long header = segment.get(Flyweight.U64, offset);
        final int udpLength = (int)(header >>> 16) & 0xFFFF;
        final boolean fragment = (layout.flags & FrameLayout.FLAG_FRAGMENT) != 0;
        if (!fragment && (udpLength < UdpFlyweight.HEADER_LENGTH || udpLength > length))
        {
            return BAD_UDP_LENGTH;
        }
        final int destinationPort = (int)(header >>> 32) & 0xFFFF;
        layout.l4HeaderLength = UdpFlyweight.HEADER_LENGTH;
        layout.sourcePort = (int)(header >>> 48);
        layout.destinationPort = destinationPort;
        final boolean tunnel = isOverlayPort(destinationPort);
        final boolean verify = verifyL4Checksums && !fragment;
        final int checksum = (int)header & 0xFFFF;
        if (checksum == 0)
        {
            layout.flags |= FrameLayout.FLAG_UDP_NO_CHECKSUM;
            if (verify && ipv6Packet && !tunnel)
            {
                return BAD_CHECKSUM;
            }
        }
        else if (verify)
        {
            // The pseudo-header carries the UDP length (RFC 768), which may be less than the IP payload.
            final long pseudoSum = pseudoHeaderSum(segment, layout, ipv6Packet) - layout.l4Length + udpLength;
            final int reason = verifyL4(
                Checksums.fold(Checksums.sum(segment, offset, udpLength, pseudoSum)), checksum, pseudoSum, udpLength, layout);
            if (reason != 0)
            {
                return reason;
            }
        }
        if (outer && tunnel && !fragment)
        {
            return classifyOverlay(segment, offset + UdpFlyweight.HEADER_LENGTH, udpLength - UdpFlyweight.HEADER_LENGTH, layout);
        }
        return 0;
    }

    private int classifyTcp(
        final MemorySegment segment, final int offset, final int length, final FrameLayout layout, final boolean ipv6Packet)
    {
        if (length < TcpFlyweight.MIN_HEADER_LENGTH)
        {
            return TRUNCATED;
        }
        final int headerLength = (segment.get(ValueLayout.JAVA_BYTE, offset + TcpFlyweight.DATA_OFFSET_OFFSET) & 0xF0) >>> 2;
        if (headerLength < TcpFlyweight.MIN_HEADER_LENGTH || headerLength > length)
        {
            return BAD_TCP_OFFSET;
        }
        final int ports = segment.get(Flyweight.U32, offset);
        layout.l4HeaderLength = headerLength;
        layout.sourcePort = ports >>> 16;
        layout.destinationPort = ports & 0xFFFF;
        if (verifyL4Checksums && (layout.flags & FrameLayout.FLAG_FRAGMENT) == 0)
        {
            final int checksum = segment.get(Flyweight.U16, offset + TcpFlyweight.CHECKSUM_OFFSET) & 0xFFFF;
            final long pseudoSum = pseudoHeaderSum(segment, layout, ipv6Packet);
            return verifyL4(Checksums.fold(Checksums.sum(segment, offset, length, pseudoSum)), checksum, pseudoSum, length, layout);
        }
        return 0;
    }

    private int classifyIcmp(
        final MemorySegment segment, final int offset, final int length, final FrameLayout layout, final boolean ipv6Packet)
    {
        if (length < IcmpFlyweight.HEADER_LENGTH)
        {
            return TRUNCATED;
        }
        icmp.wrap(segment, offset);
        layout.l4HeaderLength = IcmpFlyweight.HEADER_LENGTH;
        layout.sourcePort = icmp.identifier();
        layout.destinationPort = icmp.type() << 8 | icmp.code();
        if (verifyL4Checksums && (layout.flags & FrameLayout.FLAG_FRAGMENT) == 0)
        {
            final long pseudoSum = layout.l4Protocol == IpProtocol.ICMPV6 ? pseudoHeaderSum(segment, layout, ipv6Packet) : 0;
            final long sum = Checksums.sum(segment, offset, length, pseudoSum);
            if (Checksums.fold(sum) != 0xFFFF)
            {
                return BAD_CHECKSUM;
            }
            layout.flags |= FrameLayout.FLAG_L4_CHECKSUM_VERIFIED;
        }
        return 0;
    }

    /**
     * The pseudo-header sum of the packet described by {@code layout} (L3 offset, L4 protocol and
     * length set), computed only when a checksum is verified: the forwarding path never needs it.
     */
    private static long pseudoHeaderSum(final MemorySegment segment, final FrameLayout layout, final boolean ipv6Packet)
    {
        final int l3Offset = layout.l3Offset;
        if (ipv6Packet)
        {
            return Checksums.pseudoHeaderSumIpv6(
                segment, l3Offset + Ipv6Flyweight.SOURCE_OFFSET, layout.l4Protocol, layout.l4Length);
        }
        return Checksums.pseudoHeaderSumIpv4(
            segment.get(Flyweight.U32, l3Offset + Ipv4Flyweight.SOURCE_OFFSET),
            segment.get(Flyweight.U32, l3Offset + Ipv4Flyweight.DESTINATION_OFFSET),
            layout.l4Protocol,
            layout.l4Length);
    }

    /**
     * A checksum that does not verify may be a partial one (CHECKSUM_PARTIAL): the field holds the
     * folded pseudo-header sum (with the L4 length, or with length 0 as some offload paths compute
     * it for super-packets).
     */
    private static int verifyL4(
        final int foldedSum, final int field, final long pseudoSum, final int l4Length, final FrameLayout layout)
    {
        if (foldedSum == 0xFFFF)
        {
            layout.flags |= FrameLayout.FLAG_L4_CHECKSUM_VERIFIED;
            return 0;
        }
        if (field == Checksums.fold(pseudoSum) || field == Checksums.fold(pseudoSum - l4Length))
        {
            layout.flags |= FrameLayout.FLAG_L4_CHECKSUM_PARTIAL;
            return 0;
        }
        return BAD_CHECKSUM;
    }

    private boolean isOverlayPort(final int port)
    {
        return port == genevePort || port == vxlanPort || port == vxlanLegacyPort;
    }

    private int classifyOverlay(final MemorySegment segment, final int offset, final int length, final FrameLayout layout)
    {
        layout.overlayOffset = offset;
        if (layout.destinationPort == genevePort)
        {
            return classifyGeneve(segment, offset, length, layout);
        }
        layout.overlayType = FrameLayout.OVERLAY_VXLAN;
        if (length < VxlanFlyweight.HEADER_LENGTH)
        {
            return TRUNCATED;
        }
        vxlan.wrap(segment, offset);
        if (!vxlan.isVniValid())
        {
            return BAD_VXLAN_FLAGS;
        }
        layout.overlayHeaderLength = VxlanFlyweight.HEADER_LENGTH;
        layout.vni = vxlan.vni();
        final FrameLayout inner = layout.inner;
        final int innerOffset = offset + VxlanFlyweight.HEADER_LENGTH;
        final int innerLength = length - VxlanFlyweight.HEADER_LENGTH;
        inner.reset(innerOffset, innerLength);
        return innerResult(inner, classifyEthernet(segment, innerOffset, innerLength, inner, false), layout);
    }

    private int classifyGeneve(final MemorySegment segment, final int offset, final int length, final FrameLayout layout)
    {
        layout.overlayType = FrameLayout.OVERLAY_GENEVE;
        if (length < GeneveFlyweight.HEADER_LENGTH)
        {
            return TRUNCATED;
        }
        // The fixed header in one read: version, option length, flags, protocol type, VNI.
        final long header = segment.get(Flyweight.U64, offset);
        final int versionAndOptionLength = (int)(header >>> 56);
        if (versionAndOptionLength >>> 6 != 0)
        {
            return BAD_GENEVE_VERSION;
        }
        final int optionsLength = (versionAndOptionLength & 0x3F) << 2;
        final int headerLength = GeneveFlyweight.HEADER_LENGTH + optionsLength;
        if (headerLength > length)
        {
            return GENEVE_OPTION_OVERFLOW;
        }
        final int options = walkGeneveOptions(segment, offset + GeneveFlyweight.OPTIONS_OFFSET, optionsLength);
        if (options < 0)
        {
            return GENEVE_OPTION_OVERFLOW;
        }
        final int flags = (int)(header >>> 48) & 0xFF;
        final int protocolType = (int)(header >>> 32) & 0xFFFF;
        layout.overlayHeaderLength = headerLength;
        layout.vni = (int)header >>> 8;
        layout.geneveProtocol = protocolType;
        if ((flags & GeneveFlyweight.FLAG_OAM) != 0)
        {
            layout.flags |= FrameLayout.FLAG_GENEVE_OAM;
        }
        if ((flags & GeneveFlyweight.FLAG_CRITICAL) != 0 || options != 0)
        {
            layout.flags |= FrameLayout.FLAG_GENEVE_CRITICAL_OPTION;
        }
        return classifyGeneveInner(segment, offset + headerLength, length - headerLength, protocolType, layout);
    }

    private int classifyGeneveInner(
        final MemorySegment segment, final int innerOffset, final int innerLength, final int protocolType,
        final FrameLayout layout)
    {
        final FrameLayout inner = layout.inner;
        inner.reset(innerOffset, innerLength);
        final int reason = switch (protocolType)
        {
            case EthernetFlyweight.ETHER_TYPE_TEB -> classifyEthernet(segment, innerOffset, innerLength, inner, false);
            case EthernetFlyweight.ETHER_TYPE_IPV4 ->
            {
                inner.etherType = EthernetFlyweight.ETHER_TYPE_IPV4;
                yield classifyIpv4(segment, innerOffset, innerLength, inner, false);
            }
            case EthernetFlyweight.ETHER_TYPE_IPV6 ->
            {
                inner.etherType = EthernetFlyweight.ETHER_TYPE_IPV6;
                yield classifyIpv6(segment, innerOffset, innerLength, inner, false);
            }
            default -> -1;
        };
        if (reason == -1)
        {
            return UNSUPPORTED_GENEVE_PROTOCOL;
        }
        return innerResult(inner, reason, layout);
    }

    /**
     * Walks the Geneve option TLVs once, for both checks the classifier makes: that they exactly
     * tile the option area ({@link GeneveFlyweight#areOptionsValid()}) and whether one is critical
     * ({@link GeneveFlyweight#anyCriticalOption()}).
     *
     * @param at  offset of the option area.
     * @param end length of the option area in bytes.
     * @return -1 when the options do not tile the area, else 1 when an option is critical, 0 when none is.
     */
    private static int walkGeneveOptions(final MemorySegment segment, final int at, final int end)
    {
        int critical = 0;
        int option = 0;
        while (option < end)
        {
            if (option + GeneveFlyweight.OPTION_HEADER_LENGTH > end)
            {
                return -1;
            }
            // Type (with the critical bit) and length, the last two bytes of the option header.
            final int typeAndLength = segment.get(Flyweight.U16, at + option + 2);
            critical |= (typeAndLength >>> 15) & 1;
            option += GeneveFlyweight.OPTION_HEADER_LENGTH + ((typeAndLength & 0x1F) << 2);
        }
        return option == end ? critical : -1;
    }

    private static int innerResult(final FrameLayout inner, final int reason, final FrameLayout layout)
    {
        inner.dropReason = reason;
        if (reason != 0)
        {
            layout.dropInInner = true;
        }
        return reason;
    }

    /**
     * Configuration of a classifier, validated when built.
     */
    public static final class Builder
    {
        private boolean verifyL4Checksums;
        private int mtuBytes = DEFAULT_MTU_BYTES;
        private int vxlanPort = VxlanFlyweight.UDP_PORT;
        private int vxlanLegacyPort = VxlanFlyweight.LEGACY_LINUX_UDP_PORT;
        private int genevePort = GeneveFlyweight.UDP_PORT;

        private Builder()
        {
        }

        /**
         * @param verify verify UDP, TCP, ICMP and ICMPv6 checksums (off by default).
         */
        public Builder verifyL4Checksums(final boolean verify)
        {
            this.verifyL4Checksums = verify;
            return this;
        }

        /**
         * @param mtuBytes IP packets longer than this are flagged as super-packets (68..65535).
         */
        public Builder mtuBytes(final int mtuBytes)
        {
            if (mtuBytes < 68 || mtuBytes > 65535)
            {
                throw new IllegalArgumentException("mtuBytes must be in 68..65535: " + mtuBytes);
            }
            this.mtuBytes = mtuBytes;
            return this;
        }

        /**
         * @param port       UDP destination port decoded as VXLAN (default 4789).
         * @param legacyPort a second VXLAN port (default 8472, Linux's pre-IANA port), or -1 for none.
         */
        public Builder vxlanPorts(final int port, final int legacyPort)
        {
            checkPort(port, "vxlan port");
            if (legacyPort != -1)
            {
                checkPort(legacyPort, "legacy vxlan port");
            }
            this.vxlanPort = port;
            this.vxlanLegacyPort = legacyPort;
            return this;
        }

        /**
         * @param port UDP destination port decoded as Geneve (default 6081).
         */
        public Builder genevePort(final int port)
        {
            checkPort(port, "geneve port");
            this.genevePort = port;
            return this;
        }

        private static void checkPort(final int port, final String name)
        {
            if (port < 1 || port > 65535)
            {
                throw new IllegalArgumentException(name + " must be in 1..65535: " + port);
            }
        }

        /**
         * @return a classifier with this configuration.
         */
        public FrameClassifier build()
        {
            if (vxlanPort == genevePort || vxlanLegacyPort == genevePort)
            {
                throw new IllegalArgumentException("geneve and vxlan ports must differ: " + genevePort);
            }
            return new FrameClassifier(this);
        }
    }
}
