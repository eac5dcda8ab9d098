package io.vsnic.dataplane.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

import org.junit.jupiter.api.Test;

class FrameBuilderTest
{
    private final MemorySegment segment = Arena.ofAuto().allocate(2048);

    @Test
    void shouldReproduceCapturedVxlanEchoRequestByteForByte()
    {
        final byte[] captured = Hex.bytes(Captures.VXLAN_ICMP_ECHO_REQUEST);
        final byte[] echoData = Arrays.copyOfRange(captured, Captures.VXLAN_INNER_ICMP_OFFSET + 8, captured.length);

        final int length = new FrameBuilder(segment, 0)
            .ethernet(0x00163e0871cfL, 0x36dc851eb340L)
            .ipv4(ip("192.168.203.1"), ip("192.168.202.1"), 64, 0xd2c0, Ipv4Flyweight.FLAG_DONT_FRAGMENT, null)
            .udpNoChecksum(45149, VxlanFlyweight.UDP_PORT)
            .vxlan(100)
            .ethernet(0x003088010002L, 0x00163e37f604L)
            .ipv4(ip("192.168.203.3"), ip("192.168.203.5"), 64, 0, Ipv4Flyweight.FLAG_DONT_FRAGMENT, null)
            .icmpEcho(true, 1292, 1)
            .payload(echoData)
            .build();

        assertEquals(captured.length, length);
        assertArrayEquals(captured, Hex.slice(segment, 0, length));
    }

    @Test
    void shouldReproduceCapturedVxlanArpRequestByteForByte()
    {
        final byte[] captured = Hex.bytes(Captures.VXLAN_ARP_REQUEST);

        final int length = new FrameBuilder(segment, 0)
            .ethernet(0x36dc851eb340L, 0x00163e0871cfL)
            .ipv4(ip("192.168.202.1"), ip("192.168.203.1"), 62, 0xb802, Ipv4Flyweight.FLAG_DONT_FRAGMENT, null)
            .udpNoChecksum(42710, VxlanFlyweight.UDP_PORT)
            .vxlan(100)
            .ethernet(EthernetFlyweight.BROADCAST, 0x003088010002L)
            .arp(ArpFlyweight.OPERATION_REQUEST, 0x003088010002L, ip("192.168.203.5"), 0, ip("192.168.203.3"))
            .build();

        assertArrayEquals(captured, Hex.slice(segment, 0, length));
    }

    @Test
    void shouldReproduceCapturedGeneveFrameWithGoogleOptionsByteForByte()
    {
        final byte[] captured = Hex.bytes(Captures.GENEVE_GCP);
        final FrameBuilder builder = new FrameBuilder(segment, 0)
            .ethernet(0x4201c0a86403L, 0x4201c0a864feL)
            .ipv4(ip("192.168.100.254"), ip("192.168.100.3"), 2, 0, Ipv4Flyweight.FLAG_DONT_FRAGMENT, null)
            .udpNoChecksum(62974, GeneveFlyweight.UDP_PORT)
            .geneve(0,
                new int[][]{{0x0132, 1}, {0x0132, 2}, {0x0132, 3}},
                new byte[][]{Hex.bytes("800000d1"), Hex.bytes("0800000d c0a86402 00000000 00000000"), Hex.bytes("00000000 00001234")})
            .ipv4(ip("192.168.100.2"), ip("192.168.100.1"), 64, 0xd944, 0, null)
            .tcp(2905, 8080, 760929856L, 2028584922L, 0, null);
        final TcpFlyweight tcp = new TcpFlyweight();
        tcp.wrap(segment, Captures.GENEVE_GCP_INNER_TCP_OFFSET);
        tcp.window(512);

        final int length = builder.build();

        assertArrayEquals(captured, Hex.slice(segment, 0, length));
    }

    @Test
    void shouldReproduceCapturedGeneveFrameWithCriticalOptionByteForByte()
    {
        final byte[] captured = Hex.bytes(Captures.GENEVE_CRITICAL_OPTION);
        final int echoDataOffset = 92 + IcmpFlyweight.HEADER_LENGTH;

        final int length = new FrameBuilder(segment, 0)
            .ethernet(0x001b213cac30L, 0x001b213cab64L)
            .ipv4(ip("20.0.0.1"), ip("20.0.0.2"), 64, 0xdfad, Ipv4Flyweight.FLAG_DONT_FRAGMENT, null)
            .udpNoChecksum(12618, GeneveFlyweight.UDP_PORT)
            .geneve(0xa, new int[][]{{0, 0x80}}, new byte[][]{Hex.bytes("0000000c")})
            .ethernet(0xfe71d883724fL, 0xb69ed2495148L)
            .ipv4(ip("30.0.0.1"), ip("30.0.0.2"), 64, 0xbda2, Ipv4Flyweight.FLAG_DONT_FRAGMENT, null)
            .icmpEcho(true, 0x2952, 0x17)
            .payload(Arrays.copyOfRange(captured, echoDataOffset, captured.length))
            .build();

        assertArrayEquals(captured, Hex.slice(segment, 0, length));
    }

    @Test
    void shouldPadWithZerosOutsideTheIpPacketWhenBuildingPadded()
    {
        segment.fill((byte)0xAB);

        final int length = new FrameBuilder(segment, 0)
            .ethernet(EthernetFlyweight.BROADCAST, 0x020000000001L)
            .arp(ArpFlyweight.OPERATION_REQUEST, 0x020000000001L, ip("10.0.0.1"), 0, ip("10.0.0.2"))
            .buildPadded(60);

        assertEquals(60, length);
        assertArrayEquals(new byte[18], Hex.slice(segment, 42, 18));
        assertEquals((byte)0xAB, segment.get(ValueLayout.JAVA_BYTE, 60));
    }

    @Test
    void shouldWriteAtStartOffsetAndStartOverWhenReset()
    {
        final FrameBuilder builder = new FrameBuilder(segment, 100);
        final int first = builder.ethernet(1, 2).ipv4(3, 4).udp(5, 6).payload(10, 0).build();

        final int second = builder.reset().ethernet(0x020000000001L, 0x020000000002L)
            .ipv6(new byte[16], new byte[16]).icmpEcho(false, 1, 2).build();

        assertEquals(14 + 20 + 8 + 10, first);
        assertEquals(14 + 40 + 8, second);
        final EthernetFlyweight ethernet = new EthernetFlyweight();
        ethernet.wrap(segment, 100);
        assertEquals(EthernetFlyweight.ETHER_TYPE_IPV6, ethernet.etherType());
        assertEquals(0x020000000001L, ethernet.destination());
    }

    @Test
    void shouldRefuseLayersThatCannotFollowThePreviousOne()
    {
        assertThrows(IllegalStateException.class, () -> new FrameBuilder(segment, 0).ethernet(1, 2).udp(1, 2));
        assertThrows(IllegalStateException.class, () -> new FrameBuilder(segment, 0).ethernet(1, 2).ipv4(1, 2).vxlan(1));
        assertThrows(IllegalStateException.class,
            () -> new FrameBuilder(segment, 0).ethernet(1, 2).ipv4(1, 2).udp(1, 4789).vxlan(1).ipv4(1, 2));
        assertThrows(IllegalStateException.class, () -> new FrameBuilder(segment, 0).ethernet(1, 2).ipv4(1, 2).ethernet(1, 2));
    }

    private static int ip(final String text)
    {
        return Ipv4Flyweight.parse(text);
    }
}
