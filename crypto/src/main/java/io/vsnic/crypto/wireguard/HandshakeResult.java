package io.vsnic.crypto.wireguard;

/**
 * What {@link WireguardDevice#consumeHandshake} did with a message. Mutable and reusable: keep one
 * per calling thread.
 */
public final class HandshakeResult
{
    /** The outcome. */
    public enum Kind
    {
        /** Nothing yet (the result was just cleared). */
        NONE,
        /** The message was rejected: see {@link #rejection()}. */
        REJECTED,
        /** An initiation was accepted and our response was written to the reply buffer. */
        RESPONSE_WRITTEN,
        /** A response to our initiation was accepted: the new keypair is current. Send queued packets now, or a keepalive if there are none, so that the responder can start using it. */
        RESPONSE_CONSUMED,
        /** Under load without a valid MAC2: a cookie reply was written instead of processing the message. */
        COOKIE_REPLY_WRITTEN,
        /** A cookie reply was accepted: the next handshake message to this peer carries MAC2. */
        COOKIE_CONSUMED
    }

    private Kind kind = Kind.NONE;
    private Rejection rejection;
    private Peer peer;
    private int replyLength;
    private final byte[] timestamp = new byte[Tai64n.LENGTH];

    void clear()
    {
        kind = Kind.NONE;
        rejection = null;
        peer = null;
        replyLength = 0;
    }

    int reject(final Rejection reason)
    {
        kind = Kind.REJECTED;
        rejection = reason;
        return reason.code();
    }

    void set(final Kind kind, final Peer peer, final int replyLength)
    {
        this.kind = kind;
        this.peer = peer;
        this.replyLength = replyLength;
    }

    void cookieRequired(final int replyLength)
    {
        this.kind = Kind.COOKIE_REPLY_WRITTEN;
        this.rejection = Rejection.COOKIE_REQUIRED;
        this.replyLength = replyLength;
    }

    void timestamp(final byte[] value)
    {
        System.arraycopy(value, 0, timestamp, 0, Tai64n.LENGTH);
    }

    /**
     * @return what happened.
     */
    public Kind kind()
    {
        return kind;
    }

    /**
     * @return why the message was not processed ({@link Kind#REJECTED} and {@link Kind#COOKIE_REPLY_WRITTEN}), else null.
     */
    public Rejection rejection()
    {
        return rejection;
    }

    /**
     * @return the peer the message came from, when known.
     */
    public Peer peer()
    {
        return peer;
    }

    /**
     * @return bytes written to the reply buffer (92 for a response, 64 for a cookie reply), else 0.
     */
    public int replyLength()
    {
        return replyLength;
    }

    /**
     * @return a copy of the TAI64N timestamp of the last initiation accepted through this result.
     */
    public byte[] timestamp()
    {
        return timestamp.clone();
    }

    @Override
    public String toString()
    {
        return "HandshakeResult{" + kind + (rejection != null ? ", " + rejection : "") +
            (peer != null ? ", " + peer : "") + ", reply=" + replyLength + '}';
    }
}
