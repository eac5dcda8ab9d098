package io.vsnic.dataplane.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ArpFlyweightTest
{
    private final ArpFlyweight arp = new ArpFlyweight();

    @Test
    void shouldReadCapturedRequestWhenWrappedAtInnerArp()
    {
        arp.wrap(Hex.segment(Captures.VXLAN_ARP_REQUEST), Captures.VXLAN_INNER_L3_OFFSET);

        assertTrue(arp.isEthernetIpv4());
        assertEquals(ArpFlyweight.HARDWARE_TYPE_ETHERNET, arp.hardwareType());
        assertEquals(EthernetFlyweight.ETHER_TYPE_IPV4, arp.protocolType());
        assertEquals(6, arp.hardwareLength());
        assertEquals(4, arp.protocolLength());
        assertEquals(ArpFlyweight.OPERATION_REQUEST, arp.operation());
        assertEquals(0x003088010002L, arp.senderMac());
        assertEquals(Ipv4Flyweight.parse("192.168.203.5"), arp.senderIp());
        assertEquals(0, arp.targetMac());
        assertEquals(Ipv4Flyweight.parse("192.168.203.3"), arp.targetIp());
    }

    @Test
    void shouldWriteCapturedRequestAndReplyBytes()
    {
        final MemorySegment segment = Arena.ofAuto().allocate(ArpFlyweight.HEADER_LENGTH);
        segment.fill((byte)0x5A);
        arp.wrap(segment, 0);

        arp.ethernetIpv4(ArpFlyweight.OPERATION_REQUEST)
            .senderMac(0x003088010002L).senderIp(Ipv4Flyweight.parse("192.168.203.5"))
            .targetMac(0).targetIp(Ipv4Flyweight.parse("192.168.203.3"));
        assertArrayEquals(innerArp(Captures.VXLAN_ARP_REQUEST), Hex.slice(segment, 0, ArpFlyweight.HEADER_LENGTH));

        arp.operation(ArpFlyweight.OPERATION_REPLY)
            .senderMac(0x00163e37f604L).senderIp(Ipv4Flyweight.parse("192.168.203.3"))
            .targetMac(0x003088010002L).targetIp(Ipv4Flyweight.parse("192.168.203.5"));
        assertArrayEquals(innerArp(Captures.VXLAN_ARP_REPLY), Hex.slice(segment, 0, ArpFlyweight.HEADER_LENGTH));
    }

    @ParameterizedTest(name = "byte {0} = {1}")
    @CsvSource({"1, 6", "0, 1", "3, 0xdd", "4, 8", "5, 16"})
    void shouldNotBeEthernetIpv4WhenAFixedFieldDiffers(final int byteOffset, final String value)
    {
        final MemorySegment segment = Hex.segment(Captures.VXLAN_ARP_REQUEST);
        arp.wrap(segment, Captures.VXLAN_INNER_L3_OFFSET);
        assertTrue(arp.isEthernetIpv4());

        segment.set(ValueLayout.JAVA_BYTE, Captures.VXLAN_INNER_L3_OFFSET + byteOffset, (byte)(int)Integer.decode(value));

        assertFalse(arp.isEthernetIpv4());
    }

    private static byte[] innerArp(final String frameHex)
    {
        return Hex.slice(Hex.segment(frameHex), Captures.VXLAN_INNER_L3_OFFSET, ArpFlyweight.HEADER_LENGTH);
    }
}
