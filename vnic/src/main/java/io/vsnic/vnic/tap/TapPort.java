package io.vsnic.vnic.tap;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

import io.vsnic.dataplane.buffer.Frame;
import io.vsnic.dataplane.buffer.FramePool;
import io.vsnic.dataplane.offload.ChecksumOffload;
import io.vsnic.dataplane.offload.Segmenter;
import io.vsnic.dataplane.offload.VirtioNetHeader;
import io.vsnic.dataplane.pipeline.Port;
import io.vsnic.vnic.EndpointCounter;
import io.vsnic.vnic.EndpointCounters;
import io.vsnic.vnic.linux.Errno;

/**
 * A data plane port whose VM endpoint is one queue of a TAP device ({@link Port#KIND_VNIC}).
 *
 * <p>{@link #receive}: reads up to {@code max} frames, one {@code read(2)} each, straight into
 * frames acquired from the pool at {@link Frame#start()} (after the headroom, so the pipeline can
 * encapsulate in place); stops at the first EAGAIN (the frame acquired for it goes back to the
 * pool), at an error, or when the pool is empty ({@link EndpointCounter#RX_POOL_EXHAUSTED}).
 *
 * <p>{@link #transmit}: writes each frame with one {@code write(2)} and releases it; the port owns
 * every frame it is given, so it always returns {@code count}. A frame the kernel has no room for
 * (EAGAIN, ENOBUFS) or that meets a link that is down (EIO) is a {@link EndpointCounter#TX_DROPS
 * drop}; any other refusal is a {@link EndpointCounter#TX_ERRORS tx error}. Frame length is not
 * checked against the MTU: the kernel decides.
 *
 * <p>With a virtio-net header ({@link TapDevice#vnetHeaderBytes()} non-zero) each read lands with
 * its header in the frame's headroom, so the frame itself starts where it always does. The header's
 * {@code NEEDS_CSUM} becomes {@link Frame#checksumPartial(int, int)}, its {@code gso_type} and
 * {@code gso_size} become {@link Frame#gso(int, int)}. When the device accepted TSO or USO, reads go
 * into one held frame of the super-frame pool (a super-frame can be 64 KiB); an ordinary frame is
 * then copied into a frame of the ordinary pool and the held one is reused, a super-frame is handed
 * over as it is ({@link EndpointCounter#RX_SUPER_FRAMES}) and a new one is held. One read leaves a
 * quarter of the super-frame pool free ({@link #SUPER_FRAME_RESERVE_PROPERTY}), and takes at least one
 * super-frame: the pool is shared by every vNIC and the coalescer, and a guest with a deep queue would
 * otherwise hold all of it for one vector; what is left stays queued in the TAP for the next read
 * ({@link EndpointCounter#RX_SUPER_RESERVE_STOPS}). Writes put the
 * header in the headroom in front of the frame: {@code NEEDS_CSUM} for a partial checksum (the
 * kernel or the guest finishes it), the {@code gso_type} of a super-frame (the kernel takes it
 * whole). Without a header, a partial checksum is completed in software before the write, and a
 * super-frame (which the worker should have cut) is a tx error.
 *
 * <p>Coalesced writes ({@link #coalescedWrites()}): the port takes super-frames only while the kernel
 * takes them. {@link TapDevice} probes each {@code gso_type} vsnic writes when it opens the device; a
 * refused one leaves {@link #OFFLOAD_SUPER_FRAMES} out of {@link #txOffloads()} from the start. A
 * super-frame the kernel refuses later (EINVAL) is cut here and its segments written; if they are
 * taken the port switches to segments for good ({@link EndpointCounter#TX_COALESCED_REFUSED}), as
 * userspace WireGuard does for kernels that refuse its coalesced writes.
 *
 * <p>Threading: {@link #receive} only by the owning worker; {@link #transmit} by any workers
 * concurrently (each write is one whole frame, counters are atomic); {@link #close} from any thread.
 * Nothing is allocated per frame.
 */
public final class TapPort implements Port, AutoCloseable
{
    private static final VarHandle LAST_RX_ERRNO;
    private static final VarHandle LAST_TX_ERRNO;

    static
    {
        try
        {
            final MethodHandles.Lookup lookup = MethodHandles.lookup();
            LAST_RX_ERRNO = lookup.findVarHandle(TapPort.class, "lastRxErrno", int.class);
            LAST_TX_ERRNO = lookup.findVarHandle(TapPort.class, "lastTxErrno", int.class);
        }
        catch (final ReflectiveOperationException ex)
        {
            throw new ExceptionInInitializerError(ex);
        }
    }

    private final int id;
    private final TapDevice device;
    private final FramePool pool;
    private final FramePool superPool;
    private final int vnetHeaderBytes;
    private final boolean superFrames;
    /** What {@link #transmit} takes; loses {@link #OFFLOAD_SUPER_FRAMES} once a coalesced write is refused. */
    private volatile int txOffloads;
    /** Told when {@link #txOffloads} loses super-frames (the data plane then re-decides its ingress GRO). */
    private volatile Runnable offloadsListener;
    /** The gso_type whose coalesced write was refused while the data plane ran ({@code -1}: none). */
    private volatile int refusedAtRun = -1;
    /** Cuts a refused super-frame in software (cold path: only until {@link #txOffloads} drops super-frames). */
    private final Segmenter fallbackSegmenter;
    private final Frame[] fallbackSegments;
    private final VirtioNetHeader rxHeader = new VirtioNetHeader();
    /** The super-pool frame the next read goes into (receive side only). */
    private Frame spare;
    /** Slots of the super-frame pool one read leaves free ({@link #SUPER_FRAME_RESERVE_PROPERTY}). */
    private final int superReserve;
    private final EndpointCounters counters = new EndpointCounters();
    @SuppressWarnings("unused")
    private int lastRxErrno;
    @SuppressWarnings("unused")
    private int lastTxErrno;

    /**
     * @param id     the data plane port id.
     * @param device the TAP queue; the port owns it from now on and closes it in {@link #close()}.
     * @param pool   the data plane's frame pool (receive acquires from it).
     */
    public TapPort(final int id, final TapDevice device, final FramePool pool)
    {
        this(id, device, pool, null);
    }

    /**
     * @param id        the data plane port id.
     * @param device    the TAP queue; the port owns it from now on and closes it in {@link #close()}.
     * @param pool      the data plane's frame pool (receive acquires from it).
     * @param superPool the data plane's super-frame pool; required when the device accepted TSO or USO
     *                  (it may then hand over 64 KiB frames), may be null otherwise.
     * @throws IllegalArgumentException when the device may hand over super-frames and there is no
     *                                  super-frame pool.
     */
    public TapPort(final int id, final TapDevice device, final FramePool pool, final FramePool superPool)
    {
        if (device == null || pool == null)
        {
            throw new IllegalArgumentException("device and pool are required");
        }
        final boolean segmentation = (device.offloads() & (TunFlags.TUN_F_TSO4 | TunFlags.TUN_F_TSO6 |
            TunFlags.TUN_F_USO4 | TunFlags.TUN_F_USO6)) != 0;
        if (segmentation && superPool == null)
        {
            throw new IllegalArgumentException(device.name() + " accepted segmentation offloads (" +
                TunFlags.describeOffloads(device.offloads()) + "): a super-frame pool is required");
        }
        if (superPool != null && superPool.headroomBytes() < VirtioNetHeader.MRG_HEADER_LENGTH ||
            pool.headroomBytes() < VirtioNetHeader.MRG_HEADER_LENGTH && device.vnetHeaderBytes() != 0)
        {
            throw new IllegalArgumentException("pools need headroom for the virtio-net header");
        }
        this.id = id;
        this.device = device;
        this.pool = pool;
        this.superPool = superPool;
        this.vnetHeaderBytes = device.vnetHeaderBytes();
        this.superFrames = segmentation;
        this.superReserve = superPool == null ? 0 : (int)((long)superPool.capacity() * SUPER_FRAME_RESERVE / 100);
        // A TAP with a virtio-net header takes partial checksums and super-frames (of any gso_type it
        // knows) whatever TUNSETOFFLOAD said: that call only limits what the kernel hands to us. A kernel
        // that refused a coalesced write when the device was opened (TapDevice probes it) gets segments.
        this.txOffloads = vnetHeaderBytes == 0 ? 0 :
            OFFLOAD_PARTIAL_CHECKSUM | (device.refusedGsoWrites() == 0 ? OFFLOAD_SUPER_FRAMES : 0);
        this.fallbackSegmenter = vnetHeaderBytes == 0 ? null : new Segmenter();
        this.fallbackSegments = vnetHeaderBytes == 0 ? null : new Frame[MAX_FALLBACK_SEGMENTS];
    }

    /** Most segments a refused super-frame is cut into by the port itself (more: a tx error). */
    static final int MAX_FALLBACK_SEGMENTS = 1024;

    /**
     * System property: the per cent of the super-frame pool's slots one {@link #receive} leaves free for
     * the other ports and the coalescer (default {@value #DEFAULT_SUPER_FRAME_RESERVE}; 0 lets one read
     * take every free slot). A read always takes at least one. Read once.
     */
    public static final String SUPER_FRAME_RESERVE_PROPERTY = "vsnic.tap.superFrameReserve";
    /** The default of {@link #SUPER_FRAME_RESERVE_PROPERTY}: a quarter of the pool. */
    public static final int DEFAULT_SUPER_FRAME_RESERVE = 25;
    private static final int SUPER_FRAME_RESERVE =
        Math.clamp(Integer.getInteger(SUPER_FRAME_RESERVE_PROPERTY, DEFAULT_SUPER_FRAME_RESERVE), 0, 99);

    @Override
    public void onOffloadsChanged(final Runnable listener)
    {
        this.offloadsListener = listener;
    }

    @Override
    public int txOffloads()
    {
        return txOffloads;
    }

    /**
     * @return whether this port writes super-frames whole ("coalesced writes") and why not: {@code "on"};
     *     {@code "off (no virtio-net header)"}; {@code "off (refused when opened: tcpv6 ...)"} (the probe of
     *     {@link TapDevice#refusedGsoWrites()}); {@code "off (refused on write: tcpv4)"} (a write the
     *     kernel refused with EINVAL while its segments were taken). Off means the data plane cuts
     *     super-frames into segments in software before this port.
     */
    public String coalescedWrites()
    {
        if (vnetHeaderBytes == 0)
        {
            return "off (no virtio-net header)";
        }
        if (device.refusedGsoWrites() != 0)
        {
            return "off (refused when opened: " + TapDevice.describeGsoTypes(device.refusedGsoWrites()) + ")";
        }
        final int refused = refusedAtRun;
        return refused < 0 ? "on" : "off (refused on write: " + VirtioNetHeader.typeName(refused) + ")";
    }

    @Override
    public int id()
    {
        return id;
    }

    @Override
    public int kind()
    {
        return KIND_VNIC;
    }

    /**
     * @return the TAP queue this port reads and writes.
     */
    public TapDevice device()
    {
        return device;
    }

    /**
     * @return this port's counters (readable from any thread).
     */
    public EndpointCounters counters()
    {
        return counters;
    }

    /**
     * @return the errno of the last failed read (0 if none), for diagnostics.
     */
    public int lastRxErrno()
    {
        return (int)LAST_RX_ERRNO.getOpaque(this);
    }

    /**
     * @return the errno of the last failed write (0 if none), for diagnostics.
     */
    public int lastTxErrno()
    {
        return (int)LAST_TX_ERRNO.getOpaque(this);
    }

    @Override
    public int readinessFds(final int[] fds, final int offset)
    {
        final int descriptor = device.descriptor();
        if (descriptor < 0)
        {
            return -1;
        }
        fds[offset] = descriptor;
        return 1;
    }

    @Override
    public int receive(final Frame[] frames, final int max)
    {
        if (vnetHeaderBytes != 0)
        {
            return receiveWithHeader(frames, max);
        }
        int count = 0;
        long bytes = 0;
        while (count < max)
        {
            final Frame frame = pool.acquire();
            if (frame == null)
            {
                counters.increment(EndpointCounter.RX_POOL_EXHAUSTED);
                break;
            }
            final int length = device.read(frame.segment(), frame.start(), frame.tailroom());
            if (length <= 0)
            {
                frame.release();
                if (length < 0 && !(length == -Errno.EBADF && !device.isOpen()))
                {
                    LAST_RX_ERRNO.setOpaque(this, -length);
                    counters.increment(EndpointCounter.RX_ERRORS);
                }
                break;
            }
            frame.length(length);
            frame.port(id);
            frames[count++] = frame;
            bytes += length;
        }
        if (count > 0)
        {
            counters.add(EndpointCounter.RX_FRAMES, count);
            counters.add(EndpointCounter.RX_BYTES, bytes);
        }
        return count;
    }

    private int receiveWithHeader(final Frame[] frames, final int max)
    {
        int count = 0;
        long bytes = 0;
        int superCount = 0;
        long superBytes = 0;
        // Super-frames this read may keep: what the pool has free (the held spare included) above its
        // reserve, so that a guest with a deep queue leaves slots for the other ports and the coalescer.
        final int superBudget = superFrames ? superFrameBudget() : Integer.MAX_VALUE;
        int superTaken = 0;
        while (count < max)
        {
            Frame target;
            if (superFrames)
            {
                if (spare == null)
                {
                    spare = superPool.acquire();
                }
                target = spare;
            }
            else
            {
                target = pool.acquire();
            }
            if (target == null)
            {
                counters.increment(EndpointCounter.RX_POOL_EXHAUSTED);
                break;
            }
            final int at = target.start() - vnetHeaderBytes;
            final int read = device.read(target.segment(), at, target.tailroom() + vnetHeaderBytes);
            if (read <= 0)
            {
                if (!superFrames)
                {
                    target.release();
                }
                if (read < 0 && !(read == -Errno.EBADF && !device.isOpen()))
                {
                    LAST_RX_ERRNO.setOpaque(this, -read);
                    counters.increment(EndpointCounter.RX_ERRORS);
                }
                break;
            }
            final int length = read - vnetHeaderBytes;
            rxHeader.wrap(target.segment(), at);
            final int gsoType = rxHeader.gsoType();
            final int gsoSize = rxHeader.gsoSize();
            final boolean partial = (rxHeader.flags() & VirtioNetHeader.FLAG_NEEDS_CSUM) != 0;
            final int csumStart = rxHeader.csumStart();
            final int csumOffset = rxHeader.csumOffset();
            if (length <= 0 || (gsoType != VirtioNetHeader.GSO_NONE && gsoSize == 0) ||
                (partial && csumStart + csumOffset + 2 > length))
            {
                counters.increment(EndpointCounter.RX_BAD_VNET_HEADER);
                if (!superFrames)
                {
                    target.release();
                }
                continue;
            }
            final Frame frame;
            if (!superFrames)
            {
                frame = target;
                frame.length(length);
            }
            else if (gsoType == VirtioNetHeader.GSO_NONE && length <= pool.slotBytes() - pool.headroomBytes())
            {
                frame = pool.acquire();
                if (frame == null)
                {
                    counters.increment(EndpointCounter.RX_POOL_EXHAUSTED);
                    break;
                }
                frame.copyFrom(target.segment(), target.start(), length);
            }
            else
            {
                frame = target;
                frame.length(length);
                spare = null;
                superTaken++;
            }
            frame.port(id);
            if (gsoType != VirtioNetHeader.GSO_NONE)
            {
                frame.gso(gsoType, gsoSize);
                superCount++;
                superBytes += length;
            }
            if (partial)
            {
                frame.checksumPartial(csumStart, csumOffset);
            }
            frames[count++] = frame;
            bytes += length;
            if (superTaken == superBudget)
            {
                // the rest stays queued in the TAP for the next read
                counters.increment(EndpointCounter.RX_SUPER_RESERVE_STOPS);
                break;
            }
        }
        if (count > 0)
        {
            counters.add(EndpointCounter.RX_FRAMES, count);
            counters.add(EndpointCounter.RX_BYTES, bytes);
        }
        if (superCount > 0)
        {
            counters.add(EndpointCounter.RX_SUPER_FRAMES, superCount);
            counters.add(EndpointCounter.RX_SUPER_BYTES, superBytes);
        }
        return count;
    }

    /**
     * @return how many super-frames one read may hand over: the pool's free slots and the held spare
     *     less the reserve ({@link #SUPER_FRAME_RESERVE_PROPERTY}), at least one.
     */
    private int superFrameBudget()
    {
        final int free = superPool.sharedFree() + (spare != null ? 1 : 0);
        return Math.max(1, free - superReserve);
    }

    /**
     * Writes one frame, with its virtio-net header in the headroom when the device has one.
     *
     * @return the frame length when sent, or {@code -errno} (-EINVAL for a frame this port cannot write).
     */
    private int write(final Frame frame)
    {
        final int length = frame.length();
        if (vnetHeaderBytes == 0)
        {
            if (frame.isSuperFrame() || !ChecksumOffload.complete(frame))
            {
                return -Errno.EINVAL;
            }
            return device.write(frame.segment(), frame.start(), length);
        }
        if (frame.headroom() < vnetHeaderBytes)
        {
            return -Errno.EINVAL;
        }
        final int at = frame.start() - vnetHeaderBytes;
        final boolean partial = frame.checksumPartial();
        VirtioNetHeader.write(frame.segment(), at, vnetHeaderBytes, partial ? VirtioNetHeader.FLAG_NEEDS_CSUM : 0,
            frame.gsoType(), ChecksumOffload.headerLength(frame), frame.gsoSize(), partial ? frame.csumStart() : 0,
            partial ? frame.csumOffset() : 0);
        final int written = device.write(frame.segment(), at, length + vnetHeaderBytes);
        return written > 0 ? written - vnetHeaderBytes : written;
    }

    @Override
    public int transmit(final Frame[] frames, final int count)
    {
        int sent = 0;
        long bytes = 0;
        int drops = 0;
        int errors = 0;
        int superSent = 0;
        for (int i = 0; i < count; i++)
        {
            final Frame frame = frames[i];
            final int length = frame.length();
            boolean superFrame = frame.isSuperFrame();
            int result = write(frame);
            if (result == -Errno.EINVAL && superFrame)
            {
                result = writeSegments(frame);
                superFrame = false;
            }
            frame.release();
            if (result == length)
            {
                sent++;
                bytes += length;
                if (superFrame)
                {
                    superSent++;
                }
            }
            else
            {
                if (result == -Errno.EAGAIN || result == -Errno.ENOBUFS || result == -Errno.EIO)
                {
                    drops++;
                }
                else
                {
                    errors++;
                }
                LAST_TX_ERRNO.setOpaque(this, result < 0 ? -result : Errno.EIO);
            }
        }
        if (sent > 0)
        {
            counters.add(EndpointCounter.TX_FRAMES, sent);
            counters.add(EndpointCounter.TX_BYTES, bytes);
        }
        if (superSent > 0)
        {
            counters.add(EndpointCounter.TX_SUPER_FRAMES, superSent);
        }
        if (drops > 0)
        {
            counters.add(EndpointCounter.TX_DROPS, drops);
        }
        if (errors > 0)
        {
            counters.add(EndpointCounter.TX_ERRORS, errors);
        }
        return count;
    }

    /**
     * A super-frame the kernel refused whole (EINVAL): cut it in software and write the segments. When
     * every segment is taken the kernel refused the coalesced form, not the frame: the port stops
     * taking super-frames ({@link #txOffloads()} without {@link #OFFLOAD_SUPER_FRAMES}, so the worker
     * cuts them before this port from now on) and counts {@link EndpointCounter#TX_COALESCED_REFUSED}.
     * A frame that cannot be cut, or whose segments are refused too, stays a tx error. Cold path
     * (serialised: it runs only until the switch), nothing allocated.
     *
     * @return the super-frame's length when its segments were written, else {@code -EINVAL} or the
     *     first segment write's {@code -errno}.
     */
    private int writeSegments(final Frame superFrame)
    {
        synchronized (fallbackSegmenter)
        {
            final int count = fallbackSegmenter.segment(superFrame, pool, Segmenter.CHECKSUM_PARTIAL, fallbackSegments, 0);
            if (count <= 0)
            {
                return -Errno.EINVAL;
            }
            int result = superFrame.length();
            for (int i = 0; i < count; i++)
            {
                final Frame segment = fallbackSegments[i];
                fallbackSegments[i] = null;
                if (result > 0)
                {
                    final int written = write(segment);
                    if (written != segment.length())
                    {
                        result = written < 0 ? written : -Errno.EIO;
                    }
                }
                segment.release();
            }
            if (result > 0 || result == -Errno.EAGAIN || result == -Errno.ENOBUFS)
            {
                // the segments went (or met a full queue): the coalesced form was what the kernel refused
                if ((txOffloads & OFFLOAD_SUPER_FRAMES) != 0)
                {
                    refusedAtRun = superFrame.gsoType();
                    txOffloads = txOffloads & ~OFFLOAD_SUPER_FRAMES;
                    final Runnable listener = offloadsListener;
                    if (listener != null)
                    {
                        listener.run();
                    }
                }
                counters.increment(EndpointCounter.TX_COALESCED_REFUSED);
            }
            return result;
        }
    }

    /**
     * Closes the TAP queue (idempotent). Calls racing it return nothing or count drops/errors.
     */
    @Override
    public void close()
    {
        device.close();
        final Frame held = spare;
        if (held != null)
        {
            // The held read buffer goes back once the descriptor is closed (no read can be under way in it
            // after the owning worker stopped polling this port; a racing one only sees EBADF).
            spare = null;
            held.release();
        }
    }

    @Override
    public String toString()
    {
        return "TapPort{id=" + id + ", " + device.name() + ", " + counters + '}';
    }
}
