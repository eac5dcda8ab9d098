package io.vsnic.dataplane.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import io.vsnic.dataplane.buffer.Frame;
import io.vsnic.dataplane.buffer.FramePool;
import io.vsnic.dataplane.nativeio.Syscalls;
import io.vsnic.dataplane.security.ConnectionTimeouts;
import io.vsnic.dataplane.substrate.Waits;
import org.junit.jupiter.api.Test;

/**
 * An idle worker's sleep: after about a second without frames it sleeps in {@code poll(2)} with the long
 * timeout ({@link Worker#IDLE_POLL_TIMEOUT_MS}), and it still sees at once what arrives on its ports and a
 * port assigned while it sleeps. The build runs the tests with a timeout of 10 s
 * ({@code vsnic.worker.idlePollMillis} in the surefire configuration), so that a wake-up that does not
 * happen shows as a test failure and not as a short delay.
 */
class WorkerIdleTest
{
    @Test
    void shouldSleepLongerOnceIdleAndStillSeeFramesAtOnce() throws Exception
    {
        assumeTrue(Syscalls.AVAILABLE, "needs Linux system calls (poll, eventfd)");
        assumeTrue(Worker.IDLE_POLL_TIMEOUT_MS >= 1000,
            "needs -Dvsnic.worker.idlePollMillis of 1000 or more (the build sets 10000), got " + Worker.IDLE_POLL_TIMEOUT_MS);
        try (DataPlane dataPlane = new DataPlane(new DataPlaneConfig(1, 1024, 2048, ConnectionTimeouts.DEFAULTS));
            EventPort first = new EventPort(1, dataPlane.pool()))
        {
            dataPlane.addPort(first);
            dataPlane.start();
            final Worker worker = dataPlane.worker(0);
            // idle for well over the 100 short (10 ms) sleeps after which the long one starts
            Thread.sleep(3_000);
            final long before = worker.passes();
            Thread.sleep(1_000);
            final long idlePasses = worker.passes() - before;
            // short sleeps would make about 100 passes in that second; the long timeout makes none or one
            assertTrue(idlePasses < 30, "passes over the ports in one idle second: " + idlePasses);

            // a frame on the port wakes the worker from its long sleep
            first.signal();
            awaitReceivedWithoutTimeout(dataPlane, worker, 1);

            // idle again, then a port with a frame waiting is assigned: the worker must add it to what it polls
            Thread.sleep(3_000);
            try (EventPort second = new EventPort(2, dataPlane.pool()))
            {
                second.signal();
                dataPlane.addPort(second);
                awaitReceivedWithoutTimeout(dataPlane, worker, 2);
                assertEquals(1, second.framesRead(), "the new port was read");
                dataPlane.removePort(second.id());
            }
            dataPlane.removePort(first.id());
        }
    }

    /**
     * Waits (a hang guard, {@link Waits}) until the data plane has read {@code frames} frames, and checks
     * that no sleep of the worker ended by its timeout meanwhile: the frame was read because something
     * woke the worker, not because its 10 s idle timeout ran out.
     */
    private static void awaitReceivedWithoutTimeout(final DataPlane dataPlane, final Worker worker, final long frames)
        throws InterruptedException
    {
        final long timedOutBefore = worker.sleepsTimedOut();
        Waits.awaitTrue(() -> dataPlane.counters().rxFrames() >= frames, () -> "frame " + frames + " read");
        assertEquals(timedOutBefore, worker.sleepsTimedOut(), "frame " + frames + " was read after a sleep timed out "
            + "(the worker sleeps " + Worker.IDLE_POLL_TIMEOUT_MS + " ms when idle), so nothing woke it");
    }

    /**
     * A vNIC-kind port whose readiness descriptor is an eventfd: each {@link #signal} makes one frame to read.
     */
    private static final class EventPort implements Port, AutoCloseable
    {
        private final int id;
        private final FramePool pool;
        private final int fd;
        private final Arena arena = Arena.ofShared();
        /** What {@link #signal} writes (the test's thread). */
        private final MemorySegment one = arena.allocate(8, 8);
        /** Where {@link #receive} reads the count to (the worker's thread). */
        private final MemorySegment count = arena.allocate(8, 8);
        private volatile int framesRead;

        EventPort(final int id, final FramePool pool)
        {
            this.id = id;
            this.pool = pool;
            this.fd = Syscalls.eventfd();
            assertTrue(fd >= 0, "eventfd: errno " + -fd);
        }

        void signal()
        {
            one.set(ValueLayout.JAVA_LONG, 0, 1L);
            assertEquals(8, Syscalls.write(fd, one.address(), 8));
        }

        int framesRead()
        {
            return framesRead;
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

        @Override
        public int receive(final Frame[] frames, final int max)
        {
            // eventfd read: the count of signals since the last read, or EAGAIN
            if (max == 0 || Syscalls.read(fd, count.address(), 8) != 8)
            {
                return 0;
            }
            final Frame frame = pool.acquire();
            if (frame == null)
            {
                return 0;
            }
            // 60 zero bytes: a runt the worker reads, counts and drops
            frame.segment().asSlice(frame.start(), 60).fill((byte)0);
            frame.length(60);
            frames[0] = frame;
            framesRead++;
            return 1;
        }

        @Override
        public int transmit(final Frame[] frames, final int count)
        {
            for (int i = 0; i < count; i++)
            {
                frames[i].release();
            }
            return count;
        }

        @Override
        public int readinessFds(final int[] fds, final int offset)
        {
            fds[offset] = fd;
            return 1;
        }

        @Override
        public void close()
        {
            Syscalls.close(fd);
            arena.close();
        }
    }
}
