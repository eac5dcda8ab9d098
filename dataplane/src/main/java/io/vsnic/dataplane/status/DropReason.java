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
    /** A later IP fragment whose first fragment was not seen (or was dropped) on this worker. */
    FRAGMENT_NO_FLOW("fragment_no_flow"),
    /** No route for the destination address in the network. */
    NO_ROUTE("no_route"),
    /** The destination is inside a connected subnet but no vNIC or remote holds that address. */
    NO_NEIGHBOR("no_neighbor"),
    /** Unicast destination MAC that no port or remote of the network holds (nothing is flooded). */
    UNKNOWN_MAC("unknown_mac"),
    /** Broadcast or multicast frame that no local responder answers (nothing is flooded). */
    UNHANDLED_BROADCAST("unhandled_broadcast"),
    /** ARP request or IPv6 neighbour solicitation for an address the network does not hold. */
    UNKNOWN_TARGET("unknown_target"),
    /** ARP that is not a request (replies, gratuitous announcements): the control plane is authoritative, nothing is learned. */
    ARP_IGNORED("arp_ignored"),
    /** Traffic addressed to a gateway address that the gateway does not answer (only echo and neighbour discovery are). */
    TO_GATEWAY("to_gateway"),
    /** Overlay frame whose VNI names no network on this device. */
    UNKNOWN_VNI("unknown_vni"),
    /** Route to a blackhole: silently discarded. */
    BLACKHOLE("blackhole"),
    /** Route with a reject target: discarded, and ICMP unreachable sent to the source. */
    REJECT("reject"),
    /** TTL / hop limit reached zero while routing; ICMP time exceeded sent. */
    TTL_EXPIRED("ttl_expired"),
    /** Packet larger than the egress MTU; ICMP fragmentation-needed / packet-too-big sent when DF (always for IPv6). */
    MTU_EXCEEDED("mtu_exceeded"),
    /** Source MAC of a vNIC frame is not the vNIC's MAC. */
    SPOOFED_MAC("spoofed_mac"),
    /** Source IP of a vNIC frame (or ARP sender address) is not the vNIC's address. */
    SPOOFED_IP("spoofed_ip"),
    /** A security group denied a new flow. */
    ACL_DENY("acl_deny"),
    /** TCP segment without SYN for a flow the connection table does not know. */
    CONNTRACK_INVALID("conntrack_invalid"),
    /** New flow allowed by policy, but the connection table is full. */
    CONNTRACK_FULL("conntrack_full"),
    /** A lookup resolved to a port of another network (must never happen: tables are per network). */
    NETWORK_ISOLATION("network_isolation"),
    /** The frame's port is not (or no longer) attached. */
    UNKNOWN_PORT("unknown_port"),
    /** The output port's transmit queue was full. */
    TX_QUEUE_FULL("tx_queue_full"),
    /** An ICMP error or local answer could not be built (no buffer). */
    ICMP_NOT_SENT("icmp_not_sent"),
    /** Substrate datagram from an address that is no configured peer, or overlay frame for a device that is no peer. */
    UNKNOWN_PEER("unknown_peer"),
    /** Overlay frame with a VNI the sending peer is not allowed to use. */
    VNI_NOT_ALLOWED("vni_not_allowed"),
    /** Geneve frame with a critical option this device does not understand (RFC 8926 section 3.5). */
    GENEVE_CRITICAL_OPTION("geneve_critical_option"),
    /** Geneve OAM frame (not handled by the data plane). */
    GENEVE_OAM("geneve_oam"),
    /** Overlay frame whose inner source is not located at the peer that sent it (cross-device anti-spoofing). */
    OVERLAY_SPOOFED_SOURCE("overlay_spoofed_source"),
    /** Substrate receive queue towards the workers was full. */
    SUBSTRATE_RX_QUEUE_FULL("substrate_rx_queue_full"),
    /** Substrate send failed (socket error, or the transport is not running). */
    SUBSTRATE_TX_ERROR("substrate_tx_error"),
    /** DHCP message that needs no answer (RELEASE, DECLINE, a server's own message). */
    DHCP_NO_REPLY("dhcp_no_reply"),
    /** DHCP message that is malformed, not for this port's MAC, or from a port without an IPv4 address. */
    DHCP_MALFORMED("dhcp_malformed"),
    /**
     * Offload super-frame that cannot be cut into segments: an unsupported {@code gso_type} (UFO) or
     * header chain (IPv6 extension headers), lengths that disagree, or more segments than a vector holds.
     */
    SEGMENTATION_FAILED("segmentation_failed"),
    /** WireGuard message too short, too long, of an unknown type, or with a low-order key. */
    WG_MALFORMED("wg_malformed"),
    /** WireGuard handshake whose MAC1 is not for our public key (damaged, or meant for another device). */
    WG_BAD_MAC("wg_bad_mac"),
    /** WireGuard handshake initiation from a public key that is no configured peer. */
    WG_UNKNOWN_KEY("wg_unknown_key"),
    /** WireGuard handshake not processed under load: a cookie reply was sent instead. */
    WG_COOKIE_REQUIRED("wg_cookie_required"),
    /** WireGuard initiation whose timestamp is not newer than the last (a replayed handshake), or a flood. */
    WG_STALE_HANDSHAKE("wg_stale_handshake"),
    /** WireGuard message whose receiver index names no live session (or a response nobody waits for). */
    WG_UNKNOWN_INDEX("wg_unknown_index"),
    /** WireGuard AEAD tag that does not verify (tampered or corrupted). */
    WG_DECRYPT_FAILED("wg_decrypt_failed"),
    /** WireGuard transport counter seen before or older than the replay window. */
    WG_REPLAY("wg_replay"),
    /** WireGuard session too old or out of counters. */
    WG_EXPIRED("wg_expired"),
    /** Cryptokey routing: the inner source address is not the authenticated peer's inner address. */
    WG_INNER_SOURCE("wg_inner_source"),
    /** Decrypted packet that is not an overlay packet to us (not UDP, other port or destination, a fragment). */
    WG_INNER_NOT_OVERLAY("wg_inner_not_overlay"),
    /** Frame for a WireGuard peer without a session when its staging queue was full. */
    WG_STAGED_FULL("wg_staged_full"),
    /** Frame staged for a WireGuard peer whose handshake gave up (or that was removed). */
    WG_HANDSHAKE_GAVE_UP("wg_handshake_gave_up"),
    /**
     * WireGuard handshake message read by a worker while the socket's event loop already had its
     * maximum of handshakes waiting (a flood: the bound keeps memory flat; the peer retries).
     */
    WG_HANDSHAKE_BACKLOG("wg_handshake_backlog"),
    /**
     * A packet that tried to cross between isolation domains (customer networks, each service
     * enclave): a customer packet to or from an enclave service address or with an enclave VNI, an
     * enclave packet to anything outside its enclave, a datagram on an enclave substrate that is not
     * an enclave WireGuard message. See {@code docs/enclaves.md}.
     */
    ENCLAVE_ISOLATION("enclave_isolation");

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
