package io.vsnic.vnic.qemu;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.concurrent.locks.ReentrantLock;

import io.vsnic.dataplane.buffer.Frame;
import io.vsnic.dataplane.buffer.FramePool;
import io.vsnic.dataplane.pipeline.Port;
import io.vsnic.vnic.EndpointCounter;
import io.vsnic.vnic.EndpointCounters;

/**
 * A data plane port whose VM endpoint is QEMU's {@code -netdev stream} on a unix stream socket:
 * vsnic listens on a path, QEMU connects with
 * {@code -netdev stream,id=n0,server=off,addr.type=unix,addr.path=PATH} (or, with {@link #connect},
 * QEMU listens with {@code server=on} and vsnic connects), and each Ethernet frame
 * travels as a 4-byte big-endian length followed by the frame.
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                 frame length (1..65535), network order          |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                 Ethernet frame (length bytes, no FCS)  ...      |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * </pre>
 *
 * <p>Receive (owning worker only): accepts a connection when there is none (one peer at a time;
 * the next one waits in the backlog), reads into a reassembly buffer, so a length prefix or a frame
 * split across reads is put back together, and copies each whole frame into a pool frame after
 * the headroom. A length of 0 or above 65535 cannot come from QEMU: it is counted
 * ({@link EndpointCounter#RX_BAD_LENGTH}) and the connection is closed. A frame longer than a pool
 * slot is skipped ({@link EndpointCounter#RX_OVERSIZE}); when the pool is empty the frame stays
 * buffered for the next round ({@link EndpointCounter#RX_POOL_EXHAUSTED}). When the peer goes
 * away the port keeps listening and takes the next connection.
 *
 * <p>Transmit (any worker): frames are copied, prefixed, into a transmit buffer under a lock (a
 * stream must not interleave two frames, and a non-blocking write may take only part of one) and
 * flushed; what the socket does not take now is flushed by the next transmit or receive. With no
 * peer, or no room in the buffer, a frame is a {@link EndpointCounter#TX_DROPS drop}; the port
 * releases every frame it is given.
 *
 * <p>Nothing is allocated per frame.
 */
public final class QemuStreamPort implements Port, AutoCloseable
{
    /** Bytes of the length prefix. */
    public static final int LENGTH_PREFIX_BYTES = 4;
    /** Largest frame length a prefix may announce. */
    public static final int MAX_FRAME_BYTES = 65535;
    /** Reassembly and transmit buffer size: several whole maximum frames. */
    public static final int BUFFER_BYTES = 256 * 1024;

    private static final int S_IFMT = 0170000;
    private static final int S_IFSOCK = 0140000;
    private static final ValueLayout.OfInt LENGTH = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    private final int id;
    private final FramePool pool;
    private final Path socketPath;
    private final EndpointCounters counters = new EndpointCounters();

    private final MemorySegment rxMemory;
    private final ByteBuffer rxBuffer;
    private int rxReadIndex;
    /** Set by {@link #parse} when a whole frame waits but the pool is empty: stop this round. */
    private boolean stalled;

    private final ReentrantLock txLock = new ReentrantLock();
    private final MemorySegment txMemory;
    private final ByteBuffer txBuffer;
    /** Whether {@link #txBuffer} holds bytes not yet written; set under {@link #txLock}, read by the owner without it. */
    private volatile boolean txPending;

    /** Null when the port {@link #connect connected} to QEMU's listener. */
    private final ServerSocketChannel server;
    private volatile SocketChannel connection;
    private volatile boolean closed;

    /**
     * Listens on {@code socketPath}. A stale socket file left by a process that is gone is replaced;
     * a path some process still listens on is refused.
     *
     * @param id         the data plane port id.
     * @param pool       the data plane's frame pool.
     * @param socketPath where QEMU connects ({@code addr.path}).
     * @throws IOException when the path is in use or cannot be bound.
     */
    public QemuStreamPort(final int id, final FramePool pool, final Path socketPath) throws IOException
    {
        this(id, pool, socketPath, listen(socketPath), null);
    }

    private QemuStreamPort(final int id, final FramePool pool, final Path socketPath, final ServerSocketChannel server,
        final SocketChannel connection)
    {
        this.id = id;
        this.pool = pool;
        this.socketPath = socketPath;
        this.server = server;
        this.connection = connection;
        final Arena arena = Arena.ofAuto();
        this.rxMemory = arena.allocate(BUFFER_BYTES, 64);
        this.rxBuffer = rxMemory.asByteBuffer().order(ByteOrder.BIG_ENDIAN);
        this.txMemory = arena.allocate(BUFFER_BYTES, 64);
        this.txBuffer = txMemory.asByteBuffer().order(ByteOrder.BIG_ENDIAN);
    }

    /**
     * Connects to a socket QEMU listens on ({@code -netdev stream,server=on,addr.type=unix,addr.path=PATH}).
     * The port serves that one connection: when QEMU goes away it stays disconnected (transmitted
     * frames are {@link EndpointCounter#TX_DROPS drops}) and {@link #connected()} turns false; a new
     * port connects again. The socket file belongs to QEMU and is left alone on {@link #close()}.
     *
     * @param id         the data plane port id.
     * @param pool       the data plane's frame pool.
     * @param socketPath where QEMU listens.
     * @throws IOException when nothing listens there (no socket file, connection refused) or its backlog is full;
     *                     the connect never blocks.
     */
    public static QemuStreamPort connect(final int id, final FramePool pool, final Path socketPath) throws IOException
    {
        final SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        try
        {
            // non-blocking: a listener whose backlog is full fails now (EAGAIN) instead of blocking the caller
            channel.configureBlocking(false);
            if (!channel.connect(UnixDomainSocketAddress.of(socketPath)) && !channel.finishConnect())
            {
                throw new IOException("connecting to " + socketPath + " did not complete");
            }
        }
        catch (final IOException ex)
        {
            channel.close();
            throw ex;
        }
        final QemuStreamPort port = new QemuStreamPort(id, pool, socketPath, null, channel);
        port.counters.increment(EndpointCounter.CONNECTIONS);
        return port;
    }

    private static ServerSocketChannel listen(final Path socketPath) throws IOException
    {
        final UnixDomainSocketAddress address = UnixDomainSocketAddress.of(socketPath);
        removeStaleSocket(socketPath);
        final ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        try
        {
            server.bind(address, 4);
            server.configureBlocking(false);
        }
        catch (final IOException ex)
        {
            server.close();
            throw new IOException("cannot listen on " + socketPath + ": " + ex.getMessage(), ex);
        }
        return server;
    }

    /**
     * Deletes a socket file nobody listens on (left by a process that died); refuses a path that
     * is in use or is not a socket.
     */
    static void removeStaleSocket(final Path path) throws IOException
    {
        if (!Files.exists(path, LinkOption.NOFOLLOW_LINKS))
        {
            return;
        }
        final int mode = (Integer)Files.getAttribute(path, "unix:mode", LinkOption.NOFOLLOW_LINKS);
        if ((mode & S_IFMT) != S_IFSOCK)
        {
            throw new IOException("cannot listen on " + path + ": it exists and is not a socket");
        }
        boolean listening;
        try (SocketChannel probe = SocketChannel.open(UnixDomainSocketAddress.of(path)))
        {
            listening = probe.isConnected();
        }
        catch (final IOException refused)
        {
            listening = false;
        }
        if (listening)
        {
            throw new IOException("cannot listen on " + path + ": another process is listening there");
        }
        Files.deleteIfExists(path);
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
     * @return the path QEMU connects to.
     */
    public Path socketPath()
    {
        return socketPath;
    }

    /**
     * @return true when this port connected to QEMU's listener ({@link #connect}) rather than listening itself.
     */
    public boolean connecting()
    {
        return server == null;
    }

    /**
     * @return true while a peer is connected.
     */
    public boolean connected()
    {
        final SocketChannel current = connection;
        return current != null && current.isOpen();
    }

    /**
     * @return this port's counters (readable from any thread).
     */
    public EndpointCounters counters()
    {
        return counters;
    }

    @Override
    public int receive(final Frame[] frames, final int max)
    {
        if (closed)
        {
            return 0;
        }
        flushPendingIfFree();
        SocketChannel channel = connection;
        if (channel == null || !channel.isOpen())
        {
            if (channel != null)
            {
                disconnect(channel);
            }
            channel = accept();
            if (channel == null)
            {
                return 0;
            }
        }
        int count = 0;
        long bytes = 0;
        while (count < max)
        {
            final int parsed = parse(frames, count, max, channel);
            for (int i = count; i < count + parsed; i++)
            {
                bytes += frames[i].length();
            }
            count += parsed;
            if (count == max || connection != channel || stalled)
            {
                break;
            }
            if (!fill(channel))
            {
                break;
            }
        }
        stalled = false;
        if (count > 0)
        {
            counters.add(EndpointCounter.RX_FRAMES, count);
            counters.add(EndpointCounter.RX_BYTES, bytes);
        }
        return count;
    }

    private SocketChannel accept()
    {
        if (server == null)
        {
            return null;  // connected to QEMU's listener: its one connection is over
        }
        try
        {
            final SocketChannel accepted = server.accept();
            if (accepted == null)
            {
                return null;
            }
            accepted.configureBlocking(false);
            rxBuffer.clear();
            rxReadIndex = 0;
            txLock.lock();
            try
            {
                txBuffer.clear();
                txPending = false;
                connection = accepted;
            }
            finally
            {
                txLock.unlock();
            }
            counters.increment(EndpointCounter.CONNECTIONS);
            return accepted;
        }
        catch (final IOException ex)
        {
            counters.increment(EndpointCounter.RX_ERRORS);
            return null;
        }
    }

    /**
     * Reads what the socket has into the reassembly buffer.
     *
     * @return true when bytes arrived; false when none were waiting or the connection ended.
     */
    private boolean fill(final SocketChannel channel)
    {
        if (rxReadIndex == rxBuffer.position())
        {
            rxBuffer.clear();
            rxReadIndex = 0;
        }
        else if (rxBuffer.remaining() < LENGTH_PREFIX_BYTES + MAX_FRAME_BYTES)
        {
            final int pending = rxBuffer.position() - rxReadIndex;
            MemorySegment.copy(rxMemory, rxReadIndex, rxMemory, 0, pending);
            rxBuffer.clear().position(pending);
            rxReadIndex = 0;
        }
        try
        {
            final int read = channel.read(rxBuffer);
            if (read < 0)
            {
                disconnect(channel);
                return false;
            }
            return read > 0;
        }
        catch (final IOException ex)
        {
            counters.increment(EndpointCounter.RX_ERRORS);
            disconnect(channel);
            return false;
        }
    }

    /**
     * Moves the whole frames in the reassembly buffer into {@code frames[from..max)}.
     *
     * @return how many it moved.
     */
    private int parse(final Frame[] frames, final int from, final int max, final SocketChannel channel)
    {
        int count = from;
        while (count < max)
        {
            final int available = rxBuffer.position() - rxReadIndex;
            if (available < LENGTH_PREFIX_BYTES)
            {
                break;
            }
            final int length = rxMemory.get(LENGTH, rxReadIndex);
            if (length <= 0 || length > MAX_FRAME_BYTES)
            {
                counters.increment(EndpointCounter.RX_BAD_LENGTH);
                disconnect(channel);
                break;
            }
            if (available < LENGTH_PREFIX_BYTES + length)
            {
                break;
            }
            final int frameOffset = rxReadIndex + LENGTH_PREFIX_BYTES;
            if (length > pool.slotBytes() - pool.headroomBytes())
            {
                counters.increment(EndpointCounter.RX_OVERSIZE);
                rxReadIndex = frameOffset + length;
                continue;
            }
            final Frame frame = pool.acquire();
            if (frame == null)
            {
                counters.increment(EndpointCounter.RX_POOL_EXHAUSTED);
                stalled = true;
                break;
            }
            frame.copyFrom(rxMemory, frameOffset, length);
            frame.port(id);
            frames[count++] = frame;
            rxReadIndex = frameOffset + length;
        }
        return count - from;
    }

    /**
     * Ends the connection (owner thread only): the port listens for the next one.
     */
    private void disconnect(final SocketChannel channel)
    {
        txLock.lock();
        try
        {
            if (connection == channel)
            {
                connection = null;
                txBuffer.clear();
                txPending = false;
                counters.increment(EndpointCounter.DISCONNECTS);
            }
        }
        finally
        {
            txLock.unlock();
        }
        rxBuffer.clear();
        rxReadIndex = 0;
        closeQuietly(channel);
    }

    private static void closeQuietly(final SocketChannel channel)
    {
        try
        {
            channel.close();
        }
        catch (final IOException ignored)
        {
            // closing a socket that already failed
        }
    }

    private void flushPendingIfFree()
    {
        if (txPending && txLock.tryLock())
        {
            try
            {
                final SocketChannel channel = connection;
                if (channel != null)
                {
                    flush(channel);
                }
            }
            finally
            {
                txLock.unlock();
            }
        }
    }

    /** Writes what the socket takes now; caller holds {@link #txLock}. */
    private void flush(final SocketChannel channel)
    {
        if (txBuffer.position() == 0)
        {
            return;
        }
        txBuffer.flip();
        try
        {
            channel.write(txBuffer);
            txBuffer.compact();
        }
        catch (final IOException ex)
        {
            counters.increment(EndpointCounter.TX_ERRORS);
            txBuffer.clear();
            // The owner sees the closed channel on its next receive and counts the disconnect.
            closeQuietly(channel);
        }
        txPending = txBuffer.position() != 0;
    }

    @Override
    public int transmit(final Frame[] frames, final int count)
    {
        int sent = 0;
        long bytes = 0;
        int drops = 0;
        int errors = 0;
        txLock.lock();
        try
        {
            final SocketChannel channel = closed ? null : connection;
            final boolean open = channel != null && channel.isOpen();
            for (int i = 0; i < count; i++)
            {
                final Frame frame = frames[i];
                final int length = frame.length();
                if (!open)
                {
                    drops++;
                }
                else if (length <= 0 || length > MAX_FRAME_BYTES)
                {
                    errors++;
                }
                else
                {
                    if (txBuffer.remaining() < LENGTH_PREFIX_BYTES + length)
                    {
                        flush(channel);
                    }
                    if (txBuffer.remaining() < LENGTH_PREFIX_BYTES + length)
                    {
                        drops++;
                    }
                    else
                    {
                        final int at = txBuffer.position();
                        txMemory.set(LENGTH, at, length);
                        MemorySegment.copy(frame.segment(), frame.start(), txMemory, at + LENGTH_PREFIX_BYTES, length);
                        txBuffer.position(at + LENGTH_PREFIX_BYTES + length);
                        sent++;
                        bytes += length;
                    }
                }
                frame.release();
            }
            if (open)
            {
                flush(channel);
            }
        }
        finally
        {
            txLock.unlock();
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
     * Stops listening, closes the connection and removes the socket file (a port that
     * {@link #connect connected} leaves QEMU's socket file alone). Idempotent.
     */
    @Override
    public void close() throws IOException
    {
        if (closed)
        {
            return;
        }
        closed = true;
        txLock.lock();
        try
        {
            final SocketChannel channel = connection;
            connection = null;
            if (channel != null)
            {
                closeQuietly(channel);
            }
        }
        finally
        {
            txLock.unlock();
        }
        if (server != null)
        {
            server.close();
            Files.deleteIfExists(socketPath);
        }
    }

    @Override
    public String toString()
    {
        return "QemuStreamPort{id=" + id + ", " + socketPath + (connected() ? ", connected" : "") + ", " + counters + '}';
    }
}
