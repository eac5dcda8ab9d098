package io.vsnic.crypto.wireguard;

import static io.vsnic.crypto.wireguard.WireguardMessages.COOKIE_RECEIVER_OFFSET;
import static io.vsnic.crypto.wireguard.WireguardMessages.INITIATION_EPHEMERAL_OFFSET;
import static io.vsnic.crypto.wireguard.WireguardMessages.INITIATION_MAC1_OFFSET;
import static io.vsnic.crypto.wireguard.WireguardMessages.INITIATION_SENDER_OFFSET;
import static io.vsnic.crypto.wireguard.WireguardMessages.INITIATION_STATIC_OFFSET;
import static io.vsnic.crypto.wireguard.WireguardMessages.INITIATION_TIMESTAMP_OFFSET;
import static io.vsnic.crypto.wireguard.WireguardMessages.MAC_LENGTH;
import static io.vsnic.crypto.wireguard.WireguardMessages.RESPONSE_EMPTY_OFFSET;
import static io.vsnic.crypto.wireguard.WireguardMessages.RESPONSE_EPHEMERAL_OFFSET;
import static io.vsnic.crypto.wireguard.WireguardMessages.RESPONSE_RECEIVER_OFFSET;
import static io.vsnic.crypto.wireguard.WireguardMessages.RESPONSE_SENDER_OFFSET;
import static io.vsnic.crypto.wireguard.WireguardMessages.TRANSPORT_COUNTER_OFFSET;
import static io.vsnic.crypto.wireguard.WireguardMessages.TRANSPORT_DATA_OFFSET;
import static io.vsnic.crypto.wireguard.WireguardMessages.TRANSPORT_RECEIVER_OFFSET;
import static io.vsnic.crypto.wireguard.WireguardMessages.TYPE_COOKIE_REPLY;
import static io.vsnic.crypto.wireguard.WireguardMessages.TYPE_INITIATION;
import static io.vsnic.crypto.wireguard.WireguardMessages.TYPE_RESPONSE;
import static io.vsnic.crypto.wireguard.WireguardMessages.TYPE_TRANSPORT;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import io.vsnic.crypto.DeviceKeys;
import io.vsnic.crypto.primitive.Blake2s;
import io.vsnic.crypto.primitive.ChaCha20Poly1305;
import io.vsnic.crypto.primitive.X25519;

/**
 * Decrypts recorded WireGuard messages as a passive observer holding a {@link KeyLog}, the way
 * Wireshark's dissector does with {@code wg.keylog_file}: it follows the handshakes it sees, derives
 * each session's transport keys and opens the transport messages addressed to them. An operator's
 * tool ({@code vsnic wg decrypt}), not part of a device: it replays nothing, sends nothing, keeps
 * no replay window, and allocates freely.
 *
 * <p>What each message needs (Noise IKpsk2, WireGuard paper section 5.4):
 * <ul>
 *   <li>Handshake initiation: MAC1 names the responder's static public key among the keys known
 *       (any static key of the log, private keys by their public key). The initiator's static key
 *       decrypts with {@code DH(e_i, S_r)}, computed from the initiator's ephemeral private key or
 *       the responder's static private key. The timestamp also needs {@code DH(s_i, S_r)}: the
 *       static private key of either side.</li>
 *   <li>Handshake response: a fully decrypted initiation with its sender index, plus
 *       {@code DH(e_i, E_r)} and {@code DH(s_i, E_r)}: the initiator's ephemeral and static private
 *       keys, or the responder's ephemeral private key. The pre-shared key is the one logged with
 *       either ephemeral key (each candidate is tried), else zeros. Verifying its empty payload
 *       proves the keys right; then the session's two transport keys are known.</li>
 *   <li>Transport data: a session whose receiver index it names; the counter is the nonce.</li>
 *   <li>Cookie reply: reported, not decrypted (a cookie carries no traffic).</li>
 * </ul>
 * A message that cannot be decrypted yields a {@link Message} that says why; later messages are
 * still decrypted as far as the keys allow. Key logs may be added at any time (a pcapng file may
 * carry its decryption secrets between packets).
 *
 * <p>Not thread safe: one thread feeds the messages in capture order.
 */
public final class KeyLogDecryptor
{
    /** What became of one message. */
    public enum Outcome
    {
        /** Decrypted (transport), or handshake verified and its keys derived. */
        DECRYPTED,
        /** Decrypted as far as the keys allow, but not completely (an initiation without its timestamp). */
        PARTIAL,
        /** A WireGuard message that the keys do not open; {@link Message#problem()} says why. */
        NOT_DECRYPTED,
        /** A cookie reply: recognised, nothing to decrypt. */
        NOT_ENCRYPTED_TRAFFIC,
        /** Not a WireGuard message (wrong type, reserved bytes or length). */
        NOT_WIREGUARD
    }

    /**
     * The decryptor's reading of one UDP payload.
     *
     * @param type          message type 1-4, or 0 when not WireGuard.
     * @param senderIndex   sender index (initiation, response), else 0.
     * @param receiverIndex receiver index (response, cookie reply, transport), else 0.
     * @param counter       transport counter, else -1.
     * @param outcome       what could be done.
     * @param problem       why it was not (completely) decrypted, or null.
     * @param staticKey     initiation: the initiator's static public key, when decrypted; else null.
     * @param timestamp     initiation: the 12-byte TAI64N timestamp, when decrypted; else null.
     * @param plaintext     transport: the decrypted payload (inner packet and its zero padding; empty
     *                      for a keepalive); else null.
     */
    public record Message(int type, int senderIndex, int receiverIndex, long counter, Outcome outcome, String problem,
        byte[] staticKey, byte[] timestamp, byte[] plaintext)
    {
        /**
         * @return whether the outcome is {@link Outcome#DECRYPTED}.
         */
        public boolean decrypted()
        {
            return outcome == Outcome.DECRYPTED;
        }

        /**
         * @return a one-line description such as {@code transport receiver 0xab7df406 counter 3: keepalive}.
         */
        public String describe()
        {
            final StringBuilder text = new StringBuilder(128);
            switch (type)
            {
                case TYPE_INITIATION -> {
                    text.append("handshake initiation sender ").append(hex(senderIndex));
                    if (staticKey != null)
                    {
                        text.append(" static ").append(Base64.getEncoder().encodeToString(staticKey));
                    }
                    if (timestamp != null)
                    {
                        text.append(" timestamp ").append(Tai64n.label(timestamp) - Tai64n.LABEL_EPOCH).append('.')
                            .append(String.format("%09d", Tai64n.nanos(timestamp)))
                            .append(" (").append(Instant.ofEpochSecond(Tai64n.label(timestamp) - Tai64n.LABEL_EPOCH,
                                Tai64n.nanos(timestamp))).append(')');
                    }
                }
                case TYPE_RESPONSE -> {
                    text.append("handshake response sender ").append(hex(senderIndex)).append(" receiver ")
                        .append(hex(receiverIndex));
                    if (outcome == Outcome.DECRYPTED)
                    {
                        text.append(": handshake ok, session keys derived");
                    }
                }
                case TYPE_COOKIE_REPLY -> text.append("cookie reply receiver ").append(hex(receiverIndex));
                case TYPE_TRANSPORT -> {
                    text.append("transport receiver ").append(hex(receiverIndex)).append(" counter ")
                        .append(Long.toUnsignedString(counter));
                    if (plaintext != null)
                    {
                        text.append(plaintext.length == 0 ? ": keepalive" : ": " + plaintext.length + " B plaintext");
                    }
                }
                default -> text.append("not a WireGuard message");
            }
            if (problem != null)
            {
                text.append(outcome == Outcome.PARTIAL ? " (" + problem + ")" : ": not decrypted: " + problem);
            }
            return text.toString();
        }
    }

    private static final byte[] EMPTY = new byte[0];
    private static final byte[] ZERO_PSK = new byte[32];

    /** A static key: its public half, and its private half when the log has it. */
    private record StaticKey(byte[] publicKey, byte[] privateKey, byte[] mac1Key)
    {
    }

    private record EphemeralKey(byte[] publicKey, byte[] privateKey, byte[] presharedKey)
    {
    }

    /** A decrypted initiation, waiting for its response. */
    private record Initiation(SymmetricState state, byte[] initiatorEphemeral, StaticKey initiator, StaticKey responder)
    {
    }

    private final List<StaticKey> statics = new ArrayList<>();
    private final List<EphemeralKey> ephemerals = new ArrayList<>();
    private final Map<Integer, Initiation> initiations = new HashMap<>();
    private final Map<Integer, byte[]> sessionKeys = new HashMap<>();
    private final ChaCha20Poly1305 aead = new ChaCha20Poly1305();

    /**
     * @param keyLog keys to use from now on (added to any given before).
     * @return this.
     */
    public KeyLogDecryptor addKeyLog(final KeyLog keyLog)
    {
        for (final byte[] privateKey : keyLog.localStaticPrivateKeys())
        {
            addStatic(X25519.publicKey(DeviceKeys.clamp(privateKey.clone())), DeviceKeys.clamp(privateKey.clone()));
        }
        for (final byte[] publicKey : keyLog.remoteStaticPublicKeys())
        {
            addStatic(publicKey.clone(), null);
        }
        for (final KeyLog.EphemeralKey ephemeral : keyLog.ephemeralKeys())
        {
            final byte[] privateKey = DeviceKeys.clamp(ephemeral.privateKey().clone());
            ephemerals.add(new EphemeralKey(X25519.publicKey(privateKey), privateKey,
                ephemeral.presharedKey() == null ? null : ephemeral.presharedKey().clone()));
        }
        return this;
    }

    /**
     * @return the number of static keys known (public, with or without the private key).
     */
    public int staticKeyCount()
    {
        return statics.size();
    }

    /**
     * @return the number of ephemeral private keys known.
     */
    public int ephemeralKeyCount()
    {
        return ephemerals.size();
    }

    private void addStatic(final byte[] publicKey, final byte[] privateKey)
    {
        for (int i = 0; i < statics.size(); i++)
        {
            final StaticKey known = statics.get(i);
            if (Arrays.equals(known.publicKey(), publicKey))
            {
                if (known.privateKey() == null && privateKey != null)
                {
                    statics.set(i, new StaticKey(publicKey, privateKey, known.mac1Key()));
                }
                return;
            }
        }
        statics.add(new StaticKey(publicKey, privateKey, Blake2s.hash(SymmetricState.LABEL_MAC1, publicKey)));
    }

    /**
     * Reads one UDP payload.
     *
     * @param payload the UDP payload (not modified).
     * @return what it is and what it decrypts to.
     */
    public Message decrypt(final byte[] payload)
    {
        final int type = WireguardMessages.recognise(payload, payload.length);
        return switch (type)
        {
            case TYPE_INITIATION -> initiation(payload);
            case TYPE_RESPONSE -> response(payload);
            case TYPE_COOKIE_REPLY -> new Message(type, 0, intLe(payload, COOKIE_RECEIVER_OFFSET), -1,
                Outcome.NOT_ENCRYPTED_TRAFFIC, null, null, null, null);
            case TYPE_TRANSPORT -> transport(payload);
            default -> new Message(0, 0, 0, -1, Outcome.NOT_WIREGUARD, null, null, null, null);
        };
    }

    private Message initiation(final byte[] msg)
    {
        final int sender = intLe(msg, INITIATION_SENDER_OFFSET);
        StaticKey responder = null;
        for (final StaticKey key : statics)
        {
            if (Blake2s.equalsConstantTime(Blake2s.mac(key.mac1Key(), msg, 0, INITIATION_MAC1_OFFSET), 0, msg,
                INITIATION_MAC1_OFFSET, MAC_LENGTH))
            {
                responder = key;
                break;
            }
        }
        if (responder == null)
        {
            return failed(TYPE_INITIATION, sender, 0, -1,
                "MAC1 matches none of the " + statics.size() + " static keys known: the key log lacks the responder's key");
        }
        final byte[] ephemeral = Arrays.copyOfRange(msg, INITIATION_EPHEMERAL_OFFSET, INITIATION_EPHEMERAL_OFFSET + 32);
        final SymmetricState state = SymmetricState.initial(responder.publicKey());
        state.mixChain(ephemeral);
        state.mixHash(ephemeral);
        final EphemeralKey ours = ephemeral(ephemeral);
        final byte[] es;
        if (ours != null)
        {
            es = dh(ours.privateKey(), responder.publicKey());
        }
        else if (responder.privateKey() != null)
        {
            es = dh(responder.privateKey(), ephemeral);
        }
        else
        {
            return failed(TYPE_INITIATION, sender, 0, -1,
                "neither the initiator's ephemeral private key nor the responder's static private key is known");
        }
        final byte[] initiatorStatic = es == null ? null : state.decryptAndHash(state.mixKey(es),
            Arrays.copyOfRange(msg, INITIATION_STATIC_OFFSET, INITIATION_STATIC_OFFSET + 48));
        if (initiatorStatic == null)
        {
            return failed(TYPE_INITIATION, sender, 0, -1, "the initiator's static key does not decrypt (wrong ephemeral key)");
        }
        final StaticKey initiator = knownStatic(initiatorStatic);
        final byte[] ss;
        if (initiator != null && initiator.privateKey() != null)
        {
            ss = dh(initiator.privateKey(), responder.publicKey());
        }
        else if (responder.privateKey() != null)
        {
            ss = dh(responder.privateKey(), initiatorStatic);
        }
        else
        {
            return new Message(TYPE_INITIATION, sender, 0, -1, Outcome.PARTIAL,
                "timestamp not decrypted: neither side's static private key is known", initiatorStatic, null, null);
        }
        final byte[] timestamp = ss == null ? null : state.decryptAndHash(state.mixKey(ss),
            Arrays.copyOfRange(msg, INITIATION_TIMESTAMP_OFFSET, INITIATION_TIMESTAMP_OFFSET + Tai64n.LENGTH + 16));
        if (timestamp == null)
        {
            return new Message(TYPE_INITIATION, sender, 0, -1, Outcome.PARTIAL,
                "timestamp does not decrypt (wrong static key)", initiatorStatic, null, null);
        }
        initiations.put(sender, new Initiation(state, ephemeral,
            initiator != null ? initiator : new StaticKey(initiatorStatic, null, null), responder));
        return new Message(TYPE_INITIATION, sender, 0, -1, Outcome.DECRYPTED, null, initiatorStatic, timestamp, null);
    }

    private Message response(final byte[] msg)
    {
        final int sender = intLe(msg, RESPONSE_SENDER_OFFSET);
        final int receiver = intLe(msg, RESPONSE_RECEIVER_OFFSET);
        final Initiation initiation = initiations.get(receiver);
        if (initiation == null)
        {
            return failed(TYPE_RESPONSE, sender, receiver, -1, "no decrypted handshake initiation with sender index " +
                hex(receiver) + " came before it");
        }
        final byte[] responderEphemeral = Arrays.copyOfRange(msg, RESPONSE_EPHEMERAL_OFFSET, RESPONSE_EPHEMERAL_OFFSET + 32);
        final EphemeralKey initiatorEphemeral = ephemeral(initiation.initiatorEphemeral());
        final EphemeralKey responderKey = ephemeral(responderEphemeral);
        final byte[] ee;
        final byte[] se;
        if (initiatorEphemeral != null && initiation.initiator().privateKey() != null)
        {
            ee = dh(initiatorEphemeral.privateKey(), responderEphemeral);
            se = dh(initiation.initiator().privateKey(), responderEphemeral);
        }
        else if (responderKey != null)
        {
            ee = dh(responderKey.privateKey(), initiation.initiatorEphemeral());
            se = dh(responderKey.privateKey(), initiation.initiator().publicKey());
        }
        else
        {
            return failed(TYPE_RESPONSE, sender, receiver, -1, "neither the responder's ephemeral private key nor the " +
                "initiator's ephemeral and static private keys are known");
        }
        if (ee == null || se == null)
        {
            return failed(TYPE_RESPONSE, sender, receiver, -1, "invalid ephemeral public key (zero shared secret)");
        }
        for (final byte[] psk : presharedKeyCandidates(initiatorEphemeral, responderKey))
        {
            final SymmetricState state = initiation.state().copy();
            state.mixChain(responderEphemeral);
            state.mixHash(responderEphemeral);
            state.mixChain(ee);
            state.mixChain(se);
            final byte[] nothing = state.decryptAndHash(state.mixKeyAndHash(psk),
                Arrays.copyOfRange(msg, RESPONSE_EMPTY_OFFSET, RESPONSE_EMPTY_OFFSET + 16));
            if (nothing != null)
            {
                final byte[][] keys = state.split();
                state.wipe();
                // T1: initiator to responder (addressed to the responder's index); T2: the other way.
                sessionKeys.put(sender, keys[0]);
                sessionKeys.put(receiver, keys[1]);
                initiations.remove(receiver);
                return new Message(TYPE_RESPONSE, sender, receiver, -1, Outcome.DECRYPTED, null, null, null, null);
            }
            state.wipe();
        }
        return failed(TYPE_RESPONSE, sender, receiver, -1,
            "the response does not verify (wrong ephemeral or pre-shared key)");
    }

    private Message transport(final byte[] msg)
    {
        final int receiver = intLe(msg, TRANSPORT_RECEIVER_OFFSET);
        final long counter = ByteBuffer.wrap(msg).order(ByteOrder.LITTLE_ENDIAN).getLong(TRANSPORT_COUNTER_OFFSET);
        final byte[] key = sessionKeys.get(receiver);
        if (key == null)
        {
            return failed(TYPE_TRANSPORT, 0, receiver, counter, "no session key for receiver index " + hex(receiver) +
                " (its handshake is not in the capture or was not decrypted)");
        }
        final byte[] nonce = new byte[12];
        ByteBuffer.wrap(nonce).order(ByteOrder.LITTLE_ENDIAN).putLong(4, counter);
        final byte[] plaintext = aead.open(key, nonce, Arrays.copyOfRange(msg, TRANSPORT_DATA_OFFSET, msg.length), EMPTY);
        if (plaintext == null)
        {
            return failed(TYPE_TRANSPORT, 0, receiver, counter, "authentication tag does not verify");
        }
        return new Message(TYPE_TRANSPORT, 0, receiver, counter, Outcome.DECRYPTED, null, null, null, plaintext);
    }

    private List<byte[]> presharedKeyCandidates(final EphemeralKey initiator, final EphemeralKey responder)
    {
        final List<byte[]> candidates = new ArrayList<>();
        boolean withoutPsk = initiator == null && responder == null;
        for (final EphemeralKey key : ephemerals)
        {
            final boolean matches = initiator != null && Arrays.equals(key.publicKey(), initiator.publicKey()) ||
                responder != null && Arrays.equals(key.publicKey(), responder.publicKey());
            if (matches)
            {
                if (key.presharedKey() == null)
                {
                    withoutPsk = true;
                }
                else
                {
                    candidates.add(key.presharedKey());
                }
            }
        }
        if (withoutPsk || candidates.isEmpty())
        {
            candidates.add(ZERO_PSK);
        }
        return candidates;
    }

    private EphemeralKey ephemeral(final byte[] publicKey)
    {
        for (final EphemeralKey key : ephemerals)
        {
            if (Arrays.equals(key.publicKey(), publicKey))
            {
                return key;
            }
        }
        return null;
    }

    private StaticKey knownStatic(final byte[] publicKey)
    {
        for (final StaticKey key : statics)
        {
            if (Arrays.equals(key.publicKey(), publicKey))
            {
                return key;
            }
        }
        return null;
    }

    /** @return the shared secret, or null when the peer's public key gives the all-zero result. */
    private static byte[] dh(final byte[] privateKey, final byte[] publicKey)
    {
        final byte[] shared = new byte[32];
        return X25519.sharedSecret(privateKey, publicKey, shared) ? shared : null;
    }

    private static Message failed(final int type, final int sender, final int receiver, final long counter,
        final String problem)
    {
        return new Message(type, sender, receiver, counter, Outcome.NOT_DECRYPTED, problem, null, null, null);
    }

    private static int intLe(final byte[] msg, final int offset)
    {
        return ByteBuffer.wrap(msg).order(ByteOrder.LITTLE_ENDIAN).getInt(offset);
    }

    static String hex(final int index)
    {
        return String.format("0x%08x", index);
    }
}
