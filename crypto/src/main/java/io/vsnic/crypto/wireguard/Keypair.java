package io.vsnic.crypto.wireguard;

import java.lang.invoke.VarHandle;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The transport keys of one completed handshake (a "session"): the sending and receiving
 * ChaCha20-Poly1305 keys, our index (the receiver index of messages sent to us with it), the
 * peer's index (the receiver index we write), the sending counter and the replay window.
 *
 * <p>Thread safe. Any number of workers may seal with one keypair at once (the counter is
 * atomic) and open with it at once (the window locks briefly). When the keypair ends (rotated out,
 * expired, peer removed), {@link #destroy()} first marks it invalid and then zeroes the keys; a
 * seal or open racing with that notices the mark after using the keys and reports
 * {@link Rejection#EXPIRED_KEYPAIR}, so nothing sealed under a zeroed key is ever handed out.
 */
public final class Keypair implements IndexTable.Entry
{
    private final Peer peer;
    private final byte[] sendKey;
    private final byte[] receiveKey;
    private final int localIndex;
    private final int remoteIndex;
    private final boolean initiator;
    private final long birthNs;
    private final ReplayWindow window;
    private final AtomicLong sendCounter = new AtomicLong();
    private volatile boolean valid = true;

    Keypair(final Peer peer, final byte[] sendKey, final byte[] receiveKey, final int localIndex,
        final int remoteIndex, final boolean initiator, final long birthNs, final long rejectAfterMessages)
    {
        this.peer = peer;
        this.sendKey = sendKey;
        this.receiveKey = receiveKey;
        this.localIndex = localIndex;
        this.remoteIndex = remoteIndex;
        this.initiator = initiator;
        this.birthNs = birthNs;
        this.window = new ReplayWindow(rejectAfterMessages);
    }

    /**
     * @return the peer this keypair talks to.
     */
    public Peer peer()
    {
        return peer;
    }

    /**
     * @return our index: the receiver index of messages sent to us under this keypair.
     */
    @Override
    public int localIndex()
    {
        return localIndex;
    }

    /**
     * @return the peer's index: the receiver index we write into messages we send.
     */
    public int remoteIndex()
    {
        return remoteIndex;
    }

    /**
     * @return true when we initiated the handshake that made this keypair.
     */
    public boolean isInitiator()
    {
        return initiator;
    }

    /**
     * @return when the keypair was derived, on the device's monotonic clock.
     */
    public long birthNs()
    {
        return birthNs;
    }

    /**
     * @return how many counters have been taken for sending (the next counter).
     */
    public long messagesSent()
    {
        return sendCounter.get();
    }

    /**
     * @return the highest counter accepted so far, or -1 when none.
     */
    public long highestReceived()
    {
        return window.highest();
    }

    /**
     * @return false once the keypair has been destroyed.
     */
    public boolean isValid()
    {
        return valid;
    }

    /**
     * @param nowNs the current monotonic time.
     * @return how long ago the keypair was derived.
     */
    public long ageNs(final long nowNs)
    {
        return nowNs - birthNs;
    }

    byte[] sendKey()
    {
        return sendKey;
    }

    byte[] receiveKey()
    {
        return receiveKey;
    }

    ReplayWindow window()
    {
        return window;
    }

    long takeSendCounter()
    {
        return sendCounter.getAndIncrement();
    }

    /** Test hook: pretend that many messages were sent already. */
    void setMessagesSentForTest(final long counter)
    {
        sendCounter.set(counter);
    }

    /**
     * Marks the keypair invalid, then zeroes both keys. Idempotent.
     */
    void destroy()
    {
        valid = false;
        // the mark must be visible before any zero byte is (see the class comment)
        VarHandle.storeStoreFence();
        Arrays.fill(sendKey, (byte)0);
        Arrays.fill(receiveKey, (byte)0);
    }

    /**
     * Must follow every use of the keys: true when they were not being zeroed meanwhile.
     */
    boolean stillValidAfterUse()
    {
        VarHandle.acquireFence();
        return valid;
    }

    @Override
    public String toString()
    {
        return "Keypair{local=" + Integer.toHexString(localIndex) + ", remote=" + Integer.toHexString(remoteIndex) +
            ", initiator=" + initiator + ", valid=" + valid + '}';
    }
}
