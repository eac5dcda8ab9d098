package io.vsnic.dataplane.capture;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Builds pcapng files block by block for tests, in the byte order of the current section.
 */
final class PcapngBuilder
{
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private ByteOrder order = ByteOrder.LITTLE_ENDIAN;

    /**
     * Starts a section (Section Header Block, version 1.0, unknown section length) in {@code order}.
     */
    PcapngBuilder section(final ByteOrder order)
    {
        this.order = order;
        final ByteBuffer body = buffer(16)
            .putInt(CaptureReader.BYTE_ORDER_MAGIC)
            .putShort((short)1).putShort((short)0)
            .putLong(-1L);

        return block(CaptureReader.SECTION_HEADER_BLOCK, body.array());
    }

    /**
     * Adds an Interface Description Block with the given options (made by {@link #option}).
     */
    PcapngBuilder interfaceDescription(final int linkType, final int snaplen, final byte[]... options)
    {
        int optionsLength = 0;
        for (final byte[] option : options)
        {
            optionsLength += option.length;
        }
        final ByteBuffer body = buffer(8 + optionsLength + (options.length > 0 ? 4 : 0))
            .putShort((short)linkType).putShort((short)0).putInt(snaplen);
        for (final byte[] option : options)
        {
            body.put(option);
        }

        return block(CaptureReader.INTERFACE_DESCRIPTION_BLOCK, body.array());
    }

    /**
     * @return one option (code, length, value padded to 32 bits) in the current byte order.
     */
    byte[] option(final int code, final byte[] value)
    {
        final ByteBuffer option = buffer(4 + padded(value.length))
            .putShort((short)code).putShort((short)value.length).put(value);

        return option.array();
    }

    /**
     * @return an 8-byte option value (for if_tsoffset) in the current byte order.
     */
    byte[] int64(final long value)
    {
        return buffer(8).putLong(value).array();
    }

    /**
     * Adds an Enhanced Packet Block; {@code timestamp} is in the interface's units.
     */
    PcapngBuilder enhancedPacket(final int interfaceId, final long timestamp, final int originalLength, final byte[] data)
    {
        final ByteBuffer body = buffer(20 + padded(data.length))
            .putInt(interfaceId)
            .putInt((int)(timestamp >>> 32)).putInt((int)timestamp)
            .putInt(data.length).putInt(originalLength)
            .put(data);

        return block(CaptureReader.ENHANCED_PACKET_BLOCK, body.array());
    }

    /**
     * Adds an obsolete Packet Block; {@code timestamp} is in the interface's units.
     */
    PcapngBuilder packet(final int interfaceId, final long timestamp, final int originalLength, final byte[] data)
    {
        final ByteBuffer body = buffer(20 + padded(data.length))
            .putShort((short)interfaceId).putShort((short)0)
            .putInt((int)(timestamp >>> 32)).putInt((int)timestamp)
            .putInt(data.length).putInt(originalLength)
            .put(data);

        return block(CaptureReader.PACKET_BLOCK, body.array());
    }

    /**
     * Adds a Simple Packet Block holding {@code data} (already cut to the snapshot length).
     */
    PcapngBuilder simplePacket(final int originalLength, final byte[] data)
    {
        final ByteBuffer body = buffer(4 + padded(data.length)).putInt(originalLength).put(data);

        return block(CaptureReader.SIMPLE_PACKET_BLOCK, body.array());
    }

    /**
     * Adds a Decryption Secrets Block.
     */
    PcapngBuilder decryptionSecrets(final int type, final byte[] data)
    {
        final ByteBuffer body = buffer(8 + padded(data.length)).putInt(type).putInt(data.length).put(data);

        return block(CaptureReader.DECRYPTION_SECRETS_BLOCK, body.array());
    }

    /**
     * Adds any block: type, total length, {@code body} padded to 32 bits, total length.
     */
    PcapngBuilder block(final int type, final byte[] body)
    {
        final int total = 12 + padded(body.length);
        final ByteBuffer block = buffer(total).putInt(type).putInt(total).put(body);
        block.putInt(total - 4, total);
        out.writeBytes(block.array());

        return this;
    }

    /**
     * Appends raw bytes, for damaged blocks.
     */
    PcapngBuilder raw(final byte[] bytes)
    {
        out.writeBytes(bytes);

        return this;
    }

    byte[] toByteArray()
    {
        return out.toByteArray();
    }

    private ByteBuffer buffer(final int length)
    {
        return ByteBuffer.allocate(length).order(order);
    }

    private static int padded(final int length)
    {
        return (length + 3) & ~3;
    }
}
