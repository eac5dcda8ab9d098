package io.vsnic.dataplane.capture;

import java.util.Arrays;
import java.util.Objects;

/**
 * One packet read from a capture file.
 *
 * <p>Equality compares the bytes of {@link #data()}, not the array reference. The array is the
 * record's own copy; callers must not modify it if they share the record.
 *
 * @param number         1-based position of the packet in the file, counted across all sections.
 * @param timestampNs    capture time in nanoseconds since the epoch (UTC), or {@link #NO_TIMESTAMP}
 *                       for pcapng Simple Packet Blocks, which carry none.
 * @param linkType       link-layer header type of {@code data}, see {@link LinkType}.
 * @param originalLength length of the packet on the wire; larger than {@code data.length} when the
 *                       capture truncated it to the snapshot length.
 * @param data           the captured bytes.
 */
public record CaptureRecord(int number, long timestampNs, int linkType, int originalLength, byte[] data)
{
    /** {@link #timestampNs()} of a packet that has no timestamp (pcapng Simple Packet Block). */
    public static final long NO_TIMESTAMP = Long.MIN_VALUE;

    /**
     * Validates the components.
     */
    public CaptureRecord
    {
        Objects.requireNonNull(data, "data");
        if (number < 1)
        {
            throw new IllegalArgumentException("number must be 1-based: " + number);
        }
        if (originalLength < 0)
        {
            throw new IllegalArgumentException("originalLength must not be negative: " + originalLength);
        }
    }

    /**
     * @return number of captured bytes, {@code data().length}.
     */
    public int capturedLength()
    {
        return data.length;
    }

    /**
     * @return true when fewer bytes were captured than were on the wire.
     */
    public boolean isTruncated()
    {
        return data.length < originalLength;
    }

    /**
     * @return true unless the timestamp is {@link #NO_TIMESTAMP}.
     */
    public boolean hasTimestamp()
    {
        return timestampNs != NO_TIMESTAMP;
    }

    @Override
    public boolean equals(final Object other)
    {
        return other instanceof CaptureRecord that &&
            number == that.number &&
            timestampNs == that.timestampNs &&
            linkType == that.linkType &&
            originalLength == that.originalLength &&
            Arrays.equals(data, that.data);
    }

    @Override
    public int hashCode()
    {
        return Objects.hash(number, timestampNs, linkType, originalLength) * 31 + Arrays.hashCode(data);
    }

    @Override
    public String toString()
    {
        return "CaptureRecord[number=" + number + ", timestampNs=" + timestampNs + ", linkType=" + linkType +
            ", originalLength=" + originalLength + ", capturedLength=" + data.length + "]";
    }
}
