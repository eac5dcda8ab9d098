package io.vsnic.dataplane.enclave;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

import io.vsnic.dataplane.protocol.Ipv4Flyweight;
import io.vsnic.dataplane.security.CompiledPolicy;
import io.vsnic.dataplane.security.Direction;
import io.vsnic.dataplane.security.SecurityGroup;
import io.vsnic.dataplane.security.SecurityRule;
import io.vsnic.dataplane.table.ForwardingState;
import io.vsnic.dataplane.table.Prefixes;

/**
 * A service enclave: a set of services that talk only to each other, over their own substrate.
 *
 * @param name     unique on the device ([a-z0-9-], 1..63).
 * @param vni      the VNI of the enclave's overlay on its own substrate (1..16777215); it must not be
 *                 a customer network's VNI nor another enclave's, so a stray packet can be named.
 * @param cidr     its IPv4 address space ("10.77.0.0/24").
 * @param gateway  the address the enclave's gateway answers on (inside {@code cidr}).
 * @param services its services.
 * @param allow    null: every service may talk to every other; else only these pairs (stateful).
 */
public record EnclaveSpec(String name, int vni, String cidr, String gateway, List<ServiceSpec> services, List<AllowedFlow> allow)
{
    private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9-]{0,62}");
    /** Largest VNI (24 bits). */
    public static final int MAX_VNI = 0xFF_FFFF;

    /**
     * Validates the enclave.
     *
     * @throws IllegalArgumentException naming the enclave, the field and what is wrong.
     */
    public EnclaveSpec
    {
        final String where = "enclave " + name;
        if (name == null || !NAME.matcher(name).matches())
        {
            throw new IllegalArgumentException("enclave name must match [a-z0-9][a-z0-9-]{0,62}: " + name);
        }
        if (vni < 1 || vni > MAX_VNI)
        {
            throw new IllegalArgumentException(where + ": vni must be in 1.." + MAX_VNI + ": " + vni);
        }
        if (cidr == null || cidr.indexOf(':') >= 0)
        {
            throw new IllegalArgumentException(where + ": cidr must be an IPv4 prefix like 10.77.0.0/24: " + cidr);
        }
        final Prefixes.Ipv4Prefix prefix = parsePrefix(where, cidr);
        final int mask = prefix.length() == 0 ? 0 : -1 << (32 - prefix.length());
        final int gatewayAddress = address(where + ": gateway", gateway);
        if ((gatewayAddress & mask) != (prefix.address() & mask))
        {
            throw new IllegalArgumentException(where + ": gateway " + gateway + " is outside cidr " + cidr);
        }
        if (services == null || services.isEmpty())
        {
            throw new IllegalArgumentException(where + ": services must list at least one service");
        }
        services = List.copyOf(services);
        final Set<String> names = new HashSet<>();
        final Set<Integer> addresses = new HashSet<>();
        final Set<Long> macs = new HashSet<>();
        final Set<Long> devicePorts = new HashSet<>();
        addresses.add(gatewayAddress);
        for (final ServiceSpec service : services)
        {
            final String at = where + ": service " + (service == null ? null : service.name());
            if (service == null || service.name() == null || !NAME.matcher(service.name()).matches())
            {
                throw new IllegalArgumentException(at + ": name must match [a-z0-9][a-z0-9-]{0,62}");
            }
            if (!names.add(service.name()))
            {
                throw new IllegalArgumentException(at + ": name is used twice");
            }
            if (service.device() < 0 || service.device() >= ForwardingState.MAX_DEVICES)
            {
                throw new IllegalArgumentException(at + ": device must be in 0.." + (ForwardingState.MAX_DEVICES - 1) + ": " + service.device());
            }
            if (service.portId() < 0 || service.portId() >= ForwardingState.MAX_PORTS)
            {
                throw new IllegalArgumentException(at + ": portId must be in 0.." + (ForwardingState.MAX_PORTS - 1) + ": " + service.portId());
            }
            if (!devicePorts.add(((long)service.device() << 32) | service.portId()))
            {
                throw new IllegalArgumentException(at + ": portId " + service.portId() + " is taken on device " + service.device());
            }
            if ((service.mac() & ~0xFFFF_FFFF_FFFFL) != 0 || (service.mac() & 0x0100_0000_0000L) != 0 || service.mac() == 0)
            {
                throw new IllegalArgumentException(at + ": mac must be a unicast 48-bit address");
            }
            if (!macs.add(service.mac()))
            {
                throw new IllegalArgumentException(at + ": mac is used twice");
            }
            final int address = address(at + ": address", service.address());
            if ((address & mask) != (prefix.address() & mask))
            {
                throw new IllegalArgumentException(at + ": address " + service.address() + " is outside cidr " + cidr);
            }
            if (!addresses.add(address))
            {
                throw new IllegalArgumentException(at + ": address " + service.address() + " is used twice (or is the gateway)");
            }
        }
        if (allow != null)
        {
            allow = List.copyOf(allow);
            for (final AllowedFlow flow : allow)
            {
                final String at = where + ": allow " + flow;
                if (!names.contains(flow.from()))
                {
                    throw new IllegalArgumentException(at + ": from names no service of the enclave: " + flow.from());
                }
                if (!names.contains(flow.to()))
                {
                    throw new IllegalArgumentException(at + ": to names no service of the enclave: " + flow.to());
                }
                if (flow.protocol() < SecurityRule.ANY_PROTOCOL || flow.protocol() > 255)
                {
                    throw new IllegalArgumentException(at + ": protocol must be -1 (any) or 0..255: " + flow.protocol());
                }
                if (flow.port() < 0 || flow.port() > SecurityRule.MAX_PORT)
                {
                    throw new IllegalArgumentException(at + ": port must be in 0..65535: " + flow.port());
                }
            }
        }
    }

    private static Prefixes.Ipv4Prefix parsePrefix(final String where, final String text)
    {
        try
        {
            return Prefixes.parseIpv4(text);
        }
        catch (final IllegalArgumentException ex)
        {
            throw new IllegalArgumentException(where + ": cidr: " + ex.getMessage(), ex);
        }
    }

    private static int address(final String field, final String text)
    {
        if (text == null)
        {
            throw new IllegalArgumentException(field + " is required");
        }
        try
        {
            return Ipv4Flyweight.parse(text);
        }
        catch (final IllegalArgumentException ex)
        {
            throw new IllegalArgumentException(field + " must be an IPv4 address: " + text, ex);
        }
    }

    /**
     * @return the service with a name, or null.
     */
    public ServiceSpec service(final String serviceName)
    {
        for (final ServiceSpec service : services)
        {
            if (service.name().equals(serviceName))
            {
                return service;
            }
        }
        return null;
    }

    /**
     * Compiles the enclave's policy for one service into security rules (enforced statefully by the
     * enclave's connection table): without an {@code allow} list, the service may exchange anything
     * with the enclave's address space; with one, it may open the flows that name it as {@code from}
     * and accept those that name it as {@code to}.
     */
    public CompiledPolicy policyOf(final ServiceSpec service)
    {
        final List<SecurityRule> rules = new ArrayList<>();
        if (allow == null)
        {
            rules.add(SecurityRule.allowAll(Direction.INGRESS, cidr));
            rules.add(SecurityRule.allowAll(Direction.EGRESS, cidr));
        }
        else
        {
            final Map<String, String> addressOf = new HashMap<>();
            for (final ServiceSpec s : services)
            {
                addressOf.put(s.name(), s.address());
            }
            for (final AllowedFlow flow : allow)
            {
                final boolean ports = flow.protocol() == 6 || flow.protocol() == 17;
                final int from = ports ? flow.port() : 0;
                final int to = ports ? flow.port() : SecurityRule.MAX_PORT;
                if (flow.from().equals(service.name()))
                {
                    rules.add(new SecurityRule(Direction.EGRESS, flow.protocol(), from, to, addressOf.get(flow.to()) + "/32"));
                }
                if (flow.to().equals(service.name()))
                {
                    rules.add(new SecurityRule(Direction.INGRESS, flow.protocol(), from, to, addressOf.get(flow.from()) + "/32"));
                }
            }
        }
        return CompiledPolicy.compile(List.of(new SecurityGroup("enclave-" + name, rules)));
    }
}
