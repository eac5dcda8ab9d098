package io.vsnic.crypto.wireguard;

import java.security.SecureRandom;
import java.util.Objects;

/**
 * Every random value the protocol draws: ephemeral private keys, session indices, cookie nonces
 * and secrets, timer jitter. Production uses {@link #secure}; tests inject fixed values (the
 * ephemeral keys of a real capture, say) through their own implementation.
 *
 * <p>Implementations must be thread safe.
 */
public interface HandshakeEntropy
{
    /**
     * @param dst 32 bytes to fill with a new ephemeral private key (clamped by the caller's X25519).
     */
    void ephemeralPrivateKey(byte[] dst);

    /**
     * @return a new random 32-bit session index; the device asks again if it is in use.
     */
    int index();

    /**
     * @param dst bytes to fill with randomness (cookie nonces and secrets).
     */
    void randomBytes(byte[] dst);

    /**
     * @param boundNs exclusive upper bound, positive.
     * @return a uniformly random delay in {@code [0, boundNs)}.
     */
    long jitterNs(long boundNs);

    /**
     * @param random the source, such as {@code new SecureRandom()} or {@code SecureRandom.getInstanceStrong()}.
     * @return entropy drawn from that source.
     */
    static HandshakeEntropy secure(final SecureRandom random)
    {
        Objects.requireNonNull(random, "random");
        return new HandshakeEntropy()
        {
            @Override
            public void ephemeralPrivateKey(final byte[] dst)
            {
                random.nextBytes(dst);
            }

            @Override
            public int index()
            {
                return random.nextInt();
            }

            @Override
            public void randomBytes(final byte[] dst)
            {
                random.nextBytes(dst);
            }

            @Override
            public long jitterNs(final long boundNs)
            {
                return random.nextLong(boundNs);
            }
        };
    }
}
