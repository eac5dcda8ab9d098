package io.vsnic.dataplane.protocol;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Writes well-formed frames layer by layer into a segment, then fixes every length and checksum
 * from the innermost layer outwards in {@link #build()}. Each layer's "next protocol" field
 * (EtherType, IPv4 protocol, IPv6 next header, Geneve protocol type) is filled in when the layer
 * after it is added. Used by the traffic generator, the synthetic capture and tests; it is not a
 * parser and does not validate what it is asked to build beyond layer order.
 *
 * <pre>{@code
 * int length = new FrameBuilder(segment, 0)
 *     .ethernet(dst, src).ipv4(src4, dst4).udp(49152, 6081)
 *     .geneve(vni).ethernet(innerDst, innerSrc).ipv4(a, b).icmpEcho(true, 1, 1)
 *     .payload(bytes).build();
 * }</pre>
 */
public final class FrameBuilder
{
    private static final int MAX_LAYERS = 24;
    private static final int ETHERNET = 1;
    private static final int VLAN = 2;
    private static final int IPV4 = 3;
    private static final int IPV6 = 4;
    private static final int IPV6_EXTENSION = 5;
    private static final int UDP = 6;
    private static final int TCP = 7;
    private static final int ICMP4 = 8;
    private static final int ICMP6 = 9;
    private static final int VXLAN = 10;
    private static final int GENEVE = 11;
    private static final int ARP = 12;
    private static final int PAYLOAD = 13;

    private final MemorySegment segment;
    private final int start;
    private final int[] kinds = new int[MAX_LAYERS];
    private final int[] offsets = new int[MAX_LAYERS];
    private final int[] extra = new int[MAX_LAYERS];
    private int layers;
    private int at;
    private int pendingEtherType = -1;
    private int pendingIpProtocol = -1;
    private boolean skipL4Checksum;

    private final EthernetFlyweight ethernet = new EthernetFlyweight();
    private final Ipv4Flyweight ipv4 = new Ipv4Flyweight();
    private final Ipv6Flyweight ipv6 = new Ipv6Flyweight();
    private final UdpFlyweight udp = new UdpFlyweight();
    private final TcpFlyweight tcp = new TcpFlyweight();
    private final IcmpFlyweight icmp = new IcmpFlyweight();
    private final ArpFlyweight arp = new ArpFlyweight();
    private final GeneveFlyweight geneve = new GeneveFlyweight();
    private final VxlanFlyweight vxlan = new VxlanFlyweight();

    /**
     * @param segment where to write.
     * @param start   offset of the first byte of the frame.
     */
    public FrameBuilder(final MemorySegment segment, final int start)
    {
        this.segment = segment;
        this.start = start;
        this.at = start;
    }

    /**
     * Starts over at the same offset.
     *
     * @return this.
     */
    public FrameBuilder reset()
    {
        layers = 0;
        at = start;
        pendingEtherType = -1;
        pendingIpProtocol = -1;
        skipL4Checksum = false;
        return this;
    }

    private void push(final int kind, final int length, final int extraValue)
    {
        if (layers == MAX_LAYERS)
        {
            throw new IllegalStateException("too many layers");
        }
        kinds[layers] = kind;
        offsets[layers] = at;
        extra[layers] = extraValue;
        layers++;
        segment.asSlice(at, length).fill((byte)0);
        at += length;
    }

    private void linkEtherType(final int etherType)
    {
        if (pendingEtherType < 0)
        {
            if (layers != 0)
            {
                throw new IllegalStateException("this layer cannot follow the previous one");
            }
            return;
        }
        segment.set(Flyweight.U16, pendingEtherType, (short)etherType);
        pendingEtherType = -1;
    }

    private void linkIpProtocol(final int protocol)
    {
        if (pendingIpProtocol < 0)
        {
            throw new IllegalStateException("an L4 header must follow an IP header");
        }
        segment.set(ValueLayout.JAVA_BYTE, pendingIpProtocol, (byte)protocol);
        pendingIpProtocol = -1;
    }

    public FrameBuilder ethernet(final long destination, final long source)
    {
        if (layers != 0 && (pendingEtherType < 0 || kinds[layers - 1] == VLAN))
        {
            if (kinds[layers - 1] != VXLAN && kinds[layers - 1] != GENEVE)
            {
                throw new IllegalStateException("Ethernet must come first or follow VXLAN/Geneve");
            }
        }
        // VXLAN has no protocol field: its payload is always Ethernet. Geneve's is linked to TEB.
        if (layers != 0 && kinds[layers - 1] != VXLAN)
        {
            linkEtherType(EthernetFlyweight.ETHER_TYPE_TEB);
        }
        final int here = at;
        push(ETHERNET, EthernetFlyweight.HEADER_LENGTH, 0);
        ethernet.wrap(segment, here);
        ethernet.destination(destination).source(source);
        pendingEtherType = here + EthernetFlyweight.ETHER_TYPE_OFFSET;
        return this;
    }

    /**
     * Adds an 802.1Q tag (TPID 0x8100), or an 802.1ad service tag (0x88A8) when {@code serviceTag}.
     */
    public FrameBuilder vlan(final int vlanId, final boolean serviceTag)
    {
        linkEtherType(serviceTag ? EthernetFlyweight.ETHER_TYPE_QINQ : EthernetFlyweight.ETHER_TYPE_VLAN);
        final int here = at;
        push(VLAN, 2, 0);
        at += 2;
        segment.set(Flyweight.U16, here, (short)(vlanId & 0x0FFF));
        pendingEtherType = here + 2;
        return this;
    }

    public FrameBuilder arp(final int operation, final long senderMac, final int senderIp, final long targetMac, final int targetIp)
    {
        linkEtherType(EthernetFlyweight.ETHER_TYPE_ARP);
        final int here = at;
        push(ARP, ArpFlyweight.HEADER_LENGTH, 0);
        arp.wrap(segment, here);
        arp.ethernetIpv4(operation).senderMac(senderMac).senderIp(senderIp).targetMac(targetMac).targetIp(targetIp);
        return this;
    }

    public FrameBuilder ipv4(final int source, final int destination)
    {
        return ipv4(source, destination, 64, 0, Ipv4Flyweight.FLAG_DONT_FRAGMENT, null);
    }

    /**
     * @param flagsAndFragment the flags/fragment-offset word (offset in 8-byte units).
     * @param options          option bytes (padded with END to a multiple of four), or null.
     */
    public FrameBuilder ipv4(
        final int source, final int destination, final int ttl, final int identification,
        final int flagsAndFragment, final byte[] options)
    {
        linkEtherType(EthernetFlyweight.ETHER_TYPE_IPV4);
        final int optionLength = options == null ? 0 : (options.length + 3) & ~3;
        final int here = at;
        push(IPV4, Ipv4Flyweight.MIN_HEADER_LENGTH + optionLength, 0);
        ipv4.wrap(segment, here);
        ipv4.versionAndHeaderLength(Ipv4Flyweight.MIN_HEADER_LENGTH + optionLength)
            .identification(identification).flagsAndFragmentOffset(flagsAndFragment).ttl(ttl)
            .source(source).destination(destination);
        if (options != null)
        {
            MemorySegment.copy(options, 0, segment, ValueLayout.JAVA_BYTE, here + Ipv4Flyweight.OPTIONS_OFFSET, options.length);
        }
        pendingIpProtocol = here + Ipv4Flyweight.PROTOCOL_OFFSET;
        if ((flagsAndFragment & (Ipv4Flyweight.FLAG_MORE_FRAGMENTS | Ipv4Flyweight.FRAGMENT_OFFSET_MASK)) != 0)
        {
            skipL4Checksum = true;
        }
        return this;
    }

    public FrameBuilder ipv6(final byte[] source, final byte[] destination)
    {
        return ipv6(source, destination, 64, 0);
    }

    public FrameBuilder ipv6(final byte[] source, final byte[] destination, final int hopLimit, final int flowLabel)
    {
        linkEtherType(EthernetFlyweight.ETHER_TYPE_IPV6);
        final int here = at;
        push(IPV6, Ipv6Flyweight.HEADER_LENGTH, 0);
        ipv6.wrap(segment, here);
        ipv6.versionClassFlow(0, flowLabel).hopLimit(hopLimit);
        MemorySegment.copy(source, 0, segment, ValueLayout.JAVA_BYTE, here + Ipv6Flyweight.SOURCE_OFFSET, 16);
        MemorySegment.copy(destination, 0, segment, ValueLayout.JAVA_BYTE, here + Ipv6Flyweight.DESTINATION_OFFSET, 16);
        pendingIpProtocol = here + Ipv6Flyweight.NEXT_HEADER_OFFSET;
        return this;
    }

    /**
     * Adds an IPv6 options extension header (hop-by-hop or destination options) padded with PadN
     * to a multiple of 8 bytes.
     */
    public FrameBuilder ipv6OptionsHeader(final int type)
    {
        linkIpProtocol(type);
        final int here = at;
        push(IPV6_EXTENSION, 8, type);
        // Hdr Ext Len 0 (8 bytes); a PadN option covering the 6 option bytes.
        segment.set(ValueLayout.JAVA_BYTE, here + 2, (byte)1);
        segment.set(ValueLayout.JAVA_BYTE, here + 3, (byte)4);
        pendingIpProtocol = here;
        return this;
    }

    public FrameBuilder udp(final int sourcePort, final int destinationPort)
    {
        linkIpProtocol(IpProtocol.UDP);
        final int here = at;
        push(UDP, UdpFlyweight.HEADER_LENGTH, 0);
        udp.wrap(segment, here);
        udp.sourcePort(sourcePort).destinationPort(destinationPort);
        return this;
    }

    /**
     * Adds UDP with a zero checksum ("no checksum", as tunnel encapsulations commonly send).
     */
    public FrameBuilder udpNoChecksum(final int sourcePort, final int destinationPort)
    {
        udp(sourcePort, destinationPort);
        extra[layers - 1] = 1;
        return this;
    }

    public FrameBuilder tcp(final int sourcePort, final int destinationPort, final long sequence, final long ack, final int flags, final byte[] options)
    {
        linkIpProtocol(IpProtocol.TCP);
        final int optionLength = options == null ? 0 : (options.length + 3) & ~3;
        final int here = at;
        push(TCP, TcpFlyweight.MIN_HEADER_LENGTH + optionLength, 0);
        tcp.wrap(segment, here);
        tcp.sourcePort(sourcePort).destinationPort(destinationPort).sequence(sequence).acknowledgment(ack)
            .headerLength(TcpFlyweight.MIN_HEADER_LENGTH + optionLength).flags(flags).window(65535);
        if (options != null)
        {
            MemorySegment.copy(options, 0, segment, ValueLayout.JAVA_BYTE, here + TcpFlyweight.MIN_HEADER_LENGTH, options.length);
        }
        return this;
    }

    /**
     * Adds an ICMP (after IPv4) or ICMPv6 (after IPv6) header with the given type, code and second word.
     */
    public FrameBuilder icmp(final int type, final int code, final int identifier, final int sequence)
    {
        final boolean v6 = isAfterIpv6();
        linkIpProtocol(v6 ? IpProtocol.ICMPV6 : IpProtocol.ICMP);
        final int here = at;
        push(v6 ? ICMP6 : ICMP4, IcmpFlyweight.HEADER_LENGTH, 0);
        icmp.wrap(segment, here);
        icmp.type(type).code(code).identifier(identifier).sequence(sequence);
        return this;
    }

    /**
     * Adds an echo request or reply for the IP version in use.
     */
    public FrameBuilder icmpEcho(final boolean request, final int identifier, final int sequence)
    {
        final boolean v6 = isAfterIpv6();
        final int type = v6 ? (request ? IcmpFlyweight.V6_ECHO_REQUEST : IcmpFlyweight.V6_ECHO_REPLY)
            : (request ? IcmpFlyweight.V4_ECHO_REQUEST : IcmpFlyweight.V4_ECHO_REPLY);
        return icmp(type, 0, identifier, sequence);
    }

    private boolean isAfterIpv6()
    {
        for (int i = layers - 1; i >= 0; i--)
        {
            if (kinds[i] == IPV6)
            {
                return true;
            }
            if (kinds[i] == IPV4)
            {
                return false;
            }
        }
        return false;
    }

    public FrameBuilder vxlan(final int vni)
    {
        requireAfterUdp();
        final int here = at;
        push(VXLAN, VxlanFlyweight.HEADER_LENGTH, 0);
        vxlan.wrap(segment, here);
        vxlan.header(vni);
        pendingEtherType = -1;
        return this;
    }

    /**
     * Adds a Geneve header with options; each option is {class, type, data...} encoded as
     * {@code int[]{class, type}} plus its data in {@code optionData}.
     */
    public FrameBuilder geneve(final int vni, final int[][] options, final byte[][] optionData)
    {
        requireAfterUdp();
        int optionsLength = 0;
        boolean critical = false;
        for (int i = 0; i < options.length; i++)
        {
            optionsLength += GeneveFlyweight.OPTION_HEADER_LENGTH + optionData[i].length;
            critical |= (options[i][1] & GeneveFlyweight.OPTION_TYPE_CRITICAL) != 0;
        }
        final int here = at;
        push(GENEVE, GeneveFlyweight.HEADER_LENGTH + optionsLength, 0);
        geneve.wrap(segment, here);
        geneve.header(optionsLength, critical ? GeneveFlyweight.FLAG_CRITICAL : 0, 0, vni);
        int optionOffset = 0;
        for (int i = 0; i < options.length; i++)
        {
            optionOffset = geneve.option(optionOffset, options[i][0], options[i][1], optionData[i]);
        }
        pendingEtherType = here + GeneveFlyweight.PROTOCOL_TYPE_OFFSET;
        return this;
    }

    /**
     * Adds a Geneve header without options.
     */
    public FrameBuilder geneve(final int vni)
    {
        return geneve(vni, new int[0][], new byte[0][]);
    }

    private void requireAfterUdp()
    {
        if (layers == 0 || kinds[layers - 1] != UDP)
        {
            throw new IllegalStateException("an overlay header must follow UDP");
        }
    }

    public FrameBuilder payload(final byte[] bytes)
    {
        final int here = at;
        push(PAYLOAD, bytes.length, 0);
        MemorySegment.copy(bytes, 0, segment, ValueLayout.JAVA_BYTE, here, bytes.length);
        return this;
    }

    /**
     * Appends {@code length} bytes of a repeating pattern (byte i = (seed + i) mod 256).
     */
    public FrameBuilder payload(final int length, final int seed)
    {
        final int here = at;
        push(PAYLOAD, length, 0);
        for (int i = 0; i < length; i++)
        {
            segment.set(ValueLayout.JAVA_BYTE, here + i, (byte)(seed + i));
        }
        return this;
    }

    /**
     * Pads the frame with zeros to {@code minimumLength} bytes (Ethernet's 60-byte minimum); the
     * padding lies outside every IP packet.
     */
    public int buildPadded(final int minimumLength)
    {
        final int length = build();
        if (length < minimumLength)
        {
            segment.asSlice(start + length, minimumLength - length).fill((byte)0);
            return minimumLength;
        }
        return length;
    }

    /**
     * Fixes lengths and checksums from the innermost layer outwards.
     *
     * @return the frame length.
     */
    public int build()
    {
        final int end = at;
        for (int i = layers - 1; i >= 0; i--)
        {
            final int offset = offsets[i];
            switch (kinds[i])
            {
                case IPV4 ->
                {
                    ipv4.wrap(segment, offset);
                    ipv4.totalLength(end - offset).updateChecksum();
                }
                case IPV6 ->
                {
                    ipv6.wrap(segment, offset);
                    ipv6.payloadLength(end - offset - Ipv6Flyweight.HEADER_LENGTH);
                }
                case UDP ->
                {
                    udp.wrap(segment, offset);
                    udp.length(end - offset);
                    if (extra[i] == 1)
                    {
                        udp.checksum(0);
                    }
                    else if (!skipL4Checksum)
                    {
                        udp.updateChecksum(pseudoHeaderSum(i, IpProtocol.UDP, end - offset), end - offset);
                    }
                }
                case TCP ->
                {
                    if (!skipL4Checksum)
                    {
                        tcp.wrap(segment, offset);
                        tcp.updateChecksum(pseudoHeaderSum(i, IpProtocol.TCP, end - offset), end - offset);
                    }
                }
                case ICMP4 ->
                {
                    icmp.wrap(segment, offset);
                    icmp.updateChecksumV4(end - offset);
                }
                case ICMP6 ->
                {
                    icmp.wrap(segment, offset);
                    icmp.updateChecksumV6(ipLayerOffset(i), end - offset);
                }
                default ->
                {
                }
            }
        }
        return end - start;
    }

    private int ipLayerOffset(final int layer)
    {
        for (int i = layer - 1; i >= 0; i--)
        {
            if (kinds[i] == IPV4 || kinds[i] == IPV6)
            {
                return offsets[i];
            }
        }
        throw new IllegalStateException("no IP layer before L4");
    }

    private long pseudoHeaderSum(final int layer, final int protocol, final int l4Length)
    {
        final int ip = ipLayerOffset(layer);
        if ((segment.get(ValueLayout.JAVA_BYTE, ip) & 0xF0) == 0x40)
        {
            ipv4.wrap(segment, ip);
            return Checksums.pseudoHeaderSumIpv4(ipv4.source(), ipv4.destination(), protocol, l4Length);
        }
        return Checksums.pseudoHeaderSumIpv6(segment, ip + Ipv6Flyweight.SOURCE_OFFSET, protocol, l4Length);
    }
}
