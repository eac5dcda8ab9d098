package io.vsnic.crypto.wireguard;

import java.util.Arrays;
import java.util.Base64;

import io.vsnic.crypto.primitive.Blake2s;

/**
 * One remote device we talk WireGuard with: its static public key and optional pre-shared key,
 * the keypairs of our sessions with it, the handshake in progress, the cookie it gave us, and the
 * protocol timers (WireGuard paper section 6).
 *
 * <p><b>Keypairs.</b> Up to three at a time, as the paper's key rotation needs:
 * <ul>
 *   <li>{@link #current()}: the one we send with;</li>
 *   <li>{@link #previous()}: the one before it, still accepted so that packets in flight during a
 *       rekey are not lost;</li>
 *   <li>{@link #next()}: one we derived as responder and may not send with until the initiator has
 *       used it: the first transport message received with it promotes it to current (the old
 *       current becomes previous). As initiator, a keypair becomes current as soon as the response
 *       is consumed.</li>
 * </ul>
 * A keypair that drops out of the three is destroyed (keys zeroed, index freed).
 *
 * <p><b>Timers.</b> Workers report what they send and receive ({@code seal}/{@code open} do it);
 * the owner of the clock calls {@link #tick} (or {@link WireguardDevice#tick}) every few hundred
 * milliseconds and acts on the returned {@code ACTION_*} bits.
 *
 * <p><b>Threads.</b> Keypair references are volatile and read without locks on the data path;
 * everything else changes under this object's lock, on the handshake and timer paths.
 */
public final class Peer
{
    /** {@link #tick} result bit: create and send a handshake initiation ({@link WireguardDevice#createInitiation}). */
    public static final int ACTION_SEND_INITIATION = 1;
    /** {@link #tick} result bit: seal and send a keepalive (an empty transport message) with {@link #sendingKeypair}. */
    public static final int ACTION_SEND_KEEPALIVE = 2;
    /** {@link #tick} result bit: the handshake gave up after REKEY_ATTEMPT_TIME; drop packets queued for the peer. */
    public static final int ACTION_GAVE_UP = 4;
    /** {@link #tick} result bit: all keys were zeroed after 3 × REJECT_AFTER_TIME without a new session. */
    public static final int ACTION_KEYS_ZEROED = 8;

    static final long NONE = Long.MIN_VALUE;

    private final WireguardDevice device;
    private final WireguardTimers timers;
    private final byte[] publicKey;
    private final byte[] presharedKey;
    /** {@code HASH(LABEL_MAC1 || Spub_peer)}: MAC1 key of the messages we send to the peer. */
    final byte[] mac1Key;
    /** {@code HASH(LABEL_COOKIE || Spub_peer)}: decrypts the peer's cookie replies. */
    final byte[] cookieKey;
    /** {@code DH(Spriv_ours, Spub_peer)}, computed once. */
    final byte[] staticStatic;

    private volatile Keypair current;
    private volatile Keypair previous;
    private volatile Keypair next;

    // handshake state, guarded by this
    PendingHandshake handshake;
    final byte[] latestTimestamp = new byte[Tai64n.LENGTH];
    long lastInitiationConsumedNs = NONE;

    // cookie state, guarded by this
    final byte[] cookie = new byte[Blake2s.MAC_LENGTH];
    long cookieReceivedNs = NONE;
    final byte[] lastMac1Sent = new byte[Blake2s.MAC_LENGTH];
    boolean haveSentMac1;

    // timers, guarded by this
    private long attemptStartNs = NONE;
    private long lastInitiationSentNs = NONE;
    private long retransmitAtNs = NONE;
    private long zeroKeysAtNs = NONE;
    private long newHandshakeJitterNs = -1;
    private boolean sentLastMinuteHandshake;
    /** As initiator we hold a new keypair that the responder cannot use until we send on it. */
    private volatile boolean confirmationPending;

    // written by workers on the data path
    private volatile boolean rekeyWanted;
    private volatile long firstUnansweredSendNs = NONE;
    private volatile long firstUnacknowledgedReceiveNs = NONE;
    private volatile long lastTraversalNs = NONE;
    private volatile long lastHandshakeNs = NONE;
    private volatile long persistentKeepaliveNs;

    Peer(final WireguardDevice device, final byte[] publicKey, final byte[] presharedKey, final byte[] staticStatic)
    {
        this.device = device;
        this.timers = device.timers();
        this.publicKey = publicKey.clone();
        this.presharedKey = presharedKey == null ? new byte[32] : presharedKey.clone();
        this.mac1Key = Blake2s.hash(SymmetricState.LABEL_MAC1, this.publicKey);
        this.cookieKey = Blake2s.hash(SymmetricState.LABEL_COOKIE, this.publicKey);
        this.staticStatic = staticStatic;
    }

    /**
     * @return a copy of the peer's static public key.
     */
    public byte[] publicKey()
    {
        return publicKey.clone();
    }

    byte[] publicKeyUnsafe()
    {
        return publicKey;
    }

    byte[] presharedKey()
    {
        return presharedKey;
    }

    /**
     * @return the device this peer belongs to.
     */
    public WireguardDevice device()
    {
        return device;
    }

    /**
     * @return the keypair we send with, or null.
     */
    public Keypair current()
    {
        return current;
    }

    /**
     * @return the keypair before the current one (still accepted), or null.
     */
    public Keypair previous()
    {
        return previous;
    }

    /**
     * @return a responder keypair not yet confirmed by the initiator (accepted, never sent with), or null.
     */
    public Keypair next()
    {
        return next;
    }

    /**
     * The keypair to seal new packets with. Null when there is none, it is older than
     * REJECT_AFTER_TIME, or its counter is used up; the peer then wants a handshake, which the
     * next {@link #tick} asks for. Queue the packet meanwhile.
     *
     * @param nowNs the current monotonic time.
     * @return a usable keypair, or null.
     */
    public Keypair sendingKeypair(final long nowNs)
    {
        final Keypair kp = current;
        if (usable(kp, nowNs))
        {
            return kp;
        }
        if (!rekeyWanted)
        {
            rekeyWanted = true;
        }
        return null;
    }

    private boolean usable(final Keypair kp, final long nowNs)
    {
        return kp != null && kp.isValid() && kp.ageNs(nowNs) < timers.rejectAfterTimeNs() &&
            Long.compareUnsigned(kp.messagesSent(), timers.rejectAfterMessages()) < 0;
    }

    /**
     * @param intervalNs persistent keepalive interval, 0 to disable (the default).
     */
    public void persistentKeepaliveNs(final long intervalNs)
    {
        if (intervalNs < 0)
        {
            throw new IllegalArgumentException("persistent keepalive interval must not be negative: " + intervalNs);
        }
        persistentKeepaliveNs = intervalNs;
    }

    /**
     * @return when the last handshake completed (monotonic), or {@link Long#MIN_VALUE} if never.
     */
    public long lastHandshakeNs()
    {
        return lastHandshakeNs;
    }

    /**
     * @return true while an initiation of ours awaits its response.
     */
    public synchronized boolean handshakeInProgress()
    {
        return handshake != null;
    }

    /**
     * @return true when the next {@link #tick} will start a handshake (rekey asked for by the data path).
     */
    public boolean rekeyWanted()
    {
        return rekeyWanted;
    }

    // ------------------------------------------------------------------ data path events

    /**
     * A transport message was sealed with {@code kp}.
     */
    void onSent(final Keypair kp, final boolean data, final long nowNs)
    {
        if (confirmationPending && kp == current)
        {
            confirmationPending = false;
        }
        if (data && firstUnansweredSendNs == NONE)
        {
            firstUnansweredSendNs = nowNs;
        }
        if (firstUnacknowledgedReceiveNs != NONE)
        {
            firstUnacknowledgedReceiveNs = NONE;
        }
        if (persistentKeepaliveNs != 0)
        {
            lastTraversalNs = nowNs;
        }
        // keep the key fresh (paper 6.2): by message count, or by age when we were the initiator
        if (!rekeyWanted && (Long.compareUnsigned(kp.messagesSent(), timers.rekeyAfterMessages()) > 0 ||
            (kp.isInitiator() && kp.ageNs(nowNs) >= timers.rekeyAfterTimeNs())))
        {
            rekeyWanted = true;
        }
    }

    /**
     * An authenticated, fresh transport message was opened with {@code kp}.
     */
    void onReceived(final Keypair kp, final boolean data, final long nowNs)
    {
        if (kp == next)
        {
            confirm(kp, nowNs);
        }
        if (firstUnansweredSendNs != NONE)
        {
            firstUnansweredSendNs = NONE;
        }
        if (data && firstUnacknowledgedReceiveNs == NONE)
        {
            firstUnacknowledgedReceiveNs = nowNs;
        }
        if (persistentKeepaliveNs != 0)
        {
            lastTraversalNs = nowNs;
        }
        final Keypair cur = current;
        if (cur != null && cur.isInitiator() && !rekeyWanted &&
            cur.ageNs(nowNs) >= timers.rekeyOnReceiveAgeNs())
        {
            synchronized (this)
            {
                if (!sentLastMinuteHandshake)
                {
                    sentLastMinuteHandshake = true;
                    rekeyWanted = true;
                }
            }
        }
    }

    // ------------------------------------------------------------------ keypair rotation (handshake path)

    private synchronized void confirm(final Keypair kp, final long nowNs)
    {
        if (kp != next)
        {
            return;
        }
        final Keypair oldPrevious = previous;
        previous = current;
        current = kp;
        next = null;
        retire(oldPrevious);
        handshakeComplete(nowNs);
    }

    /** As initiator: the response was consumed, so the new keypair is usable at once. Caller holds the lock. */
    void installInitiatorKeypair(final Keypair kp, final long nowNs)
    {
        final Keypair oldPrevious = previous;
        final Keypair oldCurrent = current;
        final Keypair oldNext = next;
        if (oldNext != null)
        {
            // an unconfirmed responder keypair is newer than current: keep it as previous instead
            next = null;
            previous = oldNext;
            retire(oldCurrent);
        }
        else
        {
            previous = oldCurrent;
        }
        retire(oldPrevious);
        current = kp;
        confirmationPending = true;
        sessionDerived(nowNs);
        handshakeComplete(nowNs);
    }

    /** As responder: the new keypair waits in next until the initiator uses it. Caller holds the lock. */
    void installResponderKeypair(final Keypair kp, final long nowNs)
    {
        final Keypair oldNext = next;
        final Keypair oldPrevious = previous;
        next = kp;
        previous = null;
        retire(oldNext);
        retire(oldPrevious);
        sessionDerived(nowNs);
    }

    private void retire(final Keypair kp)
    {
        if (kp != null)
        {
            device.indexTable().remove(kp);
            kp.destroy();
        }
    }

    /** Drops the pending handshake, if any. Caller holds the lock. */
    void dropHandshake()
    {
        final PendingHandshake hs = handshake;
        if (hs != null)
        {
            handshake = null;
            device.indexTable().remove(hs);
            hs.wipe();
        }
    }

    /**
     * Destroys every keypair and the pending handshake (peer removed, or 3 × REJECT_AFTER_TIME
     * without a new session).
     */
    public synchronized void zeroKeys()
    {
        final Keypair p = previous;
        final Keypair c = current;
        final Keypair n = next;
        previous = null;
        current = null;
        next = null;
        retire(p);
        retire(c);
        retire(n);
        dropHandshake();
        zeroKeysAtNs = NONE;
    }

    // ------------------------------------------------------------------ timer bookkeeping (caller holds the lock)

    /** An initiation was just created. */
    void handshakeInitiated(final long nowNs)
    {
        if (attemptStartNs == NONE)
        {
            attemptStartNs = nowNs;
        }
        lastInitiationSentNs = nowNs;
        retransmitAtNs = nowNs + timers.rekeyTimeoutNs() + jitter();
        firstUnansweredSendNs = NONE;
        rekeyWanted = false;
    }

    private void handshakeComplete(final long nowNs)
    {
        // a rekey asked for while this handshake was under way is answered by it
        rekeyWanted = false;
        attemptStartNs = NONE;
        retransmitAtNs = NONE;
        sentLastMinuteHandshake = false;
        lastHandshakeNs = nowNs;
    }

    private void sessionDerived(final long nowNs)
    {
        zeroKeysAtNs = nowNs + timers.zeroKeysAfterNs();
    }

    private long jitter()
    {
        final long max = timers.rekeyTimeoutJitterMaxNs();
        return max > 0 ? device.entropy().jitterNs(max + 1) : 0;
    }

    /**
     * Runs the protocol timers (paper section 6): retransmission and abandonment of initiations,
     * rekeying asked for by the data path, a new handshake when data we sent got no answer for
     * KEEPALIVE_TIMEOUT + REKEY_TIMEOUT, passive keepalives KEEPALIVE_TIMEOUT after data we did
     * not answer, persistent keepalives, a keepalive that confirms a new keypair when we initiated it
     * and have sent nothing on it yet, and zeroing all keys after 3 × REJECT_AFTER_TIME. Call it
     * periodically (100-250 ms is fine) from one thread.
     *
     * @param nowNs the current monotonic time.
     * @return {@code ACTION_*} bits; for {@link #ACTION_SEND_INITIATION} call
     *         {@link WireguardDevice#createInitiation}, for {@link #ACTION_SEND_KEEPALIVE} seal an
     *         empty packet with {@link #sendingKeypair}.
     */
    public synchronized int tick(final long nowNs)
    {
        int actions = 0;
        if (zeroKeysAtNs != NONE && nowNs - zeroKeysAtNs >= 0)
        {
            zeroKeys();
            actions |= ACTION_KEYS_ZEROED;
        }

        if (handshake != null || attemptStartNs != NONE)
        {
            if (retransmitAtNs != NONE && nowNs - retransmitAtNs >= 0)
            {
                if (nowNs - attemptStartNs >= timers.rekeyAttemptTimeNs())
                {
                    dropHandshake();
                    attemptStartNs = NONE;
                    retransmitAtNs = NONE;
                    rekeyWanted = false;
                    firstUnansweredSendNs = NONE;
                    if (zeroKeysAtNs == NONE)
                    {
                        zeroKeysAtNs = nowNs + timers.zeroKeysAfterNs();
                    }
                    actions |= ACTION_GAVE_UP;
                }
                else
                {
                    actions |= ACTION_SEND_INITIATION;
                }
            }
        }
        else
        {
            final long unanswered = firstUnansweredSendNs;
            if (unanswered == NONE)
            {
                newHandshakeJitterNs = -1;
            }
            else if (newHandshakeJitterNs < 0)
            {
                newHandshakeJitterNs = jitter();
            }
            final boolean noAnswer = unanswered != NONE &&
                nowNs - unanswered >= timers.keepaliveTimeoutNs() + timers.rekeyTimeoutNs() + newHandshakeJitterNs;
            if ((rekeyWanted || noAnswer) &&
                (lastInitiationSentNs == NONE || nowNs - lastInitiationSentNs >= timers.rekeyTimeoutNs()))
            {
                actions |= ACTION_SEND_INITIATION;
                newHandshakeJitterNs = -1;
            }
        }

        if (confirmationPending && usable(current, nowNs))
        {
            // the responder may only send on the new keypair once we have used it (paper 5.4.5)
            confirmationPending = false;
            actions |= ACTION_SEND_KEEPALIVE;
        }
        final long received = firstUnacknowledgedReceiveNs;
        if (received != NONE && nowNs - received >= timers.keepaliveTimeoutNs())
        {
            firstUnacknowledgedReceiveNs = NONE;
            if (usable(current, nowNs))
            {
                actions |= ACTION_SEND_KEEPALIVE;
            }
        }
        final long persistent = persistentKeepaliveNs;
        if (persistent != 0 && (lastTraversalNs == NONE || nowNs - lastTraversalNs >= persistent) &&
            usable(current, nowNs))
        {
            lastTraversalNs = nowNs;
            actions |= ACTION_SEND_KEEPALIVE;
        }
        return actions;
    }

    /**
     * Clears the handshake-related memory of a destroyed peer.
     */
    synchronized void destroy()
    {
        zeroKeys();
        Arrays.fill(staticStatic, (byte)0);
        Arrays.fill(presharedKey, (byte)0);
        Arrays.fill(cookie, (byte)0);
    }

    @Override
    public String toString()
    {
        return "Peer{" + Base64.getEncoder().encodeToString(publicKey) + '}';
    }
}
