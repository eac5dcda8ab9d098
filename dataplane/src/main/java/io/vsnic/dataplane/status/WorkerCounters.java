package io.vsnic.dataplane.status;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The counters one worker writes: per port (rx/tx packets and bytes, drops), per network counter
 * slot (rx/tx packets and bytes), per {@link DropReason}, and a few pipeline events. Only the owning
 * worker writes (opaque stores: no fence on x86, never torn); any thread may read with
 * {@link #get(int)} while the worker runs. Each worker has its own array, padded at both ends, so
 * workers never write to a shared cache line. {@link CounterSnapshot} sums all workers.
 */
public final class WorkerCounters
{
    /** Ports with counters (port ids 0..MAX_PORTS-1). */
    public static final int MAX_PORTS = 4096;
    /** Network counter slots. */
    public static final int MAX_NETWORKS = 1024;

    private static final VarHandle VALUES = MethodHandles.arrayElementVarHandle(long[].class);
    private static final int PAD = 16;

    public static final int PORT_RX_PACKETS = PAD;
    public static final int PORT_RX_BYTES = PORT_RX_PACKETS + MAX_PORTS;
    public static final int PORT_TX_PACKETS = PORT_RX_BYTES + MAX_PORTS;
    public static final int PORT_TX_BYTES = PORT_TX_PACKETS + MAX_PORTS;
    public static final int PORT_DROPS = PORT_TX_BYTES + MAX_PORTS;
    public static final int NETWORK_RX_PACKETS = PORT_DROPS + MAX_PORTS;
    public static final int NETWORK_RX_BYTES = NETWORK_RX_PACKETS + MAX_NETWORKS;
    public static final int NETWORK_TX_PACKETS = NETWORK_RX_BYTES + MAX_NETWORKS;
    public static final int NETWORK_TX_BYTES = NETWORK_TX_PACKETS + MAX_NETWORKS;
    public static final int DROPS = NETWORK_TX_BYTES + MAX_NETWORKS;
    /** Frames answered locally (ARP, neighbour advertisement, echo reply from a gateway). */
    public static final int LOCAL_ANSWERS = DROPS + 64;
    /** ICMP / ICMPv6 error messages generated (time exceeded, unreachable, fragmentation needed, too big). */
    public static final int ICMP_ERRORS_SENT = LOCAL_ANSWERS + 1;
    /** Frames received from ports in total. */
    public static final int RX_FRAMES = ICMP_ERRORS_SENT + 1;
    /** Frames handed to output ports in total. */
    public static final int TX_FRAMES = RX_FRAMES + 1;
    /** Vectors processed. */
    public static final int VECTORS = TX_FRAMES + 1;
    /** Connection-table entries created. */
    public static final int FLOWS_CREATED = VECTORS + 1;
    /** Partial inner L4 checksums completed for frames from the overlay. */
    public static final int CHECKSUMS_COMPLETED = FLOWS_CREATED + 1;
    /** Offload super-frames cut into segments in software for a port that does not take them whole. */
    public static final int SUPER_FRAMES_SEGMENTED = CHECKSUMS_COMPLETED + 1;
    /** Segments those super-frames were cut into. */
    public static final int SEGMENTS_BUILT = SUPER_FRAMES_SEGMENTED + 1;
    /** Super-frames built by coalescing received segments (software GRO) for a port that takes them. */
    public static final int SUPER_FRAMES_COALESCED = SEGMENTS_BUILT + 1;
    /** Segments merged into those super-frames. */
    public static final int SEGMENTS_COALESCED = SUPER_FRAMES_COALESCED + 1;
    private static final int LENGTH = SEGMENTS_COALESCED + 1 + PAD;

    private final long[] values = new long[LENGTH];

    static
    {
        if (DropReason.count() > 64)
        {
            throw new ExceptionInInitializerError("more than 64 drop reasons");
        }
    }

    /**
     * Adds {@code delta} to the counter at {@code index}. Owning worker only.
     */
    public void add(final int index, final long delta)
    {
        VALUES.setOpaque(values, index, values[index] + delta);
    }

    /**
     * Adds one to a counter. Owning worker only.
     */
    public void increment(final int index)
    {
        VALUES.setOpaque(values, index, values[index] + 1);
    }

    /**
     * Counts a drop by reason and by ingress port (when {@code port >= 0}).
     */
    public void drop(final int reasonOrdinal, final int port)
    {
        increment(DROPS + reasonOrdinal);
        if (port >= 0 && port < MAX_PORTS)
        {
            increment(PORT_DROPS + port);
        }
    }

    /**
     * @return the counter's value as last written (any thread).
     */
    public long get(final int index)
    {
        return (long)VALUES.getOpaque(values, index);
    }

    static int length()
    {
        return LENGTH;
    }
}
