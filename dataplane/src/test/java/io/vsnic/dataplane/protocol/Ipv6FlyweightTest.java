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

class Ipv6FlyweightTest
{
    /**
     * Inner IPv6 header of gso-ipv4-vxlan-ipv6.pcap: flowlabel 0x83f92, hlim 64, next-header TCP,
     * payload length 4166, fd00::2 > fd00::1.
     */
    private static final String CAPTURED_HEADER =
        "6008 3f92 1046 06 40 fd000000000000000000000000000002 fd000000000000000000000000000001";

    private final Ipv6Flyweight ipv6 = new Ipv6Flyweight();

    @Test
    void shouldReadEveryFieldOfCapturedHeader()
    {
        final MemorySegment segment = Hex.segment(CAPTURED_HEADER);
        ipv6.wrap(segment, 0);

        assertEquals(6, ipv6.version());
        assertEquals(0, ipv6.trafficClass());
        assertEquals(0x83f92, ipv6.flowLabel());
        assertEquals(4166, ipv6.payloadLength());
        assertEquals(IpProtocol.TCP, ipv6.nextHeader());
        assertEquals(64, ipv6.hopLimit());
        assertEquals(0xfd00_0000_0000_0000L, ipv6.sourceHigh());
        assertEquals(2, ipv6.sourceLow());
        assertEquals(0xfd00_0000_0000_0000L, ipv6.destinationHigh());
        assertEquals(1, ipv6.destinationLow());
        assertEquals("fd00::2", Ipv6Flyweight.format(segment, Ipv6Flyweight.SOURCE_OFFSET));
        assertEquals("fd00::1", Ipv6Flyweight.format(segment, Ipv6Flyweight.DESTINATION_OFFSET));
    }

    @Test
    void shouldWriteCapturedHeaderWhenFieldsAreSet()
    {
        final MemorySegment segment = Arena.ofAuto().allocate(Ipv6Flyweight.HEADER_LENGTH);
        segment.fill((byte)0xEE);
        ipv6.wrap(segment, 0);

        ipv6.versionClassFlow(0, 0x83f92).payloadLength(4166).nextHeader(IpProtocol.TCP).hopLimit(64)
            .source(0xfd00_0000_0000_0000L, 2).destination(0xfd00_0000_0000_0000L, 1);

        assertArrayEquals(Hex.bytes(CAPTURED_HEADER), Hex.slice(segment, 0, Ipv6Flyweight.HEADER_LENGTH));
    }

    @Test
    void shouldKeepTrafficClassAndFlowLabelApartWhenBothAreSet()
    {
        final MemorySegment segment = Arena.ofAuto().allocate(Ipv6Flyweight.HEADER_LENGTH);
        ipv6.wrap(segment, 0);

        ipv6.versionClassFlow(0xb8, 0xFFFFF);
        assertArrayEquals(Hex.bytes("6b8fffff"), Hex.slice(segment, 0, 4));
        assertEquals(0xb8, ipv6.trafficClass());
        assertEquals(0xFFFFF, ipv6.flowLabel());

        ipv6.versionClassFlow(0x1FF, 0x1F_FFFF);
        assertEquals(6, ipv6.version(), "oversized values must not spill into the version");
        assertEquals(0xFF, ipv6.trafficClass());
    }

    @Test
    void shouldRecogniseWalkableExtensionHeaders()
    {
        for (final int type : new int[]{0, 43, 44, 51, 60, 135, 139, 140})
        {
            assertTrue(Ipv6Flyweight.isExtensionHeader(type), "type " + type);
        }
        for (final int type : new int[]{IpProtocol.TCP, IpProtocol.UDP, IpProtocol.ICMPV6, IpProtocol.ESP, IpProtocol.IPV6_NO_NEXT, 4, 41, 255})
        {
            assertFalse(Ipv6Flyweight.isExtensionHeader(type), "type " + type);
        }
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({
        // RFC 5952 section 4.1: leading zeros suppressed
        "2001:0db8:0000:0000:0000:0000:0000:0001, 2001:db8::1",
        // 4.2.1: the longest run shortened as far as possible
        "2001:db8:0:0:0:0:2:1, 2001:db8::2:1",
        // 4.2.2: a single 16-bit zero field is not shortened
        "2001:db8:0:1:1:1:1:1, 2001:db8:0:1:1:1:1:1",
        // 4.2.3: the longest run wins; on a tie the first one
        "2001:0:0:1:0:0:0:1, 2001:0:0:1::1",
        "2001:db8:0:0:1:0:0:1, 2001:db8::1:0:0:1",
        "1:0:0:0:1:0:0:0, 1::1:0:0:0",
        // 4.3: lowercase
        "2001:DB8:0:0:0:0:0:ABCD, 2001:db8::abcd",
        "0:0:0:0:0:0:0:0, ::",
        "0:0:0:0:0:0:0:1, ::1",
        "1:0:0:0:0:0:0:0, 1::",
        "fe80:0:0:0:0:0:0:0, fe80::",
        "0:1:2:3:4:5:6:7, 0:1:2:3:4:5:6:7",
        "1:2:3:4:5:6:7:0, 1:2:3:4:5:6:7:0",
        "1:2:0:0:5:6:0:0, 1:2::5:6:0:0",
        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff, ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
    })
    void shouldFormatAddressPerRfc5952(final String text, final String expected)
    {
        final byte[] address = Ipv6Flyweight.parse(text);

        assertEquals(16, address.length);
        assertEquals(expected, Ipv6Flyweight.format(address));
        final MemorySegment segment = Hex.segment(address, 3, 32);
        assertEquals(expected, Ipv6Flyweight.format(segment, 3));
    }

    @Test
    void shouldRoundTripRandomAddressesWithZeroRunsThroughFormatAndParse()
    {
        final Random random = new Random(5952);
        final byte[] address = new byte[16];
        for (int i = 0; i < 10_000; i++)
        {
            random.nextBytes(address);
            for (int word = 0; word < 8; word++)
            {
                if (random.nextInt(3) == 0)
                {
                    address[2 * word] = 0;
                    address[2 * word + 1] = 0;
                }
            }
            final String text = Ipv6Flyweight.format(address);
            assertArrayEquals(address, Ipv6Flyweight.parse(text), text);
            assertFalse(text.contains(":::"), text);
            assertTrue(text.indexOf("::") == text.lastIndexOf("::"), text);
        }
    }

    @Test
    void shouldParseFullAndEmbeddedIpv4Forms()
    {
        assertArrayEquals(Hex.bytes("fd000000000000000000000000000002"), Ipv6Flyweight.parse("fd00:0:0:0:0:0:0:2"));
        assertArrayEquals(Hex.bytes("0064ff9b0000000000000000c0000221"), Ipv6Flyweight.parse("64:ff9b::192.0.2.33"));
    }

    @Test
    void shouldReturnSixteenByteMappedAddressWhenTextIsIpv4Mapped()
    {
        // ::ffff:0:0/96 is a valid IPv6 literal (RFC 4291 section 2.5.5.2); it must not turn into an IPv4 address.
        final byte[] expected = Hex.bytes("00000000000000000000ffffc0000201");

        assertArrayEquals(expected, Ipv6Flyweight.parse("::ffff:192.0.2.1"));
        assertArrayEquals(expected, Ipv6Flyweight.parse("::ffff:c000:201"));
        assertArrayEquals(expected, Ipv6Flyweight.parse(Ipv6Flyweight.format(expected)));
    }

    @ParameterizedTest(name = "\"{0}\"")
    @ValueSource(strings = {
        "", "1.2.3.4", "::1::", "1::2::3", ":::", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "12345::", "g::1",
        "fe80::1%eth0", "[::1]", "localhost", " ::1", "::1 ", ":1:2:3:4:5:6:7", "1:2:3:4:5:6:7:", "::1.2.3",
        "::256.1.1.1", "-::1", ".::1", ".:"})
    void shouldRejectTextWhenItIsNotAnIpv6Literal(final String text)
    {
        assertThrows(IllegalArgumentException.class, () -> Ipv6Flyweight.parse(text));
    }
}
