package io.vsnic.dataplane.security;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.nio.ByteBuffer;

/**
 * Test helper: address literals as the ints and longs the data plane uses, converted with
 * {@link InetAddress#ofLiteral} (literals only, never a name lookup) so that tests do not trust the
 * parser they test.
 */
final class Addresses
{
    private Addresses()
    {
    }

    static int v4(final String literal)
    {
        final InetAddress address = InetAddress.ofLiteral(literal);
        if (!(address instanceof Inet4Address))
        {
            throw new IllegalArgumentException("not an IPv4 literal: " + literal);
        }
        return ByteBuffer.wrap(address.getAddress()).getInt();
    }

    static long v6High(final String literal)
    {
        return ByteBuffer.wrap(v6Bytes(literal)).getLong(0);
    }

    static long v6Low(final String literal)
    {
        return ByteBuffer.wrap(v6Bytes(literal)).getLong(8);
    }

    private static byte[] v6Bytes(final String literal)
    {
        final byte[] bytes = InetAddress.ofLiteral(literal).getAddress();
        if (bytes.length == 16)
        {
            return bytes;
        }
        // ofLiteral turns ::ffff:a.b.c.d into an Inet4Address: map it back.
        final byte[] mapped = new byte[16];
        mapped[10] = (byte)0xFF;
        mapped[11] = (byte)0xFF;
        System.arraycopy(bytes, 0, mapped, 12, 4);
        return mapped;
    }
}
