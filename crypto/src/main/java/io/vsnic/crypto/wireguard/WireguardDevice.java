package io.vsnic.crypto.wireguard;

import static io.vsnic.crypto.wireguard.WireguardMessages.COOKIE_ENCRYPTED_OFFSET;
import static io.vsnic.crypto.wireguard.WireguardMessages.COOKIE_NONCE_OFFSET;
import static io.vsnic.crypto.wireguard.WireguardMessages.COOKIE_RECEIVER_OFFSET;
import static io.vsnic.crypto.wireguard.WireguardMessages.COOKIE_REPLY_LENGTH;
import static io.vsnic.crypto.wireguard.WireguardMessages.INITIATION_EPHEMERAL_OFFSET;
import static io.vsnic.crypto.wireguard.WireguardMessages.INITIATION_LENGTH;
import static io.vsnic.crypto.wireguard.WireguardMessages.INITIATION_MAC1_OFFSET;
import static io.vsnic.crypto.wireguard.WireguardMessages.INITIATION_SENDER_OFFSET;
import static io.vsnic.crypto.wireguard.WireguardMessages.INITIATION_STATIC_OFFSET;
import static io.vsnic.crypto.wireguard.WireguardMessages.INITIATION_TIMESTAMP_OFFSET;
import static io.vsnic.crypto.wireguard.WireguardMessages.INT_LE;
import static io.vsnic.crypto.wireguard.WireguardMessages.MAC_LENGTH;
import static io.vsnic.crypto.wireguard.WireguardMessages.RESPONSE_EMPTY_OFFSET;
import static io.vsnic.crypto.wireguard.WireguardMessages.RESPONSE_EPHEMERAL_OFFSET;
import static io.vsnic.crypto.wireguard.WireguardMessages.RESPONSE_LENGTH;
import static io.vsnic.crypto.wireguard.WireguardMessages.RESPONSE_MAC1_OFFSET;
import static io.vsnic.crypto.wireguard.WireguardMessages.RESPONSE_RECEIVER_OFFSET;
import static io.vsnic.crypto.wireguard.WireguardMessages.RESPONSE_SENDER_OFFSET;
import static io.vsnic.crypto.wireguard.WireguardMessages.TYPE_COOKIE_REPLY;
import static io.vsnic.crypto.wireguard.WireguardMessages.TYPE_INITIATION;
import static io.vsnic.crypto.wireguard.WireguardMessages.TYPE_LENGTH;
import static io.vsnic.crypto.wireguard.WireguardMessages.TYPE_RESPONSE;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;

import io.vsnic.crypto.DeviceKeys;
import io.vsnic.crypto.primitive.Blake2s;
import io.vsnic.crypto.primitive.X25519;
import io.vsnic.crypto.primitive.XChaCha20Poly1305;

/**
 * One WireGuard interface (Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s, WireGuard paper section 5): our
 * static identity, our peers, the index table that maps receiver indices to handshakes and
 * keypairs, the cookie secret for DoS protection, and the rejection counters. It creates and
 * consumes handshake messages (types 1-3); transport messages (type 4) go through a per-thread
 * {@link TransportCodec}.
 *
 * <p>The device owns no socket and no thread. The data plane hands it received handshake
 * messages with {@link #consumeHandshake}, sends what it writes, and calls {@link #tick}
 * periodically. Time comes from the caller ({@code nowNs} arguments, on the clock of
 * {@link #nanoTime()}), so tests drive it with a fake clock.
 *
 * <p>Thread safe: handshake processing locks the peer concerned; the per-packet lookups are
 * lock-free.
 */
public final class WireguardDevice
{
    private static final ValueLayout.OfByte BYTE = ValueLayout.JAVA_BYTE;

    private final byte[] staticPrivate;
    private final byte[] staticPublic;
    /** {@code HASH(LABEL_MAC1 || Spub_ours)}: verifies MAC1 of the messages we receive. */
    private final byte[] mac1Key;
    /** {@code HASH(LABEL_COOKIE || Spub_ours)}: encrypts the cookie replies we send. */
    private final byte[] cookieKey;
    private final WireguardTimers timers;
    private final LongSupplier nanoClock;
    private final Tai64n.Source tai64n;
    private final HandshakeEntropy entropy;
    private final KeyLog.Writer keyLog;
    private volatile BooleanSupplier underLoad;
    private final IndexTable indexTable;
    private final ConcurrentHashMap<ByteBuffer, Peer> peers = new ConcurrentHashMap<>();
    private final LongAdder[] rejections = new LongAdder[Rejection.values().length + 1];
    private final byte[] cookieSecret = new byte[32];
    private long cookieSecretBirthNs = Peer.NONE;

    private WireguardDevice(final Builder builder)
    {
        this.staticPrivate = builder.keys.privateKey();
        this.staticPublic = builder.keys.publicKey();
        this.mac1Key = Blake2s.hash(SymmetricState.LABEL_MAC1, staticPublic);
        this.cookieKey = Blake2s.hash(SymmetricState.LABEL_COOKIE, staticPublic);
        this.timers = builder.timers;
        this.nanoClock = builder.nanoClock;
        this.tai64n = builder.tai64n;
        this.entropy = builder.entropy;
        this.keyLog = builder.keyLog;
        this.underLoad = builder.underLoad;
        this.indexTable = new IndexTable(builder.indexCapacity);
        for (int i = 0; i < rejections.length; i++)
        {
            rejections[i] = new LongAdder();
        }
        if (keyLog != null)
        {
            keyLog.localStaticPrivateKey(staticPrivate);
        }
    }

    /**
     * @param keys our static identity (its private key is copied).
     * @return a builder with the paper's timers, the system clocks and {@link SecureRandom}.
     */
    public static Builder builder(final DeviceKeys keys)
    {
        return new Builder(keys);
    }

    /**
     * Configuration of a {@link WireguardDevice}, validated by {@link #build()}.
     */
    public static final class Builder
    {
        private final DeviceKeys keys;
        private WireguardTimers timers = WireguardTimers.DEFAULT;
        private LongSupplier nanoClock = System::nanoTime;
        private Tai64n.Source tai64n = Tai64n.clock(Clock.systemUTC());
        private HandshakeEntropy entropy;
        private KeyLog.Writer keyLog;
        private BooleanSupplier underLoad = () -> false;
        private int indexCapacity = 1024;

        private Builder(final DeviceKeys keys)
        {
            this.keys = Objects.requireNonNull(keys, "keys");
        }

        /**
         * @param value protocol timers and limits.
         * @return this.
         */
        public Builder timers(final WireguardTimers value)
        {
            timers = Objects.requireNonNull(value, "timers");
            return this;
        }

        /**
         * @param value the monotonic clock ({@link System#nanoTime} by default) that {@code nowNs} arguments come from.
         * @return this.
         */
        public Builder nanoClock(final LongSupplier value)
        {
            nanoClock = Objects.requireNonNull(value, "nanoClock");
            return this;
        }

        /**
         * @param value where initiation timestamps come from (the wall clock, whitened, by default).
         * @return this.
         */
        public Builder tai64n(final Tai64n.Source value)
        {
            tai64n = Objects.requireNonNull(value, "tai64n");
            return this;
        }

        /**
         * @param value where random values come from ({@code new SecureRandom()} by default).
         * @return this.
         */
        public Builder entropy(final HandshakeEntropy value)
        {
            entropy = Objects.requireNonNull(value, "entropy");
            return this;
        }

        /**
         * @param value a key log that gets our static private key, each peer's public key, and the
         *              ephemeral private key (with pre-shared key) of every handshake message we create;
         *              null (the default) for none. For debugging with Wireshark only.
         * @return this.
         */
        public Builder keyLog(final KeyLog.Writer value)
        {
            keyLog = value;
            return this;
        }

        /**
         * @param value asked for every handshake message: while true, MAC2 (a cookie) is required.
         * @return this.
         */
        public Builder underLoad(final BooleanSupplier value)
        {
            underLoad = Objects.requireNonNull(value, "underLoad");
            return this;
        }

        /**
         * @param value initial index table size, a power of two (it grows as needed).
         * @return this.
         */
        public Builder indexCapacity(final int value)
        {
            indexCapacity = value;
            return this;
        }

        /**
         * @return the device.
         * @throws IllegalArgumentException when a value is invalid.
         */
        public WireguardDevice build()
        {
            if (indexCapacity < 16 || Integer.bitCount(indexCapacity) != 1)
            {
                throw new IllegalArgumentException("indexCapacity must be a power of two >= 16: " + indexCapacity);
            }
            if (entropy == null)
            {
                entropy = HandshakeEntropy.secure(new SecureRandom());
            }
            return new WireguardDevice(this);
        }
    }

    // ------------------------------------------------------------------ accessors

    /**
     * @return a copy of our static public key.
     */
    public byte[] publicKey()
    {
        return staticPublic.clone();
    }

    /**
     * @return the protocol timers.
     */
    public WireguardTimers timers()
    {
        return timers;
    }

    /**
     * @return the current time on the device's monotonic clock: what {@code nowNs} arguments expect.
     */
    public long nanoTime()
    {
        return nanoClock.getAsLong();
    }

    /**
     * @param value replaces the under-load signal (see {@link Builder#underLoad}).
     */
    public void underLoad(final BooleanSupplier value)
    {
        underLoad = Objects.requireNonNull(value, "underLoad");
    }

    /**
     * @param reason a rejection reason.
     * @return how many messages were rejected for it.
     */
    public long rejections(final Rejection reason)
    {
        return rejections[reason.id()].sum();
    }

    /**
     * @return how many handshakes and keypairs have live indices.
     */
    public int liveIndices()
    {
        return indexTable.size();
    }

    IndexTable indexTable()
    {
        return indexTable;
    }

    HandshakeEntropy entropy()
    {
        return entropy;
    }

    void count(final Rejection reason)
    {
        rejections[reason.id()].increment();
    }

    // ------------------------------------------------------------------ peers

    /**
     * Adds a peer.
     *
     * @param publicKey    its static public key (32 bytes).
     * @param presharedKey the 32-byte pre-shared key, or null for none (all zeros, as WireGuard).
     * @return the peer.
     * @throws IllegalArgumentException when a key has the wrong length, the public key is ours,
     *                                  already a peer, or a low-order point.
     */
    public Peer addPeer(final byte[] publicKey, final byte[] presharedKey)
    {
        if (publicKey.length != X25519.KEY_LENGTH || (presharedKey != null && presharedKey.length != 32))
        {
            throw new IllegalArgumentException("peer public key and pre-shared key must be 32 bytes");
        }
        if (Arrays.equals(publicKey, staticPublic))
        {
            throw new IllegalArgumentException("a peer cannot have our own public key");
        }
        final byte[] staticStatic = new byte[32];
        if (!X25519.sharedSecret(staticPrivate, publicKey, staticStatic))
        {
            throw new IllegalArgumentException("peer public key is a low-order point");
        }
        final Peer peer = new Peer(this, publicKey, presharedKey, staticStatic);
        if (peers.putIfAbsent(ByteBuffer.wrap(peer.publicKeyUnsafe()), peer) != null)
        {
            throw new IllegalArgumentException("peer " + peer + " already exists");
        }
        if (keyLog != null)
        {
            keyLog.remoteStaticPublicKey(publicKey);
        }
        return peer;
    }

    /**
     * @param publicKey a static public key.
     * @return that peer, or null.
     */
    public Peer peer(final byte[] publicKey)
    {
        return peers.get(ByteBuffer.wrap(publicKey));
    }

    /**
     * @return the peers, in no particular order.
     */
    public Collection<Peer> peers()
    {
        return List.copyOf(peers.values());
    }

    /**
     * Removes a peer and destroys its keys and handshake.
     *
     * @param peer the peer.
     */
    public void removePeer(final Peer peer)
    {
        if (peers.remove(ByteBuffer.wrap(peer.publicKeyUnsafe()), peer))
        {
            peer.destroy();
        }
    }

    // ------------------------------------------------------------------ timers

    /**
     * Runs every peer's timers ({@link Peer#tick}) and reports what to do.
     *
     * @param nowNs   the current monotonic time.
     * @param actions what to do for each fired timer.
     */
    public void tick(final long nowNs, final TimerActions actions)
    {
        for (final Peer peer : peers.values())
        {
            final int fired = peer.tick(nowNs);
            if ((fired & Peer.ACTION_KEYS_ZEROED) != 0)
            {
                actions.keysZeroed(peer);
            }
            if ((fired & Peer.ACTION_GAVE_UP) != 0)
            {
                actions.handshakeGaveUp(peer);
            }
            if ((fired & Peer.ACTION_SEND_INITIATION) != 0)
            {
                actions.sendInitiation(peer);
            }
            if ((fired & Peer.ACTION_SEND_KEEPALIVE) != 0)
            {
                actions.sendKeepalive(peer);
            }
        }
    }

    // ------------------------------------------------------------------ handshake initiation (message 1)

    /**
     * Creates a handshake initiation to a peer (paper section 5.4.2), replacing any initiation of
     * ours still pending for it, and starts its retransmission timer.
     *
     * @param peer   the peer.
     * @param out    where the message goes.
     * @param offset where in {@code out}; {@value WireguardMessages#INITIATION_LENGTH} bytes are written.
     * @param nowNs  the current monotonic time.
     * @return {@value WireguardMessages#INITIATION_LENGTH}.
     */
    public int createInitiation(final Peer peer, final MemorySegment out, final long offset, final long nowNs)
    {
        checkRoom(out, offset, INITIATION_LENGTH);
        final byte[] msg = new byte[INITIATION_LENGTH];
        synchronized (peer)
        {
            peer.dropHandshake();
            final SymmetricState state = SymmetricState.initial(peer.publicKeyUnsafe());
            final byte[] ephemeralPrivate = new byte[32];
            entropy.ephemeralPrivateKey(ephemeralPrivate);
            final byte[] ephemeralPublic = X25519.publicKey(ephemeralPrivate);
            state.mixChain(ephemeralPublic);
            state.mixHash(ephemeralPublic);
            final byte[] es = new byte[32];
            if (!X25519.sharedSecret(ephemeralPrivate, peer.publicKeyUnsafe(), es))
            {
                throw new IllegalStateException("DH(ephemeral, peer static) is zero: peer key was validated");
            }
            final byte[] encryptedStatic = state.encryptAndHash(state.mixKey(es), staticPublic);
            final byte[] timestamp = new byte[Tai64n.LENGTH];
            tai64n.now(timestamp, 0);
            final byte[] encryptedTimestamp = state.encryptAndHash(state.mixKey(peer.staticStatic), timestamp);

            final PendingHandshake hs;
            synchronized (indexTable)
            {
                hs = new PendingHandshake(peer, newIndex(), state, ephemeralPrivate);
                indexTable.put(hs);
            }
            msg[0] = TYPE_INITIATION;
            putIntLe(msg, INITIATION_SENDER_OFFSET, hs.localIndex);
            System.arraycopy(ephemeralPublic, 0, msg, INITIATION_EPHEMERAL_OFFSET, 32);
            System.arraycopy(encryptedStatic, 0, msg, INITIATION_STATIC_OFFSET, encryptedStatic.length);
            System.arraycopy(encryptedTimestamp, 0, msg, INITIATION_TIMESTAMP_OFFSET, encryptedTimestamp.length);
            addMacs(peer, msg, INITIATION_MAC1_OFFSET, nowNs);

            peer.handshake = hs;
            peer.handshakeInitiated(nowNs);
            if (keyLog != null)
            {
                keyLog.localEphemeralPrivateKey(ephemeralPrivate, psk(peer));
            }
            Arrays.fill(es, (byte)0);
        }
        MemorySegment.copy(msg, 0, out, BYTE, offset, INITIATION_LENGTH);
        return INITIATION_LENGTH;
    }

    // ------------------------------------------------------------------ receiving handshake messages

    /**
     * Consumes a received handshake initiation, handshake response or cookie reply. On an
     * initiation it writes our response into {@code reply} (92 bytes); under load without a valid
     * MAC2 it writes a cookie reply (64 bytes) instead. A rejected message changes no state.
     *
     * @param in            the received UDP payload.
     * @param offset        where it starts.
     * @param length        its length.
     * @param sourceAddress the sender's IP address bytes followed by its UDP port (big-endian), used
     *                      only for cookies (MAC2); may be null when {@code underLoad} is never true.
     * @param nowNs         the current monotonic time.
     * @param reply         where a reply goes (room for 92 bytes).
     * @param replyOffset   where in {@code reply}.
     * @param result        filled with what happened.
     * @return bytes written to {@code reply} (send them back to the source), 0 when there is nothing
     *         to send, or a negative {@link Rejection#code()}.
     */
    public int consumeHandshake(final MemorySegment in, final long offset, final int length,
        final byte[] sourceAddress, final long nowNs, final MemorySegment reply, final long replyOffset,
        final HandshakeResult result)
    {
        result.clear();
        if (length < TYPE_LENGTH)
        {
            return reject(Rejection.TRUNCATED, result);
        }
        final int type = in.get(INT_LE, offset);
        final int expected;
        switch (type)
        {
            case TYPE_INITIATION -> expected = INITIATION_LENGTH;
            case TYPE_RESPONSE -> expected = RESPONSE_LENGTH;
            case TYPE_COOKIE_REPLY -> expected = COOKIE_REPLY_LENGTH;
            default -> {
                return reject(Rejection.BAD_TYPE, result);
            }
        }
        if (length < expected)
        {
            return reject(Rejection.TRUNCATED, result);
        }
        if (length > expected)
        {
            return reject(Rejection.BAD_LENGTH, result);
        }
        final byte[] msg = in.asSlice(offset, expected).toArray(BYTE);
        if (type == TYPE_COOKIE_REPLY)
        {
            return consumeCookieReply(msg, nowNs, result);
        }

        final int mac1Offset = type == TYPE_INITIATION ? INITIATION_MAC1_OFFSET : RESPONSE_MAC1_OFFSET;
        if (!Blake2s.equalsConstantTime(Blake2s.mac(mac1Key, msg, 0, mac1Offset), 0, msg, mac1Offset, MAC_LENGTH))
        {
            return reject(Rejection.BAD_MAC1, result);
        }
        if (underLoad.getAsBoolean())
        {
            final byte[] cookie = cookieFor(sourceAddress, nowNs);
            final int mac2Offset = mac1Offset + MAC_LENGTH;
            if (!Blake2s.equalsConstantTime(Blake2s.mac(cookie, msg, 0, mac2Offset), 0, msg, mac2Offset, MAC_LENGTH))
            {
                checkRoom(reply, replyOffset, COOKIE_REPLY_LENGTH);
                writeCookieReply(msg, mac1Offset, cookie, reply, replyOffset);
                count(Rejection.COOKIE_REQUIRED);
                result.cookieRequired(COOKIE_REPLY_LENGTH);
                return COOKIE_REPLY_LENGTH;
            }
        }
        return type == TYPE_INITIATION ?
            consumeInitiation(msg, nowNs, reply, replyOffset, result) :
            consumeResponse(msg, nowNs, result);
    }

    private int consumeInitiation(final byte[] msg, final long nowNs, final MemorySegment reply,
        final long replyOffset, final HandshakeResult result)
    {
        checkRoom(reply, replyOffset, RESPONSE_LENGTH);
        final SymmetricState state = SymmetricState.initial(staticPublic);
        final byte[] initiatorEphemeral = Arrays.copyOfRange(msg, INITIATION_EPHEMERAL_OFFSET,
            INITIATION_EPHEMERAL_OFFSET + 32);
        state.mixChain(initiatorEphemeral);
        state.mixHash(initiatorEphemeral);
        final byte[] es = new byte[32];
        if (!X25519.sharedSecret(staticPrivate, initiatorEphemeral, es))
        {
            return reject(Rejection.INVALID_KEY, result);
        }
        final byte[] initiatorStatic = state.decryptAndHash(state.mixKey(es),
            Arrays.copyOfRange(msg, INITIATION_STATIC_OFFSET, INITIATION_STATIC_OFFSET + 48));
        Arrays.fill(es, (byte)0);
        if (initiatorStatic == null)
        {
            return reject(Rejection.DECRYPT_FAILED, result);
        }
        final Peer peer = peer(initiatorStatic);
        if (peer == null)
        {
            return reject(Rejection.UNKNOWN_PEER, result);
        }
        final byte[] timestamp = state.decryptAndHash(state.mixKey(peer.staticStatic.clone()),
            Arrays.copyOfRange(msg, INITIATION_TIMESTAMP_OFFSET, INITIATION_TIMESTAMP_OFFSET + 28));
        if (timestamp == null)
        {
            return reject(Rejection.DECRYPT_FAILED, result);
        }
        result.timestamp(timestamp);

        final byte[] response = new byte[RESPONSE_LENGTH];
        synchronized (peer)
        {
            if (Tai64n.compare(timestamp, peer.latestTimestamp) <= 0)
            {
                return reject(Rejection.STALE_TIMESTAMP, result);
            }
            if (peer.lastInitiationConsumedNs != Peer.NONE &&
                nowNs - peer.lastInitiationConsumedNs < timers.handshakeMinIntervalNs())
            {
                return reject(Rejection.HANDSHAKE_FLOOD, result);
            }
            // accepted: from here on state changes
            System.arraycopy(timestamp, 0, peer.latestTimestamp, 0, Tai64n.LENGTH);
            peer.lastInitiationConsumedNs = nowNs;
            peer.dropHandshake();

            final byte[] ephemeralPrivate = new byte[32];
            entropy.ephemeralPrivateKey(ephemeralPrivate);
            final byte[] ephemeralPublic = X25519.publicKey(ephemeralPrivate);
            state.mixChain(ephemeralPublic);
            state.mixHash(ephemeralPublic);
            final byte[] ee = new byte[32];
            final byte[] se = new byte[32];
            if (!X25519.sharedSecret(ephemeralPrivate, initiatorEphemeral, ee) ||
                !X25519.sharedSecret(ephemeralPrivate, peer.publicKeyUnsafe(), se))
            {
                throw new IllegalStateException("zero DH result with keys already checked");
            }
            state.mixChain(ee);
            state.mixChain(se);
            final byte[] encryptedNothing = state.encryptAndHash(state.mixKeyAndHash(peer.presharedKey()), new byte[0]);

            final byte[][] keys = state.split();
            final Keypair keypair;
            synchronized (indexTable)
            {
                keypair = new Keypair(peer, keys[1], keys[0], newIndex(), getIntLe(msg, INITIATION_SENDER_OFFSET),
                    false, nowNs, timers.rejectAfterMessages());
                indexTable.put(keypair);
            }

            response[0] = TYPE_RESPONSE;
            putIntLe(response, RESPONSE_SENDER_OFFSET, keypair.localIndex());
            System.arraycopy(msg, INITIATION_SENDER_OFFSET, response, RESPONSE_RECEIVER_OFFSET, 4);
            System.arraycopy(ephemeralPublic, 0, response, RESPONSE_EPHEMERAL_OFFSET, 32);
            System.arraycopy(encryptedNothing, 0, response, RESPONSE_EMPTY_OFFSET, encryptedNothing.length);
            addMacs(peer, response, RESPONSE_MAC1_OFFSET, nowNs);
            peer.installResponderKeypair(keypair, nowNs);
            if (keyLog != null)
            {
                keyLog.localEphemeralPrivateKey(ephemeralPrivate, psk(peer));
            }
            state.wipe();
            Arrays.fill(ephemeralPrivate, (byte)0);
            Arrays.fill(ee, (byte)0);
            Arrays.fill(se, (byte)0);
        }
        MemorySegment.copy(response, 0, reply, BYTE, replyOffset, RESPONSE_LENGTH);
        result.set(HandshakeResult.Kind.RESPONSE_WRITTEN, peer, RESPONSE_LENGTH);
        return RESPONSE_LENGTH;
    }

    private int consumeResponse(final byte[] msg, final long nowNs, final HandshakeResult result)
    {
        final int receiver = getIntLe(msg, RESPONSE_RECEIVER_OFFSET);
        final IndexTable.Entry entry = indexTable.get(receiver);
        if (!(entry instanceof PendingHandshake pending))
        {
            return reject(entry == null ? Rejection.UNKNOWN_INDEX : Rejection.UNEXPECTED_MESSAGE, result);
        }
        final Peer peer = pending.peer;
        synchronized (peer)
        {
            final PendingHandshake hs = peer.handshake;
            if (hs != pending)
            {
                return reject(Rejection.UNEXPECTED_MESSAGE, result);
            }
            final SymmetricState state = hs.state.copy();
            final byte[] responderEphemeral = Arrays.copyOfRange(msg, RESPONSE_EPHEMERAL_OFFSET,
                RESPONSE_EPHEMERAL_OFFSET + 32);
            state.mixChain(responderEphemeral);
            state.mixHash(responderEphemeral);
            final byte[] ee = new byte[32];
            final byte[] se = new byte[32];
            if (!X25519.sharedSecret(hs.ephemeralPrivate, responderEphemeral, ee) ||
                !X25519.sharedSecret(staticPrivate, responderEphemeral, se))
            {
                state.wipe();
                return reject(Rejection.INVALID_KEY, result);
            }
            state.mixChain(ee);
            state.mixChain(se);
            Arrays.fill(ee, (byte)0);
            Arrays.fill(se, (byte)0);
            final byte[] nothing = state.decryptAndHash(state.mixKeyAndHash(peer.presharedKey()),
                Arrays.copyOfRange(msg, RESPONSE_EMPTY_OFFSET, RESPONSE_EMPTY_OFFSET + 16));
            if (nothing == null)
            {
                state.wipe();
                return reject(Rejection.DECRYPT_FAILED, result);
            }
            // accepted
            final byte[][] keys = state.split();
            state.wipe();
            final Keypair keypair = new Keypair(peer, keys[0], keys[1], hs.localIndex,
                getIntLe(msg, RESPONSE_SENDER_OFFSET), true, nowNs, timers.rejectAfterMessages());
            indexTable.replace(hs, keypair);
            peer.handshake = null;
            hs.wipe();
            peer.installInitiatorKeypair(keypair, nowNs);
        }
        result.set(HandshakeResult.Kind.RESPONSE_CONSUMED, peer, 0);
        return 0;
    }

    private int consumeCookieReply(final byte[] msg, final long nowNs, final HandshakeResult result)
    {
        final IndexTable.Entry entry = indexTable.get(getIntLe(msg, COOKIE_RECEIVER_OFFSET));
        final Peer peer;
        if (entry instanceof PendingHandshake hs)
        {
            peer = hs.peer;
        }
        else if (entry instanceof Keypair kp)
        {
            peer = kp.peer();
        }
        else
        {
            return reject(Rejection.UNKNOWN_INDEX, result);
        }
        synchronized (peer)
        {
            if (!peer.haveSentMac1)
            {
                return reject(Rejection.UNEXPECTED_MESSAGE, result);
            }
            final byte[] cookie = XChaCha20Poly1305.open(peer.cookieKey,
                Arrays.copyOfRange(msg, COOKIE_NONCE_OFFSET, COOKIE_NONCE_OFFSET + 24),
                Arrays.copyOfRange(msg, COOKIE_ENCRYPTED_OFFSET, COOKIE_ENCRYPTED_OFFSET + 32),
                peer.lastMac1Sent);
            if (cookie == null)
            {
                return reject(Rejection.DECRYPT_FAILED, result);
            }
            System.arraycopy(cookie, 0, peer.cookie, 0, MAC_LENGTH);
            peer.cookieReceivedNs = nowNs;
            peer.haveSentMac1 = false;
        }
        result.set(HandshakeResult.Kind.COOKIE_CONSUMED, peer, 0);
        return 0;
    }

    // ------------------------------------------------------------------ MACs and cookies

    /** Writes MAC1 (and MAC2 when we hold a fresh cookie from the peer). Caller holds the peer's lock. */
    private void addMacs(final Peer peer, final byte[] msg, final int mac1Offset, final long nowNs)
    {
        final byte[] mac1 = Blake2s.mac(peer.mac1Key, msg, 0, mac1Offset);
        System.arraycopy(mac1, 0, msg, mac1Offset, MAC_LENGTH);
        System.arraycopy(mac1, 0, peer.lastMac1Sent, 0, MAC_LENGTH);
        peer.haveSentMac1 = true;
        final int mac2Offset = mac1Offset + MAC_LENGTH;
        if (peer.cookieReceivedNs != Peer.NONE && nowNs - peer.cookieReceivedNs < timers.cookieValidityNs())
        {
            System.arraycopy(Blake2s.mac(peer.cookie, msg, 0, mac2Offset), 0, msg, mac2Offset, MAC_LENGTH);
        }
        else
        {
            Arrays.fill(msg, mac2Offset, mac2Offset + MAC_LENGTH, (byte)0);
        }
    }

    /** {@code τ = MAC(Rm, source address)}, with the secret Rm renewed every COOKIE_REFRESH_TIME. */
    private byte[] cookieFor(final byte[] sourceAddress, final long nowNs)
    {
        synchronized (cookieSecret)
        {
            if (cookieSecretBirthNs == Peer.NONE || nowNs - cookieSecretBirthNs >= timers.cookieRefreshTimeNs())
            {
                entropy.randomBytes(cookieSecret);
                cookieSecretBirthNs = nowNs;
            }
            final byte[] address = sourceAddress == null ? new byte[0] : sourceAddress;
            return Blake2s.mac(cookieSecret, address, 0, address.length);
        }
    }

    private void writeCookieReply(final byte[] msg, final int mac1Offset, final byte[] cookie,
        final MemorySegment reply, final long replyOffset)
    {
        final byte[] out = new byte[COOKIE_REPLY_LENGTH];
        out[0] = TYPE_COOKIE_REPLY;
        // the receiver is the sender index of the message we answer (same offset in types 1 and 2)
        System.arraycopy(msg, INITIATION_SENDER_OFFSET, out, COOKIE_RECEIVER_OFFSET, 4);
        final byte[] nonce = new byte[XChaCha20Poly1305.NONCE_LENGTH];
        entropy.randomBytes(nonce);
        System.arraycopy(nonce, 0, out, COOKIE_NONCE_OFFSET, nonce.length);
        final byte[] encrypted = XChaCha20Poly1305.seal(cookieKey, nonce, cookie,
            Arrays.copyOfRange(msg, mac1Offset, mac1Offset + MAC_LENGTH));
        System.arraycopy(encrypted, 0, out, COOKIE_ENCRYPTED_OFFSET, encrypted.length);
        MemorySegment.copy(out, 0, reply, BYTE, replyOffset, COOKIE_REPLY_LENGTH);
    }

    // ------------------------------------------------------------------ helpers

    /** A random index not in use. Caller holds the index table's lock until it has put the entry. */
    private int newIndex()
    {
        int index;
        do
        {
            index = entropy.index();
        }
        while (indexTable.contains(index));
        return index;
    }

    private int reject(final Rejection reason, final HandshakeResult result)
    {
        count(reason);
        return result.reject(reason);
    }

    private static byte[] psk(final Peer peer)
    {
        final byte[] psk = peer.presharedKey();
        for (final byte b : psk)
        {
            if (b != 0)
            {
                return psk;
            }
        }
        return null;
    }

    private static void checkRoom(final MemorySegment segment, final long offset, final int length)
    {
        if (offset < 0 || segment.byteSize() - offset < length)
        {
            throw new IllegalArgumentException("need " + length + " bytes at offset " + offset + " of a " +
                segment.byteSize() + "-byte segment");
        }
    }

    static void putIntLe(final byte[] b, final int offset, final int value)
    {
        b[offset] = (byte)value;
        b[offset + 1] = (byte)(value >>> 8);
        b[offset + 2] = (byte)(value >>> 16);
        b[offset + 3] = (byte)(value >>> 24);
    }

    static int getIntLe(final byte[] b, final int offset)
    {
        return (b[offset] & 0xFF) | (b[offset + 1] & 0xFF) << 8 | (b[offset + 2] & 0xFF) << 16 |
            (b[offset + 3] & 0xFF) << 24;
    }
}
