package io.vsnic.crypto.wireguard;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;

class TransportCodecTest
{
    @Test
    void shouldSealInPlaceInsideAFrameWithHeadroomAndTailroom()
    {
        final Pair pair = new Pair();
        pair.handshake();
        try (Arena arena = Arena.ofConfined())
        {
            // a frame buffer: 64 bytes of headroom, a 100-byte inner packet, tailroom after it
            final MemorySegment frame = arena.allocate(2048);
            final long inner = 64;
            for (int i = 0; i < 100; i++)
            {
                frame.set(ValueLayout.JAVA_BYTE, inner + i, (byte)i);
            }
            frame.set(ValueLayout.JAVA_BYTE, inner + 100, (byte)0x77); // garbage where the padding goes
            final long message = inner - WireguardMessages.TRANSPORT_HEADER_LENGTH;
            final int n = pair.codecA.seal(pair.peerB.current(), frame, inner, 100, message, pair.now());
            assertEquals(16 + 112 + 16, n);
            assertEquals(WireguardMessages.TYPE_TRANSPORT, WireguardMessages.type(frame, message));
            assertEquals(pair.peerB.current().remoteIndex(), WireguardMessages.transportReceiver(frame, message));
            assertEquals(0, WireguardMessages.transportCounter(frame, message));

            final int m = pair.codecB.open(frame, message, n, pair.now());
            assertEquals(112, m);
            for (int i = 0; i < 100; i++)
            {
                assertEquals((byte)i, frame.get(ValueLayout.JAVA_BYTE, inner + i));
            }
            for (int i = 100; i < 112; i++)
            {
                assertEquals(0, frame.get(ValueLayout.JAVA_BYTE, inner + i), "padding is zeros");
            }
        }
    }

    @Test
    void shouldMovePlaintextThatIsNotWhereTheMessageNeedsIt()
    {
        final Pair pair = new Pair();
        pair.handshake();
        final byte[] buffer = new byte[512];
        for (int i = 0; i < 40; i++)
        {
            buffer[i] = (byte)(i + 1);
        }
        final MemorySegment segment = MemorySegment.ofArray(buffer);
        // plaintext at 0, message at 0 too: the plaintext moves 16 bytes up (overlapping copy)
        final int n = pair.codecA.seal(pair.peerB.current(), segment, 0, 40, 0, pair.now());
        assertEquals(16 + 48 + 16, n);
        assertEquals(48, pair.codecB.open(segment, 0, n, pair.now()));
        for (int i = 0; i < 40; i++)
        {
            assertEquals(i + 1, buffer[16 + i]);
        }
        assertThrows(IllegalArgumentException.class,
            () -> pair.codecA.seal(pair.peerB.current(), MemorySegment.ofArray(new byte[79]), 16, 40, 0, pair.now()));
    }

    @Test
    void shouldPadToSixteenButNotBeyondTheMtu()
    {
        assertEquals(0, WireguardMessages.paddedLength(0, 1420));
        assertEquals(16, WireguardMessages.paddedLength(1, 1420));
        assertEquals(96, WireguardMessages.paddedLength(84, 1420));
        assertEquals(1420, WireguardMessages.paddedLength(1419, 1420));
        assertEquals(1420, WireguardMessages.paddedLength(1420, 1420));
        assertEquals(1421, WireguardMessages.paddedLength(1421, 1420), "longer than the MTU: never cut");
        assertEquals(1424, WireguardMessages.paddedLength(1420, 0));
        assertEquals(1494 - 42, WireguardMessages.transportLength(1420, 1420));
    }

    @Test
    void shouldNotAllocateInSteadyStateOnNativeOrHeapBuffers()
    {
        final Pair pair = new Pair();
        pair.handshake();
        try (Arena arena = Arena.ofConfined())
        {
            // native: the data plane's frame buffers (vector kernels); heap: the plain Java path
            assertNoAllocation(pair, arena.allocate(2048));
            assertNoAllocation(pair, MemorySegment.ofArray(new byte[2048]));
        }
    }

    private static void assertNoAllocation(final Pair pair, final MemorySegment buf)
    {
        final Keypair kp = pair.peerB.current();
        final com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean)ManagementFactory.getThreadMXBean();
        final long thread = Thread.currentThread().threadId();
        long sink = 0;
        long least = Long.MAX_VALUE;
        for (int round = 0; round < 8; round++)
        {
            final long before = threads.getThreadAllocatedBytes(thread);
            for (int i = 0; i < 20_000; i++)
            {
                final int len = i % 3 == 0 ? 1420 : i % 3 == 1 ? 60 : 0;
                final int n = pair.codecA.seal(kp, buf, 16, len, 0, pair.now());
                sink += pair.codecB.open(buf, 0, n, pair.now());
            }
            least = Math.min(least, threads.getThreadAllocatedBytes(thread) - before);
        }
        // once JIT-compiled (the best of 8 rounds), 20,000 seal+open pairs must not allocate
        assertTrue(least < 1024, "allocated " + least + " bytes for 20,000 seal+open on " +
            (buf.isNative() ? "native" : "heap") + " memory");
        assertTrue(sink > 0);
    }

    @Test
    void shouldGiveEveryConcurrentSenderAUniqueCounterAndOpenConcurrently() throws Exception
    {
        final Pair pair = new Pair();
        pair.handshake();
        final Keypair kp = pair.peerB.current();
        final int threads = 4;
        final int perThread = 2000;
        final Set<Long> counters = ConcurrentHashMap.newKeySet();
        final List<byte[]> messages = java.util.Collections.synchronizedList(new ArrayList<>());
        final List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++)
        {
            workers.add(Thread.ofPlatform().start(() ->
            {
                final TransportCodec codec = new TransportCodec(pair.a, Pair.MTU);
                final MemorySegment buf = MemorySegment.ofArray(new byte[128]);
                for (int i = 0; i < perThread; i++)
                {
                    final int n = codec.seal(kp, buf, 16, 32, 0, pair.now());
                    counters.add(WireguardMessages.transportCounter(buf, 0));
                    messages.add(buf.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE));
                }
            }));
        }
        for (final Thread w : workers)
        {
            w.join();
        }
        assertEquals(threads * perThread, counters.size());

        final AtomicInteger accepted = new AtomicInteger();
        final List<Thread> openers = new ArrayList<>();
        for (int t = 0; t < threads; t++)
        {
            final int from = t;
            openers.add(Thread.ofPlatform().start(() ->
            {
                final TransportCodec codec = new TransportCodec(pair.b, Pair.MTU);
                // every opener tries every message: each must be accepted exactly once overall
                for (int i = 0; i < messages.size(); i++)
                {
                    final byte[] m = messages.get((i + from * 997) % messages.size()).clone();
                    if (codec.open(MemorySegment.ofArray(m), 0, m.length, pair.now()) >= 0)
                    {
                        accepted.incrementAndGet();
                    }
                }
            }));
        }
        for (final Thread o : openers)
        {
            o.join();
        }
        assertEquals(threads * perThread, accepted.get());
        assertEquals((long)threads * perThread * (threads - 1), pair.b.rejections(Rejection.REPLAY));
    }

    @Test
    void shouldWarmUpOnTheCallersBufferWithoutLeavingIndices()
    {
        try (Arena arena = Arena.ofConfined())
        {
            // the time limit may run out on a busy machine; the round trips themselves must succeed
            TransportCodec.warmUp(arena.allocate(2048), 500_000_000L);
        }
    }

    @Test
    void shouldReportTheSessionOfTheLastOpenedMessage()
    {
        final Pair pair = new Pair();
        pair.handshake();
        final byte[] m = pair.seal(pair.codecA, pair.peerB.current(), 20, (byte)3);
        assertEquals(32, pair.open(pair.codecB, m));
        assertEquals(pair.peerA, pair.codecB.lastPeer());
        assertArrayEquals(pair.a.publicKey(), pair.codecB.lastPeer().publicKey());
        assertEquals(Rejection.REPLAY.code(), pair.open(pair.codecB, m));
        assertEquals(null, pair.codecB.lastPeer());
    }
}
