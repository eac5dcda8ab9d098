package io.vsnic.dataplane.table;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PrefixesTest
{
    // ---------------------------------------------------------------------------------------------
    // IPv4

    @ParameterizedTest
    @CsvSource({
        "10.0.0.0/8, 0x0A000000, 8",
        "0.0.0.0/0, 0x00000000, 0",
        "255.255.255.255/32, 0xFFFFFFFF, 32",
        "192.168.1.0/24, 0xC0A80100, 24",
        "172.16.0.0/12, 0xAC100000, 12",
        "128.0.0.0/1, 0x80000000, 1"})
    void shouldParseAndFormatIpv4Prefix(final String text, final String address, final int length)
    {
        final Prefixes.Ipv4Prefix prefix = Prefixes.parseIpv4(text);

        assertEquals(Integer.parseUnsignedInt(address.substring(2), 16), prefix.address());
        assertEquals(length, prefix.length());
        assertEquals(text, prefix.toString());
        assertEquals(prefix, new Prefixes.Ipv4Prefix(prefix.address(), prefix.length()));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "10.0.0.0|invalid IPv4 prefix '10.0.0.0': missing '/length' (for example 10.0.0.0/8)",
        "10.0.0/8|invalid IPv4 prefix '10.0.0/8': expected 4 dotted octets, found 3",
        "10.0.0.0.0/8|invalid IPv4 prefix '10.0.0.0.0/8': more than 4 dotted octets",
        "10.0.0.256/32|invalid IPv4 prefix '10.0.0.256/32': octet 4 is 256, above 255",
        "10.0.01.0/24|invalid IPv4 prefix '10.0.01.0/24': octet 3 '01' has a leading zero",
        "10.a.0.0/16|invalid IPv4 prefix '10.a.0.0/16': octet 2 'a' is not a decimal number 0..255",
        "10..0.0/16|invalid IPv4 prefix '10..0.0/16': octet 2 is empty",
        "10.0.0.0/33|invalid IPv4 prefix '10.0.0.0/33': length 33 is outside 0..32",
        "10.0.0.0/08|invalid IPv4 prefix '10.0.0.0/08': length '08' has a leading zero",
        "10.0.0.0/|invalid IPv4 prefix '10.0.0.0/': length '' is not a decimal number 0..32",
        "10.0.0.0/-1|invalid IPv4 prefix '10.0.0.0/-1': length '-1' is not a decimal number 0..32",
        "10.0.0.0/8/8|invalid IPv4 prefix '10.0.0.0/8/8': more than one '/'",
        "10.0.0.1/8|invalid IPv4 prefix '10.0.0.1/8': host bits are set beyond /8 (did you mean 10.0.0.0/8?)"})
    void shouldRejectMalformedIpv4PrefixNamingTheProblem(final String text, final String message)
    {
        assertEquals(message, assertThrows(IllegalArgumentException.class, () -> Prefixes.parseIpv4(text)).getMessage());
    }

    /** Only the canonical form parses, so a parsed text is its own canonical form (the API keeps it as sent). */
    @Test
    void shouldTakeOnlyTheCanonicalIpv4Form()
    {
        final java.util.Random random = new java.util.Random(3);
        for (int i = 0; i < 100_000; i++)
        {
            final int length = random.nextInt(33);
            final String text = Prefixes.formatIpv4(random.nextInt() & Prefixes.ipv4Mask(length), length);
            assertEquals(text, Prefixes.parseIpv4(text).toString());
            final int dot = text.indexOf('.');
            final String padded = text.substring(0, dot) + ".0" + text.substring(dot + 1);
            assertThrows(IllegalArgumentException.class, () -> Prefixes.parseIpv4(padded), padded);
        }
    }

    @Test
    void shouldRejectWhitespaceAroundIpv4Prefix()
    {
        assertEquals("invalid IPv4 prefix ' 10.0.0.0/8': octet 1 ' 10' is not a decimal number 0..255",
            assertThrows(IllegalArgumentException.class, () -> Prefixes.parseIpv4(" 10.0.0.0/8")).getMessage());
        assertEquals("invalid IPv4 prefix '10.0.0.0/8 ': length '8 ' is not a decimal number 0..32",
            assertThrows(IllegalArgumentException.class, () -> Prefixes.parseIpv4("10.0.0.0/8 ")).getMessage());
    }

    @Test
    void shouldParseAndFormatIpv4Address()
    {
        assertEquals(0xC0000201, Prefixes.parseIpv4Address("192.0.2.1"));
        assertEquals("192.0.2.1", Prefixes.formatIpv4(0xC0000201));
        assertEquals("255.255.255.255", Prefixes.formatIpv4(-1));
        assertEquals("0.0.0.0/0", Prefixes.formatIpv4(0, 0));
        assertEquals("invalid IPv4 address '192.0.2': expected 4 dotted octets, found 3",
            assertThrows(IllegalArgumentException.class, () -> Prefixes.parseIpv4Address("192.0.2")).getMessage());
    }

    @Test
    void shouldRejectInvalidIpv4PrefixRecord()
    {
        assertEquals("IPv4 prefix 10.1.0.0/8 has host bits set beyond /8 (did you mean 10.0.0.0/8?)",
            assertThrows(IllegalArgumentException.class, () -> new Prefixes.Ipv4Prefix(0x0A010000, 8)).getMessage());
        assertEquals("IPv4 prefix length 33 is outside 0..32 (address 0.0.0.0)",
            assertThrows(IllegalArgumentException.class, () -> new Prefixes.Ipv4Prefix(0, 33)).getMessage());
        assertThrows(IllegalArgumentException.class, () -> new Prefixes.Ipv4Prefix(0, -1));
    }

    @Test
    void shouldTellWhetherIpv4PrefixContainsAddress()
    {
        final Prefixes.Ipv4Prefix prefix = Prefixes.parseIpv4("10.1.0.0/16");

        assertTrue(prefix.contains(Prefixes.parseIpv4Address("10.1.0.0")));
        assertTrue(prefix.contains(Prefixes.parseIpv4Address("10.1.255.255")));
        assertFalse(prefix.contains(Prefixes.parseIpv4Address("10.2.0.0")));
        assertFalse(prefix.contains(Prefixes.parseIpv4Address("10.0.255.255")));
        assertTrue(Prefixes.parseIpv4("0.0.0.0/0").contains(-1));
        assertEquals(0xFFFFFF00, Prefixes.ipv4Mask(24));
        assertEquals(0, Prefixes.ipv4Mask(0));
        assertEquals(-1, Prefixes.ipv4Mask(32));
    }

    // ---------------------------------------------------------------------------------------------
    // IPv6

    @ParameterizedTest
    @CsvSource({
        "::/0, 0, 0, 0, ::/0",
        "fd00::/8, 0xfd00000000000000, 0, 8, fd00::/8",
        "2001:db8::/32, 0x20010db800000000, 0, 32, 2001:db8::/32",
        "2001:DB8:0:0:0:0:0:0/32, 0x20010db800000000, 0, 32, 2001:db8::/32",
        "2001:0db8:0000:0000:0000:0000:0000:0001/128, 0x20010db800000000, 1, 128, 2001:db8::1/128",
        "1:2:3:4:5:6:7:8/128, 0x0001000200030004, 0x0005000600070008, 128, 1:2:3:4:5:6:7:8/128",
        "1:2:3:4:5:6:7::/128, 0x0001000200030004, 0x0005000600070000, 128, 1:2:3:4:5:6:7:0/128",
        "::1/128, 0, 1, 128, ::1/128",
        "::ffff:192.0.2.0/120, 0, 0x0000ffffc0000200, 120, ::ffff:192.0.2.0/120",
        "64:ff9b::192.0.2.0/120, 0x0064ff9b00000000, 0xc0000200, 120, 64:ff9b::c000:200/120",
        "2001:db8::8000:0:0:0/65, 0x20010db800000000, 0x8000000000000000, 65, 2001:db8:0:0:8000::/65",
        "2001:db8:0:0:1:0:0:0/80, 0x20010db800000000, 0x0001000000000000, 80, 2001:db8:0:0:1::/80"})
    void shouldParseAndFormatIpv6Prefix(final String text, final String high, final String low, final int length,
        final String canonical)
    {
        final Prefixes.Ipv6Prefix prefix = Prefixes.parseIpv6(text);

        assertEquals(Long.parseUnsignedLong(high.replace("0x", ""), 16), prefix.high());
        assertEquals(Long.parseUnsignedLong(low.replace("0x", ""), 16), prefix.low());
        assertEquals(length, prefix.length());
        assertEquals(canonical, prefix.toString());
        assertEquals(prefix, Prefixes.parseIpv6(canonical));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        // RFC 5952 section 4: shorten the longest run of zero groups, the first on a tie; not a single group
        "2001:db8:0:0:1:0:0:1|2001:db8::1:0:0:1",
        "2001:0:0:1:0:0:0:1|2001:0:0:1::1",
        "2001:db8:0:1:1:1:1:1|2001:db8:0:1:1:1:1:1",
        "0:0:0:0:0:0:0:0|::",
        "1:0:0:0:0:0:0:0|1::",
        "0:0:0:0:0:0:0:1|::1",
        "FE80:0:0:0:0:0:0:ABCD|fe80::abcd",
        "::ffff:10.1.2.3|::ffff:10.1.2.3"})
    void shouldFormatIpv6AddressCanonically(final String text, final String canonical)
    {
        final Prefixes.Ipv6Prefix address = Prefixes.parseIpv6Address(text);

        assertEquals(canonical, Prefixes.formatIpv6(address.high(), address.low()));
        assertEquals(128, address.length());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "fd00::|invalid IPv6 prefix 'fd00::': missing '/length' (for example fd00::/64)",
        "1::2::/64|invalid IPv6 prefix '1::2::/64': '::' appears more than once",
        "12345::/16|invalid IPv6 prefix '12345::/16': group '12345' at offset 0 has more than 4 hex digits",
        "2001:dg8::/32|invalid IPv6 prefix '2001:dg8::/32': group 'dg8' at offset 5 is not hexadecimal",
        "1:2:3:4:5:6:7/112|invalid IPv6 prefix '1:2:3:4:5:6:7/112': expected 8 groups, found 7",
        "1:2:3:4:5:6:7:8:9/128|invalid IPv6 prefix '1:2:3:4:5:6:7:8:9/128': more than 8 groups",
        "1:2:3:4:5:6:7:8::/128|invalid IPv6 prefix '1:2:3:4:5:6:7:8::/128': 8 groups and '::' make more than 8 groups",
        ":1::/64|invalid IPv6 prefix ':1::/64': empty group at offset 0",
        "1:::/64|invalid IPv6 prefix '1:::/64': ':::' is not valid (at most two colons in a row)",
        "fe80::1%eth0/128|invalid IPv6 prefix 'fe80::1%eth0/128': zone index '%eth0' is not allowed",
        "/64|invalid IPv6 prefix '/64': the address is empty",
        "::/129|invalid IPv6 prefix '::/129': length 129 is outside 0..128",
        "::/1x|invalid IPv6 prefix '::/1x': length '1x' is not a decimal number 0..128",
        "1.2.3.4::/64|invalid IPv6 prefix '1.2.3.4::/64': an embedded IPv4 address must come last",
        "::1.2.3.4:5/128|invalid IPv6 prefix '::1.2.3.4:5/128': an embedded IPv4 address must come last",
        "::1.2.3/128|invalid IPv6 prefix (embedded IPv4) '::1.2.3/128': expected 4 dotted octets, found 3",
        "1:2:3:4:5:6:7:1.2.3.4/128|invalid IPv6 prefix '1:2:3:4:5:6:7:1.2.3.4/128': no room for the embedded IPv4 address after 7 groups",
        "2001:db8::1/64|invalid IPv6 prefix '2001:db8::1/64': host bits are set beyond /64 (did you mean 2001:db8::/64?)"})
    void shouldRejectMalformedIpv6PrefixNamingTheProblem(final String text, final String message)
    {
        assertEquals(message, assertThrows(IllegalArgumentException.class, () -> Prefixes.parseIpv6(text)).getMessage());
    }

    @Test
    void shouldRejectInvalidIpv6PrefixRecord()
    {
        assertEquals("IPv6 prefix ::1/64 has host bits set beyond /64 (did you mean ::/64?)",
            assertThrows(IllegalArgumentException.class, () -> new Prefixes.Ipv6Prefix(0, 1, 64)).getMessage());
        assertEquals("IPv6 prefix length 129 is outside 0..128 (address ::)",
            assertThrows(IllegalArgumentException.class, () -> new Prefixes.Ipv6Prefix(0, 0, 129)).getMessage());
        assertEquals("invalid IPv6 address 'fe80::1%1': zone index '%1' is not allowed",
            assertThrows(IllegalArgumentException.class, () -> Prefixes.parseIpv6Address("fe80::1%1")).getMessage());
    }

    @Test
    void shouldTellWhetherIpv6PrefixContainsAddress()
    {
        final Prefixes.Ipv6Prefix prefix = Prefixes.parseIpv6("2001:db8:0:0:8000::/65");
        final Prefixes.Ipv6Prefix inside = Prefixes.parseIpv6Address("2001:db8::ffff:ffff:ffff:ffff");
        final Prefixes.Ipv6Prefix outside = Prefixes.parseIpv6Address("2001:db8::7fff:ffff:ffff:ffff");

        assertTrue(prefix.contains(inside.high(), inside.low()));
        assertFalse(prefix.contains(outside.high(), outside.low()));
        assertTrue(Prefixes.parseIpv6("::/0").contains(-1L, -1L));
        assertEquals(-1L, Prefixes.ipv6HighMask(64));
        assertEquals(0L, Prefixes.ipv6LowMask(64));
        assertEquals(0xFFFF_0000_0000_0000L, Prefixes.ipv6HighMask(16));
        assertEquals(-2L, Prefixes.ipv6LowMask(127));
        assertEquals(-1L, Prefixes.ipv6LowMask(128));
        assertEquals(0L, Prefixes.ipv6HighMask(0));
    }
}
