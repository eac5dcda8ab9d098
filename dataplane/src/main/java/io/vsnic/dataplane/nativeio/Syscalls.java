package io.vsnic.dataplane.nativeio;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * The data plane's own door to the few Linux calls of its fast path: {@code sendmmsg} and
 * {@code recvmmsg} on the substrate sockets (the file descriptors of the Netty channels, used by
 * the worker threads directly, without an event-loop hand-off) and {@code poll} for a worker with
 * nothing to do. Bound once through the FFM {@link Linker} with {@code errno} captured; every call
 * returns its result or a negated errno, so callers branch on a number instead of catching
 * exceptions. Arguments are raw native addresses ({@code long}), so a call allocates nothing.
 *
 * <p>Linux only (x86-64 and AArch64 share the {@code struct msghdr} layout used by
 * {@link MessageBatch}); {@link #AVAILABLE} is false elsewhere and callers keep their portable path.
 *
 * <p>Thread safety: every method may be called from any thread; the errno capture buffer is per
 * thread and allocated once.
 */
public final class Syscalls
{
    /** {@code poll(2)} events. */
    public static final short POLLIN = 0x1;
    public static final short POLLNVAL = 0x20;
    public static final short POLLERR = 0x8;
    /** {@code recvmmsg}/{@code sendmmsg} flags. */
    public static final int MSG_DONTWAIT = 0x40;
    public static final int MSG_TRUNC = 0x20;
    /** errno values the callers branch on. */
    public static final int EINTR = 4;
    public static final int EAGAIN = 11;
    /** {@code ENODEV}: no such device (an unknown interface name). */
    public static final int ENODEV = 19;
    /** {@code ENOSYS}: not implemented here. */
    public static final int ENOSYS = 38;

    private static final StructLayout CALL_STATE_LAYOUT = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CALL_STATE_LAYOUT.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final ThreadLocal<MemorySegment> CALL_STATE =
        ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(CALL_STATE_LAYOUT));

    private static final MethodHandle SENDMMSG;
    private static final MethodHandle RECVMMSG;
    private static final MethodHandle POLL;
    private static final MethodHandle EVENTFD;
    private static final MethodHandle WRITE;
    private static final MethodHandle READ;
    private static final MethodHandle CLOSE;
    private static final MethodHandle GETSOCKOPT;
    private static final MethodHandle SETSOCKOPT;
    private static final MethodHandle SCHED_SETAFFINITY;
    private static final MethodHandle SCHED_GETAFFINITY;
    /** {@code syscall(SYS_sched_getattr, pid, attr, size, flags)}: glibc before 2.41 has no wrapper. */
    private static final MethodHandle SCHED_GETATTR;
    /** {@code syscall(SYS_sched_setattr, pid, attr, flags)}. */
    private static final MethodHandle SCHED_SETATTR;
    /** The two calls' numbers on this architecture (x86-64 314/315, AArch64 274/275). */
    private static final long SYS_SCHED_SETATTR;
    private static final long SYS_SCHED_GETATTR;

    /** True when the calls are bound (Linux on x86-64 or AArch64). */
    public static final boolean AVAILABLE;

    static
    {
        final String os = System.getProperty("os.name", "").toLowerCase();
        final String arch = System.getProperty("os.arch", "");
        MethodHandle send = null;
        MethodHandle receive = null;
        MethodHandle poll = null;
        MethodHandle eventfd = null;
        MethodHandle write = null;
        MethodHandle read = null;
        MethodHandle close = null;
        MethodHandle getsockopt = null;
        MethodHandle setsockopt = null;
        MethodHandle setaffinity = null;
        MethodHandle getaffinity = null;
        MethodHandle getattr = null;
        MethodHandle setattr = null;
        final boolean arm = arch.equals("aarch64");
        boolean available = false;
        if (os.contains("linux") && (arch.equals("amd64") || arch.equals("x86_64") || arch.equals("aarch64")))
        {
            try
            {
                final Linker.Option errno = Linker.Option.captureCallState("errno");
                send = bind("sendmmsg", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT), errno);
                receive = bind("recvmmsg", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_LONG), errno);
                poll = bind("poll", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT), errno);
                eventfd = bind("eventfd", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT), errno);
                write = bind("write", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG), errno);
                read = bind("read", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG), errno);
                close = bind("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT), errno);
                getsockopt = bind("getsockopt", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG), errno);
                setsockopt = bind("setsockopt", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_INT), errno);
                setaffinity = bind("sched_setaffinity", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG), errno);
                getaffinity = bind("sched_getaffinity", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG), errno);
                final Linker.Option variadic = Linker.Option.firstVariadicArg(1);
                getattr = bind("syscall", FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT),
                    errno, variadic);
                setattr = bind("syscall", FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_INT), errno, variadic);
                available = true;
            }
            catch (final RuntimeException | UnsatisfiedLinkError ex)
            {
                available = false;
            }
        }
        SENDMMSG = send;
        RECVMMSG = receive;
        POLL = poll;
        EVENTFD = eventfd;
        WRITE = write;
        READ = read;
        CLOSE = close;
        GETSOCKOPT = getsockopt;
        SETSOCKOPT = setsockopt;
        SCHED_SETAFFINITY = setaffinity;
        SCHED_GETAFFINITY = getaffinity;
        SCHED_GETATTR = getattr;
        SCHED_SETATTR = setattr;
        SYS_SCHED_SETATTR = arm ? 274 : 314;
        SYS_SCHED_GETATTR = arm ? 275 : 315;
        AVAILABLE = available;
    }

    private Syscalls()
    {
    }

    // Restricted by design: this class is the data plane's one door to native code.
    @SuppressWarnings("restricted")
    private static MethodHandle bind(final String name, final FunctionDescriptor descriptor, final Linker.Option... options)
    {
        final Linker linker = Linker.nativeLinker();
        final MemorySegment symbol = linker.defaultLookup().find(name)
            .orElseThrow(() -> new UnsatisfiedLinkError("libc symbol not found: " + name));
        return linker.downcallHandle(symbol, descriptor, options);
    }

    private static IllegalStateException unexpected(final String call, final Throwable ex)
    {
        return new IllegalStateException("native call " + call + " failed", ex);
    }

    /**
     * {@code sendmmsg(fd, messages, count, flags)}; EINTR is retried.
     *
     * @param messages address of {@code count} {@code struct mmsghdr}.
     * @return messages sent, or {@code -errno}.
     */
    public static int sendmmsg(final int fd, final long messages, final int count, final int flags)
    {
        final MemorySegment state = CALL_STATE.get();
        try
        {
            while (true)
            {
                final int result = (int)SENDMMSG.invokeExact(state, fd, messages, count, flags);
                if (result >= 0)
                {
                    return result;
                }
                final int errno = (int)ERRNO.get(state, 0L);
                if (errno != EINTR)
                {
                    return -errno;
                }
            }
        }
        catch (final Throwable ex)
        {
            throw unexpected("sendmmsg", ex);
        }
    }

    /**
     * {@code recvmmsg(fd, messages, count, flags, NULL)}; EINTR is retried.
     *
     * @return messages received, or {@code -errno} ({@code -EAGAIN} when none is waiting).
     */
    public static int recvmmsg(final int fd, final long messages, final int count, final int flags)
    {
        final MemorySegment state = CALL_STATE.get();
        try
        {
            while (true)
            {
                final int result = (int)RECVMMSG.invokeExact(state, fd, messages, count, flags, 0L);
                if (result >= 0)
                {
                    return result;
                }
                final int errno = (int)ERRNO.get(state, 0L);
                if (errno != EINTR)
                {
                    return -errno;
                }
            }
        }
        catch (final Throwable ex)
        {
            throw unexpected("recvmmsg", ex);
        }
    }

    /**
     * {@code poll(fds, count, timeoutMs)}; an interrupted poll returns 0 (the caller polls its ports anyway).
     *
     * @param fds address of {@code count} {@code struct pollfd} (8 bytes each).
     * @return descriptors with events, 0 on timeout, or {@code -errno}.
     */
    public static int poll(final long fds, final int count, final int timeoutMs)
    {
        final MemorySegment state = CALL_STATE.get();
        try
        {
            final int result = (int)POLL.invokeExact(state, fds, (long)count, timeoutMs);
            if (result >= 0)
            {
                return result;
            }
            final int errno = (int)ERRNO.get(state, 0L);
            return errno == EINTR ? 0 : -errno;
        }
        catch (final Throwable ex)
        {
            throw unexpected("poll", ex);
        }
    }

    /**
     * {@code eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)}.
     *
     * @return the descriptor, or {@code -errno}.
     */
    public static int eventfd()
    {
        final MemorySegment state = CALL_STATE.get();
        try
        {
            final int result = (int)EVENTFD.invokeExact(state, 0, 0x800 | 0x80000);
            return result >= 0 ? result : -(int)ERRNO.get(state, 0L);
        }
        catch (final Throwable ex)
        {
            throw unexpected("eventfd", ex);
        }
    }

    /**
     * {@code write(fd, address, length)} (no retry).
     *
     * @return bytes written, or {@code -errno}.
     */
    public static long write(final int fd, final long address, final long length)
    {
        final MemorySegment state = CALL_STATE.get();
        try
        {
            final long result = (long)WRITE.invokeExact(state, fd, address, length);
            return result >= 0 ? result : -(int)ERRNO.get(state, 0L);
        }
        catch (final Throwable ex)
        {
            throw unexpected("write", ex);
        }
    }

    /**
     * {@code read(fd, address, length)} (no retry).
     *
     * @return bytes read, or {@code -errno}.
     */
    public static long read(final int fd, final long address, final long length)
    {
        final MemorySegment state = CALL_STATE.get();
        try
        {
            final long result = (long)READ.invokeExact(state, fd, address, length);
            return result >= 0 ? result : -(int)ERRNO.get(state, 0L);
        }
        catch (final Throwable ex)
        {
            throw unexpected("read", ex);
        }
    }

    /**
     * {@code close(fd)} (not retried, as Linux requires).
     */
    public static void close(final int fd)
    {
        final MemorySegment state = CALL_STATE.get();
        try
        {
            final int ignored = (int)CLOSE.invokeExact(state, fd);
            assert ignored >= -1;
        }
        catch (final Throwable ex)
        {
            throw unexpected("close", ex);
        }
    }

    /**
     * Whether the kernel takes {@code UDP_SEGMENT} (UDP GSO, Linux 4.18+) on this socket: a
     * {@code getsockopt(fd, SOL_UDP, UDP_SEGMENT)} that succeeds.
     *
     * @return 0 when supported, else {@code -errno}.
     */
    public static int probeUdpSegment(final int fd)
    {
        final MemorySegment state = CALL_STATE.get();
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment value = arena.allocate(4, 4);
            final MemorySegment length = arena.allocate(4, 4);
            length.set(JAVA_INT, 0, 4);
            final int result = (int)GETSOCKOPT.invokeExact(state, fd, 17, MessageBatch.UDP_SEGMENT, value.address(), length.address());
            return result == 0 ? 0 : -(int)ERRNO.get(state, 0L);
        }
        catch (final Throwable ex)
        {
            throw unexpected("getsockopt", ex);
        }
    }

    /**
     * Turns UDP GRO on for a socket ({@code setsockopt(fd, SOL_UDP, UDP_GRO, 1)}, Linux 5.0+): the
     * kernel may then hand over several datagrams of one sender as one buffer, with their size in a
     * {@link MessageBatch#UDP_GRO} control message ({@link MessageBatch#groSegmentSize}).
     *
     * @return 0 when the kernel took it, else {@code -errno}.
     */
    public static int enableUdpGro(final int fd)
    {
        final MemorySegment state = CALL_STATE.get();
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment value = arena.allocate(4, 4);
            value.set(JAVA_INT, 0, 1);
            final int result = (int)SETSOCKOPT.invokeExact(state, fd, 17, MessageBatch.UDP_GRO, value.address(), 4);
            return result == 0 ? 0 : -(int)ERRNO.get(state, 0L);
        }
        catch (final Throwable ex)
        {
            throw unexpected("setsockopt", ex);
        }
    }

    /** {@code SOL_SOCKET} and {@code SO_BINDTODEVICE} on Linux. */
    private static final int SOL_SOCKET = 1;
    private static final int SO_BINDTODEVICE = 25;
    /** {@code IFNAMSIZ}: interface names are shorter than this (with their terminating zero). */
    public static final int IFNAMSIZ = 16;

    /**
     * Binds a socket to a network interface ({@code setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, name)}):
     * it then sends only through that interface and receives only what arrived on it. Needs
     * {@code CAP_NET_RAW} on kernels before 5.7.
     *
     * @param name an interface name, 1..15 ASCII characters.
     * @return 0 when the kernel took it, else {@code -errno} ({@code ENODEV}: no such interface).
     */
    public static int bindToDevice(final int fd, final String name)
    {
        final byte[] bytes = name.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        if (bytes.length == 0 || bytes.length >= IFNAMSIZ)
        {
            throw new IllegalArgumentException("interface name must be 1.." + (IFNAMSIZ - 1) + " characters: " + name);
        }
        final MemorySegment state = CALL_STATE.get();
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment value = arena.allocate(IFNAMSIZ, 1);
            MemorySegment.copy(bytes, 0, value, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, bytes.length);
            final int result = (int)SETSOCKOPT.invokeExact(state, fd, SOL_SOCKET, SO_BINDTODEVICE, value.address(), bytes.length + 1);
            return result == 0 ? 0 : -(int)ERRNO.get(state, 0L);
        }
        catch (final Throwable ex)
        {
            throw unexpected("setsockopt", ex);
        }
    }

    /** {@code CPU_SETSIZE}: CPU numbers a {@code cpu_set_t} holds (0..1023). */
    public static final int CPU_SETSIZE = 1024;
    /** {@code SCHED_OTHER} and {@code SCHED_BATCH}: the fair class, whose slice {@link #setSliceNanos} sets. */
    private static final int SCHED_OTHER = 0;
    private static final int SCHED_BATCH = 3;
    /** {@code struct sched_attr} as of Linux 4.13 ({@code SCHED_ATTR_SIZE_VER1}); offsets of the fields used. */
    private static final int SCHED_ATTR_SIZE = 56;
    private static final long ATTR_SIZE = 0;
    private static final long ATTR_POLICY = 4;
    private static final long ATTR_NICE = 16;
    private static final long ATTR_RUNTIME = 24;

    /**
     * Pins the calling thread to one CPU ({@code sched_setaffinity(0, ...)}: on Linux, 0 is the calling
     * thread, not the whole process).
     *
     * @param cpu a CPU number, 0..{@value #CPU_SETSIZE} - 1.
     * @return 0 when the kernel took it, else {@code -errno} ({@code EINVAL}: the CPU is not in this
     *         thread's cgroup or is offline).
     */
    public static int pinCurrentThread(final int cpu)
    {
        if (cpu < 0 || cpu >= CPU_SETSIZE)
        {
            throw new IllegalArgumentException("CPU must be in 0.." + (CPU_SETSIZE - 1) + ": " + cpu);
        }
        final MemorySegment state = CALL_STATE.get();
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment mask = arena.allocate(CPU_SETSIZE / 8, 8);
            mask.set(JAVA_LONG, (cpu >>> 6) * 8L, 1L << (cpu & 63));
            final int result = (int)SCHED_SETAFFINITY.invokeExact(state, 0, mask.byteSize(), mask.address());
            return result == 0 ? 0 : -(int)ERRNO.get(state, 0L);
        }
        catch (final Throwable ex)
        {
            throw unexpected("sched_setaffinity", ex);
        }
    }

    /**
     * The CPUs the calling thread may run on ({@code sched_getaffinity(0, ...)}), ascending.
     *
     * @return the CPU numbers, or null when the call failed or is not available here.
     */
    public static int[] allowedCpus()
    {
        if (!AVAILABLE)
        {
            return null;
        }
        final MemorySegment state = CALL_STATE.get();
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment mask = arena.allocate(CPU_SETSIZE / 8, 8);
            final int result = (int)SCHED_GETAFFINITY.invokeExact(state, 0, mask.byteSize(), mask.address());
            if (result < 0)
            {
                return null;
            }
            final int[] cpus = new int[CPU_SETSIZE];
            int count = 0;
            for (int word = 0; word < CPU_SETSIZE / 64; word++)
            {
                long bits = mask.get(JAVA_LONG, word * 8L);
                while (bits != 0)
                {
                    cpus[count++] = word * 64 + Long.numberOfTrailingZeros(bits);
                    bits &= bits - 1;
                }
            }
            return java.util.Arrays.copyOf(cpus, count);
        }
        catch (final Throwable ex)
        {
            throw unexpected("sched_getaffinity", ex);
        }
    }

    /**
     * Asks for a time slice of {@code nanos} for the calling thread in the fair scheduling class
     * ({@code sched_setattr(0, ...)} with {@code sched_runtime}; Linux 6.12 and later, EEVDF). A thread with a
     * slice shorter than the default gets an earlier virtual deadline, so when it wakes it preempts a thread
     * with the default slice at once instead of waiting for that one's slice or the next tick. Its share of the
     * CPU does not change. The thread's policy and nice value are kept (read first with
     * {@code sched_getattr}); a thread in another class (real-time, set by an operator) is left alone. Older
     * kernels take the call and ignore the runtime: {@link #sliceNanos} then reads 0.
     *
     * @param nanos the slice, 100,000..100,000,000 (the kernel clamps to that range too).
     * @return 0 when the kernel took it, 1 when the thread is not in the fair class (left alone), else
     *         {@code -errno} ({@code -ENOSYS} when not available here).
     */
    public static int setSliceNanos(final long nanos)
    {
        if (nanos < 100_000 || nanos > 100_000_000)
        {
            throw new IllegalArgumentException("slice must be in 100000..100000000 ns: " + nanos);
        }
        if (!AVAILABLE)
        {
            return -ENOSYS;
        }
        final MemorySegment state = CALL_STATE.get();
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment attr = arena.allocate(SCHED_ATTR_SIZE, 8);
            final int read = fairAttributes(state, attr);
            if (read != 0)
            {
                return read;
            }
            final int policy = attr.get(JAVA_INT, ATTR_POLICY);
            final int nice = attr.get(JAVA_INT, ATTR_NICE);
            attr.fill((byte)0);
            attr.set(JAVA_INT, ATTR_SIZE, SCHED_ATTR_SIZE);
            attr.set(JAVA_INT, ATTR_POLICY, policy);
            attr.set(JAVA_INT, ATTR_NICE, nice);
            attr.set(JAVA_LONG, ATTR_RUNTIME, nanos);
            final long result = (long)SCHED_SETATTR.invokeExact(state, SYS_SCHED_SETATTR, 0, attr.address(), 0);
            return result == 0 ? 0 : -(int)ERRNO.get(state, 0L);
        }
        catch (final Throwable ex)
        {
            throw unexpected("sched_setattr", ex);
        }
    }

    /**
     * The calling thread's time slice in the fair class ({@code sched_getattr(0, ...)}'s {@code sched_runtime},
     * which Linux 6.12 and later fill in for it).
     *
     * @return the slice in nanoseconds; 0 when the kernel does not report one, the thread is in another class or
     *         the call is not available here.
     */
    public static long sliceNanos()
    {
        if (!AVAILABLE)
        {
            return 0;
        }
        final MemorySegment state = CALL_STATE.get();
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment attr = arena.allocate(SCHED_ATTR_SIZE, 8);
            return fairAttributes(state, attr) == 0 ? attr.get(JAVA_LONG, ATTR_RUNTIME) : 0;
        }
        catch (final Throwable ex)
        {
            throw unexpected("sched_getattr", ex);
        }
    }

    /**
     * Reads the calling thread's {@code struct sched_attr} into {@code attr} ({@code sched_getattr(0, ...)}).
     *
     * @return 0 when read and the thread is in the fair class, 1 when it is in another class, else {@code -errno}.
     */
    private static int fairAttributes(final MemorySegment state, final MemorySegment attr) throws Throwable
    {
        final long result = (long)SCHED_GETATTR.invokeExact(state, SYS_SCHED_GETATTR, 0, attr.address(), SCHED_ATTR_SIZE, 0);
        if (result < 0)
        {
            return -(int)ERRNO.get(state, 0L);
        }
        final int policy = attr.get(JAVA_INT, ATTR_POLICY);
        return policy == SCHED_OTHER || policy == SCHED_BATCH ? 0 : 1;
    }
}
