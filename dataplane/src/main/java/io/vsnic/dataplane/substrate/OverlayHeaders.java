package io.vsnic.dataplane.substrate;

import java.lang.foreign.MemorySegment;

import io.vsnic.dataplane.buffer.Frame;
import io.vsnic.dataplane.config.Encapsulation;
import io.vsnic.dataplane.protocol.EthernetFlyweight;
import io.vsnic.dataplane.protocol.GeneveFlyweight;
import io.vsnic.dataplane.protocol.VxlanFlyweight;
import io.vsnic.dataplane.status.DropReason;
import io.vsnic.dataplane.table.PeerEntry;

/**
 * Adds and removes the overlay header in place: a frame leaving for a peer gets an 8-byte Geneve
 * (RFC 8926, no options, protocol 0x6558) or VXLAN (RFC 7348, I flag) header in its headroom; a
 * substrate datagram's payload is checked and stripped back to the inner Ethernet frame. The checks
 * on receipt, each a drop reason: truncated header, Geneve version, option area overflow, a critical
 * option (this device understands no Geneve option, so every critical one is unknown: RFC 8926
 * section 3.5 requires the drop), OAM, protocol other than Ethernet, VXLAN without the I flag, and a
 * VNI the peer is not allowed to use. One instance per thread.
 */
public final class OverlayHeaders
{
    /** Bytes the overlay header adds (no Geneve options are sent). */
    public static final int HEADER_LENGTH = 8;

    private final GeneveFlyweight geneve = new GeneveFlyweight();
    private final VxlanFlyweight vxlan = new VxlanFlyweight();
    private int vni;

    /**
     * Prepends the overlay header for {@code vni}.
     *
     * @return false when the frame has no headroom left (the caller drops it).
     */
    public boolean encapsulate(final Frame frame, final Encapsulation encapsulation, final int vni)
    {
        if (!frame.prepend(HEADER_LENGTH))
        {
            return false;
        }
        final MemorySegment segment = frame.segment();
        if (encapsulation == Encapsulation.GENEVE)
        {
            geneve.wrap(segment, frame.start());
            geneve.header(0, 0, EthernetFlyweight.ETHER_TYPE_TEB, vni);
        }
        else
        {
            vxlan.wrap(segment, frame.start());
            vxlan.header(vni);
        }
        return true;
    }

    /**
     * Checks and strips the overlay header of a frame received from {@code peer}; on success the frame
     * holds the inner Ethernet frame and {@link Frame#vni()} is set.
     *
     * @return 0, or the {@link DropReason} ordinal.
     */
    public int decapsulate(final Frame frame, final PeerEntry peer)
    {
        final int header = check(frame.segment(), frame.start(), frame.length(), peer);
        if (header < 0)
        {
            return -header;
        }
        frame.strip(header);
        frame.vni(vni);
        return 0;
    }

    /**
     * Checks the overlay header of a datagram from {@code peer} that sits in {@code segment} at
     * {@code offset} (the same checks as {@link #decapsulate}, nothing written); on success
     * {@link #vni()} is its VNI.
     *
     * @return the header length (the inner Ethernet frame starts after it), or minus the {@link DropReason} ordinal.
     */
    public int check(final MemorySegment segment, final int offset, final int length, final PeerEntry peer)
    {
        if (length < HEADER_LENGTH)
        {
            return -DropReason.TRUNCATED.ordinal();
        }
        final int checked;
        final int headerLength;
        if (peer.encapsulation() == Encapsulation.GENEVE)
        {
            geneve.wrap(segment, offset);
            if (geneve.version() != 0)
            {
                return -DropReason.BAD_GENEVE_VERSION.ordinal();
            }
            headerLength = geneve.headerLength();
            if (headerLength > length || !geneve.areOptionsValid())
            {
                return -DropReason.GENEVE_OPTION_OVERFLOW.ordinal();
            }
            if (geneve.hasCriticalOptions() || geneve.anyCriticalOption())
            {
                return -DropReason.GENEVE_CRITICAL_OPTION.ordinal();
            }
            if (geneve.isOam())
            {
                return -DropReason.GENEVE_OAM.ordinal();
            }
            if (geneve.protocolType() != EthernetFlyweight.ETHER_TYPE_TEB)
            {
                return -DropReason.UNSUPPORTED_GENEVE_PROTOCOL.ordinal();
            }
            checked = geneve.vni();
        }
        else
        {
            vxlan.wrap(segment, offset);
            if (!vxlan.isVniValid())
            {
                return -DropReason.BAD_VXLAN_FLAGS.ordinal();
            }
            headerLength = VxlanFlyweight.HEADER_LENGTH;
            checked = vxlan.vni();
        }
        if (!peer.allowsVni(checked))
        {
            return -DropReason.VNI_NOT_ALLOWED.ordinal();
        }
        vni = checked;
        return headerLength;
    }

    /**
     * @return the VNI of the last header {@link #check} accepted.
     */
    public int vni()
    {
        return vni;
    }
}
