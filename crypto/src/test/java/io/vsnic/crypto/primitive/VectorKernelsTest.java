package io.vsnic.crypto.primitive;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;

import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;

import org.bouncycastle.crypto.params.KeyParameter;
import org.junit.jupiter.api.Test;

/**
 * The Vector API kernels run only on native segments; these tests feed them native memory and
 * compare with the JDK, Bouncy Castle and the plain Java path.
 */
class VectorKernelsTest
{
    @Test
    void shouldRunWithTheVectorKernelsUnderTheProjectJvmFlags()
    {
        assertTrue(VectorSupport.enabled(), "vsnic.jvm.flags adds jdk.incubator.vector; without it these tests " +
            "would only exercise the plain Java path");
        assertTrue(new ChaCha20Poly1305().vectorized());
        assertFalse(new ChaCha20Poly1305(false).vectorized());
        assertEquals("vsnic-scalar", TransportAead.create("vsnic-scalar").name());
        try (Arena arena = Arena.ofConfined())
        {
            VectorSupport.warmUp(arena.allocate(2048), 1_000_000_000L);
        }
    }

    @Test
    void shouldRunAtTheRequestedWidth()
    {
        // the build runs these tests three times: at the CPU's width, and with -Dvsnic.crypto.vectorBits=256
        // and =512 (a width the CPU lacks runs as plain Java: slow, but the same bytes)
        final int requested = VectorSupport.requestedBits();
        final int width = VectorSupport.vectorBits();
        System.out.println("VectorKernelsTest: kernels " + width + " bits wide (requested: " +
            (requested == 0 ? "the CPU's" : requested) + ")");
        if (requested != 0)
        {
            assertEquals(requested, width);
        }
        else
        {
            assertTrue(width == 256 || width == 512, "width " + width);
        }
        assertEquals(width / 32, VectorKernels.BLOCKS);
        assertEquals(width / 64, VectorKernels.POLY_LANES);
    }

    @Test
    void shouldRefuseAWidthOtherThan256Or512WithTheValuesItTakes()
    {
        assertNull(VectorSupport.bitsError(null));
        assertNull(VectorSupport.bitsError(""));
        assertNull(VectorSupport.bitsError("256"));
        assertNull(VectorSupport.bitsError(" 512 "));
        for (final String bad : new String[] {"384", "1024", "avx2", "0"})
        {
            final String error = VectorSupport.bitsError(bad);
            assertNotNull(error, bad);
            assertTrue(error.contains("vsnic.crypto.vectorBits=" + bad) && error.contains("expected 256 or 512"), error);
        }
        // this JVM's own setting is one of those (the build sets nothing, 256 or 512)
        VectorSupport.checkConfiguration();
    }

    @Test
    void shouldSealLikeTheJdkAndThePlainPathOnNativeMemory() throws Exception
    {
        final SplittableRandom random = new SplittableRandom(256);
        final ChaCha20Poly1305 wide = new ChaCha20Poly1305();
        final ChaCha20Poly1305 plain = new ChaCha20Poly1305(false);
        final Cipher jdk = Cipher.getInstance("ChaCha20-Poly1305");
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment a = arena.allocate(4096);
            final MemorySegment b = arena.allocate(4096);
            final MemorySegment aad = arena.allocate(512);
            for (int round = 0; round < 600; round++)
            {
                final int length = round < 40 ? round * 16 + (round & 7) : random.nextInt(0, 3000);
                final int offset = random.nextInt(0, 33);
                final int aadLength = round % 4 == 0 ? random.nextInt(0, 400) : 0;
                final byte[] key = new byte[32];
                final byte[] nonce = new byte[12];
                final byte[] plaintext = new byte[length];
                final byte[] aadBytes = new byte[aadLength];
                random.nextBytes(key);
                random.nextBytes(nonce);
                random.nextBytes(plaintext);
                random.nextBytes(aadBytes);
                MemorySegment.copy(aadBytes, 0, aad, ValueLayout.JAVA_BYTE, 0, aadLength);
                MemorySegment.copy(plaintext, 0, a, ValueLayout.JAVA_BYTE, offset, length);
                MemorySegment.copy(plaintext, 0, b, ValueLayout.JAVA_BYTE, offset, length);
                final int[] words = new int[8];
                ChaCha20.keyWords(key, 0, words);
                final MemorySegment n = MemorySegment.ofArray(nonce);
                final int n0 = n.get(ChaCha20.INT_LE, 0);
                final int n1 = n.get(ChaCha20.INT_LE, 4);
                final int n2 = n.get(ChaCha20.INT_LE, 8);

                wide.seal(words, n0, n1, n2, aad, 0, aadLength, a, offset, length);
                plain.seal(words, n0, n1, n2, aad, 0, aadLength, b, offset, length);
                jdk.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(key, "ChaCha20"), new IvParameterSpec(nonce));
                jdk.updateAAD(aadBytes);
                final byte[] expected = jdk.doFinal(plaintext);
                assertArrayEquals(expected, a.asSlice(offset, length + 16).toArray(ValueLayout.JAVA_BYTE), "length " + length);
                assertArrayEquals(expected, b.asSlice(offset, length + 16).toArray(ValueLayout.JAVA_BYTE), "length " + length);

                if (round % 3 == 0 && length > 0)
                {
                    final long flip = offset + random.nextInt(length + 16);
                    a.set(ValueLayout.JAVA_BYTE, flip, (byte)(a.get(ValueLayout.JAVA_BYTE, flip) ^ 4));
                    assertFalse(wide.open(words, n0, n1, n2, aad, 0, aadLength, a, offset, length));
                    a.set(ValueLayout.JAVA_BYTE, flip, (byte)(a.get(ValueLayout.JAVA_BYTE, flip) ^ 4));
                }
                assertTrue(wide.open(words, n0, n1, n2, aad, 0, aadLength, a, offset, length));
                assertArrayEquals(plaintext, a.asSlice(offset, length).toArray(ValueLayout.JAVA_BYTE));

                // the transport split (verify, then decrypt reusing the first keystream group)
                final long counter = random.nextLong();
                MemorySegment.copy(plaintext, 0, b, ValueLayout.JAVA_BYTE, offset, length);
                wide.sealTransport(words, key, counter, b, offset, length);
                assertTrue(wide.verifyTransport(words, key, counter, b, offset, length));
                wide.decryptTransport(words, key, counter, b, offset, length);
                assertArrayEquals(plaintext, b.asSlice(offset, length).toArray(ValueLayout.JAVA_BYTE));
            }
        }
    }

    @Test
    void shouldSealAndOpenConsecutiveCountersThroughTheLookaheadLikeThePlainPath()
    {
        // consecutive counters of one key chain the lookahead (the spare lanes of a message's last pass
        // compute the next counter's first blocks); other keys, other counters, the general API and
        // wipe() in between must not pick it up
        final SplittableRandom random = new SplittableRandom(1420);
        final ChaCha20Poly1305 sender = new ChaCha20Poly1305();
        final ChaCha20Poly1305 receiver = new ChaCha20Poly1305();
        final ChaCha20Poly1305 plain = new ChaCha20Poly1305(false);
        final int pass = 64 * VectorKernels.BLOCKS;
        final int[] edges = {64, 65, 127, 128, pass - 64, pass - 65, pass - 63, pass, pass + 1, 2 * pass - 64,
            2 * pass - 1, 1420, 1424, 1436, 1500};
        final Object[] ids = {new Object(), new Object()};
        final int[][] keys = {new int[8], new int[8]};
        for (final int[] k : keys)
        {
            for (int i = 0; i < 8; i++)
            {
                k[i] = random.nextInt();
            }
        }
        final long[] counters = {random.nextLong(), random.nextLong()};
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment a = arena.allocate(4096);
            final MemorySegment b = arena.allocate(4096);
            final MemorySegment general = arena.allocate(4096);
            for (int round = 0; round < 3000; round++)
            {
                final int which = random.nextInt(10) == 0 ? 1 : 0;
                final int length = round < edges.length * 4 ? edges[round % edges.length] : random.nextInt(0, 2 * pass + 80);
                final long counter = random.nextInt(12) == 0 ? counters[which] + random.nextInt(2, 5) : counters[which] + 1;
                counters[which] = counter;
                final byte[] plaintext = new byte[length];
                random.nextBytes(plaintext);
                MemorySegment.copy(plaintext, 0, a, ValueLayout.JAVA_BYTE, 0, length);
                MemorySegment.copy(plaintext, 0, b, ValueLayout.JAVA_BYTE, 0, length);
                sender.sealTransport(keys[which], ids[which], counter, a, 0, length);
                plain.sealTransport(keys[which], null, counter, b, 0, length);
                assertEquals(-1, a.asSlice(0, length + 16).mismatch(b.asSlice(0, length + 16)),
                    "round " + round + ", length " + length + ", key " + which);

                // the receiver: in order mostly, the tag checked before anything is decrypted
                assertTrue(receiver.verifyTransport(keys[which], ids[which], counter, a, 0, length), "round " + round);
                if (random.nextInt(20) != 0)
                {
                    receiver.decryptTransport(keys[which], ids[which], counter, a, 0, length);
                    assertEquals(-1, a.asSlice(0, length).mismatch(MemorySegment.ofArray(plaintext)), "round " + round);
                }
                switch (random.nextInt(40))
                {
                    case 0 -> sender.wipe();
                    case 1 -> receiver.wipe();
                    // the general API in between (its own nonce) must end the lookahead
                    case 2 -> sender.seal(keys[which], 7, (int)(counter + 1), (int)((counter + 1) >>> 32), EMPTY_SEGMENT, 0,
                        0, general, 0, 700);
                    default ->
                    {
                    }
                }
            }
        }
        // about 9 in 10 messages follow their key's previous counter, and most lengths leave spare lanes
        assertTrue(sender.lookaheadHits > 1000, "sender lookahead hits: " + sender.lookaheadHits);
        assertTrue(receiver.lookaheadHits > 1000, "receiver lookahead hits: " + receiver.lookaheadHits);
    }

    private static final MemorySegment EMPTY_SEGMENT = MemorySegment.ofArray(new byte[0]);

    @Test
    void shouldNotReuseKeystreamOfAnotherKeyOrCounter()
    {
        final ChaCha20Poly1305 aead = new ChaCha20Poly1305();
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment m = arena.allocate(1024);
            final int[] k1 = {1, 2, 3, 4, 5, 6, 7, 8};
            final int[] k2 = {8, 7, 6, 5, 4, 3, 2, 1};
            aead.sealTransport(k1, k1, 9, m, 0, 500);
            assertTrue(aead.verifyTransport(k1, k1, 9, m, 0, 500));
            // decrypt with another key: the cached group of k1 must not be used
            final MemorySegment copy = arena.allocate(1024);
            MemorySegment.copy(m, 0, copy, 0, 516);
            aead.decryptTransport(k2, k2, 9, copy, 0, 500);
            final MemorySegment expected = arena.allocate(1024);
            MemorySegment.copy(m, 0, expected, 0, 516);
            ChaCha20.xor(k2, 1, 0, 9, 0, expected, 0, 500, new int[16]);
            assertEquals(-1, copy.asSlice(0, 500).mismatch(expected.asSlice(0, 500)));
        }
    }

    @Test
    void shouldComputePoly1305LikeBouncyCastleOnNativeMemory()
    {
        final SplittableRandom random = new SplittableRandom(130);
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment data = arena.allocate(4096);
            final MemorySegment tag = arena.allocate(16);
            final Poly1305 poly = new Poly1305();
            for (int round = 0; round < 1500; round++)
            {
                final int length = random.nextInt(0, 2100);
                final byte[] key = new byte[32];
                final byte[] message = new byte[length];
                if (round % 5 == 0)
                {
                    java.util.Arrays.fill(key, (byte)0xFF);
                    java.util.Arrays.fill(message, (byte)0xFF);
                }
                else
                {
                    random.nextBytes(key);
                    random.nextBytes(message);
                }
                MemorySegment.copy(message, 0, data, ValueLayout.JAVA_BYTE, 0, length);
                poly.init(key, 0);
                // AEAD-style padding: compare with Bouncy Castle over the zero-padded message
                poly.updatePadded(data, 0, length);
                poly.finish(tag, 0);
                final byte[] padded = java.util.Arrays.copyOf(message, (length + 15) & ~15);
                final org.bouncycastle.crypto.macs.Poly1305 bc = new org.bouncycastle.crypto.macs.Poly1305();
                bc.init(new KeyParameter(key));
                bc.update(padded, 0, padded.length);
                final byte[] expected = new byte[16];
                bc.doFinal(expected, 0);
                assertArrayEquals(expected, tag.toArray(ValueLayout.JAVA_BYTE), "length " + length);
            }
        }
    }
}
