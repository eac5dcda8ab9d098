package io.vsnic.dataplane.capture;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * Reads packets from a classic pcap or a pcapng file, telling the two apart by the first four bytes.
 *
 * <p><b>pcap</b> (libpcap, draft-ietf-opsawg-pcap): all four magic numbers, {@code 0xa1b2c3d4}
 * (microsecond timestamps) and {@code 0xa1b23c4d} (nanosecond timestamps), each in either byte
 * order; version 2.x. One link type for the whole file.
 *
 * <p><b>pcapng</b> (draft-ietf-opsawg-pcapng): every block has the same frame, in the byte order
 * that the Section Header Block's byte-order magic {@code 0x1A2B3C4D} announces:
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +---------------------------------------------------------------+
 * |                          Block Type                           |
 * +---------------------------------------------------------------+
 * |                      Block Total Length                       |
 * +---------------------------------------------------------------+
 * /                Block Body (padded to 32 bits)                 /
 * +---------------------------------------------------------------+
 * |                      Block Total Length                       |
 * +---------------------------------------------------------------+
 * </pre>
 *
 * A file may hold several sections, each starting with a Section Header Block (type
 * {@code 0x0A0D0D0A}) that may change the byte order and resets the interfaces. Interface
 * Description Blocks (type 1) give each interface's link type, snapshot length and timestamp
 * resolution ({@code if_tsresol}, option 9, power of 10 or of 2, default microseconds) and offset
 * ({@code if_tsoffset}, option 14). Packets come from Enhanced Packet Blocks (type 6), Simple Packet
 * Blocks (type 3: first interface, no timestamp) and the obsolete Packet Block (type 2). Decryption
 * Secrets Blocks (type {@code 0x0000000A}) are collected in {@link #secrets()}. Every other block
 * is skipped by its length.
 *
 * <p>Malformed input never crashes or hangs the reader and never makes it allocate more than
 * {@link #MAX_BLOCK_BYTES} at once: it raises a {@link CaptureFormatException} that names the byte
 * offset of the damaged header, block or record, and the problem. Records before the damage are
 * returned normally. A file that ends exactly at a record or block boundary simply ends.
 *
 * <p>Not thread safe: one thread reads.
 */
public final class CaptureReader implements AutoCloseable
{
    /** {@link #format()} of a classic pcap file. */
    public static final String FORMAT_PCAP = "pcap";
    /** {@link #format()} of a pcapng file. */
    public static final String FORMAT_PCAPNG = "pcapng";
    /** Largest record or block the reader accepts; longer length fields are treated as corrupt. */
    public static final int MAX_BLOCK_BYTES = 64 * 1024 * 1024;

    /** pcapng block type of the Section Header Block (the same in both byte orders). */
    public static final int SECTION_HEADER_BLOCK = 0x0A0D0D0A;
    /** pcapng block type of the Interface Description Block. */
    public static final int INTERFACE_DESCRIPTION_BLOCK = 0x00000001;
    /** pcapng block type of the obsolete Packet Block. */
    public static final int PACKET_BLOCK = 0x00000002;
    /** pcapng block type of the Simple Packet Block. */
    public static final int SIMPLE_PACKET_BLOCK = 0x00000003;
    /** pcapng block type of the Enhanced Packet Block. */
    public static final int ENHANCED_PACKET_BLOCK = 0x00000006;
    /** pcapng block type of the Decryption Secrets Block. */
    public static final int DECRYPTION_SECRETS_BLOCK = 0x0000000A;
    /** pcapng byte-order magic, as written by the section's own byte order. */
    public static final int BYTE_ORDER_MAGIC = 0x1A2B3C4D;

    static final int PCAP_FILE_HEADER_LENGTH = 24;
    static final int PCAP_RECORD_HEADER_LENGTH = 16;
    static final int BLOCK_HEADER_LENGTH = 8;
    static final int BLOCK_TRAILER_LENGTH = 4;

    private static final int MAGIC_LENGTH = 4;
    private static final int PCAP_MAGIC_MICROS_SWAPPED = 0xd4c3b2a1;
    private static final int PCAP_MAGIC_NANOS_SWAPPED = 0x4d3cb2a1;

    private static final int SHB_MIN_LENGTH = 28;
    private static final int SHB_BYTE_ORDER_OFFSET = 8;
    private static final int SHB_MAJOR_OFFSET = 12;
    private static final int SHB_MINOR_OFFSET = 14;
    private static final int IDB_MIN_LENGTH = 20;
    private static final int IDB_LINK_TYPE_OFFSET = 8;
    private static final int IDB_SNAPLEN_OFFSET = 12;
    private static final int IDB_OPTIONS_OFFSET = 16;
    private static final int EPB_MIN_LENGTH = 32;
    private static final int EPB_DATA_OFFSET = 28;
    private static final int SPB_MIN_LENGTH = 16;
    private static final int SPB_DATA_OFFSET = 12;
    private static final int DSB_MIN_LENGTH = 20;
    private static final int DSB_DATA_OFFSET = 16;

    private static final int OPT_ENDOFOPT = 0;
    private static final int OPT_IF_TSRESOL = 9;
    private static final int OPT_IF_TSOFFSET = 14;
    private static final int DEFAULT_TSRESOL = 6;

    private static final long NANOS_PER_SECOND = 1_000_000_000L;
    private static final long NANOS_PER_MICRO = 1_000L;
    private static final long[] POWERS_OF_TEN = new long[19];

    static
    {
        POWERS_OF_TEN[0] = 1;
        for (int i = 1; i < POWERS_OF_TEN.length; i++)
        {
            POWERS_OF_TEN[i] = POWERS_OF_TEN[i - 1] * 10;
        }
    }

    private record Interface(int linkType, long snaplenBytes, int tsresol, long tsoffsetSeconds)
    {
    }

    private final InputStream in;
    private final long sizeBytes;
    private final String format;
    private final List<DecryptionSecrets> secrets = new ArrayList<>();
    private final List<Interface> interfaces = new ArrayList<>();
    private byte[] scratch = new byte[256];
    private ByteOrder order = ByteOrder.BIG_ENDIAN;
    private long position;
    private int recordCount;
    private int pcapLinkType;
    private boolean pcapNanoseconds;
    private CaptureFormatException failure;
    private boolean closed;

    private CaptureReader(final InputStream in, final long sizeBytes) throws IOException
    {
        this.in = in;
        this.sizeBytes = sizeBytes;

        final int n = read(scratch, 0, MAGIC_LENGTH);
        if (n < MAGIC_LENGTH)
        {
            throw fail(0, "truncated file header: file ends after " + n + " of " + MAGIC_LENGTH + " magic bytes");
        }
        final int magic = ByteBuffer.wrap(scratch, 0, MAGIC_LENGTH).order(ByteOrder.BIG_ENDIAN).getInt(0);
        switch (magic)
        {
            case PcapWriter.MAGIC_MICROSECONDS -> readPcapHeader(ByteOrder.BIG_ENDIAN, false);
            case PcapWriter.MAGIC_NANOSECONDS -> readPcapHeader(ByteOrder.BIG_ENDIAN, true);
            case PCAP_MAGIC_MICROS_SWAPPED -> readPcapHeader(ByteOrder.LITTLE_ENDIAN, false);
            case PCAP_MAGIC_NANOS_SWAPPED -> readPcapHeader(ByteOrder.LITTLE_ENDIAN, true);
            case SECTION_HEADER_BLOCK -> readSectionHeader(0, MAGIC_LENGTH);
            default -> throw fail(0, String.format(
                "unknown magic 0x%08x: neither pcap (0xa1b2c3d4, 0xa1b23c4d, either byte order) nor pcapng (0x0a0d0d0a)",
                magic));
        }
        this.format = magic == SECTION_HEADER_BLOCK ? FORMAT_PCAPNG : FORMAT_PCAP;
    }

    /**
     * Opens a capture file and reads its file header (pcap) or first Section Header Block (pcapng).
     *
     * @param path the capture file.
     * @return a reader positioned before the first packet; it owns the file.
     * @throws CaptureFormatException when the file is neither pcap nor pcapng, or its header is malformed.
     * @throws IOException            when the file cannot be read.
     */
    public static CaptureReader open(final Path path) throws IOException
    {
        final long sizeBytes = Files.size(path);
        final InputStream in = new BufferedInputStream(Files.newInputStream(path), 64 * 1024);
        boolean success = false;
        try
        {
            final CaptureReader reader = new CaptureReader(in, sizeBytes);
            success = true;
            return reader;
        }
        finally
        {
            if (!success)
            {
                in.close();
            }
        }
    }

    /**
     * Reads a capture from a stream whose length is not known in advance (a pipe, standard input).
     * Length fields are then checked against {@link #MAX_BLOCK_BYTES} and the data actually present.
     *
     * @param in the capture bytes; the reader takes ownership and closes it.
     * @return a reader positioned before the first packet.
     * @throws CaptureFormatException when the stream is neither pcap nor pcapng, or its header is malformed.
     * @throws IOException            when the stream cannot be read.
     */
    public static CaptureReader open(final InputStream in) throws IOException
    {
        Objects.requireNonNull(in, "in");
        boolean success = false;
        try
        {
            final CaptureReader reader = new CaptureReader(new BufferedInputStream(in, 64 * 1024), -1);
            success = true;
            return reader;
        }
        finally
        {
            if (!success)
            {
                in.close();
            }
        }
    }

    /**
     * @return {@link #FORMAT_PCAP} or {@link #FORMAT_PCAPNG}.
     */
    public String format()
    {
        return format;
    }

    /**
     * @return byte offset in the file of the next header or block to read.
     */
    public long position()
    {
        return position;
    }

    /**
     * @return the Decryption Secrets Blocks read so far, in file order.
     */
    public List<DecryptionSecrets> secrets()
    {
        return List.copyOf(secrets);
    }

    /**
     * Reads the next packet, skipping blocks that carry none.
     *
     * @return the packet, or null at the end of the file.
     * @throws CaptureFormatException when the file is malformed at this point; every later call
     *                                raises the same exception.
     * @throws IOException            when the file cannot be read.
     */
    public CaptureRecord next() throws IOException
    {
        if (closed)
        {
            throw new IllegalStateException("CaptureReader is closed");
        }
        if (failure != null)
        {
            throw failure;
        }

        return FORMAT_PCAPNG.equals(format) ? nextPcapngRecord() : nextPcapRecord();
    }

    /**
     * Reads every remaining packet. Decryption secrets found on the way are in {@link #secrets()}.
     *
     * @return the packets from the current position to the end of the file.
     * @throws CaptureFormatException when the file is malformed.
     * @throws IOException            when the file cannot be read.
     */
    public List<CaptureRecord> readAll() throws IOException
    {
        final List<CaptureRecord> records = new ArrayList<>();
        CaptureRecord record;
        while ((record = next()) != null)
        {
            records.add(record);
        }

        return records;
    }

    /**
     * Closes the file. Closing twice does nothing.
     *
     * @throws IOException when closing fails.
     */
    @Override
    public void close() throws IOException
    {
        if (!closed)
        {
            closed = true;
            in.close();
        }
    }

    private void readPcapHeader(final ByteOrder order, final boolean nanoseconds) throws IOException
    {
        final int rest = PCAP_FILE_HEADER_LENGTH - MAGIC_LENGTH;
        final int n = read(scratch, MAGIC_LENGTH, rest);
        if (n < rest)
        {
            throw fail(0, "truncated pcap file header: file ends after " + (MAGIC_LENGTH + n) + " of " +
                PCAP_FILE_HEADER_LENGTH + " bytes");
        }
        final ByteBuffer header = ByteBuffer.wrap(scratch, 0, PCAP_FILE_HEADER_LENGTH).order(order);
        final int major = header.getShort(4) & 0xFFFF;
        final int minor = header.getShort(6) & 0xFFFF;
        if (major != PcapWriter.VERSION_MAJOR)
        {
            throw fail(0, "unsupported pcap version " + major + "." + minor + " (expected 2.x)");
        }
        this.order = order;
        this.pcapNanoseconds = nanoseconds;
        // The upper 16 bits of the LinkType field carry FCS information, not the link type.
        this.pcapLinkType = header.getInt(20) & 0xFFFF;
    }

    private CaptureRecord nextPcapRecord() throws IOException
    {
        final long recordOffset = position;
        final int n = read(scratch, 0, PCAP_RECORD_HEADER_LENGTH);
        if (n == 0)
        {
            return null;
        }
        if (n < PCAP_RECORD_HEADER_LENGTH)
        {
            throw fail(recordOffset, "truncated pcap record header: file ends after " + n + " of " +
                PCAP_RECORD_HEADER_LENGTH + " bytes");
        }
        final ByteBuffer header = ByteBuffer.wrap(scratch, 0, PCAP_RECORD_HEADER_LENGTH).order(order);
        final long seconds = u32(header, 0);
        final long fraction = u32(header, 4);
        final long capturedLength = u32(header, 8);
        final long originalLength = u32(header, 12);
        checkLength(recordOffset, "pcap record captured length", capturedLength, position);
        if (originalLength > Integer.MAX_VALUE)
        {
            throw fail(recordOffset, "pcap record original length " + originalLength + " is larger than 2^31-1");
        }

        final byte[] data = new byte[(int)capturedLength];
        final int read = read(data, 0, data.length);
        if (read < data.length)
        {
            throw fail(recordOffset, "truncated pcap record: file ends after " + read + " of " + data.length +
                " captured bytes");
        }
        final long timestampNs = seconds * NANOS_PER_SECOND + (pcapNanoseconds ? fraction : fraction * NANOS_PER_MICRO);

        return new CaptureRecord(++recordCount, timestampNs, pcapLinkType, (int)originalLength, data);
    }

    private CaptureRecord nextPcapngRecord() throws IOException
    {
        while (true)
        {
            final long blockOffset = position;
            final int n = read(scratch, 0, BLOCK_HEADER_LENGTH);
            if (n == 0)
            {
                return null;
            }
            if (n < BLOCK_HEADER_LENGTH)
            {
                throw fail(blockOffset, "truncated pcapng block header: file ends after " + n + " of " +
                    BLOCK_HEADER_LENGTH + " bytes");
            }
            final ByteBuffer header = ByteBuffer.wrap(scratch, 0, BLOCK_HEADER_LENGTH).order(order);
            final int type = header.getInt(0);
            if (type == SECTION_HEADER_BLOCK)
            {
                readSectionHeader(blockOffset, BLOCK_HEADER_LENGTH);
                continue;
            }

            final int length = readBlock(blockOffset, type, u32(header, 4), BLOCK_HEADER_LENGTH);
            final ByteBuffer block = ByteBuffer.wrap(scratch, 0, length).order(order);
            switch (type)
            {
                case INTERFACE_DESCRIPTION_BLOCK -> readInterfaceDescription(blockOffset, block, length);
                case ENHANCED_PACKET_BLOCK ->
                {
                    return readPacket(blockOffset, block, length, false);
                }
                case PACKET_BLOCK ->
                {
                    return readPacket(blockOffset, block, length, true);
                }
                case SIMPLE_PACKET_BLOCK ->
                {
                    return readSimplePacket(blockOffset, block, length);
                }
                case DECRYPTION_SECRETS_BLOCK -> readDecryptionSecrets(blockOffset, block, length);
                default ->
                {
                    // Name resolution, statistics, custom and unknown blocks: skipped by their length.
                }
            }
        }
    }

    /**
     * Reads a Section Header Block whose first {@code alreadyRead} bytes (4 or 8) are in scratch.
     */
    private void readSectionHeader(final long blockOffset, final int alreadyRead) throws IOException
    {
        final int want = SHB_BYTE_ORDER_OFFSET + 4 - alreadyRead;
        final int n = read(scratch, alreadyRead, want);
        if (n < want)
        {
            throw fail(blockOffset, "truncated Section Header Block: file ends after " + (alreadyRead + n) +
                " of " + SHB_MIN_LENGTH + " bytes");
        }
        final int byteOrderMagic = ByteBuffer.wrap(scratch, 0, SHB_BYTE_ORDER_OFFSET + 4)
            .order(ByteOrder.BIG_ENDIAN).getInt(SHB_BYTE_ORDER_OFFSET);
        if (byteOrderMagic == BYTE_ORDER_MAGIC)
        {
            order = ByteOrder.BIG_ENDIAN;
        }
        else if (byteOrderMagic == Integer.reverseBytes(BYTE_ORDER_MAGIC))
        {
            order = ByteOrder.LITTLE_ENDIAN;
        }
        else
        {
            throw fail(blockOffset, String.format(
                "Section Header Block byte-order magic 0x%08x at offset %d is neither 0x1a2b3c4d nor 0x4d3c2b1a",
                byteOrderMagic, blockOffset + SHB_BYTE_ORDER_OFFSET));
        }

        final long declared = u32(ByteBuffer.wrap(scratch, 0, BLOCK_HEADER_LENGTH).order(order), 4);
        final int length = readBlock(blockOffset, SECTION_HEADER_BLOCK, declared, SHB_BYTE_ORDER_OFFSET + 4);
        final ByteBuffer block = ByteBuffer.wrap(scratch, 0, length).order(order);
        checkMinimum(blockOffset, "Section Header Block", length, SHB_MIN_LENGTH);
        final int major = block.getShort(SHB_MAJOR_OFFSET) & 0xFFFF;
        final int minor = block.getShort(SHB_MINOR_OFFSET) & 0xFFFF;
        if (major != 1)
        {
            throw fail(blockOffset, "unsupported pcapng version " + major + "." + minor + " (expected 1.x)");
        }
        interfaces.clear();
    }

    private void readInterfaceDescription(final long blockOffset, final ByteBuffer block, final int length)
        throws CaptureFormatException
    {
        checkMinimum(blockOffset, "Interface Description Block", length, IDB_MIN_LENGTH);
        final int linkType = block.getShort(IDB_LINK_TYPE_OFFSET) & 0xFFFF;
        final long snaplen = u32(block, IDB_SNAPLEN_OFFSET);
        int tsresol = DEFAULT_TSRESOL;
        long tsoffset = 0;

        final int end = length - BLOCK_TRAILER_LENGTH;
        int at = IDB_OPTIONS_OFFSET;
        while (end - at >= 4)
        {
            final int code = block.getShort(at) & 0xFFFF;
            final int optionLength = block.getShort(at + 2) & 0xFFFF;
            if (code == OPT_ENDOFOPT)
            {
                break;
            }
            final int value = at + 4;
            if (optionLength > end - value)
            {
                throw fail(blockOffset, "Interface Description Block option " + code + " at offset " +
                    (blockOffset + at) + ": length " + optionLength + " runs past the end of the block");
            }
            if (code == OPT_IF_TSRESOL)
            {
                expectOptionLength(blockOffset, at, "if_tsresol", optionLength, 1);
                tsresol = block.get(value) & 0xFF;
            }
            else if (code == OPT_IF_TSOFFSET)
            {
                expectOptionLength(blockOffset, at, "if_tsoffset", optionLength, 8);
                tsoffset = block.getLong(value);
            }
            at = value + ((optionLength + 3) & ~3);
        }

        interfaces.add(new Interface(linkType, snaplen, tsresol, tsoffset));
    }

    private CaptureRecord readPacket(
        final long blockOffset, final ByteBuffer block, final int length, final boolean obsolete)
        throws CaptureFormatException
    {
        final String name = obsolete ? "Packet Block" : "Enhanced Packet Block";
        checkMinimum(blockOffset, name, length, EPB_MIN_LENGTH);
        final int interfaceId = obsolete ? block.getShort(8) & 0xFFFF : block.getInt(8);
        final Interface iface = findInterface(blockOffset, name, interfaceId);
        final long timestamp = ((long)block.getInt(12) << 32) | u32(block, 16);
        final long capturedLength = u32(block, 20);
        final long originalLength = u32(block, 24);
        final int dataArea = length - EPB_DATA_OFFSET - BLOCK_TRAILER_LENGTH;
        if (capturedLength > dataArea)
        {
            throw fail(blockOffset, name + " captured length " + capturedLength + " exceeds the block's " +
                dataArea + " bytes of packet data");
        }
        if (originalLength > Integer.MAX_VALUE)
        {
            throw fail(blockOffset, name + " original length " + originalLength + " is larger than 2^31-1");
        }
        final long timestampNs = toNanos(blockOffset, iface, timestamp);
        final byte[] data = Arrays.copyOfRange(scratch, EPB_DATA_OFFSET, EPB_DATA_OFFSET + (int)capturedLength);

        return new CaptureRecord(++recordCount, timestampNs, iface.linkType(), (int)originalLength, data);
    }

    private CaptureRecord readSimplePacket(final long blockOffset, final ByteBuffer block, final int length)
        throws CaptureFormatException
    {
        final String name = "Simple Packet Block";
        checkMinimum(blockOffset, name, length, SPB_MIN_LENGTH);
        final Interface iface = findInterface(blockOffset, name, 0);
        final long originalLength = u32(block, 8);
        if (originalLength > Integer.MAX_VALUE)
        {
            throw fail(blockOffset, name + " original length " + originalLength + " is larger than 2^31-1");
        }
        final long snaplen = iface.snaplenBytes();
        final long capturedLength = snaplen == 0 ? originalLength : Math.min(originalLength, snaplen);
        final int dataArea = length - SPB_DATA_OFFSET - BLOCK_TRAILER_LENGTH;
        if (capturedLength > dataArea)
        {
            throw fail(blockOffset, name + " captured length " + capturedLength + " (original length " +
                originalLength + ", snaplen " + snaplen + ") exceeds the block's " + dataArea +
                " bytes of packet data");
        }
        final byte[] data = Arrays.copyOfRange(scratch, SPB_DATA_OFFSET, SPB_DATA_OFFSET + (int)capturedLength);

        return new CaptureRecord(
            ++recordCount, CaptureRecord.NO_TIMESTAMP, iface.linkType(), (int)originalLength, data);
    }

    private void readDecryptionSecrets(final long blockOffset, final ByteBuffer block, final int length)
        throws CaptureFormatException
    {
        checkMinimum(blockOffset, "Decryption Secrets Block", length, DSB_MIN_LENGTH);
        final int type = block.getInt(8);
        final long secretsLength = u32(block, 12);
        final int dataArea = length - DSB_DATA_OFFSET - BLOCK_TRAILER_LENGTH;
        if (secretsLength > dataArea)
        {
            throw fail(blockOffset, "Decryption Secrets Block secrets length " + secretsLength + " exceeds the block's " +
                dataArea + " bytes of secrets data");
        }
        final byte[] data = Arrays.copyOfRange(scratch, DSB_DATA_OFFSET, DSB_DATA_OFFSET + (int)secretsLength);
        secrets.add(new DecryptionSecrets(type, data));
    }

    /**
     * Validates a block's total length, reads the rest of the block into scratch (whose first
     * {@code alreadyRead} bytes are already there) and checks the trailing copy of the length.
     *
     * @return the block's total length.
     */
    private int readBlock(final long blockOffset, final int type, final long length, final int alreadyRead)
        throws IOException
    {
        final String name = blockName(type);
        if (length < BLOCK_HEADER_LENGTH + BLOCK_TRAILER_LENGTH || length < alreadyRead + BLOCK_TRAILER_LENGTH)
        {
            throw fail(blockOffset, name + " total length " + length + " is less than the minimum of " +
                Math.max(BLOCK_HEADER_LENGTH + BLOCK_TRAILER_LENGTH, alreadyRead + BLOCK_TRAILER_LENGTH));
        }
        if ((length & 3) != 0)
        {
            throw fail(blockOffset, name + " total length " + length + " is not a multiple of 4");
        }
        checkLength(blockOffset, name + " total length", length, blockOffset);

        final int total = (int)length;
        if (scratch.length < total)
        {
            scratch = Arrays.copyOf(scratch, Math.max(total, Math.min(MAX_BLOCK_BYTES, scratch.length * 2)));
        }
        final int want = total - alreadyRead;
        final int n = read(scratch, alreadyRead, want);
        if (n < want)
        {
            throw fail(blockOffset, "truncated " + name + ": file ends after " + (alreadyRead + n) + " of " + total +
                " bytes");
        }
        final long trailer = u32(ByteBuffer.wrap(scratch, 0, total).order(order), total - BLOCK_TRAILER_LENGTH);
        if (trailer != length)
        {
            throw fail(blockOffset, name + " trailing total length " + trailer + " at offset " +
                (blockOffset + total - BLOCK_TRAILER_LENGTH) + " disagrees with the leading total length " + length);
        }

        return total;
    }

    /**
     * Rejects a length field that is absurd or runs past the end of the file.
     *
     * @param from file offset that the length counts from.
     */
    private void checkLength(final long offset, final String field, final long length, final long from)
        throws CaptureFormatException
    {
        if (length > MAX_BLOCK_BYTES)
        {
            throw fail(offset, field + " " + length + " exceeds the limit of " + MAX_BLOCK_BYTES + " bytes");
        }
        if (sizeBytes >= 0 && length > sizeBytes - from)
        {
            throw fail(offset, field + " " + length + " runs past the end of the file (" + (sizeBytes - from) +
                " bytes left)");
        }
    }

    private void checkMinimum(final long blockOffset, final String name, final int length, final int minimum)
        throws CaptureFormatException
    {
        if (length < minimum)
        {
            throw fail(blockOffset, name + " total length " + length + " is less than the minimum of " + minimum);
        }
    }

    private void expectOptionLength(
        final long blockOffset, final int at, final String option, final int length, final int expected)
        throws CaptureFormatException
    {
        if (length != expected)
        {
            throw fail(blockOffset, "Interface Description Block option " + option + " at offset " +
                (blockOffset + at) + " has length " + length + ", expected " + expected);
        }
    }

    private Interface findInterface(final long blockOffset, final String name, final int interfaceId)
        throws CaptureFormatException
    {
        if (interfaceId < 0 || interfaceId >= interfaces.size())
        {
            throw fail(blockOffset, name + " references interface " + Integer.toUnsignedString(interfaceId) +
                " but this section defines " + interfaces.size() + " interface(s)");
        }

        return interfaces.get(interfaceId);
    }

    private CaptureFormatException overflow(final long blockOffset, final long timestamp, final Interface iface)
    {
        return fail(blockOffset, "timestamp " + Long.toUnsignedString(timestamp) + " with if_tsresol 0x" +
            Integer.toHexString(iface.tsresol()) + " and if_tsoffset " + iface.tsoffsetSeconds() +
            " s does not fit in 64-bit nanoseconds since the epoch");
    }

    /**
     * Converts a pcapng timestamp in units of the interface's {@code if_tsresol} to nanoseconds
     * since the epoch, adding {@code if_tsoffset}.
     */
    private long toNanos(final long blockOffset, final Interface iface, final long timestamp)
        throws CaptureFormatException
    {
        final int tsresol = iface.tsresol();
        final int exponent = tsresol & 0x7F;
        long nanos;
        if ((tsresol & 0x80) == 0)
        {
            if (exponent <= 9)
            {
                final long factor = POWERS_OF_TEN[9 - exponent];
                if (timestamp < 0 || timestamp > Long.MAX_VALUE / factor)
                {
                    throw overflow(blockOffset, timestamp, iface);
                }
                nanos = timestamp * factor;
            }
            else
            {
                nanos = exponent - 9 >= POWERS_OF_TEN.length ?
                    0 : Long.divideUnsigned(timestamp, POWERS_OF_TEN[exponent - 9]);
            }
        }
        else
        {
            final long high = Math.unsignedMultiplyHigh(timestamp, NANOS_PER_SECOND);
            final long low = timestamp * NANOS_PER_SECOND;
            if (exponent >= 64)
            {
                nanos = high >>> (exponent - 64);
            }
            else if (exponent == 0)
            {
                if (high != 0)
                {
                    throw overflow(blockOffset, timestamp, iface);
                }
                nanos = low;
            }
            else
            {
                if ((high >>> exponent) != 0)
                {
                    throw overflow(blockOffset, timestamp, iface);
                }
                nanos = (high << (64 - exponent)) | (low >>> exponent);
            }
            if (nanos < 0)
            {
                throw overflow(blockOffset, timestamp, iface);
            }
        }

        try
        {
            return Math.addExact(nanos, Math.multiplyExact(iface.tsoffsetSeconds(), NANOS_PER_SECOND));
        }
        catch (final ArithmeticException ex)
        {
            throw overflow(blockOffset, timestamp, iface);
        }
    }

    private int read(final byte[] buffer, final int offset, final int length) throws IOException
    {
        final int n = in.readNBytes(buffer, offset, length);
        position += n;

        return n;
    }

    private CaptureFormatException fail(final long offset, final String problem)
    {
        failure = new CaptureFormatException(offset, problem);

        return failure;
    }

    private static long u32(final ByteBuffer buffer, final int index)
    {
        return buffer.getInt(index) & 0xFFFF_FFFFL;
    }

    private static String blockName(final int type)
    {
        return switch (type)
        {
            case SECTION_HEADER_BLOCK -> "Section Header Block";
            case INTERFACE_DESCRIPTION_BLOCK -> "Interface Description Block";
            case PACKET_BLOCK -> "Packet Block";
            case SIMPLE_PACKET_BLOCK -> "Simple Packet Block";
            case ENHANCED_PACKET_BLOCK -> "Enhanced Packet Block";
            case DECRYPTION_SECRETS_BLOCK -> "Decryption Secrets Block";
            default -> String.format("block type 0x%08x", type);
        };
    }
}
