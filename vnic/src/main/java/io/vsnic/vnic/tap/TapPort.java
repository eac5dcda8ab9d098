package io.vsnic.vnic.tap;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

import io.vsnic.dataplane.buffer.Frame;
import io.vsnic.dataplane.buffer.FramePool;
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
        if (device == null || pool == null)
        {
            throw new IllegalArgumentException("device and pool are required");
        }
        this.id = id;
        this.device = device;
        this.pool = pool;
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
    public int receive(final Frame[] frames, final int max)
    {
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

    @Override
    public int transmit(final Frame[] frames, final int count)
    {
        int sent = 0;
        long bytes = 0;
        int drops = 0;
        int errors = 0;
        for (int i = 0; i < count; i++)
        {
            final Frame frame = frames[i];
            final int length = frame.length();
            final int result = device.write(frame.segment(), frame.start(), length);
            frame.release();
            if (result == length)
            {
                sent++;
                bytes += length;
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
     * Closes the TAP queue (idempotent). Calls racing it return nothing or count drops/errors.
     */
    @Override
    public void close()
    {
        device.close();
    }

    @Override
    public String toString()
    {
        return "TapPort{id=" + id + ", " + device.name() + ", " + counters + '}';
    }
}
