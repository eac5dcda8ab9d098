package io.vsnic.dataplane.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import org.junit.jupiter.api.Test;

class VxlanFlyweightTest
{
    private final VxlanFlyweight vxlan = new VxlanFlyweight();

    @Test
    void shouldReadCapturedHeaderWithIFlagAndVni100()
    {
        vxlan.wrap(Hex.segment(Captures.VXLAN_ICMP_ECHO_REQUEST), Captures.VXLAN_HEADER_OFFSET);

        assertEquals(0x08, vxlan.flags());
        assertTrue(vxlan.isVniValid());
        assertEquals(100, vxlan.vni());
    }

    @Test
    void shouldWriteRfc7348LayoutWithReservedFieldsZero()
    {
        // RFC 7348 section 5: flags byte 0000 1000, 24 reserved bits, 24-bit VNI, 8 reserved bits.
        final MemorySegment segment = Arena.ofAuto().allocate(VxlanFlyweight.HEADER_LENGTH);
        segment.fill((byte)0xFF);
        vxlan.wrap(segment, 0);

        vxlan.header(100);
        assertArrayEquals(Hex.bytes("08000000 00006400"), Hex.slice(segment, 0, 8));

        vxlan.header(0xABCDEF);
        assertArrayEquals(Hex.bytes("08000000 abcdef00"), Hex.slice(segment, 0, 8));
        assertEquals(0xABCDEF, vxlan.vni());
    }

    @Test
    void shouldKeepOnlyTwentyFourBitsWhenVniIsTooLarge()
    {
        final MemorySegment segment = Arena.ofAuto().allocate(VxlanFlyweight.HEADER_LENGTH);
        vxlan.wrap(segment, 0);

        vxlan.header(0x1234567);

        assertEquals(0x234567, vxlan.vni());
        assertArrayEquals(Hex.bytes("08000000 23456700"), Hex.slice(segment, 0, 8));
    }

    @Test
    void shouldIgnoreReservedBitsAndRequireOnlyTheIFlag()
    {
        vxlan.wrap(Hex.segment("ff ffffff 000064 ff"), 0);
        assertTrue(vxlan.isVniValid());
        assertEquals(100, vxlan.vni(), "the trailing reserved byte is not part of the VNI");

        vxlan.wrap(Hex.segment("f7 000000 000064 00"), 0);
        assertFalse(vxlan.isVniValid());
    }
}
