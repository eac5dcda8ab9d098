package io.vsnic.dataplane.capture;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Builds small Ethernet / IPv4 / UDP frames with valid IPv4 header and UDP checksums.
 */
final class TestFrames
{
    static final int ETHERNET_HEADER_LENGTH = 14;
    static final int IPV4_HEADER_LENGTH = 20;
    static final int UDP_HEADER_LENGTH = 8;

    private TestFrames()
    {
    }

    /**
     * @return an Ethernet II frame carrying IPv4 (TTL 64, DF) and UDP with {@code payload}.
     */
    static byte[] udp(
        final long srcMac, final long dstMac, final int srcIp, final int dstIp, final int srcPort, final int dstPort,
        final byte[] payload)
    {
        final int udpLength = UDP_HEADER_LENGTH + payload.length;
        final int ipLength = IPV4_HEADER_LENGTH + udpLength;
        final ByteBuffer frame = ByteBuffer.allocate(ETHERNET_HEADER_LENGTH + ipLength).order(ByteOrder.BIG_ENDIAN);
        frame.putShort((short)(dstMac >>> 32)).putInt((int)dstMac)
            .putShort((short)(srcMac >>> 32)).putInt((int)srcMac)
            .putShort((short)0x0800);

        final int ip = frame.position();
        frame.put((byte)0x45).put((byte)0).putShort((short)ipLength)
            .putShort((short)0x1234).putShort((short)0x4000)
            .put((byte)64).put((byte)17).putShort((short)0)
            .putInt(srcIp).putInt(dstIp);
        frame.putShort(ip + 10, (short)checksum(frame.array(), ip, IPV4_HEADER_LENGTH, 0));

        final int udp = frame.position();
        frame.putShort((short)srcPort).putShort((short)dstPort).putShort((short)udpLength).putShort((short)0)
            .put(payload);
        final long pseudoHeader = (srcIp >>> 16) + (srcIp & 0xFFFF) + (dstIp >>> 16) + (dstIp & 0xFFFF) + 17 + udpLength;
        int udpChecksum = checksum(frame.array(), udp, udpLength, pseudoHeader);
        if (udpChecksum == 0)
        {
            udpChecksum = 0xFFFF;
        }
        frame.putShort(udp + 6, (short)udpChecksum);

        return frame.array();
    }

    /**
     * @return an IPv4 address from its four octets.
     */
    static int ipv4(final int a, final int b, final int c, final int d)
    {
        return (a << 24) | (b << 16) | (c << 8) | d;
    }

    /**
     * RFC 1071 Internet checksum of {@code length} bytes at {@code offset}, starting from {@code initialSum}.
     */
    static int checksum(final byte[] bytes, final int offset, final int length, final long initialSum)
    {
        long sum = initialSum;
        for (int i = 0; i + 1 < length; i += 2)
        {
            sum += ((bytes[offset + i] & 0xFF) << 8) | (bytes[offset + i + 1] & 0xFF);
        }
        if ((length & 1) != 0)
        {
            sum += (bytes[offset + length - 1] & 0xFF) << 8;
        }
        while ((sum >>> 16) != 0)
        {
            sum = (sum & 0xFFFF) + (sum >>> 16);
        }

        return (int)(~sum & 0xFFFF);
    }
}
