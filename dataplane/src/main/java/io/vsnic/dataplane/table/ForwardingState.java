package io.vsnic.dataplane.table;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import io.vsnic.dataplane.config.Encapsulation;
import io.vsnic.dataplane.config.Encryption;
import io.vsnic.dataplane.config.ListEdit;
import io.vsnic.dataplane.config.NetworkSpec;
import io.vsnic.dataplane.config.PeerSpec;
import io.vsnic.dataplane.config.PortSpec;
import io.vsnic.dataplane.config.RemoteSpec;
import io.vsnic.dataplane.config.RouteSpec;
import io.vsnic.dataplane.config.RouteTarget;
import io.vsnic.dataplane.config.SubnetSpec;
import io.vsnic.dataplane.protocol.EthernetFlyweight;
import io.vsnic.dataplane.protocol.Ipv4Flyweight;
import io.vsnic.dataplane.protocol.Ipv6Flyweight;

/**
 * One immutable version of everything the workers look up: the networks with their tables, and the
 * ports. The control plane builds the next version off the hot path with {@link #build} (which
 * validates the whole configuration and names the offending field on error) and publishes it
 * through one volatile reference; workers read that reference once per vector, so each vector sees
 * one consistent version (read-copy-update). Nothing here is mutated after construction.
 */
public final class ForwardingState
{
    /** Port ids are 0..MAX_PORTS-1 (counter arrays are sized by it). */
    public static final int MAX_PORTS = 4096;
    /** Device ids are 0..MAX_DEVICES-1. */
    public static final int MAX_DEVICES = 4096;
    /** Largest VNI (24 bits). */
    public static final int MAX_VNI = (1 << 24) - 1;
    /** Prefix of the gateway MAC of every network: 02:56:53 ("VS"), followed by the VNI. */
    public static final long GATEWAY_MAC_PREFIX = 0x02_56_53_00_00_00L;

    /** Network counter slots (see {@link io.vsnic.dataplane.status.WorkerCounters#MAX_NETWORKS}). */
    public static final int MAX_NETWORKS = 1024;

    private static final ForwardingState EMPTY = build(null, List.of(), List.of(), List.of());

    private final NetworkTable[] networks;
    private final Map<String, Integer> networkIndex;
    private final KeyedTable vniIndex;
    private final PortEntry[] ports;
    private final PeerEntry[] peers;
    private final Map<InetAddress, PeerEntry> peersByEndpoint;
    private final long version;
    private final int nextSlot;

    private ForwardingState(
        final NetworkTable[] networks, final Map<String, Integer> networkIndex, final KeyedTable vniIndex,
        final PortEntry[] ports, final PeerEntry[] peers, final Map<InetAddress, PeerEntry> peersByEndpoint,
        final long version, final int nextSlot)
    {
        this.peers = peers;
        this.peersByEndpoint = peersByEndpoint;
        this.networks = networks;
        this.networkIndex = networkIndex;
        this.vniIndex = vniIndex;
        this.ports = ports;
        this.version = version;
        this.nextSlot = nextSlot;
    }

    /**
     * @return a state with no networks and no ports.
     */
    public static ForwardingState empty()
    {
        return EMPTY;
    }

    /**
     * @return the number of networks (indices 0..n-1).
     */
    public int networkCount()
    {
        return networks.length;
    }

    /**
     * @return the network at an index.
     */
    public NetworkTable network(final int index)
    {
        return networks[index];
    }

    /**
     * @return the index of a network by name, or -1.
     */
    public int networkIndex(final String name)
    {
        final Integer index = networkIndex.get(name);
        return index == null ? -1 : index;
    }

    /**
     * @return the index of the network with a VNI, or -1.
     */
    public int networkByVni(final int vni)
    {
        final int slot = vniIndex.find(vni, 0);
        return slot < 0 ? -1 : vniIndex.location(slot);
    }

    /**
     * @return the port with an id, or null when no such port is attached.
     */
    public PortEntry port(final int id)
    {
        return id >= 0 && id < ports.length ? ports[id] : null;
    }

    /**
     * @return the peer device with an id, or null.
     */
    public PeerEntry peer(final int device)
    {
        return device >= 0 && device < peers.length ? peers[device] : null;
    }

    /**
     * Finds the peer a substrate datagram came from by its source address only: the source port is
     * flow entropy (Linux VXLAN sends from a hash-chosen port), not an identity.
     *
     * @return the peer whose substrate address is the sender's, or null.
     */
    public PeerEntry peerAt(final InetSocketAddress sender)
    {
        return peersByEndpoint.get(sender.getAddress());
    }

    /**
     * @return a version number that grows with every build (for diagnostics).
     */
    public long version()
    {
        return version;
    }

    private static long versions;

    /**
     * Validates and compiles a configuration into a snapshot, with fresh counter slots.
     *
     * @throws IllegalArgumentException naming the offending network, port, route or field.
     */
    public static ForwardingState build(final List<NetworkSpec> networkSpecs, final List<PortSpec> portSpecs)
    {
        return build(null, networkSpecs, portSpecs);
    }

    /**
     * Validates and compiles a configuration into the snapshot that follows {@code previous}: networks
     * that keep their name keep their counter slot; new networks get slots not used for the longest time.
     *
     * @param previous the snapshot being replaced, or null.
     * @throws IllegalArgumentException naming the offending network, port, route or field.
     */
    public static ForwardingState build(
        final ForwardingState previous, final List<NetworkSpec> networkSpecs, final List<PortSpec> portSpecs)
    {
        return build(previous, networkSpecs, portSpecs, List.of());
    }

    /**
     * Validates and compiles a configuration with peer devices into the snapshot that follows {@code previous}.
     *
     * @throws IllegalArgumentException naming the offending network, port, peer, route or field.
     */
    public static ForwardingState build(
        final ForwardingState previous, final List<NetworkSpec> networkSpecs, final List<PortSpec> portSpecs,
        final List<PeerSpec> peerSpecs)
    {
        final PeerEntry[] peers = new PeerEntry[MAX_DEVICES];
        final Map<InetAddress, PeerEntry> peersByEndpoint = new HashMap<>();
        for (final PeerSpec peer : peerSpecs)
        {
            final String where = "peer " + peer.device() + " (" + peer.name() + ")";
            if (peer.device() < 0 || peer.device() >= MAX_DEVICES)
            {
                throw new IllegalArgumentException(where + ": device must be in 0.." + (MAX_DEVICES - 1));
            }
            if (peers[peer.device()] != null)
            {
                throw new IllegalArgumentException(where + ": duplicate device id");
            }
            if (peer.encapsulation() == null)
            {
                throw new IllegalArgumentException(where + ": encapsulation is required");
            }
            for (final int vni : peer.allowedVnis())
            {
                if (vni < 0 || vni > MAX_VNI)
                {
                    throw new IllegalArgumentException(where + ": allowed vni out of range: " + vni);
                }
            }
            final InetSocketAddress endpoint = parseEndpoint(where + ": endpoint", peer.endpoint());
            byte[] publicKey = null;
            InetAddress innerAddress = null;
            if (peer.encryption() == Encryption.WIREGUARD)
            {
                publicKey = parsePublicKey(where + ": publicKey", peer.publicKey());
                innerAddress = parseInnerAddress(where + ": innerAddress", peer.innerAddress());
                for (final PeerEntry other : peers)
                {
                    if (other != null && other.encryption == Encryption.WIREGUARD)
                    {
                        if (Arrays.equals(other.publicKey, publicKey))
                        {
                            throw new IllegalArgumentException(where + ": publicKey already used by peer " + other.device);
                        }
                        if (other.innerAddress.equals(innerAddress))
                        {
                            throw new IllegalArgumentException(where + ": innerAddress " + peer.innerAddress() +
                                " already used by peer " + other.device);
                        }
                    }
                }
            }
            else if (peer.publicKey() != null || peer.innerAddress() != null)
            {
                throw new IllegalArgumentException(where + ": publicKey and innerAddress need encryption wireguard");
            }
            if (peer.remoteChecksum() && peer.encapsulation() != Encapsulation.GENEVE)
            {
                throw new IllegalArgumentException(where + ": remoteChecksum needs encapsulation geneve (it is a Geneve option)");
            }
            final PeerEntry entry = new PeerEntry(peer.device(), peer.name(), endpoint, peer.encapsulation(),
                peer.allowedVnis().stream().mapToInt(Integer::intValue).toArray(), peer.encryption(), publicKey, innerAddress,
                peer.remoteChecksum());
            // WireGuard peers are told apart by their key; only plaintext peers by their address.
            if (peer.encryption() == Encryption.NONE && peersByEndpoint.put(endpoint.getAddress(), entry) != null)
            {
                throw new IllegalArgumentException(where + ": address of endpoint " + peer.endpoint() +
                    " already used by another peer (peers are told apart by substrate address)");
            }
            peers[peer.device()] = entry;
        }
        if (networkSpecs.size() > MAX_NETWORKS)
        {
            throw new IllegalArgumentException("at most " + MAX_NETWORKS + " networks: " + networkSpecs.size());
        }
        final Map<String, Integer> index = new HashMap<>();
        final Set<Integer> vnis = new HashSet<>();
        for (final NetworkSpec spec : networkSpecs)
        {
            if (spec.name() == null || spec.name().isBlank())
            {
                throw new IllegalArgumentException("network name must not be empty");
            }
            if (index.put(spec.name(), index.size()) != null)
            {
                throw new IllegalArgumentException("network " + spec.name() + ": duplicate name");
            }
            if (spec.vni() < 0 || spec.vni() > MAX_VNI)
            {
                throw new IllegalArgumentException("network " + spec.name() + ": vni must be in 0.." + MAX_VNI + ": " + spec.vni());
            }
            if (!vnis.add(spec.vni()))
            {
                throw new IllegalArgumentException("network " + spec.name() + ": vni " + spec.vni() + " already used");
            }
            if (spec.mtuBytes() < 576 || spec.mtuBytes() > 9000)
            {
                throw new IllegalArgumentException("network " + spec.name() + ": mtu must be in 576..9000: " + spec.mtuBytes());
            }
            if (spec.subnets().isEmpty())
            {
                throw new IllegalArgumentException("network " + spec.name() + ": at least one subnet is required");
            }
        }

        final PortEntry[] ports = new PortEntry[MAX_PORTS];
        final List<List<PortSpec>> portsByNetwork = new ArrayList<>();
        for (int i = 0; i < networkSpecs.size(); i++)
        {
            portsByNetwork.add(new ArrayList<>());
        }
        for (final PortSpec port : portSpecs)
        {
            final String where = "port " + port.id() + " (" + port.name() + ")";
            if (port.id() < 0 || port.id() >= MAX_PORTS)
            {
                throw new IllegalArgumentException(where + ": id must be in 0.." + (MAX_PORTS - 1));
            }
            if (ports[port.id()] != null)
            {
                throw new IllegalArgumentException(where + ": duplicate port id");
            }
            final Integer network = index.get(port.network());
            if (network == null)
            {
                throw new IllegalArgumentException(where + ": unknown network " + port.network());
            }
            if (EthernetFlyweight.isMulticast(port.mac()) || port.mac() == 0 || (port.mac() >>> 48) != 0)
            {
                throw new IllegalArgumentException(where + ": mac must be a unicast address: " + Long.toHexString(port.mac()));
            }
            if (port.policy() == null)
            {
                throw new IllegalArgumentException(where + ": policy is required");
            }
            final NetworkSpec spec = networkSpecs.get(network);
            int ipv4 = 0;
            if (port.ipv4() != null)
            {
                ipv4 = parseAddress4(where + ": ipv4", port.ipv4());
                requireInSubnet(where + ": ipv4 " + port.ipv4(), spec, false, ipv4, 0, 0);
            }
            long high = 0;
            long low = 0;
            if (port.ipv6() != null)
            {
                final long[] address = parseAddress6(where + ": ipv6", port.ipv6());
                high = address[0];
                low = address[1];
                requireInSubnet(where + ": ipv6 " + port.ipv6(), spec, true, 0, high, low);
            }
            ports[port.id()] = new PortEntry(port.id(), port.name(), network, port.mac(), ipv4, port.ipv4() != null,
                high, low, port.ipv6() != null, port.policy(), port.antiSpoof());
            portsByNetwork.get(network).add(port);
        }

        final int[] slots = new int[networkSpecs.size()];
        final boolean[] taken = new boolean[MAX_NETWORKS];
        for (int n = 0; n < networkSpecs.size(); n++)
        {
            slots[n] = -1;
            if (previous != null)
            {
                final int old = previous.networkIndex(networkSpecs.get(n).name());
                if (old >= 0)
                {
                    slots[n] = previous.networks[old].counterSlot;
                    taken[slots[n]] = true;
                }
            }
        }
        int cursor = previous == null ? 0 : previous.nextSlot;
        for (int n = 0; n < networkSpecs.size(); n++)
        {
            if (slots[n] < 0)
            {
                while (taken[cursor])
                {
                    cursor = (cursor + 1) % MAX_NETWORKS;
                }
                slots[n] = cursor;
                taken[cursor] = true;
                cursor = (cursor + 1) % MAX_NETWORKS;
            }
        }

        final NetworkTable[] tables = new NetworkTable[networkSpecs.size()];
        final KeyedTable.Builder vniIndex = new KeyedTable.Builder();
        for (int n = 0; n < networkSpecs.size(); n++)
        {
            final int old = previous == null ? -1 : previous.networkIndex(networkSpecs.get(n).name());
            tables[n] = compileNetwork(n, slots[n], networkSpecs.get(n), portsByNetwork.get(n), ports,
                old < 0 ? null : previous.networks[old]);
            vniIndex.put(networkSpecs.get(n).vni(), 0, n, 0);
        }
        final long version;
        synchronized (ForwardingState.class)
        {
            version = ++versions;
        }
        return new ForwardingState(tables, Map.copyOf(index), vniIndex.build(), ports, peers, Map.copyOf(peersByEndpoint),
            version, cursor);
    }

    /**
     * @param before the network of the same name in the previous snapshot, or null: when this network has the
     *               very same route list and equal subnets and VNI, and its hops still name ports of this
     *               network with the same MACs, its route tables and hops are taken over as they are; when
     *               only a few routes of a large list changed, they are edited ({@link #editRoutes}).
     */
    private static NetworkTable compileNetwork(
        final int n, final int counterSlot, final NetworkSpec spec, final List<PortSpec> networkPorts, final PortEntry[] ports,
        final NetworkTable before)
    {
        final String where = "network " + spec.name();
        final long gatewayMac = GATEWAY_MAC_PREFIX | spec.vni();
        final List<long[]> subnets = new ArrayList<>();
        final List<Integer> gateways4 = new ArrayList<>();
        final List<Integer> prefixLengths4 = new ArrayList<>();
        final List<Long> gateways6 = new ArrayList<>();
        final List<Integer> prefixLengths6 = new ArrayList<>();
        final Ipv4RouteTable.Builder routes4 = Ipv4RouteTable.builder();
        final Ipv6RouteTable.Builder routes6 = Ipv6RouteTable.builder();
        final HopList hops = new HopList();
        final int connected = hops.add(NetworkTable.HOP_CONNECTED, 0, 0, 0);
        for (final SubnetSpec subnet : spec.subnets())
        {
            final long[] cidr = parseCidr(where + ": subnet", subnet.cidr());
            for (final long[] other : subnets)
            {
                if (other[3] == cidr[3] && overlaps(cidr, other))
                {
                    throw new IllegalArgumentException(where + ": subnet " + subnet.cidr() + " overlaps another subnet");
                }
            }
            subnets.add(cidr);
            if (cidr[3] == 1)
            {
                if (spec.mtuBytes() < 1280)
                {
                    throw new IllegalArgumentException(where + ": mtu must be at least 1280 with an IPv6 subnet");
                }
                final long[] gateway = parseAddress6(where + ": subnet " + subnet.cidr() + " gateway", subnet.gateway());
                if (!contains(cidr, gateway[0], gateway[1]))
                {
                    throw new IllegalArgumentException(where + ": gateway " + subnet.gateway() + " is outside " + subnet.cidr());
                }
                gateways6.add(gateway[0]);
                gateways6.add(gateway[1]);
                prefixLengths6.add((int)cidr[2]);
                routes6.add(cidr[0], cidr[1], (int)cidr[2], connected);
            }
            else
            {
                final int gateway = parseAddress4(where + ": subnet " + subnet.cidr() + " gateway", subnet.gateway());
                if (!contains(cidr, gateway & 0xFFFF_FFFFL, 0))
                {
                    throw new IllegalArgumentException(where + ": gateway " + subnet.gateway() + " is outside " + subnet.cidr());
                }
                gateways4.add(gateway);
                prefixLengths4.add((int)cidr[2]);
                routes4.add((int)cidr[0], (int)cidr[2], connected);
            }
        }

        final KeyedTable.Builder macs = new KeyedTable.Builder();
        final KeyedTable.Builder neighbors4 = new KeyedTable.Builder();
        final KeyedTable.Builder neighbors6 = new KeyedTable.Builder();
        final Set<Long> macSet = new HashSet<>();
        final Set<String> addresses = new HashSet<>();
        macSet.add(gatewayMac);
        for (final Integer gateway : gateways4)
        {
            addresses.add("4/" + gateway);
        }
        for (int i = 0; i < gateways6.size(); i += 2)
        {
            addresses.add("6/" + gateways6.get(i) + "/" + gateways6.get(i + 1));
        }
        for (final PortSpec port : networkPorts)
        {
            final PortEntry entry = ports[port.id()];
            final String portWhere = "port " + port.id() + " (" + port.name() + ")";
            if (!macSet.add(port.mac()))
            {
                throw new IllegalArgumentException(portWhere + ": mac " + EthernetFlyweight.formatMac(port.mac()) +
                    " already used in " + where);
            }
            macs.put(port.mac(), 0, port.id(), port.mac());
            if (entry.hasIpv4)
            {
                if (!addresses.add("4/" + entry.ipv4))
                {
                    throw new IllegalArgumentException(portWhere + ": ipv4 " + port.ipv4() + " already used in " + where);
                }
                neighbors4.put(entry.ipv4 & 0xFFFF_FFFFL, 0, port.id(), port.mac());
            }
            if (entry.hasIpv6)
            {
                if (!addresses.add("6/" + entry.ipv6High + "/" + entry.ipv6Low))
                {
                    throw new IllegalArgumentException(portWhere + ": ipv6 " + port.ipv6() + " already used in " + where);
                }
                neighbors6.put(entry.ipv6High, entry.ipv6Low, port.id(), port.mac());
            }
        }
        for (final RemoteSpec remote : spec.remotes())
        {
            final String remoteWhere = where + ": remote " + remote.ip();
            if (remote.device() < 0)
            {
                throw new IllegalArgumentException(remoteWhere + ": device must be >= 0");
            }
            if (EthernetFlyweight.isMulticast(remote.mac()) || remote.mac() == 0 || (remote.mac() >>> 48) != 0)
            {
                throw new IllegalArgumentException(remoteWhere + ": mac must be a unicast address");
            }
            final int location = NetworkTable.remoteLocation(remote.device());
            final boolean v6 = remote.ip().indexOf(':') >= 0;
            if (v6)
            {
                final long[] address = parseAddress6(remoteWhere, remote.ip());
                requireInSubnet(remoteWhere, spec, true, 0, address[0], address[1]);
                if (!addresses.add("6/" + address[0] + "/" + address[1]))
                {
                    throw new IllegalArgumentException(remoteWhere + ": address already used");
                }
                neighbors6.put(address[0], address[1], location, remote.mac());
            }
            else
            {
                final int address = parseAddress4(remoteWhere, remote.ip());
                requireInSubnet(remoteWhere, spec, false, address, 0, 0);
                if (!addresses.add("4/" + address))
                {
                    throw new IllegalArgumentException(remoteWhere + ": address already used");
                }
                neighbors4.put(address & 0xFFFF_FFFFL, 0, location, remote.mac());
            }
            if (macSet.add(remote.mac()))
            {
                macs.put(remote.mac(), 0, location, remote.mac());
            }
        }

        final boolean sameNetwork = before != null && before.vni == spec.vni() && before.subnetSource.equals(spec.subnets()) &&
            hopsStillValid(before, ports, n);
        RouteTables routing = sameNetwork && before.routeSource == spec.routes() ? RouteTables.of(before) :
            sameNetwork ? editRoutes(where, spec, before, ports, n, gatewayMac) : null;
        if (routing == null)
        {
            final RouteWhere routeWhere = new RouteWhere(where);
            final Map<RouteTarget, Integer> hopOf = new IdentityHashMap<>();
            for (final RouteSpec route : spec.routes())
            {
                routeWhere.prefix = route.prefix();
                final long[] cidr = parseCidr(routeWhere, route.prefix());
                put(routes4, routes6, cidr, hopOf(routeWhere, route.target(), hopOf, hops, ports, n, gatewayMac));
            }
            // subnets never overlap, so the prefixes are distinct when the builders hold one per subnet and route
            final boolean distinct = routes4.size() + routes6.size() == spec.subnets().size() + spec.routes().size();
            routing = new RouteTables(routes4.build(), routes6.build(), hops, distinct, 0);
        }

        final int[] g4 = gateways4.stream().mapToInt(Integer::intValue).toArray();
        final int[] dns = new int[spec.dnsServers().size()];
        for (int i = 0; i < dns.length; i++)
        {
            dns[i] = parseAddress4(where + ": dnsServers[" + i + "]", spec.dnsServers().get(i));
        }
        final long[] g6 = gateways6.stream().mapToLong(Long::longValue).toArray();
        return new NetworkTable(spec.routes(), spec.subnets(), routing.distinct(), routing.editedHops(), n, counterSlot,
            spec.name(), spec.vni(),
            spec.mtuBytes(), gatewayMac, g4, prefixLengths4.stream().mapToInt(Integer::intValue).toArray(), dns, g6,
            prefixLengths6.stream().mapToInt(Integer::intValue).toArray(), routing.routes4(), routing.routes6(),
            routing.kinds(), routing.values(), routing.counts(), routing.ecmp(), routing.macs(), macs.build(),
            neighbors4.build(), neighbors6.build());
    }

    /** Fewest routes for which a few changed routes are edited into the tables ({@link #editRoutes}); below, compiling is cheap. */
    public static final int EDIT_MIN_ROUTES = 1024;
    /**
     * Hops that edits may append ({@link NetworkTable#editedHops}, some left unused by removed routes) before
     * the next change compiles the tables afresh, which drops the unused ones.
     */
    static final int EDIT_MAX_HOPS = 256;

    /**
     * A network's compiled routes: the two tables and the hops their values index.
     *
     * @param distinct   whether every route had a prefix of its own ({@link NetworkTable#distinctRoutes}).
     * @param editedHops hops appended by edits since the last full compile ({@link NetworkTable#editedHops}).
     */
    private record RouteTables(
        Ipv4RouteTable routes4, Ipv6RouteTable routes6, int[] kinds, int[] values, int[] counts, int[] ecmp, long[] macs,
        boolean distinct, int editedHops)
    {
        RouteTables(final Ipv4RouteTable routes4, final Ipv6RouteTable routes6, final HopList hops, final boolean distinct,
            final int editedHops)
        {
            this(routes4, routes6, hops.kinds(), hops.values(), hops.counts(), hops.ecmp(), hops.macs(), distinct, editedHops);
        }

        static RouteTables of(final NetworkTable table)
        {
            return new RouteTables(table.routes4, table.routes6, table.hopKinds, table.hopValues, table.hopCounts,
                table.ecmpLocations, table.hopMacs, table.distinctRoutes, table.editedHops);
        }
    }

    /**
     * The previous version's route tables edited by the routes that changed, when only a few did (one
     * contiguous run of the list replaced, at most an eighth of it: a route added or removed through the API)
     * and the previous prefixes were distinct. Removed routes take their prefixes out, added ones put theirs
     * in with their hops (new hops appended, the others keep their ids). The result is the table a full compile
     * of the new list gives; an edit where that is not plain (an added prefix already present, as a duplicate
     * route or a subnet, where list order would decide) is left to the full compile. A route added to a million
     * costs one merge of the prefix arrays and one table build, not a million parses and hop look-ups.
     *
     * @return the edited tables, or null to compile the list in full.
     * @throws IllegalArgumentException naming an added route whose prefix or target is invalid.
     */
    private static RouteTables editRoutes(final String where, final NetworkSpec spec, final NetworkTable before,
        final PortEntry[] ports, final int n, final long gatewayMac)
    {
        final List<RouteSpec> routes = spec.routes();
        if (!before.distinctRoutes || routes.size() < EDIT_MIN_ROUTES || before.editedHops >= EDIT_MAX_HOPS)
        {
            return null;
        }
        final ListEdit edit = ListEdit.between(before.routeSource, routes, routes.size() / 8);
        if (edit == null)
        {
            return null;
        }
        final HopList hops = HopList.of(before);
        final Ipv4RouteTable.Builder routes4 = before.routes4.toBuilder();
        final Ipv6RouteTable.Builder routes6 = before.routes6.toBuilder();
        final RouteWhere routeWhere = new RouteWhere(where);
        for (final RouteSpec route : before.routeSource.subList(edit.head(), edit.head() + edit.removed()))
        {
            routeWhere.prefix = route.prefix();
            final long[] cidr = parseCidr(routeWhere, route.prefix());
            if (!holds(routes4, routes6, cidr))
            {
                return null;
            }
            if (cidr[3] == 1)
            {
                routes6.remove(cidr[0], cidr[1], (int)cidr[2]);
            }
            else
            {
                routes4.remove((int)cidr[0], (int)cidr[2]);
            }
        }
        final Map<RouteTarget, Integer> hopOf = new IdentityHashMap<>();
        for (final RouteSpec route : routes.subList(edit.head(), edit.head() + edit.added()))
        {
            routeWhere.prefix = route.prefix();
            final long[] cidr = parseCidr(routeWhere, route.prefix());
            final int hop = hopOf(routeWhere, route.target(), hopOf, hops, ports, n, gatewayMac);
            if (holds(routes4, routes6, cidr))
            {
                return null;
            }
            put(routes4, routes6, cidr, hop);
        }
        return new RouteTables(routes4.build(), routes6.build(), hops, true,
            before.editedHops + hops.size() - before.hopKinds.length);
    }

    /** Whether the builder of the prefix's family holds it ({@link #parseCidr} form). */
    private static boolean holds(final Ipv4RouteTable.Builder routes4, final Ipv6RouteTable.Builder routes6, final long[] cidr)
    {
        return cidr[3] == 1 ? routes6.contains(cidr[0], cidr[1], (int)cidr[2]) : routes4.contains((int)cidr[0], (int)cidr[2]);
    }

    /** Adds the prefix ({@link #parseCidr} form) to the builder of its family. */
    private static void put(final Ipv4RouteTable.Builder routes4, final Ipv6RouteTable.Builder routes6, final long[] cidr,
        final int hop)
    {
        if (cidr[3] == 1)
        {
            routes6.add(cidr[0], cidr[1], (int)cidr[2], hop);
        }
        else
        {
            routes4.add((int)cidr[0], (int)cidr[2], hop);
        }
    }

    /**
     * Whether the hops of a previous network table still hold in this snapshot: every local port they name
     * exists, belongs to network {@code n} and (for a direct hop) has the MAC the hop carries.
     */
    private static boolean hopsStillValid(final NetworkTable before, final PortEntry[] ports, final int n)
    {
        for (int hop = 0; hop < before.hopKinds.length; hop++)
        {
            if (before.hopKinds[hop] == NetworkTable.HOP_LOCATION)
            {
                final int location = before.hopValues[hop];
                if (location >= 0 && !portIn(ports, location, n, before.hopMacs[hop], true))
                {
                    return false;
                }
            }
            else if (before.hopKinds[hop] == NetworkTable.HOP_ECMP)
            {
                for (int m = 0; m < before.hopCounts[hop]; m++)
                {
                    final int location = before.ecmpLocations[before.hopValues[hop] + m];
                    if (location >= 0 && !portIn(ports, location, n, 0, false))
                    {
                        return false;
                    }
                }
            }
        }
        return true;
    }

    private static boolean portIn(final PortEntry[] ports, final int id, final int n, final long mac, final boolean checkMac)
    {
        final PortEntry port = id < ports.length ? ports[id] : null;
        return port != null && port.network == n && (!checkMac || port.mac == mac);
    }

    /**
     * Where a route is, for its error messages: made into text only when one is thrown (a million routes
     * each concatenated their own before).
     */
    private static final class RouteWhere
    {
        private final String network;
        private String prefix;

        RouteWhere(final String network)
        {
            this.network = network;
        }

        @Override
        public String toString()
        {
            return network + ": route " + prefix;
        }
    }

    /**
     * The hop of a route target, compiled once per target instance of one network (routes share their
     * targets: a million routes name a handful).
     */
    private static int hopOf(final Object where, final RouteTarget target, final Map<RouteTarget, Integer> hopOf,
        final HopList hops, final PortEntry[] ports, final int network, final long gatewayMac)
    {
        final Integer known = hopOf.get(target);
        if (known != null)
        {
            return known;
        }
        final int hop = compileTarget(where, target, hops, ports, network, gatewayMac);
        hopOf.put(target, hop);
        return hop;
    }

    private static int compileTarget(
        final Object where, final RouteTarget target, final HopList hops, final PortEntry[] ports, final int network,
        final long gatewayMac)
    {
        return switch (target)
        {
            case RouteTarget.LocalPort local ->
            {
                final PortEntry port = requirePort(where, local.port(), ports, network);
                yield hops.add(NetworkTable.HOP_LOCATION, local.port(), 0, port.mac);
            }
            case RouteTarget.RemoteDevice remote -> hops.add(NetworkTable.HOP_LOCATION,
                NetworkTable.remoteLocation(remote.device()), 0, gatewayMac);
            case RouteTarget.Ecmp ecmp ->
            {
                final int[] locations = new int[ecmp.members().size()];
                for (int i = 0; i < locations.length; i++)
                {
                    final RouteTarget member = ecmp.members().get(i);
                    if (member instanceof RouteTarget.LocalPort local)
                    {
                        requirePort(where, local.port(), ports, network);
                        locations[i] = local.port();
                    }
                    else
                    {
                        locations[i] = NetworkTable.remoteLocation(((RouteTarget.RemoteDevice)member).device());
                    }
                }
                yield hops.addEcmp(locations);
            }
            case RouteTarget.Blackhole blackhole -> hops.add(NetworkTable.HOP_BLACKHOLE, 0, 0, 0);
            case RouteTarget.Reject reject -> hops.add(NetworkTable.HOP_REJECT, 0, 0, 0);
        };
    }

    private static PortEntry requirePort(final Object where, final int id, final PortEntry[] ports, final int network)
    {
        final PortEntry port = id >= 0 && id < ports.length ? ports[id] : null;
        if (port == null)
        {
            throw new IllegalArgumentException(where + ": unknown port " + id);
        }
        if (port.network != network)
        {
            throw new IllegalArgumentException(where + ": port " + id + " belongs to another network");
        }
        return port;
    }

    private static void requireInSubnet(
        final String where, final NetworkSpec spec, final boolean v6, final int ipv4, final long high, final long low)
    {
        for (final SubnetSpec subnet : spec.subnets())
        {
            final long[] cidr = parseCidr("network " + spec.name() + ": subnet", subnet.cidr());
            if (v6 == (cidr[3] == 1) && contains(cidr, v6 ? high : ipv4 & 0xFFFF_FFFFL, v6 ? low : 0))
            {
                return;
            }
        }
        throw new IllegalArgumentException(where + " is outside every subnet of network " + spec.name());
    }

    /** Parsed CIDR: {high, low, length, isV6}; IPv4 in high as an unsigned 32-bit value. */
    static long[] parseCidr(final Object where, final String text)
    {
        if (text == null)
        {
            throw new IllegalArgumentException(where + ": missing prefix");
        }
        try
        {
            if (text.indexOf(':') >= 0)
            {
                final Prefixes.Ipv6Prefix prefix = Prefixes.parseIpv6(text);
                return new long[] {prefix.high(), prefix.low(), prefix.length(), 1};
            }
            final Prefixes.Ipv4Prefix prefix = Prefixes.parseIpv4(text);
            return new long[] {prefix.address() & 0xFFFF_FFFFL, 0, prefix.length(), 0};
        }
        catch (final IllegalArgumentException ex)
        {
            throw new IllegalArgumentException(where + ": " + ex.getMessage(), ex);
        }
    }

    private static boolean contains(final long[] cidr, final long high, final long low)
    {
        final int length = (int)cidr[2];
        if (cidr[3] == 0)
        {
            return (high & Prefixes.ipv4Mask(length) & 0xFFFF_FFFFL) == cidr[0];
        }
        return (high & Prefixes.ipv6HighMask(length)) == cidr[0] && (low & Prefixes.ipv6LowMask(length)) == cidr[1];
    }

    private static boolean overlaps(final long[] a, final long[] b)
    {
        return a[2] <= b[2] ? contains(a, b[0], b[1]) : contains(b, a[0], a[1]);
    }

    /**
     * Parses "a.b.c.d:port" or "[v6]:port" (literal addresses only: no name resolution on the control path).
     */
    private static byte[] parsePublicKey(final String where, final String text)
    {
        if (text == null || text.isBlank())
        {
            throw new IllegalArgumentException(where + ": missing (base64, as wg pubkey prints it)");
        }
        final byte[] key;
        try
        {
            key = Base64.getDecoder().decode(text.strip());
        }
        catch (final IllegalArgumentException ex)
        {
            throw new IllegalArgumentException(where + ": not base64: " + text, ex);
        }
        if (key.length != 32)
        {
            throw new IllegalArgumentException(where + ": must be 32 bytes, is " + key.length);
        }
        return key;
    }

    private static InetAddress parseInnerAddress(final String where, final String text)
    {
        if (text == null || text.isBlank())
        {
            throw new IllegalArgumentException(where + ": missing (a literal IPv4 or IPv6 address)");
        }
        final InetAddress address;
        try
        {
            address = InetAddress.ofLiteral(text.strip());
        }
        catch (final IllegalArgumentException ex)
        {
            throw new IllegalArgumentException(where + ": not an IP address literal: " + text, ex);
        }
        if (address.isAnyLocalAddress() || address.isMulticastAddress())
        {
            throw new IllegalArgumentException(where + ": must be a unicast address: " + text);
        }
        return address;
    }

    static InetSocketAddress parseEndpoint(final String where, final String text)
    {
        if (text == null)
        {
            throw new IllegalArgumentException(where + ": missing");
        }
        final int colon = text.lastIndexOf(':');
        if (colon <= 0)
        {
            throw new IllegalArgumentException(where + ": expected address:port: " + text);
        }
        String host = text.substring(0, colon);
        final int port;
        try
        {
            port = Integer.parseInt(text.substring(colon + 1));
        }
        catch (final NumberFormatException ex)
        {
            throw new IllegalArgumentException(where + ": bad port in " + text, ex);
        }
        if (port < 1 || port > 65535)
        {
            throw new IllegalArgumentException(where + ": port must be in 1..65535: " + text);
        }
        final byte[] address;
        if (host.startsWith("[") && host.endsWith("]"))
        {
            host = host.substring(1, host.length() - 1);
            address = Ipv6Flyweight.parse(host);
        }
        else
        {
            final int v4 = parseAddress4(where, host);
            address = new byte[] {(byte)(v4 >>> 24), (byte)(v4 >>> 16), (byte)(v4 >>> 8), (byte)v4};
        }
        try
        {
            return new InetSocketAddress(InetAddress.getByAddress(address), port);
        }
        catch (final UnknownHostException ex)
        {
            throw new IllegalArgumentException(where + ": " + ex.getMessage(), ex);
        }
    }

    static int parseAddress4(final String where, final String text)
    {
        try
        {
            return Ipv4Flyweight.parse(text);
        }
        catch (final IllegalArgumentException ex)
        {
            throw new IllegalArgumentException(where + ": " + ex.getMessage(), ex);
        }
    }

    static long[] parseAddress6(final String where, final String text)
    {
        final byte[] bytes;
        try
        {
            bytes = Ipv6Flyweight.parse(text);
        }
        catch (final IllegalArgumentException ex)
        {
            throw new IllegalArgumentException(where + ": " + ex.getMessage(), ex);
        }
        long high = 0;
        long low = 0;
        for (int i = 0; i < 8; i++)
        {
            high = (high << 8) | (bytes[i] & 0xFF);
            low = (low << 8) | (bytes[i + 8] & 0xFF);
        }
        return new long[] {high, low};
    }

    /**
     * Next hops collected while compiling one network, each distinct one once: routes with the same target share a hop. A table of
     * a million routes has a handful of targets, so its hop arrays stay in L1 (one per route, they
     * missed every cache after the route lookup's own miss), and equal neighbouring prefixes give the
     * route table longer runs to compress.
     */
    private static final class HopList
    {
        private record Hop(int kind, int value, int count, long mac)
        {
        }

        private final List<int[]> hops = new ArrayList<>();
        private final List<Long> macs = new ArrayList<>();
        private final List<Integer> ecmp = new ArrayList<>();
        private final Map<Hop, Integer> known = new HashMap<>();
        private final Map<List<Integer>, Integer> knownEcmp = new HashMap<>();

        /**
         * @return a list holding a compiled network's hops under their ids, to which new ones are appended.
         */
        static HopList of(final NetworkTable table)
        {
            final HopList list = new HopList();
            for (final int location : table.ecmpLocations)
            {
                list.ecmp.add(location);
            }
            for (int id = 0; id < table.hopKinds.length; id++)
            {
                final int kind = table.hopKinds[id];
                final int value = table.hopValues[id];
                final int count = table.hopCounts[id];
                list.known.putIfAbsent(new Hop(kind, value, count, table.hopMacs[id]), id);
                list.hops.add(new int[] {kind, value, count});
                list.macs.add(table.hopMacs[id]);
                if (kind == NetworkTable.HOP_ECMP)
                {
                    list.knownEcmp.putIfAbsent(List.copyOf(list.ecmp.subList(value, value + count)), id);
                }
            }
            return list;
        }

        int add(final int kind, final int value, final int count, final long mac)
        {
            return known.computeIfAbsent(new Hop(kind, value, count, mac), hop ->
            {
                hops.add(new int[] {kind, value, count});
                macs.add(mac);
                return hops.size() - 1;
            });
        }

        int addEcmp(final int[] locations)
        {
            final List<Integer> members = Arrays.stream(locations).boxed().toList();
            final Integer existing = knownEcmp.get(members);
            if (existing != null)
            {
                return existing;
            }
            final int start = ecmp.size();
            ecmp.addAll(members);
            final int hop = add(NetworkTable.HOP_ECMP, start, locations.length, 0);
            knownEcmp.put(members, hop);
            return hop;
        }

        int size()
        {
            return hops.size();
        }

        int[] kinds()
        {
            return hops.stream().mapToInt(h -> h[0]).toArray();
        }

        int[] values()
        {
            return hops.stream().mapToInt(h -> h[1]).toArray();
        }

        int[] counts()
        {
            return hops.stream().mapToInt(h -> h[2]).toArray();
        }

        int[] ecmp()
        {
            return ecmp.stream().mapToInt(Integer::intValue).toArray();
        }

        long[] macs()
        {
            return macs.stream().mapToLong(Long::longValue).toArray();
        }
    }
}
