package io.vsnic.bench;

import java.lang.management.ManagementFactory;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

import io.vsnic.dataplane.buffer.Frame;
import io.vsnic.dataplane.buffer.FramePool;
import io.vsnic.dataplane.config.Encapsulation;
import io.vsnic.dataplane.config.NetworkSpec;
import io.vsnic.dataplane.config.PeerSpec;
import io.vsnic.dataplane.config.SubnetSpec;
import io.vsnic.dataplane.substrate.UdpSubstrate;
import io.vsnic.dataplane.table.ForwardingState;

/**
 * Substrate datagram rate on loopback, per transport (epoll, io_uring, NIO) and payload size, in one
 * run: one sender thread hands bursts of {@value #BURST} overlay frames to substrate A, which
 * encapsulates (Geneve) and sends them to substrate B on 127.0.0.2, whose event loop reads them into
 * frames that a receiver thread drains, as a worker would. A window of {@value #WINDOW} frames in
 * flight keeps loss out of the measurement (UDP on loopback drops when the receiver falls behind).
 * Prints datagrams/s, Gbit/s of inner frames and the process CPU seconds per second.
 *
 * <p>Run: {@code jmh-benchmarks/substrate-bench.sh [seconds]}.
 */
public final class SubstrateThroughput
{
    static final int BURST = 32;
    static final int WINDOW = 512;

    private SubstrateThroughput()
    {
    }

    /**
     * @param args optional: seconds per case (default 5).
     */
    public static void main(final String[] args) throws Exception
    {
        final int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        System.out.printf(Locale.ROOT, "%-9s %6s %12s %10s %10s %8s%n", "transport", "bytes", "datagrams/s", "Gbit/s", "cpu s/s", "lost");
        for (final UdpSubstrate.Transport transport : UdpSubstrate.Transport.values())
        {
            if (!UdpSubstrate.isAvailable(transport))
            {
                System.out.printf(Locale.ROOT, "%-9s not available%n", transport.name().toLowerCase(Locale.ROOT));
                continue;
            }
            for (final int bytes : new int[] {64, 1400})
            {
                run(transport, bytes, seconds);
            }
        }
    }

    private static void run(final UdpSubstrate.Transport transport, final int frameBytes, final int seconds) throws Exception
    {
        try (FramePool poolA = new FramePool(4096);
             FramePool poolB = new FramePool(4096))
        {
            final ForwardingState[] stateA = {ForwardingState.empty()};
            final ForwardingState[] stateB = {ForwardingState.empty()};
            try (UdpSubstrate a = new UdpSubstrate(1, poolA, () -> stateA[0],
                    new UdpSubstrate.Config("127.0.0.1", 0, 0, transport, 1, 8192));
                 UdpSubstrate b = new UdpSubstrate(1, poolB, () -> stateB[0],
                    new UdpSubstrate.Config("127.0.0.2", 0, 0, transport, 1, 8192)))
            {
                a.start();
                b.start();
                final NetworkSpec network = new NetworkSpec("n", 1, 1500, List.of(new SubnetSpec("10.0.0.0/24", "10.0.0.1")));
                stateA[0] = ForwardingState.build(null, List.of(network), List.of(),
                    List.of(new PeerSpec(2, "b", "127.0.0.2:" + b.genevePort(), Encapsulation.GENEVE, List.of())));
                stateB[0] = ForwardingState.build(null, List.of(network), List.of(),
                    List.of(new PeerSpec(1, "a", "127.0.0.1:" + a.genevePort(), Encapsulation.GENEVE, List.of())));

                final Frame[] burst = new Frame[BURST];
                final Frame[] received = new Frame[256];
                long sent = 0;
                long got = 0;
                final long warmupEnd = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
                long start = 0;
                long startGot = 0;
                long startCpu = 0;
                final long end = warmupEnd + TimeUnit.SECONDS.toNanos(seconds);
                long lastProgress = System.nanoTime();
                while (true)
                {
                    final long now = System.nanoTime();
                    if (start == 0 && now >= warmupEnd)
                    {
                        start = now;
                        startGot = got;
                        startCpu = cpuNanos();
                    }
                    if (now >= end)
                    {
                        break;
                    }
                    if (sent - got < WINDOW - BURST)
                    {
                        int n = 0;
                        while (n < BURST)
                        {
                            final Frame frame = poolA.acquire();
                            if (frame == null)
                            {
                                break;
                            }
                            frame.length(frameBytes);
                            frame.vni(1).peerDevice(2);
                            burst[n++] = frame;
                        }
                        a.transmit(burst, n);
                        sent += n;
                    }
                    final int count = b.receive(received, received.length);
                    for (int i = 0; i < count; i++)
                    {
                        received[i].release();
                    }
                    got += count;
                    if (count > 0)
                    {
                        lastProgress = now;
                    }
                    else if (now - lastProgress > TimeUnit.MILLISECONDS.toNanos(200))
                    {
                        // A datagram was lost: forget the window it held.
                        sent = got;
                        lastProgress = now;
                    }
                }
                final double elapsed = (System.nanoTime() - start) / 1e9;
                final double cpu = (cpuNanos() - startCpu) / 1e9;
                final double rate = (got - startGot) / elapsed;
                System.out.printf(Locale.ROOT, "%-9s %6d %12.0f %10.3f %10.2f %8d%n", transport.name().toLowerCase(Locale.ROOT),
                    frameBytes, rate, rate * frameBytes * 8 / 1e9, cpu / elapsed, a.txDatagrams() - b.rxDatagrams());
            }
        }
    }

    private static long cpuNanos()
    {
        return ((com.sun.management.OperatingSystemMXBean)ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }
}
