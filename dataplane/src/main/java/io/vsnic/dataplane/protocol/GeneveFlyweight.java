package io.vsnic.dataplane.protocol;

/**
 * Geneve header (RFC 8926 section 3.4) with its option TLVs (section 3.5), carried in UDP to port
 * 6081.
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |Ver|  Opt Len  |O|C|    Rsvd.  |          Protocol Type        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |        Virtual Network Identifier (VNI)       |    Reserved   |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Variable-Length Options                    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Option TLV (section 3.5):
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |          Option Class         |C|    Type     |R|R|R| Length  |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                 Variable-Length Option Data                   |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * </pre>
 *
 * Opt Len and the option Length count 4-byte words, excluding their own headers. The C flag in the
 * fixed header says that at least one critical option (type bit 0x80) is present.
 */
public final class GeneveFlyweight extends Flyweight
{
    public static final int VERSION_OPTION_LENGTH_OFFSET = 0;
    public static final int FLAGS_OFFSET = 1;
    public static final int PROTOCOL_TYPE_OFFSET = 2;
    public static final int VNI_OFFSET = 4;
    public static final int OPTIONS_OFFSET = 8;
    public static final int HEADER_LENGTH = 8;
    /** Largest option area: Opt Len is 6 bits of 4-byte words. */
    public static final int MAX_OPTIONS_LENGTH = 63 * 4;
    public static final int OPTION_HEADER_LENGTH = 4;

    public static final int FLAG_OAM = 0x80;
    public static final int FLAG_CRITICAL = 0x40;
    public static final int OPTION_TYPE_CRITICAL = 0x80;
    /** IANA-assigned Geneve port (RFC 8926 section 3.3). */
    public static final int UDP_PORT = 6081;

    public int version()
    {
        return u8(VERSION_OPTION_LENGTH_OFFSET) >>> 6;
    }

    /**
     * @return length of the option area in bytes.
     */
    public int optionsLength()
    {
        return (u8(VERSION_OPTION_LENGTH_OFFSET) & 0x3F) << 2;
    }

    /**
     * @return fixed header plus options, in bytes.
     */
    public int headerLength()
    {
        return HEADER_LENGTH + optionsLength();
    }

    public boolean isOam()
    {
        return (u8(FLAGS_OFFSET) & FLAG_OAM) != 0;
    }

    public boolean hasCriticalOptions()
    {
        return (u8(FLAGS_OFFSET) & FLAG_CRITICAL) != 0;
    }

    public int flags()
    {
        return u8(FLAGS_OFFSET);
    }

    public int protocolType()
    {
        return u16(PROTOCOL_TYPE_OFFSET);
    }

    public int vni()
    {
        return i32(VNI_OFFSET) >>> 8;
    }

    /**
     * Writes the fixed header: version 0, an option area of {@code optionsLengthBytes} (a multiple of
     * four up to {@link #MAX_OPTIONS_LENGTH}), the flags, protocol type and VNI.
     */
    public GeneveFlyweight header(final int optionsLengthBytes, final int flags, final int protocolType, final int vni)
    {
        u8(VERSION_OPTION_LENGTH_OFFSET, (optionsLengthBytes >>> 2) & 0x3F);
        u8(FLAGS_OFFSET, flags & 0xC0);
        u16(PROTOCOL_TYPE_OFFSET, protocolType);
        i32(VNI_OFFSET, (vni & 0xFF_FFFF) << 8);
        return this;
    }

    /**
     * Writes one option TLV at {@code optionOffset} bytes into the option area.
     *
     * @param data option data, a multiple of four bytes up to 124.
     * @return the offset of the next option in the option area.
     */
    public int option(final int optionOffset, final int optionClass, final int type, final byte[] data)
    {
        if ((data.length & 3) != 0 || data.length > 124)
        {
            throw new IllegalArgumentException("Geneve option data must be a multiple of 4 bytes up to 124: " + data.length);
        }
        final int at = OPTIONS_OFFSET + optionOffset;
        u16(at, optionClass);
        u8(at + 2, type);
        u8(at + 3, data.length >>> 2);
        for (int i = 0; i < data.length; i++)
        {
            u8(at + OPTION_HEADER_LENGTH + i, data[i]);
        }
        return optionOffset + OPTION_HEADER_LENGTH + data.length;
    }

    /**
     * Writes one option TLV with four bytes of data at {@code optionOffset} bytes into the option area
     * (allocation-free, for the hot path).
     *
     * @param data the option data, big-endian.
     * @return the offset of the next option in the option area.
     */
    public int option32(final int optionOffset, final int optionClass, final int type, final int data)
    {
        final int at = OPTIONS_OFFSET + optionOffset;
        u16(at, optionClass);
        u8(at + 2, type);
        u8(at + 3, 1);
        i32(at + OPTION_HEADER_LENGTH, data);
        return optionOffset + OPTION_HEADER_LENGTH + 4;
    }

    /**
     * @return the first four data bytes (big-endian) of the option at {@code optionOffset} bytes into the
     *     option area; the caller has checked that it has them ({@link #optionDataLength}).
     */
    public int optionData32(final int optionOffset)
    {
        return i32(OPTIONS_OFFSET + optionOffset + OPTION_HEADER_LENGTH);
    }

    /**
     * @return option class of the option at {@code optionOffset} bytes into the option area.
     */
    public int optionClass(final int optionOffset)
    {
        return u16(OPTIONS_OFFSET + optionOffset);
    }

    /**
     * @return option type (including the critical bit 0x80).
     */
    public int optionType(final int optionOffset)
    {
        return u8(OPTIONS_OFFSET + optionOffset + 2);
    }

    /**
     * @return option data length in bytes.
     */
    public int optionDataLength(final int optionOffset)
    {
        return (u8(OPTIONS_OFFSET + optionOffset + 3) & 0x1F) << 2;
    }

    /**
     * Checks that the option TLVs exactly tile the option area.
     *
     * @return true when every option lies inside the option area.
     */
    public boolean areOptionsValid()
    {
        final int end = optionsLength();
        int at = 0;
        while (at < end)
        {
            if (at + OPTION_HEADER_LENGTH > end)
            {
                return false;
            }
            at += OPTION_HEADER_LENGTH + optionDataLength(at);
        }
        return at == end;
    }

    /**
     * @return true when any option has the critical bit set in its type.
     */
    public boolean anyCriticalOption()
    {
        final int end = optionsLength();
        int at = 0;
        while (at + OPTION_HEADER_LENGTH <= end)
        {
            if ((optionType(at) & OPTION_TYPE_CRITICAL) != 0)
            {
                return true;
            }
            at += OPTION_HEADER_LENGTH + optionDataLength(at);
        }
        return false;
    }
}
