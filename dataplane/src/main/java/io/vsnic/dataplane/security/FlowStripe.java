package io.vsnic.dataplane.security;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/**
 * One worker's packet and byte counters for the entries of a {@link ConnectionTable}: a stripe of
 * {@value #ENTRY_BYTES} bytes per table slot (one cache line), written only by the worker that owns
 * the stripe, so that no two workers ever write the same line. The flow log's collector sums a
 * slot's counters over every worker's stripe.
 *
 * <pre>
 *  offset  field
 *   0      tag: the entry's version + 1 (0: this stripe never counted a packet of the slot). When a
 *          packet of a newer entry of the slot arrives, the worker starts the line over.
 *   8      first: this worker's clock at its first packet of the entry
 *  16      last: this worker's clock at its latest packet of the entry
 *  24      forward packets (from the flow's opener)   32  forward bytes
 *  40      reply packets                              48  reply bytes
 *  56      opener's port + 1 (written by the worker that created the entry; 0 elsewhere)
 * </pre>
 *
 * <p>Fields are stored with opaque writes (plain stores on x86) and read by the collector with
 * opaque reads: a reader may see a line half updated (the packet count of this packet, not yet its
 * bytes), never a torn long. {@code ENTRY_BYTES * capacity} bytes of native memory per worker
 * (4 MiB for the default 65,536 slots); allocated only when flow logs are on.
 *
 * <p>Thread: the owning worker writes ({@link #packet} and the table's tracking methods); any thread
 * reads ({@link #read}).
 */
public final class FlowStripe
{
    /** Bytes per slot. */
    public static final int ENTRY_BYTES = 64;

    static final long TAG = 0;
    static final long FIRST = 8;
    static final long LAST = 16;
    static final long FORWARD_PACKETS = 24;
    static final long FORWARD_BYTES = 32;
    static final long REPLY_PACKETS = 40;
    static final long REPLY_BYTES = 48;
    static final long OPENER_PORT = 56;

    private static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();

    private final MemorySegment memory;
    private final int slots;
    private int packetBytes;
    private int packetPort;

    /**
     * @param table the table whose slots this stripe counts.
     */
    public FlowStripe(final ConnectionTable table)
    {
        this.slots = table.capacity();
        this.memory = Arena.ofAuto().allocate((long)slots * ENTRY_BYTES, ENTRY_BYTES);
    }

    /**
     * Sets what the next tracked packet is: its length and the port it came from (the opener's port
     * when it creates an entry). Called by the owning worker before {@code trackV4}/{@code trackV6}.
     *
     * @param bytes frame length.
     * @param port  the port id to remember as the opener's when the packet creates a flow (-1: none).
     */
    public void packet(final int bytes, final int port)
    {
        packetBytes = bytes;
        packetPort = port;
    }

    /**
     * Counts the current packet on a slot's entry. Called by the table on the owning worker's thread.
     */
    void count(final int slot, final long version, final boolean reply, final boolean created, final long nowNs)
    {
        final long line = (long)slot * ENTRY_BYTES;
        final long tag = version + 1;
        final MemorySegment m = memory;
        if ((long)LONG.getOpaque(m, line + TAG) != tag)
        {
            LONG.setOpaque(m, line + FIRST, nowNs);
            LONG.setOpaque(m, line + FORWARD_PACKETS, 0L);
            LONG.setOpaque(m, line + FORWARD_BYTES, 0L);
            LONG.setOpaque(m, line + REPLY_PACKETS, 0L);
            LONG.setOpaque(m, line + REPLY_BYTES, 0L);
            LONG.setOpaque(m, line + OPENER_PORT, 0L);
            LONG.setOpaque(m, line + TAG, tag);
        }
        if (created)
        {
            LONG.setOpaque(m, line + OPENER_PORT, (long)packetPort + 1);
        }
        final long packets = reply ? line + REPLY_PACKETS : line + FORWARD_PACKETS;
        LONG.setOpaque(m, packets, (long)LONG.getOpaque(m, packets) + 1);
        LONG.setOpaque(m, packets + 8, (long)LONG.getOpaque(m, packets + 8) + packetBytes);
        LONG.setOpaque(m, line + LAST, nowNs);
    }

    /**
     * Reads one field of a slot's line (for the collector).
     *
     * @param slot   table slot.
     * @param offset one of the field offsets.
     * @return its value.
     */
    long read(final int slot, final long offset)
    {
        return (long)LONG.getOpaque(memory, (long)slot * ENTRY_BYTES + offset);
    }

    /**
     * @return the slots counted (the table's capacity).
     */
    public int slots()
    {
        return slots;
    }
}
