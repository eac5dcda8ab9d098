package io.vsnic.vnic;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Set;

import org.junit.jupiter.api.Test;

class MacAddressesTest
{
    @Test
    void shouldGiveSameMacForSameVnicAndDifferentForOthers()
    {
        final long first = MacAddresses.stableLocallyAdministered("device-1", "vm-a");
        assertEquals(first, MacAddresses.stableLocallyAdministered("device-1", "vm-a"));
        assertNotEquals(first, MacAddresses.stableLocallyAdministered("device-1", "vm-b"));
        assertNotEquals(first, MacAddresses.stableLocallyAdministered("device-2", "vm-a"));
    }

    @Test
    void shouldAlwaysBeUnicastAndLocallyAdministered()
    {
        final Set<Long> seen = new HashSet<>();
        for (int i = 0; i < 10_000; i++)
        {
            final long mac = MacAddresses.stableLocallyAdministered("d", "vnic-" + i);
            assertTrue(MacAddresses.isLocallyAdministeredUnicast(mac), Long.toHexString(mac));
            assertEquals(0, mac >>> 48);
            seen.add(mac);
        }
        assertEquals(10_000, seen.size());
    }
}
