package io.vsnic.crypto.primitive;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.SplittableRandom;

import javax.crypto.Cipher;
import javax.crypto.spec.ChaCha20ParameterSpec;
import javax.crypto.spec.SecretKeySpec;

import org.junit.jupiter.api.Test;

class ChaCha20Test
{
    static final HexFormat HEX = HexFormat.of();
    static final String SUNSCREEN = "Ladies and Gentlemen of the class of '99: If I could offer you only one tip " +
        "for the future, sunscreen would be it.";

    static byte[] key00to1f()
    {
        final byte[] key = new byte[32];
        for (int i = 0; i < key.length; i++)
        {
            key[i] = (byte)i;
        }
        return key;
    }

    static int[] words(final byte[] key)
    {
        final int[] words = new int[8];
        ChaCha20.keyWords(key, 0, words);
        return words;
    }

    static int le(final String hex)
    {
        final byte[] b = HEX.parseHex(hex);
        return (b[0] & 0xFF) | (b[1] & 0xFF) << 8 | (b[2] & 0xFF) << 16 | (b[3] & 0xFF) << 24;
    }

    @Test
    void shouldProduceRfc8439BlockFunctionVector()
    {
        // RFC 8439 section 2.3.2: key 00..1f, nonce 000000090000004a00000000, block count 1.
        final int[] out = new int[16];
        ChaCha20.block(words(key00to1f()), 1, le("00000009"), le("0000004a"), le("00000000"), out);
        final MemorySegment serialized = MemorySegment.ofArray(new byte[64]);
        for (int i = 0; i < 16; i++)
        {
            serialized.set(ChaCha20.INT_LE, 4L * i, out[i]);
        }
        assertEquals("10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4e" +
            "d2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e",
            HEX.formatHex(serialized.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE)));
    }

    @Test
    void shouldEncryptRfc8439Sunscreen()
    {
        // RFC 8439 section 2.4.2: key 00..1f, nonce 000000000000004a00000000, initial counter 1.
        final byte[] data = SUNSCREEN.getBytes(StandardCharsets.US_ASCII);
        ChaCha20.xor(words(key00to1f()), 1, 0, le("0000004a"), 0, MemorySegment.ofArray(data), 0, data.length,
            new int[16]);
        assertEquals("6e2e359a2568f98041ba0728dd0d6981e97e7aec1d4360c20a27afccfd9fae0b" +
            "f91b65c5524733ab8f593dabcd62b3571639d624e65152ab8f530c359f0861d8" +
            "07ca0dbf500d6a6156a38e088a22b65e52bc514d16ccf806818ce91ab7793736" +
            "5af90bbf74a35be6b40b8eedf2785e42874d", HEX.formatHex(data));
    }

    @Test
    void shouldDeriveHChaCha20SubkeyOfXChaChaDraft()
    {
        // draft-irtf-cfrg-xchacha-03 section 2.2.1.
        final int[] subkey = new int[8];
        ChaCha20.hchacha20(words(key00to1f()), HEX.parseHex("000000090000004a0000000031415927"), 0, subkey);
        final MemorySegment out = MemorySegment.ofArray(new byte[32]);
        for (int i = 0; i < 8; i++)
        {
            out.set(ChaCha20.INT_LE, 4L * i, subkey[i]);
        }
        assertEquals("82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc",
            HEX.formatHex(out.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE)));
    }

    @Test
    void shouldAgreeWithJdkChaCha20OnRandomLengthsAndOffsets() throws Exception
    {
        final SplittableRandom random = new SplittableRandom(8439);
        final Cipher jdk = Cipher.getInstance("ChaCha20");
        for (int round = 0; round < 300; round++)
        {
            final byte[] key = new byte[32];
            final byte[] nonce = new byte[12];
            random.nextBytes(key);
            random.nextBytes(nonce);
            final int counter = random.nextInt(1 << 20);
            final int length = random.nextInt(0, 700);
            final int offset = random.nextInt(0, 9);
            final byte[] plain = new byte[length];
            random.nextBytes(plain);

            jdk.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(key, "ChaCha20"), new ChaCha20ParameterSpec(nonce, counter));
            final byte[] expected = jdk.doFinal(plain);

            final byte[] buffer = new byte[offset + length + 3];
            System.arraycopy(plain, 0, buffer, offset, length);
            final MemorySegment n = MemorySegment.ofArray(nonce);
            ChaCha20.xor(words(key), counter, n.get(ChaCha20.INT_LE, 0), n.get(ChaCha20.INT_LE, 4),
                n.get(ChaCha20.INT_LE, 8), MemorySegment.ofArray(buffer), offset, length, new int[16]);
            assertArrayEquals(expected, java.util.Arrays.copyOfRange(buffer, offset, offset + length), "length " + length);
        }
    }
}
