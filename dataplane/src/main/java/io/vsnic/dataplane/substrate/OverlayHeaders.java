package io.vsnic.dataplane.substrate;

import java.lang.foreign.MemorySegment;

import io.vsnic.dataplane.buffer.Frame;
import io.vsnic.dataplane.config.Encapsulation;
import io.vsnic.dataplane.protocol.EthernetFlyweight;
import io.vsnic.dataplane.protocol.GeneveFlyweight;
import io.vsnic.dataplane.protocol.TcpFlyweight;
import io.vsnic.dataplane.protocol.UdpFlyweight;
import io.vsnic.dataplane.protocol.VxlanFlyweight;
import io.vsnic.dataplane.status.DropReason;
import io.vsnic.dataplane.table.PeerEntry;

/**
 * Adds and removes the overlay header in place: a frame leaving for a peer gets an 8-byte Geneve
 * (RFC 8926, protocol 0x6558) or VXLAN (RFC 7348, I flag) header in its headroom; a substrate
 * datagram's payload is checked and stripped back to the inner Ethernet frame. The checks on receipt,
 * each a drop reason: truncated header, Geneve version, option area overflow, a critical option this
 * device does not understand (RFC 8926 section 3.5 requires the drop), OAM, protocol other than
 * Ethernet, VXLAN without the I flag, and a VNI the peer is not allowed to use.
 *
 * <p>Remote checksum offload between vsnic devices ({@link PeerEntry#remoteChecksum()}): a frame whose
 * TCP/UDP checksum this device left partial goes to such a peer unfinished, with one Geneve option
 * (class {@link #OPTION_CLASS}, type {@link #OPTION_REMOTE_CHECKSUM}, critical) whose four data bytes
 * are the checksum start (from the inner frame's first byte) and the checksum field's offset from it,
 * 16 bits each, as virtio's {@code csum_start}/{@code csum_offset} and Linux's VXLAN remote checksum
 * offload carry them. The receiver marks the inner frame partial ({@link Frame#checksumPartial(int, int)})
 * instead of verifying a checksum that is not there: the outer UDP checksum, which the receiving kernel
 * checks, or the WireGuard tag covers the bytes. The option is critical so that a receiver that does not
 * know it drops the packet rather than deliver an unfinished checksum. An option whose start or offset
 * does not fit the frame is dropped as {@code bad_checksum}. One instance per thread.
 */
public final class OverlayHeaders
{
    /** Bytes the overlay header adds without options. */
    public static final int HEADER_LENGTH = 8;
    /** vsnic's Geneve option class, from the experimental range 0xFF00-0xFFFF (RFC 8926 section 7). */
    public static final int OPTION_CLASS = 0xFF56;
    /** The remote checksum option's type: 1 with the critical bit. */
    public static final int OPTION_REMOTE_CHECKSUM = GeneveFlyweight.OPTION_TYPE_CRITICAL | 1;
    /** Bytes the remote checksum option adds: its 4-byte header and 4 bytes of data. */
    public static final int REMOTE_CHECKSUM_LENGTH = 8;

    private final GeneveFlyweight geneve = new GeneveFlyweight();
    private final VxlanFlyweight vxlan = new VxlanFlyweight();
    private int vni;
    private int checksumStart = -1;
    private int checksumOffset;

    /**
     * Prepends the overlay header for {@code vni} (no options).
     *
     * @return false when the frame has no headroom left (the caller drops it).
     */
    public boolean encapsulate(final Frame frame, final Encapsulation encapsulation, final int vni)
    {
        return encapsulate(frame, encapsulation, vni, false);
    }

    /**
     * Prepends the overlay header for {@code vni}; with {@code remoteChecksum} (Geneve only) a frame whose
     * checksum is partial gets the remote checksum option, else the caller must have finished it.
     *
     * @return false when the frame has no headroom left (the caller drops it).
     */
    public boolean encapsulate(final Frame frame, final Encapsulation encapsulation, final int vni, final boolean remoteChecksum)
    {
        final boolean option = remoteChecksum && encapsulation == Encapsulation.GENEVE && frame.checksumPartial();
        final int start = frame.csumStart();
        final int offset = frame.csumOffset();
        if (!frame.prepend(option ? HEADER_LENGTH + REMOTE_CHECKSUM_LENGTH : HEADER_LENGTH))
        {
            return false;
        }
        final MemorySegment segment = frame.segment();
        if (option)
        {
            geneve.wrap(segment, frame.start());
            geneve.header(REMOTE_CHECKSUM_LENGTH, GeneveFlyweight.FLAG_CRITICAL, EthernetFlyweight.ETHER_TYPE_TEB, vni);
            geneve.option32(0, OPTION_CLASS, OPTION_REMOTE_CHECKSUM, start << 16 | offset);
        }
        else if (encapsulation == Encapsulation.GENEVE)
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
     * holds the inner Ethernet frame, {@link Frame#vni()} is set, and a remote checksum option marks its
     * checksum partial.
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
        if (checksumStart >= 0)
        {
            frame.checksumPartial(checksumStart, checksumOffset);
        }
        return 0;
    }

    /**
     * Checks the overlay header of a datagram from {@code peer} that sits in {@code segment} at
     * {@code offset} (the same checks as {@link #decapsulate}, nothing written); on success
     * {@link #vni()} is its VNI and {@link #checksumStart()} says whether the sender left the inner
     * checksum partial.
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
        checksumStart = -1;
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
            if (headerLength > HEADER_LENGTH)
            {
                final int reason = options(headerLength, length - headerLength);
                if (reason != 0)
                {
                    return -reason;
                }
            }
            else if (geneve.hasCriticalOptions())
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
     * Walks the option area (already known to tile it): the remote checksum option is read and checked
     * against the inner frame's length; any other critical option is unknown.
     *
     * @return 0, or the {@link DropReason} ordinal.
     */
    private int options(final int headerLength, final int innerLength)
    {
        final int end = headerLength - HEADER_LENGTH;
        boolean critical = false;
        for (int at = 0; at < end; at += GeneveFlyweight.OPTION_HEADER_LENGTH + geneve.optionDataLength(at))
        {
            final int type = geneve.optionType(at);
            if (geneve.optionClass(at) == OPTION_CLASS && type == OPTION_REMOTE_CHECKSUM && geneve.optionDataLength(at) == 4)
            {
                final int data = geneve.optionData32(at);
                final int start = data >>> 16;
                final int offset = data & 0xFFFF;
                if (start < EthernetFlyweight.HEADER_LENGTH || (offset != TcpFlyweight.CHECKSUM_OFFSET && offset != UdpFlyweight.CHECKSUM_OFFSET) ||
                    start + offset + 2 > innerLength)
                {
                    return DropReason.BAD_CHECKSUM.ordinal();
                }
                checksumStart = start;
                checksumOffset = offset;
            }
            else if ((type & GeneveFlyweight.OPTION_TYPE_CRITICAL) != 0)
            {
                critical = true;
            }
        }
        // the C flag with no critical option this device knows: it flags one that is not there or not understood
        return critical || (checksumStart < 0 && geneve.hasCriticalOptions()) ? DropReason.GENEVE_CRITICAL_OPTION.ordinal() : 0;
    }

    /**
     * @return where the inner checksum starts (from the inner frame's first byte) when the last header
     *     {@link #check} accepted carried the remote checksum option, else -1.
     */
    public int checksumStart()
    {
        return checksumStart;
    }

    /**
     * @return the inner checksum field's offset from {@link #checksumStart()} (16 for TCP, 6 for UDP).
     */
    public int checksumOffset()
    {
        return checksumOffset;
    }

    /**
     * @return the VNI of the last header {@link #check} accepted.
     */
    public int vni()
    {
        return vni;
    }
}
