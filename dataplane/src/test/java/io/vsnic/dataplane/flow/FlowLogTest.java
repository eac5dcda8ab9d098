package io.vsnic.dataplane.flow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;

import io.vsnic.dataplane.protocol.IpProtocol;
import io.vsnic.dataplane.security.ConnectionTable;
import io.vsnic.dataplane.security.ConnectionTimeouts;
import io.vsnic.dataplane.security.FlowStripe;
import org.junit.jupiter.api.Test;

/**
 * The collector against a connection table driven by two "workers" (two stripes) on a fake clock:
 * a start record from the creating worker, counts summed over both stripes, an interim report, the
 * end once the entry expires (dated at its last packet), a new entry in a reused slot, reject
 * aggregation per 5-tuple.
 */
class FlowLogTest
{
    private static final long SECOND = 1_000_000_000L;
    private static final int A = 0x0A00_010B;
    private static final int B = 0x0A00_010C;
    /** UDP 5 s, before and after a reply. */
    private static final ConnectionTimeouts TIMEOUTS = new ConnectionTimeouts(60 * SECOND, 3600 * SECOND, 10 * SECOND,
        5 * SECOND, 30 * SECOND, 5 * SECOND);

    private final ConnectionTable table = new ConnectionTable(1024, TIMEOUTS);
    private final FlowLog log = new FlowLog(table, 2, new FlowLog.Settings(64, 10 * SECOND, 2 * SECOND, 100_000_000L));
    private final List<FlowRecord> records = new ArrayList<>();
    private final long base = 1_000 * SECOND;
    private final long epochMs = 1_800_000_000_000L;

    private int packet(final int worker, final boolean reply, final int bytes, final long nowNs)
    {
        final FlowProducer producer = log.producer(worker);
        final FlowStripe stripe = producer.stripe();
        stripe.packet(bytes, reply ? 2 : 1);
        final int verdict = reply ?
            table.trackV4(100, IpProtocol.UDP, B, A, 53, 40000, 0, nowNs, false, stripe) :
            table.trackV4(100, IpProtocol.UDP, A, B, 40000, 53, 0, nowNs, true, stripe);
        if (verdict == ConnectionTable.CREATED)
        {
            producer.started(100, IpProtocol.UDP, false, 0, A, 0, B, 40000, 53, 1, nowNs, bytes);
        }
        return verdict;
    }

    private void collect(final long nowNs)
    {
        log.collect(nowNs, epochMs + (nowNs - base) / 1_000_000L, records::add);
    }

    private List<FlowRecord> events(final String event)
    {
        return records.stream().filter(r -> r.event().equals(event)).toList();
    }

    @Test
    void shouldReportStartInterimAndEndWithCountsSummedOverWorkers()
    {
        assertEquals(ConnectionTable.CREATED, packet(0, false, 100, base));
        collect(base);
        assertEquals(1, events("start").size());
        final FlowRecord start = events("start").getFirst();
        assertEquals("10.0.1.11", start.source());
        assertEquals(40000, start.sourcePort());
        assertEquals("10.0.1.12", start.destination());
        assertEquals(53, start.destinationPort());
        assertEquals(1, start.port());
        assertEquals(epochMs, start.startMs());

        packet(1, false, 200, base + SECOND);
        packet(1, true, 1000, base + 2 * SECOND);
        packet(0, true, 1000, base + 3 * SECOND);
        collect(base + 3 * SECOND);
        assertEquals(0, events("interim").size(), "no interim report before 10 s");

        packet(0, false, 100, base + 7 * SECOND);
        collect(base + 10 * SECOND + 1);
        assertEquals(1, events("interim").size());
        final FlowRecord interim = events("interim").getFirst();
        assertEquals(3, interim.forwardPackets());
        assertEquals(400, interim.forwardBytes());
        assertEquals(2, interim.replyPackets());
        assertEquals(2000, interim.replyBytes());

        // 5 s after the last packet (at 7 s) the entry expires
        collect(base + 11 * SECOND);
        assertEquals(0, events("end").size(), "still live");
        collect(base + 13 * SECOND);
        assertEquals(1, events("end").size());
        final FlowRecord end = events("end").getFirst();
        assertEquals("accept", end.action());
        assertEquals(3, end.forwardPackets());
        assertEquals(2, end.replyPackets());
        assertEquals(2400, end.bytes());
        assertEquals(epochMs, end.startMs(), "starts at its first packet");
        assertEquals(epochMs + 7_000, end.endMs(), "ends at its last packet");
        assertEquals(1, end.port(), "the opener's port, from the creating worker's stripe");
        assertEquals(1, log.ended());

        // the same 5-tuple again: a new entry, counted from zero
        assertEquals(ConnectionTable.CREATED, packet(1, false, 60, base + 20 * SECOND));
        collect(base + 20 * SECOND);
        collect(base + 30 * SECOND);
        final FlowRecord second = events("end").get(1);
        assertEquals(1, second.forwardPackets());
        assertEquals(60, second.forwardBytes());
        assertEquals(0, second.replyPackets());
        assertEquals(0, log.overflows());
    }

    @Test
    void shouldReportAnIpv6FlowWithTheOpenerAsSource()
    {
        // fd00::2 opens towards fd00::1: the table keys it with fd00::1 first, the record must not
        final long prefix = 0xFD00_0000_0000_0000L;
        final FlowProducer producer = log.producer(1);
        producer.stripe().packet(90, 3);
        assertEquals(ConnectionTable.CREATED, table.trackV6(200, IpProtocol.TCP, prefix, 2, prefix, 1, 50000, 443,
            io.vsnic.dataplane.protocol.TcpFlyweight.SYN, base, true, producer.stripe()));
        producer.stripe().packet(80, 3);
        table.trackV6(200, IpProtocol.TCP, prefix, 1, prefix, 2, 443, 50000,
            io.vsnic.dataplane.protocol.TcpFlyweight.SYN | io.vsnic.dataplane.protocol.TcpFlyweight.ACK, base, false,
            producer.stripe());
        collect(base);
        log.collect(base + 61 * SECOND, epochMs + 61_000, records::add);
        final FlowRecord end = events("end").getFirst();
        assertEquals(6, end.ipVersion());
        assertEquals("fd00::2", end.source());
        assertEquals(50000, end.sourcePort());
        assertEquals("fd00::1", end.destination());
        assertEquals(443, end.destinationPort());
        assertEquals(200, end.network());
        assertEquals(3, end.port());
        assertEquals(1, end.forwardPackets());
        assertEquals(90, end.forwardBytes());
        assertEquals(1, end.replyPackets());
        assertEquals(80, end.replyBytes());
        assertEquals("tcp", end.protocolName());
    }

    @Test
    void shouldAggregateRejectsPerFiveTupleWithinTheWindow()
    {
        final FlowProducer producer = log.producer(0);
        for (int i = 0; i < 5; i++)
        {
            producer.rejected(100, IpProtocol.TCP, false, 0, A, 0, B, 50000, 22, 1, base + i * 100_000_000L, 60);
        }
        producer.rejected(100, IpProtocol.TCP, false, 0, A, 0, B, 50001, 22, 1, base, 60);
        collect(base + SECOND);
        assertEquals(2, events("reject").size(), "one record per new 5-tuple");
        assertEquals(1, events("reject").get(0).packets());
        assertEquals("reject", events("reject").get(0).action());
        // after the 2 s window the next reject reports every packet since the first record
        producer.rejected(100, IpProtocol.TCP, false, 0, A, 0, B, 50000, 22, 1, base + 3 * SECOND, 60);
        collect(base + 3 * SECOND);
        final FlowRecord aggregated = events("reject").get(2);
        assertEquals(5, aggregated.packets(), "4 within the window + this one");
        assertEquals(300, aggregated.bytes());
        assertEquals(epochMs, aggregated.startMs());
        assertEquals(epochMs + 3_000, aggregated.endMs());
    }

    @Test
    void shouldCountOverflowWhenTheCollectorFallsBehind()
    {
        final FlowProducer producer = log.producer(0);
        for (int i = 0; i < 100; i++)
        {
            producer.rejected(100, IpProtocol.UDP, false, 0, A, 0, B, 1000 + i, 9, 1, base, 60);
        }
        assertEquals(100 - 64, log.overflows());
        collect(base);
        assertEquals(64, events("reject").size());
    }

    @Test
    void shouldUnparkAParkedCollectorAtHalfARing() throws Exception
    {
        final List<FlowRecord> collected = java.util.Collections.synchronizedList(new ArrayList<>());
        final java.util.concurrent.CountDownLatch parked = new java.util.concurrent.CountDownLatch(1);
        final java.util.concurrent.atomic.AtomicBoolean done = new java.util.concurrent.atomic.AtomicBoolean();
        // a collector that parks for a minute between collections: only the producers' unpark brings it back
        final Thread collector = new Thread(() -> {
            while (!done.get())
            {
                log.collect(base, epochMs, collected::add);
                parked.countDown();
                java.util.concurrent.locks.LockSupport.parkNanos(60 * SECOND);
            }
        }, "flow-collector");
        collector.setDaemon(true);
        collector.start();
        try
        {
            assertTrue(parked.await(5, java.util.concurrent.TimeUnit.SECONDS));
            final FlowProducer producer = log.producer(0);
            // half of the 64-slot ring: the 32nd record unparks it, and it drains them long before its minute is up
            for (int i = 0; i < 32; i++)
            {
                producer.rejected(100, IpProtocol.UDP, false, 0, A, 0, B, 1000 + i, 9, 1, base, 60);
            }
            // a hang guard (10 s) well inside the collector's minute of parking: only the unpark drains them
            io.vsnic.dataplane.substrate.Waits.awaitTrue(() -> collected.size() >= 32,
                () -> "records drained after the half-ring wake-up, got " + collected.size());
            assertEquals(32, collected.size(), "records drained after the half-ring wake-up");
            assertEquals(0, log.overflows());
        }
        finally
        {
            done.set(true);
            java.util.concurrent.locks.LockSupport.unpark(collector);
            collector.join(5_000);
        }
    }

    @Test
    void shouldValidateSettings()
    {
        assertThrows(IllegalArgumentException.class, () -> new FlowLog.Settings(100, 60 * SECOND, SECOND, SECOND));
        assertThrows(IllegalArgumentException.class, () -> new FlowLog.Settings(64, 1, SECOND, SECOND));
        assertThrows(IllegalArgumentException.class, () -> new FlowLog.Settings(64, 60 * SECOND, 0, SECOND));
        assertThrows(IllegalArgumentException.class, () -> new FlowLog.Settings(64, 60 * SECOND, SECOND, 0));
        assertTrue(log.memoryBytes() > 0);
    }
}
