package io.vsnic.dataplane.substrate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetAddress;

import io.vsnic.dataplane.buffer.Frame;
import io.vsnic.dataplane.buffer.FramePool;
import io.vsnic.dataplane.protocol.Flyweight;
import io.vsnic.dataplane.protocol.FrameClassifier;
import io.vsnic.dataplane.protocol.FrameLayout;
import io.vsnic.dataplane.status.DropReason;
import org.junit.jupiter.api.Test;

/**
 * The inner IP/UDP headers: what {@link InnerHeaders} writes is a valid packet by an independent
 * parser (the data plane's verifying classifier checks the IPv4 header and UDP checksums), and
 * {@link InnerHeaders#strip} accepts exactly the overlay packets from the peer to us.
 */
class InnerHeadersTest
{
    private static final int PAYLOAD = 100;

    /** Ethernet header + inner headers + payload, so the classifier can parse it. */
    private static MemorySegment ethernetWith(final boolean ipv6, final int payload)
    {
        final MemorySegment segment = MemorySegment.ofArray(new byte[2048]);
        segment.set(Flyweight.U16, 12, (short)(ipv6 ? 0x86DD : 0x0800));
        segment.set(Flyweight.U64, 0, 0x0200_0000_0001_0200L);
        final int headers = (ipv6 ? InnerHeaders.IPV6_LENGTH : InnerHeaders.IPV4_LENGTH) + InnerHeaders.UDP_LENGTH;
        for (int i = 0; i < payload; i++)
        {
            segment.set(ValueLayout.JAVA_BYTE, 14 + headers + i, (byte)(i * 7 + 3));
        }
        return segment;
    }

    @Test
    void shouldWriteIpv4AndUdpThatAVerifyingParserAccepts()
    {
        final MemorySegment segment = ethernetWith(false, PAYLOAD);
        // port 5000, not 4789: the classifier would go on to parse the payload as VXLAN
        final int length = InnerHeaders.writeIpv4(segment, 14, 0x0A63_0001, 0x0A63_0002, 50000, 5000, PAYLOAD);
        assertEquals(20 + 8 + PAYLOAD, length);
        final FrameLayout layout = new FrameLayout();
        FrameClassifier.verifying().classify(segment, 0, 14 + length, layout);
        assertTrue(layout.isValid(), layout.dropReason().label());
        assertEquals(17, layout.l4Protocol());
        assertEquals(5000, layout.destinationPort());
    }

    @Test
    void shouldWriteIpv6AndUdpWithAChecksumAVerifyingParserAccepts()
    {
        final MemorySegment segment = ethernetWith(true, PAYLOAD + 1);
        final int length = InnerHeaders.writeIpv6(segment, 14, 0xFD00_0000_0000_0000L, 1, 0xFD00_0000_0000_0000L, 2, 50001, 5001,
            PAYLOAD + 1);
        assertEquals(40 + 8 + PAYLOAD + 1, length);
        final FrameLayout layout = new FrameLayout();
        FrameClassifier.verifying().classify(segment, 0, 14 + length, layout);
        assertTrue(layout.isValid(), layout.dropReason().label());
        assertTrue(layout.hasFlag(FrameLayout.FLAG_L4_CHECKSUM_VERIFIED), "UDP checksum over IPv6 verified");
        assertEquals(5001, layout.destinationPort());
    }

    @Test
    void shouldKeepOneSourcePortPerFlow()
    {
        final MemorySegment frame = MemorySegment.ofArray(new byte[128]);
        frame.set(Flyweight.U16, 12, (short)0x0800);
        frame.set(ValueLayout.JAVA_BYTE, 14, (byte)0x45);
        frame.set(ValueLayout.JAVA_BYTE, 23, (byte)17);
        frame.set(Flyweight.U32, 26, 0x0A00_010B);
        frame.set(Flyweight.U32, 30, 0x0A00_0115);
        frame.set(Flyweight.U32, 34, 40000 << 16 | 5000);
        final int port = InnerHeaders.flowPort(frame, 0, 128);
        assertTrue(port >= 49152 && port <= 65535, Integer.toString(port));
        frame.set(ValueLayout.JAVA_BYTE, 60, (byte)99);              // payload changes: same flow
        assertEquals(port, InnerHeaders.flowPort(frame, 0, 128));
        frame.set(Flyweight.U32, 34, 40001 << 16 | 5000);            // another source port: (almost surely) another hash
        final int other = InnerHeaders.flowPort(frame, 0, 128);
        assertTrue(other >= 49152 && other <= 65535);
    }

    @Test
    void shouldStripOnlyOverlayPacketsFromThePeerToUs() throws Exception
    {
        try (FramePool pool = new FramePool(8))
        {
            final InnerTunnel atB = new InnerTunnel(InetAddress.ofLiteral("10.99.0.2"), InetAddress.ofLiteral("10.99.0.1"),
                io.vsnic.dataplane.config.Encapsulation.VXLAN);
            assertEquals(0, strip(pool, atB, 0x0A63_0001, 0x0A63_0002, 4789, 0));
            assertEquals(DropReason.WG_INNER_SOURCE.ordinal(), strip(pool, atB, 0x0A63_0009, 0x0A63_0002, 4789, 0),
                "cryptokey routing: another source");
            assertEquals(DropReason.WG_INNER_NOT_OVERLAY.ordinal(), strip(pool, atB, 0x0A63_0001, 0x0A63_0003, 4789, 0),
                "not to our inner address");
            assertEquals(DropReason.WG_INNER_NOT_OVERLAY.ordinal(), strip(pool, atB, 0x0A63_0001, 0x0A63_0002, 6081, 0),
                "not the peer's overlay port");
            assertEquals(DropReason.WG_INNER_NOT_OVERLAY.ordinal(), strip(pool, atB, 0x0A63_0001, 0x0A63_0002, 4789, 0x2000),
                "a fragment");
        }
    }

    /** Writes an inner packet at the plaintext position of a frame and strips it. */
    private static int strip(final FramePool pool, final InnerTunnel tunnel, final int source, final int destination, final int port,
        final int fragmentBits)
    {
        final Frame frame = pool.acquire();
        try
        {
            final int message = frame.start();
            final int plaintext = message + 16;
            final int length = InnerHeaders.writeIpv4(frame.segment(), plaintext, source, destination, 50000, port, 30);
            if (fragmentBits != 0)
            {
                frame.segment().set(Flyweight.U16, plaintext + 6, (short)fragmentBits);
                frame.segment().set(Flyweight.U16, plaintext + 10, (short)0);
                final int checksum = io.vsnic.dataplane.protocol.Checksums.checksum(frame.segment(), plaintext, 20);
                frame.segment().set(Flyweight.U16, plaintext + 10, (short)checksum);
            }
            final int padded = (length + 15) & ~15;
            final int reason = tunnel.strip(frame, message, padded);
            if (reason == 0)
            {
                assertEquals(plaintext + 28, frame.start(), "window starts at the overlay header");
                assertEquals(30, frame.length(), "padding is cut off by the UDP length");
            }
            return reason;
        }
        finally
        {
            frame.release();
        }
    }
}
