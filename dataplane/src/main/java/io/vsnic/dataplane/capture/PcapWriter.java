package io.vsnic.dataplane.capture;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Objects;

/**
 * Writes frames to a classic libpcap file: magic {@code 0xa1b2c3d4} (microsecond
 * timestamps), version 2.4, link type {@link LinkType#LINKTYPE_ETHERNET} (or another one given at
 * creation, such as {@link LinkType#LINKTYPE_RAW} for bare IP packets), snapshot length
 * {@link #SNAPLEN_BYTES}. Every field is written <b>big-endian</b> (network order, like the rest of
 * vsnic), whatever the platform; readers tell the byte order from the magic.
 *
 * <pre>
 * File header (24 bytes, once):
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +---------------------------------------------------------------+
 * |                       Magic 0xa1b2c3d4                        |
 * +-------------------------------+-------------------------------+
 * |       Major Version = 2       |       Minor Version = 4       |
 * +-------------------------------+-------------------------------+
 * |                     Reserved 1 (thiszone) = 0                 |
 * +---------------------------------------------------------------+
 * |                     Reserved 2 (sigfigs) = 0                  |
 * +---------------------------------------------------------------+
 * |                     SnapLen = 262144                          |
 * +---------------------------------------------------------------+
 * |                LinkType = 1 (Ethernet) by default             |
 * +---------------------------------------------------------------+
 *
 * Record (16-byte header, then the captured bytes, no padding):
 * +---------------------------------------------------------------+
 * |                      Timestamp (seconds)                      |
 * +---------------------------------------------------------------+
 * |                   Timestamp (microseconds)                    |
 * +---------------------------------------------------------------+
 * |              Captured Packet Length (max SnapLen)             |
 * +---------------------------------------------------------------+
 * |                   Original Packet Length                      |
 * +---------------------------------------------------------------+
 * /                         Packet Data                           /
 * +---------------------------------------------------------------+
 * </pre>
 *
 * Frames longer than the snapshot length are truncated to it; the record keeps the original
 * length. Timestamps are truncated (not rounded) to microseconds. Output is buffered: call
 * {@link #flush()} to push written frames to the file, {@link #close()} when done.
 *
 * <p>Not thread safe: one thread writes.
 */
public final class PcapWriter implements AutoCloseable
{
    /** Magic number of pcap files with microsecond timestamps. */
    public static final int MAGIC_MICROSECONDS = 0xa1b2c3d4;
    /** Magic number of pcap files with nanosecond timestamps. */
    public static final int MAGIC_NANOSECONDS = 0xa1b23c4d;
    /** Major version written in the file header. */
    public static final int VERSION_MAJOR = 2;
    /** Minor version written in the file header. */
    public static final int VERSION_MINOR = 4;
    /** Snapshot length written in the file header: longer frames are truncated to it. */
    public static final int SNAPLEN_BYTES = 262_144;
    /** Length of the file header. */
    public static final int FILE_HEADER_LENGTH = 24;
    /** Length of the header in front of every record. */
    public static final int RECORD_HEADER_LENGTH = 16;

    private static final long NANOS_PER_SECOND = 1_000_000_000L;
    private static final long MAX_SECONDS = 0xFFFF_FFFFL;
    private static final int BUFFER_BYTES = 64 * 1024;

    private final OutputStream out;
    private final ByteBuffer header = ByteBuffer.allocate(FILE_HEADER_LENGTH).order(ByteOrder.BIG_ENDIAN);
    private final byte[] copyBuffer = new byte[BUFFER_BYTES];
    private long framesWritten;
    private boolean closed;

    /**
     * Writes the file header to {@code out} (through a buffer) and takes ownership of the stream:
     * {@link #close()} closes it.
     *
     * @param out where the pcap file goes.
     * @throws IOException when the header cannot be written.
     */
    public PcapWriter(final OutputStream out) throws IOException
    {
        this(out, LinkType.LINKTYPE_ETHERNET);
    }

    /**
     * Writes the file header with the given link type to {@code out} (through a buffer) and takes
     * ownership of the stream: {@link #close()} closes it.
     *
     * @param out      where the pcap file goes.
     * @param linkType link-layer header type of every record, a {@link LinkType} value.
     * @throws IOException when the header cannot be written.
     */
    public PcapWriter(final OutputStream out, final int linkType) throws IOException
    {
        this.out = new BufferedOutputStream(Objects.requireNonNull(out, "out"), BUFFER_BYTES);
        header.clear();
        header.putInt(MAGIC_MICROSECONDS)
            .putShort((short)VERSION_MAJOR)
            .putShort((short)VERSION_MINOR)
            .putInt(0)
            .putInt(0)
            .putInt(SNAPLEN_BYTES)
            .putInt(linkType);
        this.out.write(header.array(), 0, FILE_HEADER_LENGTH);
    }

    /**
     * Creates (or truncates) the file at {@code path} and writes the file header.
     *
     * @param path the pcap file to write.
     * @return a writer that owns the file.
     * @throws IOException when the file cannot be created or written.
     */
    public static PcapWriter open(final Path path) throws IOException
    {
        return open(path, LinkType.LINKTYPE_ETHERNET);
    }

    /**
     * Creates (or truncates) the file at {@code path} and writes the file header.
     *
     * @param path     the pcap file to write.
     * @param linkType link-layer header type of every record, a {@link LinkType} value.
     * @return a writer that owns the file.
     * @throws IOException when the file cannot be created or written.
     */
    public static PcapWriter open(final Path path, final int linkType) throws IOException
    {
        final OutputStream out = Files.newOutputStream(
            path, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE);
        boolean success = false;
        try
        {
            final PcapWriter writer = new PcapWriter(out, linkType);
            success = true;
            return writer;
        }
        finally
        {
            if (!success)
            {
                out.close();
            }
        }
    }

    /**
     * Writes one frame held in native or heap memory.
     *
     * @param timestampNs capture time in nanoseconds since the epoch; truncated to microseconds.
     * @param segment     memory holding the frame.
     * @param offset      offset of the frame's first byte in {@code segment}.
     * @param length      length of the frame on the wire; at most {@link #SNAPLEN_BYTES} are written.
     * @throws IOException               when the stream fails.
     * @throws IllegalArgumentException  when the timestamp is before 1970 or after 2106 (pcap stores
     *                                   unsigned 32-bit seconds).
     * @throws IndexOutOfBoundsException when the frame does not lie inside {@code segment}.
     * @throws IllegalStateException     when the writer is closed.
     */
    public void write(final long timestampNs, final MemorySegment segment, final long offset, final int length)
        throws IOException
    {
        write(timestampNs, segment, offset, length, length);
    }

    /**
     * Writes one frame of which only the first {@code capturedLength} bytes were kept (a capture
     * with a snapshot length): the record keeps the frame's original length.
     *
     * @param timestampNs    capture time in nanoseconds since the epoch; truncated to microseconds.
     * @param segment        memory holding the captured bytes.
     * @param offset         offset of the first byte.
     * @param capturedLength bytes held in {@code segment} (at most {@code originalLength}).
     * @param originalLength the frame's length on the wire.
     * @throws IOException               when the stream fails.
     * @throws IllegalArgumentException  when the lengths are inconsistent or the timestamp is out of range.
     * @throws IndexOutOfBoundsException when the bytes do not lie inside {@code segment}.
     */
    public void write(
        final long timestampNs, final MemorySegment segment, final long offset, final int capturedLength, final int originalLength)
        throws IOException
    {
        Objects.checkFromIndexSize(offset, capturedLength, segment.byteSize());
        if (capturedLength > originalLength)
        {
            throw new IllegalArgumentException("captured length " + capturedLength + " is more than the frame's " + originalLength);
        }
        final int captured = writeRecordHeader(timestampNs, originalLength, capturedLength);
        long at = offset;
        int remaining = captured;
        while (remaining > 0)
        {
            final int chunk = Math.min(remaining, copyBuffer.length);
            MemorySegment.copy(segment, ValueLayout.JAVA_BYTE, at, copyBuffer, 0, chunk);
            out.write(copyBuffer, 0, chunk);
            at += chunk;
            remaining -= chunk;
        }
        framesWritten++;
    }

    /**
     * Writes one frame held in an array.
     *
     * @param timestampNs capture time in nanoseconds since the epoch; truncated to microseconds.
     * @param frame       the whole frame; at most {@link #SNAPLEN_BYTES} are written.
     * @throws IOException              when the stream fails.
     * @throws IllegalArgumentException when the timestamp is before 1970 or after 2106.
     * @throws IllegalStateException    when the writer is closed.
     */
    public void write(final long timestampNs, final byte[] frame) throws IOException
    {
        final int captured = writeRecordHeader(timestampNs, frame.length);
        out.write(frame, 0, captured);
        framesWritten++;
    }

    /**
     * @return number of frames written so far.
     */
    public long framesWritten()
    {
        return framesWritten;
    }

    /**
     * Pushes buffered frames to the underlying stream and flushes it.
     *
     * @throws IOException when the stream fails.
     */
    public void flush() throws IOException
    {
        ensureOpen();
        out.flush();
    }

    /**
     * Flushes and closes the underlying stream. Closing twice does nothing.
     *
     * @throws IOException when the stream fails.
     */
    @Override
    public void close() throws IOException
    {
        if (!closed)
        {
            closed = true;
            out.close();
        }
    }

    private int writeRecordHeader(final long timestampNs, final int length) throws IOException
    {
        return writeRecordHeader(timestampNs, length, length);
    }

    private int writeRecordHeader(final long timestampNs, final int length, final int available) throws IOException
    {
        ensureOpen();
        if (length < 0)
        {
            throw new IllegalArgumentException("negative frame length " + length);
        }
        final long seconds = Math.floorDiv(timestampNs, NANOS_PER_SECOND);
        if (seconds < 0 || seconds > MAX_SECONDS)
        {
            throw new IllegalArgumentException(
                "timestampNs " + timestampNs + " outside the pcap range (1970-01-01 to 2106-02-07 UTC)");
        }
        final long micros = Math.floorMod(timestampNs, NANOS_PER_SECOND) / 1_000L;
        final int captured = Math.min(Math.min(length, available), SNAPLEN_BYTES);

        header.clear();
        header.putInt((int)seconds)
            .putInt((int)micros)
            .putInt(captured)
            .putInt(length);
        out.write(header.array(), 0, RECORD_HEADER_LENGTH);

        return captured;
    }

    private void ensureOpen()
    {
        if (closed)
        {
            throw new IllegalStateException("PcapWriter is closed");
        }
    }
}
