package io.vsnic.vnic.qemu;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.file.Path;

import io.vsnic.dataplane.buffer.Frame;
import io.vsnic.dataplane.buffer.FramePool;
import io.vsnic.dataplane.pipeline.Port;
import io.vsnic.vnic.EndpointCounter;
import io.vsnic.vnic.EndpointCounters;
import io.vsnic.vnic.linux.Errno;
import io.vsnic.vnic.linux.UnixDatagramSocket;

/**
 * A data plane port whose VM endpoint is QEMU's {@code -netdev dgram} on unix datagram sockets:
 * one Ethernet frame per datagram, no framing. vsnic binds {@code localPath}; QEMU binds its own
 * path and sends to ours:
 * {@code -netdev dgram,id=n0,local.type=unix,local.path=QPATH,remote.type=unix,remote.path=VSNICPATH},
 * with this port built as {@code new QemuDgramPort(id, pool, VSNICPATH, QPATH)}.
 *
 * <p>Receive (owning worker only): one {@code recv(2)} per frame, straight into a pool frame after
 * the headroom; a datagram longer than the slot is dropped ({@link EndpointCounter#RX_OVERSIZE}),
 * an empty one is ignored. Transmit (any workers at once): one {@code sendto(2)} per frame, which the
 * kernel keeps whole; a full receiver queue (EAGAIN, ENOBUFS) or a peer not yet bound (ENOENT,
 * ECONNREFUSED) is a {@link EndpointCounter#TX_DROPS drop}. The port releases every frame it is
 * given. Nothing is allocated per frame.
 */
public final class QemuDgramPort implements Port, AutoCloseable
{
    private static final VarHandle LAST_TX_ERRNO;

    static
    {
        try
        {
            LAST_TX_ERRNO = MethodHandles.lookup().findVarHandle(QemuDgramPort.class, "lastTxErrno", int.class);
        }
        catch (final ReflectiveOperationException ex)
        {
            throw new ExceptionInInitializerError(ex);
        }
    }

    private final int id;
    private final FramePool pool;
    private final UnixDatagramSocket socket;
    private final Path remotePath;
    private final MemorySegment remoteAddress;
    private final EndpointCounters counters = new EndpointCounters();
    @SuppressWarnings("unused")
    private int lastTxErrno;

    /**
     * @param id         the data plane port id.
     * @param pool       the data plane's frame pool.
     * @param localPath  the path vsnic binds (QEMU's {@code remote.path}).
     * @param remotePath the path QEMU binds (QEMU's {@code local.path}), where frames are sent.
     * @throws IOException when the local path cannot be bound.
     */
    public QemuDgramPort(final int id, final FramePool pool, final Path localPath, final Path remotePath) throws IOException
    {
        this.id = id;
        this.pool = pool;
        this.remotePath = remotePath;
        this.remoteAddress = UnixDatagramSocket.address(remotePath, Arena.ofAuto());
        this.socket = UnixDatagramSocket.bind(localPath);
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
     * @return the path this port is bound to.
     */
    public Path localPath()
    {
        return socket.path();
    }

    /**
     * @return the path frames are sent to.
     */
    public Path remotePath()
    {
        return remotePath;
    }

    /**
     * @return this port's counters (readable from any thread).
     */
    public EndpointCounters counters()
    {
        return counters;
    }

    /**
     * @return the errno of the last failed send (0 if none), for diagnostics.
     */
    public int lastTxErrno()
    {
        return (int)LAST_TX_ERRNO.getOpaque(this);
    }

    @Override
    public int readinessFds(final int[] fds, final int offset)
    {
        final int descriptor = socket.descriptor();
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
        int count = 0;
        long bytes = 0;
        int datagrams = 0;
        while (count < max && datagrams++ < max)
        {
            final Frame frame = pool.acquire();
            if (frame == null)
            {
                counters.increment(EndpointCounter.RX_POOL_EXHAUSTED);
                break;
            }
            final int capacity = frame.tailroom();
            final long length = socket.receive(frame.segment(), frame.start(), capacity);
            if (length > capacity)
            {
                frame.release();
                counters.increment(EndpointCounter.RX_OVERSIZE);
                continue;
            }
            if (length <= 0)
            {
                frame.release();
                if (length == 0)
                {
                    continue;
                }
                if (length != -Errno.EAGAIN && socket.isOpen())
                {
                    counters.increment(EndpointCounter.RX_ERRORS);
                }
                break;
            }
            frame.length((int)length);
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
            final long result = socket.send(frame.segment(), frame.start(), length, remoteAddress);
            frame.release();
            if (result == length)
            {
                sent++;
                bytes += length;
                continue;
            }
            final int errno = result < 0 ? (int)-result : Errno.EMSGSIZE;
            if (errno == Errno.EAGAIN || errno == Errno.ENOBUFS || errno == Errno.ENOENT || errno == Errno.ECONNREFUSED)
            {
                drops++;
            }
            else
            {
                errors++;
            }
            LAST_TX_ERRNO.setOpaque(this, errno);
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
     * Closes the socket and removes its file. Idempotent.
     */
    @Override
    public void close() throws IOException
    {
        socket.close();
    }

    @Override
    public String toString()
    {
        return "QemuDgramPort{id=" + id + ", " + socket.path() + " -> " + remotePath + ", " + counters + '}';
    }
}
