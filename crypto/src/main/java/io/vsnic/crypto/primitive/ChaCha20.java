package io.vsnic.crypto.primitive;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The ChaCha20 stream cipher of RFC 8439 section 2 (20 rounds, 256-bit key, 32-bit block counter,
 * 96-bit nonce) and HChaCha20 (draft-irtf-cfrg-xchacha section 2.2), in plain Java.
 *
 * <p>The state is sixteen 32-bit words, read and written little-endian:
 *
 * <pre>
 *  cccccccc  cccccccc  cccccccc  cccccccc     c = "expand 32-byte k"
 *  kkkkkkkk  kkkkkkkk  kkkkkkkk  kkkkkkkk     k = key
 *  kkkkkkkk  kkkkkkkk  kkkkkkkk  kkkkkkkk
 *  bbbbbbbb  nnnnnnnn  nnnnnnnn  nnnnnnnn     b = block counter, n = nonce
 * </pre>
 *
 * Keys are passed as eight little-endian words ({@link #keyWords}), nonces as three words. All
 * methods are static, stateless and allocation-free; they may be called from any thread.
 */
public final class ChaCha20
{
    /** Key length in bytes. */
    public static final int KEY_LENGTH = 32;
    /** Nonce length in bytes (RFC 8439). */
    public static final int NONCE_LENGTH = 12;
    /** Keystream block length in bytes. */
    public static final int BLOCK_LENGTH = 64;

    static final int C0 = 0x61707865;
    static final int C1 = 0x3320646e;
    static final int C2 = 0x79622d32;
    static final int C3 = 0x6b206574;

    static final ValueLayout.OfInt INT_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong LONG_LE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private ChaCha20()
    {
    }

    /**
     * Reads a 32-byte key as eight little-endian words.
     *
     * @param key    the key bytes.
     * @param offset where the key starts.
     * @param words  eight words, filled.
     */
    public static void keyWords(final byte[] key, final int offset, final int[] words)
    {
        for (int i = 0; i < 8; i++)
        {
            words[i] = (key[offset + 4 * i] & 0xFF) |
                (key[offset + 4 * i + 1] & 0xFF) << 8 |
                (key[offset + 4 * i + 2] & 0xFF) << 16 |
                (key[offset + 4 * i + 3] & 0xFF) << 24;
        }
    }

    /**
     * The ChaCha20 block function (RFC 8439 section 2.3): one 64-byte keystream block.
     *
     * @param key     eight key words.
     * @param counter the 32-bit block counter.
     * @param n0      nonce word 0 (bytes 0-3, little-endian).
     * @param n1      nonce word 1.
     * @param n2      nonce word 2.
     * @param out     sixteen words, filled with the keystream block (serialize little-endian).
     */
    public static void block(final int[] key, final int counter, final int n0, final int n1, final int n2,
        final int[] out)
    {
        final int k0 = key[0];
        final int k1 = key[1];
        final int k2 = key[2];
        final int k3 = key[3];
        final int k4 = key[4];
        final int k5 = key[5];
        final int k6 = key[6];
        final int k7 = key[7];
        int x0 = C0;
        int x1 = C1;
        int x2 = C2;
        int x3 = C3;
        int x4 = k0;
        int x5 = k1;
        int x6 = k2;
        int x7 = k3;
        int x8 = k4;
        int x9 = k5;
        int x10 = k6;
        int x11 = k7;
        int x12 = counter;
        int x13 = n0;
        int x14 = n1;
        int x15 = n2;
        for (int i = 0; i < 10; i++)
        {
            x0 += x4; x12 = Integer.rotateLeft(x12 ^ x0, 16);
            x8 += x12; x4 = Integer.rotateLeft(x4 ^ x8, 12);
            x0 += x4; x12 = Integer.rotateLeft(x12 ^ x0, 8);
            x8 += x12; x4 = Integer.rotateLeft(x4 ^ x8, 7);
            x1 += x5; x13 = Integer.rotateLeft(x13 ^ x1, 16);
            x9 += x13; x5 = Integer.rotateLeft(x5 ^ x9, 12);
            x1 += x5; x13 = Integer.rotateLeft(x13 ^ x1, 8);
            x9 += x13; x5 = Integer.rotateLeft(x5 ^ x9, 7);
            x2 += x6; x14 = Integer.rotateLeft(x14 ^ x2, 16);
            x10 += x14; x6 = Integer.rotateLeft(x6 ^ x10, 12);
            x2 += x6; x14 = Integer.rotateLeft(x14 ^ x2, 8);
            x10 += x14; x6 = Integer.rotateLeft(x6 ^ x10, 7);
            x3 += x7; x15 = Integer.rotateLeft(x15 ^ x3, 16);
            x11 += x15; x7 = Integer.rotateLeft(x7 ^ x11, 12);
            x3 += x7; x15 = Integer.rotateLeft(x15 ^ x3, 8);
            x11 += x15; x7 = Integer.rotateLeft(x7 ^ x11, 7);

            x0 += x5; x15 = Integer.rotateLeft(x15 ^ x0, 16);
            x10 += x15; x5 = Integer.rotateLeft(x5 ^ x10, 12);
            x0 += x5; x15 = Integer.rotateLeft(x15 ^ x0, 8);
            x10 += x15; x5 = Integer.rotateLeft(x5 ^ x10, 7);
            x1 += x6; x12 = Integer.rotateLeft(x12 ^ x1, 16);
            x11 += x12; x6 = Integer.rotateLeft(x6 ^ x11, 12);
            x1 += x6; x12 = Integer.rotateLeft(x12 ^ x1, 8);
            x11 += x12; x6 = Integer.rotateLeft(x6 ^ x11, 7);
            x2 += x7; x13 = Integer.rotateLeft(x13 ^ x2, 16);
            x8 += x13; x7 = Integer.rotateLeft(x7 ^ x8, 12);
            x2 += x7; x13 = Integer.rotateLeft(x13 ^ x2, 8);
            x8 += x13; x7 = Integer.rotateLeft(x7 ^ x8, 7);
            x3 += x4; x14 = Integer.rotateLeft(x14 ^ x3, 16);
            x9 += x14; x4 = Integer.rotateLeft(x4 ^ x9, 12);
            x3 += x4; x14 = Integer.rotateLeft(x14 ^ x3, 8);
            x9 += x14; x4 = Integer.rotateLeft(x4 ^ x9, 7);
        }
        out[0] = x0 + C0;
        out[1] = x1 + C1;
        out[2] = x2 + C2;
        out[3] = x3 + C3;
        out[4] = x4 + k0;
        out[5] = x5 + k1;
        out[6] = x6 + k2;
        out[7] = x7 + k3;
        out[8] = x8 + k4;
        out[9] = x9 + k5;
        out[10] = x10 + k6;
        out[11] = x11 + k7;
        out[12] = x12 + counter;
        out[13] = x13 + n0;
        out[14] = x14 + n1;
        out[15] = x15 + n2;
    }

    /**
     * ChaCha20 encryption (RFC 8439 section 2.4): XORs the keystream starting at block
     * {@code counter} into {@code length} bytes of {@code data}, in place. Encryption and
     * decryption are the same operation.
     *
     * @param key     eight key words.
     * @param counter block counter of the first block.
     * @param n0      nonce word 0.
     * @param n1      nonce word 1.
     * @param n2      nonce word 2.
     * @param data    the bytes to transform.
     * @param offset  where they start.
     * @param length  how many; any length.
     * @param scratch sixteen words of scratch space for a partial last block.
     */
    public static void xor(final int[] key, final int counter, final int n0, final int n1, final int n2,
        final MemorySegment data, final long offset, final long length, final int[] scratch)
    {
        final long end = offset + length;
        int blockCounter = counter;
        long at = offset;
        final long fullEnd = offset + (length & ~(long)(BLOCK_LENGTH - 1));
        final int k0 = key[0];
        final int k1 = key[1];
        final int k2 = key[2];
        final int k3 = key[3];
        final int k4 = key[4];
        final int k5 = key[5];
        final int k6 = key[6];
        final int k7 = key[7];
        while (at < fullEnd)
        {
            int x0 = C0;
            int x1 = C1;
            int x2 = C2;
            int x3 = C3;
            int x4 = k0;
            int x5 = k1;
            int x6 = k2;
            int x7 = k3;
            int x8 = k4;
            int x9 = k5;
            int x10 = k6;
            int x11 = k7;
            int x12 = blockCounter;
            int x13 = n0;
            int x14 = n1;
            int x15 = n2;
            for (int i = 0; i < 10; i++)
            {
                x0 += x4; x12 = Integer.rotateLeft(x12 ^ x0, 16);
                x8 += x12; x4 = Integer.rotateLeft(x4 ^ x8, 12);
                x0 += x4; x12 = Integer.rotateLeft(x12 ^ x0, 8);
                x8 += x12; x4 = Integer.rotateLeft(x4 ^ x8, 7);
                x1 += x5; x13 = Integer.rotateLeft(x13 ^ x1, 16);
                x9 += x13; x5 = Integer.rotateLeft(x5 ^ x9, 12);
                x1 += x5; x13 = Integer.rotateLeft(x13 ^ x1, 8);
                x9 += x13; x5 = Integer.rotateLeft(x5 ^ x9, 7);
                x2 += x6; x14 = Integer.rotateLeft(x14 ^ x2, 16);
                x10 += x14; x6 = Integer.rotateLeft(x6 ^ x10, 12);
                x2 += x6; x14 = Integer.rotateLeft(x14 ^ x2, 8);
                x10 += x14; x6 = Integer.rotateLeft(x6 ^ x10, 7);
                x3 += x7; x15 = Integer.rotateLeft(x15 ^ x3, 16);
                x11 += x15; x7 = Integer.rotateLeft(x7 ^ x11, 12);
                x3 += x7; x15 = Integer.rotateLeft(x15 ^ x3, 8);
                x11 += x15; x7 = Integer.rotateLeft(x7 ^ x11, 7);

                x0 += x5; x15 = Integer.rotateLeft(x15 ^ x0, 16);
                x10 += x15; x5 = Integer.rotateLeft(x5 ^ x10, 12);
                x0 += x5; x15 = Integer.rotateLeft(x15 ^ x0, 8);
                x10 += x15; x5 = Integer.rotateLeft(x5 ^ x10, 7);
                x1 += x6; x12 = Integer.rotateLeft(x12 ^ x1, 16);
                x11 += x12; x6 = Integer.rotateLeft(x6 ^ x11, 12);
                x1 += x6; x12 = Integer.rotateLeft(x12 ^ x1, 8);
                x11 += x12; x6 = Integer.rotateLeft(x6 ^ x11, 7);
                x2 += x7; x13 = Integer.rotateLeft(x13 ^ x2, 16);
                x8 += x13; x7 = Integer.rotateLeft(x7 ^ x8, 12);
                x2 += x7; x13 = Integer.rotateLeft(x13 ^ x2, 8);
                x8 += x13; x7 = Integer.rotateLeft(x7 ^ x8, 7);
                x3 += x4; x14 = Integer.rotateLeft(x14 ^ x3, 16);
                x9 += x14; x4 = Integer.rotateLeft(x4 ^ x9, 12);
                x3 += x4; x14 = Integer.rotateLeft(x14 ^ x3, 8);
                x9 += x14; x4 = Integer.rotateLeft(x4 ^ x9, 7);
            }
            xorLong(data, at, x0 + C0, x1 + C1);
            xorLong(data, at + 8, x2 + C2, x3 + C3);
            xorLong(data, at + 16, x4 + k0, x5 + k1);
            xorLong(data, at + 24, x6 + k2, x7 + k3);
            xorLong(data, at + 32, x8 + k4, x9 + k5);
            xorLong(data, at + 40, x10 + k6, x11 + k7);
            xorLong(data, at + 48, x12 + blockCounter, x13 + n0);
            xorLong(data, at + 56, x14 + n1, x15 + n2);
            at += BLOCK_LENGTH;
            blockCounter++;
        }
        if (at < end)
        {
            block(key, blockCounter, n0, n1, n2, scratch);
            xorTail(scratch, data, at, (int)(end - at));
        }
    }

    /**
     * XORs the first {@code length} (below 64) bytes of a serialized keystream block into data.
     */
    static void xorTail(final int[] stream, final MemorySegment data, final long at, final int length)
    {
        int i = 0;
        for (; i + 4 <= length; i += 4)
        {
            data.set(INT_LE, at + i, data.get(INT_LE, at + i) ^ stream[i >> 2]);
        }
        for (; i < length; i++)
        {
            final byte k = (byte)(stream[i >> 2] >>> (8 * (i & 3)));
            data.set(ValueLayout.JAVA_BYTE, at + i, (byte)(data.get(ValueLayout.JAVA_BYTE, at + i) ^ k));
        }
    }

    private static void xorLong(final MemorySegment data, final long at, final int lo, final int hi)
    {
        data.set(LONG_LE, at, data.get(LONG_LE, at) ^ ((lo & 0xFFFF_FFFFL) | (long)hi << 32));
    }

    /**
     * HChaCha20 (draft-irtf-cfrg-xchacha section 2.2): derives a subkey from a key and a 16-byte
     * nonce; the first step of XChaCha20.
     *
     * @param key         eight key words.
     * @param nonce       the 16-byte nonce.
     * @param nonceOffset where it starts.
     * @param subkey      eight words, filled with the subkey (state words 0-3 and 12-15 after 20 rounds).
     */
    public static void hchacha20(final int[] key, final byte[] nonce, final int nonceOffset, final int[] subkey)
    {
        final int[] n = new int[4];
        for (int i = 0; i < 4; i++)
        {
            n[i] = (nonce[nonceOffset + 4 * i] & 0xFF) |
                (nonce[nonceOffset + 4 * i + 1] & 0xFF) << 8 |
                (nonce[nonceOffset + 4 * i + 2] & 0xFF) << 16 |
                (nonce[nonceOffset + 4 * i + 3] & 0xFF) << 24;
        }
        final int[] out = new int[16];
        // block() adds the input state at the end; HChaCha20 does not: subtract it again.
        block(key, n[0], n[1], n[2], n[3], out);
        subkey[0] = out[0] - C0;
        subkey[1] = out[1] - C1;
        subkey[2] = out[2] - C2;
        subkey[3] = out[3] - C3;
        subkey[4] = out[12] - n[0];
        subkey[5] = out[13] - n[1];
        subkey[6] = out[14] - n[2];
        subkey[7] = out[15] - n[3];
    }
}
