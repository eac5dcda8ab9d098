package io.vsnic.vnic.linux;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A file descriptor that several threads may use while another closes it. Each call holds the
 * descriptor for its duration (an in-flight count); {@link #close()} marks it closed at once, so
 * no new call starts, and the last call still in flight releases the number to the kernel. The
 * number can therefore never be reused by an unrelated open while a read or write of ours is still
 * on its way to it. Closing is idempotent; calls after it return {@code -EBADF}.
 *
 * <p>Cost: two uncontended atomic operations per call, no allocation.
 */
public final class NativeFd implements AutoCloseable
{
    private static final int CLOSED = 1 << 30;
    private static final int RELEASED = 1 << 29;
    private static final int IN_FLIGHT_MASK = RELEASED - 1;

    private final int fd;
    private final AtomicInteger state = new AtomicInteger();

    /**
     * @param fd an open descriptor; this object now owns it.
     */
    public NativeFd(final int fd)
    {
        if (fd < 0)
        {
            throw new IllegalArgumentException("not a descriptor: " + fd);
        }
        this.fd = fd;
    }

    /**
     * @return the descriptor number (for messages; use it only between {@link #acquire()} and {@link #release()}).
     */
    public int number()
    {
        return fd;
    }

    /**
     * @return false once {@link #close()} was called.
     */
    public boolean isOpen()
    {
        return (state.get() & CLOSED) == 0;
    }

    /**
     * Holds the descriptor open for one call.
     *
     * @return false when it is closed (do not call {@link #release()} then).
     */
    public boolean acquire()
    {
        while (true)
        {
            final int current = state.get();
            if ((current & CLOSED) != 0)
            {
                return false;
            }
            if (state.compareAndSet(current, current + 1))
            {
                return true;
            }
        }
    }

    /**
     * Ends a call started with a successful {@link #acquire()}; the last one after a close closes the descriptor.
     */
    public void release()
    {
        final int now = state.decrementAndGet();
        if ((now & CLOSED) != 0 && (now & IN_FLIGHT_MASK) == 0)
        {
            finish(now);
        }
    }

    /**
     * Marks the descriptor closed; it is released to the kernel now or when the last call in flight ends.
     */
    @Override
    public void close()
    {
        final int previous = state.getAndUpdate(s -> s | CLOSED);
        if ((previous & CLOSED) == 0 && (previous & IN_FLIGHT_MASK) == 0)
        {
            finish(previous | CLOSED);
        }
    }

    private void finish(final int observed)
    {
        if (state.compareAndSet(observed, observed | RELEASED))
        {
            LibC.close(fd);
        }
    }

    /**
     * {@link LibC#read} on this descriptor.
     *
     * @return bytes read, or {@code -errno}; {@code -EBADF} once closed.
     */
    public long read(final MemorySegment segment, final long offset, final long length)
    {
        if (!acquire())
        {
            return -Errno.EBADF;
        }
        try
        {
            return LibC.read(fd, segment, offset, length);
        }
        finally
        {
            release();
        }
    }

    /**
     * {@link LibC#write} on this descriptor.
     *
     * @return bytes written, or {@code -errno}; {@code -EBADF} once closed.
     */
    public long write(final MemorySegment segment, final long offset, final long length)
    {
        if (!acquire())
        {
            return -Errno.EBADF;
        }
        try
        {
            return LibC.write(fd, segment, offset, length);
        }
        finally
        {
            release();
        }
    }

    /**
     * {@link LibC#recv} on this descriptor.
     *
     * @return bytes received, or {@code -errno}; {@code -EBADF} once closed.
     */
    public long recv(final MemorySegment segment, final long offset, final long length, final int flags)
    {
        if (!acquire())
        {
            return -Errno.EBADF;
        }
        try
        {
            return LibC.recv(fd, segment, offset, length, flags);
        }
        finally
        {
            release();
        }
    }

    /**
     * {@link LibC#sendto} on this descriptor.
     *
     * @return bytes sent, or {@code -errno}; {@code -EBADF} once closed.
     */
    public long sendto(
        final MemorySegment segment, final long offset, final long length, final int flags, final MemorySegment destination)
    {
        if (!acquire())
        {
            return -Errno.EBADF;
        }
        try
        {
            return LibC.sendto(fd, segment, offset, length, flags, destination);
        }
        finally
        {
            release();
        }
    }

    /**
     * Waits up to {@code timeoutMs} for {@code events}; holds the descriptor (and so delays a
     * concurrent close) for at most that long.
     *
     * @return the events that occurred (0 on timeout), or {@code -errno}; {@code -EBADF} once closed.
     */
    public int poll(final short events, final int timeoutMs)
    {
        if (!acquire())
        {
            return -Errno.EBADF;
        }
        try
        {
            return LibC.poll(fd, events, timeoutMs);
        }
        finally
        {
            release();
        }
    }

    @Override
    public String toString()
    {
        return "fd " + fd + (isOpen() ? "" : " (closed)");
    }
}
