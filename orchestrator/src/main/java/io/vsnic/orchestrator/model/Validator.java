package io.vsnic.orchestrator.model;

import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

import io.vsnic.dataplane.protocol.EthernetFlyweight;
import io.vsnic.dataplane.security.Direction;
import io.vsnic.dataplane.security.SecurityRule;
import io.vsnic.dataplane.table.ForwardingState;
import io.vsnic.dataplane.table.Prefixes;
import io.vsnic.vnic.MacAddresses;

/**
 * Field validation and normalisation of resources (400 naming the field), and the cross-resource
 * checks of a whole desired state: unknown references (422), duplicate VNI/MAC/IP/device (409),
 * addresses outside their subnets (422), resources still in use (409). The data plane's
 * {@code ForwardingState.build} is the last gate after these.
 */
public final class Validator
{
    /** Names and ids: 1..63 characters, letters, digits, '.', '_', '-', starting with a letter or digit. */
    public static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,62}");
    /** Backend types this build knows the name of (whether each is available is the backend registry's call). */
    public static final Set<String> BACKEND_TYPES = Set.of("memory", "tap", "qemu-stream", "qemu-dgram");
    private static final Set<String> TARGET_TYPES = Set.of("port", "device", "ecmp", "blackhole", "reject");
    private static final int MAX_DEVICE = ForwardingState.MAX_DEVICES - 1;

    private final String deviceName;
    private final int deviceId;

    /**
     * @param deviceName this device's name (namespace of generated MACs).
     * @param deviceId   this device's id (peers may not use it).
     */
    public Validator(final String deviceName, final int deviceId)
    {
        this.deviceName = deviceName;
        this.deviceId = deviceId;
    }

    // ---------------------------------------------------------------------------------------------
    // one resource: syntax and defaults (400)

    /**
     * @return the resource with defaults filled in and the server fields (version, port) cleared.
     * @throws ResourceException 400 naming the field.
     */
    public Resource<?> normalize(final Kind kind, final Resource<?> resource, final String prefix)
    {
        if (resource == null)
        {
            throw new ResourceException(400, "malformed_json", "a JSON object is required", null);
        }
        return switch (kind)
        {
            case NETWORK -> network((NetworkResource)resource, prefix);
            case SECURITY_GROUP -> securityGroup((SecurityGroupResource)resource, prefix);
            case VNIC -> vnic((VnicResource)resource, prefix);
            case PEER -> peer((PeerResource)resource, prefix);
            case ENCLAVE -> enclave((EnclaveResource)resource, prefix);
        };
    }

    private static String name(final String value, final String field)
    {
        if (value == null)
        {
            throw ResourceException.missing(field);
        }
        if (!NAME.matcher(value).matches())
        {
            throw ResourceException.invalid(field, field + " must be 1..63 characters of letters, digits, '.', '_', '-' " +
                "starting with a letter or digit: '" + value + "'");
        }
        return value;
    }

    private NetworkResource network(final NetworkResource network, final String p)
    {
        name(network.name(), p + "name");
        if (network.vni() == null)
        {
            throw ResourceException.missing(p + "vni");
        }
        if (network.vni() < 0 || network.vni() > ForwardingState.MAX_VNI)
        {
            throw ResourceException.invalid(p + "vni", "vni must be in 0.." + ForwardingState.MAX_VNI + ": " + network.vni());
        }
        final int mtu = network.mtu() == null ? 1500 : network.mtu();
        if (mtu < 576 || mtu > 9000)
        {
            throw ResourceException.invalid(p + "mtu", "mtu must be in 576..9000: " + mtu);
        }
        if (network.subnets() == null || network.subnets().isEmpty())
        {
            throw ResourceException.missing(p + "subnets");
        }
        final List<Parsed> subnets = new ArrayList<>();
        for (int i = 0; i < network.subnets().size(); i++)
        {
            final Subnet subnet = network.subnets().get(i);
            final String f = p + "subnets[" + i + "]";
            if (subnet == null)
            {
                throw ResourceException.invalid(f, f + " must be an object");
            }
            final Parsed cidr = prefix(subnet.cidr(), f + ".cidr");
            final Parsed gateway = address(subnet.gateway(), f + ".gateway");
            if (gateway.v6 != cidr.v6 || !cidr.contains(gateway))
            {
                throw ResourceException.unprocessable("outside_subnet", f + ".gateway",
                    "gateway " + subnet.gateway() + " is outside " + subnet.cidr());
            }
            if (cidr.v6 && mtu < 1280)
            {
                throw ResourceException.unprocessable("invalid_config", p + "mtu", "mtu must be at least 1280 with an IPv6 subnet");
            }
            for (int j = 0; j < subnets.size(); j++)
            {
                if (subnets.get(j).overlaps(cidr))
                {
                    throw ResourceException.unprocessable("overlapping_subnets", f + ".cidr",
                        subnet.cidr() + " overlaps " + network.subnets().get(j).cidr());
                }
            }
            subnets.add(cidr);
        }
        final List<Route> routes = network.routes() == null ? List.of() : network.routes();
        final Set<String> prefixes = new HashSet<>();
        final List<Route> normalizedRoutes = new ArrayList<>(routes.size());
        final Map<RouteTarget, RouteTarget> targets = new HashMap<>();
        for (int i = 0; i < routes.size(); i++)
        {
            final Route checked = checkedRoute(routes.get(i), targets);
            final Route route = checked != null ? checked : route(routes.get(i), p + "routes[" + i + "]");
            if (!prefixes.add(route.prefix()))
            {
                throw ResourceException.conflict("duplicate_route", p + "routes[" + i + "].prefix",
                    "route " + route.prefix() + " appears twice");
            }
            normalizedRoutes.add(route);
        }
        final List<Remote> remotes = network.remotes() == null ? List.of() : network.remotes();
        final List<Remote> normalizedRemotes = new ArrayList<>();
        final Set<String> ips = new HashSet<>();
        for (int i = 0; i < remotes.size(); i++)
        {
            final String f = p + "remotes[" + i + "]";
            final Remote remote = remote(remotes.get(i), f);
            final Parsed ip = address(remote.ip(), f + ".ip");
            if (subnets.stream().noneMatch(s -> s.v6 == ip.v6 && s.contains(ip)))
            {
                throw ResourceException.unprocessable("outside_subnet", f + ".ip",
                    "remote " + remote.ip() + " is outside every subnet of network " + network.name());
            }
            if (!ips.add(ip.key()))
            {
                throw ResourceException.conflict("duplicate_ip", f + ".ip", "remote " + remote.ip() + " appears twice");
            }
            normalizedRemotes.add(remote);
        }
        // the routes share their targets already: checkedRoute hands out one instance per distinct target
        return new NetworkResource(network.name(), network.vni(), mtu, network.subnets(), normalizedRoutes,
            normalizedRemotes, null);
    }

    /**
     * Validates one route (for {@code POST /v1/networks/{name}/routes}).
     *
     * @return the route with its prefix in canonical form.
     */
    public Route route(final Route route, final String f)
    {
        if (route == null)
        {
            throw ResourceException.invalid(f, f + " must be an object");
        }
        final Parsed prefix = prefix(route.prefix(), prefixField(f, "prefix"));
        if (route.target() == null)
        {
            throw ResourceException.missing(prefixField(f, "target"));
        }
        return new Route(prefix.text, target(route.target(), prefixField(f, "target"), true));
    }

    /**
     * One route of a network's list checked without naming fields (a million routes each built their field
     * names, and ran a regular expression on the same vNIC name): its prefix parsed, its target checked once
     * per distinct target ({@code targets}, equal targets sharing the first one's normalised instance).
     *
     * @return the normalised route, or null when something is wrong: {@link #route} then names it.
     */
    private static Route checkedRoute(final Route route, final Map<RouteTarget, RouteTarget> targets)
    {
        if (route == null || route.prefix() == null || route.target() == null)
        {
            return null;
        }
        final String prefix;
        try
        {
            prefix = parsePrefix(route.prefix()).text;
        }
        catch (final IllegalArgumentException ex)
        {
            return null;
        }
        RouteTarget target = targets.get(route.target());
        if (target == null)
        {
            try
            {
                target = target(route.target(), "target", true);
            }
            catch (final ResourceException ex)
            {
                return null;
            }
            // already normal: keep the instance, so that routes sharing it come back as they are
            target = target.equals(route.target()) ? route.target() : target;
            targets.put(route.target(), target);
        }
        return prefix == route.prefix() && target == route.target() ? route : new Route(prefix, target);
    }

    private static String prefixField(final String f, final String name)
    {
        return f.isEmpty() ? name : f + "." + name;
    }

    private static RouteTarget target(final RouteTarget target, final String f, final boolean topLevel)
    {
        if (target.type() == null)
        {
            throw ResourceException.missing(f + ".type");
        }
        final String type = target.type();
        if (!TARGET_TYPES.contains(type))
        {
            throw ResourceException.invalid(f + ".type", f + ".type must be one of port, device, ecmp, blackhole, reject: " + type);
        }
        if (!topLevel && !type.equals("port") && !type.equals("device"))
        {
            throw ResourceException.invalid(f + ".type", "ecmp members must be port or device targets: " + type);
        }
        return switch (type)
        {
            case "port" ->
            {
                name(target.vnic(), f + ".vnic");
                yield new RouteTarget(type, target.vnic(), null, null);
            }
            case "device" -> new RouteTarget(type, null, device(target.device(), f + ".device"), null);
            case "ecmp" ->
            {
                if (target.members() == null || target.members().isEmpty() || target.members().size() > 64)
                {
                    throw ResourceException.invalid(f + ".members", "an ecmp target has 1..64 members");
                }
                final List<RouteTarget> members = new ArrayList<>();
                for (int i = 0; i < target.members().size(); i++)
                {
                    final RouteTarget member = target.members().get(i);
                    if (member == null)
                    {
                        throw ResourceException.invalid(f + ".members[" + i + "]", "ecmp member must be an object");
                    }
                    members.add(target(member, f + ".members[" + i + "]", false));
                }
                yield new RouteTarget(type, null, null, members);
            }
            default -> new RouteTarget(type, null, null, null);
        };
    }

    private static int device(final Integer device, final String f)
    {
        if (device == null)
        {
            throw ResourceException.missing(f);
        }
        if (device < 0 || device > MAX_DEVICE)
        {
            throw ResourceException.invalid(f, f + " must be in 0.." + MAX_DEVICE + ": " + device);
        }
        return device;
    }

    /**
     * Validates one remote (for {@code POST /v1/networks/{name}/remotes}).
     *
     * @return the remote with its MAC in canonical form.
     */
    public Remote remote(final Remote remote, final String f)
    {
        if (remote == null)
        {
            throw ResourceException.invalid(f, f + " must be an object");
        }
        final Parsed ip = address(remote.ip(), prefixField(f, "ip"));
        final long mac = mac(remote.mac(), prefixField(f, "mac"), true);
        return new Remote(ip.text, EthernetFlyweight.formatMac(mac), device(remote.device(), prefixField(f, "device")));
    }

    private static long mac(final String text, final String f, final boolean required)
    {
        if (text == null)
        {
            if (required)
            {
                throw ResourceException.missing(f);
            }
            return -1;
        }
        final long mac;
        try
        {
            mac = EthernetFlyweight.parseMac(text);
        }
        catch (final IllegalArgumentException ex)
        {
            throw ResourceException.invalid(f, f + ": " + ex.getMessage());
        }
        if (mac == 0 || EthernetFlyweight.isMulticast(mac))
        {
            throw ResourceException.invalid(f, f + " must be a unicast address: " + text);
        }
        return mac;
    }

    private SecurityGroupResource securityGroup(final SecurityGroupResource group, final String p)
    {
        name(group.name(), p + "name");
        final List<Rule> rules = group.rules() == null ? List.of() : group.rules();
        final List<Rule> normalized = new ArrayList<>();
        for (int i = 0; i < rules.size(); i++)
        {
            final Rule rule = rules.get(i);
            final String f = p + "rules[" + i + "]";
            if (rule == null)
            {
                throw ResourceException.invalid(f, f + " must be an object");
            }
            normalized.add(rule(rule, f));
        }
        return new SecurityGroupResource(group.name(), normalized, group.defaultEgress() == null || group.defaultEgress(), null);
    }

    private static Rule rule(final Rule rule, final String f)
    {
        final SecurityRule compiled = compileRule(rule, f);
        final String protocol = rule.protocol() == null ? "any" : rule.protocol().toLowerCase(Locale.ROOT);
        final String ports = compiled.portFrom() == 0 && compiled.portTo() == SecurityRule.MAX_PORT ? null :
            compiled.portFrom() == compiled.portTo() ? Integer.toString(compiled.portFrom()) :
            compiled.portFrom() + "-" + compiled.portTo();
        return new Rule(compiled.direction().name().toLowerCase(Locale.ROOT), protocol, ports, rule.cidr());
    }

    /**
     * Compiles a validated rule into the data plane's form.
     */
    public static SecurityRule compileRule(final Rule rule, final String f)
    {
        if (rule.direction() == null)
        {
            throw ResourceException.missing(f + ".direction");
        }
        final Direction direction = switch (rule.direction().toLowerCase(Locale.ROOT))
        {
            case "ingress" -> Direction.INGRESS;
            case "egress" -> Direction.EGRESS;
            default -> throw ResourceException.invalid(f + ".direction", "direction must be ingress or egress: " + rule.direction());
        };
        final int protocol = protocol(rule.protocol(), f + ".protocol");
        int from = 0;
        int to = SecurityRule.MAX_PORT;
        if (rule.ports() != null)
        {
            if (protocol != 6 && protocol != 17)
            {
                throw ResourceException.invalid(f + ".ports", "ports apply to tcp and udp only");
            }
            final String text = rule.ports().trim();
            final int dash = text.indexOf('-');
            try
            {
                from = Integer.parseInt(dash < 0 ? text : text.substring(0, dash));
                to = dash < 0 ? from : Integer.parseInt(text.substring(dash + 1));
            }
            catch (final NumberFormatException ex)
            {
                throw ResourceException.invalid(f + ".ports", "ports must be \"80\" or \"5000-5999\": " + rule.ports());
            }
            if (from < 0 || to > SecurityRule.MAX_PORT || from > to)
            {
                throw ResourceException.invalid(f + ".ports", "ports must be within 0..65535, first <= last: " + rule.ports());
            }
        }
        if (rule.cidr() == null)
        {
            throw ResourceException.missing(f + ".cidr");
        }
        try
        {
            return new SecurityRule(direction, protocol, from, to, rule.cidr());
        }
        catch (final IllegalArgumentException ex)
        {
            throw ResourceException.invalid(f + (ex.getMessage().contains("cidr") ? ".cidr" : ".protocol"), ex.getMessage());
        }
    }

    private static int protocol(final String text, final String f)
    {
        if (text == null)
        {
            return SecurityRule.ANY_PROTOCOL;
        }
        switch (text.toLowerCase(Locale.ROOT))
        {
            case "any":
                return SecurityRule.ANY_PROTOCOL;
            case "tcp":
                return 6;
            case "udp":
                return 17;
            case "icmp":
                return 1;
            case "icmpv6":
                return 58;
            default:
                try
                {
                    final int number = Integer.parseInt(text);
                    if (number >= 0 && number <= 255)
                    {
                        return number;
                    }
                }
                catch (final NumberFormatException ex)
                {
                    // fall through to the error below
                }
                throw ResourceException.invalid(f, "protocol must be any, tcp, udp, icmp, icmpv6 or 0..255: " + text);
        }
    }

    private VnicResource vnic(final VnicResource vnic, final String p)
    {
        name(vnic.id(), p + "id");
        name(vnic.network(), p + "network");
        final String ip = vnic.ip() == null ? null : address(vnic.ip(), p + "ip").requireV(false, p + "ip").text;
        final String ipv6 = vnic.ipv6() == null ? null : address(vnic.ipv6(), p + "ipv6").requireV(true, p + "ipv6").text;
        if (vnic.device() != null)
        {
            name(vnic.device(), p + "device");
        }
        final long mac = vnic.mac() == null ?
            MacAddresses.stableLocallyAdministered(vnic.device() == null ? deviceName : vnic.device(), vnic.id()) :
            mac(vnic.mac(), p + "mac", true);
        final List<String> groups = vnic.securityGroups() == null ? List.of() : vnic.securityGroups();
        final Set<String> seen = new HashSet<>();
        for (int i = 0; i < groups.size(); i++)
        {
            name(groups.get(i), p + "securityGroups[" + i + "]");
            if (!seen.add(groups.get(i)))
            {
                throw ResourceException.invalid(p + "securityGroups[" + i + "]", "security group " + groups.get(i) + " appears twice");
            }
        }
        if (vnic.backend() == null)
        {
            throw ResourceException.missing(p + "backend");
        }
        if (vnic.backend().type() == null)
        {
            throw ResourceException.missing(p + "backend.type");
        }
        if (!BACKEND_TYPES.contains(vnic.backend().type()))
        {
            throw ResourceException.invalid(p + "backend.type", "backend.type must be one of memory, tap, qemu-stream, " +
                "qemu-dgram: " + vnic.backend().type());
        }
        return new VnicResource(vnic.id(), vnic.network(), ip, ipv6, EthernetFlyweight.formatMac(mac), groups, vnic.backend(),
            vnic.antiSpoof() == null || vnic.antiSpoof(), vnic.device(), null, null);
    }

    private EnclaveResource enclave(final EnclaveResource enclave, final String p)
    {
        name(enclave.name(), p + "name");
        if (enclave.vni() == null)
        {
            throw ResourceException.missing(p + "vni");
        }
        if (enclave.vni() < 1 || enclave.vni() > ForwardingState.MAX_VNI)
        {
            throw ResourceException.invalid(p + "vni", "vni must be in 1.." + ForwardingState.MAX_VNI + ": " + enclave.vni());
        }
        final Parsed cidr = prefix(enclave.cidr(), p + "cidr");
        if (cidr.v6)
        {
            throw ResourceException.invalid(p + "cidr", "cidr must be an IPv4 prefix (enclaves are IPv4): " + enclave.cidr());
        }
        final Parsed gateway = address(enclave.gateway(), p + "gateway").requireV(false, p + "gateway");
        if (!cidr.contains(gateway))
        {
            throw ResourceException.unprocessable("outside_subnet", p + "gateway", "gateway " + enclave.gateway() + " is outside " +
                enclave.cidr());
        }
        final EnclaveResource.Substrate substrate = enclave.substrate();
        if (substrate == null)
        {
            throw ResourceException.missing(p + "substrate");
        }
        if (substrate.port() == null)
        {
            throw ResourceException.missing(p + "substrate.port");
        }
        if (substrate.port() < 1 || substrate.port() > 65535)
        {
            throw ResourceException.invalid(p + "substrate.port", "substrate.port must be in 1..65535: " + substrate.port());
        }
        if (substrate.privateKeyFile() == null || substrate.privateKeyFile().isBlank())
        {
            throw ResourceException.missing(p + "substrate.privateKeyFile");
        }
        final String bindAddress = substrate.bindAddress() == null ? null : address(substrate.bindAddress(),
            p + "substrate.bindAddress").text;
        final String innerAddress = innerAddress(substrate.innerAddress(), p + "substrate.innerAddress");
        if (enclave.services() == null || enclave.services().isEmpty())
        {
            throw ResourceException.missing(p + "services");
        }
        final Set<String> names = new HashSet<>();
        final Set<String> ips = new HashSet<>();
        final Set<Long> macs = new HashSet<>();
        ips.add(gateway.key());
        final List<EnclaveResource.Service> services = new ArrayList<>();
        for (int i = 0; i < enclave.services().size(); i++)
        {
            final String f = p + "services[" + i + "]";
            final EnclaveResource.Service service = enclave.services().get(i);
            if (service == null)
            {
                throw ResourceException.invalid(f, f + " must be an object");
            }
            name(service.name(), f + ".name");
            if (!names.add(service.name()))
            {
                throw ResourceException.conflict("duplicate_name", f + ".name", "service " + service.name() + " appears twice");
            }
            if (service.device() != null)
            {
                name(service.device(), f + ".device");
            }
            final Parsed ip = address(service.ip(), f + ".ip").requireV(false, f + ".ip");
            if (!cidr.contains(ip))
            {
                throw ResourceException.unprocessable("outside_subnet", f + ".ip", "service " + service.ip() + " is outside " +
                    enclave.cidr());
            }
            if (!ips.add(ip.key()))
            {
                throw ResourceException.conflict("duplicate_ip", f + ".ip", service.ip() + " is used twice (or is the gateway)");
            }
            final long mac = service.mac() == null ? derivedMac(enclave.name() + "/" + service.name()) : mac(service.mac(), f + ".mac", true);
            if (!macs.add(mac))
            {
                throw ResourceException.conflict("duplicate_mac", f + ".mac", "mac " + EthernetFlyweight.formatMac(mac) + " is used twice");
            }
            if (service.backend() == null || service.backend().type() == null)
            {
                throw ResourceException.missing(f + ".backend.type");
            }
            if (!BACKEND_TYPES.contains(service.backend().type()))
            {
                throw ResourceException.invalid(f + ".backend.type", "backend.type must be one of memory, tap, qemu-stream, " +
                    "qemu-dgram: " + service.backend().type());
            }
            services.add(new EnclaveResource.Service(service.name(), service.device(), EthernetFlyweight.formatMac(mac), ip.text,
                service.backend()));
        }
        final List<EnclaveResource.Peer> peers = new ArrayList<>();
        final List<EnclaveResource.Peer> given = enclave.peers() == null ? List.of() : enclave.peers();
        final Set<Integer> peerDevices = new HashSet<>();
        for (int i = 0; i < given.size(); i++)
        {
            final String f = p + "peers[" + i + "]";
            final EnclaveResource.Peer peer = given.get(i);
            if (peer == null)
            {
                throw ResourceException.invalid(f, f + " must be an object");
            }
            name(peer.name(), f + ".name");
            final int device = device(peer.device(), f + ".device");
            if (device == deviceId)
            {
                throw ResourceException.unprocessable("invalid_config", f + ".device", "device " + device + " is this device's own id");
            }
            if (!peerDevices.add(device))
            {
                throw ResourceException.conflict("duplicate_device", f + ".device", "device " + device + " appears twice");
            }
            publicKey(peer.publicKey(), f + ".publicKey");
            peers.add(new EnclaveResource.Peer(peer.name(), device, endpoint(peer.endpoint(), f + ".endpoint"), peer.publicKey(),
                innerAddress(peer.innerAddress(), f + ".innerAddress")));
        }
        List<EnclaveResource.Flow> allow = null;
        if (enclave.allow() != null)
        {
            allow = new ArrayList<>();
            for (int i = 0; i < enclave.allow().size(); i++)
            {
                final String f = p + "allow[" + i + "]";
                final EnclaveResource.Flow flow = enclave.allow().get(i);
                if (flow == null)
                {
                    throw ResourceException.invalid(f, f + " must be an object");
                }
                for (final String[] end : new String[][] {{"from", flow.from()}, {"to", flow.to()}})
                {
                    if (end[1] == null)
                    {
                        throw ResourceException.missing(f + "." + end[0]);
                    }
                    if (!names.contains(end[1]))
                    {
                        throw ResourceException.unprocessable("unknown_reference", f + "." + end[0], end[0] + " names no service of " +
                            "enclave " + enclave.name() + ": " + end[1]);
                    }
                }
                final String protocol = flow.protocol() == null ? "any" : flow.protocol();
                final boolean ports = protocol.equals("tcp") || protocol.equals("udp");
                if (!ports && !protocol.equals("icmp") && !protocol.equals("any"))
                {
                    throw ResourceException.invalid(f + ".protocol", "protocol must be tcp, udp, icmp or any: " + protocol);
                }
                if (ports && flow.port() == null)
                {
                    throw ResourceException.missing(f + ".port");
                }
                if (!ports && flow.port() != null)
                {
                    throw ResourceException.invalid(f + ".port", "port is for tcp and udp only");
                }
                if (ports && (flow.port() < 0 || flow.port() > 65535))
                {
                    throw ResourceException.invalid(f + ".port", "port must be in 0..65535: " + flow.port());
                }
                allow.add(new EnclaveResource.Flow(flow.from(), flow.to(), protocol, flow.port()));
            }
        }
        return new EnclaveResource(enclave.name(), enclave.vni(), cidr.text, gateway.text,
            new EnclaveResource.Substrate(bindAddress, substrate.port(), substrate.privateKeyFile(), innerAddress), services, peers,
            allow, null);
    }

    private static long derivedMac(final String seed)
    {
        final long hash = seed.hashCode() & 0xFFFF_FFFFL;
        return 0x02_5E_00_00_00_00L | hash;           // locally administered, unicast
    }

    private static void publicKey(final String text, final String f)
    {
        if (text == null)
        {
            throw ResourceException.missing(f);
        }
        final byte[] key;
        try
        {
            key = Base64.getDecoder().decode(text);
        }
        catch (final IllegalArgumentException ex)
        {
            throw ResourceException.invalid(f, "publicKey must be base64: " + ex.getMessage());
        }
        if (key.length != 32)
        {
            throw ResourceException.invalid(f, "publicKey must be 32 bytes (base64, 44 characters), got " + key.length + " bytes");
        }
    }

    private static String innerAddress(final String text, final String f)
    {
        if (text == null)
        {
            throw ResourceException.missing(f);
        }
        final java.net.InetAddress inner;
        try
        {
            inner = java.net.InetAddress.ofLiteral(text);
        }
        catch (final IllegalArgumentException ex)
        {
            throw ResourceException.invalid(f, f + " must be an IPv4 or IPv6 literal: " + text);
        }
        if (inner.isAnyLocalAddress() || inner.isMulticastAddress())
        {
            throw ResourceException.invalid(f, f + " must be a unicast address: " + text);
        }
        return inner.getHostAddress();
    }

    private PeerResource peer(final PeerResource peer, final String p)
    {
        name(peer.name(), p + "name");
        final int device = device(peer.device(), p + "device");
        if (device == deviceId)
        {
            throw ResourceException.unprocessable("invalid_config", p + "device", "device " + device + " is this device's own id");
        }
        final String endpoint = endpoint(peer.endpoint(), p + "endpoint");
        if (peer.publicKey() != null)
        {
            final byte[] key;
            try
            {
                key = Base64.getDecoder().decode(peer.publicKey());
            }
            catch (final IllegalArgumentException ex)
            {
                throw ResourceException.invalid(p + "publicKey", "publicKey must be base64: " + ex.getMessage());
            }
            if (key.length != 32)
            {
                throw ResourceException.invalid(p + "publicKey", "publicKey must be 32 bytes (base64, 44 characters), got " +
                    key.length + " bytes");
            }
        }
        final String encryption = peer.encryption() == null ? "wireguard" : peer.encryption();
        if (!encryption.equals("none") && !encryption.equals("wireguard"))
        {
            throw ResourceException.invalid(p + "encryption", "encryption must be wireguard or none: " + encryption);
        }
        String innerAddress = null;
        if (encryption.equals("wireguard"))
        {
            if (peer.publicKey() == null)
            {
                throw ResourceException.missing(p + "publicKey");
            }
            if (peer.innerAddress() == null)
            {
                throw ResourceException.missing(p + "innerAddress");
            }
            final java.net.InetAddress inner;
            try
            {
                inner = java.net.InetAddress.ofLiteral(peer.innerAddress());
            }
            catch (final IllegalArgumentException ex)
            {
                throw ResourceException.invalid(p + "innerAddress", "innerAddress must be an IPv4 or IPv6 literal: " +
                    peer.innerAddress());
            }
            if (inner.isAnyLocalAddress() || inner.isMulticastAddress())
            {
                throw ResourceException.invalid(p + "innerAddress", "innerAddress must be a unicast address: " + peer.innerAddress());
            }
            innerAddress = inner.getHostAddress();
        }
        else if (peer.innerAddress() != null)
        {
            throw ResourceException.invalid(p + "innerAddress", "innerAddress is for encryption wireguard");
        }
        final String encapsulation = peer.encapsulation() == null ? "geneve" : peer.encapsulation();
        if (!encapsulation.equals("geneve") && !encapsulation.equals("vxlan"))
        {
            throw ResourceException.invalid(p + "encapsulation", "encapsulation must be geneve or vxlan: " + encapsulation);
        }
        final TreeSet<Integer> vnis = new TreeSet<>();
        final List<Integer> allowed = peer.allowedVnis() == null ? List.of() : peer.allowedVnis();
        for (int i = 0; i < allowed.size(); i++)
        {
            final Integer vni = allowed.get(i);
            if (vni == null || vni < 0 || vni > ForwardingState.MAX_VNI)
            {
                throw ResourceException.invalid(p + "allowedVnis[" + i + "]", "allowed VNIs must be in 0.." + ForwardingState.MAX_VNI);
            }
            vnis.add(vni);
        }
        final boolean remoteChecksum = Boolean.TRUE.equals(peer.remoteChecksum());
        if (remoteChecksum && !encapsulation.equals("geneve"))
        {
            throw ResourceException.invalid(p + "remoteChecksum", "remoteChecksum needs encapsulation geneve (it is a Geneve option)");
        }
        return new PeerResource(peer.name(), device, endpoint, peer.publicKey(), innerAddress, encryption, encapsulation,
            List.copyOf(vnis), remoteChecksum, null);
    }

    private static String endpoint(final String text, final String f)
    {
        if (text == null)
        {
            throw ResourceException.missing(f);
        }
        final int colon = text.lastIndexOf(':');
        if (colon <= 0)
        {
            throw ResourceException.invalid(f, f + " must be address:port (\"192.0.2.7:6081\" or \"[2001:db8::7]:6081\"): " + text);
        }
        final String host = text.substring(0, colon);
        final int port;
        try
        {
            port = Integer.parseInt(text.substring(colon + 1));
        }
        catch (final NumberFormatException ex)
        {
            throw ResourceException.invalid(f, f + " has a bad port: " + text);
        }
        if (port < 1 || port > 65535)
        {
            throw ResourceException.invalid(f, f + " port must be in 1..65535: " + text);
        }
        if (host.startsWith("[") && host.endsWith("]"))
        {
            address(host.substring(1, host.length() - 1), f).requireV(true, f);
        }
        else
        {
            address(host, f).requireV(false, f);
        }
        return text;
    }

    // ---------------------------------------------------------------------------------------------
    // the whole state: references, duplicates (409), membership (422)

    /**
     * Checks a whole desired state. Resources in {@code blame} (the ones being changed) are checked
     * after the others, so that a duplicate is reported against them and the error names the field
     * of the request.
     *
     * @param state  the state to check.
     * @param blame  keys ("kind/key") of changed resources, checked last.
     * @param fields maps a "kind/key" to the field prefix to report (e.g. "" for a single resource,
     *               "vnics[vm1]." for a manifest).
     */
    public void checkState(final DesiredState state, final List<String> blame, final Map<String, String> fields)
    {
        final Map<Integer, String> vnis = new HashMap<>();
        final List<NetworkResource> networks = ordered(state.networks().values(), Kind.NETWORK, blame);
        for (final NetworkResource network : networks)
        {
            final String other = vnis.putIfAbsent(network.vni(), network.name());
            if (other != null)
            {
                throw ResourceException.conflict("duplicate_vni", field(fields, Kind.NETWORK, network.name(), "vni"),
                    "vni " + network.vni() + " is already used by network " + other);
            }
        }
        final Map<Integer, String> enclavePorts = new HashMap<>();
        final List<Parsed> spaces = new ArrayList<>();
        final List<String> spaceOwners = new ArrayList<>();
        for (final NetworkResource network : networks)
        {
            for (final Subnet subnet : network.subnets())
            {
                spaces.add(prefix(subnet.cidr(), "cidr"));
                spaceOwners.add("network " + network.name());
            }
        }
        for (final EnclaveResource enclave : ordered(state.enclaves().values(), Kind.ENCLAVE, blame))
        {
            final String other = vnis.putIfAbsent(enclave.vni(), "enclave " + enclave.name());
            if (other != null)
            {
                throw ResourceException.conflict("duplicate_vni", field(fields, Kind.ENCLAVE, enclave.name(), "vni"),
                    "vni " + enclave.vni() + " is already used by " + (other.startsWith("enclave ") ? other : "network " + other));
            }
            final Parsed cidr = prefix(enclave.cidr(), "cidr");
            for (int i = 0; i < spaces.size(); i++)
            {
                if (spaces.get(i).overlaps(cidr))
                {
                    throw ResourceException.conflict("overlapping_address_space", field(fields, Kind.ENCLAVE, enclave.name(), "cidr"),
                        "enclave " + enclave.name() + " cidr " + enclave.cidr() + " overlaps " + spaceOwners.get(i) + " (" +
                            spaces.get(i).text + "): isolation domains do not share addresses");
                }
            }
            spaces.add(cidr);
            spaceOwners.add("enclave " + enclave.name());
            final String portOwner = enclavePorts.putIfAbsent(enclave.substrate().port(), enclave.name());
            if (portOwner != null)
            {
                throw ResourceException.conflict("duplicate_port", field(fields, Kind.ENCLAVE, enclave.name(), "substrate.port"),
                    "substrate port " + enclave.substrate().port() + " is already enclave " + portOwner + "'s: enclaves share no sockets");
            }
        }
        final Map<Integer, String> devices = new HashMap<>();
        final Map<String, String> endpoints = new HashMap<>();
        for (final PeerResource peer : ordered(state.peers().values(), Kind.PEER, blame))
        {
            String other = devices.putIfAbsent(peer.device(), peer.name());
            if (other != null)
            {
                throw ResourceException.conflict("duplicate_device", field(fields, Kind.PEER, peer.name(), "device"),
                    "device " + peer.device() + " is already peer " + other);
            }
            other = endpoints.putIfAbsent(peer.endpoint(), peer.name());
            if (other != null)
            {
                throw ResourceException.conflict("duplicate_endpoint", field(fields, Kind.PEER, peer.name(), "endpoint"),
                    "endpoint " + peer.endpoint() + " is already used by peer " + other);
            }
        }
        final Map<String, String> macs = new HashMap<>();
        final Map<String, String> ips = new HashMap<>();
        for (final NetworkResource network : state.networks().values())
        {
            for (final Subnet subnet : network.subnets())
            {
                ips.put(network.name() + "/" + address(subnet.gateway(), "gateway").key(), "the gateway of network " + network.name());
            }
            for (final Remote remote : network.remotes())
            {
                ips.put(network.name() + "/" + address(remote.ip(), "ip").key(), "a remote of network " + network.name());
                macs.putIfAbsent(network.name() + "/" + remote.mac(), "a remote of network " + network.name());
            }
        }
        for (final VnicResource vnic : ordered(state.vnics().values(), Kind.VNIC, blame))
        {
            final NetworkResource network = state.networks().get(vnic.network());
            if (network == null)
            {
                throw ResourceException.unprocessable("unknown_reference", field(fields, Kind.VNIC, vnic.id(), "network"),
                    "network " + vnic.network() + " does not exist");
            }
            for (int i = 0; i < vnic.securityGroups().size(); i++)
            {
                if (!state.securityGroups().containsKey(vnic.securityGroups().get(i)))
                {
                    throw ResourceException.unprocessable("unknown_reference",
                        field(fields, Kind.VNIC, vnic.id(), "securityGroups[" + i + "]"),
                        "security group " + vnic.securityGroups().get(i) + " does not exist");
                }
            }
            final String macOwner = macs.putIfAbsent(vnic.network() + "/" + vnic.mac(), "vnic " + vnic.id());
            final String macOwnerAnywhere = macs.putIfAbsent("*/" + vnic.mac(), "vnic " + vnic.id());
            if (macOwner != null || macOwnerAnywhere != null)
            {
                throw ResourceException.conflict("duplicate_mac", field(fields, Kind.VNIC, vnic.id(), "mac"),
                    "mac " + vnic.mac() + " is already used by " + (macOwner != null ? macOwner : macOwnerAnywhere));
            }
            checkAddress(network, vnic, vnic.ip(), "ip", ips, fields);
            checkAddress(network, vnic, vnic.ipv6(), "ipv6", ips, fields);
        }
        for (final NetworkResource network : networks)
        {
            for (int i = 0; i < network.routes().size(); i++)
            {
                // the field is named only on error: building it for each of a million routes took most of the check
                final String[] problem = targetProblem(state, network, network.routes().get(i).target());
                if (problem != null)
                {
                    throw ResourceException.unprocessable("unknown_reference",
                        field(fields, Kind.NETWORK, network.name(), "routes[" + i + "].target") + problem[0], problem[1]);
                }
            }
        }
    }

    /**
     * @return null when every vNIC the target names exists in {@code network}, else the failing field below the
     *     target (".vnic", ".members[1].vnic") and the message.
     */
    private static String[] targetProblem(final DesiredState state, final NetworkResource network, final RouteTarget target)
    {
        if (target.type().equals("port"))
        {
            final VnicResource vnic = state.vnics().get(target.vnic());
            if (vnic == null || !vnic.network().equals(network.name()))
            {
                return new String[] {".vnic", "vnic " + target.vnic() + (vnic == null ? " does not exist" : " is in another network")};
            }
        }
        else if (target.type().equals("ecmp"))
        {
            for (int i = 0; i < target.members().size(); i++)
            {
                final String[] problem = targetProblem(state, network, target.members().get(i));
                if (problem != null)
                {
                    return new String[] {".members[" + i + "]" + problem[0], problem[1]};
                }
            }
        }
        return null;
    }

    private static void checkAddress(final NetworkResource network, final VnicResource vnic, final String text,
        final String name, final Map<String, String> ips, final Map<String, String> fields)
    {
        if (text == null)
        {
            return;
        }
        final Parsed ip = address(text, name);
        boolean inside = false;
        for (final Subnet subnet : network.subnets())
        {
            final Parsed cidr = prefix(subnet.cidr(), "cidr");
            inside |= cidr.v6 == ip.v6 && cidr.contains(ip);
        }
        if (!inside)
        {
            throw ResourceException.unprocessable("outside_subnet", field(fields, Kind.VNIC, vnic.id(), name),
                name + " " + text + " is outside every subnet of network " + network.name());
        }
        final String owner = ips.putIfAbsent(network.name() + "/" + ip.key(), "vnic " + vnic.id());
        if (owner != null)
        {
            throw ResourceException.conflict("duplicate_ip", field(fields, Kind.VNIC, vnic.id(), name),
                name + " " + text + " is already used by " + owner);
        }
    }

    /**
     * Checks that a resource may be deleted from {@code state}: nothing else refers to it.
     *
     * @throws ResourceException 409 {@code in_use}.
     */
    public static void checkDeletable(final DesiredState state, final Kind kind, final String key)
    {
        switch (kind)
        {
            case NETWORK ->
            {
                for (final VnicResource vnic : state.vnics().values())
                {
                    if (vnic.network().equals(key))
                    {
                        throw ResourceException.conflict("in_use", null, "network " + key + " still has vnic " + vnic.id());
                    }
                }
            }
            case SECURITY_GROUP ->
            {
                for (final VnicResource vnic : state.vnics().values())
                {
                    if (vnic.securityGroups().contains(key))
                    {
                        throw ResourceException.conflict("in_use", null, "security group " + key + " is used by vnic " + vnic.id());
                    }
                }
            }
            case VNIC ->
            {
                for (final NetworkResource network : state.networks().values())
                {
                    for (final Route route : network.routes())
                    {
                        if (refers(route.target(), key))
                        {
                            throw ResourceException.conflict("in_use", null, "vnic " + key + " is the target of route " +
                                route.prefix() + " in network " + network.name());
                        }
                    }
                }
            }
            case ENCLAVE ->
            {
                // nothing refers to an enclave: its services and peers are part of it and go with it
            }
            case PEER ->
            {
                // routes and remotes name device ids, not peers: traffic to a device that is no peer is dropped and counted
            }
        }
    }

    private static boolean refers(final RouteTarget target, final String vnic)
    {
        if (target.type().equals("port"))
        {
            return target.vnic().equals(vnic);
        }
        return target.type().equals("ecmp") && target.members().stream().anyMatch(m -> refers(m, vnic));
    }

    private static <T extends Resource<T>> List<T> ordered(final java.util.Collection<T> all, final Kind kind, final List<String> blame)
    {
        final List<T> unchanged = new ArrayList<>();
        final List<T> changed = new ArrayList<>();
        for (final T resource : all)
        {
            (blame.contains(kind.label() + "/" + resource.key()) ? changed : unchanged).add(resource);
        }
        // the changed resources come last, so that a duplicate is reported against them
        unchanged.addAll(changed);
        return unchanged;
    }

    private static String field(final Map<String, String> fields, final Kind kind, final String key, final String name)
    {
        final String prefix = fields.get(kind.label() + "/" + key);
        return prefix == null ? kind.section() + "[" + key + "]." + name : prefix + name;
    }

    /**
     * @return a prefix in canonical form ("10.0.0.0/8").
     * @throws ResourceException 400 naming {@code field}.
     */
    public static String canonicalPrefix(final String text, final String field)
    {
        return prefix(text, field).text;
    }

    /**
     * @return an address in canonical form.
     * @throws ResourceException 400 naming {@code field}.
     */
    public static String canonicalAddress(final String text, final String field)
    {
        return address(text, field).text;
    }

    // ---------------------------------------------------------------------------------------------
    // addresses

    /** A parsed address or prefix: 128 bits (IPv4 in the low 32 of low), length, family, canonical text. */
    private record Parsed(boolean v6, long high, long low, int length, String text)
    {
        String key()
        {
            return (v6 ? "6/" : "4/") + high + "/" + low;
        }

        boolean contains(final Parsed address)
        {
            if (v6)
            {
                return (address.high & Prefixes.ipv6HighMask(length)) == high && (address.low & Prefixes.ipv6LowMask(length)) == low;
            }
            return ((int)address.low & Prefixes.ipv4Mask(length)) == (int)low;
        }

        boolean overlaps(final Parsed other)
        {
            return v6 == other.v6 && (length <= other.length ? contains(other) : other.contains(this));
        }

        Parsed requireV(final boolean wantV6, final String f)
        {
            if (v6 != wantV6)
            {
                throw ResourceException.invalid(f, f + " must be an " + (wantV6 ? "IPv6" : "IPv4") + " address: " + text);
            }
            return this;
        }
    }

    private static Parsed prefix(final String text, final String f)
    {
        if (text == null)
        {
            throw ResourceException.missing(f);
        }
        try
        {
            return parsePrefix(text);
        }
        catch (final IllegalArgumentException ex)
        {
            throw ResourceException.invalid(f, f + ": " + ex.getMessage());
        }
    }

    /**
     * @return the prefix with its canonical text.
     * @throws IllegalArgumentException naming what is wrong with it.
     */
    private static Parsed parsePrefix(final String text)
    {
        if (text.indexOf(':') >= 0)
        {
            final Prefixes.Ipv6Prefix prefix = Prefixes.parseIpv6(text);
            return new Parsed(true, prefix.high(), prefix.low(), prefix.length(), prefix.toString());
        }
        final Prefixes.Ipv4Prefix prefix = Prefixes.parseIpv4(text);
        // the IPv4 parser takes only the canonical form (no leading zeros, no host bits): the text is it
        return new Parsed(false, 0, prefix.address() & 0xFFFF_FFFFL, prefix.length(), text);
    }

    private static Parsed address(final String text, final String f)
    {
        if (text == null)
        {
            throw ResourceException.missing(f);
        }
        try
        {
            if (text.indexOf(':') >= 0)
            {
                final Prefixes.Ipv6Prefix address = Prefixes.parseIpv6Address(text);
                return new Parsed(true, address.high(), address.low(), 128, Prefixes.formatIpv6(address.high(), address.low()));
            }
            final int address = Prefixes.parseIpv4Address(text);
            return new Parsed(false, 0, address & 0xFFFF_FFFFL, 32, Prefixes.formatIpv4(address));
        }
        catch (final IllegalArgumentException ex)
        {
            throw ResourceException.invalid(f, f + ": " + ex.getMessage());
        }
    }
}
