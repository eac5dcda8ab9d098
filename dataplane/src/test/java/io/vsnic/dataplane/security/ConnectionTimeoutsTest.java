package io.vsnic.dataplane.security;

import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class ConnectionTimeoutsTest
{
    @Test
    void shouldDefaultToLinuxConntrackTimeouts()
    {
        final ConnectionTimeouts defaults = ConnectionTimeouts.DEFAULTS;

        assertEquals(TimeUnit.SECONDS.toNanos(120), defaults.tcpSynNs());
        assertEquals(TimeUnit.SECONDS.toNanos(432_000), defaults.tcpEstablishedNs());
        assertEquals(TimeUnit.SECONDS.toNanos(120), defaults.tcpClosingNs());
        assertEquals(TimeUnit.SECONDS.toNanos(30), defaults.udpNs());
        assertEquals(TimeUnit.SECONDS.toNanos(30), defaults.icmpNs());
        assertEquals(TimeUnit.SECONDS.toNanos(180), defaults.udpRepliedNs());
    }

    @Test
    void shouldUseUdpTimeoutAfterReplyWithFiveArgumentConstructor()
    {
        final ConnectionTimeouts timeouts = new ConnectionTimeouts(1_000_000_000L, 2_000_000_000L, 3_000_000_000L,
            4_000_000_000L, 5_000_000_000L);

        assertEquals(4_000_000_000L, timeouts.udpRepliedNs());
        assertEquals(5_000_000_000L, timeouts.icmpNs());
    }

    @Test
    void shouldNameTheTimeoutThatIsOutOfRange()
    {
        final long second = 1_000_000_000L;
        assertEquals("tcpSynNs must be in 1 ms..365 days (1000000..31536000000000000 ns), got 0 ns",
            assertThrows(IllegalArgumentException.class,
                () -> new ConnectionTimeouts(0, second, second, second, second)).getMessage());
        assertEquals("udpRepliedNs must be in 1 ms..365 days (1000000..31536000000000000 ns), got 999999 ns",
            assertThrows(IllegalArgumentException.class,
                () -> new ConnectionTimeouts(second, second, second, second, second, 999_999)).getMessage());
        assertEquals("tcpEstablishedNs must be in 1 ms..365 days (1000000..31536000000000000 ns), " +
            "got 31536000000000001 ns", assertThrows(IllegalArgumentException.class,
            () -> new ConnectionTimeouts(second, ConnectionTimeouts.MAX_TIMEOUT_NS + 1, second, second, second))
            .getMessage());
        assertThrows(IllegalArgumentException.class, () -> new ConnectionTimeouts(second, second, -1, second, second));
        assertThrows(IllegalArgumentException.class, () -> new ConnectionTimeouts(second, second, second, 0, second));
        assertThrows(IllegalArgumentException.class, () -> new ConnectionTimeouts(second, second, second, second, 0));
    }
}
