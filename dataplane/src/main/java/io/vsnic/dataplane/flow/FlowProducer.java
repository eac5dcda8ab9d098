package io.vsnic.dataplane.flow;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import io.vsnic.dataplane.buffer.SpscSlotRing;
import io.vsnic.dataplane.security.FlowStripe;

/**
 * One worker's side of the flow log: its {@link FlowStripe} (per-flow packet and byte counters in
 * the connection table's slots), its ring of records ({@link SpscSlotRing}, {@value #RECORD_BYTES}-byte
 * records; full: the record is dropped and counted), and its reject aggregation.
 *
 * <pre>
 * Record: 0 byte event | 1 byte ipVersion (4/6) | 2 byte protocol | 4 int network (VNI)
 *   8 int port (the vNIC's data plane port, -1 none)
 *  16 long sourceHigh | 24 long sourceLow | 32 long destinationHigh | 40 long destinationLow
 *  48 int sourcePort | 52 int destinationPort | 56 long startNs | 64 long endNs
 *  72 long packets | 80 long bytes
 * </pre>
 *
 * <p>Records the worker writes: {@code start} when its packet created a connection-table entry, and
 * {@code reject} for security-group rejects (the policy refused a new flow, {@code acl_deny}).
 * Rejects are aggregated per 5-tuple in a {@value #REJECT_SLOTS}-entry direct-mapped table keyed by a
 * hash of (network, protocol, addresses, ports): the first rejected packet of a 5-tuple writes a
 * record at once (1 packet); later ones within the reject window only count; the first one after
 * the window writes a record with every packet and byte counted since the previous record and
 * starts a new window. So a 5-tuple that keeps being rejected costs at most one record per window
 * per worker. Two 5-tuples that share a table entry each write a record when they take it over;
 * the counts of packets after a 5-tuple's last record are not reported.
 *
 * <p>Thread: the owning worker only. Nothing here allocates or blocks; once per half ring of records
 * written it unparks the collector thread.
 */
public final class FlowProducer
{
    /** Entries of the reject aggregation table. */
    public static final int REJECT_SLOTS = 1024;

    /** Event code of a record: a flow was created. */
    public static final int EVENT_START = 1;
    /** Event code: an interim report of a long-lived flow (written by the collector). */
    public static final int EVENT_INTERIM = 2;
    /** Event code: a flow ended (written by the collector). */
    public static final int EVENT_END = 3;
    /** Event code: packets of a 5-tuple were rejected by the security groups. */
    public static final int EVENT_REJECT = 4;

    /** Bytes per record in a worker's ring. */
    public static final int RECORD_BYTES = 128;

    // Record layout (native byte order, never leaves the process):
    static final long EVENT = 0;
    static final long IP_VERSION = 1;
    static final long PROTOCOL = 2;
    static final long NETWORK = 4;
    static final long PORT = 8;
    static final long SOURCE_HIGH = 16;
    static final long SOURCE_LOW = 24;
    static final long DESTINATION_HIGH = 32;
    static final long DESTINATION_LOW = 40;
    static final long SOURCE_PORT = 48;
    static final long DESTINATION_PORT = 52;
    static final long START_NS = 56;
    static final long END_NS = 64;
    static final long PACKETS = 72;
    static final long BYTES = 80;

    private final FlowStripe stripe;
    private final SpscSlotRing ring;
    private final long rejectWindowNs;
    /** Unparks the collector; called once per half ring of records written. */
    private final Runnable wakeCollector;
    private final long wakeMask;
    private long written;
    private final long[] rejectHashes = new long[REJECT_SLOTS];
    private final long[] rejectStarts = new long[REJECT_SLOTS];
    private final long[] rejectPackets = new long[REJECT_SLOTS];
    private final long[] rejectBytes = new long[REJECT_SLOTS];

    FlowProducer(final FlowStripe stripe, final SpscSlotRing ring, final long rejectWindowNs, final Runnable wakeCollector)
    {
        this.stripe = stripe;
        this.ring = ring;
        this.rejectWindowNs = rejectWindowNs;
        this.wakeCollector = wakeCollector;
        this.wakeMask = Math.max(1, ring.capacity() / 2) - 1;
    }

    /**
     * @return the stripe to pass to the connection table's tracking calls.
     */
    public FlowStripe stripe()
    {
        return stripe;
    }

    /**
     * @return the ring this worker writes.
     */
    public SpscSlotRing ring()
    {
        return ring;
    }

    /**
     * A packet created a flow: writes a {@code start} record (or counts an overflow).
     */
    public void started(
        final int network, final int protocol, final boolean ipv6, final long sourceHigh, final long sourceLow,
        final long destinationHigh, final long destinationLow, final int sourcePort, final int destinationPort, final int port,
        final long nowNs, final int bytes)
    {
        write(EVENT_START, network, protocol, ipv6, sourceHigh, sourceLow, destinationHigh, destinationLow, sourcePort,
            destinationPort, port, nowNs, nowNs, 1, bytes);
    }

    /**
     * A packet was rejected by the security groups: aggregated as described in the class comment.
     */
    public void rejected(
        final int network, final int protocol, final boolean ipv6, final long sourceHigh, final long sourceLow,
        final long destinationHigh, final long destinationLow, final int sourcePort, final int destinationPort, final int port,
        final long nowNs, final int bytes)
    {
        long h = (long)network * 0x9E37_79B9_7F4A_7C15L ^ protocol ^ (ipv6 ? 0x100 : 0);
        h = mix(h ^ sourceHigh);
        h = mix(h ^ sourceLow);
        h = mix(h ^ destinationHigh);
        h = mix(h ^ destinationLow);
        h = mix(h ^ ((long)sourcePort << 16 | destinationPort) ^ (long)port << 32);
        if (h == 0)
        {
            h = 1;
        }
        final int i = (int)h & (REJECT_SLOTS - 1);
        if (rejectHashes[i] == h && nowNs - rejectStarts[i] < rejectWindowNs)
        {
            rejectPackets[i]++;
            rejectBytes[i] += bytes;
            return;
        }
        final boolean same = rejectHashes[i] == h;
        final long start = same ? rejectStarts[i] : nowNs;
        final long packets = same ? rejectPackets[i] + 1 : 1;
        final long total = same ? rejectBytes[i] + bytes : bytes;
        rejectHashes[i] = h;
        rejectStarts[i] = nowNs;
        rejectPackets[i] = 0;
        rejectBytes[i] = 0;
        write(EVENT_REJECT, network, protocol, ipv6, sourceHigh, sourceLow, destinationHigh, destinationLow, sourcePort,
            destinationPort, port, start, nowNs, packets, total);
    }

    private void write(
        final int event, final int network, final int protocol, final boolean ipv6, final long sourceHigh, final long sourceLow,
        final long destinationHigh, final long destinationLow, final int sourcePort, final int destinationPort, final int port,
        final long startNs, final long endNs, final long packets, final long bytes)
    {
        final long at = ring.claim();
        if (at < 0)
        {
            return;
        }
        final MemorySegment m = ring.memory();
        m.set(ValueLayout.JAVA_BYTE, at + EVENT, (byte)event);
        m.set(ValueLayout.JAVA_BYTE, at + IP_VERSION, (byte)(ipv6 ? 6 : 4));
        m.set(ValueLayout.JAVA_BYTE, at + PROTOCOL, (byte)protocol);
        m.set(ValueLayout.JAVA_INT, at + NETWORK, network);
        m.set(ValueLayout.JAVA_INT, at + PORT, port);
        m.set(ValueLayout.JAVA_LONG, at + SOURCE_HIGH, sourceHigh);
        m.set(ValueLayout.JAVA_LONG, at + SOURCE_LOW, sourceLow);
        m.set(ValueLayout.JAVA_LONG, at + DESTINATION_HIGH, destinationHigh);
        m.set(ValueLayout.JAVA_LONG, at + DESTINATION_LOW, destinationLow);
        m.set(ValueLayout.JAVA_INT, at + SOURCE_PORT, sourcePort);
        m.set(ValueLayout.JAVA_INT, at + DESTINATION_PORT, destinationPort);
        m.set(ValueLayout.JAVA_LONG, at + START_NS, startNs);
        m.set(ValueLayout.JAVA_LONG, at + END_NS, endNs);
        m.set(ValueLayout.JAVA_LONG, at + PACKETS, packets);
        m.set(ValueLayout.JAVA_LONG, at + BYTES, bytes);
        ring.publish();
        if ((++written & wakeMask) == 0)
        {
            // half a ring since the last wake: a collector parked for long drains the ring before it fills
            wakeCollector.run();
        }
    }

    private static long mix(final long value)
    {
        long h = value * 0xBF58_476D_1CE4_E5B9L;
        return h ^ (h >>> 31);
    }
}
