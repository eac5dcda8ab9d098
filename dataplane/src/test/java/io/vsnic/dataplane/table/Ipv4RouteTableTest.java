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

import static io.vsnic.dataplane.table.Ipv4RouteTable.NO_ROUTE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class Ipv4RouteTableTest
{
    private static final long SEED = 0x5EED_1B4L;

    // ---------------------------------------------------------------------------------------------
    // Behaviour

    @Test
    void shouldReturnNoRouteWhenTableIsEmpty()
    {
        for (final Ipv4RouteTable table : List.of(Ipv4RouteTable.empty(), Ipv4RouteTable.builder().build()))
        {
            assertEquals(0, table.size());
            assertEquals(NO_ROUTE, table.lookup(0));
            assertEquals(NO_ROUTE, table.lookup(-1));
            assertEquals(NO_ROUTE, table.lookup(ip("10.1.2.3")));
        }
    }

    @Test
    void shouldMatchDefaultRouteForEveryAddress()
    {
        final Ipv4RouteTable table = Ipv4RouteTable.builder().add(0, 0, 7).build();

        assertEquals(1, table.size());
        for (final int address : new int[] {0, 1, -1, Integer.MIN_VALUE, Integer.MAX_VALUE, ip("192.0.2.1")})
        {
            assertEquals(7, table.lookup(address), Prefixes.formatIpv4(address));
        }
    }

    @Test
    void shouldPreferLongestMatchingPrefix()
    {
        final Ipv4RouteTable table = routes("0.0.0.0/0=1", "10.0.0.0/8=2", "10.1.0.0/16=3", "10.1.2.0/24=4",
            "10.1.2.3/32=5");

        assertEquals(1, table.lookup(ip("11.0.0.0")));
        assertEquals(2, table.lookup(ip("10.2.0.0")));
        assertEquals(3, table.lookup(ip("10.1.3.0")));
        assertEquals(4, table.lookup(ip("10.1.2.4")));
        assertEquals(5, table.lookup(ip("10.1.2.3")));
        assertEquals(1, table.lookup(ip("9.255.255.255")));
    }

    @Test
    void shouldMatchHostRouteOnlyForItsOwnAddress()
    {
        final Ipv4RouteTable table = routes("192.0.2.0/24=1", "192.0.2.77/32=2", "0.0.0.0/32=3",
            "255.255.255.255/32=4");

        assertEquals(2, table.lookup(ip("192.0.2.77")));
        assertEquals(1, table.lookup(ip("192.0.2.76")));
        assertEquals(1, table.lookup(ip("192.0.2.78")));
        assertEquals(3, table.lookup(0));
        assertEquals(NO_ROUTE, table.lookup(1));
        assertEquals(4, table.lookup(-1));
        assertEquals(NO_ROUTE, table.lookup(-2));
    }

    @Test
    void shouldMatchPrefixesThatEndInsideEveryLevel()
    {
        // lengths on both sides of the 8/16/24 level boundaries
        final Ipv4RouteTable table = routes("10.0.0.0/7=1", "10.0.0.0/9=2", "10.0.0.0/15=3", "10.0.0.0/17=4",
            "10.0.0.0/23=5", "10.0.0.0/25=6", "10.0.0.0/31=7");

        assertEquals(1, table.lookup(ip("11.255.255.255")));
        assertEquals(2, table.lookup(ip("10.127.255.255")));
        assertEquals(1, table.lookup(ip("10.128.0.0")));
        assertEquals(3, table.lookup(ip("10.1.255.255")));
        assertEquals(2, table.lookup(ip("10.2.0.0")));
        assertEquals(4, table.lookup(ip("10.0.127.255")));
        assertEquals(3, table.lookup(ip("10.0.128.0")));
        assertEquals(5, table.lookup(ip("10.0.1.255")));
        assertEquals(4, table.lookup(ip("10.0.2.0")));
        assertEquals(6, table.lookup(ip("10.0.0.127")));
        assertEquals(5, table.lookup(ip("10.0.0.128")));
        assertEquals(7, table.lookup(ip("10.0.0.1")));
        assertEquals(6, table.lookup(ip("10.0.0.2")));
    }

    @Test
    void shouldGiveSameAnswersForOverlappingPrefixesInEveryInsertionOrder()
    {
        final String[] prefixes = {"0.0.0.0/0=1", "10.0.0.0/8=2", "10.1.0.0/16=3", "10.1.2.0/24=4",
            "10.1.2.128/25=5", "10.1.2.129/32=6"};
        final int[] probes = probes(prefixes);
        final Ipv4RouteTable expected = routes(prefixes);
        final int[] order = {0, 1, 2, 3, 4, 5};
        int permutations = 0;
        do
        {
            // all at once, and one build per add (which merges into the previous version each time)
            final Ipv4RouteTable.Builder atOnce = Ipv4RouteTable.builder();
            final Ipv4RouteTable.Builder stepwise = Ipv4RouteTable.builder();
            Ipv4RouteTable stepwiseTable = stepwise.build();
            for (final int index : order)
            {
                add(atOnce, prefixes[index]);
                add(stepwise, prefixes[index]);
                stepwiseTable = stepwise.build();
            }
            final Ipv4RouteTable atOnceTable = atOnce.build();
            for (final int probe : probes)
            {
                assertEquals(expected.lookup(probe), atOnceTable.lookup(probe), Arrays.toString(order));
                assertEquals(expected.lookup(probe), stepwiseTable.lookup(probe), Arrays.toString(order));
            }
            permutations++;
        }
        while (nextPermutation(order));
        assertEquals(720, permutations);
        assertEquals(6, expected.lookup(ip("10.1.2.129")));
        assertEquals(5, expected.lookup(ip("10.1.2.130")));
        assertEquals(4, expected.lookup(ip("10.1.2.127")));
    }

    @Test
    void shouldRestoreCoveringRouteWhenMoreSpecificIsRemoved()
    {
        final Ipv4RouteTable.Builder builder = Ipv4RouteTable.builder();
        add(builder, "10.0.0.0/8=1");
        add(builder, "10.1.0.0/16=2");
        add(builder, "10.1.2.0/24=3");
        add(builder, "10.1.2.3/32=4");
        final Ipv4RouteTable full = builder.build();

        final Ipv4RouteTable withoutHost = builder.remove(ip("10.1.2.3"), 32).build();
        final Ipv4RouteTable withoutSlash24 = builder.remove(ip("10.1.2.0"), 24).build();
        final Ipv4RouteTable withoutSlash16 = builder.remove(ip("10.1.0.0"), 16).build();
        final Ipv4RouteTable none = builder.remove(ip("10.0.0.0"), 8).build();

        final int address = ip("10.1.2.3");
        assertEquals(4, full.lookup(address));
        assertEquals(3, withoutHost.lookup(address));
        assertEquals(2, withoutSlash24.lookup(address));
        assertEquals(1, withoutSlash16.lookup(address));
        assertEquals(NO_ROUTE, none.lookup(address));
        assertEquals(0, none.size());
        assertEquals(4, full.size());
    }

    @Test
    void shouldReplaceNextHopOfIdenticalPrefix()
    {
        final Ipv4RouteTable.Builder builder = Ipv4RouteTable.builder();
        add(builder, "10.1.2.0/24=1");
        final Ipv4RouteTable before = builder.build();
        add(builder, "10.1.2.0/24=9");
        final Ipv4RouteTable after = builder.build();
        add(builder, "10.1.2.0/24=10");
        add(builder, "10.1.2.0/24=11");

        assertEquals(1, before.lookup(ip("10.1.2.5")));
        assertEquals(9, after.lookup(ip("10.1.2.5")));
        assertEquals(1, after.size());
        assertEquals(1, builder.size());
        assertEquals(11, builder.build().lookup(ip("10.1.2.5")));
    }

    @Test
    void shouldIgnoreRemovalOfAbsentPrefix()
    {
        final Ipv4RouteTable.Builder builder = Ipv4RouteTable.builder();
        add(builder, "10.1.2.0/24=1");
        final Ipv4RouteTable table = builder.build();

        builder.remove(ip("10.1.2.0"), 25).remove(ip("10.1.0.0"), 16).remove(ip("10.1.2.0"), 24)
            .remove(ip("10.1.2.0"), 24);

        assertEquals(0, builder.size());
        assertEquals(0, builder.build().size());
        assertEquals(1, table.size());
        assertSame(table, table.toBuilder().remove(ip("10.9.0.0"), 16).build());
    }

    @Test
    void shouldRejectHostBitsBeyondLengthNamingThePrefix()
    {
        final Ipv4RouteTable.Builder builder = Ipv4RouteTable.builder();

        final IllegalArgumentException add = assertThrows(IllegalArgumentException.class,
            () -> builder.add(ip("10.0.0.1"), 8, 1));
        final IllegalArgumentException remove = assertThrows(IllegalArgumentException.class,
            () -> builder.remove(ip("10.1.2.3"), 24));

        assertEquals("IPv4 prefix 10.0.0.1/8 has host bits set beyond /8 (did you mean 10.0.0.0/8?)",
            add.getMessage());
        assertEquals("IPv4 prefix 10.1.2.3/24 has host bits set beyond /24 (did you mean 10.1.2.0/24?)",
            remove.getMessage());
        assertEquals(0, builder.size());
    }

    @Test
    void shouldRejectLengthOutsideRange()
    {
        final Ipv4RouteTable.Builder builder = Ipv4RouteTable.builder();

        assertEquals("IPv4 prefix length 33 is outside 0..32 (address 10.0.0.0)",
            assertThrows(IllegalArgumentException.class, () -> builder.add(ip("10.0.0.0"), 33, 1)).getMessage());
        assertEquals("IPv4 prefix length -1 is outside 0..32 (address 0.0.0.0)",
            assertThrows(IllegalArgumentException.class, () -> builder.add(0, -1, 1)).getMessage());
        assertThrows(IllegalArgumentException.class, () -> builder.remove(0, 33));
    }

    @Test
    void shouldRejectNextHopOutsideRange()
    {
        final Ipv4RouteTable.Builder builder = Ipv4RouteTable.builder();

        assertEquals("next hop -1 of 10.0.0.0/8 is outside 0..1073741823",
            assertThrows(IllegalArgumentException.class, () -> builder.add(ip("10.0.0.0"), 8, -1)).getMessage());
        assertThrows(IllegalArgumentException.class, () -> builder.add(0, 0, 1 << 30));
        builder.add(0, 0, Ipv4RouteTable.MAX_NEXT_HOP);

        assertEquals(Ipv4RouteTable.MAX_NEXT_HOP, builder.build().lookup(ip("1.2.3.4")));
    }

    @Test
    void shouldKeepPublishedTableUnchangedWhenBuilderGoesOn()
    {
        final Ipv4RouteTable.Builder builder = Ipv4RouteTable.builder();
        add(builder, "10.0.0.0/8=1");
        add(builder, "10.1.2.0/24=2");
        final Ipv4RouteTable first = builder.build();

        add(builder, "10.1.2.0/25=3");
        builder.remove(ip("10.0.0.0"), 8);
        final Ipv4RouteTable second = builder.build();
        final Ipv4RouteTable third = first.toBuilder().remove(ip("10.1.2.0"), 24).build();

        assertEquals(2, first.lookup(ip("10.1.2.1")));
        assertEquals(1, first.lookup(ip("10.9.9.9")));
        assertEquals(2, first.size());
        assertEquals(3, second.lookup(ip("10.1.2.1")));
        assertEquals(NO_ROUTE, second.lookup(ip("10.9.9.9")));
        assertEquals(1, third.lookup(ip("10.1.2.1")));
        assertNotSame(first, second);
    }

    @Test
    void shouldReturnSameTableWhenNothingChanged()
    {
        final Ipv4RouteTable.Builder builder = Ipv4RouteTable.builder();
        add(builder, "10.0.0.0/8=1");
        final Ipv4RouteTable table = builder.build();

        assertSame(table, builder.build());
        assertSame(table, table.toBuilder().build());
        assertSame(Ipv4RouteTable.empty(), Ipv4RouteTable.builder().build());
    }

    @Test
    void shouldPreloadBuilderWithTablePrefixes()
    {
        final Ipv4RouteTable table = routes("10.0.0.0/8=1", "10.1.0.0/16=2", "192.168.0.0/16=3");

        final Ipv4RouteTable.Builder builder = table.toBuilder();
        assertEquals(3, builder.size());
        add(builder, "10.1.0.0/16=4");
        assertEquals(3, builder.size());
        add(builder, "172.16.0.0/12=5");
        assertEquals(4, builder.size());
        final Ipv4RouteTable next = builder.build();

        assertEquals(4, next.size());
        assertEquals(1, next.lookup(ip("10.2.0.0")));
        assertEquals(4, next.lookup(ip("10.1.0.0")));
        assertEquals(3, next.lookup(ip("192.168.1.1")));
        assertEquals(5, next.lookup(ip("172.31.255.255")));
        assertEquals(2, table.lookup(ip("10.1.0.0")));
    }

    @Test
    void shouldUseCompactRootForSmallTablesAndWideRootForLargeOnes()
    {
        final Ipv4RouteTable small = routes("0.0.0.0/0=1", "10.0.0.0/16=2", "10.0.1.0/24=3", "10.0.2.0/24=4",
            "10.0.3.0/24=5", "192.168.7.0/24=6", "192.168.7.9/32=7");
        final Ipv4RouteTable.Builder builder = Ipv4RouteTable.builder();
        for (int i = 0; i < 2_000; i++)
        {
            builder.add(i << 16 | 1 << 8, 24, i);
        }
        final Ipv4RouteTable large = builder.build();

        assertEquals(Ipv4RouteTable.COMPACT_ROOT_BITS, small.rootBits());
        // one /8 chunk each for 10 and 192, one /16 chunk each for 10.0 and 192.168, one /24 chunk for 192.168.7
        assertEquals(5, small.chunkCount());
        assertTrue(small.memoryBytes() < 2_048, small.toString());
        assertEquals(7, small.lookup(ip("192.168.7.9")));
        assertEquals(6, small.lookup(ip("192.168.7.10")));
        assertEquals(1, small.lookup(ip("192.168.8.9")));

        assertEquals(Ipv4RouteTable.WIDE_ROOT_BITS, large.rootBits());
        assertEquals(2_000, large.chunkCount());
        // each chunk: 9 header ints and three runs (no route, the /24, no route)
        assertEquals((65_536 + 2_000 * (9 + 3)) * 4L, large.memoryBytes());
        assertEquals(1_999, large.lookup(1_999 << 16 | 1 << 8 | 77));
        assertEquals(NO_ROUTE, large.lookup(1_999 << 16 | 2 << 8));
        assertEquals(NO_ROUTE, large.lookup(1_999 << 16 | 255));
        assertEquals(Ipv4RouteTable.COMPACT_ROOT_BITS, Ipv4RouteTable.empty().rootBits());
        assertEquals(1_024, Ipv4RouteTable.empty().memoryBytes());
    }

    @Test
    void shouldStoreOneValuePerRunInCompressedChunks()
    {
        // a /16 chunk whose 256 entries alternate between two hops: the worst case, 256 runs
        final Ipv4RouteTable.Builder builder = Ipv4RouteTable.builder();
        builder.add(ip("10.1.0.0"), 16, 1);
        for (int i = 0; i < 256; i += 2)
        {
            builder.add(ip("10.1.0.0") | i << 8, 24, 2);
        }
        for (final int rootBits : new int[] {Ipv4RouteTable.COMPACT_ROOT_BITS, Ipv4RouteTable.WIDE_ROOT_BITS})
        {
            final Ipv4RouteTable table = builder.build(rootBits);
            for (int i = 0; i < 256; i++)
            {
                assertEquals(i % 2 == 0 ? 2 : 1, table.lookup(ip("10.1.0.0") | i << 8 | 0x7F), "entry " + i);
            }
            assertEquals(NO_ROUTE, table.lookup(ip("10.2.0.0")));
            assertEquals(NO_ROUTE, table.lookup(ip("10.0.255.255")));
        }
        assertEquals((65_536 + 9 + 256) * 4L, builder.build(Ipv4RouteTable.WIDE_ROOT_BITS).memoryBytes());
    }

    @Test
    void shouldGiveLargeTablesTheDirectRoot()
    {
        // just below the threshold: the /16 root
        final Ipv4RouteTable.Builder builder = Ipv4RouteTable.builder();
        for (int i = 0; i < Ipv4RouteTable.DIRECT_MIN_PREFIXES - 1; i++)
        {
            builder.add(i << 8, 24, i);
        }
        final Ipv4RouteTable below = builder.build();
        assertEquals(Ipv4RouteTable.WIDE_ROOT_BITS, below.rootBits(), below.toString());

        // at the threshold: one entry per /24, every /24 route in the root itself, no chunk
        builder.add(ip("200.0.0.0"), 24, 7);
        final Ipv4RouteTable direct = builder.build();
        assertEquals(Ipv4RouteTable.DIRECT_ROOT_BITS, direct.rootBits(), direct.toString());
        assertEquals(0, direct.chunkCount());
        assertEquals((1L << 24) * 4, direct.memoryBytes());
        assertEquals(12_345, direct.lookup(12_345 << 8 | 99));
        assertEquals(7, direct.lookup(ip("200.0.0.255")));
        assertEquals(NO_ROUTE, direct.lookup(ip("200.0.1.0")));

        // prefixes longer than /24: one compressed chunk per /24 block that holds them
        builder.add(ip("200.0.0.128"), 25, 8).add(ip("200.0.0.200"), 32, 9).add(ip("201.0.0.0"), 8, 10).add(ip("201.2.3.4"), 31, 11);
        final Ipv4RouteTable deeper = builder.build();
        assertEquals(Ipv4RouteTable.DIRECT_ROOT_BITS, deeper.rootBits());
        assertEquals(2, deeper.chunkCount());
        assertEquals(7, deeper.lookup(ip("200.0.0.127")));
        assertEquals(8, deeper.lookup(ip("200.0.0.128")));
        assertEquals(9, deeper.lookup(ip("200.0.0.200")));
        assertEquals(8, deeper.lookup(ip("200.0.0.201")));
        assertEquals(10, deeper.lookup(ip("201.2.3.3")));
        assertEquals(11, deeper.lookup(ip("201.2.3.4")));
        assertEquals(11, deeper.lookup(ip("201.2.3.5")));
        assertEquals(10, deeper.lookup(ip("201.255.255.255")));
        // the root, then 200.0.0/24 with runs /24, /25, /32, /25 and 201.2.3/24 with runs /8, /31, /8; the array
        // is sized for at most 1 + 2p runs per chunk of p prefixes (5 and 3 here) and keeps that slack
        final long ints = deeper.memoryBytes() / 4;
        assertTrue(ints >= (1L << 24) + 9 + 4 + 9 + 3 && ints <= (1L << 24) + 9 + 5 + 9 + 3, deeper.toString());

        // removing enough prefixes goes back to the /16 root
        final Ipv4RouteTable.Builder smaller = deeper.toBuilder();
        for (int i = 0; i < 10; i++)
        {
            smaller.remove(i << 8, 24);
        }
        assertEquals(Ipv4RouteTable.WIDE_ROOT_BITS, smaller.build().rootBits());
        assertEquals(9, smaller.build().lookup(ip("200.0.0.200")));
    }

    // ---------------------------------------------------------------------------------------------
    // Differential test against a linear scan

    @ParameterizedTest
    @ValueSource(ints = {1, 5, 8, 9, 40, 2_000})
    void shouldAgreeWithLinearScanForRandomPrefixesAndLookups(final int prefixCount)
    {
        final Random random = new Random(SEED + prefixCount);
        final NaiveTable naive = new NaiveTable();
        final Ipv4RouteTable.Builder builder = Ipv4RouteTable.builder();
        while (naive.size < prefixCount)
        {
            final int length;
            final int address;
            if (naive.size > 0 && random.nextBoolean())
            {
                // nest inside an existing prefix, so that overlaps are common at every depth
                final int parent = random.nextInt(naive.size);
                length = naive.lengths[parent] + random.nextInt(33 - naive.lengths[parent]);
                address = (naive.addresses[parent] | random.nextInt() & ~Prefixes.ipv4Mask(naive.lengths[parent])) &
                    Prefixes.ipv4Mask(length);
            }
            else
            {
                length = random.nextInt(33);
                address = random.nextInt() & Prefixes.ipv4Mask(length);
            }
            final int hop = random.nextInt(Ipv4RouteTable.MAX_NEXT_HOP + 1);
            naive.put(address, length, hop);
            builder.add(address, length, hop);
        }
        assertEquals(naive.size, builder.size());
        Ipv4RouteTable table = builder.build();
        assertEquals(prefixCount, table.size());
        assertEquals(prefixCount <= Ipv4RouteTable.LINEAR_MAX, table.scansLinearly());
        assertEquals(prefixCount <= 40 ? Ipv4RouteTable.COMPACT_ROOT_BITS : Ipv4RouteTable.WIDE_ROOT_BITS,
            table.rootBits(), table.toString());
        final Ipv4RouteTable otherRoot = builder.build(table.rootBits() == Ipv4RouteTable.WIDE_ROOT_BITS ?
            Ipv4RouteTable.COMPACT_ROOT_BITS : Ipv4RouteTable.WIDE_ROOT_BITS);
        compare(naive, table, otherRoot, random, 800_000);
        compare(naive, table, builder.build(Ipv4RouteTable.DIRECT_ROOT_BITS), random, 400_000);

        // churn: remove a third, re-point a third, add new ones, on the same builder and on toBuilder()
        final Ipv4RouteTable.Builder next = table.toBuilder();
        for (int i = 0; i < prefixCount / 3; i++)
        {
            final int victim = random.nextInt(naive.size);
            final int address = naive.addresses[victim];
            final int length = naive.lengths[victim];
            if (random.nextBoolean())
            {
                naive.remove(address, length);
                next.remove(address, length);
            }
            else
            {
                final int hop = random.nextInt(1_000);
                naive.put(address, length, hop);
                next.add(address, length, hop);
            }
            final int length2 = 16 + random.nextInt(17);
            final int address2 = random.nextInt() & Prefixes.ipv4Mask(length2);
            naive.put(address2, length2, i);
            next.add(address2, length2, i);
        }
        assertEquals(naive.size, next.size());
        table = next.build();
        assertEquals(naive.size, table.size());
        compare(naive, table, next.build(Ipv4RouteTable.COMPACT_ROOT_BITS), random, 200_000);
    }

    /**
     * Compares both tables with the reference on random addresses and addresses at prefix edges.
     */
    private static void compare(final NaiveTable naive, final Ipv4RouteTable table, final Ipv4RouteTable other,
        final Random random, final int lookups)
    {
        for (int i = 0; i < lookups; i++)
        {
            final int address;
            final int kind = random.nextInt(6);
            if (kind == 0)
            {
                address = random.nextInt();
            }
            else
            {
                final int index = random.nextInt(naive.size);
                final int first = naive.addresses[index];
                final int last = first | ~Prefixes.ipv4Mask(naive.lengths[index]);
                address = switch (kind)
                {
                    case 1 -> first;
                    case 2 -> last;
                    case 3 -> first - 1;
                    case 4 -> last + 1;
                    default -> first | random.nextInt() & ~Prefixes.ipv4Mask(naive.lengths[index]);
                };
            }
            final int expected = naive.lookup(address);
            final int actual = table.lookup(address);
            final int actualOther = other.lookup(address);
            if (expected != actual || expected != actualOther)
            {
                assertEquals(expected, actual, "lookup " + Prefixes.formatIpv4(address) + " in " + table);
                assertEquals(expected, actualOther, "lookup " + Prefixes.formatIpv4(address) + " in " + other);
            }
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Read-copy-update

    @Test
    void shouldNeverShowReadersMissingOrWrongRouteWhilePublisherSwapsVersions() throws InterruptedException
    {
        final String[] stable = {"10.0.0.0/8=1", "10.1.0.0/16=2", "10.1.2.0/24=3", "10.1.2.3/32=4",
            "192.168.0.0/16=5", "0.0.0.0/0=6"};
        final int[] probes = {ip("10.200.0.1"), ip("10.1.200.1"), ip("10.1.2.200"), ip("10.1.2.3"),
            ip("192.168.5.5"), ip("8.8.8.8")};
        final int[] expected = {1, 2, 3, 4, 5, 6};
        final Ipv4RouteTable.Builder builder = Ipv4RouteTable.builder();
        for (final String route : stable)
        {
            add(builder, route);
        }
        final Holder holder = new Holder(builder.build());
        final int versions = 1_500;
        final CountDownLatch start = new CountDownLatch(1);
        final AtomicReference<String> failure = new AtomicReference<>();
        final AtomicLong reads = new AtomicLong();
        final AtomicLong distinctVersionsSeen = new AtomicLong();
        final Thread publisher = new Thread(() ->
        {
            final Random random = new Random(SEED);
            final List<int[]> churn = new ArrayList<>();
            awaitQuietly(start);
            for (int v = 0; v < versions; v++)
            {
                final Ipv4RouteTable.Builder next = holder.current.toBuilder();
                // grow to a few hundred churn routes and shrink again, crossing the compact/wide layouts
                final boolean grow = (v / 150) % 2 == 0;
                for (int i = 0; i < 40; i++)
                {
                    if (grow || churn.isEmpty())
                    {
                        // churn inside 10.50/16, 172.16/12 and 20/8: never covers a probe
                        final int length = 17 + random.nextInt(16);
                        final int base = switch (random.nextInt(3))
                        {
                            case 0 -> ip("10.50.0.0") | random.nextInt() & 0xFFFF;
                            case 1 -> ip("172.16.0.0") | random.nextInt() & 0xF_FFFF;
                            default -> ip("20.0.0.0") | random.nextInt() & 0xFF_FFFF;
                        };
                        final int[] route = {base & Prefixes.ipv4Mask(length), length};
                        churn.add(route);
                        next.add(route[0], route[1], 100 + v);
                    }
                    else
                    {
                        final int[] route = churn.remove(churn.size() - 1);
                        next.remove(route[0], route[1]);
                    }
                }
                // re-add one stable route with its own hop: a no-op for lookups, a real rebuild
                add(next, stable[v % stable.length]);
                holder.current = next.build();
            }
        }, "publisher");
        final Runnable reader = () ->
        {
            awaitQuietly(start);
            Ipv4RouteTable last = null;
            long seen = 0;
            long count = 0;
            while (publisher.isAlive() && failure.get() == null)
            {
                final Ipv4RouteTable table = holder.current;
                if (table != last)
                {
                    seen++;
                    last = table;
                }
                for (int i = 0; i < probes.length; i++)
                {
                    final int hop = table.lookup(probes[i]);
                    if (hop != expected[i])
                    {
                        failure.compareAndSet(null, Prefixes.formatIpv4(probes[i]) + " -> " + hop + ", expected " +
                            expected[i] + " in " + table);
                    }
                }
                if (++count % 64 == 0)
                {
                    Thread.yield();
                }
            }
            reads.addAndGet(count);
            distinctVersionsSeen.addAndGet(seen);
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
        assertTrue(distinctVersionsSeen.get() > 10, "readers saw " + distinctVersionsSeen.get() + " versions");
    }

    /** The published reference, as a worker would see it. */
    private static final class Holder
    {
        volatile Ipv4RouteTable current;

        Holder(final Ipv4RouteTable initial)
        {
            current = initial;
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Helpers

    /** The reference: a linear scan over the prefix list for the longest match. */
    private static final class NaiveTable
    {
        int[] addresses = new int[16];
        int[] lengths = new int[16];
        int[] masks = new int[16];
        int[] hops = new int[16];
        int size;

        void put(final int address, final int length, final int hop)
        {
            remove(address, length);
            if (size == addresses.length)
            {
                addresses = Arrays.copyOf(addresses, size * 2);
                lengths = Arrays.copyOf(lengths, size * 2);
                masks = Arrays.copyOf(masks, size * 2);
                hops = Arrays.copyOf(hops, size * 2);
            }
            addresses[size] = address;
            lengths[size] = length;
            masks[size] = length == 0 ? 0 : -1 << (32 - length);
            hops[size++] = hop;
        }

        void remove(final int address, final int length)
        {
            for (int i = 0; i < size; i++)
            {
                if (addresses[i] == address && lengths[i] == length)
                {
                    size--;
                    addresses[i] = addresses[size];
                    lengths[i] = lengths[size];
                    masks[i] = masks[size];
                    hops[i] = hops[size];
                    return;
                }
            }
        }

        int lookup(final int address)
        {
            int best = NO_ROUTE;
            int bestLength = -1;
            for (int i = 0; i < size; i++)
            {
                if ((address & masks[i]) == addresses[i] && lengths[i] > bestLength)
                {
                    best = hops[i];
                    bestLength = lengths[i];
                }
            }
            return best;
        }
    }

    private static int ip(final String text)
    {
        return Prefixes.parseIpv4Address(text);
    }

    /** Adds {@code "a.b.c.d/len=hop"}. */
    private static void add(final Ipv4RouteTable.Builder builder, final String route)
    {
        final int equals = route.indexOf('=');
        final Prefixes.Ipv4Prefix prefix = Prefixes.parseIpv4(route.substring(0, equals));
        builder.add(prefix.address(), prefix.length(), Integer.parseInt(route.substring(equals + 1)));
    }

    private static Ipv4RouteTable routes(final String... routes)
    {
        final Ipv4RouteTable.Builder builder = Ipv4RouteTable.builder();
        for (final String route : routes)
        {
            add(builder, route);
        }
        return builder.build();
    }

    /** Every prefix's first and last address and their neighbours. */
    private static int[] probes(final String[] routes)
    {
        final int[] probes = new int[routes.length * 4 + 2];
        int n = 0;
        for (final String route : routes)
        {
            final Prefixes.Ipv4Prefix prefix = Prefixes.parseIpv4(route.substring(0, route.indexOf('=')));
            final int last = prefix.address() | ~Prefixes.ipv4Mask(prefix.length());
            probes[n++] = prefix.address();
            probes[n++] = prefix.address() - 1;
            probes[n++] = last;
            probes[n++] = last + 1;
        }
        probes[n++] = 0;
        probes[n] = -1;
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
