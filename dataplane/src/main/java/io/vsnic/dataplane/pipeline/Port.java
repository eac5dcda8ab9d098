package io.vsnic.dataplane.pipeline;

import io.vsnic.dataplane.buffer.Frame;

/**
 * A data plane port: where a worker reads bursts of frames and where frames leave. A vNIC's
 * orchestration endpoint is a port; so is the overlay (frames to and from other devices).
 *
 * <p>Threading: {@link #receive} is called only by the worker that owns the port;
 * {@link #transmit} may be called by any worker concurrently and must be safe for that.
 */
public interface Port
{
    /** A vNIC port: frames come from and go to one VM. */
    int KIND_VNIC = 0;
    /**
     * The overlay port: frames it receives carry {@link Frame#vni()} and {@link Frame#peerDevice()}
     * (set by decapsulation); frames sent to it carry the VNI and the destination device.
     */
    int KIND_OVERLAY = 1;

    /**
     * @return the port id (the index of its counters and of its entry in the forwarding state).
     */
    int id();

    /**
     * @return {@link #KIND_VNIC} or {@link #KIND_OVERLAY}.
     */
    int kind();

    /**
     * Moves up to {@code max} received frames into {@code frames[0..n)}; the caller owns them.
     *
     * @return the number of frames, 0 when none is waiting.
     */
    int receive(Frame[] frames, int max);

    /**
     * Hands {@code frames[0..count)} to the port for sending. The port owns (and eventually releases)
     * the frames it accepts; the caller keeps the rest.
     *
     * @return how many frames from the start of the array were accepted.
     */
    int transmit(Frame[] frames, int count);
}
