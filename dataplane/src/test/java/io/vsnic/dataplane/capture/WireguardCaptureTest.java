package io.vsnic.dataplane.capture;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Deque;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import io.vsnic.crypto.DeviceKeys;
import io.vsnic.crypto.wireguard.HandshakeEntropy;
import io.vsnic.crypto.wireguard.HandshakeResult;
import io.vsnic.crypto.wireguard.KeyLog;
import io.vsnic.crypto.wireguard.KeyLogDecryptor;
import io.vsnic.crypto.wireguard.Keypair;
import io.vsnic.crypto.wireguard.Peer;
import io.vsnic.crypto.wireguard.Rejection;
import io.vsnic.crypto.wireguard.Tai64n;
import io.vsnic.crypto.wireguard.TransportCodec;
import io.vsnic.crypto.wireguard.WireguardDevice;
import io.vsnic.crypto.wireguard.WireguardMessages;

/**
 * Interop proof for vsnic's WireGuard: the real capture {@code wireguard-ping-tcp-dsb.pcapng}
 * (Wireshark's test capture of two Linux kernel WireGuard peers, see
 * testdata/interop/wireguard/KEYS.md) is replayed through vsnic's handshake and transport code, as
 * the responder (Spriv_r, Spub_i, Epriv_r0/Epriv_r1 injected) and as the initiator (keys from the
 * capture's own Decryption Secrets Block, Epriv_i0/Epriv_i1 and the capture's timestamps injected).
 *
 * <p>Every message whose bytes the injected values determine is re-created byte for byte: both
 * initiations and both responses (MAC1 included), and every transport message, re-sealed by its
 * sender from the plaintext the receiver decrypted. Every transport message decrypts to the inner
 * packet KEYS.md lists (addresses, protocol, length, ICMP/DNS/TCP details), including the rekey
 * (frames 13-14) with frame 15 arriving on the old session.
 *
 * <p>The same capture is also decrypted passively, as {@code vsnic wg decrypt} does it, by
 * {@link CaptureDecryptor} with either side's key log or the embedded one, and must give the same
 * inner packets.
 */
class WireguardCaptureTest
{
    private static final HexFormat HEX = HexFormat.of();
    private static final String CAPTURE = "wireguard/wireguard-ping-tcp-dsb.pcapng";

    // KEYS.md, "Key constants (verbatim from the test)"
    private static final String SPRIV_I = "AKeZaHwBxjiKLFnkY2unvEdOTtg4AL+M9dQXfopFVFk=";
    private static final String SPRIV_I_ALT = "B6eZaHwBxjiKLFnkY2unvEdOTtg4AL+M9dQXfopFVJk=";
    private static final String SPUB_I = "Igge9KzRytKNwrgkzDE/8hrLu6Ly0OqVdvOPWhA5KR4=";
    private static final String SPRIV_R = "cFIxTUyBs1Qil414hBwEgvasEax8CKJ5IS5ZougplWs=";
    private static final String SPUB_R = "YDCttCs9e1J52/g9vEnwJJa+2x6RqaayAYMpSVQfGEY=";
    private static final String EPRIV_I0_ALT = "t7GLJSOQfyz7JNJ5ZDzFf3Uz1rkiCMMjbWerNYcPFJU=";
    private static final String EPRIV_I1 = "ULv83D+y3vA0t2mgmTmWz++lpVsrP7i4wNaUEK2oX0E=";
    private static final String EPRIV_R0 = "QC4/FZKhFf0b/eXEcCecmZNt6V6PXmRa4EWG1PIYTU4=";
    private static final String EPRIV_R1 = "sBv1dhsm63cbvWMv/XML+bvynBp9PTdY9Vvptu3HQlg=";

    // KEYS.md frame table: indices and the two initiation timestamps
    private static final int INITIATOR_INDEX_0 = 0x30d037d8;
    private static final int RESPONDER_INDEX_0 = 0xab7df406;
    private static final int INITIATOR_INDEX_1 = 0xbffd41c5;
    private static final int RESPONDER_INDEX_1 = 0x26de9eb9;
    private static final byte[] TIMESTAMP_1 = Tai64n.ofLabel(4611686019959514235L, 356537872);
    private static final byte[] TIMESTAMP_13 = Tai64n.ofLabel(4611686019959514375L, 490514356);

    private static final int INITIATOR_PORT = 43462;
    private static final int MTU = 1420;

    private static List<Datagram> datagrams;
    private static KeyLog dsbKeyLog;

    /** One UDP datagram of the capture. */
    private record Datagram(int number, long timeNs, int sourcePort, byte[] payload)
    {
        boolean fromInitiator()
        {
            return sourcePort == INITIATOR_PORT;
        }

        int type()
        {
            return payload[0];
        }

        /** The receiver index: at offset 8 in a response, at offset 4 in cookie replies and transport messages. */
        int receiver()
        {
            return MemorySegment.ofArray(payload).get(ValueLayout.JAVA_INT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN),
                type() == WireguardMessages.TYPE_RESPONSE ? WireguardMessages.RESPONSE_RECEIVER_OFFSET : 4);
        }

        long counter()
        {
            return MemorySegment.ofArray(payload).get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN), 8);
        }
    }

    /** Hands out the capture's ephemeral keys and indices in order; no other randomness is needed. */
    private static final class ScriptedEntropy implements HandshakeEntropy
    {
        private final Deque<byte[]> ephemerals = new ArrayDeque<>();
        private final Deque<Integer> indices = new ArrayDeque<>();

        ScriptedEntropy(final List<byte[]> ephemerals, final List<Integer> indices)
        {
            this.ephemerals.addAll(ephemerals);
            this.indices.addAll(indices);
        }

        @Override
        public void ephemeralPrivateKey(final byte[] dst)
        {
            System.arraycopy(ephemerals.removeFirst(), 0, dst, 0, 32);
        }

        @Override
        public int index()
        {
            return indices.removeFirst();
        }

        @Override
        public void randomBytes(final byte[] dst)
        {
            Arrays.fill(dst, (byte)0x5a);
        }

        @Override
        public long jitterNs(final long boundNs)
        {
            return 0;
        }
    }

    @BeforeAll
    static void readCapture() throws IOException
    {
        final List<Datagram> list = new ArrayList<>();
        try (CaptureReader reader = CaptureReader.open(InteropCaptures.resolve(CAPTURE)))
        {
            // the UDP payloads as the operator tool (vsnic wg decrypt) finds them, without keys
            final CaptureDecryptor payloads = new CaptureDecryptor(false);
            CaptureDecryptor.Frame frame;
            while ((frame = payloads.next(reader)) != null)
            {
                assertEquals(LinkType.LINKTYPE_ETHERNET, frame.record().linkType());
                assertNotNull(frame.udpPayload(), "UDP in frame " + frame.record().number() + ": " + frame.note());
                assertNull(frame.note(), "frame " + frame.record().number());
                assertTrue(frame.isWireguard(), "WireGuard message in frame " + frame.record().number());
                list.add(new Datagram(frame.record().number(), frame.record().timestampNs(), frame.sourcePort(),
                    frame.udpPayload()));
            }
            final List<DecryptionSecrets> secrets = reader.secrets();
            assertEquals(1, secrets.size());
            assertEquals(DecryptionSecrets.WIREGUARD_KEY_LOG, secrets.getFirst().type());
            dsbKeyLog = KeyLog.parse(secrets.getFirst().text());
        }
        assertEquals(22, list.size());
        datagrams = list;
    }

    private static byte[] key(final String base64)
    {
        return DeviceKeys.decodeKey(base64);
    }

    @Test
    void shouldParseTheEmbeddedKeyLogWhoseAltKeysClampToTheTestKeys()
    {
        assertEquals(1, dsbKeyLog.localStaticPrivateKeys().size());
        assertEquals(1, dsbKeyLog.remoteStaticPublicKeys().size());
        assertEquals(2, dsbKeyLog.ephemeralKeys().size());
        assertArrayEquals(key(SPUB_R), dsbKeyLog.remoteStaticPublicKeys().getFirst());
        assertArrayEquals(key(SPRIV_I_ALT), dsbKeyLog.localStaticPrivateKeys().getFirst());
        assertArrayEquals(key(EPRIV_I0_ALT), dsbKeyLog.ephemeralKeys().get(0).privateKey());
        assertArrayEquals(key(EPRIV_I1), dsbKeyLog.ephemeralKeys().get(1).privateKey());
        assertNull(dsbKeyLog.ephemeralKeys().get(0).presharedKey());
        // the _alt key differs only in bits that clamping fixes
        assertArrayEquals(key(SPRIV_I), DeviceKeys.clamp(dsbKeyLog.localStaticPrivateKeys().getFirst().clone()));
        assertEquals(SPUB_I, DeviceKeys.fromPrivateKey(dsbKeyLog.localStaticPrivateKeys().getFirst()).publicKeyBase64());
    }

    /** The initiator side, built from the capture's own key log (the _alt keys). */
    private static WireguardDevice initiator(final List<byte[]> timestamps)
    {
        final Deque<byte[]> stamps = new ArrayDeque<>(timestamps);
        return WireguardDevice.builder(DeviceKeys.fromPrivateKey(dsbKeyLog.localStaticPrivateKeys().getFirst()))
            .entropy(new ScriptedEntropy(
                List.of(dsbKeyLog.ephemeralKeys().get(0).privateKey(), dsbKeyLog.ephemeralKeys().get(1).privateKey()),
                List.of(INITIATOR_INDEX_0, INITIATOR_INDEX_1)))
            .tai64n((dst, offset) -> System.arraycopy(stamps.removeFirst(), 0, dst, offset, Tai64n.LENGTH))
            .build();
    }

    private static WireguardDevice responder()
    {
        return WireguardDevice.builder(DeviceKeys.fromBase64(SPRIV_R))
            .entropy(new ScriptedEntropy(List.of(key(EPRIV_R0), key(EPRIV_R1)),
                List.of(RESPONDER_INDEX_0, RESPONDER_INDEX_1)))
            .build();
    }

    private static Datagram frame(final int number)
    {
        return datagrams.get(number - 1);
    }

    private static byte[] createInitiation(final WireguardDevice device, final Peer peer, final long nowNs)
    {
        final MemorySegment out = MemorySegment.ofArray(new byte[WireguardMessages.INITIATION_LENGTH]);
        assertEquals(WireguardMessages.INITIATION_LENGTH, device.createInitiation(peer, out, 0, nowNs));
        return out.toArray(ValueLayout.JAVA_BYTE);
    }

    private static int consume(final WireguardDevice device, final byte[] message, final long nowNs,
        final MemorySegment reply, final HandshakeResult result)
    {
        return device.consumeHandshake(MemorySegment.ofArray(message), 0, message.length, null, nowNs, reply, 0, result);
    }

    @Test
    void shouldCreateBothInitiationsOfTheCaptureByteForByte()
    {
        final WireguardDevice initiator = initiator(List.of(TIMESTAMP_1, TIMESTAMP_13));
        final Peer responder = initiator.addPeer(dsbKeyLog.remoteStaticPublicKeys().getFirst(), null);
        // ephemeral, encrypted static, encrypted timestamp, MAC1 and the zero MAC2: all 148 bytes
        assertEquals(HEX.formatHex(frame(1).payload()), HEX.formatHex(createInitiation(initiator, responder, frame(1).timeNs())));
        assertEquals(HEX.formatHex(frame(13).payload()), HEX.formatHex(createInitiation(initiator, responder, frame(13).timeNs())));
    }

    @Test
    void shouldAnswerBothInitiationsOfTheCaptureWithItsResponsesByteForByte()
    {
        final WireguardDevice responder = responder();
        final Peer initiator = responder.addPeer(key(SPUB_I), null);
        final HandshakeResult result = new HandshakeResult();
        final MemorySegment reply = MemorySegment.ofArray(new byte[WireguardMessages.RESPONSE_LENGTH]);

        assertEquals(WireguardMessages.RESPONSE_LENGTH, consume(responder, frame(1).payload(), frame(1).timeNs(), reply, result));
        assertEquals(HandshakeResult.Kind.RESPONSE_WRITTEN, result.kind());
        assertSame(initiator, result.peer());
        // what Wireshark's test_decrypt_initiation_sprivr shows: static = Spub_i, nanoseconds 356537872
        assertEquals(356537872, Tai64n.nanos(result.timestamp()));
        assertEquals(4611686019959514235L, Tai64n.label(result.timestamp()));
        assertEquals(HEX.formatHex(frame(2).payload()), HEX.formatHex(reply.toArray(ValueLayout.JAVA_BYTE)));

        assertEquals(WireguardMessages.RESPONSE_LENGTH, consume(responder, frame(13).payload(), frame(13).timeNs(), reply, result));
        assertEquals(490514356, Tai64n.nanos(result.timestamp()));
        assertEquals(HEX.formatHex(frame(14).payload()), HEX.formatHex(reply.toArray(ValueLayout.JAVA_BYTE)));

        // and replaying frame 1 now is a stale timestamp, counted, answered with nothing
        assertEquals(Rejection.STALE_TIMESTAMP.code(), consume(responder, frame(1).payload(), frame(13).timeNs() + 1_000_000_000L, reply, result));
        assertEquals(1, responder.rejections(Rejection.STALE_TIMESTAMP));
    }

    /** What KEYS.md says each transport frame carries. */
    private record Expected(String source, String destination, int protocol, int totalLength, String check)
    {
    }

    private static final Map<Integer, Expected> TRANSPORT = Map.ofEntries(
        Map.entry(3, new Expected("10.10.0.2", "10.10.0.1", 1, 84, "echo-request 0")),
        Map.entry(4, new Expected("10.10.0.1", "10.10.0.2", 1, 84, "echo-reply 0")),
        Map.entry(5, new Expected("10.10.0.2", "10.10.0.1", 1, 84, "echo-request 1")),
        Map.entry(6, new Expected("10.10.0.1", "10.10.0.2", 1, 84, "echo-reply 1")),
        Map.entry(7, new Expected("10.10.0.2", "10.10.0.1", 1, 84, "echo-request 2")),
        Map.entry(8, new Expected("10.10.0.1", "10.10.0.2", 1, 84, "echo-reply 2")),
        Map.entry(9, new Expected(null, null, 0, 0, "keepalive")),
        Map.entry(10, new Expected("10.10.0.1", "1.1.1.1", 17, -1, "dns-query 1")),
        Map.entry(11, new Expected("10.10.0.1", "1.1.1.1", 17, -1, "dns-query 28")),
        Map.entry(12, new Expected("1.1.1.1", "10.10.0.1", 17, -1, "dns-answer b21570fb")),
        Map.entry(15, new Expected("1.1.1.1", "10.10.0.1", 17, -1, "dns-answer 2a022308000000000000036000010001")),
        Map.entry(16, new Expected(null, null, 0, 0, "keepalive")),
        Map.entry(17, new Expected("10.10.0.1", "178.21.112.251", 6, -1, "tcp 49472 443 02")),
        Map.entry(18, new Expected("178.21.112.251", "10.10.0.1", 6, -1, "tcp 443 49472 12")),
        Map.entry(19, new Expected("10.10.0.1", "178.21.112.251", 6, -1, "tcp 49472 443 10")),
        Map.entry(20, new Expected("10.10.0.1", "178.21.112.251", 6, -1, "tls-client-hello")),
        Map.entry(21, new Expected("178.21.112.251", "10.10.0.1", 6, -1, "tcp 443 49472 10")),
        Map.entry(22, new Expected("178.21.112.251", "10.10.0.1", 6, 1420, "first-fragment")));

    @Test
    void shouldDecryptAndResealEveryMessageOfTheCaptureAsBothPeers()
    {
        final WireguardDevice initiator = initiator(List.of(TIMESTAMP_1, TIMESTAMP_13));
        final WireguardDevice responder = responder();
        final Peer peerR = initiator.addPeer(key(SPUB_R), null);
        final Peer peerI = responder.addPeer(key(SPUB_I), null);
        final TransportCodec codecI = new TransportCodec(initiator, MTU);
        final TransportCodec codecR = new TransportCodec(responder, MTU);
        final HandshakeResult result = new HandshakeResult();
        final MemorySegment reply = MemorySegment.ofArray(new byte[WireguardMessages.RESPONSE_LENGTH]);
        byte[] response = null;
        Keypair oldResponderKeypair = null;
        int transports = 0;

        for (final Datagram d : datagrams)
        {
            final long now = d.timeNs();
            switch (d.type())
            {
                case WireguardMessages.TYPE_INITIATION -> {
                    assertArrayEquals(d.payload(), createInitiation(initiator, peerR, now), "initiation, frame " + d.number());
                    oldResponderKeypair = peerI.current();
                    assertEquals(WireguardMessages.RESPONSE_LENGTH, consume(responder, d.payload(), now, reply, result));
                    response = reply.toArray(ValueLayout.JAVA_BYTE);
                    // the responder may not send with the new keypair yet: it waits in "next"
                    assertNotNull(peerI.next());
                    assertSame(oldResponderKeypair, peerI.current());
                }
                case WireguardMessages.TYPE_RESPONSE -> {
                    assertArrayEquals(d.payload(), response, "response, frame " + d.number());
                    final Keypair before = peerR.current();
                    assertEquals(0, consume(initiator, d.payload(), now, reply, result));
                    assertEquals(HandshakeResult.Kind.RESPONSE_CONSUMED, result.kind());
                    // the initiator sends with the new keypair at once; the old one stays receivable
                    assertEquals(d.receiver(), peerR.current().localIndex());
                    assertSame(before, peerR.previous());
                }
                case WireguardMessages.TYPE_TRANSPORT -> {
                    transports++;
                    final WireguardDevice receiverDevice = d.fromInitiator() ? responder : initiator;
                    final TransportCodec receiver = d.fromInitiator() ? codecR : codecI;
                    final TransportCodec sender = d.fromInitiator() ? codecI : codecR;
                    final Peer senderSide = d.fromInitiator() ? peerR : peerI;

                    // open as the receiver
                    final MemorySegment in = MemorySegment.ofArray(d.payload().clone());
                    final int n = receiver.open(in, 0, d.payload().length, now);
                    assertTrue(n >= 0, "frame " + d.number() + " rejected: " + (n < 0 ? Rejection.ofCode(n) : ""));
                    assertEquals(d.payload().length - WireguardMessages.TRANSPORT_MIN_LENGTH, n);
                    assertEquals(d.receiver(), receiver.lastKeypair().localIndex());
                    final byte[] plaintext = in.asSlice(WireguardMessages.TRANSPORT_DATA_OFFSET, n).toArray(ValueLayout.JAVA_BYTE);
                    checkInner(d.number(), plaintext);
                    assertEquals(0, receiverDevice.rejections(Rejection.REPLAY) + receiverDevice.rejections(Rejection.DECRYPT_FAILED));

                    // re-seal as the sender: the same counter, the same bytes
                    final Keypair kp = d.number() == 15 ? senderSide.previous() : senderSide.sendingKeypair(now);
                    assertNotNull(kp, "sender has no keypair for frame " + d.number());
                    if (d.number() != 15)
                    {
                        assertSame(senderSide.current(), kp);
                    }
                    assertEquals(d.receiver(), kp.remoteIndex(), "frame " + d.number());
                    assertEquals(d.counter(), kp.messagesSent(), "frame " + d.number() + ": next sending counter");
                    final MemorySegment out = MemorySegment.ofArray(new byte[d.payload().length]);
                    MemorySegment.copy(plaintext, 0, out, ValueLayout.JAVA_BYTE, WireguardMessages.TRANSPORT_DATA_OFFSET, n);
                    assertEquals(d.payload().length, sender.seal(kp, out, WireguardMessages.TRANSPORT_DATA_OFFSET, n, 0, now));
                    assertEquals(HEX.formatHex(d.payload()), HEX.formatHex(out.toArray(ValueLayout.JAVA_BYTE)),
                        "re-sealed frame " + d.number());

                    if (d.number() == 15)
                    {
                        // the late packet on the old session was accepted while the new one is unconfirmed
                        assertSame(oldResponderKeypair, receiver.lastKeypair());
                        assertNotNull(peerI.next());
                    }
                    if (d.number() == 16)
                    {
                        // the first message on the new keypair confirms it: next -> current -> previous
                        assertNull(peerI.next());
                        assertEquals(RESPONDER_INDEX_1, peerI.current().localIndex());
                        assertSame(oldResponderKeypair, peerI.previous());
                    }
                }
                default -> throw new AssertionError("unexpected message type " + d.type() + " in frame " + d.number());
            }
        }
        assertEquals(TRANSPORT.size(), transports);
        assertEquals(INITIATOR_INDEX_1, peerR.current().localIndex());
    }

    /** Where the passive decryption's keys come from. */
    enum KeySource
    {
        INITIATOR_KEY_LOG, RESPONDER_KEY_LOG, EMBEDDED_DSB
    }

    /**
     * What {@code vsnic wg decrypt} does: decrypt the capture passively (no replay, no injected
     * values) with the initiator's key log, the responder's, or the capture's own Decryption
     * Secrets Block, and get every inner packet KEYS.md lists, the two handshakes verified, the
     * initiations' static keys and timestamps, and the late frame 15 on the old session.
     */
    @ParameterizedTest
    @EnumSource(KeySource.class)
    void shouldDecryptEveryTransportMessagePassively(final KeySource source) throws IOException
    {
        final CaptureDecryptor decryptor = new CaptureDecryptor(source == KeySource.EMBEDDED_DSB);
        if (source != KeySource.EMBEDDED_DSB)
        {
            final String file = source == KeySource.INITIATOR_KEY_LOG ?
                "wireguard/wireguard-ping-tcp.initiator.keys" : "wireguard/wireguard-ping-tcp.responder.keys";
            decryptor.addKeyLog(KeyLog.parse(Files.readString(InteropCaptures.resolve(file))));
        }
        final List<CaptureDecryptor.Frame> frames = new ArrayList<>();
        try (CaptureReader reader = CaptureReader.open(InteropCaptures.resolve(CAPTURE)))
        {
            CaptureDecryptor.Frame frame;
            while ((frame = decryptor.next(reader)) != null)
            {
                frames.add(frame);
            }
        }
        assertEquals(source == KeySource.EMBEDDED_DSB ? 1 : 0, decryptor.embeddedKeyLogs());
        assertEquals(22, frames.size());
        int transports = 0;
        for (final CaptureDecryptor.Frame frame : frames)
        {
            final int number = frame.record().number();
            final KeyLogDecryptor.Message m = frame.message();
            assertEquals(KeyLogDecryptor.Outcome.DECRYPTED, m.outcome(), "frame " + number + ": " + m.describe());
            assertEquals(frame(number).type(), m.type());
            switch (m.type())
            {
                case WireguardMessages.TYPE_INITIATION -> {
                    assertEquals(SPUB_I, Base64.getEncoder().encodeToString(m.staticKey()), "frame " + number);
                    assertEquals(number == 1 ? 356537872 : 490514356, Tai64n.nanos(m.timestamp()));
                    assertEquals(number == 1 ? INITIATOR_INDEX_0 : INITIATOR_INDEX_1, m.senderIndex());
                }
                case WireguardMessages.TYPE_RESPONSE -> {
                    assertEquals(number == 2 ? RESPONDER_INDEX_0 : RESPONDER_INDEX_1, m.senderIndex());
                    assertEquals(number == 2 ? INITIATOR_INDEX_0 : INITIATOR_INDEX_1, m.receiverIndex());
                }
                case WireguardMessages.TYPE_TRANSPORT -> {
                    transports++;
                    assertEquals(frame(number).receiver(), m.receiverIndex());
                    assertEquals(frame(number).counter(), m.counter());
                    checkInner(number, m.plaintext());
                    final int total = m.plaintext().length == 0 ? 0 : u16(m.plaintext(), 2);
                    assertArrayEquals(Arrays.copyOf(m.plaintext(), total), frame.innerPacket(), "frame " + number);
                }
                default -> throw new AssertionError("frame " + number + ": type " + m.type());
            }
        }
        assertEquals(TRANSPORT.size(), transports);
        assertEquals("10.9.0.1:43462 > 10.9.0.2:51820", frames.getFirst().addresses());
    }

    /**
     * Wireshark's test_decrypt_initiation_ephemeral_only: the responder's public key and the
     * initiator's ephemeral private keys decrypt the initiations' static key but not the timestamp,
     * and nothing after them.
     */
    @Test
    void shouldDecryptOnlyTheStaticKeyWithEphemeralKeysAlone() throws IOException
    {
        final CaptureDecryptor decryptor = new CaptureDecryptor(false).addKeyLog(KeyLog.parse(
            "REMOTE_STATIC_PUBLIC_KEY=" + SPUB_R + "\nLOCAL_EPHEMERAL_PRIVATE_KEY=" + EPRIV_I0_ALT +
            "\nLOCAL_EPHEMERAL_PRIVATE_KEY=" + EPRIV_I1 + "\n"));
        try (CaptureReader reader = CaptureReader.open(InteropCaptures.resolve(CAPTURE)))
        {
            CaptureDecryptor.Frame frame;
            while ((frame = decryptor.next(reader)) != null)
            {
                final KeyLogDecryptor.Message m = frame.message();
                if (m.type() == WireguardMessages.TYPE_INITIATION)
                {
                    assertEquals(KeyLogDecryptor.Outcome.PARTIAL, m.outcome());
                    assertEquals(SPUB_I, Base64.getEncoder().encodeToString(m.staticKey()));
                    assertNull(m.timestamp());
                }
                else
                {
                    assertEquals(KeyLogDecryptor.Outcome.NOT_DECRYPTED, m.outcome(), m.describe());
                }
            }
        }
    }

    private static String ip(final byte[] p, final int offset)
    {
        return (p[offset] & 0xFF) + "." + (p[offset + 1] & 0xFF) + "." + (p[offset + 2] & 0xFF) + "." + (p[offset + 3] & 0xFF);
    }

    private static int u16(final byte[] p, final int offset)
    {
        return (p[offset] & 0xFF) << 8 | (p[offset + 1] & 0xFF);
    }

    private static void checkInner(final int frame, final byte[] p)
    {
        final Expected e = TRANSPORT.get(frame);
        assertNotNull(e, "KEYS.md lists no transport message in frame " + frame);
        final String where = "frame " + frame;
        if (e.check().equals("keepalive"))
        {
            assertEquals(0, p.length, where);
            return;
        }
        assertEquals(0x45, p[0] & 0xFF, where + ": IPv4 without options");
        final int total = u16(p, 2);
        if (e.totalLength() > 0)
        {
            assertEquals(e.totalLength(), total, where);
        }
        // WireGuard pads the inner packet with zeros to 16 bytes, but not beyond the MTU
        assertEquals(WireguardMessages.paddedLength(total, MTU), p.length, where + ": padding");
        for (int i = total; i < p.length; i++)
        {
            assertEquals(0, p[i], where + ": padding byte " + i);
        }
        assertEquals(e.protocol(), p[9], where + ": protocol");
        assertEquals(e.source(), ip(p, 12), where + ": source");
        assertEquals(e.destination(), ip(p, 16), where + ": destination");
        final String[] check = e.check().split(" ");
        final int l4 = 20;
        switch (check[0])
        {
            case "echo-request", "echo-reply" -> {
                assertEquals(check[0].equals("echo-request") ? 8 : 0, p[l4], where + ": ICMP type");
                assertEquals(0x6c00, u16(p, l4 + 4), where + ": ICMP id");
                assertEquals(Integer.parseInt(check[1]), u16(p, l4 + 6), where + ": ICMP seq");
                if (frame == 3)
                {
                    assertEquals("45000054e54640004001414c0a0a00020a0a00010800f95c6c0000006fad22f5",
                        HEX.formatHex(p, 0, 32), where + ": KEYS.md's first 32 bytes");
                }
            }
            case "dns-query" -> {
                assertEquals(53, u16(p, l4 + 2), where + ": DNS port");
                final String payload = new String(p, l4 + 8 + 12, total - l4 - 8 - 12, StandardCharsets.ISO_8859_1);
                assertTrue(payload.startsWith("\nlekensteyn\u0002nl\u0000"), where + ": query name");
                assertEquals(Integer.parseInt(check[1]), u16(p, l4 + 8 + 12 + 15), where + ": query type");
            }
            case "dns-answer" -> {
                assertEquals(53, u16(p, l4), where + ": DNS source port");
                assertEquals(check[1], HEX.formatHex(p, total - check[1].length() / 2, total), where + ": answer data");
            }
            case "tcp" -> {
                assertEquals(Integer.parseInt(check[1]), u16(p, l4), where + ": source port");
                assertEquals(Integer.parseInt(check[2]), u16(p, l4 + 2), where + ": destination port");
                assertEquals(Integer.parseInt(check[3], 16), p[l4 + 13] & 0x3F, where + ": TCP flags");
            }
            case "tls-client-hello" -> {
                assertEquals(443, u16(p, l4 + 2), where + ": destination port");
                final int data = l4 + ((p[l4 + 12] & 0xF0) >> 2);
                assertEquals(0x16, p[data], where + ": TLS handshake record");
                assertEquals(0x01, p[data + 5], where + ": ClientHello");
            }
            case "first-fragment" -> assertEquals(0x20, p[6] & 0x20, where + ": More Fragments flag");
            default -> throw new AssertionError(e.check());
        }
    }
}
