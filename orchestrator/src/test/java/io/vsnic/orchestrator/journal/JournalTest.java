package io.vsnic.orchestrator.journal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JournalTest
{
    @TempDir
    Path dir;

    private static byte[] text(final String value)
    {
        return value.getBytes(StandardCharsets.UTF_8);
    }

    private Journal.Replay reopen(final List<Journal> holder) throws IOException
    {
        final List<Journal.Replay> replay = new ArrayList<>();
        holder.add(Journal.open(dir, replay));
        return replay.get(0);
    }

    private void writeEntries(final int changes) throws IOException
    {
        final List<Journal.Replay> replay = new ArrayList<>();
        try (Journal journal = Journal.open(dir, replay))
        {
            assertTrue(replay.get(0).entries().isEmpty());
            journal.startGeneration(0, text("{\"snapshot\":0}"), false);
            for (int i = 1; i <= changes; i++)
            {
                journal.append(i, text("{\"change\":" + i + ",\"pad\":\"" + "x".repeat(100) + "\"}"));
            }
        }
    }

    @Test
    void shouldReplayEveryEntryAfterReopen() throws IOException
    {
        writeEntries(20);
        final List<Journal> holder = new ArrayList<>();
        final Journal.Replay replay = reopen(holder);
        try (Journal journal = holder.get(0))
        {
            assertFalse(replay.corrupt(), replay.corruption());
            assertEquals(21, replay.entries().size());
            assertEquals(JournalEntry.SNAPSHOT, replay.entries().get(0).type());
            assertEquals(20, replay.entries().get(20).revision());
            assertTrue(new String(replay.entries().get(5).payload(), StandardCharsets.UTF_8).startsWith("{\"change\":5,"));
            journal.startGeneration(20, text("{\"snapshot\":20}"), false);
            assertEquals(2, journal.generation());
            journal.append(21, text("{}"));
        }
        final Journal.Replay again = reopen(holder);
        holder.get(1).close();
        assertEquals(2, again.entries().size());
        assertArrayEquals(text("{\"snapshot\":20}"), again.entries().get(0).payload());
        try (Stream<Path> files = Files.list(dir))
        {
            assertEquals(List.of("CURRENT", "gen-000002"), files.map(p -> p.getFileName().toString()).sorted().toList(),
                "the previous generation is removed once the new one is current");
        }
    }

    @Test
    void shouldRefuseAnOutOfOrderRevision() throws IOException
    {
        try (Journal journal = Journal.open(dir, new ArrayList<>()))
        {
            journal.startGeneration(0, text("{}"), false);
            assertThrows(IllegalStateException.class, () -> journal.append(2, text("{}")));
        }
    }

    private Path queueFile() throws IOException
    {
        try (Stream<Path> files = Files.walk(dir))
        {
            return files.filter(p -> p.toString().endsWith(".cq4")).findFirst().orElseThrow();
        }
    }

    /** Offset just past the last non-zero byte of the (sparse, preallocated) queue file. */
    private static long dataEnd(final Path file) throws IOException
    {
        final byte[] bytes = Files.readAllBytes(file);
        int end = bytes.length;
        while (end > 0 && bytes[end - 1] == 0)
        {
            end--;
        }
        return end;
    }

    @Test
    void shouldDetectGarbledTailAndKeepEveryIntactEntry() throws IOException
    {
        writeEntries(10);
        final Path file = queueFile();
        final long end = dataEnd(file);
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw"))
        {
            // the last entry's payload ends ~8 bytes before the end of the data (CRC + padding): flip bytes in it
            raf.seek(end - 40);
            raf.write(text("GARBAGE!GARBAGE!"));
        }
        final List<Journal> holder = new ArrayList<>();
        final Journal.Replay replay = reopen(holder);
        try (Journal journal = holder.get(0))
        {
            assertTrue(replay.corrupt(), "garbled tail detected");
            assertEquals(10, replay.entries().size(), replay.corruption());
            assertEquals(9, replay.entries().get(9).revision());
            journal.startGeneration(9, text("{\"snapshot\":9}"), true);
            journal.append(10, text("{\"change\":10}"));
        }
        final Journal.Replay again = reopen(holder);
        holder.get(1).close();
        assertNull(again.corruption());
        assertEquals(2, again.entries().size());
        try (Stream<Path> files = Files.list(dir))
        {
            assertTrue(files.anyMatch(p -> p.getFileName().toString().startsWith("gen-000001.corrupt-")));
        }
    }

    /**
     * Chronicle's own header of a record in the middle zeroed: Chronicle then reads the queue as ending
     * there, without an error. The records after it are intact (magic, CRC) and found by scanning the
     * file: every entry is replayed, and the damage is reported so that the generation is rewritten.
     */
    @Test
    void shouldRecoverTheEntriesAfterADamagedRecordHeaderAndReportIt() throws IOException
    {
        writeEntries(10);
        final Path file = queueFile();
        final byte[] bytes = Files.readAllBytes(file);
        final List<Integer> records = new ArrayList<>();
        for (int i = 0; i + 4 <= bytes.length; i++)
        {
            if (bytes[i] == 'V' && bytes[i + 1] == 'S' && bytes[i + 2] == 'N' && bytes[i + 3] == 'J')
            {
                records.add(i);
            }
        }
        assertEquals(11, records.size(), "one record per entry");
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw"))
        {
            raf.seek(records.get(5) - 4); // the 4-byte document header before entry 5
            raf.write(new byte[4]);
        }
        final List<Journal> holder = new ArrayList<>();
        final Journal.Replay replay = reopen(holder);
        holder.get(0).close();
        assertTrue(replay.corrupt(), "the damage is reported");
        assertTrue(replay.corruption().contains("found by scanning"), replay.corruption());
        assertEquals(11, replay.entries().size(), replay.corruption());
        for (int i = 0; i < 11; i++)
        {
            assertEquals(i, replay.entries().get(i).revision());
        }
    }

    @Test
    void shouldDetectTruncatedTailAndKeepEveryIntactEntry() throws IOException
    {
        writeEntries(10);
        final Path file = queueFile();
        final long end = dataEnd(file);
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw"))
        {
            raf.setLength(end - 60);
        }
        final List<Journal> holder = new ArrayList<>();
        final Journal.Replay replay = reopen(holder);
        holder.get(0).close();
        assertTrue(replay.corrupt(), "truncated tail detected");
        assertEquals(10, replay.entries().size(), replay.corruption());
    }

    @Test
    void shouldRemoveGenerationsLeftBehindByACrashDuringASwitch() throws IOException
    {
        writeEntries(3);
        Files.createDirectories(dir.resolve("gen-000000"));
        Files.writeString(dir.resolve("gen-000000/stale.cq4"), "left behind");
        final List<Journal> holder = new ArrayList<>();
        final Journal.Replay replay = reopen(holder);
        try (Journal journal = holder.get(0))
        {
            assertEquals(4, replay.entries().size());
            journal.startGeneration(3, text("{}"), false);
        }
        try (Stream<Path> files = Files.list(dir))
        {
            assertEquals(List.of("CURRENT", "gen-000002"), files.map(p -> p.getFileName().toString()).sorted().toList());
        }
    }

    private static byte[] letters(final int length, final int seed)
    {
        final byte[] bytes = new byte[length];
        for (int i = 0; i < length; i++)
        {
            bytes[i] = (byte)('a' + (i + seed) % 26);
        }
        return bytes;
    }

    @Test
    void shouldReplayAnEntryLargerThanOneDocumentAndRefuseOneAboveTheLimit() throws IOException
    {
        // a snapshot of 1,000,000 routes is about 60 MB, more than one Chronicle document (a quarter of a
        // block) can take: such entries go into consecutive documents as parts
        final byte[] largest = letters(Journal.PART_BYTES, 0);
        final byte[] parts = letters(2 * Journal.PART_BYTES + 12_345, 7);
        try (Journal journal = Journal.open(dir, new ArrayList<>()))
        {
            journal.startGeneration(0, parts, false);
            journal.append(1, largest);
            journal.append(2, parts);
            journal.append(3, text("{\"after\":3}"));
        }
        assertThrows(IllegalArgumentException.class, () -> Journal.checkSize(Journal.MAX_PAYLOAD_BYTES + 1L));
        Journal.checkSize(Journal.MAX_PAYLOAD_BYTES);
        final List<Journal> holder = new ArrayList<>();
        final Journal.Replay replay = reopen(holder);
        holder.get(0).close();
        assertFalse(replay.corrupt(), replay.corruption());
        assertEquals(4, replay.entries().size());
        assertArrayEquals(parts, replay.entries().get(0).payload());
        assertEquals(JournalEntry.SNAPSHOT, replay.entries().get(0).type());
        assertArrayEquals(largest, replay.entries().get(1).payload());
        assertArrayEquals(parts, replay.entries().get(2).payload());
        assertEquals(2, replay.entries().get(2).revision());
        assertArrayEquals(text("{\"after\":3}"), replay.entries().get(3).payload());
    }

    /**
     * Entries serialized into {@link EntryBytes} (as the daemon writes them: no array of the whole entry) replay
     * as the same bytes, at the sizes around a part's end, whether written in pieces or byte by byte; one
     * that grows past the limit fails while it is written.
     */
    @Test
    void shouldReplayEntriesWrittenInPartsAsTheyWereSerialized() throws IOException
    {
        final int[] sizes = {0, 1, Journal.PART_BYTES - 1, Journal.PART_BYTES, Journal.PART_BYTES + 1, 2 * Journal.PART_BYTES + 5};
        long total = 0;
        try (Journal journal = Journal.open(dir, new ArrayList<>()))
        {
            final EntryBytes snapshot = new EntryBytes();
            for (final byte b : text("{\"snapshot\":true}"))
            {
                snapshot.write(b);
            }
            journal.startGeneration(0, snapshot, false);
            total += snapshot.length();
            for (int i = 0; i < sizes.length; i++)
            {
                final byte[] payload = letters(sizes[i], i);
                final EntryBytes entry = new EntryBytes();
                // pieces of odd sizes, so that some cross a part's end
                for (int offset = 0; offset < payload.length; offset += 1_000_003)
                {
                    entry.write(payload, offset, Math.min(1_000_003, payload.length - offset));
                }
                assertEquals(sizes[i], entry.length());
                journal.append(i + 1, entry);
                total += payload.length;
            }
            assertEquals(total, journal.bytesInGeneration());
        }
        final List<Journal> holder = new ArrayList<>();
        final Journal.Replay replay = reopen(holder);
        holder.get(0).close();
        assertFalse(replay.corrupt(), replay.corruption());
        assertEquals(sizes.length + 1, replay.entries().size());
        assertArrayEquals(text("{\"snapshot\":true}"), replay.entries().get(0).payload());
        for (int i = 0; i < sizes.length; i++)
        {
            assertArrayEquals(letters(sizes[i], i), replay.entries().get(i + 1).payload(), "entry of " + sizes[i] + " bytes");
        }
        // the limit as the daemon's entries have it (MAX_PAYLOAD_BYTES), here at two parts and ten bytes
        final EntryBytes tooLarge = new EntryBytes(2L * Journal.PART_BYTES + 10);
        final byte[] chunk = letters(Journal.PART_BYTES, 1);
        tooLarge.write(chunk);
        tooLarge.write(chunk);
        tooLarge.write(chunk, 0, 10);
        final IOException refused = assertThrows(IOException.class, () -> tooLarge.write(0));
        assertTrue(refused.getMessage().contains("too large"), refused.getMessage());
        assertEquals(2L * Journal.PART_BYTES + 10, tooLarge.length());
        assertThrows(IOException.class, () -> EntryBytes.of(chunk).write(1), "an entry given whole takes no more");
    }

    /**
     * A write that stopped between parts (an I/O error, then the retry; or a kill) was never acknowledged:
     * its parts are superseded by the retry's, or dropped at the end of the queue, and neither is corruption.
     */
    @Test
    void shouldDropThePartsOfAnUnfinishedWrite() throws IOException
    {
        final byte[] big = letters(Journal.PART_BYTES + 1_000, 3);
        final byte[] retry = letters(Journal.PART_BYTES + 2_000, 5);
        try (Journal journal = Journal.open(dir, new ArrayList<>()))
        {
            journal.startGeneration(0, text("{}"), false);
            journal.appendUnfinished(1, big, 1);
            journal.append(1, retry);
            journal.append(2, text("{\"change\":2}"));
            journal.appendUnfinished(3, big, 1);
        }
        final List<Journal> holder = new ArrayList<>();
        final Journal.Replay replay = reopen(holder);
        try (Journal journal = holder.get(0))
        {
            assertFalse(replay.corrupt(), replay.corruption());
            assertEquals(3, replay.entries().size());
            assertArrayEquals(retry, replay.entries().get(1).payload());
            assertArrayEquals(text("{\"change\":2}"), replay.entries().get(2).payload());
            journal.startGeneration(2, text("{\"snapshot\":2}"), false);
            journal.append(3, text("{\"change\":3}"));
        }
        final Journal.Replay again = reopen(holder);
        holder.get(1).close();
        assertNull(again.corruption());
        assertEquals(List.of(2L, 3L), again.entries().stream().map(JournalEntry::revision).toList());
    }

    /** A part missing from the middle of an entry (its document lost) is corruption, not a short entry. */
    @Test
    void shouldReportAMissingPartAsCorruption() throws IOException
    {
        final byte[] big = letters(2 * Journal.PART_BYTES + 10, 1);
        try (Journal journal = Journal.open(dir, new ArrayList<>()))
        {
            journal.startGeneration(0, text("{}"), false);
            journal.append(1, text("{\"change\":1}"));
            journal.append(2, big);
        }
        final Path file = queueFile();
        final byte[] bytes = Files.readAllBytes(file);
        final List<Integer> records = new ArrayList<>();
        for (int i = 0; i + 8 <= bytes.length; i++)
        {
            // a record's magic, then its type: 2 (change) | MORE | part index << 16
            if (bytes[i] == 'V' && bytes[i + 1] == 'S' && bytes[i + 2] == 'N' && bytes[i + 3] == 'J' && bytes[i + 5] == 1 &&
                bytes[i + 6] == 1 && bytes[i + 7] == 2)
            {
                records.add(i);
            }
        }
        assertEquals(1, records.size(), "the middle part of revision 2");
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw"))
        {
            raf.seek(records.get(0));
            raf.write(text("XXXX")); // its magic, so neither Chronicle's read nor the scan takes it
        }
        final List<Journal> holder = new ArrayList<>();
        final Journal.Replay replay = reopen(holder);
        holder.get(0).close();
        assertTrue(replay.corrupt(), "the gap is reported");
        assertEquals(2, replay.entries().size(), replay.corruption());
        assertEquals(1, replay.entries().get(1).revision());
    }
}
