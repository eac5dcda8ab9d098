package io.vsnic.dataplane.status;

/**
 * Why a frame was not forwarded. Every drop in the data plane names exactly one of these; the
 * ordinal is stable within a release and the {@link #label()} is the Prometheus label value.
 *
 * <p>Append new reasons at the end; never reorder (counter arrays are indexed by ordinal).
 */
public enum DropReason
{
    /** Not a drop: the frame is valid. Kept at ordinal 0 so that 0 means "no error". */
    NONE("none"),
    /** Shorter than the header the next layer needs (Ethernet, VLAN, IP, L4, overlay). */
    TRUNCATED("truncated"),
    /** EtherType (after VLAN tags) that the data plane does not handle. */
    UNSUPPORTED_ETHERTYPE("unsupported_ethertype"),
    /** More than two stacked VLAN tags. */
    TOO_MANY_VLAN_TAGS("too_many_vlan_tags"),
    /** ARP that is not Ethernet/IPv4 (htype 1, ptype 0x0800, hlen 6, plen 4). */
    BAD_ARP("bad_arp"),
    /** IPv4 version field is not 4, or IPv6 version field is not 6. */
    BAD_IP_VERSION("bad_ip_version"),
    /** IPv4 IHL below 5 or beyond the frame. */
    BAD_IHL("bad_ihl"),
    /** IPv4 total length / IPv6 payload length larger than the frame or smaller than the header. */
    BAD_IP_LENGTH("bad_ip_length"),
    /** IPv4 option list that is malformed (option length 0/1 or beyond the header). */
    BAD_IP_OPTIONS("bad_ip_options"),
    /** Checksum that does not verify (IPv4 header, ICMP, UDP, TCP). */
    BAD_CHECKSUM("bad_checksum"),
    /** IPv6 extension header chain that is malformed or longer than the walk limit. */
    BAD_IPV6_EXTENSION("bad_ipv6_extension"),
    /** UDP length field inconsistent with the IP payload. */
    BAD_UDP_LENGTH("bad_udp_length"),
    /** TCP data offset below 5 or beyond the segment. */
    BAD_TCP_OFFSET("bad_tcp_offset"),
    /** Source or destination address that may never appear (multicast/broadcast source, ...). */
    BAD_ADDRESS("bad_address"),
    /** VXLAN header without the I flag (RFC 7348 section 5). */
    BAD_VXLAN_FLAGS("bad_vxlan_flags"),
    /** Geneve version not 0 (RFC 8926 section 3.4). */
    BAD_GENEVE_VERSION("bad_geneve_version"),
    /** Geneve option length beyond the header, or an option TLV beyond the option area. */
    GENEVE_OPTION_OVERFLOW("geneve_option_overflow"),
    /** Geneve protocol type that is neither Ethernet (0x6558) nor IPv4/IPv6. */
    UNSUPPORTED_GENEVE_PROTOCOL("unsupported_geneve_protocol"),
    /** No free frame buffer in the pool. */
    POOL_EXHAUSTED("pool_exhausted"),
    /** Frame longer than a pool slot can hold. */
    OVERSIZE("oversize"),
    /** IPv4 fragment, non-first (handled by the pipeline's fragment policy). */
    FRAGMENT("fragment");

    private static final DropReason[] VALUES = values();

    private final String label;

    DropReason(final String label)
    {
        this.label = label;
    }

    /**
     * @return the label used in metrics and in {@code pcap inspect} output.
     */
    public String label()
    {
        return label;
    }

    /**
     * @param ordinal a value returned by {@link #ordinal()}.
     * @return the reason with that ordinal.
     */
    public static DropReason of(final int ordinal)
    {
        return VALUES[ordinal];
    }

    /**
     * @return how many reasons exist (the size of a counter array indexed by ordinal).
     */
    public static int count()
    {
        return VALUES.length;
    }
}
