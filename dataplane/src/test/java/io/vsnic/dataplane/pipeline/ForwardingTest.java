package io.vsnic.dataplane.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import io.vsnic.dataplane.buffer.Frame;
import io.vsnic.dataplane.config.Encapsulation;
import io.vsnic.dataplane.config.NetworkSpec;
import io.vsnic.dataplane.config.PeerSpec;
import io.vsnic.dataplane.config.PortSpec;
import io.vsnic.dataplane.config.RemoteSpec;
import io.vsnic.dataplane.config.RouteSpec;
import io.vsnic.dataplane.config.RouteTarget;
import io.vsnic.dataplane.config.SubnetSpec;
import io.vsnic.dataplane.protocol.ArpFlyweight;
import io.vsnic.dataplane.protocol.EthernetFlyweight;
import io.vsnic.dataplane.protocol.FrameLayout;
import io.vsnic.dataplane.protocol.IcmpFlyweight;
import io.vsnic.dataplane.protocol.IpProtocol;
import io.vsnic.dataplane.protocol.Ipv4Flyweight;
import io.vsnic.dataplane.protocol.Ipv6Flyweight;
import io.vsnic.dataplane.protocol.TcpFlyweight;
import io.vsnic.dataplane.security.CompiledPolicy;
import io.vsnic.dataplane.status.CounterSnapshot;
import io.vsnic.dataplane.status.DropReason;
import io.vsnic.dataplane.table.ForwardingState;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Table-driven forwarding behaviour of one worker over memory ports: L2, L3, local answers,
 * ICMP errors, ECMP, route targets, anti-spoofing, isolation, overlay hand-off, fragments.
 */
class ForwardingTest
{
    static final long MAC1 = 0x02_00_00_00_01_11L;
    static final long MAC2 = 0x02_00_00_00_01_12L;
    static final long MAC3 = 0x02_00_00_00_02_13L;
    static final long MAC4 = 0x02_00_00_00_04_11L;
    static final long REMOTE_MAC = 0x02_00_00_00_09_21L;
    static final int IP1 = ip("10.0.1.11");
    static final int IP2 = ip("10.0.1.12");
    static final int IP3 = ip("10.0.2.13");
    static final byte[] IP6_1 = Ipv6Flyweight.parse("fd00:1::11");
    static final byte[] IP6_2 = Ipv6Flyweight.parse("fd00:1::12");
    static final byte[] GW6 = Ipv6Flyweight.parse("fd00:1::1");
    static final int VNI_BLUE = 100;
    static final long GW_MAC = ForwardingState.GATEWAY_MAC_PREFIX | VNI_BLUE;
    static final int OVERLAY = 4000;

    private PipelineHarness harness;

    static int ip(final String text)
    {
        return Ipv4Flyweight.parse(text);
    }

    static NetworkSpec blue(final int mtu, final List<RouteSpec> routes)
    {
        return new NetworkSpec("blue", VNI_BLUE, mtu,
            List.of(new SubnetSpec("10.0.1.0/24", "10.0.1.1"), new SubnetSpec("10.0.2.0/24", "10.0.2.1"),
                new SubnetSpec("fd00:1::/64", "fd00:1::1")),
            routes, List.of(new RemoteSpec("10.0.1.21", REMOTE_MAC, 7)));
    }

    static List<PortSpec> ports()
    {
        final CompiledPolicy open = CompiledPolicy.allowAll();
        return List.of(
            new PortSpec(1, "vm1", "blue", MAC1, "10.0.1.11", "fd00:1::11", open, true),
            new PortSpec(2, "vm2", "blue", MAC2, "10.0.1.12", "fd00:1::12", open, true),
            new PortSpec(3, "vm3", "blue", MAC3, "10.0.2.13", null, open, true),
            new PortSpec(4, "red1", "red", MAC4, "10.0.1.11", null, open, true));
    }

    static NetworkSpec red()
    {
        return new NetworkSpec("red", 200, 1500, List.of(new SubnetSpec("10.0.1.0/24", "10.0.1.1")));
    }

    private void configure(final int mtu, final List<RouteSpec> routes)
    {
        harness.configure(List.of(blue(mtu, routes), red()), ports(),
            List.of(new PeerSpec(7, "device-7", "192.0.2.7:6081", Encapsulation.GENEVE, List.of()),
                new PeerSpec(5, "device-5", "192.0.2.5:6081", Encapsulation.GENEVE, List.of(VNI_BLUE))));
    }

    @BeforeEach
    void setUp()
    {
        harness = new PipelineHarness();
        configure(1500, List.of());
        harness.overlay(OVERLAY);
    }

    @AfterEach
    void tearDown()
    {
        harness.close();
    }

    @Test
    void shouldSwitchFrameWithinSubnetUnchanged()
    {
        harness.send(1, b -> b.ethernet(MAC2, MAC1).ipv4(IP1, IP2).udp(1000, 2000).payload(32, 1));
        harness.drain();
        final List<PipelineHarness.Out> out = harness.received(2);
        assertEquals(1, out.size());
        assertTrue(out.get(0).layout().isValid());
        assertEquals(MAC1, out.get(0).layout().sourceMac());
        final Ipv4Flyweight ipv4 = new Ipv4Flyweight();
        ipv4.wrap(out.get(0).segment(), out.get(0).layout().l3Offset());
        assertEquals(64, ipv4.ttl(), "L2 forwarding does not touch the TTL");
        assertEquals(1, harness.counters().portTxPackets(2));
    }

    @Test
    void shouldRouteAcrossSubnetsWithTtlDecrementAndRewrittenMacs()
    {
        harness.send(1, b -> b.ethernet(GW_MAC, MAC1).ipv4(IP1, IP3).tcp(40000, 80, 1, 0, TcpFlyweight.SYN, null));
        harness.drain();
        final List<PipelineHarness.Out> out = harness.received(3);
        assertEquals(1, out.size());
        final FrameLayout layout = out.get(0).layout();
        assertTrue(layout.isValid(), layout.dropReason().label());
        assertEquals(GW_MAC, layout.sourceMac());
        assertEquals(MAC3, layout.destinationMac());
        final Ipv4Flyweight ipv4 = new Ipv4Flyweight();
        ipv4.wrap(out.get(0).segment(), layout.l3Offset());
        assertEquals(63, ipv4.ttl());
        assertTrue(ipv4.isChecksumValid());
        assertTrue(layout.hasFlag(FrameLayout.FLAG_L4_CHECKSUM_VERIFIED));
    }

    @Test
    void shouldRouteIpv6WithHopLimitDecrement()
    {
        harness.send(1, b -> b.ethernet(GW_MAC, MAC1).ipv6(IP6_1, IP6_2).udp(5000, 6000).payload(10, 2));
        harness.drain();
        final List<PipelineHarness.Out> out = harness.received(2);
        assertEquals(1, out.size());
        final Ipv6Flyweight ipv6 = new Ipv6Flyweight();
        ipv6.wrap(out.get(0).segment(), out.get(0).layout().l3Offset());
        assertEquals(63, ipv6.hopLimit());
        assertEquals(MAC2, out.get(0).layout().destinationMac());
        assertTrue(out.get(0).layout().isValid());
    }

    @Test
    void shouldAnswerArpForVmsGatewayAndRemotesButNotUnknownAddresses()
    {
        final Map<Integer, Long> expected = new HashMap<>();
        expected.put(IP2, MAC2);
        expected.put(ip("10.0.1.1"), GW_MAC);
        expected.put(ip("10.0.1.21"), REMOTE_MAC);
        for (final Map.Entry<Integer, Long> entry : expected.entrySet())
        {
            harness.send(1, b -> b.ethernet(EthernetFlyweight.BROADCAST, MAC1)
                .arp(ArpFlyweight.OPERATION_REQUEST, MAC1, IP1, 0, entry.getKey()));
        }
        harness.send(1, b -> b.ethernet(EthernetFlyweight.BROADCAST, MAC1)
            .arp(ArpFlyweight.OPERATION_REQUEST, MAC1, IP1, 0, ip("10.0.1.99")));
        harness.drain();
        final List<PipelineHarness.Out> out = harness.received(1);
        assertEquals(3, out.size());
        final ArpFlyweight arp = new ArpFlyweight();
        for (final PipelineHarness.Out reply : out)
        {
            arp.wrap(reply.segment(), reply.layout().l3Offset());
            assertEquals(ArpFlyweight.OPERATION_REPLY, arp.operation());
            assertEquals(expected.get(arp.senderIp()), arp.senderMac());
            assertEquals(MAC1, arp.targetMac());
            assertEquals(IP1, arp.targetIp());
            assertEquals(MAC1, reply.layout().destinationMac());
        }
        assertEquals(1, harness.counters().drops(DropReason.UNKNOWN_TARGET));
        assertEquals(3, harness.counters().localAnswers());
        assertTrue(harness.received(2).isEmpty(), "nothing is flooded");
    }

    @Test
    void shouldAnswerNeighborSolicitationWithAdvertisement()
    {
        final byte[] solicitedNode = Ipv6Flyweight.parse("ff02::1:ff00:12");
        harness.send(1, b -> b.ethernet(0x3333_ff00_0012L, MAC1).ipv6(IP6_1, solicitedNode, 255, 0)
            .icmp(IcmpFlyweight.V6_NEIGHBOR_SOLICITATION, 0, 0, 0).payload(IP6_2)
            .payload(new byte[] {1, 1, 2, 0, 0, 0, 1, 0x11}));
        harness.drain();
        final List<PipelineHarness.Out> out = harness.received(1);
        assertEquals(1, out.size());
        final PipelineHarness.Out advert = out.get(0);
        assertTrue(advert.layout().isValid(), advert.layout().dropReason().label());
        assertTrue(advert.layout().hasFlag(FrameLayout.FLAG_L4_CHECKSUM_VERIFIED));
        assertEquals(IcmpFlyweight.V6_NEIGHBOR_ADVERTISEMENT, advert.layout().destinationPort() >>> 8);
        final int option = advert.layout().l4Offset() + 24;
        assertEquals(2, advert.bytes()[option]);
        assertEquals(MAC2, EthernetFlyweight.parseMac(String.format("%02x:%02x:%02x:%02x:%02x:%02x",
            advert.bytes()[option + 2], advert.bytes()[option + 3], advert.bytes()[option + 4],
            advert.bytes()[option + 5], advert.bytes()[option + 6], advert.bytes()[option + 7])));
        assertEquals(MAC2, advert.layout().sourceMac());
        assertEquals(MAC1, advert.layout().destinationMac());
    }

    @Test
    void shouldAdvertiseTheNetworksPrefixAndMtuToRouterSolicitations()
    {
        final byte[] linkLocal = Ipv6Flyweight.parse("fe80::11");
        harness.send(1, b -> b.ethernet(0x3333_0000_0002L, MAC1).ipv6(linkLocal, Ipv6Flyweight.parse("ff02::2"), 255, 0)
            .icmp(IcmpFlyweight.V6_ROUTER_SOLICITATION, 0, 0, 0).payload(new byte[] {1, 1, 2, 0, 0, 0, 1, 0x11}));
        harness.drain();
        final List<PipelineHarness.Out> out = harness.received(1);
        assertEquals(1, out.size());
        final PipelineHarness.Out advert = out.get(0);
        assertTrue(advert.layout().isValid(), advert.layout().dropReason().label());
        assertTrue(advert.layout().hasFlag(FrameLayout.FLAG_L4_CHECKSUM_VERIFIED));
        assertEquals(IcmpFlyweight.V6_ROUTER_ADVERTISEMENT, advert.layout().destinationPort() >>> 8);
        final Ipv6Flyweight ipv6 = new Ipv6Flyweight();
        ipv6.wrap(advert.segment(), advert.layout().l3Offset());
        assertEquals(0xFE80_0000_0000_0000L, ipv6.sourceHigh(), "router advertisements come from a link-local address");
        assertEquals(255, ipv6.hopLimit());
        final int icmp = advert.layout().l4Offset();
        final byte[] bytes = advert.bytes();
        // options: source link-layer (8), MTU (8), prefix information (32)
        assertEquals(5, bytes[icmp + 24]);
        assertEquals(1500, java.nio.ByteBuffer.wrap(bytes, icmp + 28, 4).getInt());
        assertEquals(3, bytes[icmp + 32]);
        assertEquals(64, bytes[icmp + 34]);
        assertEquals((byte)0xC0, bytes[icmp + 35], "on-link and autonomous (SLAAC)");
        assertEquals("fd00:1::", Ipv6Flyweight.format(java.util.Arrays.copyOfRange(bytes, icmp + 48, icmp + 64)));

        // The gateway's link-local address answers neighbour solicitations too.
        final byte[] gatewayLinkLocal = java.util.Arrays.copyOfRange(bytes, advert.layout().l3Offset() + 8, advert.layout().l3Offset() + 24);
        harness.send(1, b -> b.ethernet(GW_MAC, MAC1).ipv6(linkLocal, gatewayLinkLocal, 255, 0)
            .icmp(IcmpFlyweight.V6_NEIGHBOR_SOLICITATION, 0, 0, 0).payload(gatewayLinkLocal)
            .payload(new byte[] {1, 1, 2, 0, 0, 0, 1, 0x11}));
        harness.drain();
        final List<PipelineHarness.Out> na = harness.received(1);
        assertEquals(1, na.size());
        assertEquals(GW_MAC, na.get(0).layout().sourceMac());
    }

    @Test
    void shouldAnswerEchoToGatewayForBothFamilies()
    {
        harness.send(1, b -> b.ethernet(GW_MAC, MAC1).ipv4(IP1, ip("10.0.1.1")).icmpEcho(true, 77, 5).payload(56, 3));
        harness.send(1, b -> b.ethernet(GW_MAC, MAC1).ipv6(IP6_1, GW6).icmpEcho(true, 78, 6).payload(56, 4));
        harness.drain();
        final List<PipelineHarness.Out> out = harness.received(1);
        assertEquals(2, out.size());
        for (final PipelineHarness.Out reply : out)
        {
            assertTrue(reply.layout().isValid(), reply.layout().dropReason().label());
            assertTrue(reply.layout().hasFlag(FrameLayout.FLAG_L4_CHECKSUM_VERIFIED));
            final int type = reply.layout().destinationPort() >>> 8;
            assertTrue(type == IcmpFlyweight.V4_ECHO_REPLY || type == IcmpFlyweight.V6_ECHO_REPLY, "type " + type);
            assertEquals(GW_MAC, reply.layout().sourceMac());
        }
    }

    @Test
    void shouldDropEchoRequestsToTheGatewayWhoseChecksumIsWrong()
    {
        for (final boolean v6 : new boolean[] {false, true})
        {
            final Frame frame = harness.build(v6 ?
                b -> b.ethernet(GW_MAC, MAC1).ipv6(IP6_1, GW6).icmpEcho(true, 79, 7).payload(56, 5) :
                b -> b.ethernet(GW_MAC, MAC1).ipv4(IP1, ip("10.0.1.1")).icmpEcho(true, 79, 7).payload(56, 5));
            final int last = frame.start() + frame.length() - 1 - (v6 ? 0 : 4);
            frame.segment().set(java.lang.foreign.ValueLayout.JAVA_BYTE, last,
                (byte)(frame.segment().get(java.lang.foreign.ValueLayout.JAVA_BYTE, last) ^ 0x10));
            harness.send(harness.ports.get(1), frame, -1, -1);
        }
        harness.drain();
        assertTrue(harness.received(1).isEmpty(), "no reply to a damaged request");
        assertEquals(2, harness.counters().drops(DropReason.BAD_CHECKSUM));
    }

    @Test
    void shouldSendTimeExceededWhenTtlExpires()
    {
        harness.send(1, b -> b.ethernet(GW_MAC, MAC1).ipv4(IP1, IP3, 1, 9, 0, null).udp(1, 33434).payload(20, 5));
        harness.drain();
        assertTrue(harness.received(3).isEmpty());
        final List<PipelineHarness.Out> out = harness.received(1);
        assertEquals(1, out.size());
        final PipelineHarness.Out error = out.get(0);
        assertTrue(error.layout().isValid());
        assertEquals(IcmpFlyweight.V4_TIME_EXCEEDED << 8, error.layout().destinationPort());
        final Ipv4Flyweight ipv4 = new Ipv4Flyweight();
        ipv4.wrap(error.segment(), error.layout().l3Offset());
        assertEquals(ip("10.0.1.1"), ipv4.source());
        assertEquals(IP1, ipv4.destination());
        assertEquals(1, harness.counters().drops(DropReason.TTL_EXPIRED));
        assertEquals(1, harness.counters().icmpErrorsSent());
    }

    /**
     * From vm1, three packets of 1,500 bytes: IPv4 with DF, IPv4 without DF, IPv6.
     */
    private void sendOverMtu(final long destinationMac, final int destination)
    {
        harness.send(1, b -> b.ethernet(destinationMac, MAC1).ipv4(IP1, destination).udp(1, 2).payload(1500 - 28, 6));
        harness.send(1, b -> b.ethernet(destinationMac, MAC1).ipv4(IP1, destination, 64, 1, 0, null).udp(1, 2)
            .payload(1500 - 28, 6));
        harness.send(1, b -> b.ethernet(destinationMac, MAC1).ipv6(IP6_1, IP6_2).udp(1, 2).payload(1500 - 48, 7));
    }

    @Test
    void shouldSendFragmentationNeededAndPacketTooBigWhenOverMtu()
    {
        configure(1400, List.of());
        sendOverMtu(GW_MAC, IP3);
        harness.drain();
        assertTrue(harness.received(3).isEmpty());
        assertTrue(harness.received(2).isEmpty());
        final List<PipelineHarness.Out> out = harness.received(1);
        assertEquals(2, out.size(), "DF IPv4 and IPv6 get an ICMP error; IPv4 without DF is dropped");
        final IcmpFlyweight icmp = new IcmpFlyweight();
        icmp.wrap(out.get(0).segment(), out.get(0).layout().l4Offset());
        assertEquals(IcmpFlyweight.V4_DESTINATION_UNREACHABLE, icmp.type());
        assertEquals(IcmpFlyweight.V4_CODE_FRAGMENTATION_NEEDED, icmp.code());
        assertEquals(1400, icmp.nextHopMtu());
        assertTrue(out.get(0).layout().hasFlag(FrameLayout.FLAG_L4_CHECKSUM_VERIFIED));
        icmp.wrap(out.get(1).segment(), out.get(1).layout().l4Offset());
        assertEquals(IcmpFlyweight.V6_PACKET_TOO_BIG, icmp.type());
        assertEquals(1400, icmp.v6Mtu());
        assertTrue(out.get(1).layout().hasFlag(FrameLayout.FLAG_L4_CHECKSUM_VERIFIED));
        assertTrue(out.get(1).bytes().length <= 14 + 1280);
        assertEquals(3, harness.counters().drops(DropReason.MTU_EXCEEDED));
    }

    @Test
    void shouldSendFragmentationNeededWhenSwitchedFrameForAnotherDeviceExceedsMtu()
    {
        configure(1400, List.of());
        harness.send(1, b -> b.ethernet(REMOTE_MAC, MAC1).ipv4(IP1, ip("10.0.1.21")).udp(1, 2).payload(1500 - 28, 6));
        harness.send(1, b -> b.ethernet(REMOTE_MAC, MAC1).ipv4(IP1, ip("10.0.1.21")).udp(1, 2).payload(1400 - 28, 6));
        harness.drain();
        assertEquals(1, harness.received(OVERLAY).size(), "the frame that fits goes out");
        final List<PipelineHarness.Out> out = harness.received(1);
        assertEquals(1, out.size());
        final IcmpFlyweight icmp = new IcmpFlyweight();
        icmp.wrap(out.get(0).segment(), out.get(0).layout().l4Offset());
        assertEquals(IcmpFlyweight.V4_CODE_FRAGMENTATION_NEEDED, icmp.code());
        assertEquals(1400, icmp.nextHopMtu());
    }

    @Test
    void shouldHoldTheMtuOnSwitchedFramesForLocalPortsFromVmsAndFromTheOverlay()
    {
        configure(1400, List.of());
        // from vm1 to vm2 (same subnet, same device): DF IPv4, IPv4 without DF, IPv6, and one that fits
        sendOverMtu(MAC2, IP2);
        harness.send(1, b -> b.ethernet(MAC2, MAC1).ipv4(IP1, IP2).udp(1, 2).payload(1400 - 28, 6));
        // from a VM at device 7 to vm1 through the overlay: too big (DF), and one that fits
        final MemoryPort overlay = harness.ports.get(OVERLAY);
        harness.send(overlay, harness.buildGeneve(VNI_BLUE,
            b -> b.ethernet(MAC1, REMOTE_MAC).ipv4(ip("10.0.1.21"), IP1).udp(2, 1).payload(1500 - 28, 0)), -1, 7);
        harness.send(overlay, harness.buildGeneve(VNI_BLUE,
            b -> b.ethernet(MAC1, REMOTE_MAC).ipv4(ip("10.0.1.21"), IP1).udp(2, 1).payload(1400 - 28, 0)), -1, 7);
        harness.drain();

        final List<PipelineHarness.Out> toVm2 = harness.received(2);
        assertEquals(1, toVm2.size(), "only the frame that fits reaches vm2");
        assertEquals(14 + 1400, toVm2.get(0).bytes().length);
        final List<PipelineHarness.Out> toVm1 = harness.received(1);
        assertEquals(3, toVm1.size(), "two ICMP errors for vm1's own frames, then the overlay frame that fits");
        final IcmpFlyweight icmp = new IcmpFlyweight();
        icmp.wrap(toVm1.get(0).segment(), toVm1.get(0).layout().l4Offset());
        assertEquals(IcmpFlyweight.V4_CODE_FRAGMENTATION_NEEDED, icmp.code());
        assertEquals(1400, icmp.nextHopMtu());
        icmp.wrap(toVm1.get(1).segment(), toVm1.get(1).layout().l4Offset());
        assertEquals(IcmpFlyweight.V6_PACKET_TOO_BIG, icmp.type());
        assertEquals(1400, icmp.v6Mtu());
        assertEquals(REMOTE_MAC, toVm1.get(2).layout().sourceMac());
        assertEquals(14 + 1400, toVm1.get(2).bytes().length);
        final List<PipelineHarness.Out> back = harness.received(OVERLAY);
        assertEquals(1, back.size(), "the overlay sender gets fragmentation-needed back over the overlay");
        assertEquals(7, back.get(0).peerDevice());
        icmp.wrap(back.get(0).segment(), back.get(0).layout().l4Offset());
        assertEquals(IcmpFlyweight.V4_CODE_FRAGMENTATION_NEEDED, icmp.code());
        assertEquals(4, harness.counters().drops(DropReason.MTU_EXCEEDED));
    }

    @Test
    void shouldSpreadFlowsOverEcmpMembersAndKeepEachFlowOnOneMember()
    {
        configure(1500, List.of(new RouteSpec("192.168.0.0/16",
            new RouteTarget.Ecmp(List.of(new RouteTarget.LocalPort(2), new RouteTarget.LocalPort(3))))));
        final int flows = 200;
        for (int round = 0; round < 3; round++)
        {
            for (int f = 0; f < flows; f++)
            {
                final int port = 10000 + f;
                harness.send(1, b -> b.ethernet(GW_MAC, MAC1).ipv4(IP1, ip("192.168.7.7")).udp(port, 53).payload(8, 0));
            }
            harness.drain();
        }
        final Map<Integer, Set<Integer>> portsByFlow = new HashMap<>();
        for (final int member : new int[] {2, 3})
        {
            final List<PipelineHarness.Out> out = harness.received(member);
            assertTrue(out.size() > flows * 3 / 5, "member " + member + " got " + out.size() + " of " + flows * 3);
            for (final PipelineHarness.Out frame : out)
            {
                portsByFlow.computeIfAbsent(frame.layout().sourcePort(), k -> new HashSet<>()).add(member);
                assertEquals(member == 2 ? MAC2 : MAC3, frame.layout().destinationMac());
            }
        }
        assertEquals(flows, portsByFlow.size());
        portsByFlow.forEach((flow, members) -> assertEquals(1, members.size(), "flow " + flow + " used " + members));
    }

    @Test
    void shouldBlackholeSilentlyAndRejectWithUnreachable()
    {
        configure(1500, List.of(new RouteSpec("172.16.0.0/12", new RouteTarget.Blackhole()),
            new RouteSpec("172.20.0.0/16", new RouteTarget.Reject())));
        harness.send(1, b -> b.ethernet(GW_MAC, MAC1).ipv4(IP1, ip("172.16.1.1")).udp(1, 2).payload(8, 0));
        harness.send(1, b -> b.ethernet(GW_MAC, MAC1).ipv4(IP1, ip("172.20.1.1")).udp(1, 2).payload(8, 0));
        harness.drain();
        final List<PipelineHarness.Out> out = harness.received(1);
        assertEquals(1, out.size());
        final IcmpFlyweight icmp = new IcmpFlyweight();
        icmp.wrap(out.get(0).segment(), out.get(0).layout().l4Offset());
        assertEquals(IcmpFlyweight.V4_DESTINATION_UNREACHABLE, icmp.type());
        assertEquals(IcmpFlyweight.V4_CODE_ADMIN_PROHIBITED, icmp.code());
        assertEquals(1, harness.counters().drops(DropReason.BLACKHOLE));
        assertEquals(1, harness.counters().drops(DropReason.REJECT));
    }

    @Test
    void shouldDropSpoofedSourceMacAndIp()
    {
        harness.send(1, b -> b.ethernet(MAC2, 0x02_66_66_66_66_66L).ipv4(IP1, IP2).udp(1, 2).payload(8, 0));
        harness.send(1, b -> b.ethernet(MAC2, MAC1).ipv4(ip("10.0.1.99"), IP2).udp(1, 2).payload(8, 0));
        harness.send(1, b -> b.ethernet(MAC2, MAC1).ipv6(IP6_2, IP6_2).udp(1, 2).payload(8, 0));
        harness.send(1, b -> b.ethernet(EthernetFlyweight.BROADCAST, MAC1)
            .arp(ArpFlyweight.OPERATION_REQUEST, MAC1, IP2, 0, ip("10.0.1.1")));
        harness.drain();
        assertTrue(harness.received(2).isEmpty());
        assertTrue(harness.received(1).isEmpty());
        final CounterSnapshot counters = harness.counters();
        assertEquals(1, counters.drops(DropReason.SPOOFED_MAC));
        assertEquals(3, counters.drops(DropReason.SPOOFED_IP));
        assertEquals(4, counters.portDrops(1));
    }

    @Test
    void shouldNeverDeliverAcrossNetworks()
    {
        // red1 (same IP as vm1, other network) aims at blue's MACs, blue's gateway and blue-only subnets.
        final long redGateway = ForwardingState.GATEWAY_MAC_PREFIX | 200;
        harness.send(4, b -> b.ethernet(MAC1, MAC4).ipv4(IP1, IP2).udp(1, 2).payload(8, 0));
        harness.send(4, b -> b.ethernet(MAC2, MAC4).ipv4(IP1, IP2).udp(1, 2).payload(8, 0));
        harness.send(4, b -> b.ethernet(GW_MAC, MAC4).ipv4(IP1, IP3).udp(1, 2).payload(8, 0));
        harness.send(4, b -> b.ethernet(redGateway, MAC4).ipv4(IP1, IP3).udp(1, 2).payload(8, 0));
        harness.send(4, b -> b.ethernet(EthernetFlyweight.BROADCAST, MAC4)
            .arp(ArpFlyweight.OPERATION_REQUEST, MAC4, IP1, 0, IP2));
        harness.drain();
        for (final int port : new int[] {1, 2, 3, OVERLAY})
        {
            assertTrue(harness.received(port).isEmpty(), "port " + port + " got a frame from another network");
        }
        assertTrue(harness.received(4).isEmpty());
        final CounterSnapshot counters = harness.counters();
        assertEquals(3, counters.drops(DropReason.UNKNOWN_MAC));
        assertEquals(1, counters.drops(DropReason.NO_ROUTE));
        assertEquals(1, counters.drops(DropReason.UNKNOWN_TARGET));
    }

    @Test
    void shouldHandOffRemoteTrafficToOverlayAndDeliverOverlayTraffic()
    {
        configure(1500, List.of(new RouteSpec("10.9.0.0/16", new RouteTarget.RemoteDevice(5))));
        harness.send(1, b -> b.ethernet(GW_MAC, MAC1).ipv4(IP1, ip("10.9.1.1")).udp(1, 2).payload(8, 0));
        harness.send(1, b -> b.ethernet(GW_MAC, MAC1).ipv4(IP1, ip("10.0.1.21")).udp(1, 2).payload(8, 0));
        harness.drain();
        final List<PipelineHarness.Out> out = harness.received(OVERLAY);
        assertEquals(2, out.size());
        assertEquals(5, out.get(0).peerDevice());
        assertEquals(VNI_BLUE, out.get(0).vni());
        assertEquals(GW_MAC, out.get(0).layout().destinationMac(), "a routed remote hop routes again on arrival");
        assertEquals(7, out.get(1).peerDevice());
        assertEquals(REMOTE_MAC, out.get(1).layout().destinationMac());

        final MemoryPort overlay = harness.ports.get(OVERLAY);
        harness.send(overlay, harness.buildGeneve(VNI_BLUE,
            b -> b.ethernet(MAC1, REMOTE_MAC).ipv4(ip("10.0.1.21"), IP1).udp(2, 1).payload(8, 0)), -1, 7);
        harness.send(overlay, harness.buildGeneve(4242,
            b -> b.ethernet(MAC1, REMOTE_MAC).ipv4(ip("10.0.1.21"), IP1).udp(2, 1).payload(8, 0)), -1, 7);
        // Routed by device 5 (source MAC = gateway): the source IP must be one this network places at device 5.
        harness.send(overlay, harness.buildGeneve(VNI_BLUE,
            b -> b.ethernet(GW_MAC, GW_MAC).ipv4(ip("10.9.3.3"), IP1).udp(2, 1).payload(8, 0)), -1, 5);
        harness.send(overlay, harness.buildGeneve(VNI_BLUE,
            b -> b.ethernet(GW_MAC, GW_MAC).ipv4(ip("10.0.1.21"), IP1).udp(2, 1).payload(8, 0)), -1, 5);
        harness.send(overlay, harness.buildGeneve(VNI_BLUE,
            b -> b.ethernet(MAC1, REMOTE_MAC).ipv4(ip("10.0.1.21"), IP1).udp(2, 1).payload(8, 0)), -1, 9);
        harness.drain();
        final List<PipelineHarness.Out> delivered = harness.received(1);
        assertEquals(2, delivered.size());
        assertEquals(REMOTE_MAC, delivered.get(0).layout().sourceMac());
        assertEquals(GW_MAC, delivered.get(1).layout().sourceMac());
        final CounterSnapshot counters = harness.counters();
        assertEquals(1, counters.drops(DropReason.UNKNOWN_VNI));
        assertEquals(1, counters.drops(DropReason.OVERLAY_SPOOFED_SOURCE), "10.0.1.21 lives at device 7, not 5");
        assertEquals(1, counters.drops(DropReason.UNKNOWN_PEER));
    }

    @Test
    void shouldForwardLaterFragmentsWithTheirFirstFragment()
    {
        harness.send(1, b -> b.ethernet(GW_MAC, MAC1).ipv4(IP1, IP3, 64, 4242, Ipv4Flyweight.FLAG_MORE_FRAGMENTS, null)
            .udp(1, 2).payload(1472, 0));
        harness.send(1, b -> b.ethernet(GW_MAC, MAC1).ipv4(IP1, IP3, 64, 4242, 1480 / 8, null)
            .ipProtocol(IpProtocol.UDP).payload(100, 0));
        harness.send(1, b -> b.ethernet(GW_MAC, MAC1).ipv4(IP1, IP3, 64, 4343, 1480 / 8, null)
            .ipProtocol(IpProtocol.UDP).payload(100, 0));
        harness.drain();
        final List<PipelineHarness.Out> out = harness.received(3);
        assertEquals(2, out.size());
        assertTrue(out.get(1).layout().hasFlag(FrameLayout.FLAG_LATER_FRAGMENT));
        assertEquals(MAC3, out.get(1).layout().destinationMac());
        assertEquals(1, harness.counters().drops(DropReason.FRAGMENT_NO_FLOW));
    }

    @Test
    void shouldAccountForEveryReceivedFrame()
    {
        harness.send(1, b -> b.ethernet(MAC2, MAC1).ipv4(IP1, IP2).udp(1, 2).payload(8, 0));
        harness.send(1, b -> b.ethernet(GW_MAC, MAC1).ipv4(IP1, ip("10.0.1.1")).icmpEcho(true, 1, 1));
        harness.send(1, b -> b.ethernet(0x02_00_00_00_99_99L, MAC1).ipv4(IP1, IP2).udp(1, 2).payload(8, 0));
        harness.send(1, b -> b.ethernet(EthernetFlyweight.BROADCAST, MAC1).ipv4(IP1, -1).udp(5353, 5353).payload(8, 0));
        harness.drain();
        final CounterSnapshot counters = harness.counters();
        assertEquals(4, counters.rxFrames());
        assertEquals(counters.rxFrames(), counters.txFrames() + counters.totalDrops());
        assertEquals(1, counters.drops(DropReason.UNKNOWN_MAC));
        assertEquals(1, counters.drops(DropReason.UNHANDLED_BROADCAST));
        harness.received(1);
        harness.received(2);
        assertEquals(harness.dataPlane.pool().capacity(), harness.dataPlane.pool().available(), "every frame returned");
    }
}
