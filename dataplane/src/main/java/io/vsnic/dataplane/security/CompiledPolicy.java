package io.vsnic.dataplane.security;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The security policy of one port, compiled from its security groups into compact primitive arrays
 * that a worker can check without allocating, locking or throwing. Immutable: the control plane
 * compiles a new one when a group changes and publishes it with the port's table snapshot.
 *
 * <p>Meaning:
 * <ul>
 *   <li>A port with <em>no</em> security groups gets {@link #defaultPolicy()}: every ingress
 *       connection is denied, every egress connection is allowed.</li>
 *   <li>A port with groups allows exactly the union of their rules, in both directions. Nothing is
 *       added: a group without egress rules allows no egress (as in AWS and OpenStack, where new
 *       groups carry an explicit "allow all egress" rule that can be removed; see
 *       {@link SecurityGroup#withDefaultEgress}). This keeps the policy monotonic: removing an allow
 *       rule never allows more.</li>
 *   <li>{@link #allowAll()} allows everything: for ports with port security switched off.</li>
 * </ul>
 * The policy only decides whether a packet may <em>open</em> a connection; replies and further
 * packets of a connection it allowed pass through the {@link ConnectionTable}, whatever the
 * opposite direction's rules say. Non-IP traffic (ARP) and the IPv6 neighbour discovery and DHCP
 * that the data plane answers locally never reach the policy.
 *
 * <p>Cost: each check is a linear scan over the rules of one direction and address family, each
 * rule a handful of int (IPv4) or long (IPv6) comparisons in one array, stopping at the first
 * match: O(rules), about a nanosecond per rule when the arrays are in cache. That is the right
 * shape up to a few dozen rules per port; {@value #MAX_RULES} is the hard limit. Identical rules
 * (after normalising the prefix and, for ICMP and "any protocol", the port range) are kept once.
 */
public final class CompiledPolicy
{
    /** Most rules a port's groups may add up to, after duplicates are removed. */
    public static final int MAX_RULES = 1024;

    private static final int V4_STRIDE = 4;
    private static final int V4_NETWORK = 0;
    private static final int V4_MASK = 1;
    private static final int V4_PROTOCOL = 2;
    private static final int V4_PORTS = 3;
    private static final int V6_STRIDE = 4;
    private static final int V6_META_STRIDE = 2;
    private static final int FULL_PORT_RANGE = SecurityRule.MAX_PORT;

    private static final CompiledPolicy DEFAULT = compile(List.of(
        new SecurityGroup("default", SecurityGroup.DEFAULT_EGRESS_RULES)));
    private static final CompiledPolicy ALLOW_ALL = compile(List.of(
        SecurityGroup.withDefaultEgress("allow-all", List.of(
            SecurityRule.allowAll(Direction.INGRESS, "0.0.0.0/0"),
            SecurityRule.allowAll(Direction.INGRESS, "::/0")))));

    private final Rules4 ingressV4;
    private final Rules4 egressV4;
    private final Rules6 ingressV6;
    private final Rules6 egressV6;
    private final int ruleCount;
    private final boolean untracked;

    private CompiledPolicy(final Rules4 ingressV4, final Rules4 egressV4, final Rules6 ingressV6, final Rules6 egressV6)
    {
        this.ingressV4 = ingressV4;
        this.egressV4 = egressV4;
        this.ingressV6 = ingressV6;
        this.egressV6 = egressV6;
        this.ruleCount = ingressV4.count() + egressV4.count() + ingressV6.count() + egressV6.count();
        this.untracked = ingressV4.matchesEverything() && egressV4.matchesEverything() &&
            ingressV6.matchesEverything() && egressV6.matchesEverything();
    }

    /**
     * Compiles the union of the groups' rules. An empty list gives {@link #defaultPolicy()}.
     *
     * @param groups the port's security groups.
     * @return the policy.
     * @throws IllegalArgumentException when {@code groups} or one of them is null, or the union holds
     *                                  more than {@value #MAX_RULES} distinct rules.
     */
    public static CompiledPolicy compile(final List<SecurityGroup> groups)
    {
        if (groups == null)
        {
            throw new IllegalArgumentException("security groups must not be null");
        }
        if (groups.isEmpty())
        {
            return DEFAULT;
        }
        final Set<Compiled> ingress4 = new LinkedHashSet<>();
        final Set<Compiled> egress4 = new LinkedHashSet<>();
        final Set<Compiled> ingress6 = new LinkedHashSet<>();
        final Set<Compiled> egress6 = new LinkedHashSet<>();
        for (int g = 0; g < groups.size(); g++)
        {
            final SecurityGroup group = groups.get(g);
            if (group == null)
            {
                throw new IllegalArgumentException("security group " + g + " is null");
            }
            for (final SecurityRule rule : group.rules())
            {
                final Compiled compiled = Compiled.of(rule);
                final boolean ingress = rule.direction() == Direction.INGRESS;
                if (compiled.cidr.ipv6())
                {
                    (ingress ? ingress6 : egress6).add(compiled);
                }
                else
                {
                    (ingress ? ingress4 : egress4).add(compiled);
                }
            }
        }
        final int total = ingress4.size() + egress4.size() + ingress6.size() + egress6.size();
        if (total > MAX_RULES)
        {
            throw new IllegalArgumentException("security groups add up to " + total + " distinct rules, at most " +
                MAX_RULES + " are allowed per port");
        }
        return new CompiledPolicy(Rules4.of(ingress4), Rules4.of(egress4), Rules6.of(ingress6), Rules6.of(egress6));
    }

    /**
     * The policy of a port without security groups: deny all ingress, allow all egress.
     *
     * @return a shared instance.
     */
    public static CompiledPolicy defaultPolicy()
    {
        return DEFAULT;
    }

    /**
     * Allows every connection in both directions (port security off).
     *
     * @return a shared instance.
     */
    public static CompiledPolicy allowAll()
    {
        return ALLOW_ALL;
    }

    /**
     * May an IPv4 packet arriving for the VM open a connection?
     *
     * @param protocol      IP protocol number.
     * @param remoteAddress the packet's source address, most significant octet first.
     * @param localPort     the packet's destination port (tcp, udp); for ICMP the type, which no rule
     *                      restricts.
     * @return true when a rule allows it.
     */
    public boolean allowsIngressV4(final int protocol, final int remoteAddress, final int localPort)
    {
        return ingressV4.allows(protocol, remoteAddress, localPort);
    }

    /**
     * May an IPv4 packet sent by the VM open a connection?
     *
     * @param protocol      IP protocol number.
     * @param remoteAddress the packet's destination address.
     * @param remotePort    the packet's destination port (for ICMP the type).
     * @return true when a rule allows it.
     */
    public boolean allowsEgressV4(final int protocol, final int remoteAddress, final int remotePort)
    {
        return egressV4.allows(protocol, remoteAddress, remotePort);
    }

    /**
     * May an IPv6 packet arriving for the VM open a connection?
     *
     * @param protocol   IP protocol number (the upper-layer protocol after extension headers).
     * @param remoteHigh bits 127..64 of the packet's source address.
     * @param remoteLow  bits 63..0 of the packet's source address.
     * @param localPort  the packet's destination port (for ICMPv6 the type).
     * @return true when a rule allows it.
     */
    public boolean allowsIngressV6(final int protocol, final long remoteHigh, final long remoteLow, final int localPort)
    {
        return ingressV6.allows(protocol, remoteHigh, remoteLow, localPort);
    }

    /**
     * May an IPv6 packet sent by the VM open a connection?
     *
     * @param protocol   IP protocol number.
     * @param remoteHigh bits 127..64 of the packet's destination address.
     * @param remoteLow  bits 63..0 of the packet's destination address.
     * @param remotePort the packet's destination port (for ICMPv6 the type).
     * @return true when a rule allows it.
     */
    public boolean allowsEgressV6(final int protocol, final long remoteHigh, final long remoteLow, final int remotePort)
    {
        return egressV6.allows(protocol, remoteHigh, remoteLow, remotePort);
    }

    /**
     * @return the number of distinct compiled rules.
     */
    public int ruleCount()
    {
        return ruleCount;
    }

    /**
     * Whether this policy allows every packet in both directions and both address families (a rule of
     * any protocol from and to {@code 0.0.0.0/0} and {@code ::/0}, or {@link #allowAll()}). Such a
     * policy needs no connection state: the pipeline does not track a packet whose local ends all
     * have untracked policies (unless flow logs, which are built from the connection table, are on),
     * as AWS leaves such flows untracked. A flow that started untracked is not in the table if the
     * policy later narrows: its packets are then judged as new connections.
     *
     * @return true when no packet can be denied by this policy.
     */
    public boolean untracked()
    {
        return untracked;
    }

    @Override
    public String toString()
    {
        return "CompiledPolicy{ingressV4=" + ingressV4.count() + ", ingressV6=" + ingressV6.count() +
            ", egressV4=" + egressV4.count() + ", egressV6=" + egressV6.count() + '}';
    }

    /**
     * A rule reduced to what matching needs; equal when it matches the same packets in the same way.
     */
    private record Compiled(Cidr cidr, int protocol, int portFrom, int portTo)
    {
        static Compiled of(final SecurityRule rule)
        {
            final Cidr cidr = Cidr.parse(rule.cidr());
            if (SecurityRule.hasPorts(rule.protocol()))
            {
                return new Compiled(cidr, rule.protocol(), rule.portFrom(), rule.portTo());
            }
            return new Compiled(cidr, rule.protocol(), 0, FULL_PORT_RANGE);
        }

        int ports()
        {
            return (portFrom << 16) | portTo;
        }
    }

    /**
     * IPv4 rules of one direction: {network, mask, protocol, portFrom << 16 | portTo} per rule.
     */
    private record Rules4(int[] rules, boolean matchesEverything)
    {
        static Rules4 of(final Set<Compiled> compiled)
        {
            final List<Compiled> list = new ArrayList<>(compiled);
            final int[] rules = new int[list.size() * V4_STRIDE];
            boolean everything = false;
            for (int i = 0; i < list.size(); i++)
            {
                final Compiled rule = list.get(i);
                rules[i * V4_STRIDE + V4_NETWORK] = (int)rule.cidr().low();
                rules[i * V4_STRIDE + V4_MASK] = (int)rule.cidr().maskLow();
                rules[i * V4_STRIDE + V4_PROTOCOL] = rule.protocol();
                rules[i * V4_STRIDE + V4_PORTS] = rule.ports();
                everything |= rule.protocol() == SecurityRule.ANY_PROTOCOL && rule.cidr().prefixLength() == 0;
            }
            return new Rules4(rules, everything);
        }

        int count()
        {
            return rules.length / V4_STRIDE;
        }

        boolean allows(final int protocol, final int address, final int port)
        {
            if (matchesEverything)
            {
                return true;
            }
            final int[] r = rules;
            for (int i = 0; i < r.length; i += V4_STRIDE)
            {
                final int ruleProtocol = r[i + V4_PROTOCOL];
                final int ports = r[i + V4_PORTS];
                if ((address & r[i + V4_MASK]) == r[i + V4_NETWORK] &&
                    (ruleProtocol == protocol || ruleProtocol == SecurityRule.ANY_PROTOCOL) &&
                    port >= (ports >>> 16) && port <= (ports & 0xFFFF))
                {
                    return true;
                }
            }
            return false;
        }
    }

    /**
     * IPv6 rules of one direction: {networkHigh, networkLow, maskHigh, maskLow} and
     * {protocol, portFrom << 16 | portTo} per rule.
     */
    private record Rules6(long[] prefixes, int[] meta, boolean matchesEverything)
    {
        static Rules6 of(final Set<Compiled> compiled)
        {
            final List<Compiled> list = new ArrayList<>(compiled);
            final long[] prefixes = new long[list.size() * V6_STRIDE];
            final int[] meta = new int[list.size() * V6_META_STRIDE];
            boolean everything = false;
            for (int i = 0; i < list.size(); i++)
            {
                final Compiled rule = list.get(i);
                prefixes[i * V6_STRIDE] = rule.cidr().high();
                prefixes[i * V6_STRIDE + 1] = rule.cidr().low();
                prefixes[i * V6_STRIDE + 2] = rule.cidr().maskHigh();
                prefixes[i * V6_STRIDE + 3] = rule.cidr().maskLow();
                meta[i * V6_META_STRIDE] = rule.protocol();
                meta[i * V6_META_STRIDE + 1] = rule.ports();
                everything |= rule.protocol() == SecurityRule.ANY_PROTOCOL && rule.cidr().prefixLength() == 0;
            }
            return new Rules6(prefixes, meta, everything);
        }

        int count()
        {
            return meta.length / V6_META_STRIDE;
        }

        boolean allows(final int protocol, final long high, final long low, final int port)
        {
            if (matchesEverything)
            {
                return true;
            }
            final long[] p = prefixes;
            final int[] m = meta;
            for (int i = 0, j = 0; j < m.length; i += V6_STRIDE, j += V6_META_STRIDE)
            {
                final int ruleProtocol = m[j];
                final int ports = m[j + 1];
                if ((high & p[i + 2]) == p[i] && (low & p[i + 3]) == p[i + 1] &&
                    (ruleProtocol == protocol || ruleProtocol == SecurityRule.ANY_PROTOCOL) &&
                    port >= (ports >>> 16) && port <= (ports & 0xFFFF))
                {
                    return true;
                }
            }
            return false;
        }
    }
}
