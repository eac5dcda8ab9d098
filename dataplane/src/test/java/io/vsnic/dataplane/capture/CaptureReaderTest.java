package io.vsnic.dataplane.capture;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CaptureReaderTest
{
    private static final String VXLAN = "overlay/vxlan.pcap";
    private static final String GENEVE = "overlay/geneve.pcap";
    private static final String GENEVE_GCP = "overlay/geneve-gcp.pcap";
    private static final String WIREGUARD = "wireguard/wireguard-ping-tcp-dsb.pcapng";
    private static final Duration READ_TIMEOUT = Duration.ofSeconds(5);
    private static final long MAC_A = 0x02_00_00_00_00_0aL;
    private static final long MAC_B = 0x02_00_00_00_00_0bL;

    @TempDir
    Path tempDir;

    // ---------------------------------------------------------------------------------------------
    // Real captures from testdata/interop

    @Test
    void shouldReadVxlanCaptureWithTcpdumpTimestampsWhenPcapIsLittleEndian() throws IOException
    {
        final List<CaptureRecord> records = readAll(InteropCaptures.resolve(VXLAN));

        assertEquals(10, records.size());
        assertEquals(1_368, records.stream().mapToInt(CaptureRecord::capturedLength).sum());
        assertEquals(InteropCaptures.epochNs("2013-05-18 20:21:44.837063"), records.get(0).timestampNs());
        assertEquals(148, records.get(0).originalLength());
        assertTimestampsMatchTcpdump(records, "overlay/vxlan.out");
        assertNumberedEthernet(records);
    }

    @Test
    void shouldReadGeneveCaptureWithTcpdumpTimestamps() throws IOException
    {
        final List<CaptureRecord> records = readAll(InteropCaptures.resolve(GENEVE));

        assertEquals(39, records.size());
        assertEquals(9_280, records.stream().mapToInt(CaptureRecord::capturedLength).sum());
        assertTimestampsMatchTcpdump(records, "overlay/geneve-vv.out");
        assertNumberedEthernet(records);
    }

    @Test
    void shouldReadGeneveGcpCaptureAsOneFrameOf130Bytes() throws IOException
    {
        final List<CaptureRecord> records = readAll(InteropCaptures.resolve(GENEVE_GCP));

        assertEquals(1, records.size());
        assertEquals(130, records.get(0).capturedLength());
        assertEquals(130, records.get(0).originalLength());
        assertEquals(InteropCaptures.epochNs("2022-03-21 10:31:03.250708"), records.get(0).timestampNs());
        assertTimestampsMatchTcpdump(records, "overlay/geneve-gcp.out");
        // outer IPv4 header starts right after the 14-byte Ethernet header: version 4, IHL 5
        assertEquals(0x45, records.get(0).data()[14] & 0xFF);
    }

    @Test
    void shouldReadEveryGsoCaptureAsOneSuperPacketMatchingTcpdump() throws IOException
    {
        final Path overlay = InteropCaptures.resolve("overlay");
        final List<Path> captures = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(overlay, "gso-*.pcap"))
        {
            files.forEach(captures::add);
        }
        assertEquals(8, captures.size(), "gso-*.pcap in " + overlay);

        for (final Path capture : captures)
        {
            final String name = capture.getFileName().toString();
            final List<CaptureRecord> records = readAll(capture);
            assertEquals(1, records.size(), name);
            final CaptureRecord record = records.get(0);
            assertEquals(record.originalLength(), record.capturedLength(), name);
            assertEquals(frameLengthFromTcpdump(overlay.resolve(name.replace(".pcap", ".out"))),
                record.capturedLength(), name);
            assertTimestampsMatchTcpdump(records, "overlay/" + name.replace(".pcap", ".out"));
            if (name.equals("gso-ipv4-geneve-ipv4.pcap"))
            {
                assertEquals(7_106, record.capturedLength());
            }
        }
    }

    @Test
    void shouldReadWireguardPcapngWithOneDecryptionSecretsBlock() throws IOException
    {
        final int[] expectedLengths = {
            190, 134, 170, 170, 170, 170, 170, 170, 74, 138, 138, 154, 190, 134, 170, 74, 138, 122, 122, 330, 122, 1494 };

        try (CaptureReader reader = CaptureReader.open(InteropCaptures.resolve(WIREGUARD)))
        {
            assertEquals(CaptureReader.FORMAT_PCAPNG, reader.format());
            assertTrue(reader.secrets().isEmpty());
            final List<CaptureRecord> records = reader.readAll();

            assertEquals(22, records.size());
            assertArrayEquals(expectedLengths, records.stream().mapToInt(CaptureRecord::capturedLength).toArray());
            assertNumberedEthernet(records);
            assertEquals(InteropCaptures.epochNs("2018-07-20 22:38:41.356858"), records.get(0).timestampNs());
            assertEquals(InteropCaptures.epochNs("2018-07-20 22:41:01.633953"), records.get(21).timestampNs());

            final List<DecryptionSecrets> secrets = reader.secrets();
            assertEquals(1, secrets.size());
            final DecryptionSecrets keyLog = secrets.get(0);
            assertEquals(DecryptionSecrets.WIREGUARD_KEY_LOG, keyLog.type());
            assertEquals(286, keyLog.data().length);
            assertEquals(
                """
                REMOTE_STATIC_PUBLIC_KEY=YDCttCs9e1J52/g9vEnwJJa+2x6RqaayAYMpSVQfGEY=
                LOCAL_STATIC_PRIVATE_KEY=B6eZaHwBxjiKLFnkY2unvEdOTtg4AL+M9dQXfopFVJk=
                LOCAL_EPHEMERAL_PRIVATE_KEY=t7GLJSOQfyz7JNJ5ZDzFf3Uz1rkiCMMjbWerNYcPFJU=
                LOCAL_EPHEMERAL_PRIVATE_KEY=ULv83D+y3vA0t2mgmTmWz++lpVsrP7i4wNaUEK2oX0E=
                """,
                keyLog.text());
            assertTrue(Pattern.compile("(?m)^\\s*LOCAL_STATIC_PRIVATE_KEY\\s*=\\s*[A-Za-z0-9+/]{43}=$")
                .matcher(keyLog.text()).find());
        }
    }

    @Test
    void shouldExposeSecretsSeenSoFarWhenReadingIncrementally() throws IOException
    {
        try (CaptureReader reader = CaptureReader.open(InteropCaptures.resolve(WIREGUARD)))
        {
            assertTrue(reader.secrets().isEmpty());
            assertNotNull(reader.next());
            assertEquals(1, reader.secrets().size(), "the DSB precedes the first packet");
            assertThrows(UnsupportedOperationException.class, () -> reader.secrets().clear());
        }
    }

    @Test
    void shouldReadSameRecordsWhenGivenStreamInsteadOfPath() throws IOException
    {
        for (final String capture : List.of(VXLAN, WIREGUARD))
        {
            final Path path = InteropCaptures.resolve(capture);
            try (CaptureReader reader = CaptureReader.open(new ByteArrayInputStream(Files.readAllBytes(path))))
            {
                assertEquals(readAll(path), reader.readAll(), capture);
            }
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Hand-built files

    @ParameterizedTest(name = "{0} nanoseconds={1}")
    @CsvSource({ "BIG_ENDIAN,false", "BIG_ENDIAN,true", "LITTLE_ENDIAN,false", "LITTLE_ENDIAN,true" })
    void shouldReadPcapWhenMagicIsAnyOfTheFour(final String byteOrder, final boolean nanoseconds) throws IOException
    {
        final ByteOrder order = "BIG_ENDIAN".equals(byteOrder) ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN;
        final byte[] frame = {1, 2, 3, 4, 5, 6, 7};
        final ByteBuffer file = ByteBuffer.allocate(24 + 2 * (16 + frame.length)).order(order);
        file.putInt(nanoseconds ? PcapWriter.MAGIC_NANOSECONDS : PcapWriter.MAGIC_MICROSECONDS)
            .putShort((short)2).putShort((short)4).putInt(0).putInt(0).putInt(65_535).putInt(LinkType.LINKTYPE_RAW);
        file.putInt(1_700_000_000).putInt(123_456).putInt(frame.length).putInt(1_500).put(frame);
        file.putInt(1_700_000_001).putInt(999_999).putInt(frame.length).putInt(frame.length).put(frame);

        final List<CaptureRecord> records = readAll(write("magic.pcap", file.array()));

        final long unit = nanoseconds ? 1 : 1_000;
        assertEquals(List.of(
            new CaptureRecord(1, 1_700_000_000_000_000_000L + 123_456 * unit, LinkType.LINKTYPE_RAW, 1_500, frame),
            new CaptureRecord(2, 1_700_000_001_000_000_000L + 999_999 * unit, LinkType.LINKTYPE_RAW, 7, frame)),
            records);
        assertTrue(records.get(0).isTruncated());
    }

    @Test
    void shouldReadMultipleSectionsWhenByteOrderAndResolutionDiffer() throws IOException
    {
        final byte[] ethernet = TestFrames.udp(
            MAC_A, MAC_B, TestFrames.ipv4(10, 0, 0, 1), TestFrames.ipv4(10, 0, 0, 2), 1234, 4789, new byte[] {1, 2, 3});
        final byte[] ip = Arrays.copyOfRange(ethernet, TestFrames.ETHERNET_HEADER_LENGTH, ethernet.length);
        final byte[] tlsKeys = ascii("CLIENT_RANDOM 00 11\n");
        final byte[] wgKeys = ascii("LOCAL_STATIC_PRIVATE_KEY = AKeZaHwBxjiKLFnkY2unvEdOTtg4AL+M9dQXfopFVFk=\n");

        final PcapngBuilder builder = new PcapngBuilder();
        builder.section(ByteOrder.LITTLE_ENDIAN);
        builder.interfaceDescription(LinkType.LINKTYPE_ETHERNET, 0);
        builder.enhancedPacket(0, 1_700_000_000_123_456L, ethernet.length, ethernet);
        builder.block(0x00000004, new byte[] {0, 0, 0, 0}); // Name Resolution Block: skipped
        builder.decryptionSecrets(DecryptionSecrets.TLS_KEY_LOG, tlsKeys);
        builder.interfaceDescription(LinkType.LINKTYPE_RAW, 0, builder.option(9, new byte[] {9}));
        builder.enhancedPacket(1, 1_700_000_000_123_456_789L, 1_000, ip);
        builder.block(0x40000BAD, new byte[] {1, 2, 3, 4, 5}); // custom/unknown block: skipped

        builder.section(ByteOrder.BIG_ENDIAN);
        builder.interfaceDescription(LinkType.LINKTYPE_RAW, 0,
            builder.option(2, ascii("eth0")), builder.option(9, new byte[] {(byte)0x94}), builder.option(14,
            builder.int64(100)));
        builder.interfaceDescription(LinkType.LINKTYPE_ETHERNET, 0, builder.option(9, new byte[] {3}));
        builder.enhancedPacket(0, (1_700_000_000L << 20) | (1 << 19) | 1, ip.length, ip);
        builder.simplePacket(ethernet.length, ethernet);
        builder.packet(1, 1_700_000_000_123L, ethernet.length, ethernet);
        builder.decryptionSecrets(DecryptionSecrets.WIREGUARD_KEY_LOG, wgKeys);

        try (CaptureReader reader = CaptureReader.open(write("sections.pcapng", builder.toByteArray())))
        {
            assertEquals(CaptureReader.FORMAT_PCAPNG, reader.format());
            assertEquals(new CaptureRecord(1, 1_700_000_000_123_456_000L, LinkType.LINKTYPE_ETHERNET,
                ethernet.length, ethernet), reader.next());
            assertTrue(reader.secrets().isEmpty());
            assertEquals(new CaptureRecord(2, 1_700_000_000_123_456_789L, LinkType.LINKTYPE_RAW, 1_000, ip),
                reader.next());
            assertEquals(List.of(new DecryptionSecrets(DecryptionSecrets.TLS_KEY_LOG, tlsKeys)), reader.secrets());
            assertEquals(new CaptureRecord(3, 1_700_000_100_500_000_953L, LinkType.LINKTYPE_RAW, ip.length, ip),
                reader.next());
            final CaptureRecord simple = reader.next();
            assertEquals(new CaptureRecord(4, CaptureRecord.NO_TIMESTAMP, LinkType.LINKTYPE_RAW, ethernet.length,
                ethernet), simple);
            assertFalse(simple.hasTimestamp());
            assertEquals(new CaptureRecord(5, 1_700_000_000_123_000_000L, LinkType.LINKTYPE_ETHERNET,
                ethernet.length, ethernet), reader.next());
            assertNull(reader.next());
            assertNull(reader.next());
            assertEquals(List.of(
                new DecryptionSecrets(DecryptionSecrets.TLS_KEY_LOG, tlsKeys),
                new DecryptionSecrets(DecryptionSecrets.WIREGUARD_KEY_LOG, wgKeys)),
                reader.secrets());
        }
    }

    @Test
    void shouldCutSimplePacketToSnaplenWhenOriginalIsLonger() throws IOException
    {
        final byte[] captured = new byte[20];
        Arrays.fill(captured, (byte)0xee);
        final PcapngBuilder builder = new PcapngBuilder();
        builder.section(ByteOrder.BIG_ENDIAN);
        builder.interfaceDescription(LinkType.LINKTYPE_ETHERNET, 20);
        builder.simplePacket(60, captured);

        final List<CaptureRecord> records = readAll(write("spb.pcapng", builder.toByteArray()));

        assertEquals(List.of(new CaptureRecord(1, CaptureRecord.NO_TIMESTAMP, LinkType.LINKTYPE_ETHERNET, 60,
            captured)), records);
    }

    @Test
    void shouldForgetInterfacesWhenNewSectionStarts() throws IOException
    {
        final PcapngBuilder builder = new PcapngBuilder();
        builder.section(ByteOrder.LITTLE_ENDIAN);
        builder.interfaceDescription(LinkType.LINKTYPE_ETHERNET, 0);
        builder.enhancedPacket(0, 1L, 1, new byte[] {1});
        builder.section(ByteOrder.LITTLE_ENDIAN);
        final int secondPacketOffset = builder.toByteArray().length;
        builder.enhancedPacket(0, 2L, 1, new byte[] {2});

        try (CaptureReader reader = CaptureReader.open(write("reset.pcapng", builder.toByteArray())))
        {
            assertEquals(1, reader.next().number());
            final CaptureFormatException ex = assertThrows(CaptureFormatException.class, reader::next);
            assertEquals(secondPacketOffset, ex.offset());
            assertEquals("offset " + secondPacketOffset +
                ": Enhanced Packet Block references interface 0 but this section defines 0 interface(s)",
                ex.getMessage());
            assertSame(ex, assertThrows(CaptureFormatException.class, reader::next), "failure is sticky");
        }
    }

    @Test
    void shouldRejectTimestampWhenItOverflowsNanoseconds() throws IOException
    {
        final PcapngBuilder builder = new PcapngBuilder();
        builder.section(ByteOrder.LITTLE_ENDIAN);
        builder.interfaceDescription(LinkType.LINKTYPE_ETHERNET, 0, builder.option(9, new byte[] {0}));
        final int packetOffset = builder.toByteArray().length;
        builder.enhancedPacket(0, 10_000_000_000L, 1, new byte[] {1});

        try (CaptureReader reader = CaptureReader.open(write("overflow.pcapng", builder.toByteArray())))
        {
            final CaptureFormatException ex = assertThrows(CaptureFormatException.class, reader::next);
            assertEquals(packetOffset, ex.offset());
            assertTrue(ex.problem().contains("does not fit in 64-bit nanoseconds"), ex.getMessage());
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Damaged input

    /**
     * One damaged file and what reading it must give: {@code recordsBefore} good records, then either
     * the end ({@code errorOffset} null) or a {@link CaptureFormatException} at {@code errorOffset}
     * whose problem matches {@code problem}. {@code original} (if any) is the undamaged file whose
     * first records must come back unchanged.
     */
    record Damage(String name, byte[] bytes, byte[] original, int recordsBefore, Long errorOffset, String problem)
    {
        @Override
        public String toString()
        {
            return name;
        }
    }

    static Stream<Damage> damagedFiles() throws IOException
    {
        final byte[] vxlan = Files.readAllBytes(InteropCaptures.resolve(VXLAN));
        final byte[] wg = Files.readAllBytes(InteropCaptures.resolve(WIREGUARD));
        final List<Integer> record = pcapRecordOffsets(vxlan);
        final List<Integer> block = pcapngBlockOffsets(wg);
        // wireguard file: block 0 SHB, 1 IDB, 2 DSB, 3.. the 22 EPBs
        final int epb0 = block.get(3);
        final int epb2 = block.get(5);
        final int epb5 = block.get(8);
        final int dsb = block.get(2);

        final PcapngBuilder badOption = new PcapngBuilder();
        badOption.section(ByteOrder.LITTLE_ENDIAN);
        final int badOptionIdb = badOption.toByteArray().length;
        badOption.block(CaptureReader.INTERFACE_DESCRIPTION_BLOCK, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN)
            .putShort((short)1).putShort((short)0).putInt(0).putShort((short)9).putShort((short)200).array());

        final PcapngBuilder shortEpb = new PcapngBuilder();
        shortEpb.section(ByteOrder.BIG_ENDIAN).interfaceDescription(LinkType.LINKTYPE_ETHERNET, 0);
        final int shortEpbOffset = shortEpb.toByteArray().length;
        shortEpb.block(CaptureReader.ENHANCED_PACKET_BLOCK, new byte[] {0, 0, 0, 0});

        return Stream.of(
            new Damage("empty file", new byte[0], null, 0, 0L, "truncated file header: file ends after 0 of 4"),
            new Damage("unknown magic", ascii("GIF89a and then some more bytes"), null, 0, 0L,
                "unknown magic 0x47494638"),
            new Damage("pcap header cut at 10 bytes", cut(vxlan, 10), vxlan, 0, 0L,
                "truncated pcap file header: file ends after 10 of 24 bytes"),
            new Damage("pcap header only", cut(vxlan, 24), vxlan, 0, null, null),
            new Damage("pcap cut at record boundary", cut(vxlan, record.get(3)), vxlan, 3, null, null),
            new Damage("pcap cut inside record header", cut(vxlan, record.get(3) + 7), vxlan, 3, (long)record.get(3),
                "truncated pcap record header: file ends after 7 of 16 bytes"),
            new Damage("pcap cut inside record data", cut(vxlan, record.get(3) + 16 + 20), vxlan, 3,
                (long)record.get(3), "runs past the end of the file \\(20 bytes left\\)|file ends after 20 of"),
            new Damage("pcap captured length absurd", withLe32(vxlan, record.get(1) + 8, 0x7fff_ffff), vxlan, 1,
                (long)record.get(1), "captured length 2147483647 exceeds the limit of 67108864 bytes"),
            new Damage("pcap captured length past end of file", withLe32(vxlan, record.get(1) + 8, 4_000), vxlan, 1,
                (long)record.get(1), "captured length 4000 runs past the end of the file|file ends after"),
            new Damage("pcap unsupported version", withLe32(vxlan, 4, 0x0004_0003), vxlan, 0, 0L,
                "unsupported pcap version 3.4"),
            new Damage("pcapng cut inside section header", cut(wg, 10), wg, 0, 0L,
                "truncated Section Header Block: file ends after 10 of 28 bytes"),
            new Damage("pcapng unknown byte-order magic", withLe32(wg, 8, 0x1a2b3c4e), wg, 0, 0L,
                "byte-order magic 0x4e3c2b1a at offset 8 is neither"),
            new Damage("pcapng section length not a multiple of 4", withLe32(wg, 4, 0x5d), wg, 0, 0L,
                "Section Header Block total length 93 is not a multiple of 4"),
            new Damage("pcapng unsupported version", withLe32(wg, 12, 2), wg, 0, 0L, "unsupported pcapng version 2.0"),
            new Damage("pcapng cut at block boundary", cut(wg, epb5), wg, 5, null, null),
            new Damage("pcapng cut inside block header", cut(wg, epb5 + 5), wg, 5, (long)epb5,
                "truncated pcapng block header: file ends after 5 of 8 bytes"),
            new Damage("pcapng cut inside block", cut(wg, epb5 + 100), wg, 5, (long)epb5,
                "Enhanced Packet Block total length \\d+ runs past the end of the file \\(100 bytes left\\)|" +
                "truncated Enhanced Packet Block: file ends after 100 of"),
            new Damage("pcapng trailing length disagrees", withLe32(wg, block.get(4) - 4, 228), wg, 0, (long)epb0,
                "Enhanced Packet Block trailing total length 228 at offset " + (block.get(4) - 4) +
                " disagrees with the leading total length 224"),
            new Damage("pcapng zero-length block", withLe32(wg, epb2 + 4, 0), wg, 2, (long)epb2,
                "Enhanced Packet Block total length 0 is less than the minimum of 12"),
            new Damage("pcapng block length not a multiple of 4", withLe32(wg, block.get(4) + 4, 166), wg, 1,
                (long)block.get(4), "Enhanced Packet Block total length 166 is not a multiple of 4"),
            new Damage("pcapng absurd block length", withLe32(wg, epb2 + 4, 0x7fff_fff0), wg, 2, (long)epb2,
                "total length 2147483632 exceeds the limit of 67108864 bytes"),
            new Damage("pcapng block length past end of file", withLe32(wg, epb2 + 4, 0x0010_0000), wg, 2, (long)epb2,
                "total length 1048576 runs past the end of the file|truncated Enhanced Packet Block"),
            new Damage("pcapng captured length beyond block", withLe32(wg, epb0 + 20, 0x1000), wg, 0, (long)epb0,
                "Enhanced Packet Block captured length 4096 exceeds the block's 192 bytes of packet data"),
            new Damage("pcapng undefined interface", withLe32(wg, epb0 + 8, 1), wg, 0, (long)epb0,
                "Enhanced Packet Block references interface 1 but this section defines 1 interface\\(s\\)"),
            new Damage("pcapng secrets length beyond block", withLe32(wg, dsb + 12, 0x1000), wg, 0, (long)dsb,
                "Decryption Secrets Block secrets length 4096 exceeds the block's 288 bytes"),
            new Damage("pcapng unknown block type is skipped", withLe32(wg, dsb, 0x0bad), wg, 22, null, null),
            new Damage("pcapng option runs past its block", badOption.toByteArray(), null, 0, (long)badOptionIdb,
                "Interface Description Block option 9 at offset " + (badOptionIdb + 16) +
                ": length 200 runs past the end of the block"),
            new Damage("pcapng packet block below its minimum", shortEpb.toByteArray(), null, 0, (long)shortEpbOffset,
                "Enhanced Packet Block total length 16 is less than the minimum of 32"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("damagedFiles")
    void shouldReadUpToDamageThenRaiseCaptureFormatExceptionWhenInputIsDamaged(final Damage damage) throws IOException
    {
        final Path file = write("damaged", damage.bytes());
        final List<CaptureRecord> expectedPrefix = damage.original() == null ?
            List.of() : readAll(new ByteArrayInputStream(damage.original())).subList(0, damage.recordsBefore());

        for (final boolean fromPath : new boolean[] {true, false})
        {
            final String how = fromPath ? "path" : "stream";
            final Outcome outcome = assertTimeoutPreemptively(READ_TIMEOUT, () -> fromPath ?
                readUntilDamage(() -> CaptureReader.open(file)) :
                readUntilDamage(() -> CaptureReader.open(new ByteArrayInputStream(damage.bytes()))), how);

            assertEquals(damage.recordsBefore(), outcome.records().size(), how + ": records before the damage");
            if (damage.original() != null)
            {
                assertEquals(expectedPrefix, outcome.records(), how);
            }
            if (damage.errorOffset() == null)
            {
                assertNull(outcome.error(), how + ": expected a clean end");
            }
            else
            {
                final CaptureFormatException error = outcome.error();
                assertNotNull(error, how + ": expected CaptureFormatException");
                assertEquals(damage.errorOffset().longValue(), error.offset(), how + ": " + error.getMessage());
                assertTrue(error.getMessage().startsWith("offset " + damage.errorOffset() + ": "), error.getMessage());
                assertTrue(Pattern.compile(damage.problem()).matcher(error.problem()).find(),
                    how + ": problem '" + error.problem() + "' does not match '" + damage.problem() + "'");
            }
        }
    }

    @Test
    void shouldOnlyEverRaiseCaptureFormatExceptionWhenBytesAreRandomlyDamaged() throws IOException
    {
        final List<byte[]> originals = List.of(
            Files.readAllBytes(InteropCaptures.resolve(VXLAN)),
            Files.readAllBytes(InteropCaptures.resolve(GENEVE_GCP)),
            Files.readAllBytes(InteropCaptures.resolve(WIREGUARD)));
        final int[] edgeValues = { 0, 1, 4, 8, 12, 13, 28, 32, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff, 0x0400_0000 };
        final Random random = new Random(0x5eed_cafeL);
        final Path file = tempDir.resolve("fuzz");
        final int[] outcomes = new int[2];

        assertTimeoutPreemptively(Duration.ofSeconds(60), () ->
        {
            for (int i = 0; i < 3_000; i++)
            {
                final byte[] original = originals.get(i % originals.size());
                byte[] damaged = original.clone();
                final int mutations = 1 + random.nextInt(3);
                for (int m = 0; m < mutations && damaged.length > 0; m++)
                {
                    final int at = random.nextInt(damaged.length);
                    switch (random.nextInt(4))
                    {
                        case 0 -> damaged[at] ^= (byte)(1 << random.nextInt(8));
                        case 1 -> damaged = withLe32(damaged, at & ~3, random.nextInt());
                        case 2 -> damaged = withLe32(damaged, at & ~3, edgeValues[random.nextInt(edgeValues.length)]);
                        default -> damaged = cut(damaged, at);
                    }
                }
                final byte[] input = damaged;
                final Outcome outcome;
                if ((i & 1) == 0)
                {
                    Files.write(file, input);
                    outcome = readUntilDamage(() -> CaptureReader.open(file));
                }
                else
                {
                    outcome = readUntilDamage(() -> CaptureReader.open(new ByteArrayInputStream(input)));
                }
                outcomes[outcome.error() == null ? 0 : 1]++;
            }
        });

        assertTrue(outcomes[0] > 0 && outcomes[1] > 0, "clean " + outcomes[0] + ", damaged " + outcomes[1]);
    }

    // ---------------------------------------------------------------------------------------------
    // Helpers

    record Outcome(List<CaptureRecord> records, CaptureFormatException error)
    {
    }

    @FunctionalInterface
    interface Opener
    {
        CaptureReader open() throws IOException;
    }

    /**
     * Reads until the end or a {@link CaptureFormatException}; any other exception escapes and fails the test.
     */
    private static Outcome readUntilDamage(final Opener opener) throws IOException
    {
        final List<CaptureRecord> records = new ArrayList<>();
        try (CaptureReader reader = opener.open())
        {
            CaptureRecord record;
            while ((record = reader.next()) != null)
            {
                records.add(record);
            }
            reader.secrets();
        }
        catch (final CaptureFormatException ex)
        {
            return new Outcome(records, ex);
        }

        return new Outcome(records, null);
    }

    private static List<CaptureRecord> readAll(final Path path) throws IOException
    {
        try (CaptureReader reader = CaptureReader.open(path))
        {
            return reader.readAll();
        }
    }

    private static List<CaptureRecord> readAll(final ByteArrayInputStream in) throws IOException
    {
        try (CaptureReader reader = CaptureReader.open(in))
        {
            return reader.readAll();
        }
    }

    private Path write(final String name, final byte[] bytes)
    {
        try
        {
            return Files.write(tempDir.resolve(name), bytes);
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
    }

    private static void assertTimestampsMatchTcpdump(final List<CaptureRecord> records, final String outFile)
        throws IOException
    {
        final List<Long> expected = InteropCaptures.tcpdumpTimestampsNs(InteropCaptures.resolve(outFile));
        assertEquals(records.size(), expected.size(), "frames in " + outFile);
        for (int i = 0; i < records.size(); i++)
        {
            assertEquals(expected.get(i).longValue(), records.get(i).timestampNs(), outFile + " frame " + (i + 1));
        }
    }

    private static void assertNumberedEthernet(final List<CaptureRecord> records)
    {
        for (int i = 0; i < records.size(); i++)
        {
            assertEquals(i + 1, records.get(i).number());
            assertEquals(LinkType.LINKTYPE_ETHERNET, records.get(i).linkType());
        }
    }

    /**
     * The Ethernet frame length implied by the outer IP length that tcpdump printed on frame 1's line.
     */
    private static int frameLengthFromTcpdump(final Path outFile) throws IOException
    {
        final String first = Files.readAllLines(outFile).get(0);
        final Matcher ipv6 = Pattern.compile(" IP6 \\(.*?payload length (\\d+)\\)").matcher(first);
        if (ipv6.find())
        {
            return 14 + 40 + Integer.parseInt(ipv6.group(1));
        }
        final Matcher ipv4 = Pattern.compile(" IP \\(.*?, length (\\d+)\\)").matcher(first);
        assertTrue(ipv4.find(), outFile + ": " + first);

        return 14 + Integer.parseInt(ipv4.group(1));
    }

    private static List<Integer> pcapRecordOffsets(final byte[] littleEndianPcap)
    {
        final List<Integer> offsets = new ArrayList<>();
        int at = 24;
        while (at + 16 <= littleEndianPcap.length)
        {
            offsets.add(at);
            at += 16 + le32(littleEndianPcap, at + 8);
        }

        return offsets;
    }

    private static List<Integer> pcapngBlockOffsets(final byte[] littleEndianPcapng)
    {
        final List<Integer> offsets = new ArrayList<>();
        int at = 0;
        while (at + 8 <= littleEndianPcapng.length)
        {
            offsets.add(at);
            at += le32(littleEndianPcapng, at + 4);
        }

        return offsets;
    }

    private static int le32(final byte[] bytes, final int at)
    {
        return ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getInt(at);
    }

    private static byte[] withLe32(final byte[] bytes, final int at, final int value)
    {
        final byte[] copy = bytes.clone();
        if (at + 4 <= copy.length)
        {
            ByteBuffer.wrap(copy).order(ByteOrder.LITTLE_ENDIAN).putInt(at, value);
        }

        return copy;
    }

    private static byte[] cut(final byte[] bytes, final int length)
    {
        return Arrays.copyOf(bytes, length);
    }

    private static byte[] ascii(final String text)
    {
        return text.getBytes(StandardCharsets.US_ASCII);
    }
}
