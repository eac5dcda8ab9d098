package io.vsnic.dataplane.protocol;

import io.vsnic.dataplane.status.DropReason;

/**
 * What {@link FrameClassifier} found in one frame: the offsets of every header (absolute offsets in
 * the frame's segment, -1 when absent), the values the pipeline keys on, and either
 * {@link DropReason#NONE} or the reason to drop. One instance per worker is reused for every frame;
 * nothing here allocates.
 *
 * <p>An overlay frame (VXLAN or Geneve) has its inner frame described by {@link #inner()}, classified
 * with the same rules; only one level of encapsulation is decoded (an overlay inside the inner frame
 * is plain UDP to the data plane).
 */
public final class FrameLayout
{
    /** Network layer kinds. */
    public static final int L3_NONE = 0;
    public static final int L3_IPV4 = 4;
    public static final int L3_IPV6 = 6;
    public static final int L3_ARP = 1;

    /** Overlay kinds. */
    public static final int OVERLAY_NONE = 0;
    public static final int OVERLAY_VXLAN = 1;
    public static final int OVERLAY_GENEVE = 2;

    /** The L4 checksum was verified and is correct. */
    public static final int FLAG_L4_CHECKSUM_VERIFIED = 1;
    /**
     * The L4 checksum field holds only the pseudo-header sum (CHECKSUM_PARTIAL, as a TAP or a NIC
     * with checksum offload hands it over): the sender left the rest to whoever transmits it.
     */
    public static final int FLAG_L4_CHECKSUM_PARTIAL = 1 << 1;
    /** UDP checksum field is zero (none computed; allowed over IPv4 and for tunnels over IPv6). */
    public static final int FLAG_UDP_NO_CHECKSUM = 1 << 2;
    /** The IP packet is a fragment (first or later). */
    public static final int FLAG_FRAGMENT = 1 << 3;
    /** A later fragment: no L4 header is present. */
    public static final int FLAG_LATER_FRAGMENT = 1 << 4;
    /**
     * The IP packet is larger than the configured MTU: a segmentation-offload super-packet
     * (TSO/GSO/GRO) that someone downstream will cut into MTU-sized packets.
     */
    public static final int FLAG_SUPER_PACKET = 1 << 5;
    /** The Geneve header carries at least one option with the critical bit. */
    public static final int FLAG_GENEVE_CRITICAL_OPTION = 1 << 6;
    /** Geneve OAM frame (O flag). */
    public static final int FLAG_GENEVE_OAM = 1 << 7;
    /** IPv4 header with options. */
    public static final int FLAG_IP_OPTIONS = 1 << 8;

    final FrameLayout inner;

    int dropReason;
    boolean dropInInner;
    int frameOffset;
    int frameLength;
    int flags;

    int l2Offset;
    long sourceMac;
    long destinationMac;
    int vlanCount;
    int outerVlanId;
    int innerVlanId;
    int etherType;

    int l3Type;
    int l3Offset;
    int l3HeaderLength;
    int l3Length;
    int l4Protocol;
    int l4Offset;
    int l4Length;
    int l4HeaderLength;
    int sourcePort;
    int destinationPort;

    int overlayType;
    int overlayOffset;
    int overlayHeaderLength;
    int vni;
    int geneveProtocol;

    /**
     * A layout for outer frames, able to describe one inner (overlay) frame.
     */
    public FrameLayout()
    {
        this(true);
    }

    private FrameLayout(final boolean withInner)
    {
        this.inner = withInner ? new FrameLayout(false) : null;
    }

    void reset(final int frameOffset, final int frameLength)
    {
        this.dropReason = 0;
        this.dropInInner = false;
        this.frameOffset = frameOffset;
        this.frameLength = frameLength;
        this.flags = 0;
        this.l2Offset = -1;
        this.sourceMac = 0;
        this.destinationMac = 0;
        this.vlanCount = 0;
        this.outerVlanId = -1;
        this.innerVlanId = -1;
        this.etherType = -1;
        this.l3Type = L3_NONE;
        this.l3Offset = -1;
        this.l3HeaderLength = 0;
        this.l3Length = 0;
        this.l4Protocol = -1;
        this.l4Offset = -1;
        this.l4Length = 0;
        this.l4HeaderLength = 0;
        this.sourcePort = -1;
        this.destinationPort = -1;
        this.overlayType = OVERLAY_NONE;
        this.overlayOffset = -1;
        this.overlayHeaderLength = 0;
        this.vni = -1;
        this.geneveProtocol = -1;
    }

    /**
     * @return the layout of the encapsulated frame; meaningful when {@link #overlayType()} is not
     *     {@link #OVERLAY_NONE}. Null on an inner layout.
     */
    public FrameLayout inner()
    {
        return inner;
    }

    /**
     * @return {@link DropReason} ordinal; 0 ({@link DropReason#NONE}) when the frame is valid.
     */
    public int dropReasonOrdinal()
    {
        return dropReason;
    }

    /**
     * @return the reason to drop, or {@link DropReason#NONE}.
     */
    public DropReason dropReason()
    {
        return DropReason.of(dropReason);
    }

    /**
     * @return true when the frame is valid.
     */
    public boolean isValid()
    {
        return dropReason == 0;
    }

    /**
     * @return true when the drop reason was found in the encapsulated (inner) frame.
     */
    public boolean isDropInInner()
    {
        return dropInInner;
    }

    public int frameOffset()
    {
        return frameOffset;
    }

    public int frameLength()
    {
        return frameLength;
    }

    /**
     * @return {@code FLAG_*} bits.
     */
    public int flags()
    {
        return flags;
    }

    public boolean hasFlag(final int flag)
    {
        return (flags & flag) != 0;
    }

    /**
     * @return offset of the Ethernet header, or -1 (a Geneve inner IP packet has none).
     */
    public int l2Offset()
    {
        return l2Offset;
    }

    public long sourceMac()
    {
        return sourceMac;
    }

    public long destinationMac()
    {
        return destinationMac;
    }

    public int vlanCount()
    {
        return vlanCount;
    }

    public int outerVlanId()
    {
        return outerVlanId;
    }

    public int innerVlanId()
    {
        return innerVlanId;
    }

    /**
     * @return EtherType after any VLAN tags (for a Geneve inner IP packet, derived from its protocol type).
     */
    public int etherType()
    {
        return etherType;
    }

    /**
     * @return {@link #L3_IPV4}, {@link #L3_IPV6}, {@link #L3_ARP} or {@link #L3_NONE}.
     */
    public int l3Type()
    {
        return l3Type;
    }

    public int l3Offset()
    {
        return l3Offset;
    }

    /**
     * @return IPv4 header length including options, or 40 plus the extension headers for IPv6.
     */
    public int l3HeaderLength()
    {
        return l3HeaderLength;
    }

    /**
     * @return length of the IP packet (IPv4 total length; IPv6 40 + payload length); ARP 28.
     */
    public int l3Length()
    {
        return l3Length;
    }

    /**
     * @return upper-layer protocol (after IPv6 extension headers), or -1.
     */
    public int l4Protocol()
    {
        return l4Protocol;
    }

    /**
     * @return offset of the upper-layer header, or -1 (later fragments, no-next-header).
     */
    public int l4Offset()
    {
        return l4Offset;
    }

    /**
     * @return bytes from the upper-layer header to the end of the IP packet.
     */
    public int l4Length()
    {
        return l4Length;
    }

    /**
     * @return TCP header length with options, 8 for UDP and ICMP, else 0.
     */
    public int l4HeaderLength()
    {
        return l4HeaderLength;
    }

    /**
     * @return TCP/UDP source port, ICMP echo identifier, or -1.
     */
    public int sourcePort()
    {
        return sourcePort;
    }

    /**
     * @return TCP/UDP destination port, ICMP type &lt;&lt; 8 | code, or -1.
     */
    public int destinationPort()
    {
        return destinationPort;
    }

    public int overlayType()
    {
        return overlayType;
    }

    /**
     * @return offset of the VXLAN / Geneve header, or -1.
     */
    public int overlayOffset()
    {
        return overlayOffset;
    }

    /**
     * @return VXLAN header length (8) or Geneve header length with options.
     */
    public int overlayHeaderLength()
    {
        return overlayHeaderLength;
    }

    /**
     * @return 24-bit VNI of the overlay, or -1.
     */
    public int vni()
    {
        return vni;
    }

    /**
     * @return Geneve protocol type, or -1.
     */
    public int geneveProtocol()
    {
        return geneveProtocol;
    }

    /**
     * @return offset of the first byte after the IP payload (start of Ethernet padding, if any).
     */
    public int l3End()
    {
        return l3Offset < 0 ? -1 : l3Offset + l3Length;
    }
}
