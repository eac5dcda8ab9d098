package io.vsnic.dataplane.protocol;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Base of every header flyweight: a view of one header at {@code offset} inside a
 * {@link MemorySegment}, read and written in place. Wrapping allocates nothing, so one flyweight
 * instance per worker serves every packet.
 *
 * <p>All multi-byte fields are network byte order (big-endian); every access names its layout
 * explicitly. Accessors do not validate the header: run {@link FrameClassifier} first, which
 * checks that the header lies inside the frame. The segment itself still bounds-checks every
 * access, so a wrong offset raises {@link IndexOutOfBoundsException} instead of reading foreign
 * memory.
 */
public abstract class Flyweight
{
    /** Unsigned 16-bit big-endian field. */
    public static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    /** 32-bit big-endian field. */
    public static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    /** 64-bit big-endian field. */
    public static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    protected MemorySegment segment;
    protected long offset;

    /**
     * Points this flyweight at the header starting at {@code offset} of {@code segment}.
     *
     * @param segment memory holding the frame.
     * @param offset  byte offset of this header in the segment.
     * @return this.
     */
    public Flyweight wrap(final MemorySegment segment, final long offset)
    {
        this.segment = segment;
        this.offset = offset;
        return this;
    }

    /**
     * @return the segment this flyweight reads.
     */
    public MemorySegment segment()
    {
        return segment;
    }

    /**
     * @return the offset of this header in the segment.
     */
    public long offset()
    {
        return offset;
    }

    protected final int u8(final long fieldOffset)
    {
        return segment.get(ValueLayout.JAVA_BYTE, offset + fieldOffset) & 0xFF;
    }

    protected final void u8(final long fieldOffset, final int value)
    {
        segment.set(ValueLayout.JAVA_BYTE, offset + fieldOffset, (byte)value);
    }

    protected final int u16(final long fieldOffset)
    {
        return segment.get(U16, offset + fieldOffset) & 0xFFFF;
    }

    protected final void u16(final long fieldOffset, final int value)
    {
        segment.set(U16, offset + fieldOffset, (short)value);
    }

    protected final int i32(final long fieldOffset)
    {
        return segment.get(U32, offset + fieldOffset);
    }

    protected final void i32(final long fieldOffset, final int value)
    {
        segment.set(U32, offset + fieldOffset, value);
    }

    protected final long u32(final long fieldOffset)
    {
        return segment.get(U32, offset + fieldOffset) & 0xFFFF_FFFFL;
    }

    /** Reads a 48-bit MAC address as the low 48 bits of a long. */
    protected final long mac(final long fieldOffset)
    {
        final long at = offset + fieldOffset;
        return ((segment.get(U16, at) & 0xFFFFL) << 32) | (segment.get(U32, at + 2) & 0xFFFF_FFFFL);
    }

    /** Writes a 48-bit MAC address held in the low 48 bits of a long. */
    protected final void mac(final long fieldOffset, final long mac)
    {
        final long at = offset + fieldOffset;
        segment.set(U16, at, (short)(mac >>> 32));
        segment.set(U32, at + 2, (int)mac);
    }
}
