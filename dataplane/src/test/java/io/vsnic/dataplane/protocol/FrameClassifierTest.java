package io.vsnic.dataplane.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.function.UnaryOperator;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import io.vsnic.dataplane.status.DropReason;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class FrameClassifierTest
{
    private static final long MAC_A = 0x02_00_00_00_00_0AL;
    private static final long MAC_B = 0x02_00_00_00_00_0BL;
    private static final long MAC_C = 0x02_00_00_00_00_0CL;
    private static final long MAC_D = 0x02_00_00_00_00_0DL;
    private static final int IP_A = 0x0A00_0001;
    private static final int IP_B = 0x0A00_0002;
    private static final int IP_C = 0xC0A8_0001;
    private static final int IP_D = 0xC0A8_0002;
    private static final byte[] IP6_A = Ipv6Flyweight.parse("2001:db8::a");
    private static final byte[] IP6_B = Ipv6Flyweight.parse("2001:db8::b");
    private static final byte[] MSS_1460 = {2, 4, 0x05, (byte)0xb4};
    private static final int TUNNEL_SOURCE_PORT = 49152;

    /** Writes a valid frame at offset 0 and returns its length. */
    @FunctionalInterface
    interface Recipe
    {
        int write(MemorySegment segment);
    }

    /** Breaks a valid frame in one place, using the layout of the valid frame; returns the new length. */
    @FunctionalInterface
    interface Breaker
    {
        int apply(MemorySegment segment, int length, FrameLayout valid);
    }

    record Case(String name, Recipe recipe, Breaker breaker, DropReason expected, boolean inner, boolean verifying)
    {
        Case inInner()
        {
            return new Case(name, recipe, breaker, expected, true, verifying);
        }

        Case verifyingChecksums()
        {
            return new Case(name, recipe, breaker, expected, inner, true);
        }

        @Override
        public String toString()
        {
            return expected + ": " + name + (inner ? " [inner]" : "") + (verifying ? " [verifying]" : "");
        }
    }

    // ----- valid frames -----

    private static final Recipe IPV4_UDP = built(b -> b.ethernet(MAC_B, MAC_A).ipv4(IP_A, IP_B).udp(40000, 53).payload(32, 1));
    private static final Recipe IPV4_TCP = built(b -> b.ethernet(MAC_B, MAC_A).ipv4(IP_A, IP_B)
        .tcp(40000, 443, 1000, 0, TcpFlyweight.SYN, MSS_1460).payload(20, 2));
    private static final Recipe IPV4_ICMP = built(b -> b.ethernet(MAC_B, MAC_A).ipv4(IP_A, IP_B).icmpEcho(true, 7, 1).payload(56, 3));
    private static final Recipe IPV4_OPTIONS_UDP = built(b -> b.ethernet(MAC_B, MAC_A)
        .ipv4(IP_A, IP_B, 64, 1, 0, new byte[]{(byte)0x94, 4, 0, 0}).udp(40000, 53).payload(8, 4));
    private static final Recipe IPV6_UDP = built(b -> b.ethernet(MAC_B, MAC_A).ipv6(IP6_A, IP6_B).udp(40000, 53).payload(32, 5));
    private static final Recipe IPV6_TCP = built(b -> b.ethernet(MAC_B, MAC_A).ipv6(IP6_A, IP6_B)
        .tcp(40000, 443, 1000, 0, TcpFlyweight.SYN, MSS_1460).payload(40, 6));
    private static final Recipe IPV6_ICMP = built(b -> b.ethernet(MAC_B, MAC_A).ipv6(IP6_A, IP6_B).icmpEcho(true, 7, 1).payload(56, 7));
    private static final Recipe IPV6_HOP_BY_HOP_UDP = built(b -> b.ethernet(MAC_B, MAC_A).ipv6(IP6_A, IP6_B)
        .ipv6OptionsHeader(IpProtocol.HOP_BY_HOP).udp(40000, 53).payload(16, 8));
    private static final Recipe ARP = built(b -> b.ethernet(EthernetFlyweight.BROADCAST, MAC_A)
        .arp(ArpFlyweight.OPERATION_REQUEST, MAC_A, IP_A, 0, IP_B));
    private static final Recipe VLAN_IPV4_UDP = built(b -> b.ethernet(MAC_B, MAC_A).vlan(100, false)
        .ipv4(IP_A, IP_B).udp(40000, 53).payload(16, 9));
    private static final Recipe QINQ_IPV4_UDP = built(b -> b.ethernet(MAC_B, MAC_A).vlan(10, true).vlan(20, false)
        .ipv4(IP_A, IP_B).udp(40000, 53).payload(16, 10));
    private static final Recipe VXLAN_IPV4_TCP = built(b -> b.ethernet(MAC_B, MAC_A).ipv4(IP_A, IP_B)
        .udpNoChecksum(TUNNEL_SOURCE_PORT, VxlanFlyweight.UDP_PORT).vxlan(5001)
        .ethernet(MAC_D, MAC_C).ipv4(IP_C, IP_D).tcp(40000, 443, 1000, 0, TcpFlyweight.ACK, null).payload(100, 11));
    private static final Recipe VXLAN_IPV6_UDP = built(b -> b.ethernet(MAC_B, MAC_A).ipv4(IP_A, IP_B)
        .udp(TUNNEL_SOURCE_PORT, VxlanFlyweight.UDP_PORT).vxlan(5001)
        .ethernet(MAC_D, MAC_C).ipv6(IP6_A, IP6_B).udp(1000, 2000).payload(20, 12));
    private static final Recipe GENEVE_OPTIONS_IPV4_UDP = built(b -> b.ethernet(MAC_B, MAC_A).ipv4(IP_A, IP_B)
        .udp(TUNNEL_SOURCE_PORT, GeneveFlyweight.UDP_PORT)
        .geneve(77, new int[][]{{0x0132, 1}, {0x0102, 5}}, new byte[][]{new byte[4], new byte[8]})
        .ethernet(MAC_D, MAC_C).ipv4(IP_C, IP_D).udp(1000, 2000).payload(20, 13));
    private static final Recipe GENEVE_INNER_IPV4_ICMP = built(b -> b.ethernet(MAC_B, MAC_A).ipv6(IP6_A, IP6_B)
        .udpNoChecksum(TUNNEL_SOURCE_PORT, GeneveFlyweight.UDP_PORT).geneve(78)
        .ipv4(IP_C, IP_D).icmpEcho(false, 9, 9).payload(24, 14));
    private static final Recipe CAPTURED_VXLAN_ICMP = captured(Captures.VXLAN_ICMP_ECHO_REQUEST);
    private static final Recipe CAPTURED_VXLAN_ARP = captured(Captures.VXLAN_ARP_REQUEST);
    private static final Recipe CAPTURED_GENEVE_GCP = captured(Captures.GENEVE_GCP);

    private final MemorySegment segment = Arena.ofAuto().allocate(16_384);
    private final FrameLayout layout = new FrameLayout();
    private final FrameClassifier forwarding = FrameClassifier.forwarding();
    private final FrameClassifier verifying = FrameClassifier.verifying();

    // ----- drops, one precise defect each -----

    static Stream<Case> brokenFrames()
    {
        return Stream.of(
            // TRUNCATED at every layer
            drop("empty frame", IPV4_UDP, (s, n, v) -> 0, DropReason.TRUNCATED),
            drop("13 bytes of Ethernet header", IPV4_UDP, (s, n, v) -> 13, DropReason.TRUNCATED),
            drop("VLAN tag cut after its TPID", VLAN_IPV4_UDP, (s, n, v) -> 16, DropReason.TRUNCATED),
            drop("second VLAN tag cut in half", QINQ_IPV4_UDP, (s, n, v) -> 20, DropReason.TRUNCATED),
            drop("ARP one byte short", ARP, (s, n, v) -> v.l3Offset() + 27, DropReason.TRUNCATED),
            drop("IPv4 header one byte short", IPV4_UDP, (s, n, v) -> v.l3Offset() + 19, DropReason.TRUNCATED),
            drop("IPv6 header one byte short", IPV6_UDP, (s, n, v) -> v.l3Offset() + 39, DropReason.TRUNCATED),
            drop("UDP header 7 bytes", IPV4_UDP, (s, n, v) -> ipv4Packet(s, v.l3Offset(), 20 + 7), DropReason.TRUNCATED),
            drop("TCP header 19 bytes", IPV4_TCP, (s, n, v) -> ipv4Packet(s, v.l3Offset(), 20 + 19), DropReason.TRUNCATED),
            drop("ICMP header 7 bytes", IPV4_ICMP, (s, n, v) -> ipv4Packet(s, v.l3Offset(), 20 + 7), DropReason.TRUNCATED),
            drop("UDP over IPv6 7 bytes", IPV6_UDP, (s, n, v) -> ipv6Packet(s, v.l3Offset(), 7), DropReason.TRUNCATED),
            drop("ICMPv6 7 bytes", IPV6_ICMP, (s, n, v) -> ipv6Packet(s, v.l3Offset(), 7), DropReason.TRUNCATED),
            drop("VXLAN header 7 bytes", VXLAN_IPV4_TCP, (s, n, v) -> udpLength(s, v, 8 + 7, n), DropReason.TRUNCATED),
            drop("Geneve header 7 bytes", GENEVE_OPTIONS_IPV4_UDP, (s, n, v) -> udpLength(s, v, 8 + 7, n), DropReason.TRUNCATED),
            drop("inner Ethernet 13 bytes", VXLAN_IPV4_TCP, (s, n, v) -> udpLength(s, v, 8 + 8 + 13, n), DropReason.TRUNCATED).inInner(),
            drop("inner IPv4 of Geneve 19 bytes", GENEVE_INNER_IPV4_ICMP,
                (s, n, v) -> udpLength(s, v, 8 + v.overlayHeaderLength() + 19, n), DropReason.TRUNCATED).inInner(),
            drop("inner TCP 10 bytes", VXLAN_IPV4_TCP,
                (s, n, v) -> keep(n, ipv4Packet(s, v.inner().l3Offset(), 20 + 10)), DropReason.TRUNCATED).inInner(),

            // Ethernet and VLAN
            drop("LLDP EtherType", IPV4_UDP, (s, n, v) -> u16(s, 12, 0x88CC, n), DropReason.UNSUPPORTED_ETHERTYPE),
            drop("802.3 length instead of EtherType", IPV4_UDP, (s, n, v) -> u16(s, 12, 0x0040, n), DropReason.UNSUPPORTED_ETHERTYPE),
            drop("MPLS behind two VLAN tags", QINQ_IPV4_UDP, (s, n, v) -> u16(s, 20, 0x8847, n), DropReason.UNSUPPORTED_ETHERTYPE),
            drop("inner IPX EtherType", CAPTURED_VXLAN_ICMP, (s, n, v) -> u16(s, v.inner().l2Offset() + 12, 0x8137, n),
                DropReason.UNSUPPORTED_ETHERTYPE).inInner(),
            drop("third VLAN tag", QINQ_IPV4_UDP, (s, n, v) -> u16(s, 20, EthernetFlyweight.ETHER_TYPE_VLAN, n),
                DropReason.TOO_MANY_VLAN_TAGS),
            drop("third tag is a service tag", QINQ_IPV4_UDP, (s, n, v) -> u16(s, 20, EthernetFlyweight.ETHER_TYPE_QINQ, n),
                DropReason.TOO_MANY_VLAN_TAGS),
            drop("multicast source MAC", IPV4_UDP, (s, n, v) -> mac(s, 6, 0x01005e000001L, n), DropReason.BAD_ADDRESS),
            drop("broadcast source MAC", ARP, (s, n, v) -> mac(s, 6, EthernetFlyweight.BROADCAST, n), DropReason.BAD_ADDRESS),
            drop("inner multicast source MAC", VXLAN_IPV4_TCP, (s, n, v) -> mac(s, v.inner().l2Offset() + 6, 0x333300000001L, n),
                DropReason.BAD_ADDRESS).inInner(),

            // ARP
            drop("ARP hardware type 6", ARP, (s, n, v) -> u16(s, v.l3Offset(), 6, n), DropReason.BAD_ARP),
            drop("ARP protocol type IPv6", ARP, (s, n, v) -> u16(s, v.l3Offset() + 2, 0x86DD, n), DropReason.BAD_ARP),
            drop("ARP hardware length 8", ARP, (s, n, v) -> u8(s, v.l3Offset() + 4, 8, n), DropReason.BAD_ARP),
            drop("ARP protocol length 16", ARP, (s, n, v) -> u8(s, v.l3Offset() + 5, 16, n), DropReason.BAD_ARP),
            drop("captured inner ARP with protocol length 6", CAPTURED_VXLAN_ARP, (s, n, v) -> u8(s, v.inner().l3Offset() + 5, 6, n),
                DropReason.BAD_ARP).inInner(),

            // IPv4 / IPv6 header
            drop("version 6 under EtherType IPv4", IPV4_UDP, (s, n, v) -> u8(s, v.l3Offset(), 0x65, n), DropReason.BAD_IP_VERSION),
            drop("version 4 under EtherType IPv6", IPV6_UDP, (s, n, v) -> u8(s, v.l3Offset(), 0x40, n), DropReason.BAD_IP_VERSION),
            drop("inner version 5 under Geneve protocol IPv4", GENEVE_INNER_IPV4_ICMP, (s, n, v) -> u8(s, v.inner().l3Offset(), 0x55, n),
                DropReason.BAD_IP_VERSION).inInner(),
            drop("IHL 4", IPV4_UDP, (s, n, v) -> fixIpv4(s, v.l3Offset(), u8(s, v.l3Offset(), 0x44, n)), DropReason.BAD_IHL),
            drop("IHL 0", IPV4_UDP, (s, n, v) -> u8(s, v.l3Offset(), 0x40, n), DropReason.BAD_IHL),
            drop("IHL 15 beyond a short frame", IPV4_UDP, (s, n, v) -> u8(s, v.l3Offset(), 0x4F, v.l3Offset() + 59), DropReason.BAD_IHL),
            drop("total length below IHL", IPV4_UDP, (s, n, v) -> fixIpv4(s, v.l3Offset(), u16(s, v.l3Offset() + 2, 19, n)),
                DropReason.BAD_IP_LENGTH),
            drop("total length one beyond the frame", IPV4_UDP,
                (s, n, v) -> fixIpv4(s, v.l3Offset(), u16(s, v.l3Offset() + 2, n - v.l3Offset() + 1, n)), DropReason.BAD_IP_LENGTH),
            drop("frame cut one byte into the IPv4 payload", IPV4_UDP, (s, n, v) -> n - 1, DropReason.BAD_IP_LENGTH),
            drop("IPv6 payload length one beyond the frame", IPV6_UDP,
                (s, n, v) -> u16(s, v.l3Offset() + 4, n - v.l3Offset() - 40 + 1, n), DropReason.BAD_IP_LENGTH),
            drop("inner total length beyond the inner frame", VXLAN_IPV4_TCP,
                (s, n, v) -> fixIpv4(s, v.inner().l3Offset(), u16(s, v.inner().l3Offset() + 2, 1500, n)), DropReason.BAD_IP_LENGTH).inInner(),
            drop("IPv4 option length 1", IPV4_OPTIONS_UDP, (s, n, v) -> fixIpv4(s, v.l3Offset(), u8(s, v.l3Offset() + 21, 1, n)),
                DropReason.BAD_IP_OPTIONS),
            drop("IPv4 option longer than the header", IPV4_OPTIONS_UDP,
                (s, n, v) -> fixIpv4(s, v.l3Offset(), u8(s, v.l3Offset() + 21, 5, n)), DropReason.BAD_IP_OPTIONS),
            drop("IPv4 multicast source", IPV4_UDP, (s, n, v) -> fixIpv4(s, v.l3Offset(), u32(s, v.l3Offset() + 12, 0xE0000001, n)),
                DropReason.BAD_ADDRESS),
            drop("IPv4 limited broadcast source", IPV4_UDP, (s, n, v) -> fixIpv4(s, v.l3Offset(), u32(s, v.l3Offset() + 12, -1, n)),
                DropReason.BAD_ADDRESS),
            drop("IPv6 multicast source", IPV6_UDP, (s, n, v) -> u8(s, v.l3Offset() + 8, 0xFF, n), DropReason.BAD_ADDRESS),

            // checksums
            drop("IPv4 header checksum off by one TTL", IPV4_UDP, (s, n, v) -> u8(s, v.l3Offset() + 8, 63, n), DropReason.BAD_CHECKSUM),
            drop("IPv4 header checksum of inner header", VXLAN_IPV4_TCP, (s, n, v) -> u8(s, v.inner().l3Offset() + 1, 0x10, n),
                DropReason.BAD_CHECKSUM).inInner(),
            drop("UDP payload bit flip", IPV4_UDP, (s, n, v) -> flip(s, n - 1, n), DropReason.BAD_CHECKSUM).verifyingChecksums(),
            drop("UDP over IPv6 payload bit flip", IPV6_UDP, (s, n, v) -> flip(s, n - 5, n), DropReason.BAD_CHECKSUM).verifyingChecksums(),
            drop("UDP over IPv6 without checksum", IPV6_UDP, (s, n, v) -> u16(s, v.l4Offset() + 6, 0, n), DropReason.BAD_CHECKSUM)
                .verifyingChecksums(),
            drop("TCP payload bit flip", IPV4_TCP, (s, n, v) -> flip(s, n - 2, n), DropReason.BAD_CHECKSUM).verifyingChecksums(),
            drop("TCP over IPv6 port change", IPV6_TCP, (s, n, v) -> u16(s, v.l4Offset(), 40001, n), DropReason.BAD_CHECKSUM)
                .verifyingChecksums(),
            drop("ICMP payload bit flip", IPV4_ICMP, (s, n, v) -> flip(s, n - 3, n), DropReason.BAD_CHECKSUM).verifyingChecksums(),
            drop("ICMPv6 checksum without pseudo-header", IPV6_ICMP,
                (s, n, v) -> {
                    u16(s, v.l4Offset() + 2, 0, n);
                    return u16(s, v.l4Offset() + 2, Checksums.checksum(s, v.l4Offset(), v.l4Length()), n);
                }, DropReason.BAD_CHECKSUM).verifyingChecksums(),
            drop("inner TCP payload bit flip", VXLAN_IPV4_TCP, (s, n, v) -> flip(s, n - 1, n), DropReason.BAD_CHECKSUM)
                .inInner().verifyingChecksums(),
            drop("captured inner ICMP echo bit flip", CAPTURED_VXLAN_ICMP, (s, n, v) -> flip(s, n - 1, n), DropReason.BAD_CHECKSUM)
                .inInner().verifyingChecksums(),
            drop("outer UDP checksum of VXLAN carrier", VXLAN_IPV6_UDP, (s, n, v) -> flip(s, n - 1, n), DropReason.BAD_CHECKSUM)
                .verifyingChecksums(),

            // IPv6 extension headers
            drop("ninth extension header", eightDestinationOptionHeaders(),
                (s, n, v) -> u8(s, v.l3Offset() + 40 + 7 * 8, IpProtocol.IPV6_DESTINATION_OPTIONS, n), DropReason.BAD_IPV6_EXTENSION),
            drop("hop-by-hop length beyond the packet", IPV6_HOP_BY_HOP_UDP, (s, n, v) -> u8(s, v.l3Offset() + 41, 10, n),
                DropReason.BAD_IPV6_EXTENSION),
            drop("extension header with 4 bytes left", IPV6_HOP_BY_HOP_UDP,
                (s, n, v) -> {
                    u8(s, v.l3Offset() + 40, IpProtocol.IPV6_DESTINATION_OPTIONS, n);
                    return ipv6Packet(s, v.l3Offset(), 8 + 4);
                }, DropReason.BAD_IPV6_EXTENSION),
            drop("AH length beyond the packet", IPV6_HOP_BY_HOP_UDP,
                (s, n, v) -> {
                    u8(s, v.l3Offset() + 40, IpProtocol.AH, n);
                    return u8(s, v.l3Offset() + 48 + 1, 200, n);
                }, DropReason.BAD_IPV6_EXTENSION),

            // L4 headers
            drop("UDP length 7", IPV4_UDP, (s, n, v) -> u16(s, v.l4Offset() + 4, 7, n), DropReason.BAD_UDP_LENGTH),
            drop("UDP length beyond the IP payload", IPV4_UDP, (s, n, v) -> u16(s, v.l4Offset() + 4, v.l4Length() + 1, n),
                DropReason.BAD_UDP_LENGTH),
            drop("UDP over IPv6 length 0", IPV6_UDP, (s, n, v) -> u16(s, v.l4Offset() + 4, 0, n), DropReason.BAD_UDP_LENGTH),
            drop("inner UDP length beyond the inner IP payload", GENEVE_OPTIONS_IPV4_UDP,
                (s, n, v) -> u16(s, v.inner().l4Offset() + 4, 200, n), DropReason.BAD_UDP_LENGTH).inInner(),
            drop("TCP data offset 4", IPV4_TCP, (s, n, v) -> u8(s, v.l4Offset() + 12, 0x40, n), DropReason.BAD_TCP_OFFSET),
            drop("TCP data offset 15 beyond the segment", IPV4_TCP, (s, n, v) -> u8(s, v.l4Offset() + 12, 0xF0, n),
                DropReason.BAD_TCP_OFFSET),
            drop("inner TCP data offset 0", VXLAN_IPV4_TCP, (s, n, v) -> u8(s, v.inner().l4Offset() + 12, 0x00, n),
                DropReason.BAD_TCP_OFFSET).inInner(),

            // overlays
            drop("VXLAN I flag clear", VXLAN_IPV4_TCP, (s, n, v) -> u8(s, v.overlayOffset(), 0x00, n), DropReason.BAD_VXLAN_FLAGS),
            drop("captured VXLAN with only reserved flags", CAPTURED_VXLAN_ARP, (s, n, v) -> u8(s, v.overlayOffset(), 0xF7, n),
                DropReason.BAD_VXLAN_FLAGS),
            drop("Geneve version 1", GENEVE_OPTIONS_IPV4_UDP, (s, n, v) -> u8(s, v.overlayOffset(), 0x40 | 5, n),
                DropReason.BAD_GENEVE_VERSION),
            drop("captured Geneve version 3", CAPTURED_GENEVE_GCP, (s, n, v) -> u8(s, v.overlayOffset(), 0xC0 | 10, n),
                DropReason.BAD_GENEVE_VERSION),
            drop("Geneve option area beyond the datagram", GENEVE_OPTIONS_IPV4_UDP, (s, n, v) -> u8(s, v.overlayOffset(), 63, n),
                DropReason.GENEVE_OPTION_OVERFLOW),
            drop("second Geneve option beyond the option area", GENEVE_OPTIONS_IPV4_UDP,
                (s, n, v) -> u8(s, v.overlayOffset() + 8 + 8 + 3, 3, n), DropReason.GENEVE_OPTION_OVERFLOW),
            drop("captured Geneve option area one word short", CAPTURED_GENEVE_GCP, (s, n, v) -> u8(s, v.overlayOffset(), 9, n),
                DropReason.GENEVE_OPTION_OVERFLOW),
            drop("Geneve protocol ARP", GENEVE_OPTIONS_IPV4_UDP, (s, n, v) -> u16(s, v.overlayOffset() + 2, 0x0806, n),
                DropReason.UNSUPPORTED_GENEVE_PROTOCOL),
            drop("Geneve protocol MPLS", GENEVE_INNER_IPV4_ICMP, (s, n, v) -> u16(s, v.overlayOffset() + 2, 0x8847, n),
                DropReason.UNSUPPORTED_GENEVE_PROTOCOL));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("brokenFrames")
    void shouldDropWithExactReasonWhenValidFrameIsBrokenInOnePlace(final Case brokenFrame)
    {
        final FrameClassifier classifier = brokenFrame.verifying() ? verifying : forwarding;
        final int length = brokenFrame.recipe().write(segment);
        assertEquals(DropReason.NONE, classify(classifier, length), "the unbroken frame must be valid");

        final int brokenLength = brokenFrame.breaker().apply(segment, length, layout);
        final int reason = classifier.classify(segment, 0, brokenLength, layout);

        assertEquals(brokenFrame.expected(), DropReason.of(reason));
        assertEquals(brokenFrame.expected(), layout.dropReason());
        assertFalse(layout.isValid());
        assertEquals(brokenFrame.inner(), layout.isDropInInner(), "isDropInInner");
        if (brokenFrame.inner())
        {
            assertEquals(brokenFrame.expected(), layout.inner().dropReason());
        }
    }

    @Test
    void shouldCoverEveryDropReasonTheClassifierCanProduce()
    {
        final Set<DropReason> covered = brokenFrames().map(Case::expected).collect(Collectors.toCollection(() -> EnumSet.noneOf(DropReason.class)));
        // The classifier's reasons are the first block of the enum; pipeline and substrate reasons follow it.
        assertEquals(EnumSet.range(DropReason.TRUNCATED, DropReason.UNSUPPORTED_GENEVE_PROTOCOL), covered);
    }

    @Test
    void shouldKeepBadL4ChecksumWhenForwardingWithoutVerification()
    {
        for (final Recipe recipe : List.of(IPV4_UDP, IPV4_TCP, IPV4_ICMP, IPV6_UDP, IPV6_TCP, IPV6_ICMP))
        {
            final int length = recipe.write(segment);
            flip(segment, length - 1, length);

            assertEquals(DropReason.NONE, classify(forwarding, length));
            assertFalse(layout.hasFlag(FrameLayout.FLAG_L4_CHECKSUM_VERIFIED));
            assertEquals(DropReason.BAD_CHECKSUM, classify(verifying, length));
        }
    }

    // ----- valid frames: what the layout says -----

    @Test
    void shouldDescribeEveryHeaderOfCapturedVxlanEchoRequest()
    {
        final int length = CAPTURED_VXLAN_ICMP.write(segment);

        assertEquals(DropReason.NONE, classify(verifying, length));

        assertEquals(0, layout.frameOffset());
        assertEquals(148, layout.frameLength());
        assertEquals(0, layout.l2Offset());
        assertEquals(0x00163e0871cfL, layout.destinationMac());
        assertEquals(0x36dc851eb340L, layout.sourceMac());
        assertEquals(0, layout.vlanCount());
        assertEquals(-1, layout.outerVlanId());
        assertEquals(EthernetFlyweight.ETHER_TYPE_IPV4, layout.etherType());
        assertEquals(FrameLayout.L3_IPV4, layout.l3Type());
        assertEquals(14, layout.l3Offset());
        assertEquals(20, layout.l3HeaderLength());
        assertEquals(134, layout.l3Length());
        assertEquals(148, layout.l3End());
        assertEquals(IpProtocol.UDP, layout.l4Protocol());
        assertEquals(34, layout.l4Offset());
        assertEquals(114, layout.l4Length());
        assertEquals(8, layout.l4HeaderLength());
        assertEquals(45149, layout.sourcePort());
        assertEquals(4789, layout.destinationPort());
        assertEquals(FrameLayout.OVERLAY_VXLAN, layout.overlayType());
        assertEquals(42, layout.overlayOffset());
        assertEquals(8, layout.overlayHeaderLength());
        assertEquals(100, layout.vni());
        assertEquals(-1, layout.geneveProtocol());
        assertEquals(FrameLayout.FLAG_UDP_NO_CHECKSUM, layout.flags());

        final FrameLayout inner = layout.inner();
        assertTrue(inner.isValid());
        assertNull(inner.inner());
        assertEquals(50, inner.frameOffset());
        assertEquals(98, inner.frameLength());
        assertEquals(50, inner.l2Offset());
        assertEquals(0x003088010002L, inner.destinationMac());
        assertEquals(0x00163e37f604L, inner.sourceMac());
        assertEquals(64, inner.l3Offset());
        assertEquals(84, inner.l3Length());
        assertEquals(IpProtocol.ICMP, inner.l4Protocol());
        assertEquals(84, inner.l4Offset());
        assertEquals(64, inner.l4Length());
        assertEquals(1292, inner.sourcePort(), "ICMP echo identifier");
        assertEquals(IcmpFlyweight.V4_ECHO_REQUEST << 8, inner.destinationPort(), "ICMP type << 8 | code");
        assertEquals(FrameLayout.FLAG_L4_CHECKSUM_VERIFIED, inner.flags());
    }

    @Test
    void shouldDescribeCapturedInnerArpRequest()
    {
        final int length = CAPTURED_VXLAN_ARP.write(segment);

        assertEquals(DropReason.NONE, classify(verifying, length));

        final FrameLayout inner = layout.inner();
        assertEquals(EthernetFlyweight.BROADCAST, inner.destinationMac());
        assertEquals(EthernetFlyweight.ETHER_TYPE_ARP, inner.etherType());
        assertEquals(FrameLayout.L3_ARP, inner.l3Type());
        assertEquals(64, inner.l3Offset());
        assertEquals(28, inner.l3Length());
        assertEquals(92, inner.l3End());
        assertEquals(-1, inner.l4Offset());
    }

    @Test
    void shouldDecodeCapturedGeneveFrameWithInnerIpv4AndNoInnerEthernet()
    {
        final int length = CAPTURED_GENEVE_GCP.write(segment);

        assertEquals(DropReason.NONE, classify(verifying, length));

        assertEquals(FrameLayout.OVERLAY_GENEVE, layout.overlayType());
        assertEquals(42, layout.overlayOffset());
        assertEquals(48, layout.overlayHeaderLength());
        assertEquals(0, layout.vni());
        assertEquals(EthernetFlyweight.ETHER_TYPE_IPV4, layout.geneveProtocol());
        assertEquals(2, ttl(layout.l3Offset()));
        assertTrue(layout.hasFlag(FrameLayout.FLAG_UDP_NO_CHECKSUM));
        assertFalse(layout.hasFlag(FrameLayout.FLAG_GENEVE_CRITICAL_OPTION));
        assertFalse(layout.hasFlag(FrameLayout.FLAG_GENEVE_OAM));

        final FrameLayout inner = layout.inner();
        assertEquals(-1, inner.l2Offset());
        assertEquals(EthernetFlyweight.ETHER_TYPE_IPV4, inner.etherType());
        assertEquals(90, inner.frameOffset());
        assertEquals(90, inner.l3Offset());
        assertEquals(40, inner.l3Length());
        assertEquals(110, inner.l4Offset());
        assertEquals(IpProtocol.TCP, inner.l4Protocol());
        assertEquals(20, inner.l4HeaderLength());
        assertEquals(2905, inner.sourcePort());
        assertEquals(8080, inner.destinationPort());
        assertTrue(inner.hasFlag(FrameLayout.FLAG_L4_CHECKSUM_VERIFIED));
    }

    @Test
    void shouldFlagCriticalOptionOfCapturedGeneveFrame()
    {
        final byte[] frame = Hex.bytes(Captures.GENEVE_CRITICAL_OPTION);
        MemorySegment.copy(frame, 0, segment, ValueLayout.JAVA_BYTE, 0, frame.length);

        assertEquals(DropReason.NONE, classify(verifying, frame.length));

        assertTrue(layout.hasFlag(FrameLayout.FLAG_GENEVE_CRITICAL_OPTION));
        assertEquals(0xa, layout.vni());
        assertEquals(EthernetFlyweight.ETHER_TYPE_TEB, layout.geneveProtocol());
        assertEquals(58, layout.inner().l2Offset());
        assertEquals(IpProtocol.ICMP, layout.inner().l4Protocol());
    }

    @Test
    void shouldFlagCriticalOptionWhenOnlyTheOptionTypeSaysSo()
    {
        final int length = built(b -> b.ethernet(MAC_B, MAC_A).ipv4(IP_A, IP_B).udp(TUNNEL_SOURCE_PORT, GeneveFlyweight.UDP_PORT)
            .geneve(5, new int[][]{{0x0132, 1}, {0x0132, 0x80 | 2}}, new byte[][]{new byte[0], new byte[4]})
            .ethernet(MAC_D, MAC_C).ipv6(IP6_A, IP6_B).tcp(1, 2, 3, 4, TcpFlyweight.ACK, null)).write(segment);
        assertEquals(DropReason.NONE, classify(forwarding, length));
        assertTrue(layout.hasFlag(FrameLayout.FLAG_GENEVE_CRITICAL_OPTION));

        u8(segment, layout.overlayOffset() + 1, 0, length);

        assertEquals(DropReason.NONE, classify(forwarding, length));
        assertTrue(layout.hasFlag(FrameLayout.FLAG_GENEVE_CRITICAL_OPTION), "critical option type with C flag clear");
        assertEquals(FrameLayout.L3_IPV6, layout.inner().l3Type());
    }

    @Test
    void shouldNotFlagCriticalOptionWhenNoOptionIsCritical()
    {
        final int length = GENEVE_OPTIONS_IPV4_UDP.write(segment);

        assertEquals(DropReason.NONE, classify(verifying, length));

        assertFalse(layout.hasFlag(FrameLayout.FLAG_GENEVE_CRITICAL_OPTION));
        assertEquals(8 + 4 + 4 + 4 + 8, layout.overlayHeaderLength());
        assertEquals(77, layout.vni());
        assertEquals(layout.overlayOffset() + layout.overlayHeaderLength(), layout.inner().l2Offset());
    }

    @Test
    void shouldFlagGeneveOamWhenOFlagIsSet()
    {
        final int length = GENEVE_OPTIONS_IPV4_UDP.write(segment);
        classify(forwarding, length);
        u8(segment, layout.overlayOffset() + 1, GeneveFlyweight.FLAG_OAM, length);

        assertEquals(DropReason.NONE, classify(forwarding, length));

        assertTrue(layout.hasFlag(FrameLayout.FLAG_GENEVE_OAM));
    }

    @Test
    void shouldRecordVlanIdsWhenFrameCarriesOneOrTwoTags()
    {
        int length = VLAN_IPV4_UDP.write(segment);
        assertEquals(DropReason.NONE, classify(verifying, length));
        assertEquals(1, layout.vlanCount());
        assertEquals(100, layout.outerVlanId());
        assertEquals(-1, layout.innerVlanId());
        assertEquals(18, layout.l3Offset());
        assertEquals(38, layout.l4Offset());

        length = QINQ_IPV4_UDP.write(segment);
        assertEquals(DropReason.NONE, classify(verifying, length));
        assertEquals(2, layout.vlanCount());
        assertEquals(10, layout.outerVlanId());
        assertEquals(20, layout.innerVlanId());
        assertEquals(EthernetFlyweight.ETHER_TYPE_IPV4, layout.etherType());
        assertEquals(22, layout.l3Offset());
        assertEquals(53, layout.destinationPort());
    }

    @Test
    void shouldDescribeInnerVlanOfVxlanFrame()
    {
        final int length = built(b -> b.ethernet(MAC_B, MAC_A).ipv4(IP_A, IP_B).udp(TUNNEL_SOURCE_PORT, VxlanFlyweight.LEGACY_LINUX_UDP_PORT)
            .vxlan(0xFFFFFF).ethernet(MAC_D, MAC_C).vlan(4094, false).arp(ArpFlyweight.OPERATION_REPLY, MAC_C, IP_C, MAC_D, IP_D))
            .write(segment);

        assertEquals(DropReason.NONE, classify(verifying, length));

        assertEquals(0xFFFFFF, layout.vni());
        assertEquals(0, layout.vlanCount());
        assertEquals(1, layout.inner().vlanCount());
        assertEquals(4094, layout.inner().outerVlanId());
        assertEquals(FrameLayout.L3_ARP, layout.inner().l3Type());
    }

    @Test
    void shouldFlagFirstFragmentAndStillParseItsL4Header()
    {
        final int length = built(b -> b.ethernet(MAC_B, MAC_A).ipv4(IP_A, IP_B, 64, 77, Ipv4Flyweight.FLAG_MORE_FRAGMENTS, null)
            .udp(40000, VxlanFlyweight.UDP_PORT).payload(64, 0)).write(segment);
        // a first fragment's UDP length covers the whole datagram, beyond this fragment
        u16(segment, 14 + 20 + 4, 3000, length);

        assertEquals(DropReason.NONE, classify(verifying, length));

        assertTrue(layout.hasFlag(FrameLayout.FLAG_FRAGMENT));
        assertFalse(layout.hasFlag(FrameLayout.FLAG_LATER_FRAGMENT));
        assertEquals(34, layout.l4Offset());
        assertEquals(40000, layout.sourcePort());
        assertEquals(FrameLayout.OVERLAY_NONE, layout.overlayType(), "a fragment is not decapsulated");
        assertFalse(layout.hasFlag(FrameLayout.FLAG_L4_CHECKSUM_VERIFIED));
    }

    @Test
    void shouldFlagLaterFragmentAndSkipL4Header()
    {
        final int length = built(b -> b.ethernet(MAC_B, MAC_A).ipv4(IP_A, IP_B, 64, 77, 185, null)
            .payload(3, 0)).write(segment);

        assertEquals(DropReason.NONE, classify(verifying, length));

        assertTrue(layout.hasFlag(FrameLayout.FLAG_FRAGMENT));
        assertTrue(layout.hasFlag(FrameLayout.FLAG_LATER_FRAGMENT));
        assertEquals(-1, layout.l4Offset());
        assertEquals(-1, layout.sourcePort());
        assertEquals(23, layout.l3Length());
    }

    @Test
    void shouldFlagIpv6FragmentsFromTheFragmentHeader()
    {
        final Recipe fragment = built(b -> b.ethernet(MAC_B, MAC_A).ipv6(IP6_A, IP6_B)
            .ipv6OptionsHeader(IpProtocol.IPV6_FRAGMENT).udp(40000, 53).payload(24, 0));
        int length = fragment.write(segment);
        // fragment header: next, reserved, offset 0 with M set, identification
        u32(segment, 14 + 40 + 4, 0x1234_5678, length);
        u16(segment, 14 + 40 + 2, 0x0001, length);
        assertEquals(DropReason.NONE, classify(forwarding, length));
        assertTrue(layout.hasFlag(FrameLayout.FLAG_FRAGMENT));
        assertFalse(layout.hasFlag(FrameLayout.FLAG_LATER_FRAGMENT));
        assertEquals(48, layout.l3HeaderLength());
        assertEquals(14 + 48, layout.l4Offset());

        length = fragment.write(segment);
        u16(segment, 14 + 40 + 2, 185 << 3, length);
        assertEquals(DropReason.NONE, classify(verifying, length));
        assertTrue(layout.hasFlag(FrameLayout.FLAG_LATER_FRAGMENT));
        assertEquals(IpProtocol.UDP, layout.l4Protocol());
        assertEquals(-1, layout.l4Offset());
    }

    @Test
    void shouldWalkIpv6ExtensionHeadersToTheUpperLayer()
    {
        final int length = built(b -> b.ethernet(MAC_B, MAC_A).ipv6(IP6_A, IP6_B)
            .ipv6OptionsHeader(IpProtocol.HOP_BY_HOP).ipv6OptionsHeader(IpProtocol.IPV6_DESTINATION_OPTIONS)
            .tcp(40000, 443, 1, 2, TcpFlyweight.PSH | TcpFlyweight.ACK, MSS_1460).payload(10, 0)).write(segment);

        assertEquals(DropReason.NONE, classify(verifying, length));

        assertEquals(FrameLayout.L3_IPV6, layout.l3Type());
        assertEquals(56, layout.l3HeaderLength());
        assertEquals(14 + 56, layout.l4Offset());
        assertEquals(IpProtocol.TCP, layout.l4Protocol());
        assertEquals(24, layout.l4HeaderLength());
        assertEquals(34, layout.l4Length());
        assertTrue(layout.hasFlag(FrameLayout.FLAG_L4_CHECKSUM_VERIFIED));
    }

    @Test
    void shouldAcceptEightExtensionHeadersEndingInNoNextHeader()
    {
        final int length = eightDestinationOptionHeaders().write(segment);

        assertEquals(DropReason.NONE, classify(verifying, length));

        assertEquals(IpProtocol.IPV6_NO_NEXT, layout.l4Protocol());
        assertEquals(40 + 64, layout.l3HeaderLength());
        assertEquals(-1, layout.l4Offset());
    }

    @Test
    void shouldFlagSuperPacketWhenIpv4PacketExceedsMtu()
    {
        final Recipe superPacket = built(b -> b.ethernet(MAC_B, MAC_A).ipv4(IP_A, IP_B)
            .tcp(40000, 443, 1, 2, TcpFlyweight.ACK, null).payload(3000 - 40, 0));
        final int length = superPacket.write(segment);

        assertEquals(DropReason.NONE, classify(verifying, length));
        assertEquals(3000, layout.l3Length());
        assertTrue(layout.hasFlag(FrameLayout.FLAG_SUPER_PACKET));

        final FrameClassifier jumbo = FrameClassifier.builder().mtuBytes(9000).build();
        assertEquals(0, jumbo.classify(segment, 0, length, layout));
        assertFalse(layout.hasFlag(FrameLayout.FLAG_SUPER_PACKET));
    }

    @Test
    void shouldNotFlagSuperPacketWhenPacketIsExactlyTheMtu()
    {
        final int length = built(b -> b.ethernet(MAC_B, MAC_A).ipv6(IP6_A, IP6_B).udp(1, 2).payload(1500 - 48, 0)).write(segment);
        assertEquals(DropReason.NONE, classify(verifying, length));
        assertEquals(1500, layout.l3Length());
        assertFalse(layout.hasFlag(FrameLayout.FLAG_SUPER_PACKET));

        final int longer = built(b -> b.ethernet(MAC_B, MAC_A).ipv6(IP6_A, IP6_B).udp(1, 2).payload(1501 - 48, 0)).write(segment);
        assertEquals(DropReason.NONE, classify(verifying, longer));
        assertTrue(layout.hasFlag(FrameLayout.FLAG_SUPER_PACKET));
    }

    @Test
    void shouldAcceptPartialTcpChecksumWhenFieldHoldsFoldedPseudoHeaderSum()
    {
        final int length = built(b -> b.ethernet(MAC_B, MAC_A).ipv4(IP_A, IP_B)
            .tcp(40000, 443, 1, 2, TcpFlyweight.ACK, null).payload(3000 - 40, 7)).write(segment);
        final int l4Length = 3000 - 20;
        final long pseudo = Checksums.pseudoHeaderSumIpv4(IP_A, IP_B, IpProtocol.TCP, l4Length);

        u16(segment, 34 + TcpFlyweight.CHECKSUM_OFFSET, Checksums.fold(pseudo), length);
        assertEquals(DropReason.NONE, classify(verifying, length));
        assertTrue(layout.hasFlag(FrameLayout.FLAG_L4_CHECKSUM_PARTIAL));
        assertFalse(layout.hasFlag(FrameLayout.FLAG_L4_CHECKSUM_VERIFIED));
        assertTrue(layout.hasFlag(FrameLayout.FLAG_SUPER_PACKET));

        u16(segment, 34 + TcpFlyweight.CHECKSUM_OFFSET, Checksums.fold(pseudo - l4Length), length);
        assertEquals(DropReason.NONE, classify(verifying, length), "partial sum computed with length 0");
        assertTrue(layout.hasFlag(FrameLayout.FLAG_L4_CHECKSUM_PARTIAL));

        u16(segment, 34 + TcpFlyweight.CHECKSUM_OFFSET, Checksums.fold(pseudo) ^ 0x0100, length);
        assertEquals(DropReason.BAD_CHECKSUM, classify(verifying, length), "neither complete nor partial");
    }

    @Test
    void shouldAcceptPartialUdpChecksumOverIpv6()
    {
        final int length = IPV6_UDP.write(segment);
        classify(verifying, length);
        final long pseudo = Checksums.pseudoHeaderSumIpv6(segment, layout.l3Offset() + 8, IpProtocol.UDP, layout.l4Length());

        u16(segment, layout.l4Offset() + UdpFlyweight.CHECKSUM_OFFSET, Checksums.fold(pseudo), length);

        assertEquals(DropReason.NONE, classify(verifying, length));
        assertTrue(layout.hasFlag(FrameLayout.FLAG_L4_CHECKSUM_PARTIAL));
    }

    @Test
    void shouldVerifyUdpChecksumOverUdpLengthWhenIpPayloadHasTrailingBytes()
    {
        // RFC 768: the pseudo-header carries the UDP length, which may be shorter than the IP payload.
        final int length = built(b -> b.ethernet(MAC_B, MAC_A).ipv4(IP_A, IP_B).udp(40000, 53).payload(32, 1)).write(segment);
        final UdpFlyweight udp = new UdpFlyweight();
        udp.wrap(segment, 34);
        udp.length(8 + 28).updateChecksum(Checksums.pseudoHeaderSumIpv4(IP_A, IP_B, IpProtocol.UDP, 8 + 28), 8 + 28);

        assertEquals(DropReason.NONE, classify(verifying, length));
        assertTrue(layout.hasFlag(FrameLayout.FLAG_L4_CHECKSUM_VERIFIED));
        assertEquals(40, layout.l4Length(), "the IP payload still includes the trailing bytes");
    }

    @Test
    void shouldFlagUdpWithoutChecksumAndAcceptItOverIpv4AndForIpv6Tunnels()
    {
        int length = built(b -> b.ethernet(MAC_B, MAC_A).ipv4(IP_A, IP_B).udpNoChecksum(40000, 53).payload(8, 0)).write(segment);
        assertEquals(DropReason.NONE, classify(verifying, length));
        assertTrue(layout.hasFlag(FrameLayout.FLAG_UDP_NO_CHECKSUM));
        assertFalse(layout.hasFlag(FrameLayout.FLAG_L4_CHECKSUM_VERIFIED));

        length = GENEVE_INNER_IPV4_ICMP.write(segment);
        assertEquals(DropReason.NONE, classify(verifying, length), "RFC 6935: a zero checksum is allowed for tunnels over IPv6");
        assertTrue(layout.hasFlag(FrameLayout.FLAG_UDP_NO_CHECKSUM));
        assertEquals(FrameLayout.L3_IPV6, layout.l3Type());
        assertEquals(-1, layout.inner().l2Offset());
        assertEquals(78, layout.vni());
        assertTrue(layout.inner().hasFlag(FrameLayout.FLAG_L4_CHECKSUM_VERIFIED));
    }

    @Test
    void shouldAcceptEthernetPaddingAfterShortPacket()
    {
        int length = built(b -> b.ethernet(MAC_B, MAC_A).ipv4(IP_A, IP_B).udp(40000, 53).payload(1, 0)).write(segment);
        assertEquals(43, length);
        segment.asSlice(length, 17).fill((byte)0x5A);
        assertEquals(DropReason.NONE, classify(verifying, 60));
        assertEquals(60, layout.frameLength());
        assertEquals(29, layout.l3Length());
        assertEquals(43, layout.l3End());
        assertEquals(9, layout.l4Length());
        assertTrue(layout.hasFlag(FrameLayout.FLAG_L4_CHECKSUM_VERIFIED));

        length = new FrameBuilder(segment, 0).ethernet(EthernetFlyweight.BROADCAST, MAC_A)
            .arp(ArpFlyweight.OPERATION_REQUEST, MAC_A, IP_A, 0, IP_B).buildPadded(60);
        assertEquals(DropReason.NONE, classify(verifying, length));
        assertEquals(42, layout.l3End());

        length = built(b -> b.ethernet(MAC_B, MAC_A).ipv6(IP6_A, IP6_B).icmpEcho(false, 1, 1)).write(segment);
        assertEquals(DropReason.NONE, classify(verifying, length + 6));
        assertEquals(48, layout.l3Length());
    }

    @Test
    void shouldFlagIpv4OptionsAndPlaceL4AfterThem()
    {
        final int length = IPV4_OPTIONS_UDP.write(segment);

        assertEquals(DropReason.NONE, classify(verifying, length));

        assertTrue(layout.hasFlag(FrameLayout.FLAG_IP_OPTIONS));
        assertEquals(24, layout.l3HeaderLength());
        assertEquals(38, layout.l4Offset());
    }

    @Test
    void shouldDecodeVxlanOnConfiguredPortsOnly()
    {
        final Recipe legacy = built(b -> b.ethernet(MAC_B, MAC_A).ipv4(IP_A, IP_B)
            .udp(TUNNEL_SOURCE_PORT, VxlanFlyweight.LEGACY_LINUX_UDP_PORT).vxlan(7).ethernet(MAC_D, MAC_C).ipv4(IP_C, IP_D).udp(1, 2));
        final int length = legacy.write(segment);
        assertEquals(DropReason.NONE, classify(verifying, length));
        assertEquals(FrameLayout.OVERLAY_VXLAN, layout.overlayType());
        assertEquals(7, layout.vni());

        final FrameClassifier noLegacy = FrameClassifier.builder().vxlanPorts(VxlanFlyweight.UDP_PORT, -1).build();
        assertEquals(0, noLegacy.classify(segment, 0, length, layout));
        assertEquals(FrameLayout.OVERLAY_NONE, layout.overlayType());
        assertEquals(-1, layout.vni());

        final FrameClassifier custom = FrameClassifier.builder().vxlanPorts(VxlanFlyweight.LEGACY_LINUX_UDP_PORT, -1).genevePort(7000).build();
        assertEquals(0, custom.classify(segment, 0, length, layout));
        assertEquals(FrameLayout.OVERLAY_VXLAN, layout.overlayType());
    }

    @Test
    void shouldClearOverlayFieldsWhenLayoutIsReusedForPlainFrame()
    {
        final int overlay = GENEVE_OPTIONS_IPV4_UDP.write(segment);
        assertEquals(DropReason.NONE, classify(forwarding, overlay));
        assertEquals(FrameLayout.OVERLAY_GENEVE, layout.overlayType());

        final int plain = ARP.write(segment);
        assertEquals(DropReason.NONE, classify(forwarding, plain));

        assertEquals(FrameLayout.OVERLAY_NONE, layout.overlayType());
        assertEquals(-1, layout.overlayOffset());
        assertEquals(-1, layout.vni());
        assertEquals(-1, layout.l4Offset());
        assertEquals(-1, layout.sourcePort());
        assertEquals(0, layout.flags());
        assertFalse(layout.isDropInInner());
    }

    @Test
    void shouldReportAbsoluteOffsetsWhenFrameStartsInsideSegment()
    {
        final int start = 384;
        final int length = new FrameBuilder(segment, start).ethernet(MAC_B, MAC_A).ipv4(IP_A, IP_B)
            .udp(TUNNEL_SOURCE_PORT, VxlanFlyweight.UDP_PORT).vxlan(9).ethernet(MAC_D, MAC_C).ipv6(IP6_A, IP6_B)
            .icmpEcho(true, 3, 4).build();

        assertEquals(0, verifying.classify(segment, start, length, layout));

        assertEquals(start, layout.frameOffset());
        assertEquals(start, layout.l2Offset());
        assertEquals(start + 14, layout.l3Offset());
        assertEquals(start + 34, layout.l4Offset());
        assertEquals(start + 42, layout.overlayOffset());
        assertEquals(start + 50, layout.inner().l2Offset());
        assertEquals(start + 64, layout.inner().l3Offset());
        assertEquals(start + 104, layout.inner().l4Offset());
        assertEquals(IcmpFlyweight.V6_ECHO_REQUEST << 8, layout.inner().destinationPort());
        assertTrue(layout.inner().hasFlag(FrameLayout.FLAG_L4_CHECKSUM_VERIFIED));
    }

    @Test
    void shouldRejectInvalidConfigurationWhenBuilt()
    {
        assertThrows(IllegalArgumentException.class, () -> FrameClassifier.builder().mtuBytes(67));
        assertThrows(IllegalArgumentException.class, () -> FrameClassifier.builder().mtuBytes(65536));
        assertThrows(IllegalArgumentException.class, () -> FrameClassifier.builder().vxlanPorts(0, -1));
        assertThrows(IllegalArgumentException.class, () -> FrameClassifier.builder().vxlanPorts(4789, 65536));
        assertThrows(IllegalArgumentException.class, () -> FrameClassifier.builder().genevePort(-1));
        assertThrows(IllegalArgumentException.class, () -> FrameClassifier.builder().genevePort(4789).build());
        assertThrows(IllegalArgumentException.class, () -> FrameClassifier.builder().vxlanPorts(1, 2).genevePort(2).build());
    }

    // ----- helpers -----

    private DropReason classify(final FrameClassifier classifier, final int length)
    {
        final int reason = classifier.classify(segment, 0, length, layout);
        assertEquals(reason, layout.dropReasonOrdinal());
        return DropReason.of(reason);
    }

    private int ttl(final int l3Offset)
    {
        return segment.get(ValueLayout.JAVA_BYTE, l3Offset + Ipv4Flyweight.TTL_OFFSET) & 0xFF;
    }

    private static Case drop(final String name, final Recipe recipe, final Breaker breaker, final DropReason expected)
    {
        return new Case(name, recipe, breaker, expected, false, false);
    }

    private static Recipe built(final UnaryOperator<FrameBuilder> layers)
    {
        return segment -> layers.apply(new FrameBuilder(segment, 0)).build();
    }

    private static Recipe captured(final String hex)
    {
        final byte[] bytes = Hex.bytes(hex);
        return segment ->
        {
            MemorySegment.copy(bytes, 0, segment, ValueLayout.JAVA_BYTE, 0, bytes.length);
            return bytes.length;
        };
    }

    /** IPv6 with eight destination-options headers, the last one saying "no next header", then 16 bytes. */
    private static Recipe eightDestinationOptionHeaders()
    {
        return segment ->
        {
            final FrameBuilder builder = new FrameBuilder(segment, 0).ethernet(MAC_B, MAC_A).ipv6(IP6_A, IP6_B);
            for (int i = 0; i < 8; i++)
            {
                builder.ipv6OptionsHeader(IpProtocol.IPV6_DESTINATION_OPTIONS);
            }
            final int length = builder.payload(16, 0).build();
            u8(segment, 14 + 40 + 7 * 8, IpProtocol.IPV6_NO_NEXT, length);
            return length;
        };
    }

    /** Shortens the IPv4 packet at {@code l3Offset} to {@code totalLength}, fixes its checksum, returns the frame end. */
    private static int ipv4Packet(final MemorySegment segment, final int l3Offset, final int totalLength)
    {
        final Ipv4Flyweight ipv4 = new Ipv4Flyweight();
        ipv4.wrap(segment, l3Offset);
        ipv4.totalLength(totalLength).updateChecksum();
        return l3Offset + totalLength;
    }

    /** Sets the IPv6 payload length; returns the frame end. */
    private static int ipv6Packet(final MemorySegment segment, final int l3Offset, final int payloadLength)
    {
        segment.set(Flyweight.U16, l3Offset + Ipv6Flyweight.PAYLOAD_LENGTH_OFFSET, (short)payloadLength);
        return l3Offset + Ipv6Flyweight.HEADER_LENGTH + payloadLength;
    }

    /** Sets the outer UDP length (the IP packet keeps its length: the rest is IP payload after the datagram). */
    private static int udpLength(final MemorySegment segment, final FrameLayout valid, final int udpLength, final int length)
    {
        return u16(segment, valid.l4Offset() + UdpFlyweight.LENGTH_OFFSET, udpLength, length);
    }

    private static int fixIpv4(final MemorySegment segment, final int l3Offset, final int length)
    {
        final Ipv4Flyweight ipv4 = new Ipv4Flyweight();
        ipv4.wrap(segment, l3Offset);
        if (ipv4.headerLength() >= Ipv4Flyweight.MIN_HEADER_LENGTH)
        {
            ipv4.updateChecksum();
        }
        return length;
    }

    private static int keep(final int length, final int ignored)
    {
        return length;
    }

    private static int u8(final MemorySegment segment, final int at, final int value, final int length)
    {
        segment.set(ValueLayout.JAVA_BYTE, at, (byte)value);
        return length;
    }

    private static int u16(final MemorySegment segment, final int at, final int value, final int length)
    {
        segment.set(Flyweight.U16, at, (short)value);
        return length;
    }

    private static int u32(final MemorySegment segment, final int at, final int value, final int length)
    {
        segment.set(Flyweight.U32, at, value);
        return length;
    }

    private static int mac(final MemorySegment segment, final int at, final long mac, final int length)
    {
        segment.set(Flyweight.U16, at, (short)(mac >>> 32));
        segment.set(Flyweight.U32, at + 2, (int)mac);
        return length;
    }

    private static int flip(final MemorySegment segment, final int at, final int length)
    {
        segment.set(ValueLayout.JAVA_BYTE, at, (byte)(segment.get(ValueLayout.JAVA_BYTE, at) ^ 0x01));
        return length;
    }
}
