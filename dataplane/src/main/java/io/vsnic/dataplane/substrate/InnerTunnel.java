package io.vsnic.dataplane.substrate;

import java.lang.foreign.MemorySegment;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.util.Arrays;

import io.vsnic.crypto.wireguard.Keypair;
import io.vsnic.crypto.wireguard.TransportCodec;
import io.vsnic.crypto.wireguard.WireguardMessages;
import io.vsnic.dataplane.buffer.Frame;
import io.vsnic.dataplane.config.Encapsulation;

/**
 * The per-packet work of the encrypted substrate between this device and one peer, in place in a
 * pool frame: {@link #seal} turns a frame that carries its overlay header into a WireGuard transport
 * message whose plaintext is inner IP + UDP + overlay header + Ethernet frame ({@link InnerHeaders});
 * {@link #strip} checks a decrypted message's inner headers (cryptokey routing) and leaves the
 * overlay header + Ethernet frame. Immutable; allocation-free; any thread (each with its own
 * {@link TransportCodec}).
 */
public final class InnerTunnel
{
    /** Bytes a frame needs in front of its overlay header: message header + inner IPv6 + UDP. */
    public static final int HEADROOM = WireguardMessages.TRANSPORT_HEADER_LENGTH + InnerHeaders.IPV6_LENGTH + InnerHeaders.UDP_LENGTH;
    /** Bytes a frame needs after its end: padding + tag. */
    public static final int TAILROOM = 15 + WireguardMessages.TAG_LENGTH;

    private final boolean ipv6;
    private final int ourV4;
    private final long ourHigh;
    private final long ourLow;
    private final int peerV4;
    private final long peerHigh;
    private final long peerLow;
    private final int overlayPort;

    /**
     * @param ours          this device's inner substrate address.
     * @param peer          the peer's inner substrate address (same family).
     * @param encapsulation the overlay towards the peer (Geneve: UDP 6081, VXLAN: 4789).
     * @throws IllegalArgumentException when the two addresses are of different families.
     */
    public InnerTunnel(final InetAddress ours, final InetAddress peer, final Encapsulation encapsulation)
    {
        if ((ours instanceof Inet6Address) != (peer instanceof Inet6Address))
        {
            throw new IllegalArgumentException("inner addresses of different families: " + ours + " and " + peer);
        }
        this.ipv6 = ours instanceof Inet6Address;
        final ByteBuffer o = ByteBuffer.wrap(Arrays.copyOf(ours.getAddress(), 16));
        final ByteBuffer p = ByteBuffer.wrap(Arrays.copyOf(peer.getAddress(), 16));
        this.ourV4 = o.getInt(0);
        this.ourHigh = o.getLong(0);
        this.ourLow = o.getLong(8);
        this.peerV4 = p.getInt(0);
        this.peerHigh = p.getLong(0);
        this.peerLow = p.getLong(8);
        this.overlayPort = encapsulation == Encapsulation.GENEVE ? InnerHeaders.GENEVE_PORT : InnerHeaders.VXLAN_PORT;
    }

    /**
     * @return true when the frame has the head- and tailroom {@link #seal} needs.
     */
    public static boolean fits(final Frame frame)
    {
        return frame.headroom() >= HEADROOM && frame.tailroom() >= TAILROOM;
    }

    /**
     * Writes the inner IP + UDP headers in front of the overlay packet (the frame's window) and
     * seals it in place; on success the window is the transport message to send.
     *
     * @return the message length, or a negative {@link io.vsnic.crypto.wireguard.Rejection#code()}
     *         (the window is then as it was).
     */
    public int seal(final TransportCodec codec, final Keypair kp, final Frame frame, final long nowNs)
    {
        final MemorySegment segment = frame.segment();
        final int overlayLength = frame.length();
        final int port = InnerHeaders.flowPort(segment, frame.start() + OverlayHeaders.HEADER_LENGTH,
            overlayLength - OverlayHeaders.HEADER_LENGTH);
        final int headers = (ipv6 ? InnerHeaders.IPV6_LENGTH : InnerHeaders.IPV4_LENGTH) + InnerHeaders.UDP_LENGTH;
        frame.prepend(headers);
        final int ipLength = ipv6
            ? InnerHeaders.writeIpv6(segment, frame.start(), ourHigh, ourLow, peerHigh, peerLow, port, overlayPort, overlayLength)
            : InnerHeaders.writeIpv4(segment, frame.start(), ourV4, peerV4, port, overlayPort, overlayLength);
        final int messageOffset = frame.start() - WireguardMessages.TRANSPORT_HEADER_LENGTH;
        final int n = codec.seal(kp, segment, frame.start(), ipLength, messageOffset, nowNs);
        if (n < 0)
        {
            frame.strip(headers);
            return n;
        }
        frame.window(messageOffset, n);
        return n;
    }

    /**
     * Checks the inner headers of a message opened in place at {@code messageOffset} (plaintext
     * length {@code plaintextLength}) and narrows the frame to the overlay packet.
     *
     * @return 0, or the {@link io.vsnic.dataplane.status.DropReason} ordinal.
     */
    public int strip(final Frame frame, final int messageOffset, final int plaintextLength)
    {
        return InnerHeaders.strip(frame, messageOffset + WireguardMessages.TRANSPORT_DATA_OFFSET, plaintextLength, peerV4, peerHigh,
            peerLow, ourV4, ourHigh, ourLow, ipv6, overlayPort);
    }

    /**
     * The checks of {@link #strip} on a message opened in place in any segment.
     *
     * @return the overlay packet's offset (high 32 bits) and length (low 32 bits), or minus the drop reason ordinal.
     */
    public long locate(final MemorySegment segment, final int messageOffset, final int plaintextLength)
    {
        return InnerHeaders.locate(segment, messageOffset + WireguardMessages.TRANSPORT_DATA_OFFSET, plaintextLength, peerV4,
            peerHigh, peerLow, ourV4, ourHigh, ourLow, ipv6, overlayPort);
    }
}
