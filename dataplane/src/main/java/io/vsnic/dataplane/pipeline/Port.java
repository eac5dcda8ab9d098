package io.vsnic.dataplane.pipeline;

import io.vsnic.dataplane.buffer.Frame;
import io.vsnic.dataplane.buffer.FramePool;
import io.vsnic.dataplane.offload.Coalescer;

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

    /** {@link #txOffloads()}: frames with a partial L4 checksum ({@link Frame#checksumPartial()}) are taken as they are. */
    int OFFLOAD_PARTIAL_CHECKSUM = 1;
    /** {@link #txOffloads()}: offload super-frames ({@link Frame#isSuperFrame()}) are taken whole. */
    int OFFLOAD_SUPER_FRAMES = 2;
    /**
     * {@link #txOffloads()}: frames whose payload stays in the super-frame they were cut from
     * ({@link Frame#refersToOther()}) are taken; the port sends the window and the referenced bytes as
     * one frame and releases (or {@link Frame#flatten() flattens}) each on the calling thread.
     */
    int OFFLOAD_CHAINED = 4;

    /**
     * What {@link #transmit} takes besides ordinary frames with complete checksums; the worker
     * completes checksums and cuts super-frames for a port that does not take them.
     *
     * @return {@link #OFFLOAD_PARTIAL_CHECKSUM}, {@link #OFFLOAD_SUPER_FRAMES} and {@link #OFFLOAD_CHAINED}
     *     bits; 0 by default.
     */
    default int txOffloads()
    {
        return 0;
    }

    /**
     * Sets what to run (from any thread, rarely) after {@link #txOffloads()} changed, for a port whose
     * offloads can be lost at run time (a TAP whose kernel refuses a coalesced write); the data plane sets
     * it when the port is added and clears it (null) when the port is removed. Ports whose offloads never
     * change ignore it (the default).
     */
    default void onOffloadsChanged(final Runnable listener)
    {
    }

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
     * Like {@link #receive(Frame[], int)}, for an overlay port that may already decapsulate and merge
     * in-order TCP segments while it reads ({@link Coalescer#addRange}), copying each merged segment
     * once instead of twice. A frame it decapsulated carries its VNI ({@link Frame#vni()} 0 or more,
     * the VNI allowed for its peer) and holds the inner Ethernet frame; every other frame is still
     * encapsulated, with VNI -1, as {@link #receive(Frame[], int)} returns them. The caller reads
     * {@code coalescer}'s counters around the call. The default ignores {@code coalescer}.
     *
     * @param coalescer the caller's coalescer (flushed before this returns), or null to merge nothing.
     * @return the number of frames, 0 when none is waiting.
     */
    default int receive(final Frame[] frames, final int max, final Coalescer coalescer)
    {
        return receive(frames, max);
    }

    /**
     * Gives an overlay port the data plane's super-frame pool, for datagrams too long for an ordinary
     * frame (a peer's kernel that hands over a whole tunnel GSO packet: see {@code Worker}). The
     * default ignores it.
     *
     * @param superPool the pool of 64 KiB slots, or null when the data plane has none.
     */
    default void superFramePool(final FramePool superPool)
    {
    }

    /**
     * Hands {@code frames[0..count)} to the port for sending. The port owns (and eventually releases)
     * the frames it accepts; the caller keeps the rest.
     *
     * @return how many frames from the start of the array were accepted.
     */
    int transmit(Frame[] frames, int count);

    /**
     * More receive queues of this port, each a port of its own with this port's {@link #id()} and
     * {@link #kind()} that only receives: the data plane gives each to a worker, a different one from
     * this port's and from the other queues' owners as long as there are workers left, so that one port's
     * receive work spreads over the workers (the substrate's {@code SO_REUSEPORT} sockets). Frames are
     * always transmitted through this port. Asked once, when the port is added; the same ports each time.
     *
     * @return the queues besides this port itself; empty by default.
     */
    default java.util.List<Port> receiveQueues()
    {
        return java.util.List.of();
    }

    /**
     * For a worker with nothing to do: the descriptors that become readable ({@code POLLIN}) when
     * {@link #receive} has frames, so that the worker can sleep in {@code poll(2)} and be woken by the
     * kernel instead of waking itself periodically. Frames that arrive by another way (a queue fed by
     * another thread) are announced through the {@link #onReadable} callback.
     *
     * @param fds    where to write the descriptors.
     * @param offset first index to write.
     * @return how many were written, or -1 when this port cannot tell (the default; its worker then
     *     parks for short, bounded times).
     */
    default int readinessFds(final int[] fds, final int offset)
    {
        return -1;
    }

    /**
     * Sets what to run (from any thread) when frames become available to {@link #receive} without
     * one of the {@link #readinessFds} turning readable. Set by the owning worker; null to clear.
     */
    default void onReadable(final Runnable wake)
    {
    }
}
