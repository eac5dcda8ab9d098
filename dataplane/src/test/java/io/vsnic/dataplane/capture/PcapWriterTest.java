package io.vsnic.dataplane.capture;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

class PcapWriterTest
{
    private static final long MAC_A = 0x02_00_00_00_00_0aL;
    private static final long MAC_B = 0x02_00_00_00_00_0bL;
    /** 2024-01-02 03:04:05.678901 UTC, with nanoseconds below the microsecond. */
    private static final long T0_NS = 1_704_164_645_678_901_234L;

    @TempDir
    Path tempDir;

    @Test
    void shouldWriteRawIpLinkTypeWhenAsked(@org.junit.jupiter.api.io.TempDir final java.nio.file.Path directory) throws IOException
    {
        final java.nio.file.Path file = directory.resolve("raw.pcap");
        final byte[] packet = {0x45, 0, 0, 20, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2};
        try (PcapWriter writer = PcapWriter.open(file, LinkType.LINKTYPE_RAW))
        {
            writer.write(1_000_000_000L, packet);
        }
        try (CaptureReader reader = CaptureReader.open(file))
        {
            final CaptureRecord record = reader.next();
            assertEquals(LinkType.LINKTYPE_RAW, record.linkType());
            org.junit.jupiter.api.Assertions.assertArrayEquals(packet, record.data());
        }
    }

    @Test
    void shouldWriteBigEndianMicrosecondEthernetHeaderWhenOpened() throws IOException
    {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (PcapWriter writer = new PcapWriter(out))
        {
            writer.flush();
        }

        final byte[] expected = {
            (byte)0xa1, (byte)0xb2, (byte)0xc3, (byte)0xd4, // magic, microseconds, big-endian
            0, 2, 0, 4,                                     // version 2.4
            0, 0, 0, 0,                                     // thiszone
            0, 0, 0, 0,                                     // sigfigs
            0, 4, 0, 0,                                     // snaplen 262144
            0, 0, 0, 1,                                     // LINKTYPE_ETHERNET
        };
        assertArrayEquals(expected, out.toByteArray());
    }

    @Test
    void shouldWriteRecordHeaderWithMicrosecondsAndLengthsWhenFrameWritten() throws IOException
    {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        final byte[] frame = {1, 2, 3, 4, 5};
        try (PcapWriter writer = new PcapWriter(out))
        {
            writer.write(T0_NS, frame);
        }

        final ByteBuffer record = ByteBuffer.wrap(out.toByteArray(), PcapWriter.FILE_HEADER_LENGTH, 21)
            .slice().order(ByteOrder.BIG_ENDIAN);
        assertEquals(1_704_164_645, record.getInt(0));
        assertEquals(678_901, record.getInt(4));
        assertEquals(5, record.getInt(8));
        assertEquals(5, record.getInt(12));
        assertArrayEquals(frame, Arrays.copyOfRange(out.toByteArray(), 40, 45));
        assertEquals(45, out.size());
    }

    @Test
    void shouldReadBackFramesExactlyWhenRoundTripped() throws IOException
    {
        final Path file = tempDir.resolve("round-trip.pcap");
        final byte[] small = TestFrames.udp(
            MAC_A, MAC_B, TestFrames.ipv4(10, 0, 0, 1), TestFrames.ipv4(10, 0, 0, 2), 1000, 4789, new byte[] {42});
        final byte[] minimum = new byte[60];
        Arrays.fill(minimum, (byte)0x5a);
        final byte[] jumbo = pattern(9_000, 7);
        final byte[] oversize = pattern(PcapWriter.SNAPLEN_BYTES + 1_000, 13);
        final byte[] empty = new byte[0];
        final long[] timestampsNs = {
            T0_NS, T0_NS + 1_000, T0_NS + 999_999_000L, T0_NS + 86_400_000_000_000L, 0L, 1_000_000L };

        try (Arena arena = Arena.ofConfined(); PcapWriter writer = PcapWriter.open(file))
        {
            writer.write(timestampsNs[0], small);
            final MemorySegment segment = arena.allocate(16_384);
            MemorySegment.copy(MemorySegment.ofArray(jumbo), 0, segment, 100, jumbo.length);
            writer.write(timestampsNs[1], segment, 100, jumbo.length);
            writer.write(timestampsNs[2], MemorySegment.ofArray(oversize), 0, oversize.length);
            writer.write(timestampsNs[3], minimum);
            writer.write(timestampsNs[4], empty);
            writer.write(timestampsNs[5], segment, 16_384 - 10, 10);
            assertEquals(6, writer.framesWritten());
        }

        final byte[][] expectedData = {
            small, jumbo, Arrays.copyOf(oversize, PcapWriter.SNAPLEN_BYTES), minimum, empty, new byte[10] };
        final int[] expectedOriginal = { small.length, jumbo.length, oversize.length, 60, 0, 10 };
        try (CaptureReader reader = CaptureReader.open(file))
        {
            assertEquals(CaptureReader.FORMAT_PCAP, reader.format());
            for (int i = 0; i < expectedData.length; i++)
            {
                final CaptureRecord record = reader.next();
                assertEquals(
                    new CaptureRecord(i + 1, truncateToMicros(timestampsNs[i]), LinkType.LINKTYPE_ETHERNET,
                    expectedOriginal[i], expectedData[i]),
                    record, "frame " + (i + 1));
            }
            assertNull(reader.next());
            assertTrue(reader.secrets().isEmpty());
        }
        final long expectedSize = PcapWriter.FILE_HEADER_LENGTH + 6L * PcapWriter.RECORD_HEADER_LENGTH +
            small.length + jumbo.length + PcapWriter.SNAPLEN_BYTES + minimum.length + 10;
        assertEquals(expectedSize, Files.size(file));
    }

    @Test
    void shouldTruncateFrameToSnaplenAndKeepOriginalLengthWhenFrameIsLonger() throws IOException
    {
        final Path file = tempDir.resolve("snaplen.pcap");
        final byte[] frame = pattern(PcapWriter.SNAPLEN_BYTES + 1, 3);
        try (PcapWriter writer = PcapWriter.open(file))
        {
            writer.write(T0_NS, frame);
        }

        try (CaptureReader reader = CaptureReader.open(file))
        {
            final CaptureRecord record = reader.next();
            assertEquals(PcapWriter.SNAPLEN_BYTES, record.capturedLength());
            assertEquals(PcapWriter.SNAPLEN_BYTES + 1, record.originalLength());
            assertTrue(record.isTruncated());
            assertArrayEquals(Arrays.copyOf(frame, PcapWriter.SNAPLEN_BYTES), record.data());
        }
    }

    @Test
    void shouldReplaceContentWhenOpeningExistingFile() throws IOException
    {
        final Path file = tempDir.resolve("existing.pcap");
        Files.write(file, pattern(100_000, 1));
        try (PcapWriter writer = PcapWriter.open(file))
        {
            writer.write(T0_NS, new byte[] {9});
        }

        assertEquals(PcapWriter.FILE_HEADER_LENGTH + PcapWriter.RECORD_HEADER_LENGTH + 1, Files.size(file));
    }

    @Test
    void shouldBufferOutputUntilFlushed() throws IOException
    {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (PcapWriter writer = new PcapWriter(out))
        {
            writer.write(T0_NS, new byte[100]);
            assertEquals(0, out.size());
            writer.flush();
            assertEquals(PcapWriter.FILE_HEADER_LENGTH + PcapWriter.RECORD_HEADER_LENGTH + 100, out.size());
        }
    }

    @Test
    void shouldRejectTimestampWhenOutsidePcapRange() throws IOException
    {
        try (PcapWriter writer = new PcapWriter(new ByteArrayOutputStream()))
        {
            assertThrows(IllegalArgumentException.class, () -> writer.write(-1L, new byte[1]));
            assertThrows(IllegalArgumentException.class, () -> writer.write((1L << 32) * 1_000_000_000L, new byte[1]));
            assertEquals(0, writer.framesWritten());
        }
    }

    @Test
    void shouldRejectWindowWhenOutsideSegment() throws IOException
    {
        final MemorySegment segment = MemorySegment.ofArray(new byte[64]);
        try (PcapWriter writer = new PcapWriter(new ByteArrayOutputStream()))
        {
            assertThrows(IndexOutOfBoundsException.class, () -> writer.write(T0_NS, segment, 60, 5));
            assertThrows(IndexOutOfBoundsException.class, () -> writer.write(T0_NS, segment, -1, 5));
            assertThrows(IndexOutOfBoundsException.class, () -> writer.write(T0_NS, segment, 0, -1));
            assertEquals(0, writer.framesWritten());
        }
    }

    @Test
    void shouldRejectWriteWhenClosed() throws IOException
    {
        final PcapWriter writer = new PcapWriter(new ByteArrayOutputStream());
        writer.close();
        writer.close();

        assertThrows(IllegalStateException.class, () -> writer.write(T0_NS, new byte[1]));
        assertThrows(IllegalStateException.class, writer::flush);
    }

    @Test
    void shouldBeDecodedByTsharkWhenTsharkIsInstalled() throws Exception
    {
        final Optional<Path> tshark = findOnPath("tshark");
        Assumptions.assumeTrue(tshark.isPresent(),
            "tshark not installed: not on PATH (apt-get install -y --no-install-recommends tshark)");

        final Path file = tempDir.resolve("tshark.pcap");
        try (PcapWriter writer = PcapWriter.open(file))
        {
            writer.write(T0_NS, TestFrames.udp(MAC_A, MAC_B,
                TestFrames.ipv4(192, 0, 2, 1), TestFrames.ipv4(198, 51, 100, 7), 40000, 4789, ascii("vxlan?")));
            writer.write(T0_NS + 1_500_000L, TestFrames.udp(MAC_B, MAC_A,
                TestFrames.ipv4(198, 51, 100, 7), TestFrames.ipv4(192, 0, 2, 1), 40001, 6081, ascii("geneve")));
            writer.write(T0_NS + 2_000_000_000L, TestFrames.udp(MAC_A, MAC_B,
                TestFrames.ipv4(10, 1, 2, 3), TestFrames.ipv4(10, 3, 2, 1), 53, 5353, new byte[0]));
        }

        final List<String> lines = run(List.of(
            tshark.get().toString(), "-n", "-r", file.toString(),
            "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
            "-T", "fields", "-E", "separator=/t",
            "-e", "frame.number", "-e", "ip.src", "-e", "udp.dstport", "-e", "frame.time_epoch",
            "-e", "ip.checksum.status", "-e", "udp.checksum.status"));

        // checksum status 1 = good (Wireshark PROTO_CHECKSUM_E_GOOD; 0 bad, 2 unverified)
        assertEquals(List.of(
            "1\t192.0.2.1\t4789\t1704164645.678901000\t1\t1",
            "2\t198.51.100.7\t6081\t1704164645.680401000\t1\t1",
            "3\t10.1.2.3\t5353\t1704164647.678901000\t1\t1"),
            lines);
    }

    private static List<String> run(final List<String> command) throws IOException, InterruptedException
    {
        final Path stdout = Files.createTempFile("tshark", ".out");
        final Path stderr = Files.createTempFile("tshark", ".err");
        try
        {
            final Process process = new ProcessBuilder(command)
                .redirectOutput(stdout.toFile())
                .redirectError(stderr.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .start();
            if (!process.waitFor(60, TimeUnit.SECONDS))
            {
                process.destroyForcibly();
                fail("tshark did not finish within 60 s: " + command);
            }
            final String errors = Files.readString(stderr);
            assertEquals(0, process.exitValue(), "tshark failed: " + errors);
            final List<String> lines = new ArrayList<>(Files.readAllLines(stdout));
            lines.removeIf(String::isBlank);

            return lines;
        }
        finally
        {
            Files.deleteIfExists(stdout);
            Files.deleteIfExists(stderr);
        }
    }

    private static Optional<Path> findOnPath(final String program)
    {
        final String path = System.getenv("PATH");
        if (path == null)
        {
            return Optional.empty();
        }
        for (final String dir : path.split(File.pathSeparator))
        {
            if (!dir.isEmpty())
            {
                final Path candidate = Path.of(dir, program);
                if (Files.isRegularFile(candidate) && Files.isExecutable(candidate))
                {
                    return Optional.of(candidate);
                }
            }
        }

        return Optional.empty();
    }

    private static long truncateToMicros(final long timestampNs)
    {
        return timestampNs - Math.floorMod(timestampNs, 1_000L);
    }

    private static byte[] pattern(final int length, final int seed)
    {
        final byte[] bytes = new byte[length];
        for (int i = 0; i < length; i++)
        {
            bytes[i] = (byte)(i * seed + (i >>> 8));
        }

        return bytes;
    }

    private static byte[] ascii(final String text)
    {
        return text.getBytes(StandardCharsets.US_ASCII);
    }
}
