package io.vsnic.dataplane.protocol;

/**
 * VXLAN header (RFC 7348 section 5), carried in UDP to port 4789 and followed by an inner
 * Ethernet frame.
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |R|R|R|R|I|R|R|R|            Reserved                           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                VXLAN Network Identifier (VNI) |   Reserved    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * </pre>
 *
 * The I flag must be 1 for a valid VNI; reserved bits are sent as zero and ignored on receipt.
 */
public final class VxlanFlyweight extends Flyweight
{
    public static final int FLAGS_OFFSET = 0;
    public static final int VNI_OFFSET = 4;
    public static final int HEADER_LENGTH = 8;
    public static final int FLAG_VNI_VALID = 0x08;
    /** IANA-assigned VXLAN port (RFC 7348 section 5). */
    public static final int UDP_PORT = 4789;
    /** The port Linux used before IANA assigned 4789; still seen in the field. */
    public static final int LEGACY_LINUX_UDP_PORT = 8472;

    public int flags()
    {
        return u8(FLAGS_OFFSET);
    }

    /**
     * @return true when the I flag is set (the VNI is valid).
     */
    public boolean isVniValid()
    {
        return (u8(FLAGS_OFFSET) & FLAG_VNI_VALID) != 0;
    }

    public int vni()
    {
        return i32(VNI_OFFSET) >>> 8;
    }

    /**
     * Writes a complete header: I flag set, reserved fields zero, the given 24-bit VNI.
     */
    public VxlanFlyweight header(final int vni)
    {
        i32(FLAGS_OFFSET, FLAG_VNI_VALID << 24);
        i32(VNI_OFFSET, (vni & 0xFF_FFFF) << 8);
        return this;
    }
}
