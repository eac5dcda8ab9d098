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
import java.util.Arrays;

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
            Arrays.fill(keyWords, 0);
            return fail(Rejection.EXPIRED_KEYPAIR);
        }
        aead.sealTransport(keyWords, kp.sendKey(), counter, buf, dataOffset, padded);
        Arrays.fill(keyWords, 0);
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
            Arrays.fill(keyWords, 0);
            return fail(Rejection.EXPIRED_KEYPAIR);
        }
        if (!aead.verifyTransport(keyWords, kp.receiveKey(), counter, buf, dataOffset, length))
        {
            Arrays.fill(keyWords, 0);
            return fail(Rejection.DECRYPT_FAILED);
        }
        if (!kp.window().accept(counter))
        {
            Arrays.fill(keyWords, 0);
            return fail(Rejection.REPLAY);
        }
        aead.decryptTransport(keyWords, kp.receiveKey(), counter, buf, dataOffset, length);
        Arrays.fill(keyWords, 0);
        kp.peer().onReceived(kp, length > 0, nowNs);
        lastKeypair = kp;
        return length;
    }

    /**
     * Gets the transport path JIT-compiled before traffic arrives: builds two throwaway devices,
     * runs a handshake and seals and opens 1420-, 64- and 0-byte messages in {@code buffer} until
     * they run at compiled speed. Without it, the Vector API kernels run as allocating Java (up
     * to a thousand times slower) for the first seconds. Call it once per process at start with
     * a frame buffer of the kind the workers use (C2 specialises on the buffer's arena kind).
     *
     * @param buffer at least 1452 bytes; overwritten.
     * @param maxNs  upper bound on the time spent (C2 needs 1-6 s on a busy 2-core machine).
     * @return true when the path ran at compiled speed before the time ran out.
     */
    public static boolean warmUp(final MemorySegment buffer, final long maxNs)
    {
        final byte[] seedA = new byte[32];
        final byte[] seedB = new byte[32];
        final java.security.SecureRandom random = new java.security.SecureRandom();
        random.nextBytes(seedA);
        random.nextBytes(seedB);
        final io.vsnic.crypto.DeviceKeys keysA = io.vsnic.crypto.DeviceKeys.fromPrivateKey(seedA);
        final io.vsnic.crypto.DeviceKeys keysB = io.vsnic.crypto.DeviceKeys.fromPrivateKey(seedB);
        final WireguardDevice a = WireguardDevice.builder(keysA).build();
        final WireguardDevice b = WireguardDevice.builder(keysB).build();
        keysA.destroy();
        keysB.destroy();
        final Peer toB = a.addPeer(b.publicKey(), null);
        b.addPeer(a.publicKey(), null);
        final long now = a.nanoTime();
        final HandshakeResult result = new HandshakeResult();
        final MemorySegment scratch = MemorySegment.ofArray(new byte[512]);
        a.createInitiation(toB, scratch, 0, now);
        b.consumeHandshake(scratch, 0, WireguardMessages.INITIATION_LENGTH, null, now, scratch, 256, result);
        a.consumeHandshake(scratch, 256, WireguardMessages.RESPONSE_LENGTH, null, now, scratch, 0, result);
        final Keypair kp = toB.current();
        final TransportCodec sender = new TransportCodec(a, 1420);
        final TransportCodec receiver = new TransportCodec(b, 1420);
        final int[] sizes = {1420, 64, 0, 1420, 300};
        final int[] step = {0};
        final boolean fast = io.vsnic.crypto.primitive.VectorSupport.untilFast(maxNs, () ->
        {
            final int size = sizes[step[0]++ % sizes.length];
            final int n = sender.seal(kp, buffer, TRANSPORT_DATA_OFFSET, size, 0, now);
            if (n < 0 || receiver.open(buffer, 0, n, now) != WireguardMessages.paddedLength(size, 1420))
            {
                throw new IllegalStateException("transport warm-up failed its own round trip");
            }
        });
        a.removePeer(toB);
        return fast;
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
