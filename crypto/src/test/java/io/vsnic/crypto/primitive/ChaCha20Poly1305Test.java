package io.vsnic.crypto.primitive;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;

import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;

import org.junit.jupiter.api.Test;

class ChaCha20Poly1305Test
{
    private static final HexFormat HEX = HexFormat.of();

    private static byte[] transportNonce(final long counter)
    {
        final byte[] nonce = new byte[12];
        for (int i = 0; i < 8; i++)
        {
            nonce[4 + i] = (byte)(counter >>> (8 * i));
        }
        return nonce;
    }

    @Test
    void shouldProduceRfc8439AeadVector()
    {
        // RFC 8439 section 2.8.2.
        final byte[] key = new byte[32];
        for (int i = 0; i < 32; i++)
        {
            key[i] = (byte)(0x80 + i);
        }
        final byte[] nonce = HEX.parseHex("070000004041424344454647");
        final byte[] aad = HEX.parseHex("50515253c0c1c2c3c4c5c6c7");
        final byte[] plain = ChaCha20Test.SUNSCREEN.getBytes(StandardCharsets.US_ASCII);
        final byte[] sealed = new ChaCha20Poly1305().seal(key, nonce, plain, aad);
        assertEquals("d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6" +
            "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36" +
            "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc" +
            "3ff4def08e4b7a9de576d26586cec64b6116" + "1ae10b594f09e26a7e902ecbd0600691", HEX.formatHex(sealed));
        assertArrayEquals(plain, new ChaCha20Poly1305().open(key, nonce, sealed, aad));
    }

    @Test
    void shouldAgreeWithJdkCipherOnRandomInputs() throws Exception
    {
        final SplittableRandom random = new SplittableRandom(2882);
        final Cipher jdk = Cipher.getInstance("ChaCha20-Poly1305");
        final ChaCha20Poly1305 vsnic = new ChaCha20Poly1305();
        for (int round = 0; round < 500; round++)
        {
            final byte[] key = new byte[32];
            final byte[] nonce = new byte[12];
            random.nextBytes(key);
            random.nextBytes(nonce);
            final byte[] plain = new byte[random.nextInt(0, 1600)];
            random.nextBytes(plain);
            final byte[] aad = new byte[round % 3 == 0 ? 0 : random.nextInt(0, 70)];
            random.nextBytes(aad);

            jdk.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(key, "ChaCha20"), new IvParameterSpec(nonce));
            jdk.updateAAD(aad);
            final byte[] expected = jdk.doFinal(plain);
            assertArrayEquals(expected, vsnic.seal(key, nonce, plain, aad), "length " + plain.length);
            assertArrayEquals(plain, vsnic.open(key, nonce, expected, aad));
        }
    }

    @Test
    void shouldAgreeAcrossTransportImplementationsOnHeapAndNativeSegments()
    {
        final SplittableRandom random = new SplittableRandom(4);
        final List<TransportAead> all = List.of(new ChaCha20Poly1305(), new JdkChaCha20Poly1305(),
            new BouncyCastleChaCha20Poly1305());
        try (Arena arena = Arena.ofConfined())
        {
            for (int round = 0; round < 200; round++)
            {
                final byte[] key = new byte[32];
                random.nextBytes(key);
                final long counter = random.nextLong();
                final int length = round < 3 ? round * 16 : random.nextInt(0, 1500);
                final byte[] plain = new byte[length];
                random.nextBytes(plain);
                byte[] first = null;
                for (final TransportAead aead : all)
                {
                    final MemorySegment segment = round % 2 == 0 ?
                        MemorySegment.ofArray(new byte[length + 40]) : arena.allocate(length + 40);
                    MemorySegment.copy(plain, 0, segment, ValueLayout.JAVA_BYTE, 8, length);
                    aead.seal(key, counter, segment, 8, length);
                    final byte[] sealed = segment.asSlice(8, length + 16).toArray(ValueLayout.JAVA_BYTE);
                    if (first == null)
                    {
                        first = sealed;
                    }
                    assertArrayEquals(first, sealed, aead.name() + " seal, length " + length);
                    assertTrue(aead.open(key, counter, segment, 8, length), aead.name());
                    assertArrayEquals(plain, segment.asSlice(8, length).toArray(ValueLayout.JAVA_BYTE), aead.name());
                }
                // and the JDK's AEAD with the transport nonce layout gives the same bytes
                try
                {
                    final Cipher jdk = Cipher.getInstance("ChaCha20-Poly1305");
                    jdk.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(key, "ChaCha20"),
                        new IvParameterSpec(transportNonce(counter)));
                    assertArrayEquals(jdk.doFinal(plain), first);
                }
                catch (final java.security.GeneralSecurityException ex)
                {
                    throw new AssertionError(ex);
                }
            }
        }
    }

    @Test
    void shouldRejectEveryFlippedBitAndLeaveBufferUntouched()
    {
        final byte[] key = new byte[32];
        Arrays.fill(key, (byte)7);
        final int length = 80;
        for (final TransportAead aead : List.of(new ChaCha20Poly1305(), new JdkChaCha20Poly1305(),
            new BouncyCastleChaCha20Poly1305()))
        {
            final MemorySegment good = MemorySegment.ofArray(new byte[length + 16]);
            aead.seal(key, 5, good, 0, length);
            for (int bit = 0; bit < 8 * (length + 16); bit += 7)
            {
                final byte[] bad = good.toArray(ValueLayout.JAVA_BYTE);
                bad[bit / 8] ^= (byte)(1 << (bit % 8));
                final byte[] before = bad.clone();
                assertFalse(aead.open(key, 5, MemorySegment.ofArray(bad), 0, length), aead.name() + " bit " + bit);
                assertArrayEquals(before, bad, aead.name() + " must not write plaintext of a forgery");
            }
            final byte[] wrongCounter = good.toArray(ValueLayout.JAVA_BYTE);
            assertFalse(aead.open(key, 6, MemorySegment.ofArray(wrongCounter), 0, length), aead.name());
        }
    }

    @Test
    void shouldReturnNullForTruncatedOrForgedArrays()
    {
        final ChaCha20Poly1305 aead = new ChaCha20Poly1305();
        final byte[] key = new byte[32];
        final byte[] nonce = new byte[12];
        assertNull(aead.open(key, nonce, new byte[15], new byte[0]));
        final byte[] sealed = aead.seal(key, nonce, new byte[0], new byte[32]);
        assertEquals(16, sealed.length);
        assertArrayEquals(new byte[0], aead.open(key, nonce, sealed, new byte[32]));
        assertNull(aead.open(key, nonce, sealed, new byte[31]));
    }
}
