package io.vsnic.vnic.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import org.junit.jupiter.api.Test;

class NativeFdTest
{
    private static int openDevNull()
    {
        final int fd = LibC.open("/dev/null", LibC.O_RDWR | LibC.O_CLOEXEC);
        assertTrue(fd >= 0, Errno.name(fd));
        return fd;
    }

    @Test
    void shouldKeepTheDescriptorOpenUntilTheLastCallInFlightEnds()
    {
        final int number = openDevNull();
        final NativeFd fd = new NativeFd(number);
        assertTrue(fd.acquire());
        fd.close();
        assertFalse(fd.isOpen());
        assertFalse(fd.acquire(), "no new call starts after close");
        assertTrue(LibC.fcntl(number, LibC.F_GETFL, 0) >= 0, "still open for the call in flight");
        fd.release();
        assertEquals(-Errno.EBADF, LibC.fcntl(number, LibC.F_GETFL, 0), "released by the last call");
    }

    @Test
    void shouldCloseOnceAndAnswerEbadfAfterwards()
    {
        final int number = openDevNull();
        final NativeFd fd = new NativeFd(number);
        fd.close();
        fd.close();
        assertEquals(-Errno.EBADF, LibC.fcntl(number, LibC.F_GETFL, 0));
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment buffer = arena.allocate(8);
            assertEquals(-Errno.EBADF, fd.read(buffer, 0, 8));
            assertEquals(-Errno.EBADF, fd.write(buffer, 0, 8));
            assertEquals(-Errno.EBADF, fd.poll(LibC.POLLIN, 0));
        }
    }

    @Test
    void shouldSurviveCloseRacingManyCallers() throws Exception
    {
        for (int round = 0; round < 50; round++)
        {
            final int number = openDevNull();
            final NativeFd fd = new NativeFd(number);
            final Thread[] threads = new Thread[4];
            final long[] bad = new long[threads.length];
            for (int t = 0; t < threads.length; t++)
            {
                final int index = t;
                threads[t] = new Thread(() ->
                {
                    try (Arena arena = Arena.ofConfined())
                    {
                        final MemorySegment buffer = arena.allocate(8);
                        for (int i = 0; i < 2_000; i++)
                        {
                            final long result = fd.write(buffer, 0, 8);
                            if (result != 8 && result != -Errno.EBADF)
                            {
                                bad[index]++;
                            }
                        }
                    }
                });
                threads[t].start();
            }
            Thread.sleep(1);
            fd.close();
            for (final Thread thread : threads)
            {
                thread.join(10_000);
                assertFalse(thread.isAlive());
            }
            for (final long count : bad)
            {
                assertEquals(0, count, "every write either went to /dev/null or saw EBADF");
            }
            assertEquals(-Errno.EBADF, LibC.fcntl(number, LibC.F_GETFL, 0), "round " + round + ": descriptor released");
        }
    }
}
