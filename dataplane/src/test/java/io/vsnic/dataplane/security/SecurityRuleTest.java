package io.vsnic.dataplane.security;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SecurityRuleTest
{
    @Test
    void shouldAcceptValidRules()
    {
        final SecurityRule ssh = new SecurityRule(Direction.INGRESS, 6, 22, 22, "10.0.0.0/8");
        final SecurityRule dns = new SecurityRule(Direction.EGRESS, 17, 53, 53, "fd00::/64");
        final SecurityRule ping = new SecurityRule(Direction.INGRESS, 1, 0, 65535, "0.0.0.0/0");
        final SecurityRule any = SecurityRule.allowAll(Direction.EGRESS, "::/0");

        assertEquals("ingress tcp 22..22 from 10.0.0.0/8", ssh.describe());
        assertEquals("egress udp 53..53 to fd00::/64", dns.describe());
        assertEquals("ingress icmp from 0.0.0.0/0", ping.describe());
        assertEquals("egress any to ::/0", any.describe());
        assertTrue(dns.isIpv6());
        assertFalse(ssh.isIpv6());
        assertEquals(new SecurityRule(Direction.INGRESS, 6, 22, 22, "10.0.0.0/8"), ssh);
    }

    @Test
    void shouldIgnorePortRangeOfIcmpRules()
    {
        // The port range of an ICMP rule is accepted and ignored (documented), so it does not throw.
        final SecurityRule rule = new SecurityRule(Direction.INGRESS, 58, 128, 128, "::/0");

        assertEquals(128, rule.portFrom());
    }

    @Test
    void shouldNameTheFieldWhenRuleIsInvalid()
    {
        assertMessage("direction must not be null", () -> new SecurityRule(null, 6, 1, 2, "0.0.0.0/0"));
        assertMessage("protocol must be -1 (any) or 0..255, got 256",
            () -> new SecurityRule(Direction.INGRESS, 256, 0, 65535, "0.0.0.0/0"));
        assertMessage("protocol must be -1 (any) or 0..255, got -2",
            () -> new SecurityRule(Direction.INGRESS, -2, 0, 65535, "0.0.0.0/0"));
        assertMessage("portFrom must be in 0..65535, got -1",
            () -> new SecurityRule(Direction.INGRESS, 6, -1, 10, "0.0.0.0/0"));
        assertMessage("portTo must be in 0..65535, got 65536",
            () -> new SecurityRule(Direction.INGRESS, 6, 10, 65536, "0.0.0.0/0"));
        assertMessage("portFrom 90 is greater than portTo 80",
            () -> new SecurityRule(Direction.INGRESS, 6, 90, 80, "0.0.0.0/0"));
        assertMessage("cidr must not be null", () -> new SecurityRule(Direction.INGRESS, 6, 80, 80, null));
        assertMessage("invalid IPv4 prefix '10.0.0.1/8': host bits are set beyond /8 (did you mean 10.0.0.0/8?)",
            () -> new SecurityRule(Direction.INGRESS, 6, 80, 80, "10.0.0.1/8"));
    }

    @Test
    void shouldRejectPortRangeThatCannotBeEnforced()
    {
        assertMessage("a port range needs protocol 6 (tcp) or 17 (udp); protocol any must use 0..65535, got 22..22",
            () -> new SecurityRule(Direction.INGRESS, -1, 22, 22, "0.0.0.0/0"));
        assertMessage("a port range needs protocol 6 (tcp) or 17 (udp); protocol 132 must use 0..65535, got 0..80",
            () -> new SecurityRule(Direction.INGRESS, 132, 0, 80, "0.0.0.0/0"));
    }

    @Test
    void shouldRejectIcmpOfTheWrongFamily()
    {
        assertMessage("protocol 1 (icmp) is IPv4 only but cidr 'fd00::/64' is IPv6: use 58 (icmpv6)",
            () -> new SecurityRule(Direction.INGRESS, 1, 0, 65535, "fd00::/64"));
        assertMessage("protocol 58 (icmpv6) is IPv6 only but cidr '10.0.0.0/8' is IPv4: use 1 (icmp)",
            () -> new SecurityRule(Direction.INGRESS, 58, 0, 65535, "10.0.0.0/8"));
    }

    @Test
    void shouldValidateGroups()
    {
        final SecurityRule rule = SecurityRule.allowAll(Direction.INGRESS, "10.0.0.0/8");

        assertMessage("security group name must not be null", () -> new SecurityGroup(null, List.of()));
        assertMessage("security group name must not be blank", () -> new SecurityGroup(" ", List.of()));
        assertMessage("security group name must be at most 255 characters, got 256",
            () -> new SecurityGroup("x".repeat(256), List.of()));
        assertMessage("rules of security group 'web' must not be null", () -> new SecurityGroup("web", null));
        assertMessage("rule 1 of security group 'web' is null",
            () -> new SecurityGroup("web", Arrays.asList(rule, null)));
    }

    @Test
    void shouldCopyGroupRules()
    {
        final List<SecurityRule> rules = new ArrayList<>();
        rules.add(SecurityRule.allowAll(Direction.INGRESS, "10.0.0.0/8"));
        final SecurityGroup group = new SecurityGroup("web", rules);
        rules.clear();

        assertEquals(1, group.rules().size());
        assertThrows(UnsupportedOperationException.class, () -> group.rules().clear());
    }

    @Test
    void shouldAddAllowAllEgressForBothFamiliesWithDefaultEgress()
    {
        final SecurityGroup group = SecurityGroup.withDefaultEgress("web",
            List.of(new SecurityRule(Direction.INGRESS, 6, 443, 443, "0.0.0.0/0")));

        assertEquals(3, group.rules().size());
        assertTrue(group.rules().contains(SecurityRule.allowAll(Direction.EGRESS, "0.0.0.0/0")));
        assertTrue(group.rules().contains(SecurityRule.allowAll(Direction.EGRESS, "::/0")));
    }

    private static void assertMessage(final String expected, final Runnable construction)
    {
        final IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, construction::run);
        assertEquals(expected, ex.getMessage());
    }
}
