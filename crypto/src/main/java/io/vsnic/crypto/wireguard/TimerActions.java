package io.vsnic.crypto.wireguard;

/**
 * What the data plane does when {@link WireguardDevice#tick} says a peer's timer fired. Called on
 * the thread that calls {@code tick}.
 */
public interface TimerActions
{
    /**
     * Create an initiation with {@link WireguardDevice#createInitiation} and send it to the peer's endpoint.
     *
     * @param peer the peer.
     */
    void sendInitiation(Peer peer);

    /**
     * Seal an empty packet with {@link Peer#sendingKeypair} and send it (a keepalive).
     *
     * @param peer the peer.
     */
    void sendKeepalive(Peer peer);

    /**
     * The handshake gave up after REKEY_ATTEMPT_TIME: drop the packets queued for the peer.
     *
     * @param peer the peer.
     */
    default void handshakeGaveUp(final Peer peer)
    {
    }

    /**
     * All of the peer's keys were zeroed after 3 × REJECT_AFTER_TIME without a new session.
     *
     * @param peer the peer.
     */
    default void keysZeroed(final Peer peer)
    {
    }
}
