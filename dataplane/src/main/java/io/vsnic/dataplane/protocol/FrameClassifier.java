package io.vsnic.dataplane.protocol;

import java.lang.foreign.MemorySegment;

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
 * <p>Thread safety: one instance per thread (it holds flyweights); it allocates nothing per frame.
 */
public final class FrameClassifier
{
    /** More extension headers than this in one IPv6 packet is treated as malformed. */
    public static final int MAX_IPV6_EXTENSION_HEADERS = 8;
    /** Default MTU above which an IP packet is flagged as an offload super-packet. */
    public static final int DEFAULT_MTU_BYTES = 1500;

    private final boolean verifyL4Checksums;
    private final int mtuBytes;
    private final int vxlanPort;
    private final int vxlanLegacyPort;
    private final int genevePort;

    private final EthernetFlyweight ethernet = new EthernetFlyweight();
    private final Ipv4Flyweight ipv4 = new Ipv4Flyweight();
    private final Ipv6Flyweight ipv6 = new Ipv6Flyweight();
    private final ArpFlyweight arp = new ArpFlyweight();
    private final UdpFlyweight udp = new UdpFlyweight();
    private final TcpFlyweight tcp = new TcpFlyweight();
    private final IcmpFlyweight icmp = new IcmpFlyweight();
    private final VxlanFlyweight vxlan = new VxlanFlyweight();
    private final GeneveFlyweight geneve = new GeneveFlyweight();

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

    private int classifyEthernet(
        final MemorySegment segment, final int offset, final int length, final FrameLayout layout, final boolean outer)
    {
        if (length < EthernetFlyweight.HEADER_LENGTH)
        {
            return DropReason.TRUNCATED.ordinal();
        }
        ethernet.wrap(segment, offset);
        layout.l2Offset = offset;
        layout.destinationMac = ethernet.destination();
        layout.sourceMac = ethernet.source();
        if (EthernetFlyweight.isMulticast(layout.sourceMac))
        {
            return DropReason.BAD_ADDRESS.ordinal();
        }
        int etherType = ethernet.etherType();
        int at = offset + EthernetFlyweight.HEADER_LENGTH;
        while (etherType == EthernetFlyweight.ETHER_TYPE_VLAN || etherType == EthernetFlyweight.ETHER_TYPE_QINQ)
        {
            if (layout.vlanCount == 2)
            {
                return DropReason.TOO_MANY_VLAN_TAGS.ordinal();
            }
            if (offset + length - at < VlanTagFlyweight.TAG_LENGTH)
            {
                return DropReason.TRUNCATED.ordinal();
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
        final int remaining = offset + length - at;
        return switch (etherType)
        {
            case EthernetFlyweight.ETHER_TYPE_IPV4 -> classifyIpv4(segment, at, remaining, layout, outer);
            case EthernetFlyweight.ETHER_TYPE_IPV6 -> classifyIpv6(segment, at, remaining, layout, outer);
            case EthernetFlyweight.ETHER_TYPE_ARP -> classifyArp(segment, at, remaining, layout);
            default -> DropReason.UNSUPPORTED_ETHERTYPE.ordinal();
        };
    }

    private int classifyArp(final MemorySegment segment, final int offset, final int length, final FrameLayout layout)
    {
        if (length < ArpFlyweight.HEADER_LENGTH)
        {
            return DropReason.TRUNCATED.ordinal();
        }
        arp.wrap(segment, offset);
        if (!arp.isEthernetIpv4())
        {
            return DropReason.BAD_ARP.ordinal();
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
            return DropReason.TRUNCATED.ordinal();
        }
        ipv4.wrap(segment, offset);
        if (ipv4.version() != 4)
        {
            return DropReason.BAD_IP_VERSION.ordinal();
        }
        final int headerLength = ipv4.headerLength();
        if (headerLength < Ipv4Flyweight.MIN_HEADER_LENGTH || headerLength > length)
        {
            return DropReason.BAD_IHL.ordinal();
        }
        final int totalLength = ipv4.totalLength();
        if (totalLength < headerLength || totalLength > length)
        {
            return DropReason.BAD_IP_LENGTH.ordinal();
        }
        if (!ipv4.isChecksumValid())
        {
            return DropReason.BAD_CHECKSUM.ordinal();
        }
        if (headerLength > Ipv4Flyweight.MIN_HEADER_LENGTH)
        {
            layout.flags |= FrameLayout.FLAG_IP_OPTIONS;
            if (!ipv4.areOptionsValid())
            {
                return DropReason.BAD_IP_OPTIONS.ordinal();
            }
        }
        final int source = ipv4.source();
        if ((source >>> 28) == 0xE || source == -1)
        {
            return DropReason.BAD_ADDRESS.ordinal();
        }
        layout.l3Type = FrameLayout.L3_IPV4;
        layout.l3Offset = offset;
        layout.l3HeaderLength = headerLength;
        layout.l3Length = totalLength;
        layout.l4Protocol = ipv4.protocol();
        if (totalLength > mtuBytes)
        {
            layout.flags |= FrameLayout.FLAG_SUPER_PACKET;
        }
        if (ipv4.isFragment())
        {
            layout.flags |= FrameLayout.FLAG_FRAGMENT;
            if (ipv4.fragmentOffsetBytes() != 0)
            {
                layout.flags |= FrameLayout.FLAG_LATER_FRAGMENT;
                return 0;
            }
        }
        final long pseudoSum = Checksums.pseudoHeaderSumIpv4(
            source, ipv4.destination(), layout.l4Protocol, totalLength - headerLength);
        return classifyL4(segment, offset + headerLength, totalLength - headerLength, pseudoSum, layout, outer, false);
    }

    private int classifyIpv6(
        final MemorySegment segment, final int offset, final int length, final FrameLayout layout, final boolean outer)
    {
        if (length < Ipv6Flyweight.HEADER_LENGTH)
        {
            return DropReason.TRUNCATED.ordinal();
        }
        ipv6.wrap(segment, offset);
        if (ipv6.version() != 6)
        {
            return DropReason.BAD_IP_VERSION.ordinal();
        }
        final int packetLength = Ipv6Flyweight.HEADER_LENGTH + ipv6.payloadLength();
        if (packetLength > length)
        {
            return DropReason.BAD_IP_LENGTH.ordinal();
        }
        if ((ipv6.sourceHigh() >>> 56) == 0xFF)
        {
            return DropReason.BAD_ADDRESS.ordinal();
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
            final int following = segment.get(java.lang.foreign.ValueLayout.JAVA_BYTE, at) & 0xFF;
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
                extensionLength = ((segment.get(java.lang.foreign.ValueLayout.JAVA_BYTE, at + 1) & 0xFF) + 2) << 2;
            }
            else
            {
                extensionLength = ((segment.get(java.lang.foreign.ValueLayout.JAVA_BYTE, at + 1) & 0xFF) + 1) << 3;
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
        final long pseudoSum = Checksums.pseudoHeaderSumIpv6(segment, offset + Ipv6Flyweight.SOURCE_OFFSET, nextHeader, l4Length);
        return classifyL4(segment, at, l4Length, pseudoSum, layout, outer, true);
    }

    private int classifyL4(
        final MemorySegment segment,
        final int offset,
        final int length,
        final long pseudoSum,
        final FrameLayout layout,
        final boolean outer,
        final boolean ipv6Packet)
    {
        layout.l4Offset = offset;
        layout.l4Length = length;
        final boolean verify = verifyL4Checksums && (layout.flags & FrameLayout.FLAG_FRAGMENT) == 0;
        switch (layout.l4Protocol)
        {
            case IpProtocol.UDP ->
            {
                if (length < UdpFlyweight.HEADER_LENGTH)
                {
                    return DropReason.TRUNCATED.ordinal();
                }
                udp.wrap(segment, offset);
                final int udpLength = udp.length();
                if ((layout.flags & FrameLayout.FLAG_FRAGMENT) == 0 &&
                    (udpLength < UdpFlyweight.HEADER_LENGTH || udpLength > length))
                {
                    return DropReason.BAD_UDP_LENGTH.ordinal();
                }
                layout.l4HeaderLength = UdpFlyweight.HEADER_LENGTH;
                layout.sourcePort = udp.sourcePort();
                layout.destinationPort = udp.destinationPort();
                final boolean tunnel = isOverlayPort(layout.destinationPort);
                if (udp.checksum() == 0)
                {
                    layout.flags |= FrameLayout.FLAG_UDP_NO_CHECKSUM;
                    if (verify && ipv6Packet && !tunnel)
                    {
                        return DropReason.BAD_CHECKSUM.ordinal();
                    }
                }
                else if (verify)
                {
                    // The pseudo-header carries the UDP length (RFC 768), which may be less than the IP payload.
                    final long udpPseudoSum = pseudoSum - length + udpLength;
                    final int reason = verifyL4(udp.verifySum(udpPseudoSum, udpLength), udp.checksum(), udpPseudoSum, udpLength, layout);
                    if (reason != 0)
                    {
                        return reason;
                    }
                }
                if (outer && tunnel && (layout.flags & FrameLayout.FLAG_FRAGMENT) == 0)
                {
                    return classifyOverlay(segment, offset + UdpFlyweight.HEADER_LENGTH, udpLength - UdpFlyweight.HEADER_LENGTH, layout);
                }
                return 0;
            }
            case IpProtocol.TCP ->
            {
                if (length < TcpFlyweight.MIN_HEADER_LENGTH)
                {
                    return DropReason.TRUNCATED.ordinal();
                }
                tcp.wrap(segment, offset);
                final int headerLength = tcp.headerLength();
                if (headerLength < TcpFlyweight.MIN_HEADER_LENGTH || headerLength > length)
                {
                    return DropReason.BAD_TCP_OFFSET.ordinal();
                }
                layout.l4HeaderLength = headerLength;
                layout.sourcePort = tcp.sourcePort();
                layout.destinationPort = tcp.destinationPort();
                if (verify)
                {
                    return verifyL4(tcp.verifySum(pseudoSum, length), tcp.checksum(), pseudoSum, length, layout);
                }
                return 0;
            }
            case IpProtocol.ICMP, IpProtocol.ICMPV6 ->
            {
                if (length < IcmpFlyweight.HEADER_LENGTH)
                {
                    return DropReason.TRUNCATED.ordinal();
                }
                icmp.wrap(segment, offset);
                layout.l4HeaderLength = IcmpFlyweight.HEADER_LENGTH;
                layout.sourcePort = icmp.identifier();
                layout.destinationPort = icmp.type() << 8 | icmp.code();
                if (verify)
                {
                    final long sum = Checksums.sum(segment, offset, length, layout.l4Protocol == IpProtocol.ICMPV6 ? pseudoSum : 0);
                    if (Checksums.fold(sum) != 0xFFFF)
                    {
                        return DropReason.BAD_CHECKSUM.ordinal();
                    }
                    layout.flags |= FrameLayout.FLAG_L4_CHECKSUM_VERIFIED;
                }
                return 0;
            }
            default ->
            {
                return 0;
            }
        }
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
        return DropReason.BAD_CHECKSUM.ordinal();
    }

    private boolean isOverlayPort(final int port)
    {
        return port == genevePort || port == vxlanPort || port == vxlanLegacyPort;
    }

    private int classifyOverlay(final MemorySegment segment, final int offset, final int length, final FrameLayout layout)
    {
        final FrameLayout inner = layout.inner;
        layout.overlayOffset = offset;
        if (layout.destinationPort == genevePort)
        {
            layout.overlayType = FrameLayout.OVERLAY_GENEVE;
            if (length < GeneveFlyweight.HEADER_LENGTH)
            {
                return DropReason.TRUNCATED.ordinal();
            }
            geneve.wrap(segment, offset);
            if (geneve.version() != 0)
            {
                return DropReason.BAD_GENEVE_VERSION.ordinal();
            }
            final int headerLength = geneve.headerLength();
            if (headerLength > length || !geneve.areOptionsValid())
            {
                return DropReason.GENEVE_OPTION_OVERFLOW.ordinal();
            }
            layout.overlayHeaderLength = headerLength;
            layout.vni = geneve.vni();
            layout.geneveProtocol = geneve.protocolType();
            if (geneve.isOam())
            {
                layout.flags |= FrameLayout.FLAG_GENEVE_OAM;
            }
            if (geneve.hasCriticalOptions() || geneve.anyCriticalOption())
            {
                layout.flags |= FrameLayout.FLAG_GENEVE_CRITICAL_OPTION;
            }
            final int innerOffset = offset + headerLength;
            final int innerLength = length - headerLength;
            inner.reset(innerOffset, innerLength);
            final int reason = switch (layout.geneveProtocol)
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
                return DropReason.UNSUPPORTED_GENEVE_PROTOCOL.ordinal();
            }
            return innerResult(inner, reason, layout);
        }
        layout.overlayType = FrameLayout.OVERLAY_VXLAN;
        if (length < VxlanFlyweight.HEADER_LENGTH)
        {
            return DropReason.TRUNCATED.ordinal();
        }
        vxlan.wrap(segment, offset);
        if (!vxlan.isVniValid())
        {
            return DropReason.BAD_VXLAN_FLAGS.ordinal();
        }
        layout.overlayHeaderLength = VxlanFlyweight.HEADER_LENGTH;
        layout.vni = vxlan.vni();
        final int innerOffset = offset + VxlanFlyweight.HEADER_LENGTH;
        final int innerLength = length - VxlanFlyweight.HEADER_LENGTH;
        inner.reset(innerOffset, innerLength);
        return innerResult(inner, classifyEthernet(segment, innerOffset, innerLength, inner, false), layout);
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
