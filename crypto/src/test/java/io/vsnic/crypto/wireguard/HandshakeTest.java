package io.vsnic.crypto.wireguard;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;

import org.junit.jupiter.api.Test;

import io.vsnic.crypto.DeviceKeys;
import io.vsnic.crypto.primitive.Blake2s;
import io.vsnic.crypto.primitive.ChaCha20Poly1305;
import io.vsnic.crypto.primitive.X25519;

/**
 * Handshakes between two in-memory devices with fixed static and ephemeral keys.
 *
 * <p>Where the independent check comes from: {@link #shouldDeriveTransportKeysThatAStraightLineTranscriptionOfThePaperDerives}
 * recomputes the whole handshake from the paper's formulas (section 5.4) using only the primitives,
 * not vsnic's state machine; the primitives themselves are checked against RFC vectors and the JDK
 * and Bouncy Castle. The strongest independent vector is the real Linux-kernel capture replayed by
 * {@code dataplane/.../WireguardCaptureTest}, which vsnic reproduces byte for byte.
 */
class HandshakeTest
{
    private static final HexFormat HEX = HexFormat.of();
    private static final byte[] EPHEMERAL_A = HEX.parseHex("e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfe7f");
    private static final byte[] EPHEMERAL_B = HEX.parseHex("101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e6f");

    private static byte[] cat(final byte[]... parts)
    {
        int n = 0;
        for (final byte[] p : parts)
        {
            n += p.length;
        }
        final byte[] out = new byte[n];
        int at = 0;
        for (final byte[] p : parts)
        {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }

    private static byte[] dh(final byte[] priv, final byte[] pub)
    {
        final byte[] out = new byte[32];
        assertTrue(X25519.sharedSecret(priv, pub, out));
        return out;
    }

    private static byte[] aead(final byte[] key, final byte[] plain, final byte[] auth)
    {
        return new ChaCha20Poly1305().seal(key, new byte[12], plain, auth);
    }

    @Test
    void shouldDeriveTransportKeysThatAStraightLineTranscriptionOfThePaperDerives()
    {
        final Pair pair = new Pair();
        pair.entropyA.ephemeral(EPHEMERAL_A).index(0x11111111);
        pair.entropyB.ephemeral(EPHEMERAL_B).index(0x22222222);
        final byte[] initiation = pair.initiation(pair.a, pair.peerB);
        final byte[] response = pair.deliver(pair.b, initiation, null);
        pair.deliver(pair.a, response, null);

        // paper section 5.4.2, initiator
        final byte[] sPubI = DeviceKeys.fromPrivateKey(Pair.STATIC_A).publicKey();
        final byte[] sPubR = DeviceKeys.fromPrivateKey(Pair.STATIC_B).publicKey();
        final byte[] ePubI = X25519.publicKey(EPHEMERAL_A);
        byte[] c = Blake2s.hash("Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s".getBytes(StandardCharsets.US_ASCII));
        byte[] h = Blake2s.hash(c, "WireGuard v1 zx2c4 Jason@zx2c4.com".getBytes(StandardCharsets.US_ASCII));
        h = Blake2s.hash(h, sPubR);
        c = Blake2s.kdf(1, c, ePubI)[0];
        h = Blake2s.hash(h, ePubI);
        byte[][] ck = Blake2s.kdf(2, c, dh(EPHEMERAL_A, sPubR));
        c = ck[0];
        final byte[] encStatic = aead(ck[1], sPubI, h);
        h = Blake2s.hash(h, encStatic);
        ck = Blake2s.kdf(2, c, dh(Pair.STATIC_A, sPubR));
        c = ck[0];
        final byte[] timestamp = Arrays.copyOfRange(initiation, 88, 88 + 28);
        h = Blake2s.hash(h, timestamp);
        assertArrayEquals(encStatic, Arrays.copyOfRange(initiation, 40, 88));
        assertArrayEquals(Blake2s.mac(Blake2s.hash("mac1----".getBytes(StandardCharsets.US_ASCII), sPubR), initiation, 0, 116),
            Arrays.copyOfRange(initiation, 116, 132));
        assertArrayEquals(new byte[16], Arrays.copyOfRange(initiation, 132, 148));
        assertEquals(0x11111111, WireguardDevice.getIntLe(initiation, 4));

        // section 5.4.3, responder
        final byte[] ePubR = X25519.publicKey(EPHEMERAL_B);
        c = Blake2s.kdf(1, c, ePubR)[0];
        h = Blake2s.hash(h, ePubR);
        c = Blake2s.kdf(1, c, dh(EPHEMERAL_B, ePubI))[0];
        c = Blake2s.kdf(1, c, dh(EPHEMERAL_B, sPubI))[0];
        final byte[][] ctk = Blake2s.kdf(3, c, new byte[32]);
        c = ctk[0];
        h = Blake2s.hash(h, ctk[1]);
        final byte[] empty = aead(ctk[2], new byte[0], h);
        assertArrayEquals(empty, Arrays.copyOfRange(response, 44, 60));
        assertArrayEquals(ePubR, Arrays.copyOfRange(response, 12, 44));
        assertEquals(0x22222222, WireguardDevice.getIntLe(response, 4));
        assertEquals(0x11111111, WireguardDevice.getIntLe(response, 8));

        // section 5.4.5: (T_send_i, T_recv_i) = KDF2(C, ε)
        final byte[][] t = Blake2s.kdf(2, c, new byte[0]);
        final Keypair ki = pair.peerB.current();
        final Keypair kr = pair.peerA.next();
        assertArrayEquals(t[0], ki.sendKey());
        assertArrayEquals(t[1], ki.receiveKey());
        assertArrayEquals(t[0], kr.receiveKey());
        assertArrayEquals(t[1], kr.sendKey());
        assertEquals(0x22222222, ki.remoteIndex());
        assertEquals(0x11111111, kr.remoteIndex());
        assertTrue(ki.isInitiator());
        assertTrue(!kr.isInitiator());
    }

    @Test
    void shouldCarryTrafficBothWaysOnlyAfterTheResponderHasHeardTheInitiator()
    {
        final Pair pair = new Pair();
        pair.handshake();
        final Keypair ki = pair.peerB.sendingKeypair(pair.now());
        assertNotNull(ki, "the initiator sends as soon as it has the response");
        assertNull(pair.peerA.sendingKeypair(pair.now()), "the responder waits for the first transport message");
        assertNotNull(pair.peerA.next());

        final byte[] first = pair.seal(pair.codecA, ki, 100, (byte)0x42);
        final MemorySegment in = MemorySegment.ofArray(first);
        assertEquals(112, pair.codecB.open(in, 0, first.length, pair.now()));
        for (int i = 0; i < 100; i++)
        {
            assertEquals(0x42, in.get(ValueLayout.JAVA_BYTE, 16 + i));
        }
        assertSame(pair.peerA, pair.codecB.lastPeer());
        final Keypair kr = pair.peerA.sendingKeypair(pair.now());
        assertNotNull(kr, "confirmed by the first transport message");
        assertNull(pair.peerA.next());

        final byte[] back = pair.seal(pair.codecB, kr, 1420, (byte)7);
        assertEquals(1420 + 32, back.length, "1420 = MTU: not padded further");
        assertEquals(1420, pair.open(pair.codecA, back));
        final byte[] keepalive = pair.seal(pair.codecB, kr, 0, (byte)0);
        assertEquals(32, keepalive.length);
        assertEquals(0, pair.open(pair.codecA, keepalive));
    }

    @Test
    void shouldCompleteAHandshakeWithAPresharedKeyAndRejectAMismatchedOne()
    {
        final byte[] psk = new byte[32];
        Arrays.fill(psk, (byte)0x88);
        final Pair pair = new Pair(WireguardTimers.DEFAULT, psk);
        pair.handshake();
        assertEquals(112, pair.open(pair.codecB, pair.seal(pair.codecA, pair.peerB.current(), 100, (byte)1)));

        // a responder with another PSK: the initiator cannot open the response
        final Pair wrong = new Pair(WireguardTimers.DEFAULT, null);
        wrong.b.removePeer(wrong.peerA);
        final byte[] other = psk.clone();
        other[0] = 1;
        wrong.b.addPeer(wrong.a.publicKey(), other);
        // the initiator side uses psk, the responder side other
        wrong.a.removePeer(wrong.peerB);
        final Peer toB = wrong.a.addPeer(wrong.b.publicKey(), psk);
        final byte[] response = wrong.deliver(wrong.b, wrong.initiation(wrong.a, toB), null);
        assertNotNull(response);
        assertNull(wrong.deliver(wrong.a, response, null));
        assertEquals(Rejection.DECRYPT_FAILED, wrong.result.rejection());
        assertNull(toB.current());
        assertTrue(toB.handshakeInProgress(), "the pending handshake survives a bad response");
    }

    @Test
    void shouldDemandACookieUnderLoadAndAcceptTheRetriedInitiationWithMac2()
    {
        final Pair pair = new Pair();
        pair.underLoadB = true;
        final byte[] source = {10, 0, 0, 1, (byte)0xa9, (byte)0xc6};

        final byte[] first = pair.initiation(pair.a, pair.peerB);
        final byte[] cookieReply = pair.deliver(pair.b, first, source);
        assertEquals(WireguardMessages.COOKIE_REPLY_LENGTH, cookieReply.length);
        assertEquals(HandshakeResult.Kind.COOKIE_REPLY_WRITTEN, pair.result.kind());
        assertEquals(Rejection.COOKIE_REQUIRED, pair.result.rejection());
        assertEquals(1, pair.b.rejections(Rejection.COOKIE_REQUIRED));
        assertNull(pair.peerA.next(), "nothing was processed");
        assertEquals(WireguardMessages.TYPE_COOKIE_REPLY, cookieReply[0]);
        assertEquals(WireguardDevice.getIntLe(first, 4), WireguardDevice.getIntLe(cookieReply, 4));

        assertEquals(0, pair.deliver(pair.a, cookieReply, null).length);
        assertEquals(HandshakeResult.Kind.COOKIE_CONSUMED, pair.result.kind());
        // a second copy of the cookie reply is unexpected: the MAC1 it answers was used up
        assertNull(pair.deliver(pair.a, cookieReply, null));
        assertEquals(Rejection.UNEXPECTED_MESSAGE, pair.result.rejection());

        pair.advanceSeconds(5);
        final byte[] retry = pair.initiation(pair.a, pair.peerB);
        assertTrue(!Arrays.equals(new byte[16], Arrays.copyOfRange(retry, 132, 148)), "MAC2 is set");
        // from another address the cookie does not fit
        assertEquals(WireguardMessages.COOKIE_REPLY_LENGTH, pair.deliver(pair.b, retry, new byte[] {10, 0, 0, 2, 0, 1}).length);
        final byte[] response = pair.deliver(pair.b, retry, source);
        assertEquals(HandshakeResult.Kind.RESPONSE_WRITTEN, pair.result.kind());
        assertEquals(WireguardMessages.RESPONSE_LENGTH, response.length);
        assertEquals(0, pair.deliver(pair.a, response, null).length);
        assertNotNull(pair.peerB.current());

        // the cookie expires after COOKIE_REFRESH_TIME - REKEY_TIMEOUT
        pair.advanceSeconds(116);
        final byte[] late = pair.initiation(pair.a, pair.peerB);
        assertArrayEquals(new byte[16], Arrays.copyOfRange(late, 132, 148));
    }

    @Test
    void shouldRejectPeersThatCannotBe()
    {
        final Pair pair = new Pair();
        assertThrows(IllegalArgumentException.class, () -> pair.a.addPeer(pair.b.publicKey(), null), "duplicate");
        assertThrows(IllegalArgumentException.class, () -> pair.a.addPeer(pair.a.publicKey(), null), "ourselves");
        assertThrows(IllegalArgumentException.class, () -> pair.a.addPeer(new byte[32], null), "low-order point");
        assertThrows(IllegalArgumentException.class, () -> pair.a.addPeer(new byte[31], null), "length");
    }

    @Test
    void shouldWriteTheKeyLogWiresharkNeeds()
    {
        final StringBuilder log = new StringBuilder();
        final TestEntropy entropy = new TestEntropy(3).ephemeral(EPHEMERAL_A);
        final WireguardDevice device = WireguardDevice.builder(DeviceKeys.fromPrivateKey(Pair.STATIC_A))
            .keyLog(new KeyLog.Writer(log)).entropy(entropy).build();
        final byte[] psk = new byte[32];
        psk[31] = 1;
        final Peer peer = device.addPeer(DeviceKeys.fromPrivateKey(Pair.STATIC_B).publicKey(), psk);
        device.createInitiation(peer, MemorySegment.ofArray(new byte[148]), 0, 0);
        final KeyLog parsed = KeyLog.parse(log.toString());
        assertArrayEquals(DeviceKeys.fromPrivateKey(Pair.STATIC_A).privateKey(), parsed.localStaticPrivateKeys().getFirst());
        assertArrayEquals(peer.publicKey(), parsed.remoteStaticPublicKeys().getFirst());
        assertArrayEquals(EPHEMERAL_A, parsed.ephemeralKeys().getFirst().privateKey());
        assertArrayEquals(psk, parsed.ephemeralKeys().getFirst().presharedKey());
    }
}
