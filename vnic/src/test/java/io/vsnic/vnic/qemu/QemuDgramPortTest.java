package io.vsnic.vnic.qemu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import io.vsnic.dataplane.buffer.Frame;
import io.vsnic.dataplane.buffer.FramePool;
import io.vsnic.dataplane.pipeline.Port;
import io.vsnic.vnic.EndpointCounter;
import io.vsnic.vnic.linux.Errno;
import io.vsnic.vnic.linux.UnixDatagramSocket;

@Timeout(60)
class QemuDgramPortTest
{
    private static final Duration WAIT = Duration.ofSeconds(5);

    @TempDir
    Path directory;

    private Path vsnicPath()
    {
        return directory.resolve("vsnic.dgram");
    }

    private Path qemuPath()
    {
        return directory.resolve("qemu.dgram");
    }

    /** Plays QEMU: sends each frame as one datagram to the port. */
    private static void send(final UnixDatagramSocket qemu, final MemorySegment to, final Arena arena, final byte[] frame)
    {
        final MemorySegment buffer = arena.allocate(Math.max(1, frame.length));
        MemorySegment.copy(frame, 0, buffer, ValueLayout.JAVA_BYTE, 0, frame.length);
        assertEquals(frame.length, qemu.send(buffer, 0, frame.length, to));
    }

    private static byte[] receiveOne(final UnixDatagramSocket qemu, final Arena arena)
    {
        assertTrue(qemu.awaitReadable((int)WAIT.toMillis()), "no datagram arrived");
        final MemorySegment buffer = arena.allocate(65536);
        final long length = qemu.receive(buffer, 0, 65536);
        assertTrue(length > 0, "receive returned " + length);
        return buffer.asSlice(0, length).toArray(ValueLayout.JAVA_BYTE);
    }

    @Test
    void shouldCarryOneFramePerDatagramBothWays() throws IOException
    {
        try (Arena arena = Arena.ofConfined();
            FramePool pool = new FramePool(16);
            QemuDgramPort port = new QemuDgramPort(4, pool, vsnicPath(), qemuPath());
            UnixDatagramSocket qemu = UnixDatagramSocket.bind(qemuPath()))
        {
            assertEquals(Port.KIND_VNIC, port.kind());
            final MemorySegment toVsnic = UnixDatagramSocket.address(vsnicPath(), arena);
            final byte[] a = PortDriver.pattern(60, 1);
            final byte[] b = PortDriver.pattern(9000, 2);
            send(qemu, toVsnic, arena, a);
            send(qemu, toVsnic, arena, b);
            final List<byte[]> received = PortDriver.receive(port, 2, WAIT);
            assertEquals(2, received.size());
            assertArrayEquals(a, received.get(0));
            assertArrayEquals(b, received.get(1));

            final byte[] c = PortDriver.pattern(1514, 3);
            assertEquals(1, port.transmit(new Frame[] {PortDriver.frameOf(pool, c)}, 1));
            assertArrayEquals(c, receiveOne(qemu, arena));

            assertEquals(2, port.counters().get(EndpointCounter.RX_FRAMES));
            assertEquals(1, port.counters().get(EndpointCounter.TX_FRAMES));
            assertEquals(16, pool.available());
        }
    }

    @Test
    void shouldDropADatagramLongerThanASlotAndIgnoreAnEmptyOne() throws IOException
    {
        try (Arena arena = Arena.ofConfined();
            FramePool pool = new FramePool(4);
            QemuDgramPort port = new QemuDgramPort(0, pool, vsnicPath(), qemuPath());
            UnixDatagramSocket qemu = UnixDatagramSocket.bind(qemuPath()))
        {
            final MemorySegment toVsnic = UnixDatagramSocket.address(vsnicPath(), arena);
            send(qemu, toVsnic, arena, PortDriver.pattern(20000, 1));
            send(qemu, toVsnic, arena, new byte[0]);
            final byte[] after = PortDriver.pattern(64, 2);
            send(qemu, toVsnic, arena, after);
            final List<byte[]> received = PortDriver.receive(port, 1, WAIT);
            assertEquals(1, received.size());
            assertArrayEquals(after, received.get(0));
            assertEquals(1, port.counters().get(EndpointCounter.RX_OVERSIZE));
            assertEquals(0, port.counters().get(EndpointCounter.RX_ERRORS));
            assertEquals(4, pool.available());
        }
    }

    @Test
    void shouldCountDropsWhileQemuIsNotBound() throws IOException
    {
        try (FramePool pool = new FramePool(4); QemuDgramPort port = new QemuDgramPort(0, pool, vsnicPath(), qemuPath()))
        {
            assertEquals(2, port.transmit(new Frame[] {PortDriver.frameOf(pool, PortDriver.pattern(60, 1)),
                PortDriver.frameOf(pool, PortDriver.pattern(60, 2))}, 2));
            assertEquals(2, port.counters().get(EndpointCounter.TX_DROPS));
            assertEquals(Errno.ENOENT, port.lastTxErrno());
            assertEquals(0, port.counters().get(EndpointCounter.TX_ERRORS));
            assertEquals(4, pool.available());
        }
    }

    @Test
    void shouldRemoveItsSocketFileOnCloseAndRefuseAPathThatIsNotASocket() throws IOException
    {
        try (FramePool pool = new FramePool(4))
        {
            final QemuDgramPort port = new QemuDgramPort(0, pool, vsnicPath(), qemuPath());
            assertTrue(Files.exists(vsnicPath()));
            port.close();
            port.close();
            assertFalse(Files.exists(vsnicPath()));
            assertEquals(0, port.receive(new Frame[2], 2));

            final Path regular = Files.writeString(directory.resolve("file"), "data");
            final IOException error = assertThrows(IOException.class, () -> new QemuDgramPort(1, pool, regular, qemuPath()));
            assertTrue(error.getMessage().contains("not a socket"), error.getMessage());
            assertThrows(IllegalArgumentException.class,
                () -> new QemuDgramPort(2, pool, directory.resolve("x".repeat(120)), qemuPath()));
        }
    }
}
