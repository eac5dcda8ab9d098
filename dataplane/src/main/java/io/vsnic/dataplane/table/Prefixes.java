package io.vsnic.dataplane.table;

import java.util.Objects;

/**
 * Text form of IPv4 and IPv6 prefixes for the control plane and the API: parsing with precise
 * {@link IllegalArgumentException}s that quote the input and name the offending part, and
 * formatting back to canonical text.
 *
 * <ul>
 *   <li>IPv4: dotted decimal, exactly four octets 0..255 without leading zeros (so that
 *       {@code 010} is never read as octal or decimal by accident), then {@code /0..32}.</li>
 *   <li>IPv6: RFC 4291 section 2.2 text (hex groups, one {@code ::}, an optional trailing dotted
 *       IPv4 part), then {@code /0..128}. Zone indexes ({@code %eth0}) are rejected. Formatting
 *       follows RFC 5952 (lower case, no leading zeros, the longest run of two or more zero groups
 *       shortened to {@code ::}, the first such run on a tie, mixed notation for IPv4-mapped
 *       addresses).</li>
 *   <li>A prefix's host bits (those beyond its length) must be zero: {@code 10.0.0.1/8} is an error
 *       that suggests {@code 10.0.0.0/8}, because such input is usually a typo for a host address.</li>
 * </ul>
 *
 * <p>Addresses are in network order: an IPv4 address is an {@code int} whose high byte is the first
 * octet; an IPv6 address is two {@code long}s, {@code high} holding bytes 0..7.
 */
public final class Prefixes
{
    /**
     * An IPv4 prefix: {@code address} in network order with all bits beyond {@code length} zero.
     *
     * @param address the network address, first octet in the high byte.
     * @param length  the prefix length, 0..32.
     */
    public record Ipv4Prefix(int address, int length)
    {
        /**
         * @throws IllegalArgumentException if the length is outside 0..32 or host bits are set.
         */
        public Ipv4Prefix
        {
            checkIpv4(address, length);
        }

        /**
         * @return whether {@code candidate} lies inside this prefix.
         */
        public boolean contains(final int candidate)
        {
            return (candidate & ipv4Mask(length)) == address;
        }

        /**
         * @return canonical text, for example {@code 10.0.0.0/8}.
         */
        @Override
        public String toString()
        {
            return formatIpv4(address, length);
        }
    }

    /**
     * An IPv6 prefix: the address as two {@code long}s in network order with all bits beyond
     * {@code length} zero.
     *
     * @param high   address bytes 0..7, byte 0 in the high byte.
     * @param low    address bytes 8..15.
     * @param length the prefix length, 0..128.
     */
    public record Ipv6Prefix(long high, long low, int length)
    {
        /**
         * @throws IllegalArgumentException if the length is outside 0..128 or host bits are set.
         */
        public Ipv6Prefix
        {
            checkIpv6(high, low, length);
        }

        /**
         * @return whether the address {@code (candidateHigh, candidateLow)} lies inside this prefix.
         */
        public boolean contains(final long candidateHigh, final long candidateLow)
        {
            return (candidateHigh & ipv6HighMask(length)) == high && (candidateLow & ipv6LowMask(length)) == low;
        }

        /**
         * @return canonical RFC 5952 text, for example {@code fd00::/64}.
         */
        @Override
        public String toString()
        {
            return formatIpv6(high, low, length);
        }
    }

    private Prefixes()
    {
    }

    // ---------------------------------------------------------------------------------------------
    // IPv4

    /**
     * Parses {@code a.b.c.d/length}.
     *
     * @throws IllegalArgumentException naming what is wrong, for example
     *                                  {@code invalid IPv4 prefix '10.0.0.256/8': octet 4 is 256, above 255}.
     */
    public static Ipv4Prefix parseIpv4(final String text)
    {
        Objects.requireNonNull(text, "text");
        final int slash = slash(text, "IPv4");
        final int address = parseIpv4(text, 0, slash, text, "IPv4 prefix");
        final int length = parseLength(text, slash + 1, 32, "IPv4");
        if ((address & ~ipv4Mask(length)) != 0)
        {
            throw new IllegalArgumentException("invalid IPv4 prefix '" + text + "': host bits are set beyond /" +
                length + " (did you mean " + formatIpv4(address & ipv4Mask(length), length) + "?)");
        }
        return new Ipv4Prefix(address, length);
    }

    /**
     * Parses a dotted-decimal IPv4 address such as {@code 192.0.2.1}.
     *
     * @return the address in network order.
     * @throws IllegalArgumentException naming the offending octet.
     */
    public static int parseIpv4Address(final String text)
    {
        Objects.requireNonNull(text, "text");
        return parseIpv4(text, 0, text.length(), text, "IPv4 address");
    }

    /**
     * @return dotted decimal text of an address in network order, for example {@code 192.0.2.1}.
     */
    public static String formatIpv4(final int address)
    {
        return (address >>> 24) + "." + ((address >>> 16) & 0xFF) + '.' + ((address >>> 8) & 0xFF) + '.' +
            (address & 0xFF);
    }

    /**
     * @return {@code a.b.c.d/length}; the address is printed as given, host bits included.
     */
    public static String formatIpv4(final int address, final int length)
    {
        return formatIpv4(address) + '/' + length;
    }

    /**
     * @return the netmask of a prefix length 0..32, for example {@code 0xFFFFFF00} for 24.
     */
    public static int ipv4Mask(final int length)
    {
        return length == 0 ? 0 : -1 << (32 - length);
    }

    /**
     * Validates an IPv4 prefix as the builders and records accept it.
     *
     * @throws IllegalArgumentException if the length is outside 0..32 or host bits are set.
     */
    static void checkIpv4(final int address, final int length)
    {
        if (length < 0 || length > 32)
        {
            throw new IllegalArgumentException("IPv4 prefix length " + length + " is outside 0..32 (address " +
                formatIpv4(address) + ")");
        }
        if ((address & ~ipv4Mask(length)) != 0)
        {
            throw new IllegalArgumentException("IPv4 prefix " + formatIpv4(address, length) +
                " has host bits set beyond /" + length + " (did you mean " +
                formatIpv4(address & ipv4Mask(length), length) + "?)");
        }
    }

    private static int parseIpv4(final String text, final int from, final int to, final String whole, final String what)
    {
        int address = 0;
        int octet = 0;
        int start = from;
        for (int i = from; i <= to; i++)
        {
            if (i == to || text.charAt(i) == '.')
            {
                octet++;
                if (octet > 4)
                {
                    throw new IllegalArgumentException("invalid " + what + " '" + whole +
                        "': more than 4 dotted octets");
                }
                address = address << 8 | parseOctet(text, start, i, octet, whole, what);
                start = i + 1;
            }
        }
        if (octet != 4)
        {
            throw new IllegalArgumentException("invalid " + what + " '" + whole +
                "': expected 4 dotted octets, found " + octet);
        }
        return address;
    }

    private static int parseOctet(final String text, final int from, final int to, final int octet, final String whole,
        final String what)
    {
        // read in place: a million-route table parses four million octets, and a substring each was most of it
        int value = 0;
        boolean decimal = to - from <= 3;
        for (int i = from; i < to && decimal; i++)
        {
            final char c = text.charAt(i);
            decimal = c >= '0' && c <= '9';
            value = value * 10 + (c - '0');
        }
        if (from == to)
        {
            throw new IllegalArgumentException("invalid " + what + " '" + whole + "': octet " + octet + " is empty");
        }
        if (!decimal)
        {
            throw new IllegalArgumentException("invalid " + what + " '" + whole + "': octet " + octet + " '" +
                text.substring(from, to) + "' is not a decimal number 0..255");
        }
        if (to - from > 1 && text.charAt(from) == '0')
        {
            throw new IllegalArgumentException("invalid " + what + " '" + whole + "': octet " + octet + " '" +
                text.substring(from, to) + "' has a leading zero");
        }
        if (value > 255)
        {
            throw new IllegalArgumentException("invalid " + what + " '" + whole + "': octet " + octet + " is " + value +
                ", above 255");
        }
        return value;
    }

    // ---------------------------------------------------------------------------------------------
    // IPv6

    /**
     * Parses an IPv6 prefix such as {@code 2001:db8::/32} or {@code ::ffff:192.0.2.0/120}.
     *
     * @throws IllegalArgumentException naming what is wrong, for example
     *                                  {@code invalid IPv6 prefix '1::2::/64': '::' appears more than once}.
     */
    public static Ipv6Prefix parseIpv6(final String text)
    {
        Objects.requireNonNull(text, "text");
        final int slash = slash(text, "IPv6");
        final long[] address = parseIpv6(text, slash, "IPv6 prefix");
        final int length = parseLength(text, slash + 1, 128, "IPv6");
        final long high = address[0] & ipv6HighMask(length);
        final long low = address[1] & ipv6LowMask(length);
        if (high != address[0] || low != address[1])
        {
            throw new IllegalArgumentException("invalid IPv6 prefix '" + text + "': host bits are set beyond /" +
                length + " (did you mean " + formatIpv6(high, low, length) + "?)");
        }
        return new Ipv6Prefix(high, low, length);
    }

    /**
     * Parses an IPv6 address without a length, such as {@code fd00::1}, as a /128 prefix.
     *
     * @throws IllegalArgumentException naming what is wrong.
     */
    public static Ipv6Prefix parseIpv6Address(final String text)
    {
        Objects.requireNonNull(text, "text");
        final long[] address = parseIpv6(text, text.length(), "IPv6 address");
        return new Ipv6Prefix(address[0], address[1], 128);
    }

    /**
     * @return RFC 5952 text of an address, for example {@code 2001:db8::1}.
     */
    public static String formatIpv6(final long high, final long low)
    {
        final StringBuilder out = new StringBuilder(41);
        if (high == 0 && (low >>> 32) == 0xFFFFL)
        {
            return out.append("::ffff:").append(formatIpv4((int)low)).toString();
        }
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
            i = j;
        }
        for (int i = 0; i < 8; i++)
        {
            if (i == bestStart)
            {
                out.append("::");
                i += bestLength - 1;
                continue;
            }
            if (out.length() > 0 && out.charAt(out.length() - 1) != ':')
            {
                out.append(':');
            }
            out.append(Integer.toHexString(groups[i]));
        }
        return out.toString();
    }

    /**
     * @return {@code address/length} with the address in RFC 5952 text, host bits printed as given.
     */
    public static String formatIpv6(final long high, final long low, final int length)
    {
        return formatIpv6(high, low) + '/' + length;
    }

    /**
     * @return the mask of the high 64 address bits for a prefix length 0..128.
     */
    public static long ipv6HighMask(final int length)
    {
        return length >= 64 ? -1L : length == 0 ? 0L : -1L << (64 - length);
    }

    /**
     * @return the mask of the low 64 address bits for a prefix length 0..128.
     */
    public static long ipv6LowMask(final int length)
    {
        return length <= 64 ? 0L : -1L << (128 - length);
    }

    /**
     * Validates an IPv6 prefix as the builders and records accept it.
     *
     * @throws IllegalArgumentException if the length is outside 0..128 or host bits are set.
     */
    static void checkIpv6(final long high, final long low, final int length)
    {
        if (length < 0 || length > 128)
        {
            throw new IllegalArgumentException("IPv6 prefix length " + length + " is outside 0..128 (address " +
                formatIpv6(high, low) + ")");
        }
        final long maskedHigh = high & ipv6HighMask(length);
        final long maskedLow = low & ipv6LowMask(length);
        if (maskedHigh != high || maskedLow != low)
        {
            throw new IllegalArgumentException("IPv6 prefix " + formatIpv6(high, low, length) +
                " has host bits set beyond /" + length + " (did you mean " + formatIpv6(maskedHigh, maskedLow, length) +
                "?)");
        }
    }

    private static long[] parseIpv6(final String text, final int to, final String what)
    {
        final String address = text.substring(0, to);
        final int percent = address.indexOf('%');
        if (percent >= 0)
        {
            throw new IllegalArgumentException("invalid " + what + " '" + text + "': zone index '" +
                address.substring(percent) + "' is not allowed");
        }
        if (address.isEmpty())
        {
            throw new IllegalArgumentException("invalid " + what + " '" + text + "': the address is empty");
        }
        if (address.contains(":::"))
        {
            throw new IllegalArgumentException("invalid " + what + " '" + text +
                "': ':::' is not valid (at most two colons in a row)");
        }
        final int gap = address.indexOf("::");
        if (gap >= 0 && address.indexOf("::", gap + 1) >= 0)
        {
            throw new IllegalArgumentException("invalid " + what + " '" + text + "': '::' appears more than once");
        }
        final int[] groups = new int[8];
        final int headCount;
        final int tailCount;
        final int[] tail = new int[8];
        if (gap < 0)
        {
            headCount = parseGroups(address, 0, address.length(), groups, text, what);
            tailCount = 0;
            if (headCount != 8)
            {
                throw new IllegalArgumentException("invalid " + what + " '" + text + "': expected 8 groups, found " +
                    headCount);
            }
        }
        else
        {
            headCount = gap == 0 ? 0 : parseGroups(address, 0, gap, groups, text, what);
            tailCount = gap + 2 == address.length() ? 0 :
                parseGroups(address, gap + 2, address.length(), tail, text, what);
            if (headCount + tailCount > 7)
            {
                throw new IllegalArgumentException("invalid " + what + " '" + text + "': " + (headCount + tailCount) +
                    " groups and '::' make more than 8 groups");
            }
            if (gap > 0 && address.substring(0, gap).indexOf('.') >= 0)
            {
                throw new IllegalArgumentException("invalid " + what + " '" + text +
                    "': an embedded IPv4 address must come last");
            }
            System.arraycopy(tail, 0, groups, 8 - tailCount, tailCount);
        }
        long high = 0;
        long low = 0;
        for (int i = 0; i < 4; i++)
        {
            high = high << 16 | groups[i];
            low = low << 16 | groups[i + 4];
        }
        return new long[] {high, low};
    }

    /**
     * Parses colon-separated groups of {@code text[from, to)} into {@code out}; a dotted IPv4 part
     * is allowed as the last group and fills two groups.
     *
     * @return number of groups filled.
     */
    private static int parseGroups(final String text, final int from, final int to, final int[] out,
        final String whole, final String what)
    {
        int count = 0;
        int start = from;
        for (int i = from; i <= to; i++)
        {
            if (i == to || text.charAt(i) == ':')
            {
                final String group = text.substring(start, i);
                if (group.isEmpty())
                {
                    throw new IllegalArgumentException("invalid " + what + " '" + whole + "': empty group at offset " +
                        start);
                }
                if (group.indexOf('.') >= 0)
                {
                    if (i != to)
                    {
                        throw new IllegalArgumentException("invalid " + what + " '" + whole +
                            "': an embedded IPv4 address must come last");
                    }
                    if (count > 6)
                    {
                        throw new IllegalArgumentException("invalid " + what + " '" + whole +
                            "': no room for the embedded IPv4 address after " + count + " groups");
                    }
                    final int v4 = parseIpv4(group, 0, group.length(), whole, what + " (embedded IPv4)");
                    out[count++] = v4 >>> 16;
                    out[count++] = v4 & 0xFFFF;
                }
                else
                {
                    if (count == 8)
                    {
                        throw new IllegalArgumentException("invalid " + what + " '" + whole +
                            "': more than 8 groups");
                    }
                    out[count++] = parseGroup(group, start, whole, what);
                }
                start = i + 1;
            }
        }
        return count;
    }

    private static int parseGroup(final String group, final int offset, final String whole, final String what)
    {
        if (group.length() > 4)
        {
            throw new IllegalArgumentException("invalid " + what + " '" + whole + "': group '" + group +
                "' at offset " + offset + " has more than 4 hex digits");
        }
        int value = 0;
        for (int i = 0; i < group.length(); i++)
        {
            final char c = group.charAt(i);
            final int digit;
            if (c >= '0' && c <= '9')
            {
                digit = c - '0';
            }
            else if (c >= 'a' && c <= 'f')
            {
                digit = c - 'a' + 10;
            }
            else if (c >= 'A' && c <= 'F')
            {
                digit = c - 'A' + 10;
            }
            else
            {
                throw new IllegalArgumentException("invalid " + what + " '" + whole + "': group '" + group +
                    "' at offset " + offset + " is not hexadecimal");
            }
            value = value << 4 | digit;
        }
        return value;
    }

    // ---------------------------------------------------------------------------------------------
    // Shared

    private static int slash(final String text, final String family)
    {
        final int slash = text.indexOf('/');
        if (slash < 0)
        {
            throw new IllegalArgumentException("invalid " + family + " prefix '" + text +
                "': missing '/length' (for example " + ("IPv4".equals(family) ? "10.0.0.0/8" : "fd00::/64") + ")");
        }
        if (text.indexOf('/', slash + 1) >= 0)
        {
            throw new IllegalArgumentException("invalid " + family + " prefix '" + text + "': more than one '/'");
        }
        return slash;
    }

    private static int parseLength(final String text, final int from, final int max, final String family)
    {
        final int to = text.length();
        int length = 0;
        boolean decimal = to > from && to - from <= 3;
        for (int i = from; i < to && decimal; i++)
        {
            final char c = text.charAt(i);
            decimal = c >= '0' && c <= '9';
            length = length * 10 + (c - '0');
        }
        if (!decimal)
        {
            throw new IllegalArgumentException("invalid " + family + " prefix '" + text + "': length '" + text.substring(from) +
                "' is not a decimal number 0.." + max);
        }
        if (to - from > 1 && text.charAt(from) == '0')
        {
            throw new IllegalArgumentException("invalid " + family + " prefix '" + text + "': length '" + text.substring(from) +
                "' has a leading zero");
        }
        if (length > max)
        {
            throw new IllegalArgumentException("invalid " + family + " prefix '" + text + "': length " + length +
                " is outside 0.." + max);
        }
        return length;
    }
}
