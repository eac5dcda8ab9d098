package io.vsnic.dataplane.config;

import java.util.List;

/**
 * Where a route sends matching packets.
 */
public sealed interface RouteTarget
{
    /** A local port (a vNIC on this device, e.g. a virtual appliance). */
    record LocalPort(int port) implements RouteTarget
    {
        public LocalPort
        {
            if (port < 0)
            {
                throw new IllegalArgumentException("port must be >= 0: " + port);
            }
        }
    }

    /** Another device, reached over the overlay. */
    record RemoteDevice(int device) implements RouteTarget
    {
        public RemoteDevice
        {
            if (device < 0)
            {
                throw new IllegalArgumentException("device must be >= 0: " + device);
            }
        }
    }

    /** Equal-cost group: one member chosen per flow by a hash of its 5-tuple (stable per flow). */
    record Ecmp(List<RouteTarget> members) implements RouteTarget
    {
        public Ecmp
        {
            if (members.isEmpty() || members.size() > 64)
            {
                throw new IllegalArgumentException("an ECMP group has 1..64 members: " + members.size());
            }
            for (final RouteTarget member : members)
            {
                if (!(member instanceof LocalPort) && !(member instanceof RemoteDevice))
                {
                    throw new IllegalArgumentException("ECMP members must be local ports or remote devices: " + member);
                }
            }
            members = List.copyOf(members);
        }
    }

    /** Silently discard. */
    record Blackhole() implements RouteTarget
    {
    }

    /** Discard and answer with ICMP destination unreachable (administratively prohibited). */
    record Reject() implements RouteTarget
    {
    }
}
