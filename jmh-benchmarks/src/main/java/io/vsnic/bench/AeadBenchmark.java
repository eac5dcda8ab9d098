package io.vsnic.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import io.vsnic.crypto.DeviceKeys;
import io.vsnic.crypto.primitive.TransportAead;
import io.vsnic.crypto.primitive.VectorSupport;
import io.vsnic.crypto.wireguard.HandshakeResult;
import io.vsnic.crypto.wireguard.Keypair;
import io.vsnic.crypto.wireguard.Peer;
import io.vsnic.crypto.wireguard.Tai64n;
import io.vsnic.crypto.wireguard.TransportCodec;
import io.vsnic.crypto.wireguard.WireguardDevice;
import io.vsnic.crypto.wireguard.WireguardMessages;
import io.vsnic.crypto.wireguard.WireguardTimers;

/**
 * Substrate crypto cost, one packet (or one handshake) per operation, on one thread.
 *
 * <ul>
 *   <li>{@link #seal} / {@link #open}: ChaCha20-Poly1305 as WireGuard transport uses it (no AAD,
 *       counter nonce, in place, tag after the data) for each {@link TransportAead} implementation
 *       ({@code vsnic}: our own with the Vector API kernels; {@code vsnic-scalar}: our own in plain
 *       Java; {@code jdk}: {@code javax.crypto}; {@code bc}: Bouncy Castle lightweight) at 1420 bytes (a full WireGuard MTU) and 64 bytes, over a native segment like
 *       a frame buffer. {@code open} restores the sealed message with one {@code MemorySegment.copy}
 *       first (the same size, a few tens of ns), since opening decrypts in place.</li>
 *   <li>{@link #codecSeal} and {@link #codecSealOpen}: the whole per-packet path of
 *       {@link TransportCodec} (header, padding, counter, index lookup, replay window, timer
 *       bookkeeping) with vsnic's cipher; open alone costs about {@code sealOpen − seal}.</li>
 *   <li>{@link #handshake}: initiation created, consumed with a response, response consumed,
 *       keypairs rotated: a complete handshake between two devices.</li>
 * </ul>
 *
 * <p>Every trial first runs {@link VectorSupport#warmUp} or {@link TransportCodec#warmUp} on its
 * buffer (as the data plane should at start), then JMH's warm-up iterations (5 × 1 s here: the
 * Vector API kernels need C2, which takes seconds on a busy 2-core machine).
 *
 * <p>Per-packet methods must show {@code gc.alloc.rate.norm} ≈ 0 B/op under {@code -prof gc} for
 * {@code vsnic}; {@code jdk} and {@code bc} allocate per message (their {@code init}). Run
 * {@code jmh-benchmarks/crypto-bench.sh} to get these together with {@code openssl speed}.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(1)
@Warmup(iterations = 5, time = 1, timeUnit = TimeUnit.SECONDS)
@Measurement(iterations = 5, time = 1, timeUnit = TimeUnit.SECONDS)
public class AeadBenchmark
{
    /** Counter of the message {@link #open} opens again and again. */
    static final long OPEN_COUNTER = 12345;

    /** One AEAD implementation, one packet size. */
    @State(Scope.Thread)
    public static class Raw
    {
        /** Which {@link TransportAead}. */
        @Param({"vsnic", "vsnic-scalar", "jdk", "bc"})
        public String implementation;

        /** Plaintext bytes per packet. */
        @Param({"1420", "64"})
        public int size;

        TransportAead aead;
        byte[] key;
        long counter;
        long failures;
        private Arena arena;
        MemorySegment buffer;
        MemorySegment sealed;

        /**
         * Builds the cipher, a random key, a frame-sized native buffer and one sealed message.
         */
        @Setup(Level.Trial)
        public void setUp()
        {
            aead = TransportAead.create(implementation);
            if (!aead.name().equals(implementation))
            {
                throw new IllegalStateException(implementation + " is not available here (got " + aead.name() +
                    "): run with the project's JVM flags (--add-modules=jdk.incubator.vector)");
            }
            final SplittableRandom random = new SplittableRandom(1420);
            key = new byte[32];
            random.nextBytes(key);
            arena = Arena.ofShared();
            buffer = arena.allocate(2048, 64);
            sealed = arena.allocate(2048, 64);
            // as the data plane does at start: get the vector kernels JIT-compiled on this kind of buffer
            VectorSupport.warmUp(buffer, 20_000_000_000L);
            for (long i = 0; i < size; i++)
            {
                sealed.set(java.lang.foreign.ValueLayout.JAVA_BYTE, i, (byte)random.nextInt());
            }
            aead.seal(key, OPEN_COUNTER, sealed, 0, size);
        }

        /**
         * Checks that every open succeeded and frees the buffers.
         */
        @TearDown(Level.Trial)
        public void tearDown()
        {
            try
            {
                if (failures != 0)
                {
                    throw new IllegalStateException(implementation + ": " + failures + " opens failed");
                }
            }
            finally
            {
                arena.close();
            }
        }
    }

    /** Two devices with an established session. */
    @State(Scope.Thread)
    public static class Codec
    {
        /** Plaintext bytes per packet. */
        @Param({"1420", "64"})
        public int size;

        TransportCodec sender;
        TransportCodec receiver;
        Keypair keypair;
        long now;
        long failures;
        private Arena arena;
        MemorySegment buffer;

        /**
         * Runs a handshake and confirms it, so that both directions are usable.
         */
        @Setup(Level.Trial)
        public void setUp()
        {
            final Devices devices = new Devices();
            devices.handshake();
            now = devices.clock.get();
            sender = new TransportCodec(devices.a, 1420);
            receiver = new TransportCodec(devices.b, 1420);
            keypair = devices.peerB.sendingKeypair(now);
            arena = Arena.ofShared();
            buffer = arena.allocate(2048, 64);
            TransportCodec.warmUp(buffer, 20_000_000_000L);
        }

        /**
         * Checks that every open succeeded.
         */
        @TearDown(Level.Trial)
        public void tearDown()
        {
            try
            {
                if (failures != 0)
                {
                    throw new IllegalStateException(failures + " codec operations failed");
                }
            }
            finally
            {
                arena.close();
            }
        }
    }

    /** Two devices that handshake again and again. */
    @State(Scope.Thread)
    public static class Handshakes
    {
        Devices devices;
        final MemorySegment initiation = MemorySegment.ofArray(new byte[WireguardMessages.INITIATION_LENGTH]);
        final MemorySegment response = MemorySegment.ofArray(new byte[WireguardMessages.RESPONSE_LENGTH]);
        final MemorySegment unused = MemorySegment.ofArray(new byte[128]);
        final HandshakeResult result = new HandshakeResult();
        long failures;

        /**
         * Builds the devices.
         */
        @Setup(Level.Trial)
        public void setUp()
        {
            devices = new Devices();
        }

        /**
         * Checks that every handshake completed.
         */
        @TearDown(Level.Trial)
        public void tearDown()
        {
            if (failures != 0)
            {
                throw new IllegalStateException(failures + " handshakes failed");
            }
        }
    }

    /** Two devices that know each other; the clocks are fake so that nothing expires. */
    static final class Devices
    {
        final AtomicLong clock = new AtomicLong(1_000_000_000L);
        final AtomicLong seconds = new AtomicLong(1_700_000_000L);
        final WireguardDevice a;
        final WireguardDevice b;
        final Peer peerB;
        final Peer peerA;

        Devices()
        {
            final WireguardTimers timers = new WireguardTimers(WireguardTimers.REKEY_AFTER_MESSAGES,
                WireguardTimers.REJECT_AFTER_MESSAGES, WireguardTimers.DEFAULT.rekeyAfterTimeNs(),
                WireguardTimers.DEFAULT.rejectAfterTimeNs(), WireguardTimers.DEFAULT.rekeyAttemptTimeNs(),
                WireguardTimers.DEFAULT.rekeyTimeoutNs(), WireguardTimers.DEFAULT.rekeyTimeoutJitterMaxNs(),
                WireguardTimers.DEFAULT.keepaliveTimeoutNs(), WireguardTimers.DEFAULT.cookieRefreshTimeNs(), 0);
            final SplittableRandom random = new SplittableRandom(25519);
            final byte[] ka = new byte[32];
            final byte[] kb = new byte[32];
            random.nextBytes(ka);
            random.nextBytes(kb);
            a = WireguardDevice.builder(DeviceKeys.fromPrivateKey(ka)).timers(timers).nanoClock(clock::get)
                .tai64n(this::tai64n).build();
            b = WireguardDevice.builder(DeviceKeys.fromPrivateKey(kb)).timers(timers).nanoClock(clock::get)
                .tai64n(this::tai64n).build();
            peerB = a.addPeer(b.publicKey(), null);
            peerA = b.addPeer(a.publicKey(), null);
        }

        private void tai64n(final byte[] dst, final int offset)
        {
            Tai64n.encode(seconds.getAndIncrement(), 0, dst, offset);
        }

        /** A handshake, then one message each way so that both sides send with the new keypair. */
        void handshake()
        {
            final MemorySegment buf = MemorySegment.ofArray(new byte[256]);
            final HandshakeResult result = new HandshakeResult();
            final long now = clock.get();
            a.createInitiation(peerB, buf, 0, now);
            b.consumeHandshake(buf, 0, WireguardMessages.INITIATION_LENGTH, null, now, buf, 148 - 92 + 64, result);
            a.consumeHandshake(buf, 148 - 92 + 64, WireguardMessages.RESPONSE_LENGTH, null, now, buf, 0, result);
            final TransportCodec ca = new TransportCodec(a, 1420);
            final TransportCodec cb = new TransportCodec(b, 1420);
            final int n = ca.seal(peerB.sendingKeypair(now), buf, 16, 0, 0, now);
            if (n < 0 || cb.open(buf, 0, n, now) < 0 || peerA.sendingKeypair(now) == null)
            {
                throw new IllegalStateException("benchmark session did not come up");
            }
        }
    }

    /**
     * Seals one packet in place with the next counter.
     *
     * @param s the state.
     * @return the counter used.
     */
    @Benchmark
    public long seal(final Raw s)
    {
        s.aead.seal(s.key, s.counter, s.buffer, 0, s.size);
        return s.counter++;
    }

    /**
     * Restores a sealed packet (one copy) and opens it in place.
     *
     * @param s the state.
     * @return whether the tag verified.
     */
    @Benchmark
    public boolean open(final Raw s)
    {
        MemorySegment.copy(s.sealed, 0, s.buffer, 0, s.size + TransportAead.TAG_LENGTH);
        final boolean ok = s.aead.open(s.key, OPEN_COUNTER, s.buffer, 0, s.size);
        if (!ok)
        {
            s.failures++;
        }
        return ok;
    }

    /**
     * The whole transport seal path: header, padding, counter, encryption, timer bookkeeping.
     *
     * @param s the state.
     * @return the message length.
     */
    @Benchmark
    public int codecSeal(final Codec s)
    {
        final int n = s.sender.seal(s.keypair, s.buffer, WireguardMessages.TRANSPORT_DATA_OFFSET, s.size, 0, s.now);
        if (n < 0)
        {
            s.failures++;
        }
        return n;
    }

    /**
     * Seal on one device and open on the other: header, index lookup, tag, replay window, decryption.
     *
     * @param s the state.
     * @return the plaintext length.
     */
    @Benchmark
    public int codecSealOpen(final Codec s)
    {
        final int n = s.sender.seal(s.keypair, s.buffer, WireguardMessages.TRANSPORT_DATA_OFFSET, s.size, 0, s.now);
        final int m = s.receiver.open(s.buffer, 0, n, s.now);
        if (m < 0)
        {
            s.failures++;
        }
        return m;
    }

    /**
     * A complete handshake: initiation, response, response consumed (8 X25519 operations).
     *
     * @param s the state.
     * @return the response length.
     */
    @Benchmark
    public int handshake(final Handshakes s)
    {
        final Devices d = s.devices;
        final long now = d.clock.addAndGet(1_000_000);
        d.a.createInitiation(d.peerB, s.initiation, 0, now);
        final int n = d.b.consumeHandshake(s.initiation, 0, WireguardMessages.INITIATION_LENGTH, null, now, s.response,
            0, s.result);
        final int m = d.a.consumeHandshake(s.response, 0, WireguardMessages.RESPONSE_LENGTH, null, now, s.unused, 0,
            s.result);
        if (n != WireguardMessages.RESPONSE_LENGTH || m != 0)
        {
            s.failures++;
        }
        return n;
    }
}
