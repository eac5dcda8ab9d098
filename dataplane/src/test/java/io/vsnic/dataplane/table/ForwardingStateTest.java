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
                List.of(port(2, "red", 0x02_00_00_00_00_02L, "10.0.1.6")), List.of(), "belongs to another network"),
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
