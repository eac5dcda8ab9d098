package io.vsnic.dataplane.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;

import org.junit.jupiter.api.Test;

class UdpFlyweightTest
{
    private final UdpFlyweight udp = new UdpFlyweight();

    @Test
    void shouldReadCapturedVxlanCarrierHeader()
    {
        udp.wrap(Hex.segment(Captures.VXLAN_ICMP_ECHO_REQUEST), Captures.VXLAN_OUTER_UDP_OFFSET);

        assertEquals(45149, udp.sourcePort());
        assertEquals(VxlanFlyweight.UDP_PORT, udp.destinationPort());
        assertEquals(114, udp.length());
        assertEquals(0, udp.checksum());
    }

    @Test
    void shouldWriteCapturedHeaderWhenFieldsAreSet()
    {
        final MemorySegment segment = Arena.ofAuto().allocate(UdpFlyweight.HEADER_LENGTH);
        segment.fill((byte)0x11);
        udp.wrap(segment, 0);

        udp.sourcePort(62974).destinationPort(GeneveFlyweight.UDP_PORT).length(96).checksum(0);

        assertArrayEquals(Hex.bytes("f5fe 17c1 0060 0000"), Hex.slice(segment, 0, UdpFlyweight.HEADER_LENGTH));
    }

    @Test
    void shouldVerifyWithPseudoHeaderAfterChecksumUpdate()
    {
        final Random random = new Random(768);
        final MemorySegment segment = Arena.ofAuto().allocate(600);
        final byte[] bytes = new byte[600];
        for (int i = 0; i < 500; i++)
        {
            random.nextBytes(bytes);
            segment.copyFrom(MemorySegment.ofArray(bytes));
            final int length = UdpFlyweight.HEADER_LENGTH + random.nextInt(590);
            final long pseudo = Checksums.pseudoHeaderSumIpv4(random.nextInt(), random.nextInt(), IpProtocol.UDP, length);
            udp.wrap(segment, 0);
            udp.length(length).updateChecksum(pseudo, length);

            assertEquals(0xFFFF, udp.verifySum(pseudo, length));
            assertNotEquals(0, udp.checksum(), "0 means no checksum and must never be computed");
            assertNotEquals(0xFFFF, udp.verifySum(pseudo + 1, length));
        }
    }

    @Test
    void shouldSendComputedZeroChecksumAsAllOnes()
    {
        // Header with checksum 0 and a payload word chosen so that pseudo-header + datagram sum to 0xFFFF:
        // the computed checksum is then 0, which RFC 768 transmits as 0xFFFF.
        final MemorySegment segment = Arena.ofAuto().allocate(UdpFlyweight.HEADER_LENGTH + 2);
        udp.wrap(segment, 0);
        udp.sourcePort(1).destinationPort(2).length(10);
        final long pseudo = Checksums.pseudoHeaderSumIpv4(0x0A000001, 0x0A000002, IpProtocol.UDP, 10);
        final int partial = Checksums.fold(Checksums.sum(segment, 0, 10, pseudo));
        segment.set(Flyweight.U16, 8, (short)(0xFFFF - partial));
        assertEquals(0xFFFF, Checksums.fold(Checksums.sum(segment, 0, 10, pseudo)), "test setup");

        udp.updateChecksum(pseudo, 10);

        assertEquals(0xFFFF, udp.checksum());
        assertEquals(0xFFFF, udp.verifySum(pseudo, 10));
    }
}
