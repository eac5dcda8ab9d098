package io.vsnic.orchestrator.flows;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.ParseException;
import java.text.SimpleDateFormat;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.TimeZone;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntFunction;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vsnic.dataplane.flow.FlowLog;
import io.vsnic.dataplane.flow.FlowRecord;
import io.vsnic.orchestrator.model.Json;
import net.openhft.chronicle.bytes.Bytes;
import net.openhft.chronicle.queue.ExcerptAppender;
import net.openhft.chronicle.queue.ExcerptTailer;
import net.openhft.chronicle.queue.RollCycle;
import net.openhft.chronicle.queue.RollCycles;
import net.openhft.chronicle.queue.TailerDirection;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueue;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueueBuilder;
import net.openhft.chronicle.queue.rollcycles.LegacyRollCycles;
import net.openhft.chronicle.queue.rollcycles.TestRollCycles;
import net.openhft.chronicle.wire.DocumentContext;

/**
 * The flow log on disk: a Chronicle Queue under {@code STATE_DIR/flows}, one document per record
 * ({@code int length | JSON}), written by the {@code vsnic-flows} thread, which runs the data
 * plane's collector ({@link FlowLog#collect}) every {@value #POLL_MS} ms and deletes the queue's
 * roll-cycle files older than the retention. Records are not fsync'ed: they survive the process
 * (the page cache holds them) but not a power loss.
 *
 * <p>Queries ({@link #query}) run on the caller's thread with their own tailer. A cursor is the
 * Chronicle index of the last record a query looked at; indices grow across cycles, so a cursor
 * whose record was deleted by retention continues at the oldest record kept.
 */
public final class FlowLogStore implements AutoCloseable
{
    private static final System.Logger LOG = System.getLogger(FlowLogStore.class.getName());
    /** Collector period while records arrive. */
    public static final int POLL_MS = 20;
    /**
     * Collector period after {@link #IDLE_COLLECTS} collections in a row found nothing (at most the
     * scan interval): a worker that writes half a ring of records wakes the collector at once.
     */
    public static final int IDLE_POLL_MS = 250;
    /** Empty collections in a row (a second at {@link #POLL_MS}) after which the collector sleeps longer. */
    static final int IDLE_COLLECTS = 50;
    /** Largest page of records one query returns. */
    public static final int MAX_LIMIT = 10_000;

    private final FlowLog flowLog;
    private final Path directory;
    private final SingleChronicleQueue queue;
    private final RollCycle rollCycle;
    private final long retainCycles;
    private final IntFunction<String> vnicOfPort;
    private final IntFunction<String> networkOfVni;
    private final Thread thread;
    private final Object appended = new Object();
    private volatile boolean running = true;
    private volatile long written;
    private volatile long cyclesDeleted;
    private volatile long writeErrors;
    private long lastRetentionMs;

    /** One page of a query. */
    public record Page(List<JsonNode> flows, String next)
    {
    }

    /**
     * Opens (or creates) the queue and starts the {@code vsnic-flows} thread.
     *
     * @param flowLog      the data plane's flow log.
     * @param directory    the queue directory.
     * @param roll         secondly | minutely | hourly | daily.
     * @param retentionMs  how long records are kept.
     * @param vnicOfPort   names the vNIC of a data plane port (null when none).
     * @param networkOfVni names the network of a VNI (null when none).
     */
    public FlowLogStore(final FlowLog flowLog, final Path directory, final String roll, final long retentionMs,
        final IntFunction<String> vnicOfPort, final IntFunction<String> networkOfVni) throws IOException
    {
        this.flowLog = flowLog;
        this.directory = directory;
        Files.createDirectories(directory);
        this.rollCycle = switch (roll)
        {
            case "secondly" -> TestRollCycles.TEST_SECONDLY;
            case "minutely" -> LegacyRollCycles.MINUTELY;
            case "daily" -> RollCycles.FAST_DAILY;
            default -> RollCycles.FAST_HOURLY;
        };
        this.retainCycles = Math.max(1, (retentionMs + rollCycle.lengthInMillis() - 1) / rollCycle.lengthInMillis());
        this.vnicOfPort = vnicOfPort;
        this.networkOfVni = networkOfVni;
        this.queue = SingleChronicleQueueBuilder.single(directory.toFile()).rollCycle(rollCycle).blockSize(1L << 20)
            .timeoutMS(2_000).build();
        this.thread = new Thread(this::run, "vsnic-flows");
        thread.setDaemon(true);
        thread.start();
    }

    private void run()
    {
        final ExcerptAppender appender = queue.createAppender();
        final long idleNs = Math.min(IDLE_POLL_MS * 1_000_000L, flowLog.settings().scanIntervalNs());
        int emptyCollects = 0;
        try
        {
            while (running)
            {
                final int count;
                try
                {
                    count = flowLog.collect(System.nanoTime(), System.currentTimeMillis(), record -> append(appender, record));
                    retention();
                }
                catch (final RuntimeException ex)
                {
                    writeErrors++;
                    LOG.log(Level.WARNING, "flow log: " + ex, ex);
                    // back off a second; close() unparks this wait as it does the one below
                    LockSupport.parkNanos(1_000_000_000L);
                    continue;
                }
                if (count > 0)
                {
                    emptyCollects = 0;
                    synchronized (appended)
                    {
                        appended.notifyAll();
                    }
                }
                else if (emptyCollects < IDLE_COLLECTS)
                {
                    emptyCollects++;
                }
                // unparked early by a worker that filled half its ring, and by close()
                LockSupport.parkNanos(emptyCollects < IDLE_COLLECTS ? POLL_MS * 1_000_000L : idleNs);
            }
            flowLog.collect(System.nanoTime(), System.currentTimeMillis(), record -> append(appender, record));
        }
        finally
        {
            appender.close();
        }
    }

    private void append(final ExcerptAppender appender, final FlowRecord record)
    {
        final byte[] json;
        try
        {
            json = Json.mapper().writeValueAsBytes(toJson(record));
        }
        catch (final com.fasterxml.jackson.core.JsonProcessingException ex)
        {
            throw new IllegalStateException("cannot render a flow record", ex);
        }
        try (DocumentContext document = appender.writingDocument())
        {
            final Bytes<?> bytes = document.wire().bytes();
            bytes.writeInt(json.length);
            bytes.write(json);
        }
        written++;
    }

    private ObjectNode toJson(final FlowRecord r)
    {
        final ObjectNode node = Json.mapper().createObjectNode();
        node.put("event", r.event());
        node.put("action", r.action());
        node.put("start", Instant.ofEpochMilli(r.startMs()).toString());
        node.put("end", Instant.ofEpochMilli(r.endMs()).toString());
        final String network = networkOfVni.apply(r.network());
        if (network == null)
        {
            node.putNull("network");
        }
        else
        {
            node.put("network", network);
        }
        node.put("vni", r.network());
        final String vnic = r.port() < 0 ? null : vnicOfPort.apply(r.port());
        if (vnic == null)
        {
            node.putNull("vnic");
        }
        else
        {
            node.put("vnic", vnic);
        }
        node.put("ipVersion", r.ipVersion());
        node.put("protocol", r.protocolName());
        node.put("source", r.source());
        node.put("sourcePort", r.sourcePort());
        node.put("destination", r.destination());
        node.put("destinationPort", r.destinationPort());
        node.put("packets", r.packets());
        node.put("bytes", r.bytes());
        node.put("forwardPackets", r.forwardPackets());
        node.put("forwardBytes", r.forwardBytes());
        node.put("replyPackets", r.replyPackets());
        node.put("replyBytes", r.replyBytes());
        return node;
    }

    /** Deletes the cycle files older than the retention, at most once a second. */
    private void retention()
    {
        final long nowMs = System.currentTimeMillis();
        if (nowMs - lastRetentionMs < 1000)
        {
            return;
        }
        lastRetentionMs = nowMs;
        final long oldestKept = nowMs / rollCycle.lengthInMillis() - retainCycles + 1;
        final SimpleDateFormat format = new SimpleDateFormat(rollCycle.format());
        format.setTimeZone(TimeZone.getTimeZone("UTC"));
        final List<Path> old = new ArrayList<>();
        try (Stream<Path> files = Files.list(directory))
        {
            files.filter(f -> f.getFileName().toString().endsWith(SingleChronicleQueue.SUFFIX)).forEach(f -> {
                final String name = f.getFileName().toString();
                try
                {
                    final long cycle = format.parse(name.substring(0, name.length() - SingleChronicleQueue.SUFFIX.length()))
                        .getTime() / rollCycle.lengthInMillis();
                    if (cycle < oldestKept)
                    {
                        old.add(f);
                    }
                }
                catch (final ParseException ex)
                {
                    // not a cycle file of this roll cycle: left alone
                }
            });
        }
        catch (final IOException ex)
        {
            LOG.log(Level.WARNING, "flow log retention: cannot list " + directory + ": " + ex);
            return;
        }
        for (final Path file : old)
        {
            try
            {
                Files.deleteIfExists(file);
                cyclesDeleted++;
            }
            catch (final IOException ex)
            {
                LOG.log(Level.WARNING, "flow log retention: cannot delete " + file + ": " + ex);
            }
        }
        if (!old.isEmpty())
        {
            queue.refreshDirectoryListing();
        }
    }

    /**
     * Reads a page of records.
     *
     * <ul>
     *   <li>{@code cursor} given: the records after it, oldest first;</li>
     *   <li>else {@code sinceMs} given: the records that ended at or after it, oldest first;</li>
     *   <li>else: the newest {@code limit} records, oldest first.</li>
     * </ul>
     * With {@code waitMs > 0}, a query after a cursor or a time that finds nothing waits up to that
     * long for new records (long poll).
     *
     * @param cursor  a {@link Page#next()} of an earlier query, or null.
     * @param sinceMs epoch ms, or null.
     * @param limit   most records (1..{@value #MAX_LIMIT}).
     * @param vnic    only records of this vNIC, or null.
     * @param waitMs  how long to wait for records (0: answer at once).
     * @return the page; {@code next} continues after the last record looked at.
     */
    public Page query(final String cursor, final Long sinceMs, final int limit, final String vnic, final long waitMs)
        throws InterruptedException
    {
        if (cursor == null && sinceMs == null)
        {
            return newest(limit, vnic);
        }
        final long deadline = System.nanoTime() + waitMs * 1_000_000L;
        long after = cursor == null ? -1 : Long.parseLong(cursor);
        while (true)
        {
            final long seen;
            synchronized (appended)
            {
                seen = written;
            }
            final List<JsonNode> flows = new ArrayList<>();
            final long last = forward(after, sinceMs, limit, vnic, flows);
            if (!flows.isEmpty() || waitMs <= 0 || System.nanoTime() - deadline >= 0 || !running)
            {
                return new Page(flows, Long.toString(last));
            }
            after = last;
            synchronized (appended)
            {
                if (written == seen)
                {
                    appended.wait(Math.max(1, Math.min(POLL_MS * 10, (deadline - System.nanoTime()) / 1_000_000L)));
                }
            }
        }
    }

    /**
     * @return the index of the last record looked at ({@code after} when none).
     */
    private long forward(final long after, final Long sinceMs, final int limit, final String vnic, final List<JsonNode> out)
    {
        long last = after;
        try (ExcerptTailer tailer = queue.createTailer())
        {
            if (after < 0 || !tailer.moveToIndex(after))
            {
                tailer.toStart();
            }
            while (out.size() < limit)
            {
                try (DocumentContext document = tailer.readingDocument())
                {
                    if (!document.isPresent())
                    {
                        break;
                    }
                    final long index = document.index();
                    if (index <= after)
                    {
                        continue;
                    }
                    last = index;
                    final JsonNode record = read(document.wire().bytes());
                    if (record != null && matches(record, sinceMs, vnic))
                    {
                        out.add(record);
                    }
                }
            }
        }
        return last;
    }

    private Page newest(final int limit, final String vnic)
    {
        final List<JsonNode> flows = new ArrayList<>();
        long last = -1;
        try (ExcerptTailer tailer = queue.createTailer())
        {
            tailer.direction(TailerDirection.BACKWARD).toEnd();
            while (flows.size() < limit)
            {
                try (DocumentContext document = tailer.readingDocument())
                {
                    if (!document.isPresent())
                    {
                        break;
                    }
                    if (last < 0)
                    {
                        last = document.index();
                    }
                    final JsonNode record = read(document.wire().bytes());
                    if (record != null && matches(record, null, vnic))
                    {
                        flows.add(record);
                    }
                }
            }
        }
        Collections.reverse(flows);
        return new Page(flows, Long.toString(last));
    }

    private static JsonNode read(final Bytes<?> bytes)
    {
        if (bytes.readRemaining() < 4)
        {
            return null;
        }
        final int length = bytes.readInt();
        if (length < 2 || length > bytes.readRemaining())
        {
            return null;
        }
        final byte[] json = new byte[length];
        bytes.read(json);
        try
        {
            return Json.mapper().readTree(json);
        }
        catch (final IOException ex)
        {
            return null;
        }
    }

    private static boolean matches(final JsonNode record, final Long sinceMs, final String vnic)
    {
        if (vnic != null && !vnic.equals(record.path("vnic").asText(null)))
        {
            return false;
        }
        return sinceMs == null || Instant.parse(record.path("end").asText("1970-01-01T00:00:00Z")).toEpochMilli() >= sinceMs;
    }

    /**
     * @return records written to the queue since the daemon started.
     */
    public long written()
    {
        return written;
    }

    /**
     * @return roll-cycle files deleted by the retention.
     */
    public long cyclesDeleted()
    {
        return cyclesDeleted;
    }

    /**
     * @return collector or append failures (each logged).
     */
    public long writeErrors()
    {
        return writeErrors;
    }

    /**
     * @return the data plane's flow log.
     */
    public FlowLog flowLog()
    {
        return flowLog;
    }

    /**
     * @return the queue directory.
     */
    public Path directory()
    {
        return directory;
    }

    /**
     * Stops the thread (after a last collection) and closes the queue.
     */
    @Override
    public void close()
    {
        running = false;
        LockSupport.unpark(thread);
        synchronized (appended)
        {
            appended.notifyAll();
        }
        try
        {
            thread.join(5000);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
        queue.close();
    }
}
