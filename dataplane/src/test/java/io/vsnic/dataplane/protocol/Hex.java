package io.vsnic.dataplane.protocol;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HexFormat;

/**
 * Test helper: byte vectors written as hex (whitespace ignored) and heap segments holding them.
 */
final class Hex
{
    private Hex()
    {
    }

    static byte[] bytes(final String hex)
    {
        return HexFormat.of().parseHex(hex.replaceAll("\\s+", ""));
    }

    static String hex(final byte[] bytes)
    {
        return HexFormat.of().formatHex(bytes);
    }

    /**
     * @return a native segment of {@code capacity} bytes holding {@code bytes} at {@code offset}.
     */
    static MemorySegment segment(final byte[] bytes, final int offset, final int capacity)
    {
        final MemorySegment segment = Arena.ofAuto().allocate(capacity);
        MemorySegment.copy(bytes, 0, segment, ValueLayout.JAVA_BYTE, offset, bytes.length);
        return segment;
    }

    static MemorySegment segment(final String hex)
    {
        final byte[] bytes = bytes(hex);
        return segment(bytes, 0, bytes.length);
    }

    static byte[] slice(final MemorySegment segment, final long offset, final int length)
    {
        return segment.asSlice(offset, length).toArray(ValueLayout.JAVA_BYTE);
    }
}
