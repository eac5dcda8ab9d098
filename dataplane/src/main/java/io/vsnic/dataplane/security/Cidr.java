package io.vsnic.dataplane.security;

import io.vsnic.dataplane.table.Prefixes;

/**
 * An address prefix in CIDR notation (RFC 4632 for IPv4, RFC 4291 section 2.3 for IPv6), parsed
 * strictly and without name resolution: {@code "10.0.0.0/8"}, {@code "fd00::/64"},
 * {@code "::ffff:192.0.2.0/120"}.
 *
 * <p>The address is held as 128 bits: an IPv4 address is the low 32 bits of {@code low} (and
 * {@code high} is 0). The network's host bits are always zero: {@link #parse(String)} rejects a
 * prefix such as {@code 10.0.0.1/8} rather than guessing what was meant.
 *
 * <p>Parsing and formatting are {@link Prefixes}' (the route tables' text form), so a prefix means
 * the same in a security rule as in a route: rejected on purpose are a missing prefix length,
 * leading zeros in IPv4 octets (which {@code inet_aton} would read as octal), IPv6 zone ids
 * ({@code %eth0}), white space, and anything that is not a literal address.
 *
 * @param ipv6         true for an IPv6 prefix.
 * @param high         bits 127..64 of the network address (0 for IPv4).
 * @param low          bits 63..0 of the network address (IPv4: the address, zero-extended).
 * @param prefixLength number of leading network bits: 0..32 for IPv4, 0..128 for IPv6.
 */
record Cidr(boolean ipv6, long high, long low, int prefixLength)
{
    /**
     * Parses a prefix.
     *
     * @param text for example {@code "10.0.0.0/8"} or {@code "fd00::/64"}.
     * @return the prefix.
     * @throws IllegalArgumentException naming what is wrong with {@code text}.
     */
    static Cidr parse(final String text)
    {
        if (text == null)
        {
            throw new IllegalArgumentException("cidr must not be null");
        }
        if (text.indexOf(':') >= 0)
        {
            final Prefixes.Ipv6Prefix prefix = Prefixes.parseIpv6(text);
            return new Cidr(true, prefix.high(), prefix.low(), prefix.length());
        }
        final Prefixes.Ipv4Prefix prefix = Prefixes.parseIpv4(text);
        return new Cidr(false, 0, prefix.address() & 0xFFFF_FFFFL, prefix.length());
    }

    /**
     * @return bits 127..64 of the network mask (IPv4: 0).
     */
    long maskHigh()
    {
        if (!ipv6)
        {
            return 0;
        }
        return prefixLength == 0 ? 0 : prefixLength >= 64 ? -1L : -1L << (64 - prefixLength);
    }

    /**
     * @return bits 63..0 of the network mask (IPv4: the 32-bit mask, zero-extended).
     */
    long maskLow()
    {
        if (!ipv6)
        {
            return prefixLength == 0 ? 0 : (0xFFFF_FFFFL << (32 - prefixLength)) & 0xFFFF_FFFFL;
        }
        return prefixLength <= 64 ? 0 : prefixLength == 128 ? -1L : -1L << (128 - prefixLength);
    }

    /**
     * @param address an IPv4 address as an int, most significant octet first.
     * @return whether this is an IPv4 prefix that contains it.
     */
    boolean containsV4(final int address)
    {
        return !ipv6 && ((address & 0xFFFF_FFFFL) & maskLow()) == low;
    }

    /**
     * @param addressHigh bits 127..64 of an IPv6 address.
     * @param addressLow  bits 63..0.
     * @return whether this is an IPv6 prefix that contains it.
     */
    boolean containsV6(final long addressHigh, final long addressLow)
    {
        return ipv6 && (addressHigh & maskHigh()) == high && (addressLow & maskLow()) == low;
    }

    /**
     * @return the canonical text: dotted quad for IPv4, RFC 5952 form for IPv6, then the length.
     */
    @Override
    public String toString()
    {
        return ipv6 ? Prefixes.formatIpv6(high, low, prefixLength) : Prefixes.formatIpv4((int)low, prefixLength);
    }
}
