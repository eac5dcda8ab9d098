package io.vsnic.crypto.wireguard;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

import org.junit.jupiter.api.Test;

import io.vsnic.crypto.DeviceKeys;
import io.vsnic.crypto.primitive.Blake2s;

/**
 * Every kind of bad input is rejected for its own counted reason and changes no state: neither
 * device's keypairs, windows, counters, indices, timestamps, cookies nor handshakes, nor the
 * message buffer.
 */
class RejectionTest
{
    private static void assertRejectedWithoutStateChange(final Pair pair, final WireguardDevice device,
        final Rejection reason, final Runnable delivery)
    {
        final State beforeA = State.of(pair.a);
        final State beforeB = State.of(pair.b);
        final long count = device.rejections(reason);
        delivery.run();
        assertEquals(count + 1, device.rejections(reason), reason + " counted once");
        assertEquals(beforeA, State.of(pair.a), reason + " changed state of a");
        assertEquals(beforeB, State.of(pair.b), reason + " changed state of b");
    }

    private static void handshake(final Pair pair, final WireguardDevice device, final byte[] message,
        final Rejection reason)
    {
        assertRejectedWithoutStateChange(pair, device, reason, () ->
        {
            final byte[] copy = message.clone();
            assertNull(pair.deliver(device, copy, null), reason.toString());
            assertEquals(reason, pair.result.rejection());
            assertEquals(HandshakeResult.Kind.REJECTED, pair.result.kind());
        });
    }

    private static void transport(final Pair pair, final TransportCodec codec, final WireguardDevice device,
        final byte[] message, final int length, final Rejection reason)
    {
        assertRejectedWithoutStateChange(pair, device, reason, () ->
        {
            final byte[] buffer = message.clone();
            assertEquals(reason.code(), codec.open(MemorySegment.ofArray(buffer), 0, length, pair.now()), reason.toString());
            assertArrayEquals(message, buffer, reason + ": the buffer must not be decrypted");
            assertNull(codec.lastKeypair());
        });
    }

    /** A session in both directions plus one confirmed message each way. */
    private static Pair established()
    {
        final Pair pair = new Pair();
        pair.handshake();
        assertEquals(16, pair.open(pair.codecB, pair.seal(pair.codecA, pair.peerB.current(), 10, (byte)1)));
        assertNotNull(pair.peerA.current());
        return pair;
    }

    @Test
    void shouldRejectBitFlippedTransportCiphertextTagAndHeader()
    {
        final Pair pair = established();
        final byte[] good = pair.seal(pair.codecA, pair.peerB.current(), 64, (byte)9);
        for (final int at : new int[] {16, 40, 79, 80, 95})
        {
            final byte[] bad = good.clone();
            bad[at] ^= 0x10;
            transport(pair, pair.codecB, pair.b, bad, bad.length, Rejection.DECRYPT_FAILED);
        }
        final byte[] otherCounter = good.clone();
        otherCounter[8] ^= 1;
        transport(pair, pair.codecB, pair.b, otherCounter, otherCounter.length, Rejection.DECRYPT_FAILED);
        assertEquals(64, pair.open(pair.codecB, good), "the original still opens");
    }

    @Test
    void shouldRejectReplaysInsideTheWindowAndTooOldOnes()
    {
        final Pair pair = established();
        final Keypair kp = pair.peerB.current();
        final byte[] first = pair.seal(pair.codecA, kp, 32, (byte)1);
        assertEquals(32, pair.open(pair.codecB, first));
        transport(pair, pair.codecB, pair.b, first, first.length, Rejection.REPLAY);

        kp.setMessagesSentForTest(20_000);
        final byte[] ahead = pair.seal(pair.codecA, kp, 32, (byte)2);
        assertEquals(32, pair.open(pair.codecB, ahead));
        transport(pair, pair.codecB, pair.b, ahead, ahead.length, Rejection.REPLAY);
        kp.setMessagesSentForTest(20_000 - 8129);
        final byte[] tooOld = pair.seal(pair.codecA, kp, 32, (byte)3);
        transport(pair, pair.codecB, pair.b, tooOld, tooOld.length, Rejection.REPLAY);
        kp.setMessagesSentForTest(20_000 - 8128);
        assertEquals(32, pair.open(pair.codecB, pair.seal(pair.codecA, kp, 32, (byte)4)), "just inside the window");
    }

    @Test
    void shouldRejectTransportCountersAtTheLimitBeforeDecrypting()
    {
        final Pair pair = established();
        final byte[] message = pair.seal(pair.codecA, pair.peerB.current(), 16, (byte)1);
        MemorySegment.ofArray(message).set(WireguardMessages.LONG_LE, 8, WireguardTimers.REJECT_AFTER_MESSAGES);
        transport(pair, pair.codecB, pair.b, message, message.length, Rejection.COUNTER_LIMIT);
    }

    @Test
    void shouldRejectTransportOnAnUnknownIndexOrOfTheWrongType()
    {
        final Pair pair = established();
        final byte[] message = pair.seal(pair.codecA, pair.peerB.current(), 16, (byte)1);
        final byte[] unknown = message.clone();
        unknown[4] ^= 0x55;
        transport(pair, pair.codecB, pair.b, unknown, unknown.length, Rejection.UNKNOWN_INDEX);

        // an index that names a pending handshake, not a keypair
        final byte[] initiation = pair.initiation(pair.a, pair.peerB);
        final byte[] toHandshake = message.clone();
        System.arraycopy(initiation, 4, toHandshake, 4, 4);
        transport(pair, pair.codecA, pair.a, toHandshake, toHandshake.length, Rejection.UNKNOWN_INDEX);

        final byte[] badType = message.clone();
        badType[1] = 1;
        transport(pair, pair.codecB, pair.b, badType, badType.length, Rejection.BAD_TYPE);
    }

    @Test
    void shouldRejectTruncatedMessagesOfEveryType()
    {
        final Pair pair = established();
        final byte[] initiation = pair.initiation(pair.a, pair.peerB);
        final byte[] transport = pair.seal(pair.codecA, pair.peerB.current(), 16, (byte)1);
        transport(pair, pair.codecB, pair.b, transport, 31, Rejection.TRUNCATED);
        transport(pair, pair.codecB, pair.b, transport, 3, Rejection.TRUNCATED);
        // cut by one tag's worth: the tag no longer verifies
        transport(pair, pair.codecB, pair.b, transport, transport.length - 16, Rejection.DECRYPT_FAILED);

        handshake(pair, pair.b, Arrays.copyOf(initiation, 147), Rejection.TRUNCATED);
        handshake(pair, pair.b, Arrays.copyOf(initiation, 3), Rejection.TRUNCATED);
        handshake(pair, pair.b, Arrays.copyOf(initiation, 149), Rejection.BAD_LENGTH);
        final byte[] response = new byte[92];
        response[0] = 2;
        handshake(pair, pair.a, Arrays.copyOf(response, 91), Rejection.TRUNCATED);
        final byte[] cookie = new byte[64];
        cookie[0] = 3;
        handshake(pair, pair.a, Arrays.copyOf(cookie, 63), Rejection.TRUNCATED);
        final byte[] five = initiation.clone();
        five[0] = 5;
        handshake(pair, pair.b, five, Rejection.BAD_TYPE);
        final byte[] reserved = initiation.clone();
        reserved[3] = 1;
        handshake(pair, pair.b, reserved, Rejection.BAD_TYPE);
        final byte[] transportAsHandshake = transport.clone();
        handshake(pair, pair.b, transportAsHandshake, Rejection.BAD_TYPE);
    }

    @Test
    void shouldRejectAWrongMac1()
    {
        final Pair pair = established();
        final byte[] initiation = pair.initiation(pair.a, pair.peerB);
        for (final int at : new int[] {0 + 8, 50, 116, 131})
        {
            final byte[] bad = initiation.clone();
            bad[at] ^= 1;
            handshake(pair, pair.b, bad, Rejection.BAD_MAC1);
        }
        // meant for someone else: MAC1 is keyed with the receiver's public key
        handshake(pair, pair.a, initiation, Rejection.BAD_MAC1);
    }

    @Test
    void shouldRejectAnInitiationFromAnUnknownStaticKey()
    {
        final Pair pair = established();
        final WireguardDevice stranger = WireguardDevice.builder(DeviceKeys.fromPrivateKey(new byte[] {
            1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32}))
            .entropy(new TestEntropy(9)).build();
        final Peer toB = stranger.addPeer(pair.b.publicKey(), null);
        final MemorySegment out = MemorySegment.ofArray(new byte[148]);
        stranger.createInitiation(toB, out, 0, pair.now());
        handshake(pair, pair.b, out.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE), Rejection.UNKNOWN_PEER);
    }

    @Test
    void shouldRejectStaleReplaysOfAnInitiation()
    {
        final Pair pair = new Pair();
        final byte[] older = pair.initiation(pair.a, pair.peerB);
        pair.advanceSeconds(1);
        final byte[] newer = pair.initiation(pair.a, pair.peerB);
        assertNotNull(pair.deliver(pair.b, newer, null));
        pair.advanceSeconds(1);
        handshake(pair, pair.b, newer, Rejection.STALE_TIMESTAMP);
        handshake(pair, pair.b, older, Rejection.STALE_TIMESTAMP);
    }

    @Test
    void shouldRejectAFloodOfInitiations()
    {
        final Pair pair = new Pair();
        assertNotNull(pair.deliver(pair.b, pair.initiation(pair.a, pair.peerB), null));
        pair.advanceNs(19_000_000);
        handshake(pair, pair.b, pair.initiation(pair.a, pair.peerB), Rejection.HANDSHAKE_FLOOD);
        pair.advanceNs(1_000_000);
        assertNotNull(pair.deliver(pair.b, pair.initiation(pair.a, pair.peerB), null));
    }

    @Test
    void shouldRejectResponsesAndCookieRepliesNobodyWaitsFor()
    {
        final Pair pair = new Pair();
        final byte[] response = pair.deliver(pair.b, pair.initiation(pair.a, pair.peerB), null);
        assertNotNull(pair.deliver(pair.a, response, null));
        // the same response again: its index now names a keypair, not a handshake
        handshake(pair, pair.a, response, Rejection.UNEXPECTED_MESSAGE);
        final byte[] unknown = response.clone();
        unknown[8] ^= 0x3c;
        handshake(pair, pair.a, unknown, Rejection.BAD_MAC1);

        // a response to an initiation we have since replaced
        final byte[] first = pair.initiation(pair.a, pair.peerB);
        pair.advanceSeconds(1);
        final byte[] answerToFirst = pair.deliver(pair.b, first, null);
        pair.initiation(pair.a, pair.peerB);
        // its receiver index is gone from the table; MAC1 is still right, so the index check decides
        handshake(pair, pair.a, answerToFirst, Rejection.UNKNOWN_INDEX);

        final byte[] cookie = new byte[64];
        cookie[0] = 3;
        handshake(pair, pair.a, cookie, Rejection.UNKNOWN_INDEX);
    }

    @Test
    void shouldRejectATamperedResponseAndCookieReply()
    {
        final Pair pair = new Pair();
        final byte[] initiation = pair.initiation(pair.a, pair.peerB);
        final byte[] response = pair.deliver(pair.b, initiation, null);
        final byte[] forged = response.clone();
        forged[50] ^= 1;
        // re-MAC it so that only the AEAD can notice
        final byte[] mac1 = Blake2s.mac(Blake2s.hash(SymmetricState.LABEL_MAC1, pair.a.publicKey()), forged, 0, 60);
        System.arraycopy(mac1, 0, forged, 60, 16);
        handshake(pair, pair.a, forged, Rejection.DECRYPT_FAILED);
        assertNotNull(pair.deliver(pair.a, response, null), "the genuine response still completes");

        pair.underLoadB = true;
        final byte[] retry = pair.initiation(pair.a, pair.peerB);
        pair.advanceSeconds(1);
        final byte[] cookieReply = pair.deliver(pair.b, retry, new byte[] {1, 2, 3, 4, 0, 5});
        final byte[] badCookie = cookieReply.clone();
        badCookie[40] ^= 1;
        handshake(pair, pair.a, badCookie, Rejection.DECRYPT_FAILED);
        assertNotNull(pair.deliver(pair.a, cookieReply, null));
    }

    @Test
    void shouldRefuseToSealOrOpenWithAnExpiredOrExhaustedKeypair()
    {
        final Pair pair = established();
        final Keypair kp = pair.peerB.current();
        final byte[] message = pair.seal(pair.codecA, kp, 16, (byte)1);
        pair.advanceSeconds(180);
        transport(pair, pair.codecB, pair.b, message, message.length, Rejection.EXPIRED_KEYPAIR);
        final MemorySegment buf = MemorySegment.ofArray(new byte[64]);
        assertEquals(Rejection.EXPIRED_KEYPAIR.code(), pair.codecA.seal(kp, buf, 16, 16, 0, pair.now()));

        final Pair fresh = established();
        final Keypair k2 = fresh.peerB.current();
        k2.setMessagesSentForTest(WireguardTimers.REJECT_AFTER_MESSAGES - 1);
        assertEquals(48, fresh.codecA.seal(k2, MemorySegment.ofArray(new byte[64]), 16, 16, 0, fresh.now()), "last counter");
        assertEquals(Rejection.COUNTER_LIMIT.code(), fresh.codecA.seal(k2, MemorySegment.ofArray(new byte[64]), 16, 16, 0, fresh.now()));
        assertNull(fresh.peerB.sendingKeypair(fresh.now()), "exhausted keypair is not offered for sending");
    }
}
