package io.vsnic.dataplane.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class Ipv4FlyweightTest
{
    private final Ipv4Flyweight ipv4 = new Ipv4Flyweight();

    @Test
    void shouldReadEveryFieldOfCapturedOuterHeader()
    {
        ipv4.wrap(Hex.segment(Captures.VXLAN_ICMP_ECHO_REQUEST), Captures.VXLAN_OUTER_IPV4_OFFSET);

        assertEquals(4, ipv4.version());
        assertEquals(20, ipv4.headerLength());
        assertEquals(0, ipv4.tos());
        assertEquals(134, ipv4.totalLength());
        assertEquals(0xd2c0, ipv4.identification());
        assertEquals(0x4000, ipv4.flagsAndFragmentOffset());
        assertTrue(ipv4.dontFragment());
        assertFalse(ipv4.moreFragments());
        assertFalse(ipv4.isFragment());
        assertEquals(0, ipv4.fragmentOffsetBytes());
        assertEquals(64, ipv4.ttl());
        assertEquals(IpProtocol.UDP, ipv4.protocol());
        assertEquals(0x5152, ipv4.checksum());
        assertEquals("192.168.203.1", Ipv4Flyweight.format(ipv4.source()));
        assertEquals("192.168.202.1", Ipv4Flyweight.format(ipv4.destination()));
        assertTrue(ipv4.isChecksumValid());
    }

    @Test
    void shouldWriteCapturedInnerHeaderWhenFieldsAreSetAndChecksumUpdated()
    {
        final byte[] expected = Hex.slice(
            Hex.segment(Captures.VXLAN_ICMP_ECHO_REQUEST), Captures.VXLAN_INNER_L3_OFFSET, Ipv4Flyweight.MIN_HEADER_LENGTH);
        final MemorySegment segment = Arena.ofAuto().allocate(Ipv4Flyweight.MIN_HEADER_LENGTH);
        segment.fill((byte)0x77);
        ipv4.wrap(segment, 0);

        ipv4.versionAndHeaderLength(20).tos(0).totalLength(84).identification(0)
            .flagsAndFragmentOffset(Ipv4Flyweight.FLAG_DONT_FRAGMENT).ttl(64).protocol(IpProtocol.ICMP)
            .source(Ipv4Flyweight.parse("192.168.203.3")).destination(Ipv4Flyweight.parse("192.168.203.5"))
            .updateChecksum();

        assertEquals(0x234f, ipv4.checksum());
        assertArrayEquals(expected, Hex.slice(segment, 0, Ipv4Flyweight.MIN_HEADER_LENGTH));
    }

    @Test
    void shouldReportFragmentFieldsWhenMoreFragmentsAndOffsetAreSet()
    {
        final MemorySegment segment = Arena.ofAuto().allocate(Ipv4Flyweight.MIN_HEADER_LENGTH);
        ipv4.wrap(segment, 0);

        ipv4.flagsAndFragmentOffset(Ipv4Flyweight.FLAG_MORE_FRAGMENTS | 185);
        assertTrue(ipv4.moreFragments());
        assertFalse(ipv4.dontFragment());
        assertTrue(ipv4.isFragment());
        assertEquals(1480, ipv4.fragmentOffsetBytes());

        ipv4.flagsAndFragmentOffset(370);
        assertTrue(ipv4.isFragment(), "the last fragment has MF clear but a non-zero offset");
        assertEquals(2960, ipv4.fragmentOffsetBytes());

        ipv4.flagsAndFragmentOffset(Ipv4Flyweight.FLAG_DONT_FRAGMENT);
        assertFalse(ipv4.isFragment());
    }

    @Test
    void shouldDecrementTtlAndKeepChecksumValidWhenHeaderIsClassicVector()
    {
        final MemorySegment segment = Hex.segment("45 00 00 73 00 00 40 00 40 11 b8 61 c0 a8 00 01 c0 a8 00 c7");
        ipv4.wrap(segment, 0);

        assertEquals(63, ipv4.decrementTtl());

        assertArrayEquals(Hex.bytes("45 00 00 73 00 00 40 00 3f 11 b9 61 c0 a8 00 01 c0 a8 00 c7"), Hex.slice(segment, 0, 20));
        assertTrue(ipv4.isChecksumValid());
    }

    @ParameterizedTest(name = "options {0}")
    @ValueSource(strings = {
        "01010101",             // four NOPs
        "00000000",             // END
        "0101 0000",            // NOPs then END
        "07 07 04 00000000 00", // record route, room for one address, END pad
        "94 04 0000",           // router alert (RFC 2113)
        "00 ff ff ff"           // anything after END is ignored
    })
    void shouldAcceptOptionsWhenListIsWellFormed(final String options)
    {
        assertTrue(withOptions(options).areOptionsValid());
    }

    @ParameterizedTest(name = "options {0}")
    @ValueSource(strings = {
        "07 01 0000",           // length 1 is below the two bytes of type and length
        "07 00 0000",           // length 0
        "07 09 04 00000000 00", // record route longer than the option area
        "010101 07",            // type byte with no room for its length byte
        "94 05 0000"            // router alert one byte too long
    })
    void shouldRejectOptionsWhenListIsMalformed(final String options)
    {
        assertFalse(withOptions(options).areOptionsValid());
    }

    @Test
    void shouldFormatAddressAsDottedQuad()
    {
        assertEquals("192.168.0.1", Ipv4Flyweight.format(0xC0A80001));
        assertEquals("0.0.0.0", Ipv4Flyweight.format(0));
        assertEquals("255.255.255.255", Ipv4Flyweight.format(-1));
        assertEquals("10.0.0.255", Ipv4Flyweight.format(0x0A0000FF));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"192.168.0.1, 0xC0A80001", "0.0.0.0, 0", "255.255.255.255, 0xFFFFFFFF", "10.1.2.3, 0x0A010203"})
    void shouldParseDottedQuadInNetworkOrder(final String text, final String expected)
    {
        assertEquals((int)Long.decode(expected).longValue(), Ipv4Flyweight.parse(text));
    }

    @Test
    void shouldRoundTripRandomAddressesThroughFormatAndParse()
    {
        final Random random = new Random(791);
        for (int i = 0; i < 10_000; i++)
        {
            final int address = random.nextInt();
            assertEquals(address, Ipv4Flyweight.parse(Ipv4Flyweight.format(address)));
        }
    }

    @ParameterizedTest(name = "\"{0}\"")
    @ValueSource(strings = {
        "", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.256", "1..2.3", "1.2.3.4.", ".1.2.3", "a.b.c.d", "-1.2.3.4",
        "+1.2.3.4", "1.2.3. 4", "1234.1.1.1", "0x1.2.3.4", "\u0661.2.3.4", "1.2.3.\uff14", "::1"})
    void shouldRejectTextWhenItIsNotDottedQuad(final String text)
    {
        assertThrows(IllegalArgumentException.class, () -> Ipv4Flyweight.parse(text));
    }

    private Ipv4Flyweight withOptions(final String optionHex)
    {
        final byte[] options = Hex.bytes(optionHex);
        final MemorySegment segment = Hex.segment(options, Ipv4Flyweight.OPTIONS_OFFSET, 64);
        ipv4.wrap(segment, 0);
        ipv4.versionAndHeaderLength(Ipv4Flyweight.MIN_HEADER_LENGTH + options.length);
        assertEquals(Ipv4Flyweight.MIN_HEADER_LENGTH + options.length, ipv4.headerLength());
        return ipv4;
    }
}
