package io.vsnic.dataplane.security;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import static io.vsnic.dataplane.security.Addresses.v4;
import static io.vsnic.dataplane.security.Addresses.v6High;
import static io.vsnic.dataplane.security.Addresses.v6Low;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CidrTest
{
    @Test
    void shouldParseIpv4PrefixAndMask()
    {
        final Cidr cidr = Cidr.parse("10.128.0.0/9");

        assertFalse(cidr.ipv6());
        assertEquals(0, cidr.high());
        assertEquals(v4("10.128.0.0") & 0xFFFF_FFFFL, cidr.low());
        assertEquals(9, cidr.prefixLength());
        assertEquals(0xFF80_0000L, cidr.maskLow());
        assertEquals(0, cidr.maskHigh());
    }

    @Test
    void shouldMatchIpv4AddressesInsideThePrefixOnly()
    {
        final Cidr cidr = Cidr.parse("192.168.4.0/22");

        assertTrue(cidr.containsV4(v4("192.168.4.0")));
        assertTrue(cidr.containsV4(v4("192.168.7.255")));
        assertFalse(cidr.containsV4(v4("192.168.8.0")));
        assertFalse(cidr.containsV4(v4("192.168.3.255")));
        assertFalse(cidr.containsV6(0, v4("192.168.4.1") & 0xFFFF_FFFFL));
    }

    @Test
    void shouldMatchEveryAddressWithPrefixZeroAndOneAddressWithFullLength()
    {
        assertTrue(Cidr.parse("0.0.0.0/0").containsV4(v4("255.255.255.255")));
        assertTrue(Cidr.parse("0.0.0.0/0").containsV4(0));
        assertTrue(Cidr.parse("203.0.113.7/32").containsV4(v4("203.0.113.7")));
        assertFalse(Cidr.parse("203.0.113.7/32").containsV4(v4("203.0.113.6")));
        assertTrue(Cidr.parse("::/0").containsV6(-1L, -1L));
        assertTrue(Cidr.parse("2001:db8::1/128").containsV6(v6High("2001:db8::1"), v6Low("2001:db8::1")));
        assertFalse(Cidr.parse("2001:db8::1/128").containsV6(v6High("2001:db8::2"), v6Low("2001:db8::2")));
    }

    @ParameterizedTest
    @CsvSource({
        "fd00::/64, fd00::1234:5678, fd00:0:0:1::1",
        "2001:db8:abcd::/48, 2001:db8:abcd:ffff:ffff:ffff:ffff:ffff, 2001:db8:abce::",
        "2001:db8::/32, 2001:db8::, 2001:db9::",
        "2001:db8::ff00:0/120, 2001:db8::ff00:ff, 2001:db8::ff01:0",
        "fe80::/10, febf::1, fec0::1",
        "::ffff:192.0.2.0/120, ::ffff:192.0.2.200, ::ffff:192.0.3.0",
    })
    void shouldMatchIpv6AddressesAcrossBothHalves(final String prefix, final String inside, final String outside)
    {
        final Cidr cidr = Cidr.parse(prefix);

        assertTrue(cidr.ipv6());
        assertTrue(cidr.containsV6(v6High(inside), v6Low(inside)), inside);
        assertFalse(cidr.containsV6(v6High(outside), v6Low(outside)), outside);
        assertFalse(cidr.containsV4(0));
    }

    @ParameterizedTest
    @CsvSource({
        "2001:DB8:0:0:0:0:0:0/32, 2001:db8::/32",
        "2001:0db8:0000:0000:0000:0000:0000:0001/128, 2001:db8::1/128",
        "0:0:0:0:0:0:0:0/0, ::/0",
        "fd00:0:0:1::/64, fd00:0:0:1::/64",
        "::1/128, ::1/128",
        "1::/16, 1::/16",
        "2001:db8:0:1:1:1:1:1/128, 2001:db8:0:1:1:1:1:1/128",
        "2001:0:0:1::1/128, 2001:0:0:1::1/128",
        "::ffff:10.0.0.0/104, ::ffff:10.0.0.0/104",
        "10.0.0.0/8, 10.0.0.0/8",
    })
    void shouldPrintCanonicalForm(final String text, final String canonical)
    {
        assertEquals(canonical, Cidr.parse(text).toString());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "10.0.0.0| missing '/length'",
        "10.0.0.0/8/8| more than one '/'",
        "10.0.0.1/8| host bits are set beyond /8 (did you mean 10.0.0.0/8?)",
        "fd00::1/64| host bits are set beyond /64 (did you mean fd00::/64?)",
        "10.0.0.0/33| length 33 is outside 0..32",
        "fd00::/129| length 129 is outside 0..128",
        "10.0.0.0/| length '' is not a decimal number",
        "10.0.0.0/-1| length '-1' is not a decimal number",
        "10.0.0.0/08| length '08' has a leading zero",
        "10.0.300.0/24| octet 3 is 300, above 255",
        "10.0.010.0/24| octet 3 '010' has a leading zero",
        "10.0.0/24| expected 4 dotted octets, found 3",
        "10.0.0.0.0/24| more than 4 dotted octets",
        "10..0.0/24| octet 2 is empty",
        "10.a.0.0/24| octet 2 'a' is not a decimal number",
        "/8| octet 1 is empty",
        "example.com/8| octet 1 'example' is not a decimal number",
        "fd00:::1/64| ':::' is not valid",
        ":fd00::/64| empty group at offset 0",
        "fd00::1::/64| '::' appears more than once",
        "fd00:1:2:3:4:5:6/64| expected 8 groups, found 7",
        "1:2:3:4:5:6:7:8:9/64| more than 8 groups",
        "1:2:3:4::5:6:7:8/64| 8 groups and '::' make more than 8 groups",
        "fd00:12345::/64| '12345' at offset 5 has more than 4 hex digits",
        "fe80::1%eth0/128| zone index '%eth0' is not allowed",
        "fd00::g/64| group 'g' at offset 6 is not hexadecimal",
        "1.2.3.4::/64| an embedded IPv4 address must come last",
        "' 10.0.0.0/8'| octet 1 ' 10' is not a decimal number",
        "'10.0.0.0/8 '| length '8 ' is not a decimal number",
    })
    void shouldRejectMalformedCidrWithPreciseMessage(final String text, final String message)
    {
        final IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, () -> Cidr.parse(text));

        assertTrue(ex.getMessage().contains("'" + text + "'"), ex.getMessage());
        assertTrue(ex.getMessage().contains(message), ex.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"\u0661\u0660.0.0.0/8", "fd\u0660\u0660::/16"})
    void shouldRejectNonAsciiDigits(final String text)
    {
        assertThrows(IllegalArgumentException.class, () -> Cidr.parse(text));
    }

    @Test
    void shouldRejectNull()
    {
        final IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, () -> Cidr.parse(null));

        assertEquals("cidr must not be null", ex.getMessage());
    }
}
