package io.vsnic.dataplane.flow;

/**
 * One flow log record, as the collector hands it on (off the data plane's threads).
 *
 * @param event           {@code start} (the flow was created), {@code interim} (a long-lived flow's periodic report),
 *                        {@code end} (the flow expired or closed) or {@code reject} (security groups refused it).
 * @param action          {@code accept} or {@code reject}.
 * @param startMs         when the flow started (epoch ms); for a reject record, the first rejected packet it counts.
 * @param endMs           the last packet counted (epoch ms).
 * @param network         the virtual network id (VNI).
 * @param port            the data plane port of the vNIC: the opener's when it is local, else the responder's; -1 unknown.
 * @param ipVersion       4 or 6.
 * @param protocol        IP protocol number.
 * @param source          the opener's address.
 * @param sourcePort      the opener's port (ICMP echo: the identifier).
 * @param destination     the responder's address.
 * @param destinationPort the responder's port (ICMP echo: the identifier).
 * @param forwardPackets  packets from the opener (start: 1; interim and end: since the flow started).
 * @param forwardBytes    their bytes (frame lengths, Ethernet header included).
 * @param replyPackets    packets towards the opener.
 * @param replyBytes      their bytes.
 */
public record FlowRecord(String event, String action, long startMs, long endMs, int network, int port, int ipVersion,
    int protocol, String source, int sourcePort, String destination, int destinationPort, long forwardPackets,
    long forwardBytes, long replyPackets, long replyBytes)
{
    /**
     * @return packets both ways.
     */
    public long packets()
    {
        return forwardPackets + replyPackets;
    }

    /**
     * @return bytes both ways.
     */
    public long bytes()
    {
        return forwardBytes + replyBytes;
    }

    /**
     * @return the protocol's name (tcp, udp, icmp, icmpv6) or its number.
     */
    public String protocolName()
    {
        return switch (protocol)
        {
            case 6 -> "tcp";
            case 17 -> "udp";
            case 1 -> "icmp";
            case 58 -> "icmpv6";
            default -> Integer.toString(protocol);
        };
    }

    /**
     * @return the event's name for a producer event code.
     */
    static String eventName(final int event)
    {
        return switch (event)
        {
            case FlowProducer.EVENT_START -> "start";
            case FlowProducer.EVENT_INTERIM -> "interim";
            case FlowProducer.EVENT_END -> "end";
            case FlowProducer.EVENT_REJECT -> "reject";
            default -> "unknown(" + event + ")";
        };
    }
}
