package io.vsnic.dataplane.security;

import io.vsnic.dataplane.protocol.IpProtocol;

/**
 * One allow rule of a security group: traffic in {@code direction} whose protocol, port and remote
 * address match is allowed to open a connection. There are no deny rules: what no rule allows is
 * denied, except that replies of an allowed connection pass through the
 * {@link ConnectionTable} (stateful filtering).
 *
 * <ul>
 *   <li>{@code protocol}: {@value #ANY_PROTOCOL} (any), or an IANA protocol number 0..255 —
 *       {@value IpProtocol#TCP} tcp, {@value IpProtocol#UDP} udp, {@value IpProtocol#ICMP} icmp,
 *       {@value IpProtocol#ICMPV6} icmpv6, ...</li>
 *   <li>{@code portFrom..portTo}: an inclusive range within 0..65535 of the <em>destination</em>
 *       port: the local port for ingress, the remote port for egress. It applies to tcp and udp only.
 *       For icmp and icmpv6 it is ignored (every ICMP type matches). For any other protocol, and for
 *       "any protocol", the range must be the whole 0..65535: a narrower range there would look like
 *       a restriction that is not enforced, so it is rejected.</li>
 *   <li>{@code cidr}: the remote side's prefix — the packet's source for ingress, its destination
 *       for egress — such as {@code "0.0.0.0/0"}, {@code "10.0.0.0/8"}, {@code "fd00::/64"}. The
 *       prefix's family decides which packets the rule sees: an IPv4 prefix never matches IPv6
 *       traffic, so "everything" takes two rules, {@code 0.0.0.0/0} and {@code ::/0}. Host bits must
 *       be zero ({@code 10.0.0.1/8} is rejected, naming {@code 10.0.0.0/8}).</li>
 * </ul>
 *
 * <p>icmp ({@value IpProtocol#ICMP}) is IPv4 only and icmpv6 ({@value IpProtocol#ICMPV6}) IPv6
 * only: a rule pairing one with the other family's prefix is rejected.
 *
 * @param direction ingress (towards the VM) or egress (from the VM).
 * @param protocol  {@value #ANY_PROTOCOL} for any, else 0..255.
 * @param portFrom  first destination port, 0..65535.
 * @param portTo    last destination port, portFrom..65535.
 * @param cidr      remote prefix in CIDR notation.
 */
public record SecurityRule(Direction direction, int protocol, int portFrom, int portTo, String cidr)
{
    /** The {@code protocol} value that matches every protocol. */
    public static final int ANY_PROTOCOL = -1;
    /** Highest port number. */
    public static final int MAX_PORT = 65535;

    /**
     * Validates the rule.
     *
     * @throws IllegalArgumentException naming the field that is wrong and why.
     */
    public SecurityRule
    {
        if (direction == null)
        {
            throw new IllegalArgumentException("direction must not be null");
        }
        if (protocol < ANY_PROTOCOL || protocol > 255)
        {
            throw new IllegalArgumentException("protocol must be -1 (any) or 0..255, got " + protocol);
        }
        if (portFrom < 0 || portFrom > MAX_PORT)
        {
            throw new IllegalArgumentException("portFrom must be in 0..65535, got " + portFrom);
        }
        if (portTo < 0 || portTo > MAX_PORT)
        {
            throw new IllegalArgumentException("portTo must be in 0..65535, got " + portTo);
        }
        if (portFrom > portTo)
        {
            throw new IllegalArgumentException("portFrom " + portFrom + " is greater than portTo " + portTo);
        }
        if (!hasPorts(protocol) && !isIcmp(protocol) && (portFrom != 0 || portTo != MAX_PORT))
        {
            throw new IllegalArgumentException("a port range needs protocol 6 (tcp) or 17 (udp); protocol " +
                protocolName(protocol) + " must use 0..65535, got " + portFrom + ".." + portTo);
        }
        final Cidr parsed = Cidr.parse(cidr);
        if (protocol == IpProtocol.ICMP && parsed.ipv6())
        {
            throw new IllegalArgumentException("protocol 1 (icmp) is IPv4 only but cidr '" + cidr +
                "' is IPv6: use 58 (icmpv6)");
        }
        if (protocol == IpProtocol.ICMPV6 && !parsed.ipv6())
        {
            throw new IllegalArgumentException("protocol 58 (icmpv6) is IPv6 only but cidr '" + cidr +
                "' is IPv4: use 1 (icmp)");
        }
    }

    /**
     * A rule that allows every protocol and port to or from a prefix.
     *
     * @param direction ingress or egress.
     * @param cidr      remote prefix.
     * @return the rule.
     */
    public static SecurityRule allowAll(final Direction direction, final String cidr)
    {
        return new SecurityRule(direction, ANY_PROTOCOL, 0, MAX_PORT, cidr);
    }

    /**
     * @return true when the rule's address is IPv6.
     */
    public boolean isIpv6()
    {
        return cidr.indexOf(':') >= 0;
    }

    /**
     * @return the rule as one line, for example {@code ingress tcp 22..22 from 10.0.0.0/8}.
     */
    public String describe()
    {
        final StringBuilder builder = new StringBuilder(64);
        builder.append(direction == Direction.INGRESS ? "ingress " : "egress ").append(protocolName(protocol));
        if (hasPorts(protocol))
        {
            builder.append(' ').append(portFrom).append("..").append(portTo);
        }
        return builder.append(direction == Direction.INGRESS ? " from " : " to ").append(cidr).toString();
    }

    static boolean hasPorts(final int protocol)
    {
        return protocol == IpProtocol.TCP || protocol == IpProtocol.UDP;
    }

    static boolean isIcmp(final int protocol)
    {
        return protocol == IpProtocol.ICMP || protocol == IpProtocol.ICMPV6;
    }

    private static String protocolName(final int protocol)
    {
        return protocol == ANY_PROTOCOL ? "any" : IpProtocol.name(protocol);
    }
}
