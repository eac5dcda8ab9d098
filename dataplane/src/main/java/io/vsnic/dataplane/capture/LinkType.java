package io.vsnic.dataplane.capture;

/**
 * Link-layer header types of capture files (tcpdump.org {@code LINKTYPE_*} values, the same numbers
 * in pcap file headers and pcapng Interface Description Blocks).
 */
public final class LinkType
{
    /** BSD loopback: 4-byte address family in host byte order, then the packet. */
    public static final int LINKTYPE_NULL = 0;
    /** IEEE 802.3 Ethernet (the frame without preamble and FCS). */
    public static final int LINKTYPE_ETHERNET = 1;
    /** Raw IP: the packet starts with an IPv4 or IPv6 header. */
    public static final int LINKTYPE_RAW = 101;
    /** Linux "cooked" capture, version 1 ({@code tcpdump -i any}). */
    public static final int LINKTYPE_LINUX_SLL = 113;
    /** Raw IPv4 only. */
    public static final int LINKTYPE_IPV4 = 228;
    /** Raw IPv6 only. */
    public static final int LINKTYPE_IPV6 = 229;
    /** Linux "cooked" capture, version 2. */
    public static final int LINKTYPE_LINUX_SLL2 = 276;

    private LinkType()
    {
    }
}
