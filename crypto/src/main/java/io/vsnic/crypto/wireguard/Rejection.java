package io.vsnic.crypto.wireguard;

/**
 * Why a WireGuard message was rejected: one counter each ({@link WireguardDevice#rejections}).
 * A rejected message changes no protocol state (no keypair, window, timestamp, index or timer
 * moves), whatever the reason. Ids are stable and {@link #code()} is what the per-packet methods
 * return: the negated id.
 */
public enum Rejection
{
    /** Shorter than its message type requires (or than the 4-byte type field). */
    TRUNCATED(1, "truncated"),
    /** A handshake message that is longer than its fixed length. */
    BAD_LENGTH(2, "bad_length"),
    /** The 32-bit little-endian type field is not 1, 2, 3 or 4 (reserved bytes must be zero). */
    BAD_TYPE(3, "bad_type"),
    /** MAC1 does not match our static public key: not meant for us, or damaged. */
    BAD_MAC1(4, "bad_mac1"),
    /** Under load and MAC2 is absent or wrong: a cookie reply was written instead of processing. */
    COOKIE_REQUIRED(5, "cookie_required"),
    /** An initiation whose static key is not one of our peers. */
    UNKNOWN_PEER(6, "unknown_peer"),
    /** An initiation whose TAI64N timestamp is not newer than the last accepted one from that peer. */
    STALE_TIMESTAMP(7, "stale_timestamp"),
    /** An initiation from a peer less than the minimum interval after its previous accepted one. */
    HANDSHAKE_FLOOD(8, "handshake_flood"),
    /** An AEAD tag (handshake field, cookie or transport data) did not verify. */
    DECRYPT_FAILED(9, "decrypt_failed"),
    /** A public key that gives an all-zero X25519 result (a low-order point). */
    INVALID_KEY(10, "invalid_key"),
    /** The receiver index names no live handshake or keypair of the right kind. */
    UNKNOWN_INDEX(11, "unknown_index"),
    /** A response or cookie reply that no handshake of ours is waiting for. */
    UNEXPECTED_MESSAGE(12, "unexpected_message"),
    /** A transport counter seen before, or older than the replay window. */
    REPLAY(13, "replay"),
    /** A counter at or beyond REJECT_AFTER_MESSAGES (received, or our own sending counter). */
    COUNTER_LIMIT(14, "counter_limit"),
    /** The keypair is older than REJECT_AFTER_TIME or has been destroyed. */
    EXPIRED_KEYPAIR(15, "expired_keypair");

    private static final Rejection[] BY_ID = new Rejection[values().length + 1];

    static
    {
        for (final Rejection r : values())
        {
            BY_ID[r.id] = r;
        }
    }

    private final int id;
    private final String label;

    Rejection(final int id, final String label)
    {
        this.id = id;
        this.label = label;
    }

    /**
     * @return the stable id, 1 and up.
     */
    public int id()
    {
        return id;
    }

    /**
     * @return the counter label, such as {@code replay}.
     */
    public String label()
    {
        return label;
    }

    /**
     * @return the negative value the per-packet methods return for this reason: {@code -id()}.
     */
    public int code()
    {
        return -id;
    }

    /**
     * @param code a negative return value of a per-packet method.
     * @return the reason.
     * @throws IllegalArgumentException when the code is not one.
     */
    public static Rejection ofCode(final int code)
    {
        if (code >= 0 || -code >= BY_ID.length)
        {
            throw new IllegalArgumentException("not a rejection code: " + code);
        }
        return BY_ID[-code];
    }
}
