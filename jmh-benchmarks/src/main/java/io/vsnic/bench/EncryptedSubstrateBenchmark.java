package io.vsnic.bench;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetAddress;
import java.security.SecureRandom;
import java.util.concurrent.TimeUnit;

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
import io.vsnic.crypto.wireguard.HandshakeResult;
import io.vsnic.crypto.wireguard.Keypair;
import io.vsnic.crypto.wireguard.Peer;
import io.vsnic.crypto.wireguard.TransportCodec;
import io.vsnic.crypto.wireguard.WireguardDevice;
import io.vsnic.crypto.wireguard.WireguardMessages;
import io.vsnic.dataplane.buffer.Frame;
import io.vsnic.dataplane.buffer.FramePool;
import io.vsnic.dataplane.config.Encapsulation;
import io.vsnic.dataplane.protocol.FrameBuilder;
import io.vsnic.dataplane.protocol.Ipv4Flyweight;
import io.vsnic.dataplane.substrate.InnerTunnel;
import io.vsnic.dataplane.substrate.OverlayHeaders;

/**
 * The encrypted substrate's per-packet work on one thread, one inner Ethernet frame per operation,
 * in a pool frame (native memory) exactly as {@code UdpSubstrate} does it:
 *
 * <ul>
 *   <li>{@link #transmit}: Geneve header, inner IPv4 + UDP headers (flow-hash source port, IPv4
 *       header checksum), WireGuard seal in place ({@link InnerTunnel#seal}); the frame is first
 *       restored from a template (one {@code MemorySegment.copy} of the frame's size, since sealing
 *       encrypts in place).</li>
 *   <li>{@link #transmitReceive}: the same, then open in place with the peer's codec (index lookup,
 *       tag, replay window) and the inner-header checks of cryptokey routing
 *       ({@link InnerTunnel#strip}); receive alone costs about {@code transmitReceive − transmit}
 *       (a received counter can be opened only once, so receive cannot be measured alone).</li>
 * </ul>
 *
 * Socket I/O is not included (see {@code SubstrateThroughput}). Must be 0 B/op under {@code -prof gc}.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(1)
@Warmup(iterations = 5, time = 1, timeUnit = TimeUnit.SECONDS)
@Measurement(iterations = 5, time = 1, timeUnit = TimeUnit.SECONDS)
public class EncryptedSubstrateBenchmark
{
    /** Two devices with a session, a frame and its template. */
    @State(Scope.Thread)
    public static class Path
    {
        /** Inner Ethernet frame bytes. */
        @Param({"64", "1400"})
        public int size;

        FramePool pool;
        Frame frame;
        MemorySegment template;
        int start;
        Keypair keypair;
        TransportCodec sender;
        TransportCodec receiver;
        InnerTunnel aToB;
        InnerTunnel bAtA;
        OverlayHeaders overlay;
        long nowNs;

        @Setup(Level.Trial)
        public void setUp() throws Exception
        {
            final SecureRandom random = new SecureRandom();
            final WireguardDevice a = WireguardDevice.builder(DeviceKeys.generate(random)).build();
            final WireguardDevice b = WireguardDevice.builder(DeviceKeys.generate(random)).build();
            final Peer toB = a.addPeer(b.publicKey(), null);
            b.addPeer(a.publicKey(), null);
            nowNs = a.nanoTime();
            final HandshakeResult result = new HandshakeResult();
            final MemorySegment scratch = MemorySegment.ofArray(new byte[512]);
            a.createInitiation(toB, scratch, 0, nowNs);
            b.consumeHandshake(scratch, 0, WireguardMessages.INITIATION_LENGTH, null, nowNs, scratch, 256, result);
            a.consumeHandshake(scratch, 256, WireguardMessages.RESPONSE_LENGTH, null, nowNs, scratch, 0, result);
            keypair = toB.current();
            sender = new TransportCodec(a, 0);
            receiver = new TransportCodec(b, 0);
            aToB = new InnerTunnel(InetAddress.ofLiteral("10.99.0.1"), InetAddress.ofLiteral("10.99.0.2"), Encapsulation.GENEVE);
            bAtA = new InnerTunnel(InetAddress.ofLiteral("10.99.0.2"), InetAddress.ofLiteral("10.99.0.1"), Encapsulation.GENEVE);
            overlay = new OverlayHeaders();
            pool = new FramePool(64);
            frame = pool.acquire();
            TransportCodec.warmUp(frame.segment(), 20_000_000_000L);
            start = pool.headroomBytes();
            template = MemorySegment.ofArray(new byte[size]);
            final FrameBuilder builder = new FrameBuilder(template, 0);
            builder.ethernet(0x02_00_00_00_0b_01L, 0x02_00_00_00_0a_01L).ipv4(Ipv4Flyweight.parse("10.0.1.11"),
                Ipv4Flyweight.parse("10.0.1.21")).udp(40000, 5000).payload(size - 14 - 20 - 8, 7);
            if (builder.build() != size)
            {
                throw new IllegalStateException("template is not " + size + " bytes");
            }
        }

        @TearDown(Level.Trial)
        public void tearDown()
        {
            frame.release();
            pool.close();
        }

        int transmit()
        {
            MemorySegment.copy(template, 0, frame.segment(), start, size);
            frame.window(start, size);
            overlay.encapsulate(frame, Encapsulation.GENEVE, 100);
            final int n = aToB.seal(sender, keypair, frame, nowNs);
            if (n < 0)
            {
                throw new IllegalStateException("seal failed: " + n);
            }
            return n;
        }
    }

    @Benchmark
    public int transmit(final Path p)
    {
        return p.transmit();
    }

    @Benchmark
    public int transmitReceive(final Path p)
    {
        final int n = p.transmit();
        final int message = p.frame.start();
        final int plain = p.receiver.open(p.frame.segment(), message, n, p.nowNs);
        if (plain < 0 || p.bAtA.strip(p.frame, message, plain) != 0 ||
            p.frame.length() != p.size + OverlayHeaders.HEADER_LENGTH ||
            p.frame.segment().get(ValueLayout.JAVA_BYTE, p.frame.start() + OverlayHeaders.HEADER_LENGTH + 6) != 0x02)
        {
            throw new IllegalStateException("open/strip failed: " + plain);
        }
        return p.frame.length();
    }
}
