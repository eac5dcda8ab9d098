package io.vsnic.crypto;

import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;

import org.bouncycastle.crypto.params.X25519PrivateKeyParameters;

/**
 * A device's static Curve25519 identity (the WireGuard static key pair): private keys are clamped as
 * X25519 requires (RFC 7748 section 5), public keys are derived with Bouncy Castle's X25519, and
 * both are written as 44-character base64, as {@code wg genkey} / {@code wg pubkey} do.
 *
 * <p>Instances are immutable; {@link #destroy()} zeroes the private key.
 */
public final class DeviceKeys
{
    /** Curve25519 key length in bytes. */
    public static final int KEY_LENGTH = 32;

    private final byte[] privateKey;
    private final byte[] publicKey;

    private DeviceKeys(final byte[] privateKey)
    {
        this.privateKey = privateKey;
        this.publicKey = new X25519PrivateKeyParameters(privateKey, 0).generatePublicKey().getEncoded();
    }

    /**
     * @param random source of the 32 private key bytes.
     * @return a fresh, clamped key pair.
     */
    public static DeviceKeys generate(final SecureRandom random)
    {
        final byte[] key = new byte[KEY_LENGTH];
        random.nextBytes(key);
        return new DeviceKeys(clamp(key));
    }

    /**
     * @param privateKey 32 bytes; clamped on a copy if not already.
     * @return the key pair of that private key.
     * @throws IllegalArgumentException when the key is not 32 bytes.
     */
    public static DeviceKeys fromPrivateKey(final byte[] privateKey)
    {
        if (privateKey.length != KEY_LENGTH)
        {
            throw new IllegalArgumentException("a Curve25519 private key is 32 bytes, got " + privateKey.length);
        }
        return new DeviceKeys(clamp(privateKey.clone()));
    }

    /**
     * @param base64 a private key as {@code wg genkey} prints it.
     * @return the key pair.
     * @throws IllegalArgumentException when the text is not base64 of 32 bytes.
     */
    public static DeviceKeys fromBase64(final String base64)
    {
        return fromPrivateKey(decodeKey(base64));
    }

    /**
     * Clamps a Curve25519 scalar in place (RFC 7748 section 5): clear bits 0-2 and 255, set bit 254.
     *
     * @return the same array.
     */
    public static byte[] clamp(final byte[] key)
    {
        key[0] &= (byte)248;
        key[31] &= 127;
        key[31] |= 64;
        return key;
    }

    /**
     * @param base64 a 32-byte key in base64.
     * @return its bytes.
     * @throws IllegalArgumentException when the text is not base64 of exactly 32 bytes.
     */
    public static byte[] decodeKey(final String base64)
    {
        final byte[] key;
        try
        {
            key = Base64.getDecoder().decode(base64.strip());
        }
        catch (final IllegalArgumentException ex)
        {
            throw new IllegalArgumentException("key is not valid base64", ex);
        }
        if (key.length != KEY_LENGTH)
        {
            throw new IllegalArgumentException("key must be 32 bytes (44 base64 characters), got " + key.length + " bytes");
        }
        return key;
    }

    /**
     * @param key a 32-byte key.
     * @return its 44-character base64 form, as {@code wg} prints keys.
     * @throws IllegalArgumentException when the key is not 32 bytes.
     */
    public static String encodeKey(final byte[] key)
    {
        if (key.length != KEY_LENGTH)
        {
            throw new IllegalArgumentException("key must be 32 bytes, got " + key.length + " bytes");
        }
        return Base64.getEncoder().encodeToString(key);
    }

    /**
     * @return a copy of the clamped private key.
     */
    public byte[] privateKey()
    {
        return privateKey.clone();
    }

    /**
     * @return a copy of the public key.
     */
    public byte[] publicKey()
    {
        return publicKey.clone();
    }

    /**
     * @return the private key in base64.
     */
    public String privateKeyBase64()
    {
        return encodeKey(privateKey);
    }

    /**
     * @return the public key in base64.
     */
    public String publicKeyBase64()
    {
        return encodeKey(publicKey);
    }

    /**
     * Zeroes the private key. The object must not be used for key agreement afterwards.
     */
    public void destroy()
    {
        Arrays.fill(privateKey, (byte)0);
    }

    @Override
    public String toString()
    {
        return "DeviceKeys{public=" + publicKeyBase64() + '}';
    }
}
