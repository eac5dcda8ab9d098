package io.vsnic.vnic;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * MAC addresses for vNICs that are not given one: derived from the vNIC id so that the same vNIC
 * gets the same MAC on every attach (a guest's DHCP lease and interface naming stay stable),
 * unicast and locally administered (IEEE 802: I/G bit 0, U/L bit 1), so it can never collide with
 * a vendor-assigned address.
 */
public final class MacAddresses
{
    private MacAddresses()
    {
    }

    /**
     * @param namespace scope of the id (e.g. the device name), so that two devices with the same vNIC
     *                  ids still pick different MACs.
     * @param vnicId    the vNIC id.
     * @return a locally administered unicast MAC in the low 48 bits.
     */
    public static long stableLocallyAdministered(final String namespace, final String vnicId)
    {
        final byte[] digest;
        try
        {
            digest = MessageDigest.getInstance("SHA-256")
                .digest((namespace + '\0' + vnicId).getBytes(StandardCharsets.UTF_8));
        }
        catch (final NoSuchAlgorithmException ex)
        {
            throw new IllegalStateException("SHA-256 is a mandatory JDK algorithm", ex);
        }
        long mac = 0;
        for (int i = 0; i < 6; i++)
        {
            mac = (mac << 8) | (digest[i] & 0xFF);
        }
        mac &= ~0x0100_0000_0000L;
        mac |= 0x0200_0000_0000L;
        return mac;
    }

    /**
     * @return true when the address is unicast and locally administered.
     */
    public static boolean isLocallyAdministeredUnicast(final long mac)
    {
        return (mac & 0x0100_0000_0000L) == 0 && (mac & 0x0200_0000_0000L) != 0;
    }
}
