package io.vsnic.crypto.primitive;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.SplittableRandom;

import org.bouncycastle.crypto.params.KeyParameter;
import org.junit.jupiter.api.Test;

class Poly1305Test
{
    private static final HexFormat HEX = HexFormat.of();

    private static byte[] tag(final byte[] key, final byte[] message)
    {
        final Poly1305 poly = new Poly1305();
        poly.init(key, 0);
        poly.updateFinal(MemorySegment.ofArray(message), 0, message.length);
        final byte[] tag = new byte[16];
        poly.finish(MemorySegment.ofArray(tag), 0);
        return tag;
    }

    @Test
    void shouldProduceRfc8439Poly1305Vector()
    {
        // RFC 8439 section 2.5.2.
        final byte[] key = HEX.parseHex("85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b");
        final byte[] tag = tag(key, "Cryptographic Forum Research Group".getBytes(StandardCharsets.US_ASCII));
        assertEquals("a8061dc1305136c6c22b8baf0c0127a9", HEX.formatHex(tag));
    }

    @Test
    void shouldAgreeWithBouncyCastleOnRandomAndExtremeInputs()
    {
        final SplittableRandom random = new SplittableRandom(1305);
        for (int round = 0; round < 2000; round++)
        {
            final byte[] key = new byte[32];
            final int length = random.nextInt(0, 300);
            final byte[] message = new byte[length];
            switch (round % 4)
            {
                case 0 -> {
                    random.nextBytes(key);
                    random.nextBytes(message);
                }
                case 1 -> {
                    // all ones: maximal limbs exercise every carry
                    Arrays.fill(key, (byte)0xFF);
                    Arrays.fill(message, (byte)0xFF);
                }
                case 2 -> {
                    Arrays.fill(key, 0, 16, (byte)0xFF);
                    random.nextBytes(message);
                }
                default -> {
                    random.nextBytes(key);
                    Arrays.fill(message, (byte)0xFF);
                }
            }
            final org.bouncycastle.crypto.macs.Poly1305 bc = new org.bouncycastle.crypto.macs.Poly1305();
            bc.init(new KeyParameter(key));
            bc.update(message, 0, length);
            final byte[] expected = new byte[16];
            bc.doFinal(expected, 0);
            assertArrayEquals(expected, tag(key, message), "round " + round + ", length " + length);
        }
    }

    @Test
    void shouldVerifyOnlyTheRightTag()
    {
        final byte[] key = HEX.parseHex("85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b");
        final byte[] message = new byte[64];
        final byte[] good = tag(key, message);
        final Poly1305 poly = new Poly1305();
        poly.init(key, 0);
        poly.updatePadded(MemorySegment.ofArray(message), 0, 64);
        assertTrue(poly.verify(MemorySegment.ofArray(good), 0));
        for (int bit = 0; bit < 128; bit++)
        {
            final byte[] bad = good.clone();
            bad[bit / 8] ^= (byte)(1 << (bit % 8));
            poly.init(key, 0);
            poly.updatePadded(MemorySegment.ofArray(message), 0, 64);
            assertFalse(poly.verify(MemorySegment.ofArray(bad), 0), "bit " + bit);
        }
    }

    @Test
    void shouldPadAShortLastBlockWithZerosWhateverFollowsTheMessage()
    {
        final SplittableRandom random = new SplittableRandom(1305);
        for (int length = 1; length < 80; length++)
        {
            final byte[] key = new byte[32];
            random.nextBytes(key);
            final byte[] message = new byte[length];
            random.nextBytes(message);
            // the same message at the very end of its segment (byte-by-byte path) and followed by
            // 16 bytes of 0xFF (whole-word path with the bytes past the end masked off)
            final byte[] followed = Arrays.copyOf(message, length + 16);
            Arrays.fill(followed, length, length + 16, (byte)0xFF);
            final byte[] padded = Arrays.copyOf(message, (length + 15) & ~15);
            final byte[] expected = new byte[16];
            final org.bouncycastle.crypto.macs.Poly1305 bc = new org.bouncycastle.crypto.macs.Poly1305();
            bc.init(new KeyParameter(key));
            bc.update(padded, 0, padded.length);
            bc.doFinal(expected, 0);
            for (final byte[] buffer : new byte[][] {message, followed})
            {
                final Poly1305 poly = new Poly1305();
                poly.init(key, 0);
                poly.updatePadded(MemorySegment.ofArray(buffer), 0, length);
                final byte[] tag = new byte[16];
                poly.finish(MemorySegment.ofArray(tag), 0);
                assertArrayEquals(expected, tag, "length " + length + ", segment " + buffer.length);
            }
        }
    }
}
