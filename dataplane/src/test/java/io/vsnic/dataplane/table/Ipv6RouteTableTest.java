package io.vsnic.dataplane.table;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static io.vsnic.dataplane.table.Ipv6RouteTable.NO_ROUTE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class Ipv6RouteTableTest
{
    private static final long SEED = 0x5EED_1B6L;

    // ---------------------------------------------------------------------------------------------
    // Behaviour

    @Test
    void shouldReturnNoRouteWhenTableIsEmpty()
    {
        for (final Ipv6RouteTable table : List.of(Ipv6RouteTable.empty(), Ipv6RouteTable.builder().build()))
        {
            assertEquals(0, table.size());
            assertEquals(NO_ROUTE, lookup(table, "::"));
            assertEquals(NO_ROUTE, lookup(table, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
            assertEquals(NO_ROUTE, lookup(table, "2001:db8::1"));
        }
    }

    @Test
    void shouldMatchDefaultRouteForEveryAddress()
    {
        final Ipv6RouteTable table = routes("::/0=7");

        for (final String address : new String[] {"::", "::1", "2001:db8::1", "fe80::1",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "8000::"})
        {
            assertEquals(7, lookup(table, address), address);
        }
        assertEquals(0, table.levelCount());
    }

    @Test
    void shouldPreferLongestMatchingPrefix()
    {
        final Ipv6RouteTable table = routes("::/0=1", "2001:db8::/32=2", "2001:db8:1::/48=3", "2001:db8:1:2::/64=4",
            "2001:db8:1:2::3/128=5", "2001:db8:1:2:8000::/65=6");

        assertEquals(1, lookup(table, "2001:db9::"));
        assertEquals(2, lookup(table, "2001:db8:2::1"));
        assertEquals(3, lookup(table, "2001:db8:1:3::1"));
        assertEquals(4, lookup(table, "2001:db8:1:2::4"));
        assertEquals(5, lookup(table, "2001:db8:1:2::3"));
        assertEquals(6, lookup(table, "2001:db8:1:2:8000::3"));
        assertEquals(4, lookup(table, "2001:db8:1:2:7fff:ffff:ffff:ffff"));
        assertEquals(1, lookup(table, "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff"));
    }

    @Test
    void shouldMatchHostRouteOnlyForItsOwnAddress()
    {
        final Ipv6RouteTable table = routes("fd00::/64=1", "fd00::77/128=2", "::/128=3",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128=4");

        assertEquals(2, lookup(table, "fd00::77"));
        assertEquals(1, lookup(table, "fd00::76"));
        assertEquals(1, lookup(table, "fd00::78"));
        assertEquals(3, lookup(table, "::"));
        assertEquals(NO_ROUTE, lookup(table, "::1"));
        assertEquals(4, lookup(table, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
        assertEquals(NO_ROUTE, lookup(table, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe"));
    }

    @Test
    void shouldMatchPrefixesOnBothSidesOfTheHalfWordBoundary()
    {
        final Ipv6RouteTable table = routes("2001:db8::/63=1", "2001:db8::/64=2", "2001:db8::/65=3",
            "2001:db8:0:1::/64=4");

        assertEquals(3, lookup(table, "2001:db8::7fff:ffff:ffff:ffff"));
        assertEquals(2, lookup(table, "2001:db8::8000:0:0:0"));
        assertEquals(4, lookup(table, "2001:db8:0:1::"));
        assertEquals(NO_ROUTE, lookup(table, "2001:db8:0:2::"));
        assertEquals(NO_ROUTE, lookup(table, "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff"));
    }

    @Test
    void shouldGiveSameAnswersForOverlappingPrefixesInEveryInsertionOrder()
    {
        final String[] prefixes = {"::/0=1", "2001:db8::/32=2", "2001:db8:1::/48=3", "2001:db8:1:2::/64=4",
            "2001:db8:1:2:8000::/65=5", "2001:db8:1:2:8000::1/128=6"};
        final Ipv6RouteTable expected = routes(prefixes);
        final List<long[]> probes = probes(prefixes);
        final int[] order = {0, 1, 2, 3, 4, 5};
        int permutations = 0;
        do
        {
            final Ipv6RouteTable.Builder atOnce = Ipv6RouteTable.builder();
            final Ipv6RouteTable.Builder stepwise = Ipv6RouteTable.builder();
            Ipv6RouteTable stepwiseTable = stepwise.build();
            for (final int index : order)
            {
                add(atOnce, prefixes[index]);
                add(stepwise, prefixes[index]);
                stepwiseTable = stepwise.build();
            }
            final Ipv6RouteTable atOnceTable = atOnce.build();
            for (final long[] probe : probes)
            {
                assertEquals(expected.lookup(probe[0], probe[1]), atOnceTable.lookup(probe[0], probe[1]),
                    Arrays.toString(order));
                assertEquals(expected.lookup(probe[0], probe[1]), stepwiseTable.lookup(probe[0], probe[1]),
                    Arrays.toString(order));
            }
            permutations++;
        }
        while (nextPermutation(order));
        assertEquals(720, permutations);
        assertEquals(6, lookup(expected, "2001:db8:1:2:8000::1"));
        assertEquals(5, lookup(expected, "2001:db8:1:2:8000::2"));
        assertEquals(4, lookup(expected, "2001:db8:1:2:7fff:ffff:ffff:ffff"));
    }

    @Test
    void shouldRestoreCoveringRouteWhenMoreSpecificIsRemoved()
    {
        final Ipv6RouteTable.Builder builder = Ipv6RouteTable.builder();
        add(builder, "2001:db8::/32=1");
        add(builder, "2001:db8:1::/48=2");
        add(builder, "2001:db8:1:2::/64=3");
        add(builder, "2001:db8:1:2::3/128=4");
        final Ipv6RouteTable full = builder.build();

        final Ipv6RouteTable withoutHost = remove(builder, "2001:db8:1:2::3/128").build();
        final Ipv6RouteTable withoutSlash64 = remove(builder, "2001:db8:1:2::/64").build();
        final Ipv6RouteTable withoutSlash48 = remove(builder, "2001:db8:1::/48").build();
        final Ipv6RouteTable none = remove(builder, "2001:db8::/32").build();

        assertEquals(4, lookup(full, "2001:db8:1:2::3"));
        assertEquals(3, lookup(withoutHost, "2001:db8:1:2::3"));
        assertEquals(2, lookup(withoutSlash64, "2001:db8:1:2::3"));
        assertEquals(1, lookup(withoutSlash48, "2001:db8:1:2::3"));
        assertEquals(NO_ROUTE, lookup(none, "2001:db8:1:2::3"));
        assertEquals(0, none.size());
        assertEquals(4, full.size());
    }

    @Test
    void shouldReplaceNextHopOfIdenticalPrefix()
    {
        final Ipv6RouteTable.Builder builder = Ipv6RouteTable.builder();
        add(builder, "fd00:1::/64=1");
        final Ipv6RouteTable before = builder.build();
        add(builder, "fd00:1::/64=9");
        final Ipv6RouteTable after = builder.build();

        assertEquals(1, lookup(before, "fd00:1::5"));
        assertEquals(9, lookup(after, "fd00:1::5"));
        assertEquals(1, after.size());
        assertEquals(1, builder.size());
    }

    @Test
    void shouldIgnoreRemovalOfAbsentPrefix()
    {
        final Ipv6RouteTable.Builder builder = Ipv6RouteTable.builder();
        add(builder, "fd00:1::/64=1");
        final Ipv6RouteTable table = builder.build();

        remove(builder, "fd00:1::/65");
        remove(builder, "fd00::/16");
        remove(builder, "fd00:1::/64");
        remove(builder, "fd00:1::/64");

        assertEquals(0, builder.size());
        assertEquals(0, builder.build().size());
        assertEquals(1, table.size());
        assertSame(table, remove(table.toBuilder(), "fd00:9::/64").build());
    }

    @Test
    void shouldRejectHostBitsBeyondLengthNamingThePrefix()
    {
        final Ipv6RouteTable.Builder builder = Ipv6RouteTable.builder();
        final Prefixes.Ipv6Prefix host = Prefixes.parseIpv6Address("2001:db8::1");

        final IllegalArgumentException add = assertThrows(IllegalArgumentException.class,
            () -> builder.add(host.high(), host.low(), 64, 1));
        final IllegalArgumentException remove = assertThrows(IllegalArgumentException.class,
            () -> builder.remove(host.high(), host.low(), 127));

        assertEquals("IPv6 prefix 2001:db8::1/64 has host bits set beyond /64 (did you mean 2001:db8::/64?)",
            add.getMessage());
        assertEquals("IPv6 prefix 2001:db8::1/127 has host bits set beyond /127 (did you mean 2001:db8::/127?)",
            remove.getMessage());
        assertEquals(0, builder.size());
    }

    @Test
    void shouldRejectLengthAndNextHopOutsideRange()
    {
        final Ipv6RouteTable.Builder builder = Ipv6RouteTable.builder();

        assertEquals("IPv6 prefix length 129 is outside 0..128 (address ::)",
            assertThrows(IllegalArgumentException.class, () -> builder.add(0, 0, 129, 1)).getMessage());
        assertThrows(IllegalArgumentException.class, () -> builder.add(0, 0, -1, 1));
        assertThrows(IllegalArgumentException.class, () -> builder.remove(0, 0, 129));
        assertEquals("next hop 1073741824 of ::/0 is outside 0..1073741823",
            assertThrows(IllegalArgumentException.class, () -> builder.add(0, 0, 0, 1 << 30)).getMessage());
        assertThrows(IllegalArgumentException.class, () -> builder.add(0, 0, 0, -1));
        builder.add(0, 0, 0, Ipv6RouteTable.MAX_NEXT_HOP);

        assertEquals(Ipv6RouteTable.MAX_NEXT_HOP, lookup(builder.build(), "1::"));
    }

    @Test
    void shouldKeepPublishedTableUnchangedWhenBuilderGoesOn()
    {
        final Ipv6RouteTable.Builder builder = Ipv6RouteTable.builder();
        add(builder, "2001:db8::/32=1");
        add(builder, "2001:db8:1::/48=2");
        final Ipv6RouteTable first = builder.build();

        add(builder, "2001:db8:1::/56=3");
        remove(builder, "2001:db8::/32");
        final Ipv6RouteTable second = builder.build();

        assertEquals(2, lookup(first, "2001:db8:1::1"));
        assertEquals(1, lookup(first, "2001:db8:9::1"));
        assertEquals(3, lookup(second, "2001:db8:1::1"));
        assertEquals(NO_ROUTE, lookup(second, "2001:db8:9::1"));
        assertSame(second, builder.build());
        assertSame(first, first.toBuilder().build());
    }

    @Test
    void shouldPreloadBuilderWithTablePrefixes()
    {
        final Ipv6RouteTable table = routes("2001:db8::/32=1", "fd00::/8=2");

        final Ipv6RouteTable.Builder builder = table.toBuilder();
        assertEquals(2, builder.size());
        add(builder, "fd00::/8=3");
        add(builder, "fe80::/10=4");
        assertEquals(3, builder.size());
        final Ipv6RouteTable next = builder.build();

        assertEquals(1, lookup(next, "2001:db8::1"));
        assertEquals(3, lookup(next, "fd12::1"));
        assertEquals(4, lookup(next, "fe80::1"));
        assertEquals(2, lookup(table, "fd12::1"));
    }

    @Test
    void shouldProbeLogarithmicallyManyLengthsAndPlaceMarkers()
    {
        // lengths 16, 32, 48, 64 and 128: binary search order 48, then 16/32 or 64/128
        final Ipv6RouteTable table = routes("2001::/16=1", "2001:db8::/32=2", "2001:db8:1::/48=3",
            "2001:db8:1:2::/64=4", "2001:db8:1:2::9/128=5", "fd00:0:0:1::/64=6");

        assertEquals(5, table.levelCount());
        // a /64 whose /48 is not a prefix needs a marker at /48 (fd00:0:0:1::/64 -> fd00::/48)
        assertEquals(6, lookup(table, "fd00:0:0:1::1"));
        assertEquals(NO_ROUTE, lookup(table, "fd00::1"));
        assertEquals(5, lookup(table, "2001:db8:1:2::9"));
        assertTrue(table.memoryBytes() > 0);
        assertTrue(table.entryCount() >= 6, table.toString());
    }

    // ---------------------------------------------------------------------------------------------
    // Differential test against a linear scan

    @ParameterizedTest
    @ValueSource(ints = {30, 2_000})
    void shouldAgreeWithLinearScanForRandomPrefixesAndLookups(final int prefixCount)
    {
        final Random random = new Random(SEED + prefixCount);
        final NaiveTable naive = new NaiveTable();
        final Ipv6RouteTable.Builder builder = Ipv6RouteTable.builder();
        while (naive.size < prefixCount)
        {
            final int length;
            long high;
            long low;
            if (naive.size > 0 && random.nextBoolean())
            {
                // nest inside an existing prefix, so that overlaps are common at every depth
                final int parent = random.nextInt(naive.size);
                length = naive.lengths[parent] + random.nextInt(129 - naive.lengths[parent]);
                high = naive.highs[parent] | random.nextLong() & ~Prefixes.ipv6HighMask(naive.lengths[parent]);
                low = naive.lows[parent] | random.nextLong() & ~Prefixes.ipv6LowMask(naive.lengths[parent]);
            }
            else
            {
                length = random.nextInt(129);
                high = random.nextLong();
                low = random.nextLong();
            }
            high &= Prefixes.ipv6HighMask(length);
            low &= Prefixes.ipv6LowMask(length);
            final int hop = random.nextInt(Ipv6RouteTable.MAX_NEXT_HOP + 1);
            naive.put(high, low, length, hop);
            builder.add(high, low, length, hop);
        }
        assertEquals(naive.size, builder.size());
        Ipv6RouteTable table = builder.build();
        assertEquals(prefixCount, table.size());
        compare(naive, table, random, 800_000);

        final Ipv6RouteTable.Builder next = table.toBuilder();
        for (int i = 0; i < prefixCount / 3; i++)
        {
            final int victim = random.nextInt(naive.size);
            final long high = naive.highs[victim];
            final long low = naive.lows[victim];
            final int length = naive.lengths[victim];
            if (random.nextBoolean())
            {
                naive.remove(high, low, length);
                next.remove(high, low, length);
            }
            else
            {
                final int hop = random.nextInt(1_000);
                naive.put(high, low, length, hop);
                next.add(high, low, length, hop);
            }
            final int length2 = 32 + random.nextInt(97);
            final long high2 = random.nextLong() & Prefixes.ipv6HighMask(length2);
            final long low2 = random.nextLong() & Prefixes.ipv6LowMask(length2);
            naive.put(high2, low2, length2, i);
            next.add(high2, low2, length2, i);
        }
        assertEquals(naive.size, next.size());
        table = next.build();
        assertEquals(naive.size, table.size());
        compare(naive, table, random, 200_000);
    }

    private static void compare(final NaiveTable naive, final Ipv6RouteTable table, final Random random,
        final int lookups)
    {
        for (int i = 0; i < lookups; i++)
        {
            long high;
            long low;
            final int kind = random.nextInt(6);
            if (kind == 0)
            {
                high = random.nextLong();
                low = random.nextLong();
            }
            else
            {
                final int index = random.nextInt(naive.size);
                final int length = naive.lengths[index];
                high = naive.highs[index];
                low = naive.lows[index];
                final long lastHigh = high | ~Prefixes.ipv6HighMask(length);
                final long lastLow = low | ~Prefixes.ipv6LowMask(length);
                switch (kind)
                {
                    case 1 ->
                    {
                    }
                    case 2 ->
                    {
                        high = lastHigh;
                        low = lastLow;
                    }
                    case 3 ->
                    {
                        // first - 1, borrowing from the high half
                        if (low == 0)
                        {
                            high--;
                        }
                        low--;
                    }
                    case 4 ->
                    {
                        // last + 1, carrying into the high half
                        high = lastLow == -1L ? lastHigh + 1 : lastHigh;
                        low = lastLow + 1;
                    }
                    default ->
                    {
                        high |= random.nextLong() & ~Prefixes.ipv6HighMask(length);
                        low |= random.nextLong() & ~Prefixes.ipv6LowMask(length);
                    }
                }
            }
            final int expected = naive.lookup(high, low);
            final int actual = table.lookup(high, low);
            if (expected != actual)
            {
                assertEquals(expected, actual, "lookup " + Prefixes.formatIpv6(high, low) + " in " + table);
            }
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Read-copy-update

    @Test
    void shouldNeverShowReadersMissingOrWrongRouteWhilePublisherSwapsVersions() throws InterruptedException
    {
        final String[] stable = {"2001:db8::/32=1", "2001:db8:1::/48=2", "2001:db8:1:2::/64=3",
            "2001:db8:1:2::3/128=4", "fd00::/8=5", "::/0=6"};
        final long[][] probes = {address("2001:db8:ff::1"), address("2001:db8:1:ff::1"), address("2001:db8:1:2::ff"),
            address("2001:db8:1:2::3"), address("fd55::5"), address("3000::1")};
        final int[] expected = {1, 2, 3, 4, 5, 6};
        final Ipv6RouteTable.Builder builder = Ipv6RouteTable.builder();
        for (final String route : stable)
        {
            add(builder, route);
        }
        final Holder holder = new Holder(builder.build());
        final int versions = 1_500;
        final CountDownLatch start = new CountDownLatch(1);
        final AtomicReference<String> failure = new AtomicReference<>();
        final AtomicLong reads = new AtomicLong();
        final Thread publisher = new Thread(() ->
        {
            final Random random = new Random(SEED);
            final List<long[]> churn = new ArrayList<>();
            awaitQuietly(start);
            for (int v = 0; v < versions; v++)
            {
                final Ipv6RouteTable.Builder next = holder.current.toBuilder();
                final boolean grow = (v / 150) % 2 == 0;
                for (int i = 0; i < 30; i++)
                {
                    if (grow || churn.isEmpty())
                    {
                        // churn inside 2001:db8:50::/48, 2001:db8:1:60::/64 and 3fff::/16, never covering a probe;
                        // its many lengths move the binary search's levels and markers around
                        final int length;
                        final long high;
                        final long low = random.nextLong();
                        switch (random.nextInt(3))
                        {
                            case 0 ->
                            {
                                length = 49 + random.nextInt(80);
                                high = 0x2001_0db8_0050_0000L | random.nextLong() & 0xFFFF;
                            }
                            case 1 ->
                            {
                                length = 65 + random.nextInt(64);
                                high = 0x2001_0db8_0001_0060L;
                            }
                            default ->
                            {
                                length = 17 + random.nextInt(112);
                                high = 0x3FFF_0000_0000_0000L | random.nextLong() & 0xFFFF_FFFF_FFFFL;
                            }
                        }
                        final long[] route = {high & Prefixes.ipv6HighMask(length), low & Prefixes.ipv6LowMask(length),
                            length};
                        churn.add(route);
                        next.add(route[0], route[1], length, 100 + v);
                    }
                    else
                    {
                        final long[] route = churn.remove(churn.size() - 1);
                        next.remove(route[0], route[1], (int)route[2]);
                    }
                }
                add(next, stable[v % stable.length]);
                holder.current = next.build();
            }
        }, "publisher");
        final Runnable reader = () ->
        {
            awaitQuietly(start);
            long count = 0;
            while (publisher.isAlive() && failure.get() == null)
            {
                final Ipv6RouteTable table = holder.current;
                for (int i = 0; i < probes.length; i++)
                {
                    final int hop = table.lookup(probes[i][0], probes[i][1]);
                    if (hop != expected[i])
                    {
                        failure.compareAndSet(null, Prefixes.formatIpv6(probes[i][0], probes[i][1]) + " -> " + hop +
                            ", expected " + expected[i] + " in " + table);
                    }
                }
                if (++count % 64 == 0)
                {
                    Thread.yield();
                }
            }
            reads.addAndGet(count);
        };
        final Thread reader1 = new Thread(reader, "reader-1");
        final Thread reader2 = new Thread(reader, "reader-2");
        reader1.start();
        reader2.start();
        publisher.start();
        start.countDown();
        publisher.join(60_000);
        reader1.join(10_000);
        reader2.join(10_000);

        assertNull(failure.get());
        assertEquals(Thread.State.TERMINATED, publisher.getState());
        assertTrue(reads.get() > versions, "readers overlapped the publisher: " + reads.get() + " reads");
    }

    /** The published reference, as a worker would see it. */
    private static final class Holder
    {
        volatile Ipv6RouteTable current;

        Holder(final Ipv6RouteTable initial)
        {
            current = initial;
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Helpers

    /** The reference: a linear scan over the prefix list for the longest match. */
    private static final class NaiveTable
    {
        long[] highs = new long[16];
        long[] lows = new long[16];
        long[] highMasks = new long[16];
        long[] lowMasks = new long[16];
        int[] lengths = new int[16];
        int[] hops = new int[16];
        int size;

        void put(final long high, final long low, final int length, final int hop)
        {
            remove(high, low, length);
            if (size == highs.length)
            {
                highs = Arrays.copyOf(highs, size * 2);
                lows = Arrays.copyOf(lows, size * 2);
                highMasks = Arrays.copyOf(highMasks, size * 2);
                lowMasks = Arrays.copyOf(lowMasks, size * 2);
                lengths = Arrays.copyOf(lengths, size * 2);
                hops = Arrays.copyOf(hops, size * 2);
            }
            highs[size] = high;
            lows[size] = low;
            highMasks[size] = length >= 64 ? -1L : length == 0 ? 0 : -1L << (64 - length);
            lowMasks[size] = length <= 64 ? 0 : -1L << (128 - length);
            lengths[size] = length;
            hops[size++] = hop;
        }

        void remove(final long high, final long low, final int length)
        {
            for (int i = 0; i < size; i++)
            {
                if (highs[i] == high && lows[i] == low && lengths[i] == length)
                {
                    size--;
                    highs[i] = highs[size];
                    lows[i] = lows[size];
                    highMasks[i] = highMasks[size];
                    lowMasks[i] = lowMasks[size];
                    lengths[i] = lengths[size];
                    hops[i] = hops[size];
                    return;
                }
            }
        }

        int lookup(final long high, final long low)
        {
            int best = NO_ROUTE;
            int bestLength = -1;
            for (int i = 0; i < size; i++)
            {
                if ((high & highMasks[i]) == highs[i] && (low & lowMasks[i]) == lows[i] && lengths[i] > bestLength)
                {
                    best = hops[i];
                    bestLength = lengths[i];
                }
            }
            return best;
        }
    }

    private static long[] address(final String text)
    {
        final Prefixes.Ipv6Prefix address = Prefixes.parseIpv6Address(text);
        return new long[] {address.high(), address.low()};
    }

    private static int lookup(final Ipv6RouteTable table, final String address)
    {
        final long[] parsed = address(address);
        return table.lookup(parsed[0], parsed[1]);
    }

    /** Adds {@code "prefix/len=hop"}. */
    private static void add(final Ipv6RouteTable.Builder builder, final String route)
    {
        final int equals = route.indexOf('=');
        final Prefixes.Ipv6Prefix prefix = Prefixes.parseIpv6(route.substring(0, equals));
        builder.add(prefix.high(), prefix.low(), prefix.length(), Integer.parseInt(route.substring(equals + 1)));
    }

    private static Ipv6RouteTable.Builder remove(final Ipv6RouteTable.Builder builder, final String text)
    {
        final Prefixes.Ipv6Prefix prefix = Prefixes.parseIpv6(text);
        return builder.remove(prefix.high(), prefix.low(), prefix.length());
    }

    private static Ipv6RouteTable routes(final String... routes)
    {
        final Ipv6RouteTable.Builder builder = Ipv6RouteTable.builder();
        for (final String route : routes)
        {
            add(builder, route);
        }
        return builder.build();
    }

    /** Every prefix's first and last address and their neighbours. */
    private static List<long[]> probes(final String[] routes)
    {
        final List<long[]> probes = new ArrayList<>();
        for (final String route : routes)
        {
            final Prefixes.Ipv6Prefix prefix = Prefixes.parseIpv6(route.substring(0, route.indexOf('=')));
            final long lastHigh = prefix.high() | ~Prefixes.ipv6HighMask(prefix.length());
            final long lastLow = prefix.low() | ~Prefixes.ipv6LowMask(prefix.length());
            probes.add(new long[] {prefix.high(), prefix.low()});
            probes.add(new long[] {prefix.low() == 0 ? prefix.high() - 1 : prefix.high(), prefix.low() - 1});
            probes.add(new long[] {lastHigh, lastLow});
            probes.add(new long[] {lastLow == -1L ? lastHigh + 1 : lastHigh, lastLow + 1});
        }
        return probes;
    }

    private static boolean nextPermutation(final int[] a)
    {
        int i = a.length - 2;
        while (i >= 0 && a[i] >= a[i + 1])
        {
            i--;
        }
        if (i < 0)
        {
            return false;
        }
        int j = a.length - 1;
        while (a[j] <= a[i])
        {
            j--;
        }
        int t = a[i];
        a[i] = a[j];
        a[j] = t;
        for (int l = i + 1, r = a.length - 1; l < r; l++, r--)
        {
            t = a[l];
            a[l] = a[r];
            a[r] = t;
        }
        return true;
    }

    private static void awaitQuietly(final CountDownLatch latch)
    {
        try
        {
            latch.await();
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
        }
    }
}
