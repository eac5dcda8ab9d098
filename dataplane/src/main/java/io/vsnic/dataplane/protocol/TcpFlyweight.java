package io.vsnic.dataplane.protocol;

/**
 * TCP header (RFC 9293 section 3.1).
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |          Source Port          |       Destination Port        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                        Sequence Number                        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Acknowledgment Number                      |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Data |       |C|E|U|A|P|R|S|F|                               |
 * | Offset| Rsrvd |W|C|R|C|S|S|Y|I|            Window             |
 * |       |       |R|E|G|K|H|T|N|N|                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |           Checksum            |         Urgent Pointer        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Options (data offset > 5)                  |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * </pre>
 */
public final class TcpFlyweight extends Flyweight
{
    public static final int SOURCE_PORT_OFFSET = 0;
    public static final int DESTINATION_PORT_OFFSET = 2;
    public static final int SEQUENCE_OFFSET = 4;
    public static final int ACKNOWLEDGMENT_OFFSET = 8;
    public static final int DATA_OFFSET_OFFSET = 12;
    public static final int FLAGS_OFFSET = 13;
    public static final int WINDOW_OFFSET = 14;
    public static final int CHECKSUM_OFFSET = 16;
    public static final int URGENT_OFFSET = 18;
    public static final int MIN_HEADER_LENGTH = 20;

    public static final int FIN = 0x01;
    public static final int SYN = 0x02;
    public static final int RST = 0x04;
    public static final int PSH = 0x08;
    public static final int ACK = 0x10;
    public static final int URG = 0x20;
    public static final int ECE = 0x40;
    public static final int CWR = 0x80;

    public int sourcePort()
    {
        return u16(SOURCE_PORT_OFFSET);
    }

    public TcpFlyweight sourcePort(final int port)
    {
        u16(SOURCE_PORT_OFFSET, port);
        return this;
    }

    public int destinationPort()
    {
        return u16(DESTINATION_PORT_OFFSET);
    }

    public TcpFlyweight destinationPort(final int port)
    {
        u16(DESTINATION_PORT_OFFSET, port);
        return this;
    }

    public long sequence()
    {
        return u32(SEQUENCE_OFFSET);
    }

    public TcpFlyweight sequence(final long sequence)
    {
        i32(SEQUENCE_OFFSET, (int)sequence);
        return this;
    }

    public long acknowledgment()
    {
        return u32(ACKNOWLEDGMENT_OFFSET);
    }

    public TcpFlyweight acknowledgment(final long acknowledgment)
    {
        i32(ACKNOWLEDGMENT_OFFSET, (int)acknowledgment);
        return this;
    }

    /**
     * @return header length in bytes (data offset x 4).
     */
    public int headerLength()
    {
        return (u8(DATA_OFFSET_OFFSET) >>> 4) << 2;
    }

    public TcpFlyweight headerLength(final int headerLengthBytes)
    {
        u8(DATA_OFFSET_OFFSET, (headerLengthBytes >>> 2) << 4);
        return this;
    }

    public int flags()
    {
        return u8(FLAGS_OFFSET);
    }

    public TcpFlyweight flags(final int flags)
    {
        u8(FLAGS_OFFSET, flags);
        return this;
    }

    public int window()
    {
        return u16(WINDOW_OFFSET);
    }

    public TcpFlyweight window(final int window)
    {
        u16(WINDOW_OFFSET, window);
        return this;
    }

    public int checksum()
    {
        return u16(CHECKSUM_OFFSET);
    }

    public TcpFlyweight checksum(final int checksum)
    {
        u16(CHECKSUM_OFFSET, checksum);
        return this;
    }

    public int urgentPointer()
    {
        return u16(URGENT_OFFSET);
    }

    public TcpFlyweight urgentPointer(final int pointer)
    {
        u16(URGENT_OFFSET, pointer);
        return this;
    }

    /**
     * Computes and stores the checksum over {@code length} bytes of segment with the given unfolded
     * pseudo-header sum.
     */
    public TcpFlyweight updateChecksum(final long pseudoHeaderSum, final int length)
    {
        u16(CHECKSUM_OFFSET, 0);
        u16(CHECKSUM_OFFSET, ~Checksums.fold(Checksums.sum(segment, offset, length, pseudoHeaderSum)) & 0xFFFF);
        return this;
    }

    /**
     * @return the folded one's-complement sum of pseudo-header and segment; 0xFFFF when it verifies.
     */
    public int verifySum(final long pseudoHeaderSum, final int length)
    {
        return Checksums.fold(Checksums.sum(segment, offset, length, pseudoHeaderSum));
    }

    /**
     * @return flags as tcpdump prints them ("S.", "P.", "F.", "R", ...).
     */
    public static String formatFlags(final int flags)
    {
        final StringBuilder text = new StringBuilder(8);
        if ((flags & FIN) != 0)
        {
            text.append('F');
        }
        if ((flags & SYN) != 0)
        {
            text.append('S');
        }
        if ((flags & RST) != 0)
        {
            text.append('R');
        }
        if ((flags & PSH) != 0)
        {
            text.append('P');
        }
        if ((flags & URG) != 0)
        {
            text.append('U');
        }
        if ((flags & ECE) != 0)
        {
            text.append('E');
        }
        if ((flags & CWR) != 0)
        {
            text.append('W');
        }
        if ((flags & ACK) != 0)
        {
            text.append('.');
        }
        return text.isEmpty() ? "none" : text.toString();
    }
}
