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
import io.vsnic.dataplane.pipeline.Port;
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
        System.out.println();
        System.out.printf(Locale.ROOT, "receive spread: substrate B with 2 receive queues (SO_REUSEPORT), 2 flows (one per queue), " +
            "1 sender thread; 1 receiver thread reading both queues vs 2 receiver threads, one queue each%n");
        System.out.printf(Locale.ROOT, "batches: sender %d frames per transmit, sendmmsg up to %d messages (UDP GSO %s, up to 64 " +
            "segments), recvmmsg up to %d datagrams (UDP GRO %s: %d messages of up to 64 KiB), receiver bursts up to %d%n",
            BURST, UdpSubstrate.DIRECT_BATCH, System.getProperty(UdpSubstrate.GSO_PROPERTY, "true").equals("false") ? "off" : "on",
            UdpSubstrate.DIRECT_BATCH, System.getProperty(UdpSubstrate.GRO_PROPERTY, "true").equals("false") ? "off" : "on",
            UdpSubstrate.GRO_BATCH, RECEIVED);
        for (final boolean drain : new boolean[] {true, false})
        {
            if (drain)
            {
                System.out.println("drain: the sender fills both queues' socket buffers (" + DRAIN_DATAGRAMS + " datagrams) while the " +
                    "receivers wait, then the receivers empty them (receive work only), cycles for the given seconds; datagrams/s = " +
                    "datagrams / wall time to empty; capacity = sum over receivers of datagrams / that receiver's own CPU time " +
                    "(what each does with a core to itself; the ratio compares capacities)");
                System.out.printf(Locale.ROOT, "%-9s %6s %9s %12s %10s %17s %8s %12s  %s%n", "transport", "bytes", "receivers",
                    "datagrams/s", "Gbit/s", "queue 0 / 1 (%)", "lost", "capacity/s", "(per receiver)");
            }
            else
            {
                System.out.println("stream: the sender runs beside the receivers (at most " + SPREAD_WINDOW + " datagrams in " +
                    "flight): three busy threads; the ratio compares datagrams/s");
                System.out.printf(Locale.ROOT, "%-9s %6s %9s %12s %10s %17s %10s %8s%n", "transport", "bytes", "receivers",
                    "datagrams/s", "Gbit/s", "queue 0 / 1 (%)", "cpu s/s", "lost");
            }
            for (final UdpSubstrate.Transport transport : new UdpSubstrate.Transport[] {UdpSubstrate.Transport.EPOLL,
                UdpSubstrate.Transport.IO_URING})
            {
                if (!UdpSubstrate.isAvailable(transport))
                {
                    System.out.printf(Locale.ROOT, "%-9s not available%n", transport.name().toLowerCase(Locale.ROOT));
                    continue;
                }
                for (final int bytes : new int[] {64, 1400})
                {
                    final double one = spread(transport, bytes, 1, seconds, drain);
                    final double two = spread(transport, bytes, 2, seconds, drain);
                    System.out.printf(Locale.ROOT, "%-9s %6d %9s   2 : 1 receivers = %.2f%n", transport.name().toLowerCase(Locale.ROOT),
                        bytes, "ratio", one > 0 ? two / one : Double.NaN);
                }
            }
        }
    }

    /** Datagrams one drain cycle puts into the two queues' socket buffers (half each). */
    static final int DRAIN_DATAGRAMS = 4096;

    static final int RECEIVED = 256;
    static final int SPREAD_WINDOW = 1024;

    /**
     * Receive spread over workers: substrate B has two receive queues; two sender substrates whose
     * source ports hash to different queues (probed) send in turn from one thread; {@code receivers}
     * threads drain B (one thread both queues, or one thread each, as the data plane's workers would).
     *
     * @return datagrams received per second.
     */
    private static double spread(final UdpSubstrate.Transport transport, final int frameBytes, final int receivers, final int seconds,
        final boolean drain) throws Exception
    {
        try (FramePool poolB = new FramePool(8192))
        {
            final ForwardingState[] stateB = {ForwardingState.empty()};
            final NetworkSpec network = new NetworkSpec("n", 1, 1500, List.of(new SubnetSpec("10.0.0.0/24", "10.0.0.1")));
            final List<UdpSubstrate> senders = new java.util.ArrayList<>();
            final List<FramePool> senderPools = new java.util.ArrayList<>();
            try (UdpSubstrate b = new UdpSubstrate(1, poolB, () -> stateB[0],
                new UdpSubstrate.Config("127.0.0.2", 0, 0, transport, 2, 8192)))
            {
                b.start();
                stateB[0] = ForwardingState.build(null, List.of(network), List.of(),
                    List.of(new PeerSpec(1, "a", "127.0.0.1:6081", Encapsulation.GENEVE, List.of())));
                final Port[] queues = {b, b.receiveQueues().get(0)};
                final Frame[] received = new Frame[RECEIVED];
                // find one sender socket per queue: the kernel hashes the 4-tuple, so probe each new source port
                final UdpSubstrate[] perQueue = new UdpSubstrate[2];
                final FramePool[] perQueuePool = new FramePool[2];
                for (int attempt = 0; attempt < 64 && (perQueue[0] == null || perQueue[1] == null); attempt++)
                {
                    final FramePool pool = new FramePool(4096);
                    final ForwardingState[] stateA = {ForwardingState.empty()};
                    // sourcePorts 0: the sender's datagrams all leave from its bound port, the 4-tuple probed here
                    final UdpSubstrate a = new UdpSubstrate(1, pool, () -> stateA[0],
                        new UdpSubstrate.Config("127.0.0.1", 0, 0, transport, 1, 8192).withSourcePorts(0));
                    senders.add(a);
                    senderPools.add(pool);
                    a.start();
                    stateA[0] = ForwardingState.build(null, List.of(network), List.of(),
                        List.of(new PeerSpec(2, "b", "127.0.0.2:" + b.genevePort(), Encapsulation.GENEVE, List.of())));
                    final long[] before = {b.rxQueueDatagrams(0), b.rxQueueDatagrams(1)};
                    final Frame probe = pool.acquire();
                    probe.length(frameBytes);
                    probe.vni(1).peerDevice(2);
                    a.transmit(new Frame[] {probe}, 1);
                    final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
                    int queue = -1;
                    while (queue < 0 && System.nanoTime() < deadline)
                    {
                        for (int q = 0; q < 2; q++)
                        {
                            final int count = queues[q].receive(received, received.length);
                            for (int i = 0; i < count; i++)
                            {
                                received[i].release();
                            }
                            if (b.rxQueueDatagrams(q) != before[q])
                            {
                                queue = q;
                            }
                        }
                    }
                    if (queue >= 0 && perQueue[queue] == null)
                    {
                        perQueue[queue] = a;
                        perQueuePool[queue] = pool;
                    }
                }
                if (perQueue[0] == null || perQueue[1] == null)
                {
                    System.out.printf(Locale.ROOT, "%-9s %6d no source port found for each queue%n", transport, frameBytes);
                    return 0;
                }
                return drain ? drain(transport, b, queues, perQueue, perQueuePool, frameBytes, receivers, seconds) :
                    stream(transport, b, queues, perQueue, perQueuePool, frameBytes, receivers, seconds);
            }
            finally
            {
                senders.forEach(UdpSubstrate::close);
                senderPools.forEach(FramePool::close);
            }
        }
    }

    /**
     * Cycles of: fill both queues' socket buffers with {@link #DRAIN_DATAGRAMS} (half per flow, so half
     * per queue) while the receivers wait, then let the receivers empty them and time that. The sender
     * is idle while the clock runs, so on two cores two receivers have a core each.
     */
    private static double drain(final UdpSubstrate.Transport transport, final UdpSubstrate b, final Port[] queues,
        final UdpSubstrate[] senders, final FramePool[] pools, final int frameBytes, final int receivers, final int seconds)
        throws Exception
    {
        final java.util.concurrent.atomic.AtomicLong cycle = new java.util.concurrent.atomic.AtomicLong();
        final java.util.concurrent.atomic.AtomicBoolean running = new java.util.concurrent.atomic.AtomicBoolean(true);
        final java.util.concurrent.atomic.AtomicLong lost = new java.util.concurrent.atomic.AtomicLong();
        final long[] finished = new long[receivers];
        final long[] receiverCpuNs = new long[receivers];
        final long[] receiverDatagrams = new long[receivers];
        final java.util.concurrent.Phaser done = new java.util.concurrent.Phaser(receivers + 1);
        final Thread[] threads = new Thread[receivers];
        for (int r = 0; r < receivers; r++)
        {
            final int index = r;
            final Port[] mine = receivers == 1 ? queues : new Port[] {queues[r]};
            final long quota = receivers == 1 ? DRAIN_DATAGRAMS : DRAIN_DATAGRAMS / 2;
            threads[r] = new io.vsnic.dataplane.buffer.FrameCacheThread(() ->
            {
                final Frame[] received = new Frame[RECEIVED];
                final java.lang.management.ThreadMXBean mx = ManagementFactory.getThreadMXBean();
                long seen = 0;
                while (true)
                {
                    while (cycle.get() == seen && running.get())
                    {
                        Thread.onSpinWait();
                    }
                    if (!running.get())
                    {
                        return;
                    }
                    seen = cycle.get();
                    final long cpuStart = mx.getCurrentThreadCpuTime();
                    long got = 0;
                    long lastProgress = System.nanoTime();
                    while (got < quota)
                    {
                        int count = 0;
                        for (final Port queue : mine)
                        {
                            final int n = queue.receive(received, received.length);
                            for (int i = 0; i < n; i++)
                            {
                                received[i].release();
                            }
                            count += n;
                        }
                        got += count;
                        final long now = System.nanoTime();
                        if (count > 0)
                        {
                            lastProgress = now;
                        }
                        else if (now - lastProgress > TimeUnit.SECONDS.toNanos(1))
                        {
                            lost.addAndGet(quota - got);
                            break;
                        }
                    }
                    finished[index] = System.nanoTime();
                    receiverCpuNs[index] += mx.getCurrentThreadCpuTime() - cpuStart;
                    receiverDatagrams[index] += got;
                    done.arrive();
                }
            }, "receiver-" + r);
            threads[r].start();
        }
        try
        {
            final Frame[] burst = new Frame[BURST];
            long startQueue0 = b.rxQueueDatagrams(0);
            long startQueue1 = b.rxQueueDatagrams(1);
            final long warmupEnd = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
            final long end = warmupEnd + TimeUnit.SECONDS.toNanos(seconds);
            boolean warm = false;
            long drainedNs = 0;
            long drained = 0;
            int cycles = 0;
            while (System.nanoTime() < end || cycles < 3)
            {
                if (!warm && System.nanoTime() >= warmupEnd)
                {
                    // the first second warms the JIT up: count from here
                    warm = true;
                    java.util.Arrays.fill(receiverCpuNs, 0);
                    java.util.Arrays.fill(receiverDatagrams, 0);
                    lost.set(0);
                    drainedNs = 0;
                    drained = 0;
                    cycles = 0;
                    startQueue0 = b.rxQueueDatagrams(0);
                    startQueue1 = b.rxQueueDatagrams(1);
                }
                for (int turn = 0; turn < 2; turn++)
                {
                    for (int sent = 0; sent < DRAIN_DATAGRAMS / 2; sent += BURST)
                    {
                        int n = 0;
                        while (n < BURST)
                        {
                            final Frame frame = pools[turn].acquire();
                            if (frame == null)
                            {
                                break;
                            }
                            frame.length(frameBytes);
                            frame.vni(1).peerDevice(2);
                            burst[n++] = frame;
                        }
                        senders[turn].transmit(burst, n);
                    }
                }
                final long start = System.nanoTime();
                cycle.incrementAndGet();
                done.arriveAndAwaitAdvance();
                long last = 0;
                for (final long time : finished)
                {
                    last = Math.max(last, time);
                }
                drainedNs += last - start;
                drained += DRAIN_DATAGRAMS;
                cycles++;
            }
            final double rate = (drained - lost.get()) / (drainedNs / 1e9);
            final long q0 = b.rxQueueDatagrams(0) - startQueue0;
            final long q1 = b.rxQueueDatagrams(1) - startQueue1;
            final double share = q0 + q1 == 0 ? 0 : 100.0 * q0 / (q0 + q1);
            // each receiver's datagrams per second of its own CPU time: what it does with a core to itself
            double capacity = 0;
            final StringBuilder perReceiver = new StringBuilder();
            for (int r = 0; r < receivers; r++)
            {
                final double own = receiverDatagrams[r] / (receiverCpuNs[r] / 1e9);
                capacity += own;
                perReceiver.append(perReceiver.isEmpty() ? "" : " + ").append(String.format(Locale.ROOT, "%.0f", own));
            }
            System.out.printf(Locale.ROOT, "%-9s %6d %9d %12.0f %10.3f %8.0f / %-6.0f %8d %12.0f  (%s)%n",
                transport.name().toLowerCase(Locale.ROOT), frameBytes, receivers, rate, rate * frameBytes * 8 / 1e9, share,
                100 - share, lost.get(), capacity, perReceiver);
            return capacity;
        }
        finally
        {
            running.set(false);
            for (final Thread thread : threads)
            {
                thread.join();
            }
        }
    }

    private static double stream(final UdpSubstrate.Transport transport, final UdpSubstrate b, final Port[] queues, final UdpSubstrate[] senders, final FramePool[] pools,
        final int frameBytes, final int receivers, final int seconds) throws Exception
    {
        final java.util.concurrent.atomic.AtomicLong got = new java.util.concurrent.atomic.AtomicLong();
        final java.util.concurrent.atomic.AtomicBoolean running = new java.util.concurrent.atomic.AtomicBoolean(true);
        final Thread[] threads = new Thread[receivers];
        for (int r = 0; r < receivers; r++)
        {
            final Port[] mine = receivers == 1 ? queues : new Port[] {queues[r]};
            threads[r] = new io.vsnic.dataplane.buffer.FrameCacheThread(() ->
            {
                final Frame[] received = new Frame[RECEIVED];
                while (running.get())
                {
                    for (final Port queue : mine)
                    {
                        final int count = queue.receive(received, received.length);
                        for (int i = 0; i < count; i++)
                        {
                            received[i].release();
                        }
                        if (count > 0)
                        {
                            got.addAndGet(count);
                        }
                    }
                }
            }, "receiver-" + r);
            threads[r].start();
        }
        try
        {
            final Frame[] burst = new Frame[BURST];
            long sent = 0;
            long lastGot = 0;
            long lastProgress = System.nanoTime();
            final long warmupEnd = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
            final long end = warmupEnd + TimeUnit.SECONDS.toNanos(seconds);
            long start = 0;
            long startGot = 0;
            long startCpu = 0;
            final long[] startQueue = new long[2];
            int turn = 0;
            while (true)
            {
                final long now = System.nanoTime();
                final long arrived = got.get();
                if (start == 0 && now >= warmupEnd)
                {
                    start = now;
                    startGot = arrived;
                    startCpu = cpuNanos();
                    startQueue[0] = b.rxQueueDatagrams(0);
                    startQueue[1] = b.rxQueueDatagrams(1);
                }
                if (now >= end)
                {
                    break;
                }
                if (arrived != lastGot)
                {
                    lastGot = arrived;
                    lastProgress = now;
                }
                else if (now - lastProgress > TimeUnit.MILLISECONDS.toNanos(200))
                {
                    sent = arrived;   // datagrams were lost: forget the window they held
                    lastProgress = now;
                }
                if (sent - arrived < SPREAD_WINDOW - BURST)
                {
                    final FramePool pool = pools[turn];
                    int n = 0;
                    while (n < BURST)
                    {
                        final Frame frame = pool.acquire();
                        if (frame == null)
                        {
                            break;
                        }
                        frame.length(frameBytes);
                        frame.vni(1).peerDevice(2);
                        burst[n++] = frame;
                    }
                    senders[turn].transmit(burst, n);
                    sent += n;
                    turn ^= 1;
                }
                else
                {
                    Thread.onSpinWait();
                }
            }
            final double elapsed = (System.nanoTime() - start) / 1e9;
            final double cpu = (cpuNanos() - startCpu) / 1e9;
            final long total = got.get() - startGot;
            if (Boolean.getBoolean("bench.debug"))
            {
                for (final io.vsnic.dataplane.status.DropReason reason : io.vsnic.dataplane.status.DropReason.values())
                {
                    if (b.drops(reason) + senders[0].drops(reason) + senders[1].drops(reason) > 0)
                    {
                        System.out.println("  drops " + reason.label() + " b=" + b.drops(reason) + " a0=" + senders[0].drops(reason) +
                            " a1=" + senders[1].drops(reason));
                    }
                }
            }
            final double rate = total / elapsed;
            final long q0 = b.rxQueueDatagrams(0) - startQueue[0];
            final long q1 = b.rxQueueDatagrams(1) - startQueue[1];
            final double share = q0 + q1 == 0 ? 0 : 100.0 * q0 / (q0 + q1);
            Thread.sleep(200);   // the receivers take what is still in flight: only datagrams never read count as lost
            running.set(false);
            for (final Thread thread : threads)
            {
                thread.join();
            }
            final long lost = senders[0].txDatagrams() + senders[1].txDatagrams() - b.rxDatagrams();
            System.out.printf(Locale.ROOT, "%-9s %6d %9d %12.0f %10.3f %8.0f / %-6.0f %10.2f %8d%n",
                transport.name().toLowerCase(Locale.ROOT), frameBytes, receivers, rate, rate * frameBytes * 8 / 1e9, share,
                100 - share, cpu / elapsed, Math.max(0, lost));
            return rate;
        }
        finally
        {
            running.set(false);
            for (final Thread thread : threads)
            {
                thread.join();
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
