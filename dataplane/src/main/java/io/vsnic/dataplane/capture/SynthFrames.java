package io.vsnic.dataplane.capture;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

import io.vsnic.dataplane.protocol.ArpFlyweight;
import io.vsnic.dataplane.protocol.EthernetFlyweight;
import io.vsnic.dataplane.protocol.FrameBuilder;
import io.vsnic.dataplane.protocol.GeneveFlyweight;
import io.vsnic.dataplane.protocol.IcmpFlyweight;
import io.vsnic.dataplane.protocol.IpProtocol;
import io.vsnic.dataplane.protocol.Ipv4Flyweight;
import io.vsnic.dataplane.protocol.Ipv6Flyweight;
import io.vsnic.dataplane.protocol.TcpFlyweight;
import io.vsnic.dataplane.protocol.VxlanFlyweight;

/**
 * One well-formed frame of every kind the packet core decodes, for {@code vsnic pcap synth}, the
 * tshark cross-check and tests: ARP, IPv4 (plain, with options, fragmented), IPv6 (with extension
 * headers), ICMP/ICMPv6, UDP, TCP, 802.1Q and 802.1ad tags, and VXLAN and Geneve (with option
 * TLVs, over IPv4 and IPv6, carrying Ethernet or a bare IP packet). Every checksum is correct.
 */
public final class SynthFrames
{
    /** A named synthetic frame. */
    public record Synth(String name, byte[] bytes)
    {
    }

    private static final long VM1_MAC = 0x02_00_00_00_00_01L;
    private static final long VM2_MAC = 0x02_00_00_00_00_02L;
    private static final long HOST1_MAC = 0x02_00_5e_00_01_01L;
    private static final long HOST2_MAC = 0x02_00_5e_00_01_02L;
    private static final int VM1_IP = Ipv4Flyweight.parse("10.0.0.11");
    private static final int VM2_IP = Ipv4Flyweight.parse("10.0.0.12");
    private static final int HOST1_IP = Ipv4Flyweight.parse("192.0.2.1");
    private static final int HOST2_IP = Ipv4Flyweight.parse("192.0.2.2");
    private static final byte[] VM1_IP6 = Ipv6Flyweight.parse("fd00:10::11");
    private static final byte[] VM2_IP6 = Ipv6Flyweight.parse("fd00:10::12");
    private static final byte[] HOST1_IP6 = Ipv6Flyweight.parse("2001:db8::1");
    private static final byte[] HOST2_IP6 = Ipv6Flyweight.parse("2001:db8::2");
    private static final int MIN_FRAME = 60;

    private SynthFrames()
    {
    }

    /**
     * @return every synthetic frame, in a stable order.
     */
    public static List<Synth> all()
    {
        final List<Synth> frames = new ArrayList<>();
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment segment = arena.allocate(16384);
            final FrameBuilder b = new FrameBuilder(segment, 0);
            add(frames, segment, b, "arp-request", x -> x.ethernet(EthernetFlyweight.BROADCAST, VM1_MAC)
                .arp(ArpFlyweight.OPERATION_REQUEST, VM1_MAC, VM1_IP, 0, VM2_IP));
            add(frames, segment, b, "arp-reply", x -> x.ethernet(VM1_MAC, VM2_MAC)
                .arp(ArpFlyweight.OPERATION_REPLY, VM2_MAC, VM2_IP, VM1_MAC, VM1_IP));
            add(frames, segment, b, "ipv4-icmp-echo", x -> x.ethernet(VM2_MAC, VM1_MAC).ipv4(VM1_IP, VM2_IP)
                .icmpEcho(true, 0x1234, 1).payload(56, 0));
            add(frames, segment, b, "ipv4-udp-64", x -> x.ethernet(VM2_MAC, VM1_MAC).ipv4(VM1_IP, VM2_IP)
                .udp(40000, 5001).payload(18, 1));
            add(frames, segment, b, "ipv4-tcp-syn", x -> x.ethernet(VM2_MAC, VM1_MAC).ipv4(VM1_IP, VM2_IP)
                .tcp(40001, 80, 1_000_000L, 0, TcpFlyweight.SYN, new byte[] {2, 4, 0x05, (byte)0xb4, 1, 1, 4, 2}));
            add(frames, segment, b, "ipv4-tcp-data", x -> x.ethernet(VM2_MAC, VM1_MAC).ipv4(VM1_IP, VM2_IP)
                .tcp(40001, 80, 1_000_001L, 77, TcpFlyweight.ACK | TcpFlyweight.PSH, null).payload(100, 2));
            add(frames, segment, b, "ipv4-options-udp", x -> x.ethernet(VM2_MAC, VM1_MAC)
                .ipv4(VM1_IP, VM2_IP, 1, 7, 0, new byte[] {(byte)0x94, 4, 0, 0})
                .udp(40002, 5002).payload(10, 3));
            add(frames, segment, b, "ipv4-fragment-first", x -> x.ethernet(VM2_MAC, VM1_MAC)
                .ipv4(VM1_IP, VM2_IP, 64, 4242, Ipv4Flyweight.FLAG_MORE_FRAGMENTS, null)
                .udp(40003, 5003).payload(1472, 4));
            add(frames, segment, b, "ipv4-fragment-last", x -> x.ethernet(VM2_MAC, VM1_MAC)
                .ipv4(VM1_IP, VM2_IP, 64, 4242, 1480 / 8, null).ipProtocol(IpProtocol.UDP).payload(528, 5));
            add(frames, segment, b, "dot1q-ipv4-udp", x -> x.ethernet(VM2_MAC, VM1_MAC).vlan(100, false)
                .ipv4(VM1_IP, VM2_IP).udp(40004, 5004).payload(20, 6));
            add(frames, segment, b, "qinq-ipv4-icmp", x -> x.ethernet(VM2_MAC, VM1_MAC).vlan(200, true).vlan(300, false)
                .ipv4(VM1_IP, VM2_IP).icmpEcho(false, 0x1234, 2).payload(32, 7));
            add(frames, segment, b, "ipv6-icmp6-echo", x -> x.ethernet(VM2_MAC, VM1_MAC).ipv6(VM1_IP6, VM2_IP6)
                .icmpEcho(true, 0x4321, 1).payload(56, 8));
            add(frames, segment, b, "ipv6-neighbor-solicitation", x -> x.ethernet(0x33_33_ff_00_00_12L, VM1_MAC)
                .ipv6(VM1_IP6, Ipv6Flyweight.parse("ff02::1:ff00:12"), 255, 0)
                .icmp(IcmpFlyweight.V6_NEIGHBOR_SOLICITATION, 0, 0, 0).payload(VM2_IP6)
                .payload(new byte[] {1, 1, 2, 0, 0, 0, 0, 1}));
            add(frames, segment, b, "ipv6-ext-udp", x -> x.ethernet(VM2_MAC, VM1_MAC).ipv6(VM1_IP6, VM2_IP6, 64, 0xabcde)
                .ipv6OptionsHeader(IpProtocol.HOP_BY_HOP).ipv6OptionsHeader(IpProtocol.IPV6_DESTINATION_OPTIONS)
                .udp(40005, 5005).payload(30, 9));
            add(frames, segment, b, "ipv6-tcp", x -> x.ethernet(VM2_MAC, VM1_MAC).ipv6(VM1_IP6, VM2_IP6)
                .tcp(40006, 5006, 5_000_000L, 9, TcpFlyweight.ACK, null).payload(200, 10));
            add(frames, segment, b, "vxlan-ipv4-icmp", x -> x.ethernet(HOST2_MAC, HOST1_MAC).ipv4(HOST1_IP, HOST2_IP)
                .udp(49152, VxlanFlyweight.UDP_PORT).vxlan(100)
                .ethernet(VM2_MAC, VM1_MAC).ipv4(VM1_IP, VM2_IP).icmpEcho(true, 7, 1).payload(56, 11));
            add(frames, segment, b, "vxlan-dot1q-arp", x -> x.ethernet(HOST2_MAC, HOST1_MAC).ipv4(HOST1_IP, HOST2_IP)
                .udp(49153, VxlanFlyweight.UDP_PORT).vxlan(101)
                .ethernet(EthernetFlyweight.BROADCAST, VM1_MAC).vlan(10, false)
                .arp(ArpFlyweight.OPERATION_REQUEST, VM1_MAC, VM1_IP, 0, VM2_IP));
            add(frames, segment, b, "geneve-options-ipv4-tcp", x -> x.ethernet(HOST2_MAC, HOST1_MAC).ipv4(HOST1_IP, HOST2_IP)
                .udp(49154, GeneveFlyweight.UDP_PORT)
                .geneve(0x00abcd, new int[][] {{0x0102, 0x01}, {0x0102, 0x82}},
                    new byte[][] {{0, 0, 0, 42}, {1, 2, 3, 4, 5, 6, 7, 8}})
                .ethernet(VM2_MAC, VM1_MAC).ipv4(VM1_IP, VM2_IP)
                .tcp(40007, 5007, 7_000_000L, 1, TcpFlyweight.ACK | TcpFlyweight.PSH, null).payload(64, 12));
            add(frames, segment, b, "geneve-ipv6-outer-ipv6-udp", x -> x.ethernet(HOST2_MAC, HOST1_MAC).ipv6(HOST1_IP6, HOST2_IP6)
                .udp(49155, GeneveFlyweight.UDP_PORT).geneve(0x000200)
                .ethernet(VM2_MAC, VM1_MAC).ipv6(VM1_IP6, VM2_IP6).udp(40008, 5008).payload(40, 13));
            add(frames, segment, b, "geneve-bare-ipv4-udp", x -> x.ethernet(HOST2_MAC, HOST1_MAC).ipv4(HOST1_IP, HOST2_IP)
                .udpNoChecksum(49156, GeneveFlyweight.UDP_PORT).geneve(7)
                .ipv4(VM1_IP, VM2_IP).udp(40009, 5009).payload(24, 14));
            add(frames, segment, b, "geneve-1400", x -> x.ethernet(HOST2_MAC, HOST1_MAC).ipv4(HOST1_IP, HOST2_IP)
                .udp(49157, GeneveFlyweight.UDP_PORT)
                .geneve(0x00abcd, new int[][] {{0x0102, 0x01}}, new byte[][] {{0, 0, 0, 1}})
                .ethernet(VM2_MAC, VM1_MAC).ipv4(VM1_IP, VM2_IP)
                .tcp(40010, 5201, 9_000_000L, 1, TcpFlyweight.ACK, null)
                .payload(1400 - 14 - 20 - 8 - 8 - 8 - 14 - 20 - 20, 15));
        }
        return frames;
    }

    private static void add(
        final List<Synth> frames,
        final MemorySegment segment,
        final FrameBuilder builder,
        final String name,
        final Consumer<FrameBuilder> layers)
    {
        builder.reset();
        layers.accept(builder);
        final int length = builder.buildPadded(MIN_FRAME);
        frames.add(new Synth(name, segment.asSlice(0, length).toArray(ValueLayout.JAVA_BYTE)));
    }
}
