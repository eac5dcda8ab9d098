package io.vsnic.crypto.primitive;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;

import org.junit.jupiter.api.Test;

class Blake2sTest
{
    private static final HexFormat HEX = HexFormat.of();

    private static byte[] key00to1f()
    {
        final byte[] key = new byte[32];
        for (int i = 0; i < 32; i++)
        {
            key[i] = (byte)i;
        }
        return key;
    }

    private static byte[] concat(final byte[] a, final byte[] b)
    {
        final byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Test
    void shouldHashAbcAsRfc7693AppendixB()
    {
        assertEquals("508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982",
            HEX.formatHex(Blake2s.hash("abc".getBytes(StandardCharsets.US_ASCII))));
        assertEquals(HEX.formatHex(Blake2s.hash("abc".getBytes(StandardCharsets.US_ASCII))),
            HEX.formatHex(Blake2s.hash("a".getBytes(StandardCharsets.US_ASCII), "bc".getBytes(StandardCharsets.US_ASCII))));
    }

    @Test
    void shouldMatchKeyedKnownAnswers()
    {
        // BLAKE2 reference package, blake2s-kat.txt (keyed, key 00..1f): empty input and input 00.
        assertEquals("48a8997da407876b3d79c0d92325ad3b89cbb754d86ab71aee047ad345fd2c49",
            HEX.formatHex(keyedHash32(key00to1f(), new byte[0])));
        assertEquals("40d15fee7c328830166ac3f918650f807e7e01e177258cdc0a39b11f598066f1",
            HEX.formatHex(keyedHash32(key00to1f(), new byte[1])));
    }

    private static byte[] keyedHash32(final byte[] key, final byte[] data)
    {
        final org.bouncycastle.crypto.digests.Blake2sDigest digest =
            new org.bouncycastle.crypto.digests.Blake2sDigest(key, 32, null, null);
        digest.update(data, 0, data.length);
        final byte[] out = new byte[32];
        digest.doFinal(out, 0);
        return out;
    }

    @Test
    void shouldMacWithSixteenByteDigestLengthNotATruncatedHash()
    {
        final byte[] mac = Blake2s.mac(key00to1f(), new byte[0], 0, 0);
        assertEquals(16, mac.length);
        // the output length is in the parameter block: a 16-byte MAC is not the prefix of the 32-byte one
        assertNotEquals(HEX.formatHex(Arrays.copyOf(keyedHash32(key00to1f(), new byte[0]), 16)), HEX.formatHex(mac));
    }

    @Test
    void shouldComputeHmacAsRfc2104OverBlake2s()
    {
        final byte[] key = "a key".getBytes(StandardCharsets.US_ASCII);
        final byte[] message = "the message".getBytes(StandardCharsets.US_ASCII);
        final byte[] ipad = new byte[64];
        final byte[] opad = new byte[64];
        for (int i = 0; i < 64; i++)
        {
            final byte k = i < key.length ? key[i] : 0;
            ipad[i] = (byte)(k ^ 0x36);
            opad[i] = (byte)(k ^ 0x5c);
        }
        final byte[] expected = Blake2s.hash(opad, Blake2s.hash(ipad, message));
        assertArrayEquals(expected, Blake2s.hmac(key, message));
    }

    @Test
    void shouldDeriveKdfOutputsAsWireguardDefinesThem()
    {
        final byte[] key = Blake2s.hash(new byte[] {1});
        final byte[] input = Blake2s.hash(new byte[] {2});
        final byte[][] three = Blake2s.kdf(3, key, input);
        final byte[] t0 = Blake2s.hmac(key, input);
        final byte[] t1 = Blake2s.hmac(t0, new byte[] {1});
        final byte[] t2 = Blake2s.hmac(t0, concat(t1, new byte[] {2}));
        final byte[] t3 = Blake2s.hmac(t0, concat(t2, new byte[] {3}));
        assertArrayEquals(t1, three[0]);
        assertArrayEquals(t2, three[1]);
        assertArrayEquals(t3, three[2]);
        assertArrayEquals(t1, Blake2s.kdf(1, key, input)[0]);
    }

    @Test
    void shouldCompareInConstantTimeHelper()
    {
        assertTrue(Blake2s.equalsConstantTime(new byte[] {1, 2, 3}, 1, new byte[] {2, 3}, 0, 2));
        assertFalse(Blake2s.equalsConstantTime(new byte[] {1, 2, 3}, 0, new byte[] {2, 3}, 0, 2));
    }
}
