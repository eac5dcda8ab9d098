package io.vsnic.dataplane.security;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.junit.jupiter.api.Test;

import static io.vsnic.dataplane.security.Addresses.v4;
import static io.vsnic.dataplane.security.Addresses.v6High;
import static io.vsnic.dataplane.security.Addresses.v6Low;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CompiledPolicyTest
{
    private static final int TCP = 6;
    private static final int UDP = 17;
    private static final int ICMP = 1;
    private static final int ICMPV6 = 58;
    private static final int GRE = 47;

    @Test
    void shouldDenyIngressAndAllowEgressWhenPortHasNoGroups()
    {
        final CompiledPolicy policy = CompiledPolicy.compile(List.of());

        assertSame(CompiledPolicy.defaultPolicy(), policy);
        assertFalse(policy.allowsIngressV4(TCP, v4("10.0.0.1"), 22));
        assertFalse(policy.allowsIngressV4(ICMP, v4("10.0.0.1"), 8));
        assertFalse(policy.allowsIngressV6(UDP, v6High("fd00::1"), v6Low("fd00::1"), 53));
        assertTrue(policy.allowsEgressV4(TCP, v4("93.184.216.34"), 443));
        assertTrue(policy.allowsEgressV4(GRE, v4("10.9.9.9"), 0));
        assertTrue(policy.allowsEgressV6(ICMPV6, v6High("2001:db8::1"), v6Low("2001:db8::1"), 128));
    }

    @Test
    void shouldAllowEverythingWithAllowAll()
    {
        final CompiledPolicy policy = CompiledPolicy.allowAll();

        assertTrue(policy.allowsIngressV4(TCP, v4("198.51.100.1"), 22));
        assertTrue(policy.allowsIngressV6(UDP, v6High("2001:db8::1"), v6Low("2001:db8::1"), 53));
        assertTrue(policy.allowsEgressV4(UDP, v4("198.51.100.1"), 53));
        assertTrue(policy.allowsEgressV6(TCP, v6High("2001:db8::1"), v6Low("2001:db8::1"), 80));
    }

    @Test
    void shouldMatchIngressByProtocolPortRangeAndSourcePrefix()
    {
        final CompiledPolicy policy = CompiledPolicy.compile(List.of(new SecurityGroup("web", List.of(
            new SecurityRule(Direction.INGRESS, TCP, 8000, 8080, "10.1.0.0/16")))));

        assertTrue(policy.allowsIngressV4(TCP, v4("10.1.2.3"), 8000));
        assertTrue(policy.allowsIngressV4(TCP, v4("10.1.255.255"), 8080));
        assertFalse(policy.allowsIngressV4(TCP, v4("10.1.2.3"), 7999), "below the range");
        assertFalse(policy.allowsIngressV4(TCP, v4("10.1.2.3"), 8081), "above the range");
        assertFalse(policy.allowsIngressV4(UDP, v4("10.1.2.3"), 8000), "other protocol");
        assertFalse(policy.allowsIngressV4(TCP, v4("10.2.0.1"), 8000), "outside the prefix");
        assertFalse(policy.allowsEgressV4(TCP, v4("10.1.2.3"), 8000), "ingress rule says nothing about egress");
        assertFalse(policy.allowsEgressV4(TCP, v4("8.8.8.8"), 443), "a group without egress rules allows no egress");
    }

    @Test
    void shouldMatchEgressByDestinationPrefixAndPort()
    {
        final CompiledPolicy policy = CompiledPolicy.compile(List.of(new SecurityGroup("dns", List.of(
            new SecurityRule(Direction.EGRESS, UDP, 53, 53, "192.0.2.53/32"),
            new SecurityRule(Direction.EGRESS, UDP, 53, 53, "2001:db8::53/128")))));

        assertTrue(policy.allowsEgressV4(UDP, v4("192.0.2.53"), 53));
        assertFalse(policy.allowsEgressV4(UDP, v4("192.0.2.54"), 53));
        assertFalse(policy.allowsEgressV4(UDP, v4("192.0.2.53"), 54));
        assertTrue(policy.allowsEgressV6(UDP, v6High("2001:db8::53"), v6Low("2001:db8::53"), 53));
        assertFalse(policy.allowsEgressV6(UDP, v6High("2001:db8::54"), v6Low("2001:db8::54"), 53));
        assertFalse(policy.allowsIngressV4(UDP, v4("192.0.2.53"), 53));
    }

    @Test
    void shouldMatchAnyProtocolRule()
    {
        final CompiledPolicy policy = CompiledPolicy.compile(List.of(new SecurityGroup("lan", List.of(
            SecurityRule.allowAll(Direction.INGRESS, "10.0.0.0/8")))));

        assertTrue(policy.allowsIngressV4(TCP, v4("10.3.3.3"), 1));
        assertTrue(policy.allowsIngressV4(UDP, v4("10.3.3.3"), 65535));
        assertTrue(policy.allowsIngressV4(ICMP, v4("10.3.3.3"), 8));
        assertTrue(policy.allowsIngressV4(GRE, v4("10.3.3.3"), 0));
        assertFalse(policy.allowsIngressV4(TCP, v4("11.0.0.1"), 1));
        assertFalse(policy.allowsIngressV6(TCP, 0, 1, 1), "an IPv4 prefix never matches IPv6");
    }

    @Test
    void shouldMatchIcmpOfEveryTypeAndOnlyItsFamily()
    {
        final CompiledPolicy policy = CompiledPolicy.compile(List.of(new SecurityGroup("ping", List.of(
            new SecurityRule(Direction.INGRESS, ICMP, 8, 8, "0.0.0.0/0"),
            new SecurityRule(Direction.INGRESS, ICMPV6, 0, 65535, "::/0")))));

        assertTrue(policy.allowsIngressV4(ICMP, v4("203.0.113.9"), 8));
        assertTrue(policy.allowsIngressV4(ICMP, v4("203.0.113.9"), 13), "the port range of an ICMP rule is ignored");
        assertFalse(policy.allowsIngressV4(ICMPV6, v4("203.0.113.9"), 128));
        assertTrue(policy.allowsIngressV6(ICMPV6, v6High("2001:db8::9"), v6Low("2001:db8::9"), 128));
        assertFalse(policy.allowsIngressV6(ICMP, v6High("2001:db8::9"), v6Low("2001:db8::9"), 8));
        assertFalse(policy.allowsIngressV4(TCP, v4("203.0.113.9"), 8));
    }

    @Test
    void shouldMatchIpv6PrefixesLongerAndShorterThan64()
    {
        final CompiledPolicy policy = CompiledPolicy.compile(List.of(new SecurityGroup("v6", List.of(
            new SecurityRule(Direction.INGRESS, TCP, 22, 22, "fd00:1:2:3::/64"),
            new SecurityRule(Direction.INGRESS, TCP, 80, 80, "2001:db8::/32"),
            new SecurityRule(Direction.INGRESS, TCP, 443, 443, "2001:db8::100/120")))));

        assertTrue(policy.allowsIngressV6(TCP, v6High("fd00:1:2:3::9"), v6Low("fd00:1:2:3::9"), 22));
        assertFalse(policy.allowsIngressV6(TCP, v6High("fd00:1:2:4::9"), v6Low("fd00:1:2:4::9"), 22));
        assertTrue(policy.allowsIngressV6(TCP, v6High("2001:db8:ffff::1"), v6Low("2001:db8:ffff::1"), 80));
        assertFalse(policy.allowsIngressV6(TCP, v6High("2001:db9::1"), v6Low("2001:db9::1"), 80));
        assertTrue(policy.allowsIngressV6(TCP, v6High("2001:db8::1ff"), v6Low("2001:db8::1ff"), 443));
        assertFalse(policy.allowsIngressV6(TCP, v6High("2001:db8::200"), v6Low("2001:db8::200"), 443));
        assertFalse(policy.allowsIngressV6(TCP, v6High("2001:db8::1ff"), v6Low("2001:db8::1ff"), 22));
    }

    @Test
    void shouldAllowTheUnionOfAllGroups()
    {
        final SecurityGroup ssh = new SecurityGroup("ssh", List.of(
            new SecurityRule(Direction.INGRESS, TCP, 22, 22, "10.0.0.0/8")));
        final SecurityGroup web = SecurityGroup.withDefaultEgress("web", List.of(
            new SecurityRule(Direction.INGRESS, TCP, 443, 443, "0.0.0.0/0")));

        final CompiledPolicy policy = CompiledPolicy.compile(List.of(ssh, web));

        assertTrue(policy.allowsIngressV4(TCP, v4("10.0.0.5"), 22));
        assertFalse(policy.allowsIngressV4(TCP, v4("192.0.2.5"), 22));
        assertTrue(policy.allowsIngressV4(TCP, v4("192.0.2.5"), 443));
        assertTrue(policy.allowsEgressV4(UDP, v4("192.0.2.5"), 123), "egress comes from the web group");
        assertTrue(policy.allowsEgressV6(UDP, v6High("2001:db8::5"), v6Low("2001:db8::5"), 123));
        assertFalse(policy.allowsIngressV4(UDP, v4("10.0.0.5"), 22));
    }

    @Test
    void shouldKeepIdenticalRulesOnce()
    {
        final SecurityRule ssh = new SecurityRule(Direction.INGRESS, TCP, 22, 22, "10.0.0.0/8");
        final SecurityGroup a = new SecurityGroup("a", List.of(ssh, ssh,
            new SecurityRule(Direction.INGRESS, ICMP, 8, 8, "0.0.0.0/0"),
            new SecurityRule(Direction.INGRESS, ICMP, 0, 65535, "0.0.0.0/0")));
        final SecurityGroup b = new SecurityGroup("b", List.of(ssh,
            new SecurityRule(Direction.INGRESS, TCP, 80, 80, "fd00:0::/64"),
            new SecurityRule(Direction.INGRESS, TCP, 80, 80, "fd00::/64")));

        final CompiledPolicy policy = CompiledPolicy.compile(List.of(a, b));

        assertEquals(3, policy.ruleCount(), policy.toString());
        assertEquals("CompiledPolicy{ingressV4=2, ingressV6=1, egressV4=0, egressV6=0}", policy.toString());
    }

    @Test
    void shouldRejectNullGroupsAndTooManyRules()
    {
        final IllegalArgumentException nullList = assertThrows(IllegalArgumentException.class,
            () -> CompiledPolicy.compile(null));
        assertEquals("security groups must not be null", nullList.getMessage());

        final IllegalArgumentException nullGroup = assertThrows(IllegalArgumentException.class,
            () -> CompiledPolicy.compile(Arrays.asList(new SecurityGroup("a", List.of()), null)));
        assertEquals("security group 1 is null", nullGroup.getMessage());

        final List<SecurityRule> many = new ArrayList<>();
        for (int port = 0; port <= CompiledPolicy.MAX_RULES; port++)
        {
            many.add(new SecurityRule(Direction.INGRESS, TCP, port, port, "0.0.0.0/0"));
        }
        final IllegalArgumentException tooMany = assertThrows(IllegalArgumentException.class,
            () -> CompiledPolicy.compile(List.of(new SecurityGroup("many", many))));
        assertEquals("security groups add up to 1025 distinct rules, at most 1024 are allowed per port",
            tooMany.getMessage());
    }

    @Test
    void shouldDenyEverythingWhenGroupsHaveNoRules()
    {
        final CompiledPolicy policy = CompiledPolicy.compile(List.of(new SecurityGroup("empty", List.of())));

        assertEquals(0, policy.ruleCount());
        assertFalse(policy.allowsIngressV4(TCP, v4("10.0.0.1"), 22));
        assertFalse(policy.allowsEgressV4(TCP, v4("10.0.0.1"), 22));
        assertFalse(policy.allowsEgressV6(TCP, 0, 1, 22));
    }

    @Test
    void shouldMatchTheLastOfManyRules()
    {
        final List<SecurityRule> rules = new ArrayList<>();
        for (int i = 0; i < 63; i++)
        {
            rules.add(new SecurityRule(Direction.INGRESS, UDP, 1000 + i, 1000 + i, "10." + i + ".0.0/16"));
        }
        rules.add(new SecurityRule(Direction.INGRESS, TCP, 5432, 5432, "172.16.0.0/12"));
        final CompiledPolicy policy = CompiledPolicy.compile(List.of(new SecurityGroup("many", rules)));

        assertTrue(policy.allowsIngressV4(TCP, v4("172.31.255.254"), 5432));
        assertTrue(policy.allowsIngressV4(UDP, v4("10.62.1.1"), 1062));
        assertFalse(policy.allowsIngressV4(UDP, v4("10.62.1.1"), 1061));
        assertFalse(policy.allowsIngressV4(TCP, v4("172.32.0.1"), 5432));
    }
}
