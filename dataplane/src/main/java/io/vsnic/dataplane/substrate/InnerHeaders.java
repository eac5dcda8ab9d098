package io.vsnic.dataplane.substrate;

import static io.vsnic.dataplane.protocol.Flyweight.U16;
import static io.vsnic.dataplane.protocol.Flyweight.U32;
import static io.vsnic.dataplane.protocol.Flyweight.U64;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import io.vsnic.dataplane.buffer.Frame;
import io.vsnic.dataplane.protocol.Checksums;
import io.vsnic.dataplane.status.DropReason;

/**
 * The inner IP and UDP headers of an overlay packet carried inside WireGuard: what the plaintext
 * of a transport message looks like, so that a WireGuard peer with a Linux VXLAN (or a Geneve)
 * device on its tunnel interface reads it as ordinary overlay traffic between the two devices'
 * inner substrate addresses.
 *
 * <pre>
 *  IPv4 (RFC 791, 20 bytes, DF, TTL 64, no options) or IPv6 (RFC 8200, 40 bytes, hop limit 64)
 *  UDP  (RFC 768): source port = flow entropy of the inner frame (49152-65535, as RFC 7348
 *       section 5 recommends), destination 6081 (Geneve) or 4789 (VXLAN), checksum 0 over IPv4
 *       (RFC 7348 / RFC 8926), computed over IPv6 (RFC 8200 section 8.1)
 *  Geneve or VXLAN header, inner Ethernet frame
 * </pre>
 *
 * <p>On receipt ({@link #strip}) the checks, each a drop reason: IP version and lengths, no
 * fragments, IPv4 header checksum, protocol UDP without IPv6 extension headers, the source is the
 * peer's inner address (cryptokey routing: {@link DropReason#WG_INNER_SOURCE}), the destination is
 * ours and the UDP destination port the overlay's ({@link DropReason#WG_INNER_NOT_OVERLAY}), and the
 * UDP length. The UDP checksum is not verified: the AEAD tag already authenticated every byte.
 *
 * <p>Stateless and allocation-free; any thread.
 */
public final class InnerHeaders
{
    /** IPv4 header length written. */
    public static final int IPV4_LENGTH = 20;
    /** IPv6 header length written. */
    public static final int IPV6_LENGTH = 40;
    /** UDP header length. */
    public static final int UDP_LENGTH = 8;
    /** Geneve's UDP port (RFC 8926). */
    public static final int GENEVE_PORT = 6081;
    /** VXLAN's UDP port (RFC 7348). */
    public static final int VXLAN_PORT = 4789;

    private static final ValueLayout.OfByte U8 = ValueLayout.JAVA_BYTE;
    private static final int PROTOCOL_UDP = 17;

    private InnerHeaders()
    {
    }

    /**
     * A UDP source port from the {@link #flowHash flow hash} of an Ethernet frame; the same flow always
     * maps to the same port.
     *
     * @return a UDP source port in 49152..65535.
     */
    public static int flowPort(final MemorySegment segment, final long ethernet, final int length)
    {
        return 49152 | (flowHash(segment, ethernet, length) & 0x3FFF);
    }

    /**
     * A flow hash of an Ethernet frame: IP addresses, protocol and (unless a fragment) ports of
     * IPv4/IPv6 packets, else the MAC addresses. Every fragment of an IPv4 packet (the first too)
     * hashes by addresses and protocol only, so all of them get the same value.
     *
     * @return a non-negative hash.
     */
    public static int flowHash(final MemorySegment segment, final long ethernet, final int length)
    {
        long h;
        final int etherType = length >= 14 ? segment.get(U16, ethernet + 12) & 0xFFFF : 0;
        if (etherType == 0x0800 && length >= 34)
        {
            final long ip = ethernet + 14;
            final int ihl = (segment.get(U8, ip) & 0x0F) * 4;
            final int protocol = segment.get(U8, ip + 9) & 0xFF;
            h = segment.get(U64, ip + 12) ^ protocol;
            final boolean fragment = (segment.get(U16, ip + 6) & 0x3FFF) != 0;
            if (!fragment && (protocol == 6 || protocol == PROTOCOL_UDP) && length >= 14 + ihl + 4)
            {
                h ^= (long)segment.get(U32, ip + ihl) << 16;
            }
        }
        else if (etherType == 0x86DD && length >= 54)
        {
            final long ip = ethernet + 14;
            final int next = segment.get(U8, ip + 6) & 0xFF;
            h = segment.get(U64, ip + 8) ^ Long.rotateLeft(segment.get(U64, ip + 16), 17) ^
                Long.rotateLeft(segment.get(U64, ip + 24), 31) ^ Long.rotateLeft(segment.get(U64, ip + 32), 47) ^ next;
            if ((next == 6 || next == PROTOCOL_UDP) && length >= 58)
            {
                h ^= (long)segment.get(U32, ip + 40) << 16;
            }
        }
        else if (length >= 12)
        {
            h = segment.get(U64, ethernet) ^ ((long)segment.get(U32, ethernet + 8) << 32);
        }
        else
        {
            h = 0;
        }
        h *= 0xFF51_AFD7_ED55_8CCDL;
        h ^= h >>> 33;
        h *= 0xC4CE_B9FE_1A85_EC53L;
        h ^= h >>> 29;
        return (int)(h & 0x7FFF_FFFF);
    }

    /**
     * Writes IPv4 + UDP headers at {@code offset} in front of {@code payloadLength} bytes of overlay packet.
     *
     * @return the IP packet length.
     */
    public static int writeIpv4(
        final MemorySegment segment, final long offset, final int source, final int destination, final int sourcePort,
        final int destinationPort, final int payloadLength)
    {
        final int total = IPV4_LENGTH + UDP_LENGTH + payloadLength;
        segment.set(U32, offset, 0x4500_0000 | total);
        segment.set(U32, offset + 4, 0x0000_4000);             // id 0, DF
        segment.set(U32, offset + 8, (64 << 24) | (PROTOCOL_UDP << 16)); // TTL, protocol, checksum 0
        segment.set(U32, offset + 12, source);
        segment.set(U32, offset + 16, destination);
        segment.set(U16, offset + 10, (short)Checksums.checksum(segment, offset, IPV4_LENGTH));
        final long udp = offset + IPV4_LENGTH;
        segment.set(U32, udp, sourcePort << 16 | destinationPort);
        segment.set(U32, udp + 4, (UDP_LENGTH + payloadLength) << 16); // checksum 0: none (IPv4)
        return total;
    }

    /**
     * Writes IPv6 + UDP headers (with the UDP checksum) at {@code offset} in front of
     * {@code payloadLength} bytes of overlay packet.
     *
     * @return the IP packet length.
     */
    public static int writeIpv6(
        final MemorySegment segment, final long offset, final long sourceHigh, final long sourceLow, final long destinationHigh,
        final long destinationLow, final int sourcePort, final int destinationPort, final int payloadLength)
    {
        final int udpLength = UDP_LENGTH + payloadLength;
        segment.set(U32, offset, 0x6000_0000);
        segment.set(U32, offset + 4, udpLength << 16 | PROTOCOL_UDP << 8 | 64);
        segment.set(U64, offset + 8, sourceHigh);
        segment.set(U64, offset + 16, sourceLow);
        segment.set(U64, offset + 24, destinationHigh);
        segment.set(U64, offset + 32, destinationLow);
        final long udp = offset + IPV6_LENGTH;
        segment.set(U32, udp, sourcePort << 16 | destinationPort);
        segment.set(U32, udp + 4, udpLength << 16);
        final long sum = Checksums.sum(segment, udp, udpLength, Checksums.pseudoHeaderSumIpv6(segment, offset + 8, PROTOCOL_UDP, udpLength));
        int checksum = ~Checksums.fold(sum) & 0xFFFF;
        if (checksum == 0)
        {
            checksum = 0xFFFF;
        }
        segment.set(U16, udp + 6, (short)checksum);
        return IPV6_LENGTH + udpLength;
    }

    /**
     * Checks the inner IP + UDP headers of a decrypted transport message and, when they are an
     * overlay packet from the peer to us, sets the frame's window to the UDP payload (the overlay
     * header and the inner Ethernet frame).
     *
     * @param frame      the frame; its segment holds the plaintext at {@code plaintext}.
     * @param plaintext  where the inner IP packet starts.
     * @param length     plaintext length (padded: the IP length field tells the real one).
     * @param peerV4     the peer's inner IPv4 address, when {@code ipv6} is false.
     * @param peerHigh   the first 8 bytes of the peer's inner IPv6 address.
     * @param peerLow    the last 8 bytes of the peer's inner IPv6 address.
     * @param ourV4      our inner IPv4 address.
     * @param ourHigh    the first 8 bytes of our inner IPv6 address.
     * @param ourLow     the last 8 bytes of our inner IPv6 address.
     * @param ipv6       whether the inner addresses are IPv6.
     * @param port       the overlay's UDP port for this peer.
     * @return 0, or the {@link DropReason} ordinal.
     */
    public static int strip(
        final Frame frame, final int plaintext, final int length, final int peerV4, final long peerHigh, final long peerLow,
        final int ourV4, final long ourHigh, final long ourLow, final boolean ipv6, final int port)
    {
        final long located = locate(frame.segment(), plaintext, length, peerV4, peerHigh, peerLow, ourV4, ourHigh, ourLow, ipv6, port);
        if (located < 0)
        {
            return (int)-located;
        }
        frame.window((int)(located >>> 32), (int)located);
        return 0;
    }

    /**
     * The checks of {@link #strip} on a plaintext that sits in any segment, nothing written.
     *
     * @return the overlay packet's offset in the high 32 bits and its length in the low 32 bits, or
     *     minus the {@link DropReason} ordinal.
     */
    public static long locate(
        final MemorySegment segment, final int plaintext, final int length, final int peerV4, final long peerHigh,
        final long peerLow, final int ourV4, final long ourHigh, final long ourLow, final boolean ipv6, final int port)
    {
        if (length < 1)
        {
            return -DropReason.TRUNCATED.ordinal();
        }
        final int version = (segment.get(U8, plaintext) & 0xFF) >>> 4;
        final int udp;
        final int ipPayload;
        if (version == 4 && !ipv6)
        {
            final int ihl = (segment.get(U8, plaintext) & 0x0F) * 4;
            if (ihl < IPV4_LENGTH || length < ihl + UDP_LENGTH)
            {
                return -DropReason.TRUNCATED.ordinal();
            }
            final int total = segment.get(U16, plaintext + 2) & 0xFFFF;
            if (total > length || total < ihl + UDP_LENGTH)
            {
                return -DropReason.BAD_IP_LENGTH.ordinal();
            }
            if (Checksums.checksum(segment, plaintext, ihl) != 0)
            {
                return -DropReason.BAD_CHECKSUM.ordinal();
            }
            if (segment.get(U32, plaintext + 12) != peerV4)
            {
                return -DropReason.WG_INNER_SOURCE.ordinal();
            }
            if ((segment.get(U16, plaintext + 6) & 0x3FFF) != 0 || (segment.get(U8, plaintext + 9) & 0xFF) != PROTOCOL_UDP ||
                segment.get(U32, plaintext + 16) != ourV4)
            {
                return -DropReason.WG_INNER_NOT_OVERLAY.ordinal();
            }
            udp = plaintext + ihl;
            ipPayload = total - ihl;
        }
        else if (version == 6 && ipv6)
        {
            if (length < IPV6_LENGTH + UDP_LENGTH)
            {
                return -DropReason.TRUNCATED.ordinal();
            }
            final int payload = segment.get(U16, plaintext + 4) & 0xFFFF;
            if (IPV6_LENGTH + payload > length || payload < UDP_LENGTH)
            {
                return -DropReason.BAD_IP_LENGTH.ordinal();
            }
            if (segment.get(U64, plaintext + 8) != peerHigh || segment.get(U64, plaintext + 16) != peerLow)
            {
                return -DropReason.WG_INNER_SOURCE.ordinal();
            }
            if ((segment.get(U8, plaintext + 6) & 0xFF) != PROTOCOL_UDP || segment.get(U64, plaintext + 24) != ourHigh ||
                segment.get(U64, plaintext + 32) != ourLow)
            {
                return -DropReason.WG_INNER_NOT_OVERLAY.ordinal();
            }
            udp = plaintext + IPV6_LENGTH;
            ipPayload = payload;
        }
        else
        {
            return -DropReason.BAD_IP_VERSION.ordinal();
        }
        final int udpLength = segment.get(U16, udp + 4) & 0xFFFF;
        if (udpLength < UDP_LENGTH || udpLength > ipPayload)
        {
            return -DropReason.BAD_UDP_LENGTH.ordinal();
        }
        if ((segment.get(U16, udp + 2) & 0xFFFF) != port)
        {
            return -DropReason.WG_INNER_NOT_OVERLAY.ordinal();
        }
        return (long)(udp + UDP_LENGTH) << 32 | (udpLength - UDP_LENGTH);
    }
}
