package io.vsnic.dataplane.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import org.junit.jupiter.api.Test;

class TcpFlyweightTest
{
    private static final int SOURCE = 0xC0A86402;      // 192.168.100.2
    private static final int DESTINATION = 0xC0A86401; // 192.168.100.1

    private final TcpFlyweight tcp = new TcpFlyweight();

    @Test
    void shouldReadCapturedSegmentAndVerifyItsChecksum()
    {
        tcp.wrap(Hex.segment(Captures.GENEVE_GCP), Captures.GENEVE_GCP_INNER_TCP_OFFSET);

        assertEquals(2905, tcp.sourcePort());
        assertEquals(8080, tcp.destinationPort());
        assertEquals(760929856L, tcp.sequence());
        assertEquals(2028584922L, tcp.acknowledgment());
        assertEquals(20, tcp.headerLength());
        assertEquals(0, tcp.flags());
        assertEquals(512, tcp.window());
        assertEquals(0xf547, tcp.checksum());
        assertEquals(0, tcp.urgentPointer());
        assertEquals(0xFFFF, tcp.verifySum(Checksums.pseudoHeaderSumIpv4(SOURCE, DESTINATION, IpProtocol.TCP, 20), 20));
    }

    @Test
    void shouldWriteCapturedSegmentWhenFieldsAreSetAndChecksumUpdated()
    {
        final MemorySegment segment = Arena.ofAuto().allocate(TcpFlyweight.MIN_HEADER_LENGTH);
        segment.fill((byte)0xC3);
        tcp.wrap(segment, 0);

        tcp.sourcePort(2905).destinationPort(8080).sequence(760929856L).acknowledgment(2028584922L)
            .headerLength(20).flags(0).window(512).urgentPointer(0)
            .updateChecksum(Checksums.pseudoHeaderSumIpv4(SOURCE, DESTINATION, IpProtocol.TCP, 20), 20);

        assertArrayEquals(
            Hex.slice(Hex.segment(Captures.GENEVE_GCP), Captures.GENEVE_GCP_INNER_TCP_OFFSET, 20), Hex.slice(segment, 0, 20));
    }

    @Test
    void shouldKeepUnsignedSequenceNumbersAboveTwoToTheThirtyOne()
    {
        final MemorySegment segment = Arena.ofAuto().allocate(TcpFlyweight.MIN_HEADER_LENGTH);
        tcp.wrap(segment, 0);

        tcp.sequence(0xFFFF_FFFEL).acknowledgment(0x8000_0000L);

        assertEquals(0xFFFF_FFFEL, tcp.sequence());
        assertEquals(0x8000_0000L, tcp.acknowledgment());
        assertArrayEquals(Hex.bytes("fffffffe 80000000"), Hex.slice(segment, TcpFlyweight.SEQUENCE_OFFSET, 8));
    }

    @Test
    void shouldEncodeHeaderLengthAsDataOffsetWords()
    {
        final MemorySegment segment = Arena.ofAuto().allocate(TcpFlyweight.MIN_HEADER_LENGTH);
        tcp.wrap(segment, 0);

        tcp.headerLength(60).flags(TcpFlyweight.SYN | TcpFlyweight.ACK);

        assertArrayEquals(Hex.bytes("f0 12"), Hex.slice(segment, TcpFlyweight.DATA_OFFSET_OFFSET, 2));
        assertEquals(60, tcp.headerLength());
    }

    @Test
    void shouldFormatFlagsAsTcpdumpDoesForCommonCombinations()
    {
        assertEquals("none", TcpFlyweight.formatFlags(0));
        assertEquals("S", TcpFlyweight.formatFlags(TcpFlyweight.SYN));
        assertEquals("S.", TcpFlyweight.formatFlags(TcpFlyweight.SYN | TcpFlyweight.ACK));
        assertEquals(".", TcpFlyweight.formatFlags(TcpFlyweight.ACK));
        assertEquals("P.", TcpFlyweight.formatFlags(TcpFlyweight.PSH | TcpFlyweight.ACK));
        assertEquals("F.", TcpFlyweight.formatFlags(TcpFlyweight.FIN | TcpFlyweight.ACK));
        assertEquals("R", TcpFlyweight.formatFlags(TcpFlyweight.RST));
    }
}
