package io.vsnic.vnic.qemu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import io.vsnic.dataplane.buffer.Frame;
import io.vsnic.dataplane.buffer.FramePool;
import io.vsnic.dataplane.pipeline.Port;
import io.vsnic.vnic.EndpointCounter;

@Timeout(60)
class QemuStreamPortTest
{
    private static final Duration WAIT = Duration.ofSeconds(5);

    @TempDir
    Path directory;

    private Path socket()
    {
        return directory.resolve("vnic.sock");
    }

    private static Frame[] framesOf(final FramePool pool, final byte[]... contents)
    {
        final Frame[] frames = new Frame[contents.length];
        for (int i = 0; i < contents.length; i++)
        {
            frames[i] = PortDriver.frameOf(pool, contents[i]);
        }
        return frames;
    }

    /** Waits until the port took the client's connection (receive accepts it). */
    private static void awaitConnected(final QemuStreamPort port)
    {
        final long deadline = System.nanoTime() + WAIT.toNanos();
        while (!port.connected() && System.nanoTime() < deadline)
        {
            PortDriver.receiveFor(port, Duration.ofMillis(5));
        }
        assertTrue(port.connected(), "port did not accept the connection");
    }

    @Test
    void shouldCarryFramesBothWaysWithABigEndianLengthPrefix() throws IOException
    {
        try (FramePool pool = new FramePool(32);
            QemuStreamPort port = new QemuStreamPort(3, pool, socket());
            StreamClient qemu = StreamClient.connect(socket()))
        {
            assertEquals(Port.KIND_VNIC, port.kind());
            final byte[] a = PortDriver.pattern(60, 1);
            final byte[] b = PortDriver.pattern(1514, 2);
            final byte[] c = PortDriver.pattern(9000, 3);
            qemu.sendFrame(a);
            qemu.sendFrame(b);
            qemu.sendFrame(c);
            final List<byte[]> received = PortDriver.receive(port, 3, WAIT);
            assertEquals(3, received.size());
            assertArrayEquals(a, received.get(0));
            assertArrayEquals(b, received.get(1));
            assertArrayEquals(c, received.get(2));

            final byte[] d = PortDriver.pattern(342, 4);
            final byte[] e = PortDriver.pattern(64, 5);
            assertEquals(2, port.transmit(framesOf(pool, d, e), 2));
            final byte[] prefix = qemu.readExactly(4, WAIT);
            assertArrayEquals(new byte[] {0, 0, 0x01, 0x56}, prefix, "342 as a 4-byte big-endian length");
            assertArrayEquals(d, qemu.readExactly(342, WAIT));
            assertArrayEquals(e, qemu.readFrame(WAIT));

            assertEquals(3, port.counters().get(EndpointCounter.RX_FRAMES));
            assertEquals(60 + 1514 + 9000, port.counters().get(EndpointCounter.RX_BYTES));
            assertEquals(2, port.counters().get(EndpointCounter.TX_FRAMES));
            assertEquals(1, port.counters().get(EndpointCounter.CONNECTIONS));
            assertEquals(32, pool.available());
        }
    }

    @Test
    void shouldReassembleAPrefixAndAFrameSplitAcrossReads() throws IOException
    {
        try (FramePool pool = new FramePool(8);
            QemuStreamPort port = new QemuStreamPort(0, pool, socket());
            StreamClient qemu = StreamClient.connect(socket()))
        {
            final byte[] first = PortDriver.pattern(100, 7);
            final byte[] second = PortDriver.pattern(70, 8);
            final byte[] stream = ByteBuffer.allocate(8 + first.length + second.length)
                .put(StreamClient.prefixed(first)).put(StreamClient.prefixed(second)).array();
            awaitConnected(port);

            final int[] cuts = {2, 4, 50, 104 + 3, stream.length};
            final int[] framesAfterCut = {0, 0, 0, 1, 1};
            final List<byte[]> received = new ArrayList<>();
            int from = 0;
            for (int i = 0; i < cuts.length; i++)
            {
                qemu.sendRaw(Arrays.copyOfRange(stream, from, cuts[i]));
                from = cuts[i];
                final List<byte[]> now = framesAfterCut[i] == 0
                    ? PortDriver.receive(port, 1, Duration.ofMillis(100))
                    : PortDriver.receive(port, framesAfterCut[i], WAIT);
                assertEquals(framesAfterCut[i], now.size(), "frames after " + cuts[i] + " bytes");
                received.addAll(now);
            }
            assertArrayEquals(first, received.get(0));
            assertArrayEquals(second, received.get(1));
            assertEquals(0, port.counters().get(EndpointCounter.RX_BAD_LENGTH));
        }
    }

    @Test
    void shouldCountAZeroLengthAsBadCloseTheConnectionAndTakeTheNextOne() throws IOException
    {
        try (FramePool pool = new FramePool(8); QemuStreamPort port = new QemuStreamPort(0, pool, socket()))
        {
            final byte[] good = PortDriver.pattern(60, 1);
            try (StreamClient qemu = StreamClient.connect(socket()))
            {
                qemu.sendFrame(good);
                qemu.sendRaw(new byte[] {0, 0, 0, 0});
                qemu.sendFrame(good);
                assertEquals(1, PortDriver.receive(port, 2, Duration.ofMillis(500)).size(), "frames before the bad length only");
                assertTrue(qemu.awaitClosedByPeer(WAIT), "the port must close the connection");
            }
            assertEquals(1, port.counters().get(EndpointCounter.RX_BAD_LENGTH));
            assertEquals(1, port.counters().get(EndpointCounter.DISCONNECTS));
            assertFalse(port.connected());

            try (StreamClient again = StreamClient.connect(socket()))
            {
                again.sendFrame(good);
                assertEquals(1, PortDriver.receive(port, 1, WAIT).size(), "a new connection works");
            }
            assertEquals(2, port.counters().get(EndpointCounter.CONNECTIONS));
            assertEquals(8, pool.available());
        }
    }

    @Test
    void shouldCountALengthAbove65535AsBadAndCloseTheConnection() throws IOException
    {
        try (FramePool pool = new FramePool(8); QemuStreamPort port = new QemuStreamPort(0, pool, socket()))
        {
            try (StreamClient qemu = StreamClient.connect(socket()))
            {
                qemu.sendRaw(new byte[] {0, 1, 0, 0, 1, 2, 3, 4});
                assertEquals(0, PortDriver.receiveFor(port, Duration.ofMillis(200)));
                assertTrue(qemu.awaitClosedByPeer(WAIT));
                assertEquals(1, port.counters().get(EndpointCounter.RX_BAD_LENGTH));
            }
            try (StreamClient negative = StreamClient.connect(socket()))
            {
                negative.sendRaw(new byte[] {(byte)0xFF, (byte)0xFF, (byte)0xFF, (byte)0xFF});
                PortDriver.receiveFor(port, Duration.ofMillis(200));
                assertTrue(negative.awaitClosedByPeer(WAIT));
            }
            assertEquals(2, port.counters().get(EndpointCounter.RX_BAD_LENGTH));
        }
    }

    @Test
    void shouldKeepListeningAndAcceptANewPeerAfterTheFirstLeaves() throws IOException
    {
        try (FramePool pool = new FramePool(8); QemuStreamPort port = new QemuStreamPort(0, pool, socket()))
        {
            try (StreamClient first = StreamClient.connect(socket()))
            {
                first.sendFrame(PortDriver.pattern(60, 1));
                assertEquals(1, PortDriver.receive(port, 1, WAIT).size());
                // a partial frame left behind must not leak into the next connection
                first.sendRaw(new byte[] {0, 0, 0, 60, 1, 2, 3});
                PortDriver.receiveFor(port, Duration.ofMillis(50));
            }
            PortDriver.receiveFor(port, Duration.ofMillis(100));
            assertEquals(1, port.counters().get(EndpointCounter.DISCONNECTS));
            assertFalse(port.connected());
            assertEquals(1, port.transmit(framesOf(pool, PortDriver.pattern(60, 9)), 1));
            assertEquals(1, port.counters().get(EndpointCounter.TX_DROPS), "no peer: dropped, counted, released");

            try (StreamClient second = StreamClient.connect(socket()))
            {
                final byte[] frame = PortDriver.pattern(80, 2);
                second.sendFrame(frame);
                final List<byte[]> received = PortDriver.receive(port, 1, WAIT);
                assertEquals(1, received.size());
                assertArrayEquals(frame, received.get(0));
                assertEquals(1, port.transmit(framesOf(pool, frame), 1));
                assertArrayEquals(frame, second.readFrame(WAIT));
            }
            assertEquals(2, port.counters().get(EndpointCounter.CONNECTIONS));
            assertEquals(8, pool.available());
        }
    }

    @Test
    void shouldKeepAWholeFrameBufferedWhileThePoolIsEmpty() throws IOException
    {
        try (FramePool pool = new FramePool(1);
            QemuStreamPort port = new QemuStreamPort(0, pool, socket());
            StreamClient qemu = StreamClient.connect(socket()))
        {
            final byte[] a = PortDriver.pattern(60, 1);
            final byte[] b = PortDriver.pattern(61, 2);
            qemu.sendFrame(a);
            qemu.sendFrame(b);
            final Frame[] frames = new Frame[4];
            final long deadline = System.nanoTime() + WAIT.toNanos();
            int count = 0;
            while (count == 0 && System.nanoTime() < deadline)
            {
                count = port.receive(frames, frames.length);
            }
            assertEquals(1, count);
            assertArrayEquals(a, frames[0].toByteArray());
            assertEquals(0, port.receive(new Frame[4], 4), "pool empty: the second frame waits");
            assertTrue(port.counters().get(EndpointCounter.RX_POOL_EXHAUSTED) >= 1);
            frames[0].release();
            assertEquals(1, port.receive(frames, frames.length));
            assertArrayEquals(b, frames[0].toByteArray());
            frames[0].release();
        }
    }

    @Test
    void shouldSkipAFrameLongerThanASlotAndKeepGoing() throws IOException
    {
        try (FramePool pool = new FramePool(4);
            QemuStreamPort port = new QemuStreamPort(0, pool, socket());
            StreamClient qemu = StreamClient.connect(socket()))
        {
            final byte[] jumbo = PortDriver.pattern(65535, 1);
            final byte[] after = PortDriver.pattern(60, 2);
            qemu.sendFrame(jumbo);
            qemu.sendFrame(after);
            final List<byte[]> received = PortDriver.receive(port, 1, WAIT);
            assertEquals(1, received.size());
            assertArrayEquals(after, received.get(0));
            assertEquals(1, port.counters().get(EndpointCounter.RX_OVERSIZE));
            assertTrue(port.connected(), "a legal but oversize frame does not end the connection");
        }
    }

    @Test
    void shouldNeverInterleaveFramesFromConcurrentTransmitters() throws Exception
    {
        final int threads = 4;
        final int framesPerThread = 500;
        // One pool per sender: FramePool's free list can lose a slot when several threads release into
        // it at once (an upstream data plane issue); separate pools keep this test about the port.
        final FramePool[] senderPools = new FramePool[threads];
        for (int t = 0; t < threads; t++)
        {
            senderPools[t] = new FramePool(16);
        }
        try (FramePool pool = new FramePool(16);
            QemuStreamPort port = new QemuStreamPort(0, pool, socket());
            StreamClient qemu = StreamClient.connect(socket()))
        {
            awaitConnected(port);
            final ExecutorService executor = Executors.newFixedThreadPool(threads);
            final Set<String> received = new HashSet<>();
            try
            {
                final CountDownLatch start = new CountDownLatch(1);
                final List<Future<?>> senders = new ArrayList<>();
                for (int t = 0; t < threads; t++)
                {
                    final int thread = t;
                    senders.add(executor.submit(() ->
                    {
                        start.await();
                        for (int i = 0; i < framesPerThread; i++)
                        {
                            final byte[] bytes = PortDriver.pattern(60 + (i % 1400), thread * 100_000 + i);
                            ByteBuffer.wrap(bytes).putInt(thread).putInt(i);
                            assertEquals(1, port.transmit(framesOf(senderPools[thread], bytes), 1));
                        }
                        return null;
                    }));
                }
                start.countDown();
                final long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
                final long total = (long)threads * framesPerThread;
                while (System.nanoTime() < deadline)
                {
                    final long dropped = port.counters().get(EndpointCounter.TX_DROPS);
                    final boolean sendersDone = senders.stream().allMatch(Future::isDone);
                    if (sendersDone && received.size() + dropped == total)
                    {
                        break;
                    }
                    PortDriver.receiveFor(port, Duration.ofMillis(1));
                    final byte[] frame;
                    try
                    {
                        frame = qemu.readFrame(Duration.ofMillis(200));
                    }
                    catch (final IOException timeout)
                    {
                        continue;
                    }
                    assertNotNull(frame);
                    final ByteBuffer view = ByteBuffer.wrap(frame);
                    final int thread = view.getInt();
                    final int index = view.getInt();
                    final byte[] expected = PortDriver.pattern(60 + (index % 1400), thread * 100_000 + index);
                    ByteBuffer.wrap(expected).putInt(thread).putInt(index);
                    assertArrayEquals(expected, frame, "frame " + thread + "/" + index + " arrived intact");
                    assertTrue(received.add(thread + "/" + index), "duplicate " + thread + "/" + index);
                }
                for (final Future<?> sender : senders)
                {
                    sender.get(10, TimeUnit.SECONDS);
                }
                assertEquals(total, received.size() + port.counters().get(EndpointCounter.TX_DROPS));
                assertEquals(received.size(), port.counters().get(EndpointCounter.TX_FRAMES));
                assertEquals(0, port.counters().get(EndpointCounter.TX_ERRORS));
            }
            finally
            {
                executor.shutdownNow();
                assertTrue(executor.awaitTermination(10, TimeUnit.SECONDS));
            }
            for (final FramePool senderPool : senderPools)
            {
                assertEquals(16, senderPool.available(), "the port released every frame it was given");
            }
        }
        finally
        {
            for (final FramePool senderPool : senderPools)
            {
                senderPool.close();
            }
        }
    }

    @Test
    void shouldRefuseAPathAnotherListenerOwnsAndReplaceAStaleOne() throws IOException
    {
        try (FramePool pool = new FramePool(4))
        {
            try (QemuStreamPort first = new QemuStreamPort(0, pool, socket()))
            {
                final IOException error = assertThrows(IOException.class, () -> new QemuStreamPort(1, pool, socket()));
                assertTrue(error.getMessage().contains("another process is listening"), error.getMessage());
                assertTrue(first.toString().contains("vnic.sock"));
            }
            assertFalse(Files.exists(socket()), "close removes the socket file");

            final Path stale = directory.resolve("stale.sock");
            try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX))
            {
                server.bind(UnixDomainSocketAddress.of(stale));
            }
            assertTrue(Files.exists(stale), "a closed listener leaves its socket file");
            try (QemuStreamPort port = new QemuStreamPort(2, pool, stale))
            {
                assertEquals(stale, port.socketPath());
            }

            final Path regular = Files.writeString(directory.resolve("not-a-socket"), "data");
            final IOException error = assertThrows(IOException.class, () -> new QemuStreamPort(3, pool, regular));
            assertTrue(error.getMessage().contains("not a socket"), error.getMessage());
            assertEquals("data", Files.readString(regular), "a regular file is never deleted");
        }
    }

    @Test
    void shouldConnectToAListeningQemuAndCarryFramesBothWays() throws IOException
    {
        try (FramePool pool = new FramePool(16);
            ServerSocketChannel listener = ServerSocketChannel.open(StandardProtocolFamily.UNIX))
        {
            listener.bind(UnixDomainSocketAddress.of(socket()));
            try (QemuStreamPort port = QemuStreamPort.connect(5, pool, socket()))
            {
                final StreamClient qemu = StreamClient.accepted(listener.accept());
                assertTrue(port.connecting());
                assertTrue(port.connected());
                assertEquals(1, port.counters().get(EndpointCounter.CONNECTIONS));
                final byte[] a = PortDriver.pattern(98, 11);
                qemu.sendFrame(a);
                final List<byte[]> received = PortDriver.receive(port, 1, WAIT);
                assertEquals(1, received.size());
                assertArrayEquals(a, received.get(0));
                final byte[] b = PortDriver.pattern(1514, 12);
                assertEquals(1, port.transmit(framesOf(pool, b), 1));
                assertArrayEquals(b, qemu.readFrame(WAIT));

                // QEMU goes away: the port stays disconnected (it does not listen) and drops what it is given
                qemu.close();
                final long deadline = System.nanoTime() + WAIT.toNanos();
                while (port.connected() && System.nanoTime() < deadline)
                {
                    PortDriver.receiveFor(port, Duration.ofMillis(5));
                }
                assertFalse(port.connected(), "the connection ended");
                assertEquals(1, port.transmit(framesOf(pool, PortDriver.pattern(60, 13)), 1));
                assertEquals(1, port.counters().get(EndpointCounter.TX_DROPS));
                assertEquals(16, pool.available());
            }
            assertTrue(Files.exists(socket()), "QEMU's socket file is QEMU's: the port leaves it");
        }
    }

    @Test
    void shouldRefuseToConnectWhenNothingListens() throws IOException
    {
        try (FramePool pool = new FramePool(8))
        {
            assertThrows(IOException.class, () -> QemuStreamPort.connect(0, pool, socket()), "no socket file");
            try (ServerSocketChannel listener = ServerSocketChannel.open(StandardProtocolFamily.UNIX))
            {
                listener.bind(UnixDomainSocketAddress.of(socket()));
            }
            assertTrue(Files.exists(socket()));
            assertThrows(IOException.class, () -> QemuStreamPort.connect(0, pool, socket()), "a socket file nobody listens on");
            assertEquals(8, pool.available());
        }
    }

    @Test
    void shouldFailRatherThanBlockWhenTheListenersBacklogIsFull() throws IOException
    {
        try (FramePool pool = new FramePool(8);
            ServerSocketChannel listener = ServerSocketChannel.open(StandardProtocolFamily.UNIX))
        {
            listener.bind(UnixDomainSocketAddress.of(socket()), 1);
            final List<java.nio.channels.SocketChannel> waiting = new ArrayList<>();
            try
            {
                // connections nobody accepts fill the backlog
                for (int i = 0; i < 64; i++)
                {
                    final java.nio.channels.SocketChannel client = java.nio.channels.SocketChannel.open(StandardProtocolFamily.UNIX);
                    waiting.add(client);
                    client.configureBlocking(false);
                    try
                    {
                        client.connect(UnixDomainSocketAddress.of(socket()));
                    }
                    catch (final IOException full)
                    {
                        break;
                    }
                }
                // the class timeout fails this test if the connect blocks
                assertThrows(IOException.class, () -> QemuStreamPort.connect(0, pool, socket()));
                assertEquals(8, pool.available());
            }
            finally
            {
                for (final java.nio.channels.SocketChannel client : waiting)
                {
                    client.close();
                }
            }
        }
    }
}
