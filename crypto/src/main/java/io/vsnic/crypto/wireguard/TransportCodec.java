package io.vsnic.crypto.wireguard;

import static io.vsnic.crypto.wireguard.WireguardMessages.INT_LE;
import static io.vsnic.crypto.wireguard.WireguardMessages.LONG_LE;
import static io.vsnic.crypto.wireguard.WireguardMessages.TAG_LENGTH;
import static io.vsnic.crypto.wireguard.WireguardMessages.TRANSPORT_COUNTER_OFFSET;
import static io.vsnic.crypto.wireguard.WireguardMessages.TRANSPORT_DATA_OFFSET;
import static io.vsnic.crypto.wireguard.WireguardMessages.TRANSPORT_HEADER_LENGTH;
import static io.vsnic.crypto.wireguard.WireguardMessages.TRANSPORT_MIN_LENGTH;
import static io.vsnic.crypto.wireguard.WireguardMessages.TRANSPORT_RECEIVER_OFFSET;
import static io.vsnic.crypto.wireguard.WireguardMessages.TYPE_TRANSPORT;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import io.vsnic.crypto.primitive.ChaCha20;
import io.vsnic.crypto.primitive.ChaCha20Poly1305;

/**
 * Seals and opens WireGuard transport data messages (type 4, paper section 5.4.6) in place, one
 * packet per call, allocating nothing. One instance per worker thread (it holds the cipher's
 * scratch state and the result of the last {@link #open}); keypairs and peers are shared.
 *
 * <p><b>Buffer layout.</b> A message occupies, from {@code messageOffset}:
 * <pre>
 *  messageOffset        +16                               +16+padded          +16+padded+16
 *  | header (16 bytes)  | plaintext, zero-padded to 16    | Poly1305 tag (16) |
 * </pre>
 * so a frame buffer needs {@value WireguardMessages#TRANSPORT_HEADER_LENGTH} bytes of headroom
 * before the inner packet and up to 15 + {@value WireguardMessages#TAG_LENGTH} bytes of tailroom
 * after it ({@link WireguardMessages#transportLength}). When the plaintext is already at
 * {@code messageOffset + 16}, nothing is copied.
 *
 * <p><b>Order of checks on receive</b>: length and type, receiver index, keypair age and
 * validity, counter limit, then the tag; only after the tag verifies is the counter checked
 * against the replay window (and recorded), and only then is the buffer decrypted. Every failure
 * is counted on the device and returned as a negative {@link Rejection#code()}, and changes no
 * state (nor the buffer).
 */
public final class TransportCodec
{
    private final WireguardDevice device;
    private final WireguardTimers timers;
    private final int mtuBytes;
    private final ChaCha20Poly1305 aead = new ChaCha20Poly1305();
    private final int[] keyWords = new int[8];
    private Keypair lastKeypair;

    /**
     * @param device   the device whose index table and counters are used.
     * @param mtuBytes the tunnel MTU that caps padding (WireGuard pads to 16 but never beyond the
     *                 MTU), or 0 for plain padding to 16.
     */
    public TransportCodec(final WireguardDevice device, final int mtuBytes)
    {
        if (mtuBytes < 0)
        {
            throw new IllegalArgumentException("mtuBytes must not be negative: " + mtuBytes);
        }
        this.device = device;
        this.timers = device.timers();
        this.mtuBytes = mtuBytes;
    }

    /**
     * Seals one packet into a transport message, in place: writes the header at
     * {@code messageOffset}, moves the plaintext to {@code messageOffset + 16} if it is not already
     * there, pads it with zeros, encrypts it with the keypair's next counter and appends the tag.
     * A {@code plaintextLength} of 0 makes a keepalive.
     *
     * @param kp              the keypair, normally {@link Peer#sendingKeypair}.
     * @param buf             the buffer.
     * @param plaintextOffset where the inner packet is.
     * @param plaintextLength its length.
     * @param messageOffset   where the message is to start.
     * @param nowNs           the current monotonic time.
     * @return the message length to send, or a negative {@link Rejection#code()}
     *         ({@link Rejection#EXPIRED_KEYPAIR}, {@link Rejection#COUNTER_LIMIT}): then send nothing,
     *         get a fresh {@link Peer#sendingKeypair} or queue the packet for the next handshake.
     * @throws IllegalArgumentException when the buffer has no room for the message.
     */
    public int seal(final Keypair kp, final MemorySegment buf, final long plaintextOffset, final int plaintextLength,
        final long messageOffset, final long nowNs)
    {
        final int padded = WireguardMessages.paddedLength(plaintextLength, mtuBytes);
        final int total = TRANSPORT_HEADER_LENGTH + padded + TAG_LENGTH;
        if (messageOffset < 0 || plaintextLength < 0 || buf.byteSize() - messageOffset < total)
        {
            throw new IllegalArgumentException("no room for a " + total + "-byte transport message at offset " +
                messageOffset + " of a " + buf.byteSize() + "-byte buffer");
        }
        if (!kp.isValid() || kp.ageNs(nowNs) >= timers.rejectAfterTimeNs())
        {
            return fail(Rejection.EXPIRED_KEYPAIR);
        }
        final long counter = kp.takeSendCounter();
        if (Long.compareUnsigned(counter, timers.rejectAfterMessages()) >= 0)
        {
            return fail(Rejection.COUNTER_LIMIT);
        }
        final long dataOffset = messageOffset + TRANSPORT_DATA_OFFSET;
        if (plaintextOffset != dataOffset && plaintextLength > 0)
        {
            MemorySegment.copy(buf, plaintextOffset, buf, dataOffset, plaintextLength);
        }
        for (long at = dataOffset + plaintextLength, end = dataOffset + padded; at < end; at++)
        {
            buf.set(ValueLayout.JAVA_BYTE, at, (byte)0);
        }
        buf.set(INT_LE, messageOffset, TYPE_TRANSPORT);
        buf.set(INT_LE, messageOffset + TRANSPORT_RECEIVER_OFFSET, kp.remoteIndex());
        buf.set(LONG_LE, messageOffset + TRANSPORT_COUNTER_OFFSET, counter);
        ChaCha20.keyWords(kp.sendKey(), 0, keyWords);
        if (!kp.stillValidAfterUse())
        {
            return fail(Rejection.EXPIRED_KEYPAIR);
        }
        aead.sealTransport(keyWords, counter, buf, dataOffset, padded);
        kp.peer().onSent(kp, plaintextLength > 0, nowNs);
        return total;
    }

    /**
     * Opens one transport message in place. On success the (padded) plaintext is at
     * {@code messageOffset + 16}; the inner packet's own length field tells how much of it is
     * padding. {@link #lastKeypair()} tells which session (and so which peer) it came from: check
     * the inner source address against that peer's allowed addresses.
     *
     * @param buf           the buffer.
     * @param messageOffset where the received message starts.
     * @param messageLength its length (the UDP payload length).
     * @param nowNs         the current monotonic time.
     * @return the plaintext length (0 for a keepalive), or a negative {@link Rejection#code()}.
     */
    public int open(final MemorySegment buf, final long messageOffset, final int messageLength, final long nowNs)
    {
        lastKeypair = null;
        if (messageLength < TRANSPORT_MIN_LENGTH)
        {
            return fail(Rejection.TRUNCATED);
        }
        if (buf.get(INT_LE, messageOffset) != TYPE_TRANSPORT)
        {
            return fail(Rejection.BAD_TYPE);
        }
        final int receiver = buf.get(INT_LE, messageOffset + TRANSPORT_RECEIVER_OFFSET);
        if (!(device.indexTable().get(receiver) instanceof Keypair kp))
        {
            return fail(Rejection.UNKNOWN_INDEX);
        }
        if (!kp.isValid() || kp.ageNs(nowNs) >= timers.rejectAfterTimeNs())
        {
            return fail(Rejection.EXPIRED_KEYPAIR);
        }
        final long counter = buf.get(LONG_LE, messageOffset + TRANSPORT_COUNTER_OFFSET);
        if (Long.compareUnsigned(counter, timers.rejectAfterMessages()) >= 0)
        {
            return fail(Rejection.COUNTER_LIMIT);
        }
        final long dataOffset = messageOffset + TRANSPORT_DATA_OFFSET;
        final int length = messageLength - TRANSPORT_MIN_LENGTH;
        ChaCha20.keyWords(kp.receiveKey(), 0, keyWords);
        if (!kp.stillValidAfterUse())
        {
            return fail(Rejection.EXPIRED_KEYPAIR);
        }
        if (!aead.verifyTransport(keyWords, counter, buf, dataOffset, length))
        {
            return fail(Rejection.DECRYPT_FAILED);
        }
        if (!kp.window().accept(counter))
        {
            return fail(Rejection.REPLAY);
        }
        aead.decryptTransport(keyWords, counter, buf, dataOffset, length);
        kp.peer().onReceived(kp, length > 0, nowNs);
        lastKeypair = kp;
        return length;
    }

    /**
     * @return the keypair of the last successful {@link #open}, or null after a failure.
     */
    public Keypair lastKeypair()
    {
        return lastKeypair;
    }

    /**
     * @return the peer of the last successful {@link #open}, or null after a failure.
     */
    public Peer lastPeer()
    {
        final Keypair kp = lastKeypair;
        return kp == null ? null : kp.peer();
    }

    private int fail(final Rejection reason)
    {
        device.count(reason);
        return reason.code();
    }
}
