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

    @Test
    void shouldReplayAnEntryOfTheLargestAcceptedSizeAndRefuseALargerOne() throws IOException
    {
        // a snapshot of 100,000 routes is about 6 MB: far more than the quarter of a 1 MiB block that
        // the journal once allowed (Chronicle refused it with "writeRemaining")
        final byte[] largest = new byte[Journal.MAX_PAYLOAD_BYTES];
        for (int i = 0; i < largest.length; i++)
        {
            largest[i] = (byte)('a' + i % 26);
        }
        try (Journal journal = Journal.open(dir, new ArrayList<>()))
        {
            journal.startGeneration(0, text("{}"), false);
            journal.append(1, largest);
            assertThrows(IllegalArgumentException.class, () -> journal.append(2, new byte[Journal.MAX_PAYLOAD_BYTES + 1]));
            journal.append(2, text("{\"after\":2}"));
        }
        final List<Journal> holder = new ArrayList<>();
        final Journal.Replay replay = reopen(holder);
        holder.get(0).close();
        assertFalse(replay.corrupt(), replay.corruption());
        assertEquals(3, replay.entries().size());
        assertArrayEquals(largest, replay.entries().get(1).payload());
        assertArrayEquals(text("{\"after\":2}"), replay.entries().get(2).payload());
    }
}
