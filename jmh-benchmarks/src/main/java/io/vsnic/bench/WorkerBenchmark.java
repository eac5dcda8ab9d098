package io.vsnic.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import io.vsnic.dataplane.buffer.Frame;
import io.vsnic.dataplane.config.NetworkSpec;
import io.vsnic.dataplane.config.PortSpec;
import io.vsnic.dataplane.config.SubnetSpec;
import io.vsnic.dataplane.flow.FlowLog;
import io.vsnic.dataplane.pipeline.DataPlane;
import io.vsnic.dataplane.pipeline.DataPlaneConfig;
import io.vsnic.dataplane.pipeline.MemoryPort;
import io.vsnic.dataplane.pipeline.Port;
import io.vsnic.dataplane.pipeline.Worker;
import io.vsnic.dataplane.protocol.FrameBuilder;
import io.vsnic.dataplane.protocol.IpProtocol;
import io.vsnic.dataplane.protocol.Ipv4Flyweight;
import io.vsnic.dataplane.security.CompiledPolicy;
import io.vsnic.dataplane.security.ConnectionTimeouts;
import io.vsnic.dataplane.security.Direction;
import io.vsnic.dataplane.security.SecurityGroup;
import io.vsnic.dataplane.security.SecurityRule;
import io.vsnic.dataplane.table.ForwardingState;

/**
 * The whole worker loop on in-memory ports, one thread: a burst of {@value #BURST} frames is injected
 * into a memory port; the worker receives it, classifies, looks up, checks, rewrites and hands the
 * frames to the output port's ring; the "wire" side takes them off that ring and restores the first
 * {@value #HEADER_BYTES} bytes the pipeline rewrote, so the same frames are sent again. Reported per
 * packet (the ring hand-offs on both sides are included, as a real port's would be; each side moves
 * the burst through a ring with one claim, as a NIC's descriptor ring is filled and drained).
 *
 * <ul>
 *   <li>{@code l2}: same subnet: destination MAC lookup, anti-spoofing, connection tracking;</li>
 *   <li>{@code l3}: across subnets through the gateway: LPM, neighbour lookup, TTL decrement with
 *       incremental checksum, MAC rewrite, connection tracking;</li>
 *   <li>{@code l3sg}: as {@code l3}, with security groups (6 rules) on both ports.</li>
 * </ul>
 * Frames cycle through {@value #FLOWS} flows, so the connection table holds established entries.
 * {@code flowLogs=true} turns the flow log on (per-flow packet and byte counters in the worker's
 * stripe; no collector runs, the flows were created in the set-up).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 2, timeUnit = TimeUnit.SECONDS)
@Measurement(iterations = 5, time = 2, timeUnit = TimeUnit.SECONDS)
public class WorkerBenchmark
{
    public static final int BURST = 256;
    private static final int FLOWS = 64;
    private static final int HEADER_BYTES = 64;
    private static final long MAC1 = 0x02_00_00_00_00_01L;
    private static final long MAC2 = 0x02_00_00_00_00_02L;
    private static final long MAC3 = 0x02_00_00_00_00_03L;
    private static final long GW_MAC = ForwardingState.GATEWAY_MAC_PREFIX | 42;

    @Param({"l2", "l3", "l3sg"})
    public String path;

    @Param({"64", "1400"})
    public int frameBytes;

    /** With the flow log on, each worker counts every packet in its stripe of the connection table. */
    @Param({"false", "true"})
    public boolean flowLogs;

    private DataPlane dataPlane;
    private Lane lane;

    @Setup(Level.Trial)
    public void setUp()
    {
        dataPlane = dataPlane(1, 1, path, flowLogs);
        lane = new Lane(dataPlane, 0, "l2".equals(path), frameBytes);
        lane.attachOutput(dataPlane);
        forwardBurst();
    }

    /**
     * A data plane with {@code workers} workers and {@code lanes} independent lanes in one network:
     * lane {@code k} has an input port ({@code 3k + 1}, 10.0.1.(11 + k)), a port in the same subnet
     * ({@code 3k + 2}, 10.0.1.(111 + k)) and one in the other subnet ({@code 3k + 3}, 10.0.2.(13 + k)).
     * Ports are attached by the {@link Lane}s, input ports first, so lane {@code k}'s input port goes
     * to worker {@code k % workers}.
     */
    static DataPlane dataPlane(final int workers, final int lanes, final String path, final boolean flowLogs)
    {
        final DataPlane dataPlane = new DataPlane(new DataPlaneConfig(workers, 4096 * lanes, 65536, ConnectionTimeouts.DEFAULTS),
            flowLogs ? FlowLog.Settings.DEFAULTS : null);
        final CompiledPolicy policy = "l3sg".equals(path) ? webAndPing() : CompiledPolicy.allowAll();
        final NetworkSpec network = new NetworkSpec("bench", 42, 9000,
            List.of(new SubnetSpec("10.0.1.0/24", "10.0.1.1"), new SubnetSpec("10.0.2.0/24", "10.0.2.1")));
        final List<PortSpec> ports = new ArrayList<>();
        for (int k = 0; k < lanes; k++)
        {
            ports.add(new PortSpec(3 * k + 1, "in-" + k, "bench", MAC1 + 16 * k, "10.0.1." + (11 + k), null, policy, true));
            ports.add(new PortSpec(3 * k + 2, "same-subnet-" + k, "bench", MAC2 + 16 * k, "10.0.1." + (111 + k), null, policy, true));
            ports.add(new PortSpec(3 * k + 3, "other-subnet-" + k, "bench", MAC3 + 16 * k, "10.0.2." + (13 + k), null, policy, true));
        }
        dataPlane.publish(ForwardingState.build(List.of(network), ports));
        return dataPlane;
    }

    /**
     * One input port, its output port and a burst of frames that cycles between them: the wire side
     * injects the burst, the worker forwards it, the wire side takes it off the output ring and
     * restores the {@value #HEADER_BYTES} header bytes the pipeline rewrote.
     */
    static final class Lane
    {
        final MemoryPort in;
        final MemoryPort out;
        final Worker worker;
        private final Frame[] frames = new Frame[BURST];
        private final Frame[] polled = new Frame[BURST];
        private final MemorySegment[] headers = new MemorySegment[BURST];
        private final int[] burstIndexOfSlot;

        /** Attaches lane {@code k}'s input port (for every lane before any {@link #attachOutput(DataPlane)}). */
        Lane(final DataPlane dataPlane, final int k, final boolean l2, final int frameBytes)
        {
            in = new MemoryPort(3 * k + 1, Port.KIND_VNIC, dataPlane.pool(), 1024);
            out = new MemoryPort(l2 ? 3 * k + 2 : 3 * k + 3, Port.KIND_VNIC, dataPlane.pool(), 1024);
            dataPlane.addPort(in);
            worker = dataPlane.worker(k % dataPlane.config().workers());
            final int source = Ipv4Flyweight.parse("10.0.1." + (11 + k));
            final int destination = Ipv4Flyweight.parse(l2 ? "10.0.1." + (111 + k) : "10.0.2." + (13 + k));
            final int payload = frameBytes - 14 - 20 - 8;
            burstIndexOfSlot = new int[dataPlane.pool().capacity()];
            for (int i = 0; i < BURST; i++)
            {
                final Frame frame = dataPlane.pool().acquire();
                final FrameBuilder builder = new FrameBuilder(frame.segment(), frame.start());
                builder.ethernet(l2 ? MAC2 + 16 * k : GW_MAC, MAC1 + 16 * k).ipv4(source, destination)
                    .udp(40000 + i % FLOWS, 443).payload(payload, i);
                frame.length(builder.build());
                frames[i] = frame;
                // off-heap, like the frames: restoring the header is then a native-to-native copy
                headers[i] = Arena.ofAuto().allocate(HEADER_BYTES, 64).copyFrom(frame.segment().asSlice(frame.start(), HEADER_BYTES));
                burstIndexOfSlot[frame.index()] = i;
            }
        }

        /** Attaches the output port (after every lane's input port, so that inputs spread over the workers first). */
        void attachOutput(final DataPlane dataPlane)
        {
            dataPlane.addPort(out);
        }

        int forward()
        {
            in.inject(frames, BURST);
            final int processed = worker.doWork();
            final int sent = out.poll(polled, BURST);
            for (int i = 0; i < sent; i++)
            {
                final Frame frame = polled[i];
                MemorySegment.copy(headers[burstIndexOfSlot[frame.index()]], 0, frame.segment(), frame.start(), HEADER_BYTES);
            }
            return processed;
        }
    }

    private static CompiledPolicy webAndPing()
    {
        return CompiledPolicy.compile(List.of(
            new SecurityGroup("web", List.of(
                new SecurityRule(Direction.INGRESS, IpProtocol.TCP, 80, 80, "10.0.0.0/8"),
                new SecurityRule(Direction.INGRESS, IpProtocol.TCP, 443, 443, "10.0.0.0/8"),
                new SecurityRule(Direction.INGRESS, IpProtocol.UDP, 443, 443, "10.0.0.0/8"),
                new SecurityRule(Direction.INGRESS, IpProtocol.ICMP, 0, 65535, "0.0.0.0/0"),
                new SecurityRule(Direction.EGRESS, IpProtocol.UDP, 443, 443, "10.0.0.0/8"),
                new SecurityRule(Direction.EGRESS, IpProtocol.TCP, 1, 65535, "0.0.0.0/0")))));
    }

    @TearDown(Level.Trial)
    public void tearDown()
    {
        close(dataPlane);
    }

    /** Closes a benchmark's data plane; fails the run if any frame was dropped (the paths forward everything). */
    static void close(final DataPlane dataPlane)
    {
        final long drops = dataPlane.counters().totalDrops();
        final String reasons = dataPlane.counters().dropsByReason().toString();
        dataPlane.close();
        if (drops != 0)
        {
            throw new IllegalStateException("frames were dropped: " + reasons);
        }
    }

    @Benchmark
    @OperationsPerInvocation(BURST)
    public int forwardBurst()
    {
        return lane.forward();
    }
}
