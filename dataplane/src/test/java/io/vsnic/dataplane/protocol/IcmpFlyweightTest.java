package io.vsnic.dataplane.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;

import org.junit.jupiter.api.Test;

class IcmpFlyweightTest
{
    private static final int ECHO_LENGTH = 64;

    private final IcmpFlyweight icmp = new IcmpFlyweight();

    @Test
    void shouldReadCapturedEchoRequestAndVerifyItsChecksum()
    {
        icmp.wrap(Hex.segment(Captures.VXLAN_ICMP_ECHO_REQUEST), Captures.VXLAN_INNER_ICMP_OFFSET);

        assertEquals(IcmpFlyweight.V4_ECHO_REQUEST, icmp.type());
        assertEquals(0, icmp.code());
        assertEquals(0xf6f2, icmp.checksum());
        assertEquals(1292, icmp.identifier());
        assertEquals(1, icmp.sequence());
        assertTrue(icmp.isChecksumValidV4(ECHO_LENGTH));
    }

    @Test
    void shouldWriteCapturedEchoRequestWhenFieldsAndPayloadAreSet()
    {
        final MemorySegment captured = Hex.segment(Captures.VXLAN_ICMP_ECHO_REQUEST);
        final byte[] expected = Hex.slice(captured, Captures.VXLAN_INNER_ICMP_OFFSET, ECHO_LENGTH);
        final MemorySegment segment = Arena.ofAuto().allocate(ECHO_LENGTH);
        MemorySegment.copy(expected, IcmpFlyweight.HEADER_LENGTH, segment, ValueLayout.JAVA_BYTE,
            IcmpFlyweight.HEADER_LENGTH, ECHO_LENGTH - IcmpFlyweight.HEADER_LENGTH);
        icmp.wrap(segment, 0);

        icmp.type(IcmpFlyweight.V4_ECHO_REQUEST).code(0).checksum(0x1234).identifier(1292).sequence(1)
            .updateChecksumV4(ECHO_LENGTH);

        assertArrayEquals(expected, Hex.slice(segment, 0, ECHO_LENGTH));
    }

    @Test
    void shouldFailVerificationWhenAnyPayloadBitFlips()
    {
        final MemorySegment segment = Hex.segment(Captures.VXLAN_ICMP_ECHO_REQUEST);
        icmp.wrap(segment, Captures.VXLAN_INNER_ICMP_OFFSET);
        for (int bit = 0; bit < ECHO_LENGTH * 8; bit++)
        {
            final long at = Captures.VXLAN_INNER_ICMP_OFFSET + bit / 8;
            flip(segment, at, bit % 8);
            assertFalse(icmp.isChecksumValidV4(ECHO_LENGTH), "bit " + bit);
            flip(segment, at, bit % 8);
        }
        assertTrue(icmp.isChecksumValidV4(ECHO_LENGTH));
    }

    @Test
    void shouldWriteFragmentationNeededMtuInSecondHalfOfSecondWord()
    {
        final MemorySegment segment = Arena.ofAuto().allocate(IcmpFlyweight.HEADER_LENGTH);
        segment.fill((byte)0xFF);
        icmp.wrap(segment, 0);

        icmp.type(IcmpFlyweight.V4_DESTINATION_UNREACHABLE).code(IcmpFlyweight.V4_CODE_FRAGMENTATION_NEEDED).checksum(0)
            .nextHopMtu(1450);

        assertArrayEquals(Hex.bytes("03 04 0000 0000 05aa"), Hex.slice(segment, 0, IcmpFlyweight.HEADER_LENGTH));
        assertEquals(1450, icmp.nextHopMtu());
    }

    @Test
    void shouldWritePacketTooBigMtuAsFullSecondWord()
    {
        final MemorySegment segment = Arena.ofAuto().allocate(IcmpFlyweight.HEADER_LENGTH);
        icmp.wrap(segment, 0);

        icmp.type(IcmpFlyweight.V6_PACKET_TOO_BIG).code(0).v6Mtu(0x8000_0500);

        assertArrayEquals(Hex.bytes("02 00 0000 80000500"), Hex.slice(segment, 0, IcmpFlyweight.HEADER_LENGTH));
        assertEquals(0x8000_0500L, icmp.v6Mtu());
    }

    @Test
    void shouldCoverIpv6PseudoHeaderWhenComputingIcmpv6Checksum()
    {
        final Random random = new Random(4443);
        final Ipv6Flyweight ipv6 = new Ipv6Flyweight();
        final MemorySegment segment = Arena.ofAuto().allocate(Ipv6Flyweight.HEADER_LENGTH + 200);
        for (int i = 0; i < 200; i++)
        {
            final int length = IcmpFlyweight.HEADER_LENGTH + random.nextInt(150);
            final byte[] packet = new byte[Ipv6Flyweight.HEADER_LENGTH + length];
            random.nextBytes(packet);
            MemorySegment.copy(packet, 0, segment, ValueLayout.JAVA_BYTE, 0, packet.length);
            ipv6.wrap(segment, 0);
            ipv6.versionClassFlow(0, 0).payloadLength(length).nextHeader(IpProtocol.ICMPV6);
            icmp.wrap(segment, Ipv6Flyweight.HEADER_LENGTH);

            icmp.type(IcmpFlyweight.V6_ECHO_REQUEST).updateChecksumV6(0, length);

            assertEquals(referenceIcmpv6Checksum(segment, length), icmp.checksum());
            assertTrue(icmp.isChecksumValidV6(0, length));
            flip(segment, Ipv6Flyweight.SOURCE_OFFSET + random.nextInt(32), random.nextInt(8));
            assertFalse(icmp.isChecksumValidV6(0, length), "an address change must break the checksum");
        }
    }

    /** RFC 8200 section 8.1 pseudo-header laid out in bytes, then RFC 1071 over 16-bit words. */
    private static int referenceIcmpv6Checksum(final MemorySegment packet, final int icmpLength)
    {
        final byte[] bytes = new byte[40 + icmpLength];
        MemorySegment.copy(packet, ValueLayout.JAVA_BYTE, Ipv6Flyweight.SOURCE_OFFSET, bytes, 0, 32);
        bytes[34] = (byte)(icmpLength >>> 8);
        bytes[35] = (byte)icmpLength;
        bytes[39] = (byte)IpProtocol.ICMPV6;
        MemorySegment.copy(packet, ValueLayout.JAVA_BYTE, Ipv6Flyweight.HEADER_LENGTH, bytes, 40, icmpLength);
        bytes[40 + 2] = 0;
        bytes[40 + 3] = 0;
        int sum = 0;
        for (int i = 0; i < bytes.length; i += 2)
        {
            sum += (bytes[i] & 0xFF) << 8 | (i + 1 < bytes.length ? bytes[i + 1] & 0xFF : 0);
            sum = (sum & 0xFFFF) + (sum >>> 16);
        }
        return ~sum & 0xFFFF;
    }

    private static void flip(final MemorySegment segment, final long at, final int bit)
    {
        segment.set(ValueLayout.JAVA_BYTE, at, (byte)(segment.get(ValueLayout.JAVA_BYTE, at) ^ (1 << bit)));
    }
}
