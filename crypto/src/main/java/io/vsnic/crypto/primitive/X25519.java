package io.vsnic.crypto.primitive;

import org.bouncycastle.crypto.agreement.X25519Agreement;
import org.bouncycastle.crypto.params.X25519PrivateKeyParameters;
import org.bouncycastle.crypto.params.X25519PublicKeyParameters;

import io.vsnic.crypto.DeviceKeys;

/**
 * X25519 (RFC 7748) through Bouncy Castle's {@link X25519Agreement}, with private keys clamped
 * by {@link DeviceKeys#clamp} first (on a copy). Allocates; for the handshake path. Thread safe.
 */
public final class X25519
{
    /** Key and shared secret length in bytes. */
    public static final int KEY_LENGTH = 32;

    private X25519()
    {
    }

    /**
     * @param privateKey 32 bytes, clamped on a copy.
     * @return the public key.
     */
    public static byte[] publicKey(final byte[] privateKey)
    {
        return new X25519PrivateKeyParameters(DeviceKeys.clamp(privateKey.clone()), 0).generatePublicKey().getEncoded();
    }

    /**
     * Computes DH(privateKey, publicKey).
     *
     * @param privateKey 32 bytes, clamped on a copy.
     * @param publicKey  the peer's 32-byte public key.
     * @param out        32 bytes, the shared secret.
     * @return false when the result is all zeros (a low-order public key): the handshake must fail.
     */
    public static boolean sharedSecret(final byte[] privateKey, final byte[] publicKey, final byte[] out)
    {
        final X25519Agreement agreement = new X25519Agreement();
        final byte[] clamped = DeviceKeys.clamp(privateKey.clone());
        agreement.init(new X25519PrivateKeyParameters(clamped, 0));
        try
        {
            agreement.calculateAgreement(new X25519PublicKeyParameters(publicKey, 0), out, 0);
            return true;
        }
        catch (final IllegalStateException ex)
        {
            // Bouncy Castle refuses an all-zero shared secret ("X25519 agreement failed")
            java.util.Arrays.fill(out, (byte)0);
            return false;
        }
        finally
        {
            java.util.Arrays.fill(clamped, (byte)0);
        }
    }
}
