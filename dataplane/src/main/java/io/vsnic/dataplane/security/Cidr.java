package io.vsnic.dataplane.security;

/**
 * An address prefix in CIDR notation (RFC 4632 for IPv4, RFC 4291 section 2.3 for IPv6), parsed
 * strictly and without name resolution: {@code "10.0.0.0/8"}, {@code "fd00::/64"},
 * {@code "::ffff:192.0.2.0/120"}.
 *
 * <p>The address is held as 128 bits: an IPv4 address is the low 32 bits of {@code low} (and
 * {@code high} is 0). The network's host bits are always zero: {@link #parse(String)} rejects a
 * prefix such as {@code 10.0.0.1/8} rather than guessing what was meant.
 *
 * <p>Rejected on purpose: a missing prefix length, leading zeros in IPv4 octets (which
 * {@code inet_aton} would read as octal) and in prefix lengths, IPv6 zone ids ({@code %eth0}),
 * white space, and anything that is not a literal address.
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
        final int slash = text.indexOf('/');
        if (slash < 0)
        {
            throw new IllegalArgumentException("cidr '" + text + "' has no prefix length: write address/length, " +
                "for example 10.0.0.0/8 or fd00::/64");
        }
        if (text.indexOf('/', slash + 1) >= 0)
        {
            throw new IllegalArgumentException("cidr '" + text + "' has more than one '/'");
        }
        final String address = text.substring(0, slash);
        final boolean ipv6 = address.indexOf(':') >= 0;
        final int maxPrefix = ipv6 ? 128 : 32;
        final int prefixLength = parsePrefixLength(text, text.substring(slash + 1), maxPrefix);
        final long high;
        final long low;
        if (ipv6)
        {
            final long[] words = parseIpv6(text, address);
            high = words[0];
            low = words[1];
        }
        else
        {
            high = 0;
            low = parseIpv4(text, address) & 0xFFFF_FFFFL;
        }
        final Cidr cidr = new Cidr(ipv6, high, low, prefixLength);
        if ((high & ~cidr.maskHigh()) != 0 || (low & ~cidr.maskLow()) != 0)
        {
            final Cidr network = new Cidr(ipv6, high & cidr.maskHigh(), low & cidr.maskLow(), prefixLength);
            throw new IllegalArgumentException("cidr '" + text + "' has host bits set: the network is " + network);
        }
        return cidr;
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
        final StringBuilder builder = new StringBuilder(48);
        if (ipv6)
        {
            appendIpv6(builder, high, low);
        }
        else
        {
            appendIpv4(builder, (int)low);
        }
        return builder.append('/').append(prefixLength).toString();
    }

    /**
     * Parses an IPv4 dotted quad.
     *
     * @param text    the whole cidr, for messages.
     * @param address the address part.
     * @return the address, most significant octet first.
     */
    static int parseIpv4(final String text, final String address)
    {
        int result = 0;
        int octets = 0;
        int start = 0;
        while (true)
        {
            int end = address.indexOf('.', start);
            if (end < 0)
            {
                end = address.length();
            }
            if (octets == 4)
            {
                throw new IllegalArgumentException("cidr '" + text + "': IPv4 address '" + address +
                    "' has more than 4 octets");
            }
            result = (result << 8) | parseOctet(text, address.substring(start, end));
            octets++;
            if (end == address.length())
            {
                break;
            }
            start = end + 1;
        }
        if (octets != 4)
        {
            throw new IllegalArgumentException("cidr '" + text + "': IPv4 address '" + address + "' has " + octets +
                " octets, needs 4");
        }
        return result;
    }

    private static int parseOctet(final String text, final String octet)
    {
        if (octet.isEmpty())
        {
            throw new IllegalArgumentException("cidr '" + text + "': empty IPv4 octet");
        }
        if (octet.length() > 3 || !allDigits(octet))
        {
            throw new IllegalArgumentException("cidr '" + text + "': IPv4 octet '" + octet +
                "' is not a number 0..255");
        }
        if (octet.length() > 1 && octet.charAt(0) == '0')
        {
            throw new IllegalArgumentException("cidr '" + text + "': IPv4 octet '" + octet +
                "' has a leading zero (ambiguous: octal to some parsers)");
        }
        final int value = Integer.parseInt(octet);
        if (value > 255)
        {
            throw new IllegalArgumentException("cidr '" + text + "': IPv4 octet " + value + " is out of range 0..255");
        }
        return value;
    }

    private static int parsePrefixLength(final String text, final String digits, final int maxPrefix)
    {
        if (digits.isEmpty() || digits.length() > 3 || !allDigits(digits))
        {
            throw new IllegalArgumentException("cidr '" + text + "': prefix length '" + digits +
                "' is not a number 0.." + maxPrefix);
        }
        if (digits.length() > 1 && digits.charAt(0) == '0')
        {
            throw new IllegalArgumentException("cidr '" + text + "': prefix length '" + digits +
                "' has a leading zero");
        }
        final int value = Integer.parseInt(digits);
        if (value > maxPrefix)
        {
            throw new IllegalArgumentException("cidr '" + text + "': " + (maxPrefix == 32 ? "IPv4" : "IPv6") +
                " prefix length must be in 0.." + maxPrefix + ", got " + value);
        }
        return value;
    }

    /**
     * Parses an IPv6 address in any RFC 4291 section 2.2 text form: eight groups of 1..4 hex digits,
     * at most one {@code ::} standing for one or more zero groups, and optionally a dotted quad for
     * the last 32 bits.
     *
     * @return {high, low}.
     */
    private static long[] parseIpv6(final String text, final String address)
    {
        for (int i = 0; i < address.length(); i++)
        {
            final char c = address.charAt(i);
            if (!isAsciiHexDigit(c) && c != ':' && c != '.')
            {
                throw new IllegalArgumentException("cidr '" + text + "': character '" + c +
                    "' is not allowed in an IPv6 address" + (c == '%' ? " (zone ids are not allowed)" : ""));
            }
        }
        if (address.contains(":::"))
        {
            throw new IllegalArgumentException("cidr '" + text + "': IPv6 address has an empty group (':::')");
        }
        final int gap = address.indexOf("::");
        if (gap >= 0 && address.indexOf("::", gap + 1) >= 0)
        {
            throw new IllegalArgumentException("cidr '" + text + "': IPv6 address has more than one '::'");
        }
        final int[] groups = new int[8];
        final int headCount;
        final int tailCount;
        final int[] tail = new int[8];
        if (gap >= 0)
        {
            headCount = parseGroups(text, address.substring(0, gap), groups, false);
            tailCount = parseGroups(text, address.substring(gap + 2), tail, true);
            if (headCount + tailCount > 7)
            {
                throw new IllegalArgumentException("cidr '" + text + "': IPv6 address has too many groups for '::'");
            }
        }
        else
        {
            headCount = parseGroups(text, address, groups, true);
            tailCount = 0;
            if (headCount != 8)
            {
                throw new IllegalArgumentException("cidr '" + text + "': IPv6 address has " + headCount +
                    " groups, needs 8 (or '::')");
            }
        }
        System.arraycopy(tail, 0, groups, 8 - tailCount, tailCount);
        long high = 0;
        long low = 0;
        for (int i = 0; i < 4; i++)
        {
            high = (high << 16) | groups[i];
            low = (low << 16) | groups[i + 4];
        }
        return new long[] {high, low};
    }

    /**
     * Parses colon-separated groups into {@code into}; an empty part yields no groups.
     *
     * @param mayEndWithIpv4 whether the last group may be a dotted quad (two groups).
     * @return the number of 16-bit groups written.
     */
    private static int parseGroups(final String text, final String part, final int[] into, final boolean mayEndWithIpv4)
    {
        if (part.isEmpty())
        {
            return 0;
        }
        final String[] pieces = part.split(":", -1);
        int count = 0;
        for (int i = 0; i < pieces.length; i++)
        {
            final String piece = pieces[i];
            if (piece.isEmpty())
            {
                throw new IllegalArgumentException("cidr '" + text + "': IPv6 address has an empty group " +
                    "(a single ':' at the start or end, or ':::')");
            }
            if (piece.indexOf('.') >= 0)
            {
                if (!mayEndWithIpv4 || i != pieces.length - 1)
                {
                    throw new IllegalArgumentException("cidr '" + text +
                        "': an embedded IPv4 address may only end an IPv6 address");
                }
                if (count + 2 > 8)
                {
                    throw new IllegalArgumentException("cidr '" + text + "': IPv6 address has more than 8 groups");
                }
                final int ipv4 = parseIpv4(text, piece);
                into[count++] = ipv4 >>> 16;
                into[count++] = ipv4 & 0xFFFF;
                continue;
            }
            if (piece.length() > 4)
            {
                throw new IllegalArgumentException("cidr '" + text + "': IPv6 group '" + piece +
                    "' has more than 4 hex digits");
            }
            if (count == 8)
            {
                throw new IllegalArgumentException("cidr '" + text + "': IPv6 address has more than 8 groups");
            }
            into[count++] = Integer.parseInt(piece, 16);
        }
        return count;
    }

    private static boolean isAsciiHexDigit(final char c)
    {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    }

    private static boolean allDigits(final String text)
    {
        for (int i = 0; i < text.length(); i++)
        {
            final char c = text.charAt(i);
            if (c < '0' || c > '9')
            {
                return false;
            }
        }
        return true;
    }

    /**
     * Appends an IPv4 address as a dotted quad.
     */
    static void appendIpv4(final StringBuilder builder, final int address)
    {
        builder.append(address >>> 24).append('.').append((address >>> 16) & 0xFF).append('.')
            .append((address >>> 8) & 0xFF).append('.').append(address & 0xFF);
    }

    /**
     * Appends an IPv6 address in RFC 5952 form: lower case, no leading zeros, the longest run of two
     * or more zero groups (the first if tied) written as {@code ::}.
     */
    static void appendIpv6(final StringBuilder builder, final long high, final long low)
    {
        final int[] groups = new int[8];
        for (int i = 0; i < 4; i++)
        {
            groups[i] = (int)(high >>> (48 - 16 * i)) & 0xFFFF;
            groups[i + 4] = (int)(low >>> (48 - 16 * i)) & 0xFFFF;
        }
        int bestStart = -1;
        int bestLength = 1;
        for (int i = 0; i < 8; i++)
        {
            int j = i;
            while (j < 8 && groups[j] == 0)
            {
                j++;
            }
            if (j - i > bestLength)
            {
                bestStart = i;
                bestLength = j - i;
            }
            i = Math.max(i, j);
        }
        for (int i = 0; i < 8; i++)
        {
            if (i == bestStart)
            {
                builder.append("::");
                i += bestLength - 1;
                continue;
            }
            if (i > 0 && i != bestStart + bestLength)
            {
                builder.append(':');
            }
            builder.append(Integer.toHexString(groups[i]));
        }
    }
}
