package io.vsnic.orchestrator.journal;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.CRC32;

import net.openhft.chronicle.bytes.Bytes;
import net.openhft.chronicle.bytes.SyncMode;
import net.openhft.chronicle.queue.ExcerptAppender;
import net.openhft.chronicle.queue.ExcerptTailer;
import net.openhft.chronicle.queue.RollCycles;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueue;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueueBuilder;
import net.openhft.chronicle.wire.DocumentContext;

/**
 * The desired-state journal: a Chronicle Queue per generation under {@code DIR/gen-NNNNNN}, and
 * {@code DIR/CURRENT} naming the generation in use (replaced atomically).
 *
 * <p>Entry layout inside one Chronicle document, every field big-endian:
 * <pre>
 *   int magic 'VSNJ' | int type | long revision | long timeMs | int length | byte[length] JSON | int crc32
 * </pre>
 * The CRC covers everything before it. An entry whose JSON is larger than {@link #PART_BYTES} (what one
 * Chronicle document can hold) is written as several such records, its parts, in consecutive documents:
 * {@code type} then carries the entry's type in its low byte, {@link #MORE} on every part but the last
 * and the part's index in bits 16 to 30; every part has the entry's revision and its own CRC. An entry
 * is acknowledged only once its last part is durable, so parts without their last one at the end of a
 * queue (a kill during a large write) were never acknowledged and are dropped, and parts abandoned by a
 * failed write are superseded by the retry's first part. On {@link #open}, entries are read until the first one that
 * is incomplete, fails its checks (magic, length, CRC, revision order) or makes Chronicle throw.
 * Because a damaged Chronicle record header can also read as the end of the queue, without an
 * error, the queue files are then scanned for this format's records: intact ones that carry on the
 * revisions in order are replayed as well, and one after a gap shows which revisions are lost.
 * Anything cut off or recovered that way is reported as corruption. The caller then
 * starts a new generation with a snapshot of what was replayed ({@link #startGeneration}), so the
 * damaged queue is never appended to; a damaged generation is kept aside as
 * {@code gen-N.corrupt} for inspection.
 *
 * <p>Durability: the queue is opened with {@link SyncMode#SYNC} and every entry is followed by
 * {@code ExcerptAppender.sync()}, so {@link #append} returns only after the entry's document is
 * complete and msync'ed. Chronicle writes through a shared memory
 * mapping, so a completed entry survives the process being killed (SIGKILL) even without the
 * sync: the page cache belongs to the kernel. The msync is what makes it survive a power loss or
 * kernel crash as well.
 */
public final class Journal implements AutoCloseable
{
    private static final System.Logger LOG = System.getLogger(Journal.class.getName());
    /** Chronicle logs through SLF4J to java.util.logging; its INFO chatter (banners, file growth) is muted. */
    private static final java.util.logging.Logger CHRONICLE = java.util.logging.Logger.getLogger("net.openhft");

    static
    {
        CHRONICLE.setLevel(java.util.logging.Level.WARNING);
    }
    private static final int MAGIC = 0x56534E4A;
    private static final int HEADER_BYTES = 4 + 4 + 8 + 8 + 4;
    /**
     * Chronicle block size: the queue file is mapped in blocks of this size, and one document may take
     * at most a quarter of a block. Blocks are sparse: only what is written takes disk or memory.
     */
    private static final long BLOCK_BYTES = 64L << 20;
    /**
     * Largest part of an entry in one Chronicle document: a quarter of a block less the record's header and
     * trailer and Chronicle's own header. Larger entries are split into parts of this size.
     */
    static final int PART_BYTES = (int)(BLOCK_BYTES / 4) - 4096;
    /**
     * Largest entry accepted: 256 MiB of JSON, sixteen parts (a snapshot of a device with one network of
     * 1,000,000 routes takes about 60 MB).
     */
    public static final int MAX_PAYLOAD_BYTES = 256 << 20;
    /** Flag in a record's type: another part of the same entry follows. */
    private static final int MORE = 0x100;
    /** Shift of a part's index in a record's type. */
    private static final int PART_SHIFT = 16;
    /** Largest part index. */
    private static final int MAX_PART = 0x7FFF;

    private final Path directory;
    private int generation;
    private SingleChronicleQueue queue;
    private ExcerptAppender appender;
    private long entriesInGeneration;
    private long bytesInGeneration;
    private long snapshotBytes;
    private long lastRevision;

    /** What {@link #open} found. */
    public record Replay(List<JournalEntry> entries, int generation, String corruption, Path quarantined)
    {
        /**
         * @return true when a corrupt or torn tail was cut off.
         */
        public boolean corrupt()
        {
            return corruption != null;
        }
    }

    private Journal(final Path directory)
    {
        this.directory = directory;
    }

    /**
     * Opens the journal directory and reads every intact entry of the current generation. The journal
     * is not appendable until {@link #startGeneration} is called with a snapshot of the replayed state.
     *
     * @param directory the journal directory (created when missing).
     * @param out       receives the journal and the replay.
     */
    public static Journal open(final Path directory, final List<Replay> out) throws IOException
    {
        Files.createDirectories(directory);
        final Journal journal = new Journal(directory);
        final Path current = directory.resolve("CURRENT");
        if (Files.exists(current))
        {
            final String name = Files.readString(current, StandardCharsets.US_ASCII).trim();
            if (!name.matches("gen-\\d{6}"))
            {
                throw new IOException(current + " does not name a generation: '" + name + "'");
            }
            journal.generation = Integer.parseInt(name.substring(4));
            out.add(journal.replay(directory.resolve(name)));
        }
        else
        {
            out.add(new Replay(List.of(), 0, null, null));
        }
        return journal;
    }

    private Replay replay(final Path queueDirectory)
    {
        final List<JournalEntry> entries = new ArrayList<>();
        String corruption = null;
        if (!Files.isDirectory(queueDirectory))
        {
            return new Replay(entries, generation, "generation directory " + queueDirectory + " is missing", null);
        }
        long previous = -1;
        final Assembler assembler = new Assembler();
        try (SingleChronicleQueue reader = builder(queueDirectory).readOnly(true).build();
             ExcerptTailer tailer = reader.createTailer())
        {
            while (true)
            {
                try (DocumentContext document = tailer.readingDocument())
                {
                    if (!document.isPresent())
                    {
                        break;
                    }
                    if (!document.isData())
                    {
                        continue;
                    }
                    final Bytes<?> bytes = document.wire().bytes();
                    final Part part = decode(bytes);
                    if (part == null)
                    {
                        corruption = "entry " + (entries.size() + 1) + " fails its checksum or layout check";
                        break;
                    }
                    corruption = assembler.offer(part);
                    if (corruption != null)
                    {
                        corruption = "entry " + (entries.size() + 1) + ": " + corruption;
                        break;
                    }
                    final JournalEntry entry = assembler.take();
                    if (entry == null)
                    {
                        continue;
                    }
                    if (entries.isEmpty() ? entry.type() != JournalEntry.SNAPSHOT : entry.type() != JournalEntry.CHANGE ||
                        entry.revision() != previous + 1)
                    {
                        corruption = "entry " + (entries.size() + 1) + " is out of order (type " + entry.type() +
                            ", revision " + entry.revision() + " after " + previous + ")";
                        break;
                    }
                    previous = entry.revision();
                    entries.add(entry);
                }
            }
        }
        catch (final RuntimeException | InternalError ex)
        {
            // InternalError: a fault in an unsafe access to the mapped file (e.g. truncated under the mapping)
            corruption = "reading entry " + (entries.size() + 1) + " failed: " + ex;
        }
        // Chronicle may also stop early without an error (a damaged record header reads as the end of
        // the queue): look for this journal's own records in the files. Entries that carry on the
        // revisions in order are intact (magic, length and CRC) and are replayed; a later one after a
        // gap proves that acknowledged changes were lost, which must not pass silently.
        int recovered = 0;
        long lost = -1;
        if (!entries.isEmpty())
        {
            final Assembler scanned = new Assembler();
            for (final Part part : scanFiles(queueDirectory))
            {
                if (part.revision() <= previous)
                {
                    continue;
                }
                final String outOfOrder = scanned.offer(part);
                final JournalEntry entry = outOfOrder == null ? scanned.take() : null;
                if (outOfOrder != null)
                {
                    lost = part.revision();
                    break;
                }
                if (entry == null)
                {
                    continue;
                }
                if (entry.type() == JournalEntry.CHANGE && entry.revision() == previous + 1)
                {
                    entries.add(entry);
                    previous = entry.revision();
                    recovered++;
                    continue;
                }
                lost = entry.revision();
                break;
            }
        }
        if (recovered > 0 || lost >= 0)
        {
            final String found = (recovered > 0 ? recovered + " more intact entries found by scanning the queue files" : "") +
                (recovered > 0 && lost >= 0 ? "; " : "") +
                (lost >= 0 ? "revision " + lost + " is in the files but revisions " + (previous + 1) + " to " + (lost - 1) +
                    " are unreadable: they are lost" : "");
            corruption = (corruption == null ? "the queue ended early at entry " + (entries.size() - recovered + 1) :
                corruption) + "; " + found;
        }
        if (corruption != null)
        {
            corruption += "; replayed " + entries.size() + " intact entries up to revision " + previous;
        }
        else if (assembler.pending())
        {
            // the last entry's final part was never written: it was not acknowledged (a kill during a large write)
            LOG.log(Level.WARNING, "journal: dropped the unfinished entry at the end of " + queueDirectory + " (" +
                assembler.describe() + "): its write never completed, so it was never acknowledged");
        }
        return new Replay(entries, generation, corruption, corruption == null ? null : queueDirectory);
    }

    /**
     * Every record of this journal's format (magic, a sane length, a matching CRC) in the queue files
     * of a generation, in file order, read straight from the files without Chronicle; empty when they
     * cannot be read.
     */
    private static List<Part> scanFiles(final Path queueDirectory)
    {
        final List<Part> found = new ArrayList<>();
        final List<Path> files;
        try (Stream<Path> list = Files.list(queueDirectory))
        {
            files = list.filter(p -> p.getFileName().toString().endsWith(".cq4")).sorted().toList();
        }
        catch (final IOException ex)
        {
            LOG.log(Level.WARNING, "journal: cannot list " + queueDirectory + " to scan it: " + ex);
            return found;
        }
        for (final Path file : files)
        {
            try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ))
            {
                final long size = channel.size();
                if (size > Integer.MAX_VALUE)
                {
                    LOG.log(Level.WARNING, "journal: " + file + " is too large to scan (" + size + " bytes)");
                    continue;
                }
                final ByteBuffer map = channel.map(FileChannel.MapMode.READ_ONLY, 0, size).order(ByteOrder.BIG_ENDIAN);
                int at = 0;
                final int limit = (int)size - HEADER_BYTES - 4;
                while (at <= limit)
                {
                    if (at + 8 <= limit && map.getLong(at) == 0)
                    {
                        at += 8; // no record starts in eight zero bytes (the magic's first byte is not zero)
                        continue;
                    }
                    final Part part = decodeAt(map, at);
                    if (part == null)
                    {
                        at++;
                        continue;
                    }
                    found.add(part);
                    at += HEADER_BYTES + part.payload().length + 4;
                }
            }
            catch (final IOException | RuntimeException ex)
            {
                LOG.log(Level.WARNING, "journal: cannot scan " + file + ": " + ex);
            }
        }
        return found;
    }

    /**
     * The part whose record starts at {@code at} (big-endian), or null when its magic, type, length
     * or CRC does not hold.
     */
    private static Part decodeAt(final ByteBuffer map, final int at)
    {
        if (map.getInt(at) != MAGIC)
        {
            return null;
        }
        final int type = map.getInt(at + 4);
        final long revision = map.getLong(at + 8);
        final long timeMs = map.getLong(at + 16);
        final int length = map.getInt(at + 24);
        final int entryType = type & 0xFF;
        if (length < 0 || length > PART_BYTES || (long)at + HEADER_BYTES + length + 4 > map.limit() ||
            (entryType != JournalEntry.SNAPSHOT && entryType != JournalEntry.CHANGE) ||
            (type & ~(0xFF | MORE | MAX_PART << PART_SHIFT)) != 0)
        {
            return null;
        }
        final byte[] record = new byte[HEADER_BYTES + length];
        map.get(at, record);
        final CRC32 crc = new CRC32();
        crc.update(record);
        if ((int)crc.getValue() != map.getInt(at + HEADER_BYTES + length))
        {
            return null;
        }
        return new Part(entryType, (type & MORE) != 0, type >>> PART_SHIFT, revision, timeMs,
            Arrays.copyOfRange(record, HEADER_BYTES, record.length));
    }

    /** The part in one Chronicle document, or null when it fails the record checks of {@link #decodeAt}. */
    private static Part decode(final Bytes<?> bytes)
    {
        final long remaining = bytes.readRemaining();
        if (remaining < HEADER_BYTES + 4 || remaining > Integer.MAX_VALUE)
        {
            return null;
        }
        final byte[] document = new byte[(int)remaining];
        bytes.read(document);
        return decodeAt(ByteBuffer.wrap(document), 0);
    }

    private static SingleChronicleQueueBuilder builder(final Path queueDirectory)
    {
        return SingleChronicleQueueBuilder.single(queueDirectory.toFile())
            .rollCycle(RollCycles.FAST_DAILY)
            .blockSize(BLOCK_BYTES)
            .syncMode(SyncMode.SYNC)
            .timeoutMS(2_000);
    }

    /**
     * Starts a new generation whose first entry is a snapshot of the whole state, makes it current
     * (atomic replace of {@code CURRENT}, directory fsync'ed) and removes the previous generation
     * (kept as {@code gen-N.corrupt} when {@code quarantine} is set).
     *
     * @param revision the state's revision.
     * @param snapshot the state as JSON.
     * @param quarantine keep the previous generation aside instead of deleting it.
     */
    public synchronized void startGeneration(final long revision, final byte[] snapshot, final boolean quarantine)
        throws IOException
    {
        startGeneration(revision, EntryBytes.of(snapshot), quarantine);
    }

    /**
     * {@link #startGeneration(long, byte[], boolean)} with the snapshot as it was serialized, in parts.
     */
    public synchronized void startGeneration(final long revision, final EntryBytes snapshot, final boolean quarantine)
        throws IOException
    {
        final int previous = generation;
        final int next = generation + 1;
        final Path nextDirectory = directory.resolve(name(next));
        deleteRecursively(nextDirectory);
        final SingleChronicleQueue nextQueue = builder(nextDirectory).build();
        final ExcerptAppender nextAppender = nextQueue.createAppender();
        try
        {
            write(nextAppender, JournalEntry.SNAPSHOT, revision, snapshot, Integer.MAX_VALUE);
            final Path temporary = directory.resolve("CURRENT.tmp");
            Files.writeString(temporary, name(next) + "\n", StandardCharsets.US_ASCII);
            try (FileChannel channel = FileChannel.open(temporary, StandardOpenOption.WRITE))
            {
                channel.force(true);
            }
            try
            {
                Files.move(temporary, directory.resolve("CURRENT"), StandardCopyOption.ATOMIC_MOVE,
                    StandardCopyOption.REPLACE_EXISTING);
            }
            catch (final AtomicMoveNotSupportedException ex)
            {
                throw new IOException("the state directory's file system cannot rename atomically", ex);
            }
            syncDirectory(directory);
        }
        catch (final IOException | RuntimeException ex)
        {
            nextAppender.close();
            nextQueue.close();
            throw ex;
        }
        closeQueue();
        queue = nextQueue;
        appender = nextAppender;
        generation = next;
        entriesInGeneration = 1;
        bytesInGeneration = snapshot.length();
        snapshotBytes = snapshot.length();
        lastRevision = revision;
        if (previous > 0)
        {
            final Path old = directory.resolve(name(previous));
            if (quarantine && Files.exists(old))
            {
                final Path aside = directory.resolve(name(previous) + ".corrupt-" + Instant.now().toEpochMilli());
                Files.move(old, aside);
                LOG.log(Level.WARNING, "journal: damaged generation kept for inspection as " + aside);
            }
        }
        // every other plain generation is obsolete now, including one left behind by a crash between the
        // switch of CURRENT and the removal of its predecessor
        try (Stream<Path> entries = Files.list(directory))
        {
            for (final Path entry : entries.toList())
            {
                final String file = entry.getFileName().toString();
                if (file.matches("gen-\\d{6}") && !file.equals(name(next)))
                {
                    deleteRecursively(entry);
                }
            }
        }
    }

    /**
     * Appends a change entry and returns once it is durable.
     *
     * @throws IllegalStateException when no generation was started, or the revision is not the next one.
     */
    public synchronized void append(final long revision, final byte[] payload)
    {
        append(revision, EntryBytes.of(payload));
    }

    /**
     * {@link #append(long, byte[])} with the entry as it was serialized, in parts.
     */
    public synchronized void append(final long revision, final EntryBytes payload)
    {
        if (appender == null)
        {
            throw new IllegalStateException("journal has no open generation");
        }
        if (revision != lastRevision + 1)
        {
            throw new IllegalStateException("journal revision " + revision + " does not follow " + lastRevision);
        }
        // the appender is thread-confined by Chronicle's check; this object's lock serialises its users,
        // and the start snapshot is written by another thread than the API's control thread
        appender.singleThreadedCheckReset();
        write(appender, JournalEntry.CHANGE, revision, payload, Integer.MAX_VALUE);
        lastRevision = revision;
        entriesInGeneration++;
        bytesInGeneration += payload.length();
    }

    /**
     * Writes only the first {@code parts} parts of a change entry and does not acknowledge it, as a write
     * that fails half way (an I/O error between parts, or a kill) leaves it: for tests of the replay.
     */
    synchronized void appendUnfinished(final long revision, final byte[] payload, final int parts)
    {
        appender.singleThreadedCheckReset();
        write(appender, JournalEntry.CHANGE, revision, EntryBytes.of(payload), parts);
    }

    /**
     * @throws IllegalArgumentException when an entry of {@code length} bytes is larger than {@link #MAX_PAYLOAD_BYTES}.
     */
    static void checkSize(final long length)
    {
        if (length > MAX_PAYLOAD_BYTES)
        {
            throw new IllegalArgumentException("journal entry too large: " + length + " bytes (at most " +
                MAX_PAYLOAD_BYTES + ")");
        }
    }

    /**
     * Writes an entry as one record, or as parts of at most {@link #PART_BYTES} in consecutive documents
     * (only the first {@code upTo} of them: see {@link #appendUnfinished}).
     */
    private static void write(final ExcerptAppender appender, final int type, final long revision, final EntryBytes payload,
        final int upTo)
    {
        checkSize(payload.length());
        final long timeMs = System.currentTimeMillis();
        final int parts = payload.parts();
        for (int index = 0; index < Math.min(parts, upTo); index++)
        {
            final byte[] array = payload.part(index);
            final int offset = payload.partOffset(index);
            final int length = payload.partLength(index);
            final int recordType = type | (index + 1 < parts ? MORE : 0) | index << PART_SHIFT;
            final byte[] header = new byte[HEADER_BYTES];
            ByteBuffer.wrap(header).order(ByteOrder.BIG_ENDIAN)
                .putInt(MAGIC).putInt(recordType).putLong(revision).putLong(timeMs).putInt(length);
            final CRC32 crc = new CRC32();
            crc.update(header);
            crc.update(array, offset, length);
            final byte[] trailer = new byte[4];
            ByteBuffer.wrap(trailer).order(ByteOrder.BIG_ENDIAN).putInt((int)crc.getValue());
            try (DocumentContext document = appender.writingDocument())
            {
                final Bytes<?> bytes = document.wire().bytes();
                bytes.write(header);
                bytes.write(array, offset, length);
                bytes.write(trailer);
            }
        }
        // SyncMode.SYNC msyncs when a document completes; sync() makes it explicit for this entry's file
        appender.sync();
    }

    /** One record as stored: an entry, or one part of a larger one. */
    private record Part(int type, boolean more, int index, long revision, long timeMs, byte[] payload)
    {
    }

    /** Puts entries back together from their parts, in file order. */
    private static final class Assembler
    {
        private final List<byte[]> parts = new ArrayList<>();
        private Part first;
        private long bytes;
        private JournalEntry done;

        /**
         * Takes the next record.
         *
         * @return null, or why the record cannot follow the ones before it.
         */
        String offer(final Part part)
        {
            done = null;
            if (part.index() == 0)
            {
                if (first != null)
                {
                    // a write that failed after some of its parts: the retry starts the entry again
                    LOG.log(Level.WARNING, "journal: parts of an abandoned write dropped (" + describe() + ")");
                }
                parts.clear();
                first = part;
                bytes = 0;
            }
            else if (first == null || part.index() != parts.size() || part.revision() != first.revision() ||
                part.type() != first.type())
            {
                return "part " + part.index() + " of revision " + part.revision() + " does not follow " +
                    (first == null ? "a first part" : describe());
            }
            bytes += part.payload().length;
            if (bytes > MAX_PAYLOAD_BYTES)
            {
                return "revision " + part.revision() + " has more than " + MAX_PAYLOAD_BYTES + " bytes in its parts";
            }
            parts.add(part.payload());
            if (!part.more())
            {
                final byte[] payload;
                if (parts.size() == 1)
                {
                    payload = parts.get(0);
                }
                else
                {
                    payload = new byte[(int)bytes];
                    int at = 0;
                    for (final byte[] each : parts)
                    {
                        System.arraycopy(each, 0, payload, at, each.length);
                        at += each.length;
                    }
                }
                done = new JournalEntry(first.type(), first.revision(), first.timeMs(), payload);
                parts.clear();
                first = null;
                bytes = 0;
            }
            return null;
        }

        /** @return the entry the last record completed, or null. */
        JournalEntry take()
        {
            final JournalEntry entry = done;
            done = null;
            return entry;
        }

        /** @return true when parts wait for their last one. */
        boolean pending()
        {
            return first != null;
        }

        String describe()
        {
            return first == null ? "nothing pending" :
                parts.size() + " parts, " + bytes + " bytes, of revision " + first.revision();
        }
    }

    /**
     * @return entries in the current generation (the snapshot included).
     */
    public synchronized long entriesInGeneration()
    {
        return entriesInGeneration;
    }

    /**
     * @return JSON bytes in the current generation, its snapshot included.
     */
    public synchronized long bytesInGeneration()
    {
        return bytesInGeneration;
    }

    /**
     * @return JSON bytes of the current generation's snapshot.
     */
    public synchronized long snapshotBytes()
    {
        return snapshotBytes;
    }

    /**
     * @return the current generation number.
     */
    public synchronized int generation()
    {
        return generation;
    }

    public Path directory()
    {
        return directory;
    }

    private static String name(final int generation)
    {
        return String.format("gen-%06d", generation);
    }

    private static void syncDirectory(final Path directory)
    {
        try (FileChannel channel = FileChannel.open(directory, StandardOpenOption.READ))
        {
            channel.force(true);
        }
        catch (final IOException ex)
        {
            // some file systems cannot fsync a directory; the rename itself is still atomic
            LOG.log(Level.DEBUG, "cannot fsync directory " + directory + ": " + ex);
        }
    }

    private static void deleteRecursively(final Path path) throws IOException
    {
        if (!Files.exists(path))
        {
            return;
        }
        try (Stream<Path> walk = Files.walk(path))
        {
            for (final Path each : walk.sorted(Comparator.reverseOrder()).toList())
            {
                Files.delete(each);
            }
        }
        catch (final UncheckedIOException ex)
        {
            throw ex.getCause();
        }
    }

    private void closeQueue()
    {
        if (appender != null)
        {
            appender.close();
            appender = null;
        }
        if (queue != null)
        {
            queue.close();
            queue = null;
        }
    }

    @Override
    public synchronized void close()
    {
        closeQueue();
    }
}
