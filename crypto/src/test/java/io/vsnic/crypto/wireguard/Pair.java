package io.vsnic.crypto.wireguard;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HexFormat;
import java.util.concurrent.atomic.AtomicLong;

import io.vsnic.crypto.DeviceKeys;

/**
 * Two devices that know each other, a fake monotonic clock and a fake wall clock, for protocol
 * tests: {@code a} initiates unless a test says otherwise.
 */
final class Pair
{
    static final byte[] STATIC_A = HexFormat.of().parseHex("a8b1c2d3e4f50617283940516273849500112233445566778899aabbccddee4f");
    static final byte[] STATIC_B = HexFormat.of().parseHex("c0ffee00112233445566778899aabbccddeeff00112233445566778899aabb5c");
    static final long START_NS = 1_000_000_000_000L;
    static final int MTU = 1420;

    final AtomicLong clock = new AtomicLong(START_NS);
    final AtomicLong wallSeconds = new AtomicLong(1_700_000_000L);
    final TestEntropy entropyA = new TestEntropy(1);
    final TestEntropy entropyB = new TestEntropy(2);
    final WireguardDevice a;
    final WireguardDevice b;
    final Peer peerB;
    final Peer peerA;
    final TransportCodec codecA;
    final TransportCodec codecB;
    final HandshakeResult result = new HandshakeResult();
    boolean underLoadB;

    Pair()
    {
        this(WireguardTimers.DEFAULT, null);
    }

    Pair(final WireguardTimers timers, final byte[] presharedKey)
    {
        a = WireguardDevice.builder(DeviceKeys.fromPrivateKey(STATIC_A)).timers(timers).entropy(entropyA)
            .nanoClock(clock::get).tai64n(this::tai64n).build();
        b = WireguardDevice.builder(DeviceKeys.fromPrivateKey(STATIC_B)).timers(timers).entropy(entropyB)
            .nanoClock(clock::get).tai64n(this::tai64n).underLoad(() -> underLoadB).build();
        peerB = a.addPeer(b.publicKey(), presharedKey);
        peerA = b.addPeer(a.publicKey(), presharedKey);
        codecA = new TransportCodec(a, MTU);
        codecB = new TransportCodec(b, MTU);
    }

    private void tai64n(final byte[] dst, final int offset)
    {
        // one second further for every initiation, so that none is stale
        Tai64n.encode(wallSeconds.getAndIncrement(), 0, dst, offset);
    }

    long now()
    {
        return clock.get();
    }

    void advanceNs(final long nanos)
    {
        clock.addAndGet(nanos);
    }

    void advanceSeconds(final double seconds)
    {
        clock.addAndGet((long)(seconds * 1e9));
    }

    /** Initiation from {@code from} to its peer. */
    byte[] initiation(final WireguardDevice from, final Peer to)
    {
        final MemorySegment out = MemorySegment.ofArray(new byte[WireguardMessages.INITIATION_LENGTH]);
        from.createInitiation(to, out, 0, now());
        return out.toArray(ValueLayout.JAVA_BYTE);
    }

    /** Feeds a handshake message to a device; returns the reply bytes (empty when none) or null when rejected. */
    byte[] deliver(final WireguardDevice to, final byte[] message, final byte[] source)
    {
        final MemorySegment reply = MemorySegment.ofArray(new byte[128]);
        final int n = to.consumeHandshake(MemorySegment.ofArray(message), 0, message.length, source, now(), reply, 0, result);
        if (n < 0)
        {
            return null;
        }
        return reply.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE);
    }

    /** A full handshake, a initiating: returns after a has consumed the response. */
    void handshake()
    {
        handshake(a, peerB, b);
    }

    void handshake(final WireguardDevice initiator, final Peer responderPeer, final WireguardDevice responder)
    {
        final byte[] response = deliver(responder, initiation(initiator, responderPeer), null);
        assertEquals(HandshakeResult.Kind.RESPONSE_WRITTEN, result.kind(), "initiation rejected: " + result);
        assertEquals(0, deliver(initiator, response, null).length);
        assertEquals(HandshakeResult.Kind.RESPONSE_CONSUMED, result.kind(), "response rejected: " + result);
    }

    /** Seals a packet of {@code length} bytes of value {@code fill} with the given keypair. */
    byte[] seal(final TransportCodec codec, final Keypair kp, final int length, final byte fill)
    {
        final MemorySegment buf = MemorySegment.ofArray(new byte[WireguardMessages.transportLength(length, MTU)]);
        buf.asSlice(WireguardMessages.TRANSPORT_DATA_OFFSET, length).fill(fill);
        final int n = codec.seal(kp, buf, WireguardMessages.TRANSPORT_DATA_OFFSET, length, 0, now());
        assertEquals(buf.byteSize(), n, n < 0 ? Rejection.ofCode(n).toString() : "length");
        return buf.toArray(ValueLayout.JAVA_BYTE);
    }

    /** Opens a transport message on a copy; returns the codec's result. */
    int open(final TransportCodec codec, final byte[] message)
    {
        return codec.open(MemorySegment.ofArray(message.clone()), 0, message.length, now());
    }
}
