package io.vsnic.crypto.wireguard;

import java.util.concurrent.TimeUnit;

/**
 * The protocol's time and message limits (WireGuard paper section 6.1), all configurable so that
 * tests can shorten them. Times are in nanoseconds. {@link #DEFAULT} holds the paper's values.
 *
 * @param rekeyAfterMessages      a keypair that has sent more messages asks for a new handshake (2^60).
 * @param rejectAfterMessages     counters at or above this are never sent nor accepted
 *                                (2^64 − 2^13 − 1, compared unsigned).
 * @param rekeyAfterTimeNs        an initiator's keypair older than this asks for a new handshake when
 *                                it sends (120 s).
 * @param rejectAfterTimeNs       a keypair older than this is neither used nor accepted (180 s).
 * @param rekeyAttemptTimeNs      retransmitting an initiation stops after this long (90 s).
 * @param rekeyTimeoutNs          an unanswered initiation is retransmitted after this (5 s), and
 *                                initiations are not sent more often than this.
 * @param rekeyTimeoutJitterMaxNs random extra delay of up to this on retransmissions (333 ms).
 * @param keepaliveTimeoutNs      passive keepalive delay (10 s).
 * @param cookieRefreshTimeNs     lifetime of the cookie secret, and (minus {@code rekeyTimeoutNs})
 *                                of a received cookie (120 s).
 * @param handshakeMinIntervalNs  initiations from one peer closer together than this are rejected as a
 *                                flood (20 ms, the Linux kernel's 50 initiations per second).
 */
public record WireguardTimers(
    long rekeyAfterMessages,
    long rejectAfterMessages,
    long rekeyAfterTimeNs,
    long rejectAfterTimeNs,
    long rekeyAttemptTimeNs,
    long rekeyTimeoutNs,
    long rekeyTimeoutJitterMaxNs,
    long keepaliveTimeoutNs,
    long cookieRefreshTimeNs,
    long handshakeMinIntervalNs)
{
    /** REKEY_AFTER_MESSAGES: 2^60. */
    public static final long REKEY_AFTER_MESSAGES = 1L << 60;
    /** REJECT_AFTER_MESSAGES: 2^64 − 2^13 − 1, as an unsigned long. */
    public static final long REJECT_AFTER_MESSAGES = -(1L << 13) - 1;

    /** The paper's values. */
    public static final WireguardTimers DEFAULT = new WireguardTimers(
        REKEY_AFTER_MESSAGES,
        REJECT_AFTER_MESSAGES,
        TimeUnit.SECONDS.toNanos(120),
        TimeUnit.SECONDS.toNanos(180),
        TimeUnit.SECONDS.toNanos(90),
        TimeUnit.SECONDS.toNanos(5),
        TimeUnit.MILLISECONDS.toNanos(333),
        TimeUnit.SECONDS.toNanos(10),
        TimeUnit.SECONDS.toNanos(120),
        TimeUnit.MILLISECONDS.toNanos(20));

    /**
     * Validates the values.
     */
    public WireguardTimers
    {
        requirePositive("rekeyAfterTimeNs", rekeyAfterTimeNs);
        requirePositive("rejectAfterTimeNs", rejectAfterTimeNs);
        requirePositive("rekeyAttemptTimeNs", rekeyAttemptTimeNs);
        requirePositive("rekeyTimeoutNs", rekeyTimeoutNs);
        requirePositive("keepaliveTimeoutNs", keepaliveTimeoutNs);
        requirePositive("cookieRefreshTimeNs", cookieRefreshTimeNs);
        if (rekeyTimeoutJitterMaxNs < 0 || handshakeMinIntervalNs < 0)
        {
            throw new IllegalArgumentException("rekeyTimeoutJitterMaxNs and handshakeMinIntervalNs must not be negative");
        }
        if (rekeyAfterTimeNs >= rejectAfterTimeNs)
        {
            throw new IllegalArgumentException("rekeyAfterTimeNs (" + rekeyAfterTimeNs +
                ") must be less than rejectAfterTimeNs (" + rejectAfterTimeNs + ")");
        }
        if (Long.compareUnsigned(rekeyAfterMessages, rejectAfterMessages) >= 0 || rekeyAfterMessages == 0)
        {
            throw new IllegalArgumentException("rekeyAfterMessages must be above 0 and below rejectAfterMessages (unsigned)");
        }
    }

    private static void requirePositive(final String name, final long value)
    {
        if (value <= 0)
        {
            throw new IllegalArgumentException(name + " must be positive: " + value);
        }
    }

    /**
     * @param nanos the new REKEY_AFTER_TIME; REJECT_AFTER_TIME is raised to 1.5 times it if needed.
     * @return a copy with that value.
     */
    public WireguardTimers withRekeyAfterTimeNs(final long nanos)
    {
        return new WireguardTimers(rekeyAfterMessages, rejectAfterMessages, nanos,
            Math.max(rejectAfterTimeNs, nanos + nanos / 2), rekeyAttemptTimeNs, rekeyTimeoutNs, rekeyTimeoutJitterMaxNs,
            keepaliveTimeoutNs, cookieRefreshTimeNs, handshakeMinIntervalNs);
    }

    /**
     * @param nanos the new REJECT_AFTER_TIME.
     * @return a copy with that value.
     */
    public WireguardTimers withRejectAfterTimeNs(final long nanos)
    {
        return new WireguardTimers(rekeyAfterMessages, rejectAfterMessages, rekeyAfterTimeNs, nanos,
            rekeyAttemptTimeNs, rekeyTimeoutNs, rekeyTimeoutJitterMaxNs, keepaliveTimeoutNs, cookieRefreshTimeNs,
            handshakeMinIntervalNs);
    }

    /**
     * @param rekey  the new REKEY_AFTER_MESSAGES.
     * @param reject the new REJECT_AFTER_MESSAGES (unsigned).
     * @return a copy with those values.
     */
    public WireguardTimers withMessageLimits(final long rekey, final long reject)
    {
        return new WireguardTimers(rekey, reject, rekeyAfterTimeNs, rejectAfterTimeNs, rekeyAttemptTimeNs,
            rekeyTimeoutNs, rekeyTimeoutJitterMaxNs, keepaliveTimeoutNs, cookieRefreshTimeNs, handshakeMinIntervalNs);
    }

    /**
     * @param timeoutNs the new REKEY_TIMEOUT.
     * @param jitterNs  the new maximum jitter.
     * @return a copy with those values.
     */
    public WireguardTimers withRekeyTimeoutNs(final long timeoutNs, final long jitterNs)
    {
        return new WireguardTimers(rekeyAfterMessages, rejectAfterMessages, rekeyAfterTimeNs, rejectAfterTimeNs,
            rekeyAttemptTimeNs, timeoutNs, jitterNs, keepaliveTimeoutNs, cookieRefreshTimeNs, handshakeMinIntervalNs);
    }

    /**
     * @param nanos the new KEEPALIVE_TIMEOUT.
     * @return a copy with that value.
     */
    public WireguardTimers withKeepaliveTimeoutNs(final long nanos)
    {
        return new WireguardTimers(rekeyAfterMessages, rejectAfterMessages, rekeyAfterTimeNs, rejectAfterTimeNs,
            rekeyAttemptTimeNs, rekeyTimeoutNs, rekeyTimeoutJitterMaxNs, nanos, cookieRefreshTimeNs,
            handshakeMinIntervalNs);
    }

    /**
     * @return how long a received cookie is used for MAC2: COOKIE_REFRESH_TIME − REKEY_TIMEOUT, as the
     *         Linux kernel does, so that a cookie is not used just as the sender's secret rotates.
     */
    public long cookieValidityNs()
    {
        return Math.max(0, cookieRefreshTimeNs - rekeyTimeoutNs);
    }

    /**
     * @return age at which an initiator asks for a new handshake when it receives data:
     *         REJECT_AFTER_TIME − KEEPALIVE_TIMEOUT − REKEY_TIMEOUT (165 s by default).
     */
    public long rekeyOnReceiveAgeNs()
    {
        return rejectAfterTimeNs - keepaliveTimeoutNs - rekeyTimeoutNs;
    }

    /**
     * @return when all keys of a peer are zeroed without a new session: 3 × REJECT_AFTER_TIME.
     */
    public long zeroKeysAfterNs()
    {
        return 3 * rejectAfterTimeNs;
    }
}
