package io.vsnic.dataplane.table;

import java.util.List;

import io.vsnic.dataplane.config.RouteSpec;

/**
 * Everything the workers look up for one virtual network, immutable: its routes (IPv4 and IPv6
 * longest-prefix match to a next-hop id), the next hops, the MAC table and the neighbour tables
 * (IP to MAC and location). Lookups in one network can only ever return entries of that network:
 * there is no shared table that a key from another network could hit.
 *
 * <p>Locations: a value {@code >= 0} is a local port id; a value {@code <= -2} is a remote device
 * ({@link #remoteLocation(int)}); -1 means none.
 */
public final class NetworkTable
{
    /** Next hop: resolve the destination address in the neighbour table (a connected subnet). */
    public static final int HOP_CONNECTED = 0;
    /** Next hop: a fixed location (local port or remote device). */
    public static final int HOP_LOCATION = 1;
    /** Next hop: an ECMP group of locations. */
    public static final int HOP_ECMP = 2;
    /** Next hop: silently discard. */
    public static final int HOP_BLACKHOLE = 3;
    /** Next hop: discard and send ICMP unreachable. */
    public static final int HOP_REJECT = 4;

    public static final int NO_LOCATION = -1;

    final int index;
    final int counterSlot;
    final String name;
    final int vni;
    final int mtuBytes;
    final long gatewayMac;
    final int[] gateways4;
    final int[] prefixLengths4;
    final int[] dnsServers4;
    final long[] gateways6;
    final int[] prefixLengths6;
    final Ipv4RouteTable routes4;
    /** Whether the IPv4 route table is too large for the caches (above {@link #TOUCHED_ROUTE_BYTES}). */
    private final boolean largeRoutes4;
    /**
     * Route tables above this size get their lookups' first loads issued ahead for a whole vector
     * ({@link #largeRoutes4()}); smaller ones stay in the caches, where that pass would only cost time.
     */
    public static final long TOUCHED_ROUTE_BYTES = 1L << 20;
    final Ipv6RouteTable routes6;
    final int[] hopKinds;
    final int[] hopValues;
    final int[] hopCounts;
    final int[] ecmpLocations;
    final long[] hopMacs;
    final KeyedTable macs;
    final KeyedTable neighbors4;
    final KeyedTable neighbors6;

    /**
     * The routes and subnets this table was compiled from (the same list instances): the next snapshot
     * takes over the route tables and hops when it is built from the same ones ({@code ForwardingState}),
     * instead of compiling a table of a million routes again for every unrelated change.
     */
    final List<RouteSpec> routeSource;
    final List<?> subnetSource;
    /**
     * Whether every route of {@link #routeSource} has a prefix of its own, none a subnet's: then a route
     * removed takes its prefix out of the table and a route added puts a new one in, so that a few routes
     * changed are edited into the tables instead of compiling all of them ({@code ForwardingState}).
     */
    final boolean distinctRoutes;
    /**
     * Hops appended by edits since the tables were last compiled in full: some may serve no route any
     * more (a removed route's), so past a bound the next change compiles in full ({@code ForwardingState}).
     */
    final int editedHops;

    NetworkTable(
        final List<RouteSpec> routeSource, final List<?> subnetSource, final boolean distinctRoutes, final int editedHops,
        final int index, final int counterSlot, final String name, final int vni, final int mtuBytes, final long gatewayMac,
        final int[] gateways4, final int[] prefixLengths4, final int[] dnsServers4, final long[] gateways6,
        final int[] prefixLengths6, final Ipv4RouteTable routes4, final Ipv6RouteTable routes6,
        final int[] hopKinds, final int[] hopValues, final int[] hopCounts, final int[] ecmpLocations, final long[] hopMacs,
        final KeyedTable macs, final KeyedTable neighbors4, final KeyedTable neighbors6)
    {
        this.routeSource = routeSource;
        this.subnetSource = subnetSource;
        this.distinctRoutes = distinctRoutes;
        this.editedHops = editedHops;
        this.index = index;
        this.counterSlot = counterSlot;
        this.name = name;
        this.vni = vni;
        this.mtuBytes = mtuBytes;
        this.gatewayMac = gatewayMac;
        this.gateways4 = gateways4;
        this.prefixLengths4 = prefixLengths4;
        this.dnsServers4 = dnsServers4;
        this.gateways6 = gateways6;
        this.prefixLengths6 = prefixLengths6;
        this.routes4 = routes4;
        this.largeRoutes4 = routes4.memoryBytes() > TOUCHED_ROUTE_BYTES;
        this.routes6 = routes6;
        this.hopKinds = hopKinds;
        this.hopValues = hopValues;
        this.hopCounts = hopCounts;
        this.ecmpLocations = ecmpLocations;
        this.hopMacs = hopMacs;
        this.macs = macs;
        this.neighbors4 = neighbors4;
        this.neighbors6 = neighbors6;
    }

    /**
     * @return the location value of remote device {@code device}.
     */
    public static int remoteLocation(final int device)
    {
        return -2 - device;
    }

    /**
     * @return the device of a remote location ({@code location <= -2}).
     */
    public static int remoteDevice(final int location)
    {
        return -2 - location;
    }

    public int index()
    {
        return index;
    }

    /**
     * @return the network's counter slot: stable for the network's lifetime across snapshots.
     */
    public int counterSlot()
    {
        return counterSlot;
    }

    public String name()
    {
        return name;
    }

    public int vni()
    {
        return vni;
    }

    public int mtuBytes()
    {
        return mtuBytes;
    }

    /**
     * @return the MAC the data plane answers with for the network's gateways (the virtual router).
     */
    public long gatewayMac()
    {
        return gatewayMac;
    }

    /**
     * @return true when {@code address} is one of the network's IPv4 gateway addresses.
     */
    public boolean isGateway4(final int address)
    {
        for (final int gateway : gateways4)
        {
            if (gateway == address)
            {
                return true;
            }
        }
        return false;
    }

    public int gateway4Count()
    {
        return gateways4.length;
    }

    /**
     * @return the IPv4 gateway address of the network's {@code index}-th IPv4 subnet.
     */
    public int gateway4(final int index)
    {
        return gateways4[index];
    }

    /**
     * @return the index of the IPv4 subnet that contains {@code address}, or -1.
     */
    public int subnet4Of(final int address)
    {
        for (int i = 0; i < gateways4.length; i++)
        {
            final int length = prefixLengths4[i];
            final int mask = length == 0 ? 0 : -1 << (32 - length);
            if ((address & mask) == (gateways4[i] & mask))
            {
                return i;
            }
        }
        return -1;
    }

    /**
     * @return the prefix length of the network's {@code index}-th IPv4 subnet.
     */
    public int prefixLength4(final int index)
    {
        return prefixLengths4[index];
    }

    /**
     * @return the IPv4 DNS servers VMs are given by DHCP.
     */
    public int[] dnsServers4()
    {
        return dnsServers4.clone();
    }

    public int dnsServer4Count()
    {
        return dnsServers4.length;
    }

    public int dnsServer4(final int index)
    {
        return dnsServers4[index];
    }

    public int gateway6Count()
    {
        return gateways6.length / 2;
    }

    public long gateway6High(final int index)
    {
        return gateways6[index * 2];
    }

    public long gateway6Low(final int index)
    {
        return gateways6[index * 2 + 1];
    }

    /**
     * @return the high 64 bits of the gateway's IPv6 link-local address (fe80::/64).
     */
    public static long linkLocalHigh()
    {
        return 0xFE80_0000_0000_0000L;
    }

    /**
     * @return the low 64 bits of the gateway's IPv6 link-local address: the modified EUI-64 interface
     *     identifier of the gateway MAC (RFC 4291 appendix A), the source of router advertisements.
     */
    public long gatewayLinkLocalLow()
    {
        final long mac = gatewayMac;
        final long upper = (mac >>> 24) ^ 0x02_0000L;
        return (upper << 40) | 0xFF_FE00_0000L | (mac & 0xFF_FFFFL);
    }

    /**
     * @return the prefix length of the network's {@code index}-th IPv6 subnet.
     */
    public int prefixLength6(final int index)
    {
        return prefixLengths6[index];
    }

    /**
     * @return true when the address is one of the network's IPv6 gateway addresses.
     */
    public boolean isGateway6(final long high, final long low)
    {
        if (high == 0xFE80_0000_0000_0000L && low == gatewayLinkLocalLow())
        {
            return true;
        }
        for (int i = 0; i < gateways6.length; i += 2)
        {
            if (gateways6[i] == high && gateways6[i + 1] == low)
            {
                return true;
            }
        }
        return false;
    }

    /**
     * @return next-hop id for the IPv4 destination, or {@link Ipv4RouteTable#NO_ROUTE}.
     */
    public int route4(final int destination)
    {
        return routes4.lookup(destination);
    }

    /**
     * @return true when the IPv4 route table is larger than {@link #TOUCHED_ROUTE_BYTES}: its lookups miss the
     *         caches, and a vector's first loads are worth issuing ahead ({@link #touchRoute4}).
     */
    public boolean largeRoutes4()
    {
        return largeRoutes4;
    }

    /**
     * @return the first load of {@link #route4}'s lookup ({@link Ipv4RouteTable#touch}), to be issued early.
     */
    public int touchRoute4(final int destination)
    {
        return routes4.touch(destination);
    }

    /**
     * @return next-hop id for the IPv6 destination, or {@link Ipv6RouteTable#NO_ROUTE}.
     */
    public int route6(final long high, final long low)
    {
        return routes6.lookup(high, low);
    }

    public int hopKind(final int hop)
    {
        return hopKinds[hop];
    }

    /**
     * @return the location of a {@link #HOP_LOCATION} hop.
     */
    public int hopLocation(final int hop)
    {
        return hopValues[hop];
    }

    /**
     * @return the destination MAC to write for a {@link #HOP_LOCATION} hop (the port's MAC, or the
     *     gateway MAC for a remote device, which routes again on arrival).
     */
    public long hopMac(final int hop)
    {
        return hopMacs[hop];
    }

    /**
     * @return the location an ECMP hop picks for a flow hash (stable for the same hash).
     */
    public int ecmpLocation(final int hop, final int flowHash)
    {
        return ecmpLocations[hopValues[hop] + Integer.remainderUnsigned(flowHash, hopCounts[hop])];
    }

    /**
     * @return true when an ECMP hop has {@code location} among its members.
     */
    public boolean ecmpContains(final int hop, final int location)
    {
        final int start = hopValues[hop];
        for (int i = 0; i < hopCounts[hop]; i++)
        {
            if (ecmpLocations[start + i] == location)
            {
                return true;
            }
        }
        return false;
    }

    /**
     * @return the MAC table (MAC to location).
     */
    public KeyedTable macs()
    {
        return macs;
    }

    /**
     * @return the IPv4 neighbour table (address to MAC and location).
     */
    public KeyedTable neighbors4()
    {
        return neighbors4;
    }

    /**
     * @return the IPv6 neighbour table (address high/low to MAC and location).
     */
    public KeyedTable neighbors6()
    {
        return neighbors6;
    }

    public Ipv4RouteTable routes4()
    {
        return routes4;
    }

    public Ipv6RouteTable routes6()
    {
        return routes6;
    }
}
