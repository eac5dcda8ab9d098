package io.vsnic.crypto;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.security.SecureRandom;
import java.util.HexFormat;

import org.junit.jupiter.api.Test;

class DeviceKeysTest
{
    @Test
    void shouldDerivePublicKeyOfRfc7748Vector()
    {
        // RFC 7748 section 6.1: Alice's private and public key.
        final byte[] alicePrivate = HexFormat.of().parseHex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
        final DeviceKeys keys = DeviceKeys.fromPrivateKey(alicePrivate);
        assertEquals("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a", HexFormat.of().formatHex(keys.publicKey()));
    }

    @Test
    void shouldClampGeneratedKeysAndRoundTripBase64()
    {
        final DeviceKeys keys = DeviceKeys.generate(new SecureRandom());
        final byte[] key = keys.privateKey();
        assertEquals(0, key[0] & 7);
        assertEquals(64, key[31] & 0xC0);
        assertEquals(44, keys.privateKeyBase64().length());
        final DeviceKeys again = DeviceKeys.fromBase64(keys.privateKeyBase64());
        assertArrayEquals(keys.publicKey(), again.publicKey());
    }

    @Test
    void shouldRejectKeysOfWrongLengthOrEncoding()
    {
        assertThrows(IllegalArgumentException.class, () -> DeviceKeys.fromPrivateKey(new byte[31]));
        assertThrows(IllegalArgumentException.class, () -> DeviceKeys.fromBase64("not base64!"));
        assertThrows(IllegalArgumentException.class, () -> DeviceKeys.fromBase64("AAAA"));
    }

    @Test
    void shouldZeroPrivateKeyWhenDestroyed()
    {
        final DeviceKeys keys = DeviceKeys.generate(new SecureRandom());
        final String before = keys.privateKeyBase64();
        keys.destroy();
        assertNotEquals(before, keys.privateKeyBase64());
        assertArrayEquals(new byte[32], keys.privateKey());
    }
}
