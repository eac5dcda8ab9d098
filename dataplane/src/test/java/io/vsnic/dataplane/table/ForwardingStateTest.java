package io.vsnic.dataplane.table;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.stream.Stream;

import io.vsnic.dataplane.config.Encapsulation;
import io.vsnic.dataplane.config.Encryption;
import io.vsnic.dataplane.config.NetworkSpec;
import io.vsnic.dataplane.config.PeerSpec;
import io.vsnic.dataplane.config.PortSpec;
import io.vsnic.dataplane.config.RemoteSpec;
import io.vsnic.dataplane.config.RouteSpec;
import io.vsnic.dataplane.config.RouteTarget;
import io.vsnic.dataplane.config.SubnetSpec;
import io.vsnic.dataplane.protocol.Ipv4Flyweight;
import io.vsnic.dataplane.security.CompiledPolicy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The control plane's validation: a bad configuration never becomes a snapshot, and the error names
 * the offending network, port, route, peer or field.
 */
class ForwardingStateTest
{
    private static final CompiledPolicy OPEN = CompiledPolicy.allowAll();

    private static NetworkSpec blue()
    {
        return new NetworkSpec("blue", 100, 1500, List.of(new SubnetSpec("10.0.1.0/24", "10.0.1.1")));
    }

    private static PortSpec port(final int id, final String network, final long mac, final String ip)
    {
        return new PortSpec(id, "vm" + id, network, mac, ip, null, OPEN, true);
    }

    static Stream<Arguments> invalid()
    {
        final NetworkSpec blue = blue();
        return Stream.of(
            Arguments.of("duplicate VNI", List.of(blue, new NetworkSpec("red", 100, 1500,
                List.of(new SubnetSpec("10.0.2.0/24", "10.0.2.1")))), List.of(), List.of(), "vni 100 already used"),
            Arguments.of("VNI beyond 24 bits", List.of(new NetworkSpec("big", 1 << 24, 1500,
                List.of(new SubnetSpec("10.0.2.0/24", "10.0.2.1")))), List.of(), List.of(), "network big: vni"),
            Arguments.of("overlapping subnets", List.of(new NetworkSpec("o", 5, 1500, List.of(new SubnetSpec("10.0.0.0/16", "10.0.0.1"),
                new SubnetSpec("10.0.3.0/24", "10.0.3.1")))), List.of(), List.of(), "overlaps"),
            Arguments.of("host bits in a subnet", List.of(new NetworkSpec("h", 5, 1500, List.of(new SubnetSpec("10.0.0.1/16", "10.0.0.1")))),
                List.of(), List.of(), "host bits"),
            Arguments.of("gateway outside its subnet", List.of(new NetworkSpec("g", 5, 1500,
                List.of(new SubnetSpec("10.0.0.0/24", "10.0.1.1")))), List.of(), List.of(), "outside"),
            Arguments.of("MTU too small", List.of(new NetworkSpec("m", 5, 500, List.of(new SubnetSpec("10.0.0.0/24", "10.0.0.1")))),
                List.of(), List.of(), "mtu"),
            Arguments.of("port in an unknown network", List.of(blue), List.of(port(1, "green", 0x02_00_00_00_00_01L, "10.0.1.5")),
                List.of(), "unknown network green"),
            Arguments.of("port IP outside every subnet", List.of(blue), List.of(port(1, "blue", 0x02_00_00_00_00_01L, "10.9.9.9")),
                List.of(), "outside every subnet"),
            Arguments.of("port IP is the gateway", List.of(blue), List.of(port(1, "blue", 0x02_00_00_00_00_01L, "10.0.1.1")),
                List.of(), "already used"),
            Arguments.of("duplicate MAC", List.of(blue), List.of(port(1, "blue", 0x02_00_00_00_00_01L, "10.0.1.5"),
                port(2, "blue", 0x02_00_00_00_00_01L, "10.0.1.6")), List.of(), "mac 02:00:00:00:00:01 already used"),
            Arguments.of("duplicate IP", List.of(blue), List.of(port(1, "blue", 0x02_00_00_00_00_01L, "10.0.1.5"),
                port(2, "blue", 0x02_00_00_00_00_02L, "10.0.1.5")), List.of(), "ipv4 10.0.1.5 already used"),
            Arguments.of("multicast MAC", List.of(blue), List.of(port(1, "blue", 0x01_00_5e_00_00_01L, "10.0.1.5")), List.of(),
                "unicast"),
            Arguments.of("duplicate port id", List.of(blue), List.of(port(1, "blue", 0x02_00_00_00_00_01L, "10.0.1.5"),
                port(1, "blue", 0x02_00_00_00_00_02L, "10.0.1.6")), List.of(), "duplicate port id"),
            Arguments.of("route to a port of another network", List.of(
                    new NetworkSpec("blue", 100, 1500, List.of(new SubnetSpec("10.0.1.0/24", "10.0.1.1")),
                        List.of(new RouteSpec("0.0.0.0/0", new RouteTarget.LocalPort(2))), List.of()),
                    new NetworkSpec("red", 200, 1500, List.of(new SubnetSpec("10.0.1.0/24", "10.0.1.1")))),
                List.of(port(2, "red", 0x02_00_00_00_00_02L, "10.0.1.6")), List.of(),
                "network blue: route 0.0.0.0/0: port 2 belongs to another network"),
            Arguments.of("remote outside every subnet", List.of(new NetworkSpec("blue", 100, 1500,
                    List.of(new SubnetSpec("10.0.1.0/24", "10.0.1.1")), List.of(), List.of(new RemoteSpec("10.7.0.1", 0x02_00_00_00_00_09L, 3)))),
                List.of(), List.of(), "remote 10.7.0.1"),
            Arguments.of("two peers on one substrate address", List.of(blue), List.of(),
                List.of(new PeerSpec(1, "a", "192.0.2.1:6081", Encapsulation.GENEVE, List.of()),
                    new PeerSpec(2, "b", "192.0.2.1:4789", Encapsulation.VXLAN, List.of())), "already used by another peer"),
            Arguments.of("peer endpoint without a port", List.of(blue), List.of(),
                List.of(new PeerSpec(1, "a", "192.0.2.1", Encapsulation.GENEVE, List.of())), "endpoint"),
            Arguments.of("wireguard peer without a key", List.of(blue), List.of(),
                List.of(PeerSpec.wireguard(1, "a", "192.0.2.1:51820", Encapsulation.GENEVE, List.of(), null, "10.99.0.2")),
                "publicKey: missing"),
            Arguments.of("wireguard peer key of 31 bytes", List.of(blue), List.of(),
                List.of(PeerSpec.wireguard(1, "a", "192.0.2.1:51820", Encapsulation.GENEVE, List.of(), KEY_31, "10.99.0.2")),
                "must be 32 bytes"),
            Arguments.of("wireguard peer without an inner address", List.of(blue), List.of(),
                List.of(PeerSpec.wireguard(1, "a", "192.0.2.1:51820", Encapsulation.GENEVE, List.of(), KEY_A, null)),
                "innerAddress: missing"),
            Arguments.of("wireguard peer with a host name as inner address", List.of(blue), List.of(),
                List.of(PeerSpec.wireguard(1, "a", "192.0.2.1:51820", Encapsulation.GENEVE, List.of(), KEY_A, "peer.example")),
                "not an IP address literal"),
            Arguments.of("two wireguard peers with one key", List.of(blue), List.of(),
                List.of(PeerSpec.wireguard(1, "a", "192.0.2.1:51820", Encapsulation.GENEVE, List.of(), KEY_A, "10.99.0.2"),
                    PeerSpec.wireguard(2, "b", "192.0.2.2:51820", Encapsulation.GENEVE, List.of(), KEY_A, "10.99.0.3")),
                "publicKey already used"),
            Arguments.of("two wireguard peers with one inner address", List.of(blue), List.of(),
                List.of(PeerSpec.wireguard(1, "a", "192.0.2.1:51820", Encapsulation.GENEVE, List.of(), KEY_A, "10.99.0.2"),
                    PeerSpec.wireguard(2, "b", "192.0.2.2:51820", Encapsulation.GENEVE, List.of(), KEY_B, "10.99.0.2")),
                "innerAddress 10.99.0.2 already used"),
            Arguments.of("plaintext peer with a key", List.of(blue), List.of(),
                List.of(new PeerSpec(1, "a", "192.0.2.1:6081", Encapsulation.GENEVE, List.of(), Encryption.NONE, KEY_A, null)),
                "need encryption wireguard"));
    }

    private static final String KEY_A = java.util.Base64.getEncoder().encodeToString(new byte[32]).replace('A', 'a');
    private static final String KEY_B = java.util.Base64.getEncoder().encodeToString(new byte[32]).replace('A', 'b');
    private static final String KEY_31 = java.util.Base64.getEncoder().encodeToString(new byte[31]);

    @Test
    void shouldTellWireguardPeersApartByKeyNotByEndpointAddress()
    {
        final ForwardingState state = ForwardingState.build(null, List.of(blue()), List.of(),
            List.of(PeerSpec.wireguard(1, "a", "192.0.2.1:51820", Encapsulation.GENEVE, List.of(), KEY_A, "10.99.0.2"),
                PeerSpec.wireguard(2, "b", "192.0.2.1:51821", Encapsulation.VXLAN, List.of(), KEY_B, "fd00::2"),
                new PeerSpec(3, "c", "192.0.2.1:4789", Encapsulation.VXLAN, List.of())));
        assertEquals(Encryption.WIREGUARD, state.peer(1).encryption());
        assertEquals("/fd00:0:0:0:0:0:0:2", state.peer(2).innerAddress().toString());
        assertEquals(3, state.peerAt(new java.net.InetSocketAddress("192.0.2.1", 4789)).device(),
            "only the plaintext peer is found by its substrate address");
        assertEquals(Encryption.NONE, state.peer(3).encryption());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("invalid")
    void shouldRefuseInvalidConfigurationNamingTheField(
        final String name, final List<NetworkSpec> networks, final List<PortSpec> ports, final List<PeerSpec> peers,
        final String expected)
    {
        final IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
            () -> ForwardingState.build(null, networks, ports, peers));
        assertTrue(error.getMessage().contains(expected), name + ": " + error.getMessage());
    }

    /** Routes with the same target share one next hop (a million routes have a handful of targets). */
    @Test
    void shouldShareOneNextHopPerDistinctTarget()
    {
        final List<RouteSpec> routes = List.of(
            new RouteSpec("192.0.2.0/24", new RouteTarget.LocalPort(2)),
            new RouteSpec("198.51.100.0/24", new RouteTarget.LocalPort(2)),
            new RouteSpec("203.0.113.0/24", new RouteTarget.RemoteDevice(7)),
            new RouteSpec("203.0.114.0/24", new RouteTarget.RemoteDevice(7)),
            new RouteSpec("100.64.0.0/16", new RouteTarget.Ecmp(List.of(new RouteTarget.LocalPort(2), new RouteTarget.RemoteDevice(7)))),
            new RouteSpec("100.65.0.0/16", new RouteTarget.Ecmp(List.of(new RouteTarget.LocalPort(2), new RouteTarget.RemoteDevice(7)))),
            new RouteSpec("100.66.0.0/16", new RouteTarget.Ecmp(List.of(new RouteTarget.RemoteDevice(7), new RouteTarget.LocalPort(2)))),
            new RouteSpec("100.67.0.0/16", new RouteTarget.Reject()));
        final ForwardingState state = ForwardingState.build(List.of(new NetworkSpec("blue", 100, 1500,
            List.of(new SubnetSpec("10.0.1.0/24", "10.0.1.1")), routes, List.of())), List.of(port(2, "blue", 0x02_00_00_00_00_02L, "10.0.1.2")));
        final NetworkTable blue = state.network(state.networkIndex("blue"));
        final java.util.function.ToIntFunction<String> hop = address -> blue.route4(Ipv4Flyweight.parse(address));
        assertEquals(hop.applyAsInt("192.0.2.9"), hop.applyAsInt("198.51.100.9"));
        assertEquals(hop.applyAsInt("203.0.113.9"), hop.applyAsInt("203.0.114.9"));
        assertEquals(hop.applyAsInt("100.64.0.9"), hop.applyAsInt("100.65.0.9"));
        assertEquals(5, java.util.Set.of(hop.applyAsInt("192.0.2.9"), hop.applyAsInt("203.0.113.9"), hop.applyAsInt("100.64.0.9"),
            hop.applyAsInt("100.66.0.9"), hop.applyAsInt("100.67.0.9")).size(), "other targets, other hops (member order matters)");
        assertEquals(2, blue.hopLocation(hop.applyAsInt("192.0.2.9")));
        assertEquals(NetworkTable.remoteLocation(7), blue.hopLocation(hop.applyAsInt("203.0.114.9")));
        assertEquals(NetworkTable.HOP_ECMP, blue.hopKind(hop.applyAsInt("100.65.0.9")));
        assertEquals(NetworkTable.HOP_REJECT, blue.hopKind(hop.applyAsInt("100.67.0.9")));
    }

    /**
     * A network built from the very same route list keeps its compiled route tables in the next snapshot
     * (a million routes are not compiled again for an unrelated change), unless a port its routes name
     * changed; an equal list that is another instance is compiled again.
     */
    @Test
    void shouldTakeOverRouteTablesBuiltFromTheSameRoutes()
    {
        final List<RouteSpec> routes = List.of(new RouteSpec("192.0.2.0/24", new RouteTarget.LocalPort(2)),
            new RouteSpec("198.51.100.0/24", new RouteTarget.RemoteDevice(7)));
        final java.util.function.Function<List<RouteSpec>, NetworkSpec> blue = r -> new NetworkSpec("blue", 100, 1500,
            List.of(new SubnetSpec("10.0.1.0/24", "10.0.1.1")), r, List.of());
        final PortSpec two = port(2, "blue", 0x02_00_00_00_00_02L, "10.0.1.2");
        final ForwardingState first = ForwardingState.build(null, List.of(blue.apply(routes)), List.of(two));
        final NetworkTable before = first.network(first.networkIndex("blue"));

        // another port added: the same route list, the same tables
        final ForwardingState second = ForwardingState.build(first, List.of(blue.apply(routes)),
            List.of(two, port(3, "blue", 0x02_00_00_00_00_03L, "10.0.1.3")));
        final NetworkTable after = second.network(second.networkIndex("blue"));
        assertTrue(before.routes4() == after.routes4(), "route table taken over");
        assertEquals(2, after.hopLocation(after.route4(Ipv4Flyweight.parse("192.0.2.1"))));
        assertTrue(after.route4(Ipv4Flyweight.parse("10.0.1.3")) >= 0, "the connected subnet still routes");

        // the port the route names has another MAC now: compiled again, with it
        final ForwardingState third = ForwardingState.build(second, List.of(blue.apply(routes)),
            List.of(port(2, "blue", 0x02_00_00_00_00_22L, "10.0.1.2")));
        final NetworkTable recompiled = third.network(third.networkIndex("blue"));
        assertTrue(recompiled.routes4() != after.routes4());
        assertEquals(0x02_00_00_00_00_22L, recompiled.hopMac(recompiled.route4(Ipv4Flyweight.parse("192.0.2.1"))));

        // the port is gone: the route is refused as before, not taken over
        assertThrows(IllegalArgumentException.class, () -> ForwardingState.build(third, List.of(blue.apply(routes)), List.of()));

        // an equal list, another instance: compiled again (identity is the promise that nothing changed)
        final ForwardingState fourth = ForwardingState.build(third, List.of(blue.apply(new java.util.ArrayList<>(routes))),
            List.of(port(2, "blue", 0x02_00_00_00_00_22L, "10.0.1.2")));
        assertTrue(fourth.network(0).routes4() != recompiled.routes4());
    }

    /**
     * A few routes changed in a large list are edited into the previous tables, and every lookup answers as a
     * full compile of the new list does: a route added, removed, retargeted, one to a new target (a new hop),
     * IPv6 as IPv4. An added prefix that is already there (a subnet's) is left to the full compile.
     */
    @Test
    void shouldEditALargeRouteTableByTheRoutesThatChanged()
    {
        final java.util.Random random = new java.util.Random(11);
        final List<RouteTarget> targets = List.of(new RouteTarget.LocalPort(2), new RouteTarget.RemoteDevice(7),
            new RouteTarget.Ecmp(List.of(new RouteTarget.LocalPort(2), new RouteTarget.RemoteDevice(7))), new RouteTarget.Reject(),
            new RouteTarget.Blackhole());
        final java.util.LinkedHashMap<String, RouteSpec> byPrefix = new java.util.LinkedHashMap<>();
        while (byPrefix.size() < 3000)
        {
            final String prefix = random.nextInt(8) == 0 ?
                "2001:db8:%x::/48".formatted(random.nextInt(1 << 16)) :
                "%d.%d.%d.0/24".formatted(20 + random.nextInt(150), random.nextInt(256), random.nextInt(256));
            byPrefix.put(prefix, new RouteSpec(prefix, targets.get(random.nextInt(targets.size()))));
        }
        final java.util.function.Function<List<RouteSpec>, NetworkSpec> blue = r -> new NetworkSpec("blue", 100, 1500,
            List.of(new SubnetSpec("10.0.1.0/24", "10.0.1.1"), new SubnetSpec("fd00:1::/64", "fd00:1::1")), r, List.of());
        final List<PortSpec> ports = List.of(port(2, "blue", 0x02_00_00_00_00_02L, "10.0.1.2"));
        List<RouteSpec> routes = List.copyOf(byPrefix.values());
        ForwardingState state = ForwardingState.build(null, List.of(blue.apply(routes)), ports);
        assertTrue(state.network(0).distinctRoutes);

        final RouteSpec added = new RouteSpec("198.18.0.0/15", new RouteTarget.RemoteDevice(9));
        final RouteSpec retargeted = new RouteSpec(routes.get(1234).prefix(), new RouteTarget.LocalPort(2).equals(routes.get(1234).target()) ?
            new RouteTarget.Reject() : new RouteTarget.LocalPort(2));
        final List<java.util.function.UnaryOperator<List<RouteSpec>>> edits = List.of(
            r -> append(r, added),                                              // a new target: a new hop
            r -> r.stream().filter(route -> route != r.get(77)).toList(),       // one removed from the middle
            r -> r.stream().map(route -> route == r.get(1233) ? retargeted : route).toList(),
            r -> append(r, new RouteSpec("2001:db8:ffff::/48", new RouteTarget.LocalPort(2))),
            r -> r.stream().filter(route -> route != added).toList(),           // its hop stays behind, unused
            r -> r.subList(0, r.size() - 1));                                   // the IPv6 route removed again
        for (final java.util.function.UnaryOperator<List<RouteSpec>> edit : edits)
        {
            routes = List.copyOf(edit.apply(routes));
            final ForwardingState edited = ForwardingState.build(state, List.of(blue.apply(routes)), ports);
            assertSameRouting(ForwardingState.build(null, List.of(blue.apply(routes)), ports).network(0), edited.network(0), routes,
                random);
            state = edited;
        }
        final NetworkTable afterEdits = state.network(0);
        final NetworkTable compiled = ForwardingState.build(null, List.of(blue.apply(routes)), ports).network(0);
        assertTrue(afterEdits.hopKinds.length > compiled.hopKinds.length, "edited, not compiled: the removed route's hop is still there");

        // a route for the subnet's own prefix: which wins is the list's order, so the full compile decides
        final List<RouteSpec> withSubnet = append(routes, new RouteSpec("10.0.1.0/24", new RouteTarget.Blackhole()));
        final NetworkTable full = ForwardingState.build(state, List.of(blue.apply(withSubnet)), ports).network(0);
        assertTrue(!full.distinctRoutes);
        assertEquals(NetworkTable.HOP_BLACKHOLE, full.hopKind(full.route4(Ipv4Flyweight.parse("10.0.1.2"))));
        assertSameRouting(ForwardingState.build(null, List.of(blue.apply(withSubnet)), ports).network(0), full, withSubnet, random);
    }

    /**
     * Routes added and removed one by one, each to a target never seen before, leave unused hops behind;
     * they stay bounded: past {@link ForwardingState#EDIT_MAX_HOPS} appended hops the next change compiles
     * the tables afresh.
     */
    @Test
    void shouldBoundTheHopsThatEditsLeaveBehind()
    {
        final List<RouteSpec> base = new java.util.ArrayList<>();
        for (int i = 0; i < 1100; i++)
        {
            base.add(new RouteSpec("20." + i / 256 + "." + i % 256 + ".0/24", new RouteTarget.RemoteDevice(7)));
        }
        final List<RouteSpec> routes = List.copyOf(base);
        final java.util.function.Function<List<RouteSpec>, List<NetworkSpec>> blue = r -> List.of(new NetworkSpec("blue", 100, 1500,
            List.of(new SubnetSpec("10.0.1.0/24", "10.0.1.1")), r, List.of()));
        ForwardingState state = ForwardingState.build(null, blue.apply(routes), List.of());
        final int compiledHops = state.network(0).hopKinds.length;
        int most = 0;
        boolean compiledAgain = false;
        for (int k = 0; k < 2 * ForwardingState.EDIT_MAX_HOPS; k++)
        {
            state = ForwardingState.build(state, blue.apply(append(routes, new RouteSpec("198.18.0.0/16",
                new RouteTarget.RemoteDevice(1000 + k)))), List.of());
            final int hops = state.network(0).hopKinds.length;
            most = Math.max(most, hops);
            compiledAgain |= hops == compiledHops + 1 && k > 0;
            assertEquals(NetworkTable.remoteLocation(1000 + k),
                state.network(0).hopLocation(state.network(0).route4(Ipv4Flyweight.parse("198.18.3.4"))));
            state = ForwardingState.build(state, blue.apply(routes), List.of());
            assertTrue(state.network(0).route4(Ipv4Flyweight.parse("198.18.3.4")) < 0);
        }
        assertTrue(most <= compiledHops + ForwardingState.EDIT_MAX_HOPS + 1, "hops stay bounded: at most " + most);
        assertTrue(compiledAgain, "compiled afresh once the bound was reached");
    }

    private static List<RouteSpec> append(final List<RouteSpec> routes, final RouteSpec route)
    {
        final List<RouteSpec> next = new java.util.ArrayList<>(routes);
        next.add(route);
        return next;
    }

    /** Every route's own address, addresses around it and random ones resolve to the same hop in both tables. */
    private static void assertSameRouting(final NetworkTable expected, final NetworkTable actual, final List<RouteSpec> routes,
        final java.util.Random random)
    {
        assertEquals(expected.routes4().size(), actual.routes4().size());
        assertEquals(expected.routes6().size(), actual.routes6().size());
        for (final RouteSpec route : routes)
        {
            final long[] cidr = ForwardingState.parseCidr("test", route.prefix());
            if (cidr[3] == 1)
            {
                assertSameHop(expected, actual, expected.route6(cidr[0], cidr[1]), actual.route6(cidr[0], cidr[1]), route.prefix());
                assertSameHop(expected, actual, expected.route6(cidr[0], cidr[1] + 1), actual.route6(cidr[0], cidr[1] + 1), route.prefix());
            }
            else
            {
                final int address = (int)cidr[0] + random.nextInt(256);
                assertSameHop(expected, actual, expected.route4(address), actual.route4(address), route.prefix());
                assertSameHop(expected, actual, expected.route4(address + 256), actual.route4(address + 256), route.prefix() + " + 256");
            }
        }
        for (int i = 0; i < 100_000; i++)
        {
            final int address = random.nextInt();
            assertSameHop(expected, actual, expected.route4(address), actual.route4(address), Integer.toHexString(address));
        }
    }

    private static void assertSameHop(final NetworkTable expected, final NetworkTable actual, final int expectedHop,
        final int actualHop, final String where)
    {
        assertEquals(expectedHop < 0, actualHop < 0, where);
        if (expectedHop < 0)
        {
            return;
        }
        assertEquals(expected.hopKind(expectedHop), actual.hopKind(actualHop), where);
        assertEquals(expected.hopMac(expectedHop), actual.hopMac(actualHop), where);
        assertEquals(expected.hopCounts[expectedHop], actual.hopCounts[actualHop], where);
        if (expected.hopKind(expectedHop) == NetworkTable.HOP_ECMP)
        {
            for (int m = 0; m < expected.hopCounts[expectedHop]; m++)
            {
                assertEquals(expected.ecmpLocation(expectedHop, m), actual.ecmpLocation(actualHop, m), where);
            }
        }
        else if (expected.hopKind(expectedHop) != NetworkTable.HOP_CONNECTED)
        {
            assertEquals(expected.hopLocation(expectedHop), actual.hopLocation(actualHop), where);
        }
    }

    @Test
    void shouldKeepCounterSlotsOfNetworksAcrossVersions()
    {
        final NetworkSpec red = new NetworkSpec("red", 200, 1500, List.of(new SubnetSpec("10.0.1.0/24", "10.0.1.1")));
        final ForwardingState first = ForwardingState.build(null, List.of(blue(), red), List.of());
        final ForwardingState second = ForwardingState.build(first, List.of(red), List.of());
        final ForwardingState third = ForwardingState.build(second, List.of(
            new NetworkSpec("green", 300, 1500, List.of(new SubnetSpec("10.0.1.0/24", "10.0.1.1"))), red), List.of());
        final int redSlot = first.network(first.networkIndex("red")).counterSlot();
        assertEquals(redSlot, second.network(second.networkIndex("red")).counterSlot());
        assertEquals(redSlot, third.network(third.networkIndex("red")).counterSlot());
        assertNotEquals(first.network(first.networkIndex("blue")).counterSlot(),
            third.network(third.networkIndex("green")).counterSlot(), "a new network does not inherit a removed one's counters");
        assertTrue(third.version() > second.version());
    }
}
