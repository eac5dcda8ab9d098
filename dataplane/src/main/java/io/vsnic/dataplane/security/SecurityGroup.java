package io.vsnic.dataplane.security;

import java.util.ArrayList;
import java.util.List;

/**
 * A named set of allow rules. A port carries zero or more groups; its policy is the union of their
 * rules (see {@link CompiledPolicy#compile(List)}).
 *
 * <p>A group holds exactly the rules it is given: it gets no implicit egress rule. Cloud APIs add
 * "allow all egress" to a group when it is created (AWS, OpenStack); the orchestrator should do
 * the same with {@link #withDefaultEgress(String, List)}, so that attaching a group that only opens
 * a few ingress ports does not also cut the VM off from the outside.
 *
 * @param name  a non-blank name of at most {@value #MAX_NAME_LENGTH} characters.
 * @param rules the rules, in any order; copied, no nulls.
 */
public record SecurityGroup(String name, List<SecurityRule> rules)
{
    /** Longest accepted group name. */
    public static final int MAX_NAME_LENGTH = 255;

    /** Egress to every IPv4 and IPv6 address, any protocol: the rules a new group gets in cloud APIs. */
    public static final List<SecurityRule> DEFAULT_EGRESS_RULES = List.of(
        SecurityRule.allowAll(Direction.EGRESS, "0.0.0.0/0"),
        SecurityRule.allowAll(Direction.EGRESS, "::/0"));

    /**
     * Validates the group and copies its rules.
     *
     * @throws IllegalArgumentException when the name is null, blank or too long, or the rule list is
     *                                  null or holds a null.
     */
    public SecurityGroup
    {
        if (name == null)
        {
            throw new IllegalArgumentException("security group name must not be null");
        }
        if (name.isBlank())
        {
            throw new IllegalArgumentException("security group name must not be blank");
        }
        if (name.length() > MAX_NAME_LENGTH)
        {
            throw new IllegalArgumentException("security group name must be at most " + MAX_NAME_LENGTH +
                " characters, got " + name.length());
        }
        if (rules == null)
        {
            throw new IllegalArgumentException("rules of security group '" + name + "' must not be null");
        }
        for (int i = 0; i < rules.size(); i++)
        {
            if (rules.get(i) == null)
            {
                throw new IllegalArgumentException("rule " + i + " of security group '" + name + "' is null");
            }
        }
        rules = List.copyOf(rules);
    }

    /**
     * A group with the given rules plus {@link #DEFAULT_EGRESS_RULES}.
     *
     * @param name  group name.
     * @param rules further rules (ingress, or more egress).
     * @return the group.
     */
    public static SecurityGroup withDefaultEgress(final String name, final List<SecurityRule> rules)
    {
        if (rules == null)
        {
            throw new IllegalArgumentException("rules of security group '" + name + "' must not be null");
        }
        final List<SecurityRule> all = new ArrayList<>(rules.size() + DEFAULT_EGRESS_RULES.size());
        all.addAll(rules);
        all.addAll(DEFAULT_EGRESS_RULES);
        return new SecurityGroup(name, all);
    }
}
