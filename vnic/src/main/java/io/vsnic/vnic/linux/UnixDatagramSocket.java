package io.vsnic.vnic.linux;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;

/**
 * A non-blocking unix datagram socket ({@code socket(AF_UNIX, SOCK_DGRAM)}) bound to a path, through
 * the FFM API: the JDK's channels support unix domain sockets only as streams. One
 * {@link #receive} returns one datagram; one {@link #send} sends one, atomically, so several threads
 * may send at once. {@link #close} is idempotent and removes the socket file.
 */
public final class UnixDatagramSocket implements AutoCloseable
{
    /** {@code sizeof(sun_path)}. */
    public static final int MAX_PATH_BYTES = 108;
    private static final int SUN_PATH_OFFSET = 2;
    private static final int S_IFMT = 0170000;
    private static final int S_IFSOCK = 0140000;

    private final NativeFd fd;
    private final Path path;

    private UnixDatagramSocket(final NativeFd fd, final Path path)
    {
        this.fd = fd;
        this.path = path;
    }

    /**
     * Binds a new socket to {@code path}, replacing a stale socket file there (a datagram socket
     * cannot tell whether another process still owns it: give each endpoint its own path).
     *
     * @throws IOException when the path exists and is not a socket, or the socket cannot be bound.
     */
    public static UnixDatagramSocket bind(final Path path) throws IOException
    {
        final MemorySegment address = address(path, Arena.ofAuto());
        if (Files.exists(path, LinkOption.NOFOLLOW_LINKS))
        {
            final int mode = (Integer)Files.getAttribute(path, "unix:mode", LinkOption.NOFOLLOW_LINKS);
            if ((mode & S_IFMT) != S_IFSOCK)
            {
                throw new IOException("cannot bind " + path + ": it exists and is not a socket");
            }
            Files.delete(path);
        }
        final int number = LibC.socket(LibC.AF_UNIX, LibC.SOCK_DGRAM | LibC.SOCK_NONBLOCK | LibC.SOCK_CLOEXEC, 0);
        if (number < 0)
        {
            throw new IOException("socket(AF_UNIX, SOCK_DGRAM): " + Errno.name(number));
        }
        final NativeFd fd = new NativeFd(number);
        final int bound = LibC.bind(number, address);
        if (bound < 0)
        {
            fd.close();
            throw new IOException("bind " + path + ": " + Errno.name(bound));
        }
        return new UnixDatagramSocket(fd, path);
    }

    /**
     * Encodes {@code struct sockaddr_un} for a path, sized to the path (family, path, NUL).
     *
     * @throws IllegalArgumentException when the path is longer than {@code sun_path} allows.
     */
    public static MemorySegment address(final Path path, final Arena arena)
    {
        final byte[] bytes = path.toString().getBytes(StandardCharsets.UTF_8);
        if (bytes.length == 0 || bytes.length >= MAX_PATH_BYTES)
        {
            throw new IllegalArgumentException("unix socket path must be 1.." + (MAX_PATH_BYTES - 1) + " bytes: " + path);
        }
        final MemorySegment address = arena.allocate(SUN_PATH_OFFSET + bytes.length + 1, 2);
        address.set(JAVA_SHORT, 0, (short)LibC.AF_UNIX);
        MemorySegment.copy(bytes, 0, address, JAVA_BYTE, SUN_PATH_OFFSET, bytes.length);
        address.set(JAVA_BYTE, SUN_PATH_OFFSET + bytes.length, (byte)0);
        return address;
    }

    /**
     * @return the path this socket is bound to.
     */
    public Path path()
    {
        return path;
    }

    /**
     * Receives one datagram into {@code segment[offset, offset + capacity)}.
     *
     * @return its full length (larger than {@code capacity} when it was cut; 0 for an empty
     *     datagram), or {@code -errno}: {@code -EAGAIN} when none is waiting, {@code -EBADF} after close.
     */
    public long receive(final MemorySegment segment, final long offset, final long capacity)
    {
        return fd.recv(segment, offset, capacity, LibC.MSG_TRUNC);
    }

    /**
     * Sends one datagram to the socket at {@code destination} (see {@link #address}).
     *
     * @return the bytes sent, or {@code -errno}: {@code -EAGAIN} when the receiver's queue is full,
     *     {@code -ENOENT}/{@code -ECONNREFUSED} when nothing is bound there.
     */
    public long send(final MemorySegment segment, final long offset, final long length, final MemorySegment destination)
    {
        return fd.sendto(segment, offset, length, 0, destination);
    }

    /**
     * Waits up to {@code timeoutMs} for a datagram.
     *
     * @return true when one is waiting.
     */
    public boolean awaitReadable(final int timeoutMs)
    {
        final int events = fd.poll(LibC.POLLIN, timeoutMs);
        return events > 0 && (events & LibC.POLLIN) != 0;
    }

    /**
     * @return the descriptor number (for {@code poll(2)} by the worker that owns the port), or -1 once closed.
     */
    public int descriptor()
    {
        return fd.isOpen() ? fd.number() : -1;
    }

    /**
     * @return false once closed.
     */
    public boolean isOpen()
    {
        return fd.isOpen();
    }

    /**
     * Closes the socket and removes its file. Idempotent.
     */
    @Override
    public void close() throws IOException
    {
        if (fd.isOpen())
        {
            fd.close();
            Files.deleteIfExists(path);
        }
    }
}
