package io.vsnic.crypto.primitive;

import java.util.Arrays;

import org.bouncycastle.crypto.digests.Blake2sDigest;
import org.bouncycastle.crypto.macs.HMac;
import org.bouncycastle.crypto.params.KeyParameter;

/**
 * The BLAKE2s functions WireGuard builds on (paper section 5.4), over Bouncy Castle's
 * {@link Blake2sDigest}:
 * <ul>
 *   <li>{@link #hash}: BLAKE2s-256 (RFC 7693) of a concatenation;</li>
 *   <li>{@link #mac}: keyed BLAKE2s with a 16-byte output (the digest length is part of the
 *       parameter block, so this is not a truncated 32-byte hash);</li>
 *   <li>{@link #hmac}: HMAC (RFC 2104) with BLAKE2s-256 and its 64-byte block;</li>
 *   <li>{@link #kdf}: WireGuard's HKDF with HMAC-BLAKE2s and an empty info: {@code τ0 = HMAC(key,
 *       input)}, {@code τ1 = HMAC(τ0, 0x1)}, {@code τi = HMAC(τ0, τ(i-1) || i)}.</li>
 * </ul>
 * Allocates per call; for the handshake path. Stateless and thread safe.
 */
public final class Blake2s
{
    /** Hash (and HMAC, KDF output) length in bytes. */
    public static final int HASH_LENGTH = 32;
    /** {@link #mac} output length in bytes. */
    public static final int MAC_LENGTH = 16;

    private Blake2s()
    {
    }

    /**
     * @param parts byte arrays hashed as one concatenation.
     * @return BLAKE2s-256 of the concatenation.
     */
    public static byte[] hash(final byte[]... parts)
    {
        final Blake2sDigest digest = new Blake2sDigest(8 * HASH_LENGTH);
        for (final byte[] part : parts)
        {
            digest.update(part, 0, part.length);
        }
        final byte[] out = new byte[HASH_LENGTH];
        digest.doFinal(out, 0);
        return out;
    }

    /**
     * Keyed BLAKE2s with a 16-byte digest.
     *
     * @param key    1 to 32 bytes.
     * @param data   the message.
     * @param offset where it starts.
     * @param length how many bytes.
     * @return the 16-byte MAC.
     */
    public static byte[] mac(final byte[] key, final byte[] data, final int offset, final int length)
    {
        final Blake2sDigest digest = new Blake2sDigest(key, MAC_LENGTH, null, null);
        digest.update(data, offset, length);
        final byte[] out = new byte[MAC_LENGTH];
        digest.doFinal(out, 0);
        return out;
    }

    /**
     * @param key   the HMAC key.
     * @param parts message parts, concatenated.
     * @return HMAC-BLAKE2s-256.
     */
    public static byte[] hmac(final byte[] key, final byte[]... parts)
    {
        final HMac hmac = new HMac(new Blake2sDigest(8 * HASH_LENGTH));
        hmac.init(new KeyParameter(key));
        for (final byte[] part : parts)
        {
            hmac.update(part, 0, part.length);
        }
        final byte[] out = new byte[HASH_LENGTH];
        hmac.doFinal(out, 0);
        return out;
    }

    /**
     * WireGuard's KDF_n.
     *
     * @param n     how many 32-byte outputs, 1 to 3.
     * @param key   the chaining key.
     * @param input the input key material (may be empty).
     * @return n arrays of 32 bytes.
     */
    public static byte[][] kdf(final int n, final byte[] key, final byte[] input)
    {
        if (n < 1 || n > 3)
        {
            throw new IllegalArgumentException("KDF output count must be 1 to 3: " + n);
        }
        final byte[] prk = hmac(key, input);
        final byte[][] out = new byte[n][];
        byte[] previous = new byte[0];
        for (int i = 0; i < n; i++)
        {
            previous = hmac(prk, previous, new byte[] {(byte)(i + 1)});
            out[i] = previous;
        }
        Arrays.fill(prk, (byte)0);
        return out;
    }

    /**
     * Compares two byte ranges in time that does not depend on where they differ.
     *
     * @return true when equal.
     */
    public static boolean equalsConstantTime(final byte[] a, final int aOffset, final byte[] b, final int bOffset,
        final int length)
    {
        int diff = 0;
        for (int i = 0; i < length; i++)
        {
            diff |= a[aOffset + i] ^ b[bOffset + i];
        }
        return diff == 0;
    }
}
