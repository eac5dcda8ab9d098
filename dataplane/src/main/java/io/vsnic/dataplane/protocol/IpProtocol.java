package io.vsnic.dataplane.protocol;

/**
 * IANA protocol numbers (IPv4 protocol / IPv6 next header) the data plane knows.
 */
public final class IpProtocol
{
    public static final int HOP_BY_HOP = 0;
    public static final int ICMP = 1;
    public static final int TCP = 6;
    public static final int UDP = 17;
    public static final int IPV6_ROUTING = 43;
    public static final int IPV6_FRAGMENT = 44;
    public static final int ESP = 50;
    public static final int AH = 51;
    public static final int ICMPV6 = 58;
    public static final int IPV6_NO_NEXT = 59;
    public static final int IPV6_DESTINATION_OPTIONS = 60;
    public static final int MOBILITY = 135;
    public static final int HIP = 139;
    public static final int SHIM6 = 140;

    private IpProtocol()
    {
    }

    /**
     * @return a short name ("tcp", "udp", ...) or the number.
     */
    public static String name(final int protocol)
    {
        return switch (protocol)
        {
            case HOP_BY_HOP -> "hop-by-hop";
            case ICMP -> "icmp";
            case TCP -> "tcp";
            case UDP -> "udp";
            case IPV6_ROUTING -> "ipv6-route";
            case IPV6_FRAGMENT -> "ipv6-frag";
            case ESP -> "esp";
            case AH -> "ah";
            case ICMPV6 -> "icmp6";
            case IPV6_NO_NEXT -> "ipv6-nonxt";
            case IPV6_DESTINATION_OPTIONS -> "ipv6-opts";
            default -> Integer.toString(protocol);
        };
    }
}
