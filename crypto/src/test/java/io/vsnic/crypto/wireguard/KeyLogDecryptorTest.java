package io.vsnic.crypto.wireguard;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.vsnic.crypto.DeviceKeys;
import io.vsnic.crypto.wireguard.KeyLogDecryptor.Message;
import io.vsnic.crypto.wireguard.KeyLogDecryptor.Outcome;

/**
 * Passive decryption of a conversation between two vsnic devices, each writing its key log: either
 * log alone decrypts everything, including a rekey initiated by the other side and a pre-shared key;
 * missing or wrong keys give the reason per message, never an exception. The real-capture case
 * (Linux kernel peers) is {@code dataplane/.../capture/WireguardCaptureTest}.
 */
class KeyLogDecryptorTest
{
    private static final int MTU = 1420;
    private static final byte[] PSK = new byte[32];

    static
    {
        Arrays.fill(PSK, (byte)0x77);
    }

    private final StringBuilder logA = new StringBuilder();
    private final StringBuilder logB = new StringBuilder();
    private final AtomicLong wallSeconds = new AtomicLong(1_700_000_000L);
    private final List<byte[]> messages = new ArrayList<>();
    private final List<byte[]> plaintexts = new ArrayList<>();
    private WireguardDevice a;
    private WireguardDevice b;

    @BeforeEach
    void converse()
    {
        a = WireguardDevice.builder(DeviceKeys.fromPrivateKey(Pair.STATIC_A)).entropy(new TestEntropy(1))
            .tai64n(this::tai64n).keyLog(new KeyLog.Writer(logA)).build();
        b = WireguardDevice.builder(DeviceKeys.fromPrivateKey(Pair.STATIC_B)).entropy(new TestEntropy(2))
            .tai64n(this::tai64n).keyLog(new KeyLog.Writer(logB)).build();
        final Peer peerB = a.addPeer(b.publicKey(), PSK);
        final Peer peerA = b.addPeer(a.publicKey(), PSK);
        final TransportCodec codecA = new TransportCodec(a, MTU);
        final TransportCodec codecB = new TransportCodec(b, MTU);
        long now = 1_000_000_000_000L;

        handshake(a, peerB, b, now);
        send(codecA, peerB, codecB, 100, now);
        send(codecB, peerA, codecA, 0, now);        // keepalive
        send(codecB, peerA, codecA, 1420, now);
        now += 10_000_000_000L;
        handshake(b, peerA, a, now);                 // rekey, the other side initiating
        send(codecB, peerA, codecA, 64, now);
        send(codecA, peerB, codecB, 7, now);
    }

    private void tai64n(final byte[] dst, final int offset)
    {
        Tai64n.encode(wallSeconds.getAndIncrement(), 0, dst, offset);
    }

    private void handshake(final WireguardDevice initiator, final Peer to, final WireguardDevice responder, final long now)
    {
        final MemorySegment initiation = MemorySegment.ofArray(new byte[WireguardMessages.INITIATION_LENGTH]);
        initiator.createInitiation(to, initiation, 0, now);
        messages.add(initiation.toArray(ValueLayout.JAVA_BYTE));
        final MemorySegment reply = MemorySegment.ofArray(new byte[WireguardMessages.RESPONSE_LENGTH]);
        final HandshakeResult result = new HandshakeResult();
        assertEquals(WireguardMessages.RESPONSE_LENGTH,
            responder.consumeHandshake(initiation, 0, WireguardMessages.INITIATION_LENGTH, null, now, reply, 0, result));
        messages.add(reply.toArray(ValueLayout.JAVA_BYTE));
        plaintexts.add(null);
        plaintexts.add(null);
        assertEquals(0, initiator.consumeHandshake(reply, 0, WireguardMessages.RESPONSE_LENGTH, null, now,
            MemorySegment.ofArray(new byte[128]), 0, result));
    }

    private void send(final TransportCodec codec, final Peer to, final TransportCodec receiver, final int length,
        final long now)
    {
        final byte[] inner = new byte[length];
        for (int i = 0; i < length; i++)
        {
            inner[i] = (byte)(i * 31 + length);
        }
        final MemorySegment buf = MemorySegment.ofArray(new byte[WireguardMessages.transportLength(length, MTU)]);
        MemorySegment.copy(inner, 0, buf, ValueLayout.JAVA_BYTE, WireguardMessages.TRANSPORT_DATA_OFFSET, length);
        final Keypair kp = to.sendingKeypair(now);
        assertEquals(buf.byteSize(), codec.seal(kp, buf, WireguardMessages.TRANSPORT_DATA_OFFSET, length, 0, now));
        messages.add(buf.toArray(ValueLayout.JAVA_BYTE));
        plaintexts.add(inner);
        // delivered, so that a responder's new keypair is confirmed as it would be on the wire
        assertTrue(receiver.open(MemorySegment.ofArray(messages.getLast().clone()), 0, (int)buf.byteSize(), now) >= 0);
    }

    private List<Message> decryptAll(final String keyLog)
    {
        final KeyLogDecryptor decryptor = new KeyLogDecryptor().addKeyLog(KeyLog.parse(keyLog));
        return messages.stream().map(decryptor::decrypt).collect(Collectors.toList());
    }

    private void assertEverythingDecrypted(final List<Message> results)
    {
        assertEquals(messages.size(), results.size());
        for (int i = 0; i < results.size(); i++)
        {
            final Message m = results.get(i);
            assertEquals(Outcome.DECRYPTED, m.outcome(), i + ": " + m.describe());
            assertNull(m.problem());
            if (plaintexts.get(i) != null)
            {
                final byte[] expected = plaintexts.get(i);
                assertEquals(WireguardMessages.paddedLength(expected.length, MTU), m.plaintext().length, "padding");
                assertArrayEquals(expected, Arrays.copyOf(m.plaintext(), expected.length), "message " + i);
            }
        }
        // the initiations carry the initiator's static key and the timestamp it wrote
        assertArrayEquals(a.publicKey(), results.get(0).staticKey());
        assertEquals(1_700_000_000L, Tai64n.label(results.get(0).timestamp()) - Tai64n.LABEL_EPOCH);
        assertArrayEquals(b.publicKey(), results.get(5).staticKey());
        assertTrue(results.get(0).describe().startsWith("handshake initiation sender 0x"), results.get(0).describe());
        assertTrue(results.get(0).describe().contains("(2023-11-14T22:13:20Z)"), results.get(0).describe());
        assertTrue(results.get(1).describe().endsWith(": handshake ok, session keys derived"), results.get(1).describe());
        assertTrue(results.get(3).describe().matches("transport receiver 0x[0-9a-f]{8} counter 0: keepalive"),
            results.get(3).describe());
        assertTrue(results.get(4).describe().endsWith("counter 1: 1420 B plaintext"), results.get(4).describe());
    }

    @Test
    void shouldDecryptEverythingWithEitherSidesKeyLog()
    {
        assertTrue(logA.toString().contains("PRESHARED_KEY="), logA.toString());
        assertEverythingDecrypted(decryptAll(logA.toString()));
        assertEverythingDecrypted(decryptAll(logB.toString()));
    }

    @Test
    void shouldDecryptStaticKeyButNotTimestampWithEphemeralKeysOnly()
    {
        // like Wireshark's test_decrypt_initiation_ephemeral_only: the responder's public key and our ephemerals
        final String ephemeralsOnly = logA.toString().lines()
            .filter(line -> line.startsWith(KeyLog.LOCAL_EPHEMERAL_PRIVATE_KEY) || line.startsWith(KeyLog.REMOTE_STATIC_PUBLIC_KEY))
            .collect(Collectors.joining("\n"));
        final List<Message> results = decryptAll(ephemeralsOnly);
        assertEquals(Outcome.PARTIAL, results.get(0).outcome());
        assertArrayEquals(a.publicKey(), results.get(0).staticKey());
        assertNull(results.get(0).timestamp());
        assertTrue(results.get(0).describe().contains("timestamp not decrypted"), results.get(0).describe());
        assertEquals(Outcome.NOT_DECRYPTED, results.get(1).outcome());
        assertTrue(results.get(1).problem().contains("no decrypted handshake initiation"), results.get(1).problem());
        assertEquals(Outcome.NOT_DECRYPTED, results.get(2).outcome());
        assertTrue(results.get(2).problem().startsWith("no session key for receiver index 0x"), results.get(2).problem());
        // b's initiation: MAC1 names a's key, which the log does not have
        assertEquals(Outcome.NOT_DECRYPTED, results.get(5).outcome());
        assertTrue(results.get(5).problem().startsWith("MAC1 matches none"), results.get(5).problem());
    }

    @Test
    void shouldSayWhyResponseFailsWithoutThePresharedKey()
    {
        final String withoutPsk = logA.toString().lines().filter(line -> !line.startsWith(KeyLog.PRESHARED_KEY))
            .collect(Collectors.joining("\n"));
        final List<Message> results = decryptAll(withoutPsk);
        assertEquals(Outcome.DECRYPTED, results.get(0).outcome());
        assertEquals(Outcome.NOT_DECRYPTED, results.get(1).outcome());
        assertEquals("the response does not verify (wrong ephemeral or pre-shared key)", results.get(1).problem());
        assertEquals(Outcome.NOT_DECRYPTED, results.get(2).outcome());
    }

    @Test
    void shouldReportTagFailureAndForeignPayloadsWithoutFailing()
    {
        final KeyLogDecryptor decryptor = new KeyLogDecryptor().addKeyLog(KeyLog.parse(logB.toString()));
        for (int i = 0; i < 2; i++)
        {
            assertEquals(Outcome.DECRYPTED, decryptor.decrypt(messages.get(i)).outcome());
        }
        final byte[] flipped = messages.get(2).clone();
        flipped[flipped.length - 20] ^= 1;
        final Message bad = decryptor.decrypt(flipped);
        assertEquals(Outcome.NOT_DECRYPTED, bad.outcome());
        assertTrue(bad.describe().endsWith(": not decrypted: authentication tag does not verify"), bad.describe());
        // the intact message still decrypts afterwards
        assertEquals(Outcome.DECRYPTED, decryptor.decrypt(messages.get(2)).outcome());

        assertEquals(Outcome.NOT_WIREGUARD, decryptor.decrypt(new byte[] {1, 2, 3}).outcome());
        assertEquals(Outcome.NOT_WIREGUARD, decryptor.decrypt(new byte[] {5, 0, 0, 0, 1, 2, 3, 4}).outcome());
        assertEquals(Outcome.NOT_WIREGUARD, decryptor.decrypt(Arrays.copyOf(messages.get(0), 147)).outcome());
        final byte[] reserved = messages.get(2).clone();
        reserved[2] = 1;
        assertEquals(Outcome.NOT_WIREGUARD, decryptor.decrypt(reserved).outcome());
        final byte[] cookie = new byte[WireguardMessages.COOKIE_REPLY_LENGTH];
        cookie[0] = WireguardMessages.TYPE_COOKIE_REPLY;
        cookie[4] = 0x12;
        final Message cookieReply = decryptor.decrypt(cookie);
        assertEquals(Outcome.NOT_ENCRYPTED_TRAFFIC, cookieReply.outcome());
        assertEquals("cookie reply receiver 0x00000012", cookieReply.describe());
    }

    @Test
    void shouldDecryptNothingWithoutKeys()
    {
        for (final Message m : decryptAll(""))
        {
            assertEquals(Outcome.NOT_DECRYPTED, m.outcome(), m.describe());
        }
    }
}
