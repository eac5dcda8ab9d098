package io.vsnic.dataplane.flow;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;

import io.vsnic.dataplane.buffer.SpscSlotRing;
import io.vsnic.dataplane.security.ConnectionTable;
import io.vsnic.dataplane.security.FlowEntry;
import io.vsnic.dataplane.security.FlowStripe;
import io.vsnic.dataplane.table.Prefixes;

/**
 * The data plane's flow log: per worker a {@link FlowProducer} (counters striped per worker in the
 * connection table's slots, a bounded record ring, reject aggregation), and the collector that one
 * thread runs ({@link #collect}): it drains the rings ({@code start} and {@code reject} records) and
 * scans the connection table every {@link Settings#scanIntervalNs()} for flows that ended
 * ({@code end}: the entry expired, was replaced or removed; its counts summed over the workers'
 * stripes) and for long-lived flows due an {@code interim} report (every
 * {@link Settings#interimNs()}, with the counts so far).
 *
 * <p>The workers never wait for the collector: a full ring drops the record and counts it
 * ({@link #overflows()}). An {@code end} record's counts are those of the last scan that saw the
 * flow, plus whatever the stripes still hold for it: packets in the last scan interval of a flow
 * whose slot was taken by a new flow on the same worker before the scan are not counted. A flow is
 * reported ended at the first scan after its connection-table entry expired (its timeout after its
 * last packet); the record's end time is its last packet.
 *
 * <p>Threads: {@link #producer} is handed to each worker; {@link #collect} is called by one thread
 * (the daemon's flow log thread); the counters may be read by any thread.
 */
public final class FlowLog
{
    /**
     * Flow log sizing and timing, validated once.
     *
     * @param ringSlots      records per worker ring (a power of two, 2..1048576).
     * @param interimNs      interval of interim reports of long-lived flows (at least 1 s).
     * @param rejectWindowNs reject aggregation window per 5-tuple (at least 1 ms).
     * @param scanIntervalNs how often the collector scans the connection table (10 ms..60 s).
     */
    public record Settings(int ringSlots, long interimNs, long rejectWindowNs, long scanIntervalNs)
    {
        /** 4096 records per worker, interim reports every 60 s, rejects aggregated over 10 s, scans every second. */
        public static final Settings DEFAULTS = new Settings(4096, 60_000_000_000L, 10_000_000_000L, 1_000_000_000L);

        public Settings
        {
            if (ringSlots < 2 || ringSlots > (1 << 20) || Integer.bitCount(ringSlots) != 1)
            {
                throw new IllegalArgumentException("ringSlots must be a power of two in 2..1048576: " + ringSlots);
            }
            if (interimNs < 1_000_000_000L)
            {
                throw new IllegalArgumentException("interimNs must be at least 1 s: " + interimNs);
            }
            if (rejectWindowNs < 1_000_000L)
            {
                throw new IllegalArgumentException("rejectWindowNs must be at least 1 ms: " + rejectWindowNs);
            }
            if (scanIntervalNs < 10_000_000L || scanIntervalNs > 60_000_000_000L)
            {
                throw new IllegalArgumentException("scanIntervalNs must be in 10 ms..60 s: " + scanIntervalNs);
            }
        }
    }

    private final Settings settings;
    private final ConnectionTable table;
    private final FlowStripe[] stripes;
    private final FlowProducer[] producers;
    private final OpenFlow[] open;
    private FlowEntry scratch = new FlowEntry();
    private long lastScanNs;
    /** The thread that last called {@link #collect}: the producers wake it ({@link #wakeCollector}). */
    private volatile Thread collector;
    private boolean scanned;
    private volatile long collected;
    private volatile long ended;

    /** A flow the collector has seen live: its entry (slot, version, key) and counts at the last scan. */
    private static final class OpenFlow
    {
        final FlowEntry entry;
        long lastReportNs;
        long forwardPackets;
        long forwardBytes;
        long replyPackets;
        long replyBytes;
        long firstNs;
        long lastNs;
        int port = -1;

        OpenFlow(final FlowEntry entry, final long nowNs)
        {
            this.entry = entry;
            this.lastReportNs = nowNs;
        }

        /** Re-sums the stripes; counts only grow (a stripe line reset by a newer entry of the slot is ignored). */
        void refresh(final FlowStripe[] stripes)
        {
            entry.sum(stripes);
            forwardPackets = Math.max(forwardPackets, entry.forwardPackets());
            forwardBytes = Math.max(forwardBytes, entry.forwardBytes());
            replyPackets = Math.max(replyPackets, entry.replyPackets());
            replyBytes = Math.max(replyBytes, entry.replyBytes());
            if (entry.firstNs() != 0 && (firstNs == 0 || entry.firstNs() - firstNs < 0))
            {
                firstNs = entry.firstNs();
            }
            if (entry.lastNs() != 0 && (lastNs == 0 || entry.lastNs() - lastNs > 0))
            {
                lastNs = entry.lastNs();
            }
            if (entry.openerPort() >= 0)
            {
                port = entry.openerPort();
            }
        }
    }

    /**
     * @param table    the connection table whose flows are logged.
     * @param workers  data plane workers (one producer each).
     * @param settings sizing and timing.
     */
    public FlowLog(final ConnectionTable table, final int workers, final Settings settings)
    {
        this.settings = settings;
        this.table = table;
        this.stripes = new FlowStripe[workers];
        this.producers = new FlowProducer[workers];
        for (int i = 0; i < workers; i++)
        {
            stripes[i] = new FlowStripe(table);
            producers[i] = new FlowProducer(stripes[i], new SpscSlotRing(settings.ringSlots(), FlowProducer.RECORD_BYTES),
                settings.rejectWindowNs(), this::wakeCollector);
        }
        this.open = new OpenFlow[table.capacity()];
    }

    /**
     * @return the producer of a worker (for that worker only).
     */
    public FlowProducer producer(final int worker)
    {
        return producers[worker];
    }

    /**
     * Unparks the collector thread ({@link java.util.concurrent.locks.LockSupport#unpark}): a producer calls
     * it each time it has written half a ring of records, so that a collector that parks for long while
     * the rings stay empty drains them before they fill.
     */
    void wakeCollector()
    {
        final Thread thread = collector;
        if (thread != null)
        {
            LockSupport.unpark(thread);
        }
    }

    public Settings settings()
    {
        return settings;
    }

    /**
     * Collector: drains every worker's ring and, when due, scans the connection table. Call it from
     * one thread only, regularly (every few tens of milliseconds keeps the rings from filling). A
     * collector that parks ({@link java.util.concurrent.locks.LockSupport#parkNanos}) between calls is
     * unparked by a producer that has written half a ring since it last did so.
     *
     * @param nowNs   {@link System#nanoTime()} now (the workers' clock).
     * @param nowMs   {@link System#currentTimeMillis()} now (to date the records).
     * @param sink    receives the records, in the order written to it.
     * @return the records handed to the sink.
     */
    public int collect(final long nowNs, final long nowMs, final Consumer<FlowRecord> sink)
    {
        final Thread self = Thread.currentThread();
        if (collector != self)
        {
            collector = self;
        }
        int count = 0;
        for (final FlowProducer producer : producers)
        {
            final SpscSlotRing ring = producer.ring();
            long at;
            while ((at = ring.peek()) >= 0)
            {
                final FlowRecord record = read(ring.memory(), at, nowNs, nowMs);
                ring.advance();
                sink.accept(record);
                count++;
            }
        }
        if (!scanned || nowNs - lastScanNs >= settings.scanIntervalNs())
        {
            scanned = true;
            lastScanNs = nowNs;
            count += scan(nowNs, nowMs, sink);
        }
        collected += count;
        return count;
    }

    /**
     * Collector: reports every flow still open as ended (when the data plane stops), without waiting
     * for its entry to expire.
     *
     * @return the records handed to the sink.
     */
    public int closeAll(final long nowNs, final long nowMs, final Consumer<FlowRecord> sink)
    {
        int count = collect(nowNs, nowMs, sink);
        for (int slot = 0; slot < open.length; slot++)
        {
            final OpenFlow flow = open[slot];
            if (flow != null)
            {
                flow.refresh(stripes);
                sink.accept(record(FlowProducer.EVENT_END, flow, nowNs, nowMs));
                open[slot] = null;
                count++;
            }
        }
        collected += count;
        return count;
    }

    private int scan(final long nowNs, final long nowMs, final Consumer<FlowRecord> sink)
    {
        int count = 0;
        for (int slot = 0; slot < open.length; slot++)
        {
            final boolean live = table.readEntry(slot, nowNs, scratch);
            final OpenFlow flow = open[slot];
            if (flow != null && (!live || scratch.version() != flow.entry.version()))
            {
                flow.refresh(stripes);
                sink.accept(record(FlowProducer.EVENT_END, flow, nowNs, nowMs));
                open[slot] = null;
                ended++;
                count++;
            }
            if (!live)
            {
                continue;
            }
            OpenFlow current = open[slot];
            if (current == null)
            {
                current = new OpenFlow(scratch, nowNs);
                open[slot] = current;
                scratch = new FlowEntry();
                current.refresh(stripes);
                if (current.firstNs != 0)
                {
                    current.lastReportNs = current.firstNs;
                }
            }
            else if (nowNs - current.lastReportNs >= settings.interimNs())
            {
                current.refresh(stripes);
                current.lastReportNs = nowNs;
                sink.accept(record(FlowProducer.EVENT_INTERIM, current, nowNs, nowMs));
                count++;
            }
        }
        return count;
    }

    private static FlowRecord record(final int event, final OpenFlow flow, final long nowNs, final long nowMs)
    {
        final FlowEntry e = flow.entry;
        final long firstNs = flow.firstNs == 0 ? nowNs : flow.firstNs;
        final long lastNs = event == FlowProducer.EVENT_INTERIM || flow.lastNs == 0 ? nowNs : flow.lastNs;
        return new FlowRecord(FlowRecord.eventName(event), "accept", toMs(firstNs, nowNs, nowMs), toMs(lastNs, nowNs, nowMs),
            e.network(), flow.port, e.ipv6() ? 6 : 4, e.protocol(), address(e.ipv6(), e.sourceHigh(), e.sourceLow()),
            e.sourcePort(), address(e.ipv6(), e.destinationHigh(), e.destinationLow()), e.destinationPort(),
            flow.forwardPackets, flow.forwardBytes, flow.replyPackets, flow.replyBytes);
    }

    private static FlowRecord read(final MemorySegment m, final long at, final long nowNs, final long nowMs)
    {
        final int event = m.get(ValueLayout.JAVA_BYTE, at + FlowProducer.EVENT);
        final boolean ipv6 = m.get(ValueLayout.JAVA_BYTE, at + FlowProducer.IP_VERSION) == 6;
        final int protocol = m.get(ValueLayout.JAVA_BYTE, at + FlowProducer.PROTOCOL) & 0xFF;
        final long packets = m.get(ValueLayout.JAVA_LONG, at + FlowProducer.PACKETS);
        final long bytes = m.get(ValueLayout.JAVA_LONG, at + FlowProducer.BYTES);
        return new FlowRecord(FlowRecord.eventName(event), event == FlowProducer.EVENT_REJECT ? "reject" : "accept",
            toMs(m.get(ValueLayout.JAVA_LONG, at + FlowProducer.START_NS), nowNs, nowMs),
            toMs(m.get(ValueLayout.JAVA_LONG, at + FlowProducer.END_NS), nowNs, nowMs),
            m.get(ValueLayout.JAVA_INT, at + FlowProducer.NETWORK), m.get(ValueLayout.JAVA_INT, at + FlowProducer.PORT),
            ipv6 ? 6 : 4, protocol,
            address(ipv6, m.get(ValueLayout.JAVA_LONG, at + FlowProducer.SOURCE_HIGH), m.get(ValueLayout.JAVA_LONG, at + FlowProducer.SOURCE_LOW)),
            m.get(ValueLayout.JAVA_INT, at + FlowProducer.SOURCE_PORT),
            address(ipv6, m.get(ValueLayout.JAVA_LONG, at + FlowProducer.DESTINATION_HIGH),
                m.get(ValueLayout.JAVA_LONG, at + FlowProducer.DESTINATION_LOW)),
            m.get(ValueLayout.JAVA_INT, at + FlowProducer.DESTINATION_PORT), packets, bytes, 0, 0);
    }

    private static long toMs(final long ns, final long nowNs, final long nowMs)
    {
        return nowMs - (nowNs - ns) / 1_000_000L;
    }

    private static String address(final boolean ipv6, final long high, final long low)
    {
        return ipv6 ? Prefixes.formatIpv6(high, low) : Prefixes.formatIpv4((int)low);
    }

    /**
     * @return records dropped because a worker's ring was full, summed over the workers.
     */
    public long overflows()
    {
        long sum = 0;
        for (final FlowProducer producer : producers)
        {
            sum += producer.ring().overflows();
        }
        return sum;
    }

    /**
     * @return records the collector has handed on.
     */
    public long collected()
    {
        return collected;
    }

    /**
     * @return flows reported ended.
     */
    public long ended()
    {
        return ended;
    }

    /**
     * @return native memory held by the stripes and rings.
     */
    public long memoryBytes()
    {
        return (long)producers.length * ((long)table.capacity() * FlowStripe.ENTRY_BYTES +
            (long)settings.ringSlots() * FlowProducer.RECORD_BYTES);
    }
}
