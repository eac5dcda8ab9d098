package io.vsnic.orchestrator.journal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

/**
 * Seeded damage anywhere in a journal's queue file (bytes changed in the data or in Chronicle's own
 * headers, zeroed ranges, truncation), then a reopen. Whatever the damage: the reopen ends within
 * seconds, either replaying a prefix of what was written (every replayed entry exactly as
 * written, a cut reported as corruption) or refusing with an {@link IOException} that says why, and
 * a journal that opened still takes a new generation and appends that a further reopen replays.
 */
class JournalFuzzTest
{
    private static final long SEED = 0x6A6F75726E61L; // "journa"
    private static final int ROUNDS = 40;
    private static final int CHANGES = 30;

    private final SplittableRandom random = new SplittableRandom(SEED);

    @Test
    void shouldReplayAnIntactPrefixOrRefuseClearlyWhateverTheDamage() throws Exception
    {
        int cut = 0;
        int whole = 0;
        int refused = 0;
        for (int round = 0; round < ROUNDS; round++)
        {
            final Path dir = Files.createTempDirectory("vsnic-journal-fuzz");
            try
            {
                final List<byte[]> written = write(dir);
                final Path file = queueFile(dir);
                final String damage = damage(file);
                final List<Journal.Replay> replays = new ArrayList<>();
                final Journal journal;
                try
                {
                    journal = assertTimeoutPreemptively(Duration.ofSeconds(20), () -> Journal.open(dir, replays),
                        () -> "reopen after " + damage + " hung");
                }
                catch (final Exception ex)
                {
                    // Journal.open declares IOException, which assertTimeoutPreemptively passes on unchecked
                    if (!(ex instanceof IOException))
                    {
                        throw new AssertionError(damage + ": reopen threw " + ex, ex);
                    }
                    refused++;
                    assertTrue(ex.getMessage() != null && ex.getMessage().length() > 10, damage + ": a reason, " + ex);
                    continue;
                }
                final Journal.Replay replay = replays.get(0);
                final List<JournalEntry> entries = replay.entries();
                assertTrue(entries.size() <= written.size(), damage + ": no more entries than written");
                for (int i = 0; i < entries.size(); i++)
                {
                    assertEquals(i == 0 ? JournalEntry.SNAPSHOT : JournalEntry.CHANGE, entries.get(i).type(), damage);
                    assertEquals(i, entries.get(i).revision(), damage);
                    assertArrayEquals(written.get(i), entries.get(i).payload(), damage + ": entry " + i + " as written");
                }
                if (entries.size() < written.size())
                {
                    assertTrue(replay.corrupt(), damage + ": a cut is reported (" + entries.size() + " of " + written.size() + ")");
                    cut++;
                }
                else
                {
                    whole++;
                }
                // the journal goes on: a new generation from what was replayed, then one more change
                final long last = entries.isEmpty() ? -1 : entries.get(entries.size() - 1).revision();
                try (journal)
                {
                    journal.startGeneration(last + 1, text("{\"snapshot\":" + (last + 1) + "}"), replay.corrupt());
                    journal.append(last + 2, text("{\"after\":true}"));
                }
                final List<Journal.Replay> again = new ArrayList<>();
                Journal.open(dir, again).close();
                assertEquals(2, again.get(0).entries().size(), damage + ": the new generation replays");
                assertTrue(again.get(0).corruption() == null, damage + ": " + again.get(0).corruption());
            }
            finally
            {
                delete(dir);
            }
        }
        assertTrue(cut > ROUNDS / 4, "cut " + cut + ", whole " + whole + ", refused " + refused);
    }

    private static byte[] text(final String value)
    {
        return value.getBytes(StandardCharsets.UTF_8);
    }

    private List<byte[]> write(final Path dir) throws IOException
    {
        final List<byte[]> written = new ArrayList<>();
        try (Journal journal = Journal.open(dir, new ArrayList<>()))
        {
            final byte[] snapshot = text("{\"snapshot\":0}");
            journal.startGeneration(0, snapshot, false);
            written.add(snapshot);
            for (int i = 1; i <= CHANGES; i++)
            {
                final byte[] change = text("{\"change\":" + i + ",\"pad\":\"" + "x".repeat(random.nextInt(400)) + "\"}");
                journal.append(i, change);
                written.add(change);
            }
        }
        return written;
    }

    /** Damages the file and says how. */
    private String damage(final Path file) throws IOException
    {
        final byte[] bytes = Files.readAllBytes(file);
        int end = bytes.length;
        while (end > 0 && bytes[end - 1] == 0)
        {
            end--;
        }
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw"))
        {
            switch (random.nextInt(4))
            {
                case 0 ->
                {
                    final int count = 1 + random.nextInt(8);
                    final StringBuilder where = new StringBuilder("bytes changed at");
                    for (int i = 0; i < count; i++)
                    {
                        final int at = random.nextInt(end);
                        raf.seek(at);
                        raf.write(random.nextInt(256));
                        where.append(' ').append(at);
                    }
                    return where + " of " + end;
                }
                case 1 ->
                {
                    final int at = random.nextInt(end);
                    final int length = 1 + random.nextInt(Math.min(512, end - at));
                    raf.seek(at);
                    raf.write(new byte[length]);
                    return "zeroed " + length + " bytes at " + at + " of " + end;
                }
                case 2 ->
                {
                    final int length = random.nextInt(end);
                    raf.setLength(length);
                    return "truncated to " + length + " of " + end;
                }
                default ->
                {
                    // in the data region only (past Chronicle's first 64 KiB of headers and index, when it reaches there)
                    final int at = end > 1024 ? end - 1 - random.nextInt(Math.min(end - 1, 8192)) : random.nextInt(end);
                    raf.seek(at);
                    raf.write(random.nextInt(256));
                    return "a byte changed near the end at " + at + " of " + end;
                }
            }
        }
    }

    private static Path queueFile(final Path dir) throws IOException
    {
        try (Stream<Path> files = Files.walk(dir))
        {
            return files.filter(p -> p.toString().endsWith(".cq4")).findFirst().orElseThrow();
        }
    }

    private static void delete(final Path dir) throws IOException
    {
        try (Stream<Path> files = Files.walk(dir))
        {
            for (final Path p : files.sorted(Comparator.reverseOrder()).toList())
            {
                Files.deleteIfExists(p);
            }
        }
    }
}
