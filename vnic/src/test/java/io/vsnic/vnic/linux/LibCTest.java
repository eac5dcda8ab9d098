package io.vsnic.vnic.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import org.junit.jupiter.api.Test;

class LibCTest
{
    @Test
    void shouldReturnNegatedErrnoCapturedFromTheCall()
    {
        assertEquals(-Errno.ENOENT, LibC.open("/nonexistent/vsnic", LibC.O_RDWR));
        assertEquals(-Errno.EBADF, LibC.close(-1));
        assertEquals(-Errno.ENODEV, LibC.ifNameToIndex("vsnic-none"));
        assertEquals("ENOENT", Errno.name(-Errno.ENOENT));
        assertEquals("errno 127", Errno.name(127));
    }

    @Test
    void shouldReadAndWriteThroughADescriptor()
    {
        final int fd = LibC.open("/dev/null", LibC.O_RDWR | LibC.O_CLOEXEC);
        assertTrue(fd >= 0, Errno.name(fd));
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment buffer = arena.allocate(64);
            assertEquals(0, LibC.read(fd, buffer, 0, 64), "end of file");
            assertEquals(10, LibC.write(fd, buffer, 54, 10));
            assertEquals(LibC.O_RDWR, LibC.fcntl(fd, LibC.F_GETFL, 0) & 3);
            assertEquals(LibC.POLLIN, LibC.poll(fd, LibC.POLLIN, 100) & LibC.POLLIN);
        }
        finally
        {
            assertEquals(0, LibC.close(fd));
        }
    }

    @Test
    void shouldCheckBoundsLivenessAndNativenessBeforePassingAnAddress()
    {
        final MemorySegment heap = MemorySegment.ofArray(new byte[16]);
        assertThrows(IllegalArgumentException.class, () -> LibC.write(1, heap, 0, 1));
        final MemorySegment closed;
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment buffer = arena.allocate(16);
            assertThrows(IndexOutOfBoundsException.class, () -> LibC.read(0, buffer, 8, 16));
            assertThrows(IndexOutOfBoundsException.class, () -> LibC.read(0, buffer, -1, 4));
            closed = buffer;
        }
        assertFalse(closed.scope().isAlive());
        assertThrows(IllegalStateException.class, () -> LibC.write(1, closed, 0, 1));
    }
}
