package io.vsnic.dataplane.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class EthernetFlyweightTest
{
    private final EthernetFlyweight ethernet = new EthernetFlyweight();

    @Test
    void shouldReadFieldsWhenWrappedAtCapturedFrame()
    {
        final MemorySegment frame = Hex.segment(Captures.VXLAN_ICMP_ECHO_REQUEST);

        ethernet.wrap(frame, 0);
        assertEquals(0x00163e0871cfL, ethernet.destination());
        assertEquals(0x36dc851eb340L, ethernet.source());
        assertEquals(EthernetFlyweight.ETHER_TYPE_IPV4, ethernet.etherType());

        ethernet.wrap(frame, Captures.VXLAN_INNER_ETHERNET_OFFSET);
        assertEquals(0x003088010002L, ethernet.destination());
        assertEquals(0x00163e37f604L, ethernet.source());
        assertEquals(EthernetFlyweight.ETHER_TYPE_IPV4, ethernet.etherType());
        assertEquals(Captures.VXLAN_INNER_ETHERNET_OFFSET, ethernet.offset());
        assertSame(frame, ethernet.segment());
    }

    @Test
    void shouldWriteCapturedBytesWhenFieldsAreSet()
    {
        final byte[] captured = Hex.bytes(Captures.VXLAN_ARP_REQUEST);
        final MemorySegment segment = Arena.ofAuto().allocate(captured.length);

        ethernet.wrap(segment, Captures.VXLAN_INNER_ETHERNET_OFFSET);
        ethernet.destination(EthernetFlyweight.BROADCAST).source(0x003088010002L).etherType(EthernetFlyweight.ETHER_TYPE_ARP);

        assertArrayEquals(
            Arrays.copyOfRange(captured, Captures.VXLAN_INNER_ETHERNET_OFFSET, Captures.VXLAN_INNER_L3_OFFSET),
            Hex.slice(segment, Captures.VXLAN_INNER_ETHERNET_OFFSET, EthernetFlyweight.HEADER_LENGTH));
    }

    @Test
    void shouldLeaveNeighbouringBytesUntouchedWhenWriting()
    {
        final MemorySegment segment = Arena.ofAuto().allocate(40);
        segment.fill((byte)0xAA);

        ethernet.wrap(segment, 3);
        ethernet.destination(0).source(0).etherType(0);

        for (int i = 0; i < 40; i++)
        {
            final byte expected = i >= 3 && i < 3 + EthernetFlyweight.HEADER_LENGTH ? 0 : (byte)0xAA;
            assertEquals(expected, segment.get(ValueLayout.JAVA_BYTE, i), "byte " + i);
        }
    }

    @Test
    void shouldThrowInsteadOfReadingOutsideSegmentWhenOffsetIsWrong()
    {
        final MemorySegment segment = Arena.ofAuto().allocate(EthernetFlyweight.HEADER_LENGTH);

        ethernet.wrap(segment, 1);

        assertThrows(IndexOutOfBoundsException.class, ethernet::etherType);
    }

    @Test
    void shouldDetectGroupAddressesByTheIgBit()
    {
        assertTrue(EthernetFlyweight.isMulticast(EthernetFlyweight.BROADCAST));
        assertTrue(EthernetFlyweight.isMulticast(0x01005e000001L));
        assertTrue(EthernetFlyweight.isMulticast(0x333300000001L));
        assertFalse(EthernetFlyweight.isMulticast(0x00163e0871cfL));
        assertFalse(EthernetFlyweight.isMulticast(0x020000000001L));
        assertFalse(EthernetFlyweight.isMulticast(0xfeffffffffffL));
    }

    @Test
    void shouldFormatMacAsSixLowercaseColonSeparatedOctets()
    {
        assertEquals("00:16:3e:08:71:cf", EthernetFlyweight.formatMac(0x00163e0871cfL));
        assertEquals("ff:ff:ff:ff:ff:ff", EthernetFlyweight.formatMac(EthernetFlyweight.BROADCAST));
        assertEquals("00:00:00:00:00:00", EthernetFlyweight.formatMac(0));
        assertEquals("0a:0b:0c:0d:0e:0f", EthernetFlyweight.formatMac(0x0a0b0c0d0e0fL));
    }

    @Test
    void shouldParseMacWhenSeparatedByColonsOrDashesInAnyCase()
    {
        assertEquals(0x00163e0871cfL, EthernetFlyweight.parseMac("00:16:3e:08:71:cf"));
        assertEquals(0x00163e0871cfL, EthernetFlyweight.parseMac("00-16-3E-08-71-CF"));
        assertEquals(0x0102030a0b0cL, EthernetFlyweight.parseMac("1:2:3:a:b:c"));
        assertEquals(EthernetFlyweight.BROADCAST, EthernetFlyweight.parseMac("ff:ff:ff:ff:ff:ff"));
    }

    @Test
    void shouldRoundTripRandomMacsThroughFormatAndParse()
    {
        final Random random = new Random(802);
        for (int i = 0; i < 10_000; i++)
        {
            final long mac = random.nextLong() & 0xFFFF_FFFF_FFFFL;
            assertEquals(mac, EthernetFlyweight.parseMac(EthernetFlyweight.formatMac(mac)));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "", "00:11:22:33:44", "00:11:22:33:44:55:66", "00:11:22:33:44:5g", "001:22:33:44:55:6",
        "00:11:22:33:44:55:", "00:11:22:33:44:55::", ":00:11:22:33:44:55", "00::22:33:44:55",
        "+1:22:33:44:55:66", "00:11:22:33:44:+5", "\uff10\uff11:22:33:44:55:66", "00 11 22 33 44 55",
        "0x0:11:22:33:44:55"})
    void shouldRejectTextWhenItIsNotExactlySixHexOctets(final String text)
    {
        assertThrows(IllegalArgumentException.class, () -> EthernetFlyweight.parseMac(text));
    }
}
