package io.vsnic.crypto.wireguard;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Layouts of the four WireGuard messages (WireGuard paper section 5.4). Unlike the rest of
 * vsnic's wire formats, every integer field here is <b>little-endian</b>: the 32-bit type (1 byte
 * type plus 3 reserved zero bytes, read as one little-endian word), the 32-bit indices and the
 * 64-bit counter.
 *
 * <pre>
 * Handshake initiation (type 1, 148 bytes)      Handshake response (type 2, 92 bytes)
 *   0  type = 1 | reserved (3)                     0  type = 2 | reserved (3)
 *   4  sender index                                4  sender index
 *   8  unencrypted ephemeral (32)                  8  receiver index
 *  40  encrypted static (32 + 16 tag)             12  unencrypted ephemeral (32)
 *  88  encrypted timestamp (12 + 16 tag)          44  encrypted nothing (0 + 16 tag)
 * 116  mac1 (16)                                  60  mac1 (16)
 * 132  mac2 (16)                                  76  mac2 (16)
 *
 * Cookie reply (type 3, 64 bytes)               Transport data (type 4, 32 bytes and up)
 *   0  type = 3 | reserved (3)                     0  type = 4 | reserved (3)
 *   4  receiver index                              4  receiver index
 *   8  nonce (24)                                  8  counter (64-bit)
 *  32  encrypted cookie (16 + 16 tag)             16  encrypted packet, padded to 16 (n + 16 tag)
 * </pre>
 */
public final class WireguardMessages
{
    /** Type of a handshake initiation. */
    public static final int TYPE_INITIATION = 1;
    /** Type of a handshake response. */
    public static final int TYPE_RESPONSE = 2;
    /** Type of a cookie reply. */
    public static final int TYPE_COOKIE_REPLY = 3;
    /** Type of a transport data message. */
    public static final int TYPE_TRANSPORT = 4;

    /** Offset of the 32-bit little-endian type field in every message. */
    public static final int TYPE_OFFSET = 0;
    /** Length of the type field (type byte plus 3 reserved bytes). */
    public static final int TYPE_LENGTH = 4;

    /** Length of a handshake initiation. */
    public static final int INITIATION_LENGTH = 148;
    /** Offset of the initiation's sender index. */
    public static final int INITIATION_SENDER_OFFSET = 4;
    /** Offset of the initiation's unencrypted ephemeral public key. */
    public static final int INITIATION_EPHEMERAL_OFFSET = 8;
    /** Offset of the initiation's encrypted static public key (32 + 16). */
    public static final int INITIATION_STATIC_OFFSET = 40;
    /** Offset of the initiation's encrypted timestamp (12 + 16). */
    public static final int INITIATION_TIMESTAMP_OFFSET = 88;
    /** Offset of the initiation's MAC1. */
    public static final int INITIATION_MAC1_OFFSET = 116;
    /** Offset of the initiation's MAC2. */
    public static final int INITIATION_MAC2_OFFSET = 132;

    /** Length of a handshake response. */
    public static final int RESPONSE_LENGTH = 92;
    /** Offset of the response's sender index. */
    public static final int RESPONSE_SENDER_OFFSET = 4;
    /** Offset of the response's receiver index. */
    public static final int RESPONSE_RECEIVER_OFFSET = 8;
    /** Offset of the response's unencrypted ephemeral public key. */
    public static final int RESPONSE_EPHEMERAL_OFFSET = 12;
    /** Offset of the response's encrypted empty payload (16-byte tag only). */
    public static final int RESPONSE_EMPTY_OFFSET = 44;
    /** Offset of the response's MAC1. */
    public static final int RESPONSE_MAC1_OFFSET = 60;
    /** Offset of the response's MAC2. */
    public static final int RESPONSE_MAC2_OFFSET = 76;

    /** Length of a cookie reply. */
    public static final int COOKIE_REPLY_LENGTH = 64;
    /** Offset of the cookie reply's receiver index. */
    public static final int COOKIE_RECEIVER_OFFSET = 4;
    /** Offset of the cookie reply's 24-byte nonce. */
    public static final int COOKIE_NONCE_OFFSET = 8;
    /** Offset of the cookie reply's encrypted cookie (16 + 16). */
    public static final int COOKIE_ENCRYPTED_OFFSET = 32;

    /** Length of the transport header before the ciphertext. */
    public static final int TRANSPORT_HEADER_LENGTH = 16;
    /** Offset of the transport message's receiver index. */
    public static final int TRANSPORT_RECEIVER_OFFSET = 4;
    /** Offset of the transport message's 64-bit counter. */
    public static final int TRANSPORT_COUNTER_OFFSET = 8;
    /** Offset of the transport message's ciphertext. */
    public static final int TRANSPORT_DATA_OFFSET = 16;
    /** Length of the AEAD tag. */
    public static final int TAG_LENGTH = 16;
    /** Shortest transport message: a keepalive (header and tag, no data). */
    public static final int TRANSPORT_MIN_LENGTH = TRANSPORT_HEADER_LENGTH + TAG_LENGTH;
    /** Transport plaintext is padded with zeros to a multiple of this (capped at the MTU). */
    public static final int PADDING_MULTIPLE = 16;

    /** MAC1 and MAC2 length. */
    public static final int MAC_LENGTH = 16;

    static final ValueLayout.OfInt INT_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong LONG_LE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private WireguardMessages()
    {
    }

    /**
     * @param message the message.
     * @param offset  where it starts; at least 4 bytes must be readable.
     * @return the 32-bit little-endian type word (1 to 4 for valid messages; reserved bytes included).
     */
    public static int type(final MemorySegment message, final long offset)
    {
        return message.get(INT_LE, offset + TYPE_OFFSET);
    }

    /**
     * Recognises a WireGuard message in a UDP payload, as a capture tool must (WireGuard has no
     * port of its own): the type word is 1 to 4 with the three reserved bytes zero, and the length
     * is exact for handshake messages and cookie replies, at least {@value #TRANSPORT_MIN_LENGTH}
     * for transport messages.
     *
     * @param payload a UDP payload.
     * @param length  its length.
     * @return the message type, or 0 when the payload is not a WireGuard message.
     */
    public static int recognise(final byte[] payload, final int length)
    {
        if (length < TYPE_LENGTH || payload[1] != 0 || payload[2] != 0 || payload[3] != 0)
        {
            return 0;
        }
        final int type = payload[0];
        final boolean lengthOk = switch (type)
        {
            case TYPE_INITIATION -> length == INITIATION_LENGTH;
            case TYPE_RESPONSE -> length == RESPONSE_LENGTH;
            case TYPE_COOKIE_REPLY -> length == COOKIE_REPLY_LENGTH;
            case TYPE_TRANSPORT -> length >= TRANSPORT_MIN_LENGTH;
            default -> false;
        };
        return lengthOk ? type : 0;
    }

    /**
     * @param message a transport message.
     * @param offset  where it starts.
     * @return its receiver index.
     */
    public static int transportReceiver(final MemorySegment message, final long offset)
    {
        return message.get(INT_LE, offset + TRANSPORT_RECEIVER_OFFSET);
    }

    /**
     * @param message a transport message.
     * @param offset  where it starts.
     * @return its counter (unsigned).
     */
    public static long transportCounter(final MemorySegment message, final long offset)
    {
        return message.get(LONG_LE, offset + TRANSPORT_COUNTER_OFFSET);
    }

    /**
     * The plaintext length WireGuard pads to: the next multiple of {@value #PADDING_MULTIPLE}, but
     * not beyond the MTU (a packet of exactly the MTU, or larger, is not padded further).
     *
     * @param plaintextLength the inner packet length.
     * @param mtuBytes        the tunnel MTU, or 0 for no cap.
     * @return the padded length.
     */
    public static int paddedLength(final int plaintextLength, final int mtuBytes)
    {
        final int padded = (plaintextLength + PADDING_MULTIPLE - 1) & -PADDING_MULTIPLE;
        if (mtuBytes <= 0)
        {
            return padded;
        }
        return Math.max(plaintextLength, Math.min(padded, mtuBytes));
    }

    /**
     * @param plaintextLength the inner packet length.
     * @param mtuBytes        the tunnel MTU, or 0 for no cap.
     * @return the transport message length: header, padded ciphertext and tag.
     */
    public static int transportLength(final int plaintextLength, final int mtuBytes)
    {
        return TRANSPORT_HEADER_LENGTH + paddedLength(plaintextLength, mtuBytes) + TAG_LENGTH;
    }
}
