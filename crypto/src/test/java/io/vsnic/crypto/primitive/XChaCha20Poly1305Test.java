package io.vsnic.crypto.primitive;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

class XChaCha20Poly1305Test
{
    @Test
    void shouldEqualChaCha20Poly1305UnderTheHChaCha20Subkey()
    {
        // draft-irtf-cfrg-xchacha section 2.3: subkey = HChaCha20(key, nonce[0..16]),
        // inner nonce = 00000000 || nonce[16..24]. HChaCha20 itself has its own vector in ChaCha20Test.
        final SplittableRandom random = new SplittableRandom(24);
        for (int round = 0; round < 50; round++)
        {
            final byte[] key = new byte[32];
            final byte[] nonce = new byte[24];
            final byte[] plain = new byte[random.nextInt(0, 100)];
            final byte[] aad = new byte[16];
            random.nextBytes(key);
            random.nextBytes(nonce);
            random.nextBytes(plain);
            random.nextBytes(aad);

            final int[] words = new int[8];
            ChaCha20.keyWords(key, 0, words);
            final int[] subkey = new int[8];
            ChaCha20.hchacha20(words, nonce, 0, subkey);
            final byte[] subkeyBytes = new byte[32];
            final MemorySegment s = MemorySegment.ofArray(subkeyBytes);
            for (int i = 0; i < 8; i++)
            {
                s.set(ChaCha20.INT_LE, 4L * i, subkey[i]);
            }
            final byte[] inner = new byte[12];
            System.arraycopy(nonce, 16, inner, 4, 8);
            final byte[] expected = new ChaCha20Poly1305().seal(subkeyBytes, inner, plain, aad);

            final byte[] sealed = XChaCha20Poly1305.seal(key, nonce, plain, aad);
            assertArrayEquals(expected, sealed);
            assertArrayEquals(plain, XChaCha20Poly1305.open(key, nonce, sealed, aad));
            sealed[0] ^= 1;
            assertNull(XChaCha20Poly1305.open(key, nonce, sealed, aad));
        }
    }
}
