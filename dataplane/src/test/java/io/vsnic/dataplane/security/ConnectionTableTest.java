package io.vsnic.dataplane.security;

import java.lang.management.ManagementFactory;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static io.vsnic.dataplane.security.Addresses.v4;
import static io.vsnic.dataplane.security.Addresses.v6High;
import static io.vsnic.dataplane.security.Addresses.v6Low;
import static io.vsnic.dataplane.security.ConnectionTable.CREATED;
import static io.vsnic.dataplane.security.ConnectionTable.DENIED;
import static io.vsnic.dataplane.security.ConnectionTable.ESTABLISHED;
import static io.vsnic.dataplane.security.ConnectionTable.FULL;
import static io.vsnic.dataplane.security.ConnectionTable.MISS_INVALID;
import static io.vsnic.dataplane.security.ConnectionTable.REPLY;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ConnectionTableTest
{
    private static final int NET = 7;
    private static final int TCP = 6;
    private static final int UDP = 17;
    private static final int ICMP = 1;
    private static final int ICMPV6 = 58;
    private static final int SYN = 0x02;
    private static final int ACK = 0x10;
    private static final int FIN = 0x01;
    private static final int RST = 0x04;
    private static final int PSH = 0x08;
    private static final int SYN_ACK = SYN | ACK;
    private static final int A = v4("10.0.0.1");
    private static final int B = v4("10.0.0.2");
    private static final int CLIENT_PORT = 40_000;
    private static final int SERVER_PORT = 80;
    private static final long T0 = 1_000_000_000_000L;
    private static final long MS = TimeUnit.MILLISECONDS.toNanos(1);
    private static final long S = TimeUnit.SECONDS.toNanos(1);
    /** More than one deadline unit (2^20 ns): the table may expire an entry that much late, never early. */
    private static final long LATE = 2 * MS;

    private final ConnectionTable table = new ConnectionTable(1024, ConnectionTimeouts.DEFAULTS, 42);

    @Test
    void shouldCreateOnAllowedSynAndMatchBothDirections()
    {
        assertVerdict(CREATED, tcpAtoB(SYN, T0, true));
        assertVerdict(REPLY, tcpBtoA(SYN_ACK, T0 + MS, false));
        assertVerdict(ESTABLISHED, tcpAtoB(ACK, T0 + 2 * MS, false));
        assertVerdict(REPLY, tcpBtoA(ACK | PSH, T0 + 3 * MS, false));
        assertVerdict(ESTABLISHED, tcpAtoB(ACK | PSH, T0 + 4 * MS, true));
        assertEquals(ConnectionTable.STATE_ESTABLISHED, tcpState(T0 + 4 * MS));
        assertEquals(1, table.size());
    }

    @Test
    void shouldCreateWhenOpenerIsTheHigherAddress()
    {
        assertVerdict(CREATED, tcpBtoA(SYN, T0, true));
        assertVerdict(REPLY, tcpAtoB(SYN_ACK, T0, false));
        assertVerdict(ESTABLISHED, tcpBtoA(ACK, T0, false));
        assertEquals(ConnectionTable.STATE_ESTABLISHED, tcpState(T0));
    }

    @Test
    void shouldDenyUnknownFlowWhenPolicyDoesNotAllowIt()
    {
        assertVerdict(DENIED, tcpAtoB(SYN, T0, false));
        assertVerdict(DENIED, udp(A, B, 5000, 53, T0, false));
        assertEquals(0, table.size());
    }

    @ParameterizedTest
    @ValueSource(ints = {ACK, SYN_ACK, RST, RST | ACK, FIN, FIN | ACK, SYN | FIN, SYN | RST, 0, PSH | ACK})
    void shouldRejectTcpSegmentOfUnknownFlowThatIsNotAPureSyn(final int flags)
    {
        assertVerdict(MISS_INVALID, tcpAtoB(flags, T0, true));
        assertVerdict(MISS_INVALID, tcpAtoB(flags, T0, false));
        assertEquals(0, table.size());
    }

    @Test
    void shouldAcceptSynWithEcnFlagsAsOpening()
    {
        assertVerdict(CREATED, tcpAtoB(SYN | 0x40 | 0x80, T0, true));
    }

    @Test
    void shouldExpireUnansweredSynAfterSynTimeout()
    {
        assertVerdict(CREATED, tcpAtoB(SYN, T0, true));

        assertEquals(ConnectionTable.STATE_SYN_SENT, tcpState(T0 + 120 * S));
        assertEquals(-1, tcpState(T0 + 120 * S + LATE));
        assertVerdict(MISS_INVALID, tcpBtoA(SYN_ACK, T0 + 120 * S + LATE, false));
    }

    @Test
    void shouldNotEstablishWithoutAReply()
    {
        assertVerdict(CREATED, tcpAtoB(SYN, T0, true));
        assertVerdict(ESTABLISHED, tcpAtoB(ACK, T0 + S, false));
        assertVerdict(ESTABLISHED, tcpAtoB(ACK | PSH, T0 + 2 * S, false));

        assertEquals(ConnectionTable.STATE_SYN_SENT, tcpState(T0 + 2 * S));
        assertEquals(-1, tcpState(T0 + 2 * S + 120 * S + LATE), "a one-sided flow keeps the short SYN timeout");
    }

    @Test
    void shouldEstablishFromLaterPacketsWhenSynAckWasNotSeen()
    {
        assertVerdict(CREATED, tcpAtoB(SYN, T0, true));
        assertVerdict(REPLY, tcpBtoA(ACK | PSH, T0 + MS, false));

        assertEquals(ConnectionTable.STATE_ESTABLISHED, tcpState(T0 + MS));
    }

    @Test
    void shouldMoveThroughSynReceivedToEstablished()
    {
        tcpAtoB(SYN, T0, true);
        tcpBtoA(SYN_ACK, T0, false);
        assertEquals(ConnectionTable.STATE_SYN_RECEIVED, tcpState(T0));
        assertEquals(-1, tcpState(T0 + 120 * S + LATE), "syn-received uses the SYN timeout");
    }

    @Test
    void shouldKeepEstablishedFlowForTheEstablishedTimeout()
    {
        handshake(T0);
        final long fourDays = TimeUnit.DAYS.toNanos(4);

        assertVerdict(REPLY, tcpBtoA(ACK, T0 + fourDays, false));
        assertEquals(ConnectionTable.STATE_ESTABLISHED, tcpState(T0 + fourDays + 432_000 * S));
        assertEquals(-1, tcpState(T0 + fourDays + 432_000 * S + LATE));
        assertVerdict(MISS_INVALID, tcpAtoB(ACK, T0 + fourDays + 432_000 * S + LATE, true));
    }

    @ParameterizedTest
    @ValueSource(ints = {FIN | ACK, RST, RST | ACK})
    void shouldMoveToClosingOnFinOrRstAndExpireAfterClosingTimeout(final int flags)
    {
        handshake(T0);
        final long t1 = T0 + 1000 * S;

        assertVerdict(REPLY, tcpBtoA(flags, t1, false));
        assertEquals(ConnectionTable.STATE_CLOSING, tcpState(t1));
        assertEquals(ConnectionTable.STATE_CLOSING, tcpState(t1 + 120 * S));
        assertEquals(-1, tcpState(t1 + 120 * S + LATE), "closing replaces the long established timeout");
    }

    @Test
    void shouldReopenClosingFlowWithNewSynInItsDirection()
    {
        handshake(T0);
        tcpAtoB(FIN | ACK, T0 + S, false);
        tcpBtoA(FIN | ACK, T0 + S, false);

        assertVerdict(DENIED, tcpBtoA(SYN, T0 + 2 * S, false));
        assertEquals(ConnectionTable.STATE_CLOSING, tcpState(T0 + 2 * S));

        assertVerdict(CREATED, tcpBtoA(SYN, T0 + 3 * S, true));
        assertEquals(ConnectionTable.STATE_SYN_SENT, tcpState(T0 + 3 * S));
        assertVerdict(REPLY, tcpAtoB(SYN_ACK, T0 + 3 * S, false));
        assertVerdict(ESTABLISHED, tcpBtoA(ACK, T0 + 3 * S, false));
        assertEquals(ConnectionTable.STATE_ESTABLISHED, tcpState(T0 + 3 * S));
        assertEquals(1, table.size());
    }

    @Test
    void shouldExpireUnrepliedUdpAfter30SecondsAndRepliedAfter180()
    {
        assertVerdict(CREATED, udp(A, B, 5353, 53, T0, true));
        assertVerdict(ESTABLISHED, udp(A, B, 5353, 53, T0 + 10 * S, false));
        assertEquals(1, table.liveCount(T0 + 40 * S));
        assertEquals(0, table.liveCount(T0 + 40 * S + LATE));

        assertVerdict(CREATED, udp(A, B, 6000, 53, T0, true));
        assertVerdict(REPLY, udp(B, A, 53, 6000, T0 + S, false));
        assertEquals(1, table.liveCount(T0 + 181 * S));
        assertEquals(0, table.liveCount(T0 + 181 * S + LATE));
        assertVerdict(DENIED, udp(B, A, 53, 6000, T0 + 181 * S + LATE, false));
    }

    @Test
    void shouldNeverMoveADeadlineBackwardsWhenAWorkerClockLags()
    {
        assertVerdict(CREATED, udp(A, B, 5353, 53, T0 + 10 * S, true));
        assertVerdict(ESTABLISHED, udp(A, B, 5353, 53, T0, false));

        assertEquals(1, table.liveCount(T0 + 40 * S));
    }

    @Test
    void shouldMatchIcmpEchoReplyByIdentifierAndExpireAfter30Seconds()
    {
        final int id = 0x1234;
        assertVerdict(CREATED, table.trackV4(NET, ICMP, A, B, id, id, 0, T0, true));
        assertVerdict(REPLY, table.trackV4(NET, ICMP, B, A, id, id, 0, T0 + MS, false));
        assertVerdict(DENIED, table.trackV4(NET, ICMP, B, A, id + 1, id + 1, 0, T0 + MS, false));

        assertEquals(1, table.liveCount(T0 + MS + 30 * S), "ICMP keeps 30 s after a reply");
        assertEquals(0, table.liveCount(T0 + MS + 30 * S + LATE));
    }

    @Test
    void shouldIsolateVirtualNetworks()
    {
        assertVerdict(CREATED, table.trackV4(1, TCP, A, B, CLIENT_PORT, SERVER_PORT, SYN, T0, true));

        assertVerdict(MISS_INVALID, table.trackV4(2, TCP, B, A, SERVER_PORT, CLIENT_PORT, SYN_ACK, T0, false));
        assertVerdict(DENIED, table.trackV4(2, TCP, A, B, CLIENT_PORT, SERVER_PORT, SYN, T0, false));
        assertVerdict(CREATED, table.trackV4(2, TCP, A, B, CLIENT_PORT, SERVER_PORT, SYN, T0, true));
        assertVerdict(REPLY, table.trackV4(1, TCP, B, A, SERVER_PORT, CLIENT_PORT, SYN_ACK, T0, false));
        assertEquals(2, table.size());
    }

    @Test
    void shouldKeepProtocolsAndPortsApart()
    {
        assertVerdict(CREATED, udp(A, B, 1000, 2000, T0, true));

        assertVerdict(DENIED, table.trackV4(NET, 132, A, B, 1000, 2000, 0, T0, false));
        assertVerdict(DENIED, udp(A, B, 1000, 2001, T0, false));
        assertVerdict(DENIED, udp(A, B, 2000, 1000, T0, false), "swapped ports are another flow");
        assertVerdict(REPLY, udp(B, A, 2000, 1000, T0, false));
    }

    @Test
    void shouldTrackIpv6FlowsInBothDirections()
    {
        final long aHigh = v6High("fd00::1");
        final long aLow = v6Low("fd00::1");
        final long bHigh = v6High("fd00::2");
        final long bLow = v6Low("fd00::2");

        assertVerdict(CREATED, table.trackV6(NET, TCP, bHigh, bLow, aHigh, aLow, 443, 50_000, SYN, T0, true));
        assertVerdict(REPLY, table.trackV6(NET, TCP, aHigh, aLow, bHigh, bLow, 50_000, 443, SYN_ACK, T0, false));
        assertVerdict(ESTABLISHED, table.trackV6(NET, TCP, bHigh, bLow, aHigh, aLow, 443, 50_000, ACK, T0, false));
        assertVerdict(DENIED, table.trackV6(NET + 1, TCP, bHigh, bLow, aHigh, aLow, 443, 50_000, SYN, T0, false));
        assertVerdict(CREATED, table.trackV6(NET, ICMPV6, aHigh, aLow, bHigh, bLow, 9, 9, 0, T0, true));
        assertVerdict(REPLY, table.trackV6(NET, ICMPV6, bHigh, bLow, aHigh, aLow, 9, 9, 0, T0, false));
        assertEquals(2, table.size());
    }

    @Test
    void shouldNotConfuseIpv4AndIpv6FlowsWithTheSameBits()
    {
        assertVerdict(CREATED, udp(A, B, 1, 2, T0, true));

        assertVerdict(DENIED, table.trackV6(NET, UDP, 0, A & 0xFFFF_FFFFL, 0, B & 0xFFFF_FFFFL, 1, 2, 0, T0, false));
        assertVerdict(DENIED, table.trackV6(NET, UDP, 0, 0, (long)A << 32 | (B & 0xFFFF_FFFFL), 0, 1, 2, 0, T0, false));
    }

    @Test
    void shouldTreatAFlowToItselfAsOneDirection()
    {
        assertVerdict(CREATED, udp(A, A, 7, 7, T0, true));
        assertVerdict(ESTABLISHED, udp(A, A, 7, 7, T0, false));
    }

    @Test
    void shouldReportFullAndNotGrowWhenEveryProbeWindowIsTaken()
    {
        final long memory = table.memoryBytes();
        int created = 0;
        int full = 0;
        for (int i = 0; i < 4 * table.capacity(); i++)
        {
            final int verdict = udp(A, B, 1024 + i, 53, T0, true);
            if (verdict == CREATED)
            {
                created++;
            }
            else
            {
                assertVerdict(FULL, verdict);
                full++;
            }
        }

        assertTrue(full >= 3 * table.capacity(), "full=" + full);
        assertTrue(created <= table.capacity());
        assertTrue(created >= table.capacity() * 3 / 4, "the probe window fills most of the table: " + created);
        assertEquals(created, table.size());
        assertEquals(memory, table.memoryBytes());
        assertVerdict(DENIED, udp(A, B, 1024 + 4 * table.capacity(), 53, T0, false), "DENIED wins over FULL");
        int found = 0;
        for (int i = 0; i < 4 * table.capacity(); i++)
        {
            if (udp(B, A, 53, 1024 + i, T0 + S, false) == REPLY)
            {
                found++;
            }
        }
        assertEquals(created, found, "every created flow is still there");
    }

    @Test
    void shouldReuseExpiredSlotsWithoutASweep()
    {
        for (int i = 0; i < 4 * table.capacity(); i++)
        {
            udp(A, B, 1024 + i, 53, T0, true);
        }
        final int before = table.size();
        final long later = T0 + 30 * S + LATE;

        int created = 0;
        for (int i = 0; i < before; i++)
        {
            if (udp(B, A, 2000 + i, 80, later, true) == CREATED)
            {
                created++;
            }
        }

        assertTrue(created >= before * 9 / 10, "created " + created + " of " + before);
        assertTrue(table.size() <= table.capacity());
        assertEquals(created, table.liveCount(later));
        assertVerdict(DENIED, udp(B, A, 53, 1024, later, false), "the old flows are gone");
    }

    @Test
    void shouldSweepExpiredEntriesIncrementally()
    {
        for (int i = 0; i < 100; i++)
        {
            udp(A, B, 1024 + i, 53, T0, true);
        }
        handshake(T0);
        final long later = T0 + 31 * S;

        assertEquals(0, table.expire(T0, table.capacity()));
        int freed = 0;
        for (int i = 0; i < table.capacity() / 64; i++)
        {
            freed += table.expire(later, 64);
        }

        assertEquals(100, freed);
        assertEquals(1, table.size(), "the established TCP flow stays");
        assertEquals(0, table.expire(later, 0));
        assertEquals(0, table.expire(later, -5));
    }

    @Test
    void shouldRemoveOneNetworkOrEverything()
    {
        table.trackV4(1, UDP, A, B, 1, 2, 0, T0, true);
        table.trackV4(1, UDP, A, B, 1, 3, 0, T0, true);
        table.trackV4(2, UDP, A, B, 1, 2, 0, T0, true);
        table.trackV6(1, UDP, 1, 2, 3, 4, 1, 2, 0, T0, true);

        assertEquals(3, table.removeNetwork(1));
        assertVerdict(DENIED, table.trackV4(1, UDP, B, A, 2, 1, 0, T0, false));
        assertVerdict(REPLY, table.trackV4(2, UDP, B, A, 2, 1, 0, T0, false));
        assertEquals(1, table.clear());
        assertEquals(0, table.size());
    }

    @Test
    void shouldWorkAcrossTheWrapOfTheNanosecondClock()
    {
        final long start = Long.MAX_VALUE - 10 * S;
        assertVerdict(CREATED, udp(A, B, 1, 2, start, true));

        assertVerdict(ESTABLISHED, udp(A, B, 1, 2, start + 20 * S, false));
        assertEquals(1, table.liveCount(start + 50 * S));
        assertEquals(0, table.liveCount(start + 50 * S + LATE));
    }

    @Test
    void shouldRoundCapacityAndValidateArguments()
    {
        assertEquals(1024, new ConnectionTable(1, ConnectionTimeouts.DEFAULTS).capacity());
        assertEquals(1024, new ConnectionTable(1000, ConnectionTimeouts.DEFAULTS).capacity());
        assertEquals(2048, new ConnectionTable(1025, ConnectionTimeouts.DEFAULTS).capacity());
        assertEquals(2048L * ConnectionTable.BYTES_PER_SLOT,
            new ConnectionTable(1025, ConnectionTimeouts.DEFAULTS).memoryBytes());
        assertEquals("connection table capacity must be in 1..16777216, got 0", assertThrows(
            IllegalArgumentException.class, () -> new ConnectionTable(0, ConnectionTimeouts.DEFAULTS)).getMessage());
        assertThrows(IllegalArgumentException.class,
            () -> new ConnectionTable(ConnectionTable.MAX_CAPACITY + 1, ConnectionTimeouts.DEFAULTS));
        assertEquals("connection timeouts must not be null",
            assertThrows(IllegalArgumentException.class, () -> new ConnectionTable(1024, null)).getMessage());
    }

    @Test
    void shouldNameVerdicts()
    {
        assertTrue(ConnectionTable.passes(ESTABLISHED));
        assertTrue(ConnectionTable.passes(REPLY));
        assertTrue(ConnectionTable.passes(CREATED));
        assertFalse(ConnectionTable.passes(DENIED));
        assertFalse(ConnectionTable.passes(MISS_INVALID));
        assertFalse(ConnectionTable.passes(FULL));
        assertEquals("MISS_INVALID", ConnectionTable.verdictName(MISS_INVALID));
        assertEquals("UNKNOWN(9)", ConnectionTable.verdictName(9));
    }

    @Test
    void shouldNotAllocateWhenTracking()
    {
        final com.sun.management.ThreadMXBean threads =
            (com.sun.management.ThreadMXBean)ManagementFactory.getThreadMXBean();
        // 8,192 flows in 32,768 slots: well inside the load at which a probe window can fill (see ConnectionTable).
        final ConnectionTable big = new ConnectionTable(1 << 15, ConnectionTimeouts.DEFAULTS);
        long now = T0;
        for (int round = 0; round < 3; round++)
        {
            final long before = threads.getCurrentThreadAllocatedBytes();
            int passed = 0;
            for (int i = 0; i < 200_000; i++)
            {
                now += 1000;
                final int port = i & 4095;
                passed += ConnectionTable.passes(big.trackV4(NET, UDP, A, B, port, 53, 0, now, true)) ? 1 : 0;
                passed += ConnectionTable.passes(big.trackV4(NET, UDP, B, A, 53, port, 0, now, false)) ? 1 : 0;
                passed += ConnectionTable.passes(big.trackV6(NET, TCP, 1, port, 2, 3, port, 80, SYN, now, true)) ?
                    1 : 0;
            }
            final long allocated = threads.getCurrentThreadAllocatedBytes() - before;
            assertEquals(600_000, passed);
            if (round == 2)
            {
                assertTrue(allocated < 1024, "allocated " + allocated + " bytes for 600k track calls");
            }
        }
    }

    private void handshake(final long now)
    {
        assertVerdict(CREATED, tcpAtoB(SYN, now, true));
        assertVerdict(REPLY, tcpBtoA(SYN_ACK, now, false));
        assertVerdict(ESTABLISHED, tcpAtoB(ACK, now, false));
    }

    private int tcpAtoB(final int flags, final long now, final boolean allowNew)
    {
        return table.trackV4(NET, TCP, A, B, CLIENT_PORT, SERVER_PORT, flags, now, allowNew);
    }

    private int tcpBtoA(final int flags, final long now, final boolean allowNew)
    {
        return table.trackV4(NET, TCP, B, A, SERVER_PORT, CLIENT_PORT, flags, now, allowNew);
    }

    private int tcpState(final long now)
    {
        return table.stateV4(NET, TCP, A, B, CLIENT_PORT, SERVER_PORT, now);
    }

    private int udp(final int src, final int dst, final int srcPort, final int dstPort, final long now,
        final boolean allowNew)
    {
        return table.trackV4(NET, UDP, src, dst, srcPort, dstPort, 0, now, allowNew);
    }

    private static void assertVerdict(final int expected, final int actual)
    {
        assertEquals(ConnectionTable.verdictName(expected), ConnectionTable.verdictName(actual));
    }

    private static void assertVerdict(final int expected, final int actual, final String message)
    {
        assertEquals(ConnectionTable.verdictName(expected), ConnectionTable.verdictName(actual), message);
    }
}
