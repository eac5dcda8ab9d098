package io.vsnic.dataplane.offload;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Flyweight over a {@code struct virtio_net_hdr} (virtio 1.2, section 5.1.6 "Device Operation";
 * Linux {@code <linux/virtio_net.h>}), the header a TAP opened with {@code IFF_VNET_HDR} puts in
 * front of every frame it hands over and expects in front of every frame it is given:
 *
 * <pre>
 *  0               1               2               3
 *  0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7
 * +---------------+---------------+-------------------------------+
 * |     flags     |   gso_type    |            hdr_len            |
 * +---------------+---------------+-------------------------------+
 * |           gso_size            |          csum_start           |
 * +-------------------------------+-------------------------------+
 * |          csum_offset          |  num_buffers (12-byte form)   |
 * +-------------------------------+-------------------------------+
 * </pre>
 *
 * <p>Byte order: the 16-bit fields are <b>little-endian</b>. A TAP uses the virtio byte order of
 * a legacy device, which is the host's; on the only hosts vsnic runs on (x86-64, AArch64) that is
 * little-endian, the same as a virtio 1.x device. Every access names the layout.
 *
 * <p>{@link #HEADER_LENGTH} (10 bytes) is the legacy form; {@link #MRG_HEADER_LENGTH} (12) adds
 * {@code num_buffers} (mergeable receive buffers, or any virtio 1.x device). A TAP uses whichever
 * {@code TUNSETVNETHDRSZ} set; the extra field is written as 0 (TAP ignores it).
 *
 * <p>Meaning: {@link #FLAG_NEEDS_CSUM}: the L4 checksum is partial: start summing at
 * {@code csum_start} (from the start of the frame) and store the result at
 * {@code csum_start + csum_offset}; the field already holds the folded pseudo-header sum.
 * {@link #FLAG_DATA_VALID}: the checksum was verified. A {@code gso_type} other than
 * {@link #GSO_NONE} makes the frame a super-frame to be cut into {@code gso_size}-byte payloads;
 * {@code hdr_len} is the length of all headers up to the payload (a hint for the receiver).
 */
public final class VirtioNetHeader
{
    /** The legacy header. */
    public static final int HEADER_LENGTH = 10;
    /** The header with {@code num_buffers}. */
    public static final int MRG_HEADER_LENGTH = 12;

    public static final int FLAGS_OFFSET = 0;
    public static final int GSO_TYPE_OFFSET = 1;
    public static final int HDR_LEN_OFFSET = 2;
    public static final int GSO_SIZE_OFFSET = 4;
    public static final int CSUM_START_OFFSET = 6;
    public static final int CSUM_OFFSET_OFFSET = 8;
    public static final int NUM_BUFFERS_OFFSET = 10;

    /** {@code VIRTIO_NET_HDR_F_NEEDS_CSUM}. */
    public static final int FLAG_NEEDS_CSUM = 1;
    /** {@code VIRTIO_NET_HDR_F_DATA_VALID}. */
    public static final int FLAG_DATA_VALID = 2;

    /** {@code VIRTIO_NET_HDR_GSO_NONE}. */
    public static final int GSO_NONE = 0;
    /** {@code VIRTIO_NET_HDR_GSO_TCPV4}. */
    public static final int GSO_TCPV4 = 1;
    /** {@code VIRTIO_NET_HDR_GSO_UDP} (UFO: IP fragmentation of one datagram; not segmented here). */
    public static final int GSO_UDP = 3;
    /** {@code VIRTIO_NET_HDR_GSO_TCPV6}. */
    public static final int GSO_TCPV6 = 4;
    /** {@code VIRTIO_NET_HDR_GSO_UDP_L4} (USO: one UDP datagram per segment). */
    public static final int GSO_UDP_L4 = 5;
    /** {@code VIRTIO_NET_HDR_GSO_ECN}: a bit or-ed into the type; the super-frame's first segment has CWR. */
    public static final int GSO_ECN = 0x80;

    /** Little-endian 16-bit field. */
    public static final ValueLayout.OfShort LE16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private MemorySegment segment;
    private long offset;

    /**
     * Points this flyweight at a header.
     *
     * @return this.
     */
    public VirtioNetHeader wrap(final MemorySegment segment, final long offset)
    {
        this.segment = segment;
        this.offset = offset;
        return this;
    }

    public int flags()
    {
        return segment.get(ValueLayout.JAVA_BYTE, offset + FLAGS_OFFSET) & 0xFF;
    }

    public VirtioNetHeader flags(final int flags)
    {
        segment.set(ValueLayout.JAVA_BYTE, offset + FLAGS_OFFSET, (byte)flags);
        return this;
    }

    /**
     * @return the whole {@code gso_type} byte (type and the {@link #GSO_ECN} bit).
     */
    public int gsoType()
    {
        return segment.get(ValueLayout.JAVA_BYTE, offset + GSO_TYPE_OFFSET) & 0xFF;
    }

    public VirtioNetHeader gsoType(final int gsoType)
    {
        segment.set(ValueLayout.JAVA_BYTE, offset + GSO_TYPE_OFFSET, (byte)gsoType);
        return this;
    }

    public int hdrLen()
    {
        return segment.get(LE16, offset + HDR_LEN_OFFSET) & 0xFFFF;
    }

    public VirtioNetHeader hdrLen(final int hdrLen)
    {
        segment.set(LE16, offset + HDR_LEN_OFFSET, (short)hdrLen);
        return this;
    }

    public int gsoSize()
    {
        return segment.get(LE16, offset + GSO_SIZE_OFFSET) & 0xFFFF;
    }

    public VirtioNetHeader gsoSize(final int gsoSize)
    {
        segment.set(LE16, offset + GSO_SIZE_OFFSET, (short)gsoSize);
        return this;
    }

    public int csumStart()
    {
        return segment.get(LE16, offset + CSUM_START_OFFSET) & 0xFFFF;
    }

    public VirtioNetHeader csumStart(final int csumStart)
    {
        segment.set(LE16, offset + CSUM_START_OFFSET, (short)csumStart);
        return this;
    }

    public int csumOffset()
    {
        return segment.get(LE16, offset + CSUM_OFFSET_OFFSET) & 0xFFFF;
    }

    public VirtioNetHeader csumOffset(final int csumOffset)
    {
        segment.set(LE16, offset + CSUM_OFFSET_OFFSET, (short)csumOffset);
        return this;
    }

    /**
     * @return {@code num_buffers} (12-byte form only).
     */
    public int numBuffers()
    {
        return segment.get(LE16, offset + NUM_BUFFERS_OFFSET) & 0xFFFF;
    }

    public VirtioNetHeader numBuffers(final int numBuffers)
    {
        segment.set(LE16, offset + NUM_BUFFERS_OFFSET, (short)numBuffers);
        return this;
    }

    /**
     * Writes a whole header.
     *
     * @param headerLength {@link #HEADER_LENGTH} or {@link #MRG_HEADER_LENGTH} ({@code num_buffers} = 0).
     * @return this.
     */
    public VirtioNetHeader set(
        final int headerLength, final int flags, final int gsoType, final int hdrLen, final int gsoSize,
        final int csumStart, final int csumOffset)
    {
        flags(flags).gsoType(gsoType).hdrLen(hdrLen).gsoSize(gsoSize).csumStart(csumStart).csumOffset(csumOffset);
        if (headerLength >= MRG_HEADER_LENGTH)
        {
            numBuffers(0);
        }
        return this;
    }

    /**
     * Writes a whole header without a flyweight instance (for code that many threads run, such as a
     * port's transmit).
     *
     * @param headerLength {@link #HEADER_LENGTH} or {@link #MRG_HEADER_LENGTH}.
     */
    public static void write(
        final MemorySegment segment, final long offset, final int headerLength, final int flags, final int gsoType,
        final int hdrLen, final int gsoSize, final int csumStart, final int csumOffset)
    {
        segment.set(ValueLayout.JAVA_BYTE, offset + FLAGS_OFFSET, (byte)flags);
        segment.set(ValueLayout.JAVA_BYTE, offset + GSO_TYPE_OFFSET, (byte)gsoType);
        segment.set(LE16, offset + HDR_LEN_OFFSET, (short)hdrLen);
        segment.set(LE16, offset + GSO_SIZE_OFFSET, (short)gsoSize);
        segment.set(LE16, offset + CSUM_START_OFFSET, (short)csumStart);
        segment.set(LE16, offset + CSUM_OFFSET_OFFSET, (short)csumOffset);
        if (headerLength >= MRG_HEADER_LENGTH)
        {
            segment.set(LE16, offset + NUM_BUFFERS_OFFSET, (short)0);
        }
    }

    /**
     * @return the type without the {@link #GSO_ECN} bit.
     */
    public static int baseType(final int gsoType)
    {
        return gsoType & ~GSO_ECN;
    }

    /**
     * @return a short text for logs and tests ({@code "tcpv4|ecn"}).
     */
    public static String typeName(final int gsoType)
    {
        final String base = switch (baseType(gsoType))
        {
            case GSO_NONE -> "none";
            case GSO_TCPV4 -> "tcpv4";
            case GSO_UDP -> "udp";
            case GSO_TCPV6 -> "tcpv6";
            case GSO_UDP_L4 -> "udp_l4";
            default -> "unknown(" + baseType(gsoType) + ")";
        };
        return (gsoType & GSO_ECN) != 0 ? base + "|ecn" : base;
    }
}
