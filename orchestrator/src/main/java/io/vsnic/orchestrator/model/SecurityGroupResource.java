package io.vsnic.orchestrator.model;

import java.util.List;

/**
 * A security group: {@code /v1/security-groups/{name}}. Allow rules only; what no rule allows is
 * denied, replies of allowed connections pass (stateful).
 *
 * @param name          unique name.
 * @param rules         allow rules.
 * @param defaultEgress add "allow all egress" (IPv4 and IPv6), as cloud APIs do (default true).
 * @param version       server-assigned.
 */
public record SecurityGroupResource(String name, List<Rule> rules, Boolean defaultEgress, Long version)
    implements Resource<SecurityGroupResource>
{
    public SecurityGroupResource
    {
        rules = rules == null ? null : List.copyOf(rules);
    }

    @Override
    public String key()
    {
        return name;
    }

    @Override
    public SecurityGroupResource withVersion(final Long next)
    {
        return new SecurityGroupResource(name, rules, defaultEgress, next);
    }
}
