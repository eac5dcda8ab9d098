package io.vsnic.vnic;

/**
 * The counters every VM endpoint port keeps ({@link EndpointCounters}). The ordinal is stable within
 * a release and the {@link #label()} is the Prometheus label value; append new counters at the end.
 *
 * <p>A counter is written either only by the worker that owns the port (its receive side) or by
 * any worker that transmits ({@link #sharedWriters()}), which decides how it is incremented.
 */
public enum EndpointCounter
{
    /** Frames handed to the data plane. */
    RX_FRAMES("rx_frames", false),
    /** Bytes of those frames. */
    RX_BYTES("rx_bytes", false),
    /** Receive calls that failed with an error other than "nothing waiting". */
    RX_ERRORS("rx_errors", false),
    /** Receive rounds cut short because the frame pool had no free frame. */
    RX_POOL_EXHAUSTED("rx_pool_exhausted", false),
    /** Frames from the VM longer than a frame slot, dropped. */
    RX_OVERSIZE("rx_oversize", false),
    /** Stream length prefixes that cannot be a frame (0 or above 65535); the connection is closed. */
    RX_BAD_LENGTH("rx_bad_length", false),
    /** Connections accepted (socket endpoints). */
    CONNECTIONS("connections", false),
    /** Connections that ended (peer closed, error, or a bad length). */
    DISCONNECTS("disconnects", false),
    /** Frames the VM endpoint took. */
    TX_FRAMES("tx_frames", true),
    /** Bytes of those frames. */
    TX_BYTES("tx_bytes", true),
    /** Frames dropped because the endpoint had no room or no peer (queue full, link down, not connected). */
    TX_DROPS("tx_drops", true),
    /** Frames dropped because the endpoint reported an error. */
    TX_ERRORS("tx_errors", true),
    /** Offload super-frames (gso_type set) handed to the data plane (included in {@link #RX_FRAMES}). */
    RX_SUPER_FRAMES("rx_super_frames", false),
    /** Bytes of those super-frames (included in {@link #RX_BYTES}). */
    RX_SUPER_BYTES("rx_super_bytes", false),
    /** Frames whose virtio-net header is malformed (offsets beyond the frame, gso_size 0), dropped. */
    RX_BAD_VNET_HEADER("rx_bad_vnet_header", false),
    /** Offload super-frames the VM endpoint took whole (included in {@link #TX_FRAMES}). */
    TX_SUPER_FRAMES("tx_super_frames", true),
    /**
     * Super-frames whose coalesced write the kernel refused (EINVAL) while their segments were taken: the
     * port wrote the segments instead and cuts every later super-frame in software (counted once per
     * refused write, included in {@link #TX_FRAMES}).
     */
    TX_COALESCED_REFUSED("tx_coalesced_refused", true),
    /**
     * Reads that stopped because they reached the super-frame pool's reserve (whatever the guest still had
     * queued waits in the TAP for the next read; see {@code TapPort.SUPER_FRAME_RESERVE_PROPERTY}).
     */
    RX_SUPER_RESERVE_STOPS("rx_super_reserve_stops", false);

    private static final EndpointCounter[] VALUES = values();

    private final String label;
    private final boolean sharedWriters;

    EndpointCounter(final String label, final boolean sharedWriters)
    {
        this.label = label;
        this.sharedWriters = sharedWriters;
    }

    /**
     * @return the stable label (Prometheus label value).
     */
    public String label()
    {
        return label;
    }

    /**
     * @return true when several threads may increment it (the transmit side).
     */
    public boolean sharedWriters()
    {
        return sharedWriters;
    }

    /**
     * @return every counter, in ordinal order (shared; do not modify).
     */
    static EndpointCounter[] all()
    {
        return VALUES;
    }
}
