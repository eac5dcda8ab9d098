package io.vsnic.vnic.linux;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.util.Objects;

/**
 * The few libc calls the vNIC endpoints need, bound once through the FFM {@link Linker} with
 * {@code errno} captured ({@link Linker.Option#captureCallState}). Every call returns its result,
 * or a negated errno on failure ({@code -EAGAIN}, ...), so callers branch on a number instead of
 * catching exceptions; EINTR is retried except by {@link #close}, which Linux must not repeat.
 *
 * <p>Data-path calls ({@link #read}, {@link #write}, {@link #recv}, {@link #sendto}) take a native
 * segment plus an offset and pass the raw address as a 64-bit integer (the same register class as
 * a pointer on x86-64 and AArch64), so that a per-frame call allocates no slice. They check bounds
 * and liveness themselves; the caller must keep the segment's arena open for the duration of the
 * call (a {@code FramePool} is closed only after its ports).
 *
 * <p>Thread safety: every method may be called from any thread; the errno capture buffer is per
 * thread and allocated once.
 */
public final class LibC
{
    /** {@code open(2)} flags. */
    public static final int O_RDWR = 2;
    public static final int O_NONBLOCK = 0x800;
    public static final int O_CLOEXEC = 0x80000;
    /** {@code fcntl(2)} commands. */
    public static final int F_GETFL = 3;
    public static final int F_SETFL = 4;
    /** {@code poll(2)} events. */
    public static final short POLLIN = 0x1;
    public static final short POLLOUT = 0x4;
    /** Socket constants. */
    public static final int AF_UNIX = 1;
    public static final int SOCK_DGRAM = 2;
    public static final int SOCK_NONBLOCK = 0x800;
    public static final int SOCK_CLOEXEC = 0x80000;
    public static final int MSG_TRUNC = 0x20;
    public static final int MSG_DONTWAIT = 0x40;
    /** Largest interface name including the terminating NUL ({@code IFNAMSIZ}). */
    public static final int IFNAMSIZ = 16;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final StructLayout CALL_STATE_LAYOUT = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO =
        CALL_STATE_LAYOUT.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final Linker.Option CAPTURE_ERRNO = Linker.Option.captureCallState("errno");
    private static final ThreadLocal<MemorySegment> CALL_STATE =
        ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(CALL_STATE_LAYOUT));

    private static final MethodHandle OPEN = bind("open",
        FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), CAPTURE_ERRNO, Linker.Option.firstVariadicArg(2));
    private static final MethodHandle CLOSE = bind("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT), CAPTURE_ERRNO);
    private static final MethodHandle READ = bind("read",
        FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG), CAPTURE_ERRNO);
    private static final MethodHandle WRITE = bind("write",
        FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG), CAPTURE_ERRNO);
    private static final MethodHandle IOCTL_POINTER = bind("ioctl",
        FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS), CAPTURE_ERRNO, Linker.Option.firstVariadicArg(2));
    private static final MethodHandle IOCTL_VALUE = bind("ioctl",
        FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG), CAPTURE_ERRNO, Linker.Option.firstVariadicArg(2));
    private static final MethodHandle FCNTL = bind("fcntl",
        FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT), CAPTURE_ERRNO, Linker.Option.firstVariadicArg(2));
    private static final MethodHandle POLL = bind("poll",
        FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT), CAPTURE_ERRNO);
    private static final MethodHandle IF_NAMETOINDEX = bind("if_nametoindex",
        FunctionDescriptor.of(JAVA_INT, ADDRESS), CAPTURE_ERRNO);
    private static final MethodHandle SOCKET = bind("socket",
        FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT), CAPTURE_ERRNO);
    private static final MethodHandle BIND = bind("bind",
        FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT), CAPTURE_ERRNO);
    private static final MethodHandle RECV = bind("recv",
        FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT), CAPTURE_ERRNO);
    private static final MethodHandle SETNS = bind("setns",
        FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT), CAPTURE_ERRNO);
    private static final MethodHandle SENDTO = bind("sendto",
        FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT), CAPTURE_ERRNO);

    private LibC()
    {
    }

    // Restricted by design: this class is the module's one door to native code.
    @SuppressWarnings("restricted")
    private static MethodHandle bind(final String name, final FunctionDescriptor descriptor, final Linker.Option... options)
    {
        final MemorySegment symbol = LIBC.find(name)
            .orElseThrow(() -> new UnsatisfiedLinkError("libc symbol not found: " + name));
        return LINKER.downcallHandle(symbol, descriptor, options);
    }

    private static int errno(final MemorySegment state)
    {
        return (int)ERRNO.get(state, 0L);
    }

    private static IllegalStateException unexpected(final String call, final Throwable ex)
    {
        return new IllegalStateException("native call " + call + " failed", ex);
    }

    private static long address(final MemorySegment segment, final long offset, final long length)
    {
        if (!segment.isNative())
        {
            throw new IllegalArgumentException("segment must be native");
        }
        if (!segment.scope().isAlive())
        {
            throw new IllegalStateException("segment's arena is closed");
        }
        Objects.checkFromIndexSize(offset, length, segment.byteSize());
        return segment.address() + offset;
    }

    /**
     * {@code open(path, flags)}.
     *
     * @return a file descriptor, or {@code -errno}.
     */
    public static int open(final String path, final int flags)
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment cPath = arena.allocateFrom(path);
            final MemorySegment state = CALL_STATE.get();
            while (true)
            {
                final int fd = (int)OPEN.invokeExact(state, cPath, flags, 0);
                if (fd >= 0)
                {
                    return fd;
                }
                final int errno = errno(state);
                if (errno != Errno.EINTR)
                {
                    return -errno;
                }
            }
        }
        catch (final Throwable ex)
        {
            throw unexpected("open", ex);
        }
    }

    /**
     * {@code close(fd)}; never retried (Linux releases the descriptor even when it reports EINTR).
     *
     * @return 0, or {@code -errno}.
     */
    public static int close(final int fd)
    {
        try
        {
            final MemorySegment state = CALL_STATE.get();
            final int result = (int)CLOSE.invokeExact(state, fd);
            return result == 0 ? 0 : -errno(state);
        }
        catch (final Throwable ex)
        {
            throw unexpected("close", ex);
        }
    }

    /**
     * {@code read(fd, segment + offset, length)}.
     *
     * @return bytes read (0 at end of file), or {@code -errno} ({@code -EAGAIN} when nothing is waiting).
     */
    public static long read(final int fd, final MemorySegment segment, final long offset, final long length)
    {
        final long address = address(segment, offset, length);
        try
        {
            final MemorySegment state = CALL_STATE.get();
            while (true)
            {
                final long result = (long)READ.invokeExact(state, fd, address, length);
                if (result >= 0)
                {
                    return result;
                }
                final int errno = errno(state);
                if (errno != Errno.EINTR)
                {
                    return -errno;
                }
            }
        }
        catch (final Throwable ex)
        {
            throw unexpected("read", ex);
        }
    }

    /**
     * {@code write(fd, segment + offset, length)}.
     *
     * @return bytes written, or {@code -errno}.
     */
    public static long write(final int fd, final MemorySegment segment, final long offset, final long length)
    {
        final long address = address(segment, offset, length);
        try
        {
            final MemorySegment state = CALL_STATE.get();
            while (true)
            {
                final long result = (long)WRITE.invokeExact(state, fd, address, length);
                if (result >= 0)
                {
                    return result;
                }
                final int errno = errno(state);
                if (errno != Errno.EINTR)
                {
                    return -errno;
                }
            }
        }
        catch (final Throwable ex)
        {
            throw unexpected("write", ex);
        }
    }

    /**
     * {@code ioctl(fd, request, argument)} for requests that take a pointer.
     *
     * @return the ioctl's result (usually 0), or {@code -errno}.
     */
    public static int ioctl(final int fd, final long request, final MemorySegment argument)
    {
        try
        {
            final MemorySegment state = CALL_STATE.get();
            final int result = (int)IOCTL_POINTER.invokeExact(state, fd, request, argument);
            return result >= 0 ? result : -errno(state);
        }
        catch (final Throwable ex)
        {
            throw unexpected("ioctl", ex);
        }
    }

    /**
     * {@code ioctl(fd, request, value)} for requests that take an integer by value ({@code TUNSETPERSIST}).
     *
     * @return the ioctl's result (usually 0), or {@code -errno}.
     */
    public static int ioctl(final int fd, final long request, final long value)
    {
        try
        {
            final MemorySegment state = CALL_STATE.get();
            final int result = (int)IOCTL_VALUE.invokeExact(state, fd, request, value);
            return result >= 0 ? result : -errno(state);
        }
        catch (final Throwable ex)
        {
            throw unexpected("ioctl", ex);
        }
    }

    /**
     * {@code fcntl(fd, command, argument)}.
     *
     * @return the command's result, or {@code -errno}.
     */
    public static int fcntl(final int fd, final int command, final int argument)
    {
        try
        {
            final MemorySegment state = CALL_STATE.get();
            final int result = (int)FCNTL.invokeExact(state, fd, command, argument);
            return result >= 0 ? result : -errno(state);
        }
        catch (final Throwable ex)
        {
            throw unexpected("fcntl", ex);
        }
    }

    /**
     * Waits until {@code fd} has one of {@code events} or the timeout passes ({@code poll(2)} on one descriptor).
     *
     * @param timeoutMs milliseconds to wait, 0 to check without waiting.
     * @return the returned events (0 on timeout), or {@code -errno}.
     */
    public static int poll(final int fd, final short events, final int timeoutMs)
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment pollFd = arena.allocate(8, 4);
            pollFd.set(JAVA_INT, 0, fd);
            pollFd.set(JAVA_SHORT, 4, events);
            pollFd.set(JAVA_SHORT, 6, (short)0);
            final MemorySegment state = CALL_STATE.get();
            while (true)
            {
                final int result = (int)POLL.invokeExact(state, pollFd, 1L, timeoutMs);
                if (result >= 0)
                {
                    return result == 0 ? 0 : pollFd.get(JAVA_SHORT, 6) & 0xFFFF;
                }
                final int errno = errno(state);
                if (errno != Errno.EINTR)
                {
                    return -errno;
                }
            }
        }
        catch (final Throwable ex)
        {
            throw unexpected("poll", ex);
        }
    }

    /**
     * {@code if_nametoindex(name)} in the calling thread's network namespace.
     *
     * @return the interface index, or {@code -errno} (usually {@code -ENODEV}).
     */
    public static int ifNameToIndex(final String name)
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment cName = arena.allocateFrom(name);
            final MemorySegment state = CALL_STATE.get();
            final int index = (int)IF_NAMETOINDEX.invokeExact(state, cName);
            return index != 0 ? index : -errno(state);
        }
        catch (final Throwable ex)
        {
            throw unexpected("if_nametoindex", ex);
        }
    }

    /** {@code CLONE_NEWNET}: the namespace type for {@link #setns}. */
    public static final int CLONE_NEWNET = 0x4000_0000;

    /**
     * {@code setns(fd, nstype)}: moves the calling thread into the namespace {@code fd} refers to.
     *
     * @return 0, or {@code -errno}.
     */
    public static int setns(final int fd, final int type)
    {
        try
        {
            final MemorySegment state = CALL_STATE.get();
            final int result = (int)SETNS.invokeExact(state, fd, type);
            return result == 0 ? 0 : -errno(state);
        }
        catch (final Throwable ex)
        {
            throw unexpected("setns", ex);
        }
    }

    /**
     * {@code socket(domain, type, protocol)}.
     *
     * @return a file descriptor, or {@code -errno}.
     */
    public static int socket(final int domain, final int type, final int protocol)
    {
        try
        {
            final MemorySegment state = CALL_STATE.get();
            final int fd = (int)SOCKET.invokeExact(state, domain, type, protocol);
            return fd >= 0 ? fd : -errno(state);
        }
        catch (final Throwable ex)
        {
            throw unexpected("socket", ex);
        }
    }

    /**
     * {@code bind(fd, address, address.byteSize())}.
     *
     * @return 0, or {@code -errno}.
     */
    public static int bind(final int fd, final MemorySegment address)
    {
        try
        {
            final MemorySegment state = CALL_STATE.get();
            final int result = (int)BIND.invokeExact(state, fd, address, (int)address.byteSize());
            return result == 0 ? 0 : -errno(state);
        }
        catch (final Throwable ex)
        {
            throw unexpected("bind", ex);
        }
    }

    /**
     * {@code recv(fd, segment + offset, length, flags)}.
     *
     * @return bytes received (with {@link #MSG_TRUNC}, the datagram's real length), or {@code -errno}.
     */
    public static long recv(final int fd, final MemorySegment segment, final long offset, final long length, final int flags)
    {
        final long address = address(segment, offset, length);
        try
        {
            final MemorySegment state = CALL_STATE.get();
            while (true)
            {
                final long result = (long)RECV.invokeExact(state, fd, address, length, flags);
                if (result >= 0)
                {
                    return result;
                }
                final int errno = errno(state);
                if (errno != Errno.EINTR)
                {
                    return -errno;
                }
            }
        }
        catch (final Throwable ex)
        {
            throw unexpected("recv", ex);
        }
    }

    /**
     * {@code sendto(fd, segment + offset, length, flags, destination, destination.byteSize())}.
     *
     * @return bytes sent, or {@code -errno}.
     */
    public static long sendto(
        final int fd, final MemorySegment segment, final long offset, final long length, final int flags,
        final MemorySegment destination)
    {
        final long address = address(segment, offset, length);
        try
        {
            final MemorySegment state = CALL_STATE.get();
            while (true)
            {
                final long result = (long)SENDTO.invokeExact(
                    state, fd, address, length, flags, destination, (int)destination.byteSize());
                if (result >= 0)
                {
                    return result;
                }
                final int errno = errno(state);
                if (errno != Errno.EINTR)
                {
                    return -errno;
                }
            }
        }
        catch (final Throwable ex)
        {
            throw unexpected("sendto", ex);
        }
    }
}
