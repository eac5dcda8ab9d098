package io.vsnic.dataplane.security;

import java.util.concurrent.TimeUnit;

/**
 * How long a {@link ConnectionTable} entry lives after the last packet that refreshed it, per
 * protocol state. The {@link #DEFAULTS} follow Linux conntrack ({@code nf_conntrack_*_timeout*}):
 *
 * <table>
 *   <caption>default timeouts</caption>
 *   <tr><th>component</th><th>state</th><th>default</th><th>Linux</th></tr>
 *   <tr><td>{@code tcpSynNs}</td><td>TCP handshake not complete (SYN seen, SYN-ACK maybe)</td>
 *       <td>120 s</td><td>{@code tcp_timeout_syn_sent}</td></tr>
 *   <tr><td>{@code tcpEstablishedNs}</td><td>TCP established</td><td>432000 s (5 days)</td>
 *       <td>{@code tcp_timeout_established}</td></tr>
 *   <tr><td>{@code tcpClosingNs}</td><td>TCP after a FIN or RST from either side</td><td>120 s</td>
 *       <td>{@code tcp_timeout_time_wait}, {@code fin_wait}</td></tr>
 *   <tr><td>{@code udpNs}</td><td>UDP and other protocols, no reply seen yet</td><td>30 s</td>
 *       <td>{@code udp_timeout}</td></tr>
 *   <tr><td>{@code icmpNs}</td><td>ICMP and ICMPv6 (echo)</td><td>30 s</td><td>{@code icmp_timeout}</td></tr>
 *   <tr><td>{@code udpRepliedNs}</td><td>UDP and other protocols once the reply direction was seen</td>
 *       <td>180 s</td><td>{@code udp_timeout_stream}</td></tr>
 * </table>
 *
 * <p>Every timeout must be in 1 ms..365 days. The table keeps deadlines with a resolution of
 * 2^20 ns (about 1.05 ms): an entry never expires early and at most that much late.
 *
 * @param tcpSynNs         TCP handshake in progress.
 * @param tcpEstablishedNs TCP established.
 * @param tcpClosingNs     TCP closing (FIN or RST seen).
 * @param udpNs            UDP (and protocols other than TCP and ICMP) before a reply.
 * @param icmpNs           ICMP and ICMPv6.
 * @param udpRepliedNs     UDP (and other protocols) after a reply.
 */
public record ConnectionTimeouts(
    long tcpSynNs, long tcpEstablishedNs, long tcpClosingNs, long udpNs, long icmpNs, long udpRepliedNs)
{
    /** Shortest accepted timeout. */
    public static final long MIN_TIMEOUT_NS = TimeUnit.MILLISECONDS.toNanos(1);
    /** Longest accepted timeout. */
    public static final long MAX_TIMEOUT_NS = TimeUnit.DAYS.toNanos(365);

    /** Linux conntrack's defaults (see the class comment). */
    public static final ConnectionTimeouts DEFAULTS = new ConnectionTimeouts(
        TimeUnit.SECONDS.toNanos(120),
        TimeUnit.SECONDS.toNanos(432_000),
        TimeUnit.SECONDS.toNanos(120),
        TimeUnit.SECONDS.toNanos(30),
        TimeUnit.SECONDS.toNanos(30),
        TimeUnit.SECONDS.toNanos(180));

    /**
     * Validates every timeout.
     *
     * @throws IllegalArgumentException naming the first timeout outside 1 ms..365 days.
     */
    public ConnectionTimeouts
    {
        check("tcpSynNs", tcpSynNs);
        check("tcpEstablishedNs", tcpEstablishedNs);
        check("tcpClosingNs", tcpClosingNs);
        check("udpNs", udpNs);
        check("icmpNs", icmpNs);
        check("udpRepliedNs", udpRepliedNs);
    }

    /**
     * Timeouts where UDP keeps {@code udpNs} after a reply too.
     *
     * @param tcpSynNs         TCP handshake in progress.
     * @param tcpEstablishedNs TCP established.
     * @param tcpClosingNs     TCP closing.
     * @param udpNs            UDP and other protocols, before and after a reply.
     * @param icmpNs           ICMP and ICMPv6.
     */
    public ConnectionTimeouts(
        final long tcpSynNs, final long tcpEstablishedNs, final long tcpClosingNs, final long udpNs, final long icmpNs)
    {
        this(tcpSynNs, tcpEstablishedNs, tcpClosingNs, udpNs, icmpNs, udpNs);
    }

    private static void check(final String name, final long valueNs)
    {
        if (valueNs < MIN_TIMEOUT_NS || valueNs > MAX_TIMEOUT_NS)
        {
            throw new IllegalArgumentException(name + " must be in 1 ms..365 days (" + MIN_TIMEOUT_NS + ".." +
                MAX_TIMEOUT_NS + " ns), got " + valueNs + " ns");
        }
    }
}
