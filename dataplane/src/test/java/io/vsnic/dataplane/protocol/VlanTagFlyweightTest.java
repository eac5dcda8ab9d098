package io.vsnic.dataplane.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import org.junit.jupiter.api.Test;

class VlanTagFlyweightTest
{
    private final VlanTagFlyweight tag = new VlanTagFlyweight();

    @Test
    void shouldReadPriorityDropEligibleAndVlanIdFromTci()
    {
        // PCP 5, DEI 1, VID 100: 101 1 0000 0110 0100 = 0xb064; inner EtherType IPv4.
        tag.wrap(Hex.segment("b064 0800"), 0);

        assertEquals(5, tag.priority());
        assertTrue(tag.dropEligible());
        assertEquals(100, tag.vlanId());
        assertEquals(EthernetFlyweight.ETHER_TYPE_IPV4, tag.etherType());
    }

    @Test
    void shouldWriteTciAndEtherTypeInNetworkOrder()
    {
        final MemorySegment segment = Arena.ofAuto().allocate(VlanTagFlyweight.TAG_LENGTH);
        tag.wrap(segment, 0);

        tag.tci(7, false, 4094).etherType(EthernetFlyweight.ETHER_TYPE_IPV6);

        assertArrayEquals(Hex.bytes("effe 86dd"), Hex.slice(segment, 0, 4));
        assertEquals(7, tag.priority());
        assertFalse(tag.dropEligible());
        assertEquals(4094, tag.vlanId());
    }

    @Test
    void shouldMaskFieldsWhenValuesExceedTheirWidth()
    {
        final MemorySegment segment = Arena.ofAuto().allocate(VlanTagFlyweight.TAG_LENGTH);
        tag.wrap(segment, 0);

        tag.tci(9, true, 0x1FFF);

        assertEquals(1, tag.priority());
        assertTrue(tag.dropEligible());
        assertEquals(0xFFF, tag.vlanId());
        assertArrayEquals(Hex.bytes("3fff"), Hex.slice(segment, 0, 2));
    }
}
