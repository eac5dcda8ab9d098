package io.vsnic.vnic.qemu;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.locks.LockSupport;

/**
 * A plain Java peer that speaks QEMU's {@code -netdev stream} framing (4-byte big-endian length,
 * then the frame), standing in for QEMU in tests. Non-blocking underneath so that every read has a
 * deadline.
 */
final class StreamClient implements AutoCloseable
{
    private final SocketChannel channel;

    private StreamClient(final SocketChannel channel)
    {
        this.channel = channel;
    }

    static StreamClient connect(final Path path) throws IOException
    {
        final SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        channel.connect(UnixDomainSocketAddress.of(path));
        channel.configureBlocking(false);
        return new StreamClient(channel);
    }

    /** QEMU with {@code server=on}: the side that accepted the port's connection. */
    static StreamClient accepted(final SocketChannel channel) throws IOException
    {
        channel.configureBlocking(false);
        return new StreamClient(channel);
    }

    static byte[] prefixed(final byte[] frame)
    {
        return ByteBuffer.allocate(4 + frame.length).order(ByteOrder.BIG_ENDIAN).putInt(frame.length).put(frame).array();
    }

    void sendFrame(final byte[] frame) throws IOException
    {
        sendRaw(prefixed(frame));
    }

    void sendRaw(final byte[] bytes) throws IOException
    {
        final ByteBuffer buffer = ByteBuffer.wrap(bytes);
        final long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (buffer.hasRemaining())
        {
            if (channel.write(buffer) == 0)
            {
                if (System.nanoTime() > deadline)
                {
                    throw new IOException("peer did not take " + buffer.remaining() + " bytes within 10 s");
                }
                LockSupport.parkNanos(100_000);
            }
        }
    }

    /**
     * @return exactly {@code length} bytes, or null when the peer closed first.
     * @throws IOException on timeout.
     */
    byte[] readExactly(final int length, final Duration timeout) throws IOException
    {
        final ByteBuffer buffer = ByteBuffer.allocate(length);
        final long deadline = System.nanoTime() + timeout.toNanos();
        while (buffer.hasRemaining())
        {
            final int read = channel.read(buffer);
            if (read < 0)
            {
                return null;
            }
            if (read == 0)
            {
                if (System.nanoTime() > deadline)
                {
                    throw new IOException("timed out with " + buffer.position() + " of " + length + " bytes");
                }
                LockSupport.parkNanos(100_000);
            }
        }
        return buffer.array();
    }

    /**
     * @return the next frame, or null when the peer closed.
     */
    byte[] readFrame(final Duration timeout) throws IOException
    {
        final byte[] prefix = readExactly(4, timeout);
        if (prefix == null)
        {
            return null;
        }
        final int length = ByteBuffer.wrap(prefix).order(ByteOrder.BIG_ENDIAN).getInt();
        return readExactly(length, timeout);
    }

    /**
     * @return true when the peer closed the connection within the timeout.
     */
    boolean awaitClosedByPeer(final Duration timeout) throws IOException
    {
        final ByteBuffer buffer = ByteBuffer.allocate(4096);
        final long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline)
        {
            try
            {
                final int read = channel.read(buffer);
                if (read < 0)
                {
                    return true;
                }
            }
            catch (final IOException reset)
            {
                return true;
            }
            buffer.clear();
            LockSupport.parkNanos(1_000_000);
        }
        return false;
    }

    @Override
    public void close() throws IOException
    {
        channel.close();
    }
}
