package io.vsnic.dataplane.capture;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

import io.vsnic.crypto.wireguard.KeyLog;
import io.vsnic.crypto.wireguard.KeyLogDecryptor;
import io.vsnic.crypto.wireguard.WireguardMessages;
import io.vsnic.dataplane.protocol.EthernetFlyweight;
import io.vsnic.dataplane.protocol.FrameClassifier;
import io.vsnic.dataplane.protocol.FrameLayout;
import io.vsnic.dataplane.protocol.IpProtocol;

/**
 * Decrypts the WireGuard messages of a substrate capture: finds each frame's UDP payload (Ethernet,
 * Linux cooked capture v1/v2 as {@code tcpdump -i any} writes, or raw IP link types; IPv4 or IPv6), recognises WireGuard messages by their type word and length
 * (WireGuard has no fixed port), and hands them to a {@link KeyLogDecryptor} with the key logs
 * given and, when asked, the key logs embedded in the capture's pcapng Decryption Secrets Blocks
 * (type {@link DecryptionSecrets#WIREGUARD_KEY_LOG}), picked up as the reader meets them.
 *
 * <p>Every frame gives a {@link Frame}: the decryptor's reading of its message, or a note saying
 * why it holds none (not UDP, an outer IP fragment, not WireGuard). Nothing in a frame makes the
 * run fail; only an unreadable file does ({@link IOException} / {@link CaptureFormatException}).
 *
 * <p>Tooling, not the data path: allocates per frame; one thread.
 */
public final class CaptureDecryptor
{
    /**
     * One frame of the capture as the decryptor saw it.
     *
     * @param record        the frame.
     * @param source        outer source address, or null when the frame has no IP/UDP.
     * @param sourcePort    outer UDP source port, or -1.
     * @param destination   outer destination address, or null.
     * @param destinationPort outer UDP destination port, or -1.
     * @param udpPayload    the UDP payload, or null when the frame has none.
     * @param message       the decryptor's reading of the payload, or null when there is no payload.
     * @param note          why there is no payload (or it is truncated), or null.
     * @param innerPacket   for a decrypted transport message: the inner IP packet without
     *                      WireGuard's padding (empty for a keepalive); else null.
     */
    public record Frame(CaptureRecord record, InetAddress source, int sourcePort, InetAddress destination,
        int destinationPort, byte[] udpPayload, KeyLogDecryptor.Message message, String note, byte[] innerPacket)
    {
        /**
         * @return whether the frame holds a WireGuard message.
         */
        public boolean isWireguard()
        {
            return message != null && message.type() != 0;
        }

        /**
         * @return {@code 10.9.0.1:43462 > 10.9.0.2:51820} ({@code [v6]:port} for IPv6), or "" without IP/UDP.
         */
        public String addresses()
        {
            if (source == null)
            {
                return "";
            }
            return endpoint(source, sourcePort) + " > " + endpoint(destination, destinationPort);
        }

        private static String endpoint(final InetAddress address, final int port)
        {
            final String host = address.getHostAddress();
            return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
        }
    }

    private static final int SLL_HEADER_LENGTH = 16;
    private static final int SLL_PROTOCOL_OFFSET = 14;
    private static final int SLL2_HEADER_LENGTH = 20;

    private final KeyLogDecryptor decryptor = new KeyLogDecryptor();
    private final boolean useEmbeddedKeyLogs;
    private final FrameClassifier classifier = FrameClassifier.builder().verifyL4Checksums(false).mtuBytes(65535).build();
    private final FrameLayout layout = new FrameLayout();
    private final ArrayDeque<Frame> pending = new ArrayDeque<>();
    private int secretsSeen;
    private int embeddedKeyLogs;

    /**
     * @param useEmbeddedKeyLogs whether WireGuard key logs in the capture's Decryption Secrets
     *                           Blocks are used (in addition to those given with {@link #addKeyLog}).
     */
    public CaptureDecryptor(final boolean useEmbeddedKeyLogs)
    {
        this.useEmbeddedKeyLogs = useEmbeddedKeyLogs;
    }

    /**
     * @param keyLog keys to decrypt with from now on.
     * @return this.
     */
    public CaptureDecryptor addKeyLog(final KeyLog keyLog)
    {
        decryptor.addKeyLog(Objects.requireNonNull(keyLog, "keyLog"));
        return this;
    }

    /**
     * @return how many embedded WireGuard key logs have been picked up so far.
     */
    public int embeddedKeyLogs()
    {
        return embeddedKeyLogs;
    }

    /**
     * @return the number of static keys known (given and embedded).
     */
    public int staticKeyCount()
    {
        return decryptor.staticKeyCount();
    }

    /**
     * @return the number of ephemeral private keys known (given and embedded).
     */
    public int ephemeralKeyCount()
    {
        return decryptor.ephemeralKeyCount();
    }

    /**
     * Reads and decrypts the next frame, first taking the keys of any Decryption Secrets Block the
     * reader met before it (when embedded key logs are used).
     *
     * @param reader the capture.
     * @return the frame, or null at the end of the capture.
     * @throws IOException when the capture cannot be read, or an embedded key log is not a valid
     *                     key log; {@link CaptureFormatException} when the capture is corrupt.
     */
    public Frame next(final CaptureReader reader) throws IOException
    {
        if (!pending.isEmpty())
        {
            return pending.poll();
        }
        final CaptureRecord record = reader.next();
        takeEmbeddedKeyLogs(reader);
        if (record == null)
        {
            return null;
        }
        final List<Frame> frames = decryptAll(record);
        for (int i = 1; i < frames.size(); i++)
        {
            pending.add(frames.get(i));
        }
        return frames.get(0);
    }

    private void takeEmbeddedKeyLogs(final CaptureReader reader) throws IOException
    {
        final List<DecryptionSecrets> secrets = reader.secrets();
        while (secretsSeen < secrets.size())
        {
            final DecryptionSecrets block = secrets.get(secretsSeen++);
            if (useEmbeddedKeyLogs && block.type() == DecryptionSecrets.WIREGUARD_KEY_LOG)
            {
                try
                {
                    decryptor.addKeyLog(KeyLog.parse(block.text()));
                }
                catch (final IllegalArgumentException ex)
                {
                    throw new IOException("embedded WireGuard key log " + (embeddedKeyLogs + 1) + ": " + ex.getMessage(), ex);
                }
                embeddedKeyLogs++;
            }
        }
    }

    /**
     * Decrypts one frame (frames must come in capture order: handshakes before their traffic).
     *
     * @param record the frame.
     * @return what it holds.
     */
    public Frame decrypt(final CaptureRecord record)
    {
        return decryptAll(record).get(0);
    }

    /**
     * Decrypts one captured frame into the WireGuard messages it holds: one, or several when the frame
     * is a UDP GSO packet as a capture on the sending host or a veth substrate shows it (the kernel
     * cuts it into datagrams only on a wire; vsnic sends the sealed segments of a super-frame that way).
     * Such a packet is recognised by its transport messages following each other at one fixed size
     * with one receiver index and consecutive counters; each becomes its own frame, in order.
     *
     * @param record the frame.
     * @return what it holds, at least one frame.
     */
    public List<Frame> decryptAll(final CaptureRecord record)
    {
        final byte[] data = record.data();
        final MemorySegment segment = MemorySegment.ofArray(data);
        switch (record.linkType())
        {
            case LinkType.LINKTYPE_ETHERNET -> classifier.classify(segment, 0, data.length, layout);
            case LinkType.LINKTYPE_RAW, LinkType.LINKTYPE_IPV4, LinkType.LINKTYPE_IPV6 ->
                classifier.classifyIp(segment, 0, data.length, layout);
            case LinkType.LINKTYPE_LINUX_SLL, LinkType.LINKTYPE_LINUX_SLL2 -> {
                // tcpdump -i any: a 16-byte (SLL) or 20-byte (SLL2) pseudo-header whose protocol type
                // field is the EtherType: at byte 14 in SLL, at byte 0 in SLL2.
                final boolean sll2 = record.linkType() == LinkType.LINKTYPE_LINUX_SLL2;
                final int headerLength = sll2 ? SLL2_HEADER_LENGTH : SLL_HEADER_LENGTH;
                if (data.length < headerLength)
                {
                    return List.of(noPayload(record, "truncated Linux cooked capture header"));
                }
                final int protocolOffset = sll2 ? 0 : SLL_PROTOCOL_OFFSET;
                final int etherType = (data[protocolOffset] & 0xFF) << 8 | (data[protocolOffset + 1] & 0xFF);
                if (etherType != EthernetFlyweight.ETHER_TYPE_IPV4 && etherType != EthernetFlyweight.ETHER_TYPE_IPV6)
                {
                    return List.of(noPayload(record, String.format("not IP (protocol type 0x%04x)", etherType)));
                }
                classifier.classifyIp(segment, headerLength, data.length - headerLength, layout);
            }
            default -> {
                return List.of(noPayload(record, "link type " + record.linkType() + " is not Ethernet, Linux cooked or raw IP"));
            }
        }
        if (layout.l3Type() != FrameLayout.L3_IPV4 && layout.l3Type() != FrameLayout.L3_IPV6)
        {
            return List.of(noPayload(record, "not IP (" + layout.dropReason().label() + ")"));
        }
        if (layout.l4Protocol() != IpProtocol.UDP)
        {
            return List.of(noPayload(record, "not UDP (IP protocol " + layout.l4Protocol() + ")"));
        }
        if ((layout.flags() & FrameLayout.FLAG_FRAGMENT) != 0)
        {
            return List.of(noPayload(record, "outer IP fragment: not reassembled"));
        }
        final int udp = layout.l4Offset();
        if (udp < 0 || layout.l4HeaderLength() == 0 || udp + 8 > data.length)
        {
            return List.of(noPayload(record, "UDP header missing (" + layout.dropReason().label() + ")"));
        }
        final InetAddress source;
        final InetAddress destination;
        try
        {
            final int addressLength = layout.l3Type() == FrameLayout.L3_IPV4 ? 4 : 16;
            final int sourceOffset = layout.l3Offset() + (addressLength == 4 ? 12 : 8);
            source = InetAddress.getByAddress(Arrays.copyOfRange(data, sourceOffset, sourceOffset + addressLength));
            destination = InetAddress.getByAddress(Arrays.copyOfRange(data, sourceOffset + addressLength,
                sourceOffset + 2 * addressLength));
        }
        catch (final UnknownHostException ex)
        {
            throw new IllegalStateException("4 or 16 address bytes are always valid", ex);
        }
        final int udpLength = (data[udp + 4] & 0xFF) << 8 | (data[udp + 5] & 0xFF);
        final int end = Math.min(udp + Math.max(udpLength, 8), data.length);
        final byte[] payload = Arrays.copyOfRange(data, udp + 8, end);
        final String note = udp + udpLength > data.length ? "UDP datagram truncated in the capture (" + payload.length +
            " of " + (udpLength - 8) + " bytes)" : null;
        final int gsoSize = note == null ? gsoSegmentSize(payload) : 0;
        if (gsoSize == 0)
        {
            return List.of(frame(record, source, layout.sourcePort(), destination, layout.destinationPort(), payload, note));
        }
        final int count = (payload.length + gsoSize - 1) / gsoSize;
        final List<Frame> frames = new ArrayList<>(count);
        for (int i = 0; i < count; i++)
        {
            final byte[] message = Arrays.copyOfRange(payload, i * gsoSize, Math.min(payload.length, (i + 1) * gsoSize));
            frames.add(frame(record, source, layout.sourcePort(), destination, layout.destinationPort(), message,
                "datagram " + (i + 1) + " of " + count + " in one UDP GSO packet (" + gsoSize + "-byte segments)"));
        }
        return frames;
    }

    private Frame frame(final CaptureRecord record, final InetAddress source, final int sourcePort, final InetAddress destination,
        final int destinationPort, final byte[] payload, final String note)
    {
        final KeyLogDecryptor.Message message = decryptor.decrypt(payload);
        return new Frame(record, source, sourcePort, destination, destinationPort, payload, message, note,
            message.plaintext() == null ? null : innerPacket(message.plaintext()));
    }

    /**
     * The segment size of a UDP payload that is several WireGuard transport messages back to back (a
     * UDP GSO packet): every segment but the last of one size (a multiple of 16), each starting with a
     * transport header of the first one's receiver index and the next counter. Twelve header bytes
     * must match at every boundary, which ciphertext does by chance with probability 2^-96.
     *
     * @return the segment size, or 0 when the payload is one datagram.
     */
    static int gsoSegmentSize(final byte[] payload)
    {
        final int minimum = WireguardMessages.TRANSPORT_HEADER_LENGTH + WireguardMessages.TAG_LENGTH;
        if (payload.length < 2 * minimum || !transportHeader(payload, 0))
        {
            return 0;
        }
        final long counter = counter(payload, 0);
        candidates:
        for (int size = minimum; size + minimum <= payload.length; size += 16)
        {
            if (!transportHeader(payload, size) || !sameReceiver(payload, size) || counter(payload, size) != counter + 1)
            {
                continue;
            }
            int n = 2;
            for (int at = 2 * size; at < payload.length; at += size, n++)
            {
                if (payload.length - at < minimum || !transportHeader(payload, at) || !sameReceiver(payload, at) ||
                    counter(payload, at) != counter + n)
                {
                    continue candidates;
                }
            }
            return size;
        }
        return 0;
    }

    private static boolean transportHeader(final byte[] payload, final int at)
    {
        return payload[at] == WireguardMessages.TYPE_TRANSPORT && payload[at + 1] == 0 && payload[at + 2] == 0 && payload[at + 3] == 0;
    }

    private static boolean sameReceiver(final byte[] payload, final int at)
    {
        return payload[at + 4] == payload[4] && payload[at + 5] == payload[5] && payload[at + 6] == payload[6] &&
            payload[at + 7] == payload[7];
    }

    private static long counter(final byte[] payload, final int at)
    {
        long value = 0;
        for (int i = 7; i >= 0; i--)
        {
            value = (value << 8) | (payload[at + 8 + i] & 0xFFL);
        }
        return value;
    }

    private static Frame noPayload(final CaptureRecord record, final String note)
    {
        return new Frame(record, null, -1, null, -1, null, null, note, null);
    }

    /**
     * Strips WireGuard's zero padding from a transport plaintext using the inner IP header's length
     * field. A plaintext that is not a consistent IPv4/IPv6 packet is returned whole.
     *
     * @param plaintext the decrypted transport payload.
     * @return the inner packet (empty for a keepalive).
     */
    public static byte[] innerPacket(final byte[] plaintext)
    {
        if (plaintext.length == 0)
        {
            return plaintext;
        }
        final int version = (plaintext[0] & 0xFF) >>> 4;
        int length = -1;
        if (version == 4 && plaintext.length >= 20)
        {
            length = (plaintext[2] & 0xFF) << 8 | (plaintext[3] & 0xFF);
            if (length < 20)
            {
                length = -1;
            }
        }
        else if (version == 6 && plaintext.length >= 40)
        {
            length = 40 + ((plaintext[4] & 0xFF) << 8 | (plaintext[5] & 0xFF));
        }
        return length > 0 && length <= plaintext.length ? Arrays.copyOf(plaintext, length) : plaintext;
    }
}
