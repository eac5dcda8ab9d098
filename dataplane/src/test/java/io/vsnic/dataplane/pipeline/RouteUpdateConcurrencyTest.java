package io.vsnic.dataplane.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import io.vsnic.dataplane.buffer.Frame;
import io.vsnic.dataplane.config.NetworkSpec;
import io.vsnic.dataplane.config.PortSpec;
import io.vsnic.dataplane.config.RouteSpec;
import io.vsnic.dataplane.config.RouteTarget;
import io.vsnic.dataplane.config.SubnetSpec;
import io.vsnic.dataplane.protocol.FrameBuilder;
import io.vsnic.dataplane.protocol.Ipv4Flyweight;
import io.vsnic.dataplane.security.CompiledPolicy;
import io.vsnic.dataplane.security.ConnectionTimeouts;
import io.vsnic.dataplane.status.CounterSnapshot;
import io.vsnic.dataplane.status.DropReason;
import io.vsnic.dataplane.table.ForwardingState;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Two running workers forward traffic while a control thread publishes 10,000 new forwarding
 * states. Every version routes 192.168.0.0/16 to port 3 (split differently each time) and flips
 * 172.16.0.0/16 between port 4 and a blackhole: no packet to 192.168/16 may be lost, and every
 * received frame is accounted for (forwarded or dropped for a reason). Once with those routes alone (each
 * version compiled), once behind 2,000 unchanged routes (each version edited into the previous tables).
 */
class RouteUpdateConcurrencyTest
{
    private static final long MAC1 = 0x02_00_00_00_00_01L;
    private static final long MAC2 = 0x02_00_00_00_00_02L;
    private static final long MAC3 = 0x02_00_00_00_00_03L;
    private static final long MAC4 = 0x02_00_00_00_00_04L;
    private static final long GW_MAC = ForwardingState.GATEWAY_MAC_PREFIX | 10;
    private static final int UPDATES = 10_000;

    /** Routes to 100.64.0.0/10 that every version of the large table carries, the same instances. */
    private static final List<RouteSpec> FILLER = java.util.stream.IntStream.range(0, 2000)
        .mapToObj(i -> new RouteSpec("100." + (64 + i / 256) + "." + (i % 256) + ".0/24",
            i % 3 == 0 ? new RouteTarget.Reject() : new RouteTarget.LocalPort(4)))
        .toList();

    private static ForwardingState version(final ForwardingState previous, final int n, final int filler)
    {
        final List<RouteSpec> special = (n % 2 == 0)
            ? List.of(new RouteSpec("192.168.0.0/16", new RouteTarget.LocalPort(3)),
                new RouteSpec("172.16.0.0/16", new RouteTarget.LocalPort(4)))
            : List.of(new RouteSpec("192.168.0.0/17", new RouteTarget.LocalPort(3)),
                new RouteSpec("192.168.128.0/17", new RouteTarget.Ecmp(List.of(new RouteTarget.LocalPort(3)))),
                new RouteSpec("192.168." + (n % 256) + ".0/24", new RouteTarget.LocalPort(3)),
                new RouteSpec("172.16.0.0/16", new RouteTarget.Blackhole()));
        final List<RouteSpec> routes = new java.util.ArrayList<>(FILLER.subList(0, filler));
        routes.addAll(special);
        final NetworkSpec network = new NetworkSpec("net", 10, 1500,
            List.of(new SubnetSpec("10.0.0.0/24", "10.0.0.1")), routes, List.of());
        final CompiledPolicy open = CompiledPolicy.allowAll();
        final List<PortSpec> ports = List.of(
            new PortSpec(1, "a", "net", MAC1, "10.0.0.11", null, open, true),
            new PortSpec(2, "b", "net", MAC2, "10.0.0.12", null, open, true),
            new PortSpec(3, "c", "net", MAC3, "10.0.0.13", null, open, true),
            new PortSpec(4, "d", "net", MAC4, "10.0.0.14", null, open, true));
        return ForwardingState.build(previous, List.of(network), ports);
    }

    @ParameterizedTest(name = "{0} unchanged routes beside")
    @ValueSource(ints = {0, 2000})
    void shouldLoseNoPacketThatEveryVersionForwardsWhileRoutesChange(final int filler) throws InterruptedException
    {
        try (DataPlane dataPlane = new DataPlane(new DataPlaneConfig(2, 4096, 65536, ConnectionTimeouts.DEFAULTS)))
        {
            dataPlane.publish(version(null, 0, filler));
            final MemoryPort[] ports = new MemoryPort[5];
            for (int id = 1; id <= 4; id++)
            {
                // Rings as large as the pool: the pool bounds the frames in flight, so no ring can overflow.
                ports[id] = new MemoryPort(id, Port.KIND_VNIC, dataPlane.pool(), 4096);
                dataPlane.addPort(ports[id]);
            }
            dataPlane.start();

            final AtomicBoolean updating = new AtomicBoolean(true);
            final AtomicLong stable = new AtomicLong();
            final AtomicLong flapping = new AtomicLong();
            final AtomicLong delivered3 = new AtomicLong();
            final AtomicLong delivered4 = new AtomicLong();
            final AtomicReference<Throwable> failure = new AtomicReference<>();

            final Thread control = new Thread(() ->
            {
                ForwardingState state = dataPlane.state();
                for (int n = 1; n <= UPDATES; n++)
                {
                    state = version(state, n, filler);
                    dataPlane.publish(state);
                }
                updating.set(false);
            }, "control");
            final Thread[] senders = new Thread[2];
            for (int s = 0; s < senders.length; s++)
            {
                final int portId = s + 1;
                final long mac = portId == 1 ? MAC1 : MAC2;
                final int source = Ipv4Flyweight.parse(portId == 1 ? "10.0.0.11" : "10.0.0.12");
                senders[s] = new Thread(() ->
                {
                    try
                    {
                        long sent = 0;
                        while (updating.get() || sent < 20_000)
                        {
                            final Frame frame = dataPlane.pool().acquire();
                            if (frame == null)
                            {
                                Thread.onSpinWait();
                                continue;
                            }
                            final boolean toStable = (sent & 1) == 0;
                            // 512 destinations x 8 source ports: a bounded set of flows (the connection table is not the subject here).
                            final int destination = (toStable ? 0xC0A8_0000 : 0xAC10_0000) | (int)((sent >>> 1) * 131 & 0xFFFF) % 512 * 127;
                            final FrameBuilder builder = new FrameBuilder(frame.segment(), frame.start());
                            builder.ethernet(GW_MAC, mac).ipv4(source, destination).udp(1000 + (int)(sent >>> 10 & 7), 53).payload(18, 0);
                            frame.length(builder.build());
                            while (!ports[portId].inject(frame))
                            {
                                Thread.onSpinWait();
                            }
                            (toStable ? stable : flapping).incrementAndGet();
                            sent++;
                        }
                    }
                    catch (final Throwable t)
                    {
                        failure.compareAndSet(null, t);
                    }
                }, "sender-" + portId);
            }
            final AtomicBoolean draining = new AtomicBoolean(true);
            final Thread sink = new Thread(() ->
            {
                while (draining.get())
                {
                    boolean any = false;
                    for (final int id : new int[] {3, 4})
                    {
                        Frame frame;
                        while ((frame = ports[id].poll()) != null)
                        {
                            (id == 3 ? delivered3 : delivered4).incrementAndGet();
                            frame.release();
                            any = true;
                        }
                    }
                    if (!any)
                    {
                        Thread.onSpinWait();
                    }
                }
            }, "sink");
            sink.start();
            control.start();
            for (final Thread sender : senders)
            {
                sender.start();
            }
            control.join(TimeUnit.MINUTES.toMillis(2));
            for (final Thread sender : senders)
            {
                sender.join(TimeUnit.MINUTES.toMillis(2));
            }
            assertTrue(!control.isAlive(), "control thread finished");
            final long expected = stable.get() + flapping.get();
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            CounterSnapshot counters = dataPlane.counters();
            while (System.nanoTime() < deadline &&
                (counters.rxFrames() < expected || delivered3.get() + delivered4.get() < counters.txFrames()))
            {
                Thread.sleep(10);
                counters = dataPlane.counters();
            }
            draining.set(false);
            sink.join();
            if (failure.get() != null)
            {
                throw new AssertionError(failure.get());
            }

            counters = dataPlane.counters();
            assertEquals(expected, counters.rxFrames(), "every injected frame was received; drops " + counters.dropsByReason());
            assertEquals(stable.get(), delivered3.get(), "every packet both versions forward arrived; drops " +
                counters.dropsByReason());
            assertEquals(counters.rxFrames(), counters.txFrames() + counters.totalDrops(), "received = forwarded + dropped");
            assertEquals(counters.totalDrops(), counters.drops(DropReason.BLACKHOLE), "only blackhole drops: " +
                counters.dropsByReason());
            assertEquals(flapping.get(), delivered4.get() + counters.drops(DropReason.BLACKHOLE));
            assertTrue(stable.get() >= 10_000, "enough traffic ran: " + stable.get());
        }
    }
}
