package io.vsnic.crypto.primitive;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha section 2.3): ChaCha20-Poly1305 with a 24-byte
 * nonce. {@link ChaCha20#hchacha20 HChaCha20} turns the key and the first 16 nonce bytes into a
 * subkey; the ChaCha20-Poly1305 nonce is four zero bytes followed by the last 8 nonce bytes.
 * WireGuard seals cookies with it (paper section 5.4.7). Allocates; for the handshake path.
 */
public final class XChaCha20Poly1305
{
    /** Nonce length in bytes. */
    public static final int NONCE_LENGTH = 24;
    /** Tag length in bytes. */
    public static final int TAG_LENGTH = 16;

    private XChaCha20Poly1305()
    {
    }

    /**
     * @param key       32-byte key.
     * @param nonce     24-byte nonce.
     * @param plaintext the plaintext.
     * @param aad       additional data.
     * @return {@code ciphertext || tag}.
     */
    public static byte[] seal(final byte[] key, final byte[] nonce, final byte[] plaintext, final byte[] aad)
    {
        final int[] subkey = subkey(key, nonce);
        final byte[] out = Arrays.copyOf(plaintext, plaintext.length + TAG_LENGTH);
        final MemorySegment n = MemorySegment.ofArray(nonce);
        new ChaCha20Poly1305().seal(subkey, 0, n.get(ChaCha20.INT_LE, 16), n.get(ChaCha20.INT_LE, 20),
            MemorySegment.ofArray(aad), 0, aad.length, MemorySegment.ofArray(out), 0, plaintext.length);
        Arrays.fill(subkey, 0);
        return out;
    }

    /**
     * @param key    32-byte key.
     * @param nonce  24-byte nonce.
     * @param sealed {@code ciphertext || tag}.
     * @param aad    additional data.
     * @return the plaintext, or null when the tag does not verify.
     */
    public static byte[] open(final byte[] key, final byte[] nonce, final byte[] sealed, final byte[] aad)
    {
        if (sealed.length < TAG_LENGTH)
        {
            return null;
        }
        final int[] subkey = subkey(key, nonce);
        final byte[] work = sealed.clone();
        final MemorySegment n = MemorySegment.ofArray(nonce);
        final boolean ok = new ChaCha20Poly1305().open(subkey, 0, n.get(ChaCha20.INT_LE, 16),
            n.get(ChaCha20.INT_LE, 20), MemorySegment.ofArray(aad), 0, aad.length, MemorySegment.ofArray(work), 0,
            sealed.length - TAG_LENGTH);
        Arrays.fill(subkey, 0);
        return ok ? Arrays.copyOf(work, sealed.length - TAG_LENGTH) : null;
    }

    private static int[] subkey(final byte[] key, final byte[] nonce)
    {
        if (key.length != 32 || nonce.length != NONCE_LENGTH)
        {
            throw new IllegalArgumentException("XChaCha20-Poly1305 needs a 32-byte key and a 24-byte nonce, got " +
                key.length + " and " + nonce.length);
        }
        final int[] words = new int[8];
        ChaCha20.keyWords(key, 0, words);
        final int[] subkey = new int[8];
        ChaCha20.hchacha20(words, nonce, 0, subkey);
        Arrays.fill(words, 0);
        return subkey;
    }
}
