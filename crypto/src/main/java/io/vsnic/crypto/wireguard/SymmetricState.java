package io.vsnic.crypto.wireguard;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

import io.vsnic.crypto.primitive.Blake2s;
import io.vsnic.crypto.primitive.ChaCha20Poly1305;

/**
 * The Noise symmetric state of one handshake (Noise specification section 5.2, as WireGuard
 * instantiates it in paper section 5.4): a chaining key {@code C} and a hash {@code H}, both 32
 * bytes, with the operations the handshake messages use. Handshake path only; allocates.
 */
final class SymmetricState
{
    /** Noise protocol name: the initial chaining key is its hash. */
    static final byte[] CONSTRUCTION = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s".getBytes(StandardCharsets.US_ASCII);
    /** WireGuard's prologue identifier. */
    static final byte[] IDENTIFIER = "WireGuard v1 zx2c4 Jason@zx2c4.com".getBytes(StandardCharsets.US_ASCII);
    /** Label of the MAC1 key: {@code HASH(LABEL_MAC1 || receiver's static public key)}. */
    static final byte[] LABEL_MAC1 = "mac1----".getBytes(StandardCharsets.US_ASCII);
    /** Label of the cookie key: {@code HASH(LABEL_COOKIE || cookie sender's static public key)}. */
    static final byte[] LABEL_COOKIE = "cookie--".getBytes(StandardCharsets.US_ASCII);

    static final byte[] INITIAL_CHAINING_KEY = Blake2s.hash(CONSTRUCTION);
    static final byte[] INITIAL_HASH = Blake2s.hash(INITIAL_CHAINING_KEY, IDENTIFIER);

    private static final byte[] ZERO_NONCE = new byte[12];
    private static final byte[] EMPTY = new byte[0];

    private byte[] chainingKey;
    private byte[] hash;

    private SymmetricState(final byte[] chainingKey, final byte[] hash)
    {
        this.chainingKey = chainingKey;
        this.hash = hash;
    }

    /**
     * {@code C = HASH(CONSTRUCTION)}, {@code H = HASH(HASH(C || IDENTIFIER) || Spub_r)}.
     *
     * @param responderStaticPublic the responder's static public key.
     */
    static SymmetricState initial(final byte[] responderStaticPublic)
    {
        return new SymmetricState(INITIAL_CHAINING_KEY.clone(), Blake2s.hash(INITIAL_HASH, responderStaticPublic));
    }

    SymmetricState copy()
    {
        return new SymmetricState(chainingKey.clone(), hash.clone());
    }

    byte[] hash()
    {
        return hash;
    }

    /** {@code H = HASH(H || data)}. */
    void mixHash(final byte[] data)
    {
        hash = Blake2s.hash(hash, data);
    }

    /** {@code C = KDF1(C, input)}. */
    void mixChain(final byte[] input)
    {
        final byte[] old = chainingKey;
        chainingKey = Blake2s.kdf(1, chainingKey, input)[0];
        Arrays.fill(old, (byte)0);
    }

    /** {@code (C, k) = KDF2(C, input)}; returns {@code k}. */
    byte[] mixKey(final byte[] input)
    {
        final byte[][] out = Blake2s.kdf(2, chainingKey, input);
        Arrays.fill(chainingKey, (byte)0);
        chainingKey = out[0];
        return out[1];
    }

    /** {@code (C, τ, k) = KDF3(C, psk)}, {@code H = HASH(H || τ)}; returns {@code k}. */
    byte[] mixKeyAndHash(final byte[] presharedKey)
    {
        final byte[][] out = Blake2s.kdf(3, chainingKey, presharedKey);
        Arrays.fill(chainingKey, (byte)0);
        chainingKey = out[0];
        mixHash(out[1]);
        Arrays.fill(out[1], (byte)0);
        return out[2];
    }

    /** {@code c = AEAD(k, 0, plaintext, H)}, {@code H = HASH(H || c)}; returns {@code c}. */
    byte[] encryptAndHash(final byte[] key, final byte[] plaintext)
    {
        final byte[] sealed = new ChaCha20Poly1305().seal(key, ZERO_NONCE, plaintext, hash);
        Arrays.fill(key, (byte)0);
        mixHash(sealed);
        return sealed;
    }

    /** Opens {@code c} with {@code AEAD(k, 0, ·, H)} and then mixes it in; null (and no change) when the tag is wrong. */
    byte[] decryptAndHash(final byte[] key, final byte[] sealed)
    {
        final byte[] plaintext = new ChaCha20Poly1305().open(key, ZERO_NONCE, sealed, hash);
        Arrays.fill(key, (byte)0);
        if (plaintext != null)
        {
            mixHash(sealed);
        }
        return plaintext;
    }

    /** {@code (T1, T2) = KDF2(C, ε)}: the initiator sends with T1 and receives with T2. */
    byte[][] split()
    {
        return Blake2s.kdf(2, chainingKey, EMPTY);
    }

    void wipe()
    {
        Arrays.fill(chainingKey, (byte)0);
        Arrays.fill(hash, (byte)0);
    }
}
