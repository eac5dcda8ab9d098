package io.vsnic.dataplane.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Random;

import org.junit.jupiter.api.Test;

class ChecksumsTest
{
    /** The classic IPv4 header (UDP, 192.168.0.1 -> 192.168.0.199) with its checksum 0xb861. */
    private static final String IPV4_HEADER = "45 00 00 73 00 00 40 00 40 11 b8 61 c0 a8 00 01 c0 a8 00 c7";

    @Test
    void shouldSumRfc1071Section3ExampleWordsTo0xddf2()
    {
        // RFC 1071 section 3: 0001 f203 f4f5 f6f7 sums (with end-around carry) to ddf2.
        final MemorySegment segment = Hex.segment("0001 f203 f4f5 f6f7");

        assertEquals(0xddf2, Checksums.fold(Checksums.sum(segment, 0, 8, 0)));
        assertEquals(~0xddf2 & 0xFFFF, Checksums.checksum(segment, 0, 8));
    }

    @Test
    void shouldUpdateRfc1624Section4ExampleToZeroWhenUsingEquationThree()
    {
        // RFC 1624 section 4: HC = 0xDD2F, m = 0x5555 -> m' = 0x3285 gives HC' = 0x0000 (not 0xFFFF).
        assertEquals(0x0000, Checksums.update16(0xDD2F, 0x5555, 0x3285));
    }

    @Test
    void shouldPadOddTrailingByteWithZeroWhenLengthIsOdd()
    {
        final MemorySegment segment = Hex.segment("01 02 03");

        assertEquals(0x0102 + 0x0300, Checksums.fold(Checksums.sum(segment, 0, 3, 0)));
        assertEquals(0x0100, Checksums.fold(Checksums.sum(segment, 0, 1, 0)));
        assertEquals(0x0203 + 0x0000, Checksums.fold(Checksums.sum(segment, 1, 2, 0)));
        assertEquals(0x0300, Checksums.fold(Checksums.sum(segment, 2, 1, 0)));
    }

    @Test
    void shouldComputeKnownChecksumWhenHeaderIsClassicIpv4Vector()
    {
        final MemorySegment segment = Hex.segment(IPV4_HEADER);
        assertEquals(0xFFFF, Checksums.fold(Checksums.sum(segment, 0, 20, 0)), "stored checksum verifies");

        segment.set(Flyweight.U16, Ipv4Flyweight.CHECKSUM_OFFSET, (short)0);
        assertEquals(0xb861, Checksums.checksum(segment, 0, 20));

        final Ipv4Flyweight ipv4 = new Ipv4Flyweight();
        ipv4.wrap(segment, 0);
        assertFalse(ipv4.isChecksumValid(), "zeroed checksum must not verify");
        ipv4.updateChecksum();
        assertEquals(0xb861, ipv4.checksum());
        assertTrue(ipv4.isChecksumValid());
    }

    @Test
    void shouldFoldCarriesWhenSumOfAllOnesIsLarge()
    {
        final MemorySegment segment = Arena.ofAuto().allocate(9001);
        segment.fill((byte)0xFF);

        assertEquals(0xFFFF, Checksums.fold(Checksums.sum(segment, 0, 9000, 0)));
        assertEquals(0, Checksums.checksum(segment, 0, 9000));
        // 4500 words of 0xFFFF (negative zero) plus the padded odd byte 0xFF00
        assertEquals(0xFF00, Checksums.fold(Checksums.sum(segment, 0, 9001, 0)));
        assertEquals(0xFFFF, Checksums.fold(0xFFFF_FFFF_FFFF_FFFFL));
        assertEquals(0, Checksums.fold(0));
        assertEquals(1, Checksums.fold(0x1_0000L));
    }

    @Test
    void shouldEqualNaiveSixteenBitSumAtEveryLengthAndOffset()
    {
        final Random random = new Random(1071);
        final byte[] bytes = new byte[256];
        final MemorySegment segment = Arena.ofAuto().allocate(bytes.length);
        for (int round = 0; round < 20; round++)
        {
            random.nextBytes(bytes);
            if (round % 4 == 0)
            {
                // long runs of 0xFF force end-around carries in every fold step
                Arrays.fill(bytes, 16 + round, 160, (byte)0xFF);
            }
            MemorySegment.copy(bytes, 0, segment, ValueLayout.JAVA_BYTE, 0, bytes.length);
            for (int offset = 0; offset < 8; offset++)
            {
                for (int length = 0; length <= 100; length++)
                {
                    final long initial = round % 2 == 0 ? 0 : random.nextInt(1 << 20);
                    final int expected = naiveSum(bytes, offset, length, initial);
                    final int actual = Checksums.fold(Checksums.sum(segment, offset, length, initial));
                    assertEquals(expected, actual, "round " + round + " offset " + offset + " length " + length);
                }
            }
        }
    }

    @Test
    void shouldMatchFullRecomputationWhenTtlIsDecrementedIncrementally()
    {
        final Random random = new Random(1624);
        final MemorySegment segment = Arena.ofAuto().allocate(Ipv4Flyweight.MAX_HEADER_LENGTH);
        final Ipv4Flyweight ipv4 = new Ipv4Flyweight();
        for (int i = 0; i < 20_000; i++)
        {
            final int headerLength = randomHeader(random, segment, ipv4);
            ipv4.ttl(1 + random.nextInt(255)).updateChecksum();
            final int ttl = ipv4.ttl();

            final int newTtl = ipv4.decrementTtl();
            final int incremental = ipv4.checksum();
            ipv4.updateChecksum();

            assertEquals(ttl - 1, newTtl);
            assertEquals(ttl - 1, ipv4.ttl());
            assertEquals(ipv4.checksum(), incremental, "header " + Hex.hex(Hex.slice(segment, 0, headerLength)));
            assertTrue(ipv4.isChecksumValid());
        }
    }

    @Test
    void shouldMatchFullRecomputationWhenAddressIsRewrittenWithUpdate32()
    {
        final Random random = new Random(791);
        final MemorySegment segment = Arena.ofAuto().allocate(Ipv4Flyweight.MAX_HEADER_LENGTH);
        final Ipv4Flyweight ipv4 = new Ipv4Flyweight();
        for (int i = 0; i < 20_000; i++)
        {
            final int headerLength = randomHeader(random, segment, ipv4);
            ipv4.updateChecksum();
            final boolean rewriteSource = random.nextBoolean();
            final int oldAddress = rewriteSource ? ipv4.source() : ipv4.destination();
            final int newAddress = switch (i % 4)
            {
                case 0 -> 0;
                case 1 -> -1;
                case 2 -> oldAddress ^ 0xFFFF_0000;
                default -> random.nextInt();
            };

            final int incremental = Checksums.update32(ipv4.checksum(), oldAddress, newAddress);
            if (rewriteSource)
            {
                ipv4.source(newAddress);
            }
            else
            {
                ipv4.destination(newAddress);
            }
            ipv4.checksum(incremental);
            assertTrue(ipv4.isChecksumValid(), "header " + Hex.hex(Hex.slice(segment, 0, headerLength)));
            ipv4.updateChecksum();
            assertEquals(ipv4.checksum(), incremental);
        }
    }

    @Test
    void shouldSumIpv4PseudoHeaderAsItsTwelveBytes()
    {
        final Random random = new Random(768);
        final MemorySegment pseudo = Arena.ofAuto().allocate(12);
        for (int i = 0; i < 1000; i++)
        {
            final int source = random.nextInt();
            final int destination = random.nextInt();
            final int protocol = random.nextBoolean() ? IpProtocol.UDP : IpProtocol.TCP;
            final int length = random.nextInt(65536);
            pseudo.set(Flyweight.U32, 0, source);
            pseudo.set(Flyweight.U32, 4, destination);
            pseudo.set(Flyweight.U16, 8, (short)protocol);
            pseudo.set(Flyweight.U16, 10, (short)length);

            assertEquals(Checksums.fold(Checksums.sum(pseudo, 0, 12, 0)),
                Checksums.fold(Checksums.pseudoHeaderSumIpv4(source, destination, protocol, length)));
        }
    }

    @Test
    void shouldSumIpv6PseudoHeaderAsItsFortyBytes()
    {
        final Random random = new Random(8200);
        final byte[] addresses = new byte[32];
        final MemorySegment segment = Arena.ofAuto().allocate(64);
        final MemorySegment pseudo = Arena.ofAuto().allocate(40);
        for (int i = 0; i < 1000; i++)
        {
            random.nextBytes(addresses);
            final int length = random.nextInt(9000);
            MemorySegment.copy(addresses, 0, segment, ValueLayout.JAVA_BYTE, 8, 32);
            MemorySegment.copy(addresses, 0, pseudo, ValueLayout.JAVA_BYTE, 0, 32);
            pseudo.set(Flyweight.U32, 32, length);
            pseudo.set(Flyweight.U32, 36, IpProtocol.ICMPV6);

            assertEquals(Checksums.fold(Checksums.sum(pseudo, 0, 40, 0)),
                Checksums.fold(Checksums.pseudoHeaderSumIpv6(segment, 8, IpProtocol.ICMPV6, length)));
        }
    }

    /** Writes a random IPv4 header (with random option bytes) at offset 0; returns its length. */
    private static int randomHeader(final Random random, final MemorySegment segment, final Ipv4Flyweight ipv4)
    {
        final int headerLength = Ipv4Flyweight.MIN_HEADER_LENGTH + 4 * random.nextInt(11);
        final byte[] bytes = new byte[headerLength];
        random.nextBytes(bytes);
        MemorySegment.copy(bytes, 0, segment, ValueLayout.JAVA_BYTE, 0, headerLength);
        ipv4.wrap(segment, 0);
        ipv4.versionAndHeaderLength(headerLength);
        return headerLength;
    }

    /** RFC 1071 reference: 16-bit big-endian words, end-around carry after every addition. */
    private static int naiveSum(final byte[] bytes, final int offset, final int length, final long initial)
    {
        long sum = initial;
        while (sum > 0xFFFF)
        {
            sum = (sum & 0xFFFF) + (sum >>> 16);
        }
        for (int i = 0; i < length; i += 2)
        {
            final int high = bytes[offset + i] & 0xFF;
            final int low = i + 1 < length ? bytes[offset + i + 1] & 0xFF : 0;
            sum += high << 8 | low;
            if (sum > 0xFFFF)
            {
                sum = (sum & 0xFFFF) + 1;
            }
        }
        return (int)sum;
    }

    /**
     * The vector kernel (long ranges) against the scalar sum and the naive 16-bit sum: random bytes and
     * runs of 0xFF (carries in every lane), every offset modulo 16, lengths around each 64-byte step and
     * up to a jumbo frame, with and without a running sum.
     */
    @Test
    void shouldSumLongRangesWithTheVectorKernelAsTheScalarSumDoes()
    {
        final Random random = new Random(8926);
        final byte[] bytes = new byte[9200];
        final MemorySegment segment = Arena.ofAuto().allocate(bytes.length);
        int checked = 0;
        for (int round = 0; round < 6; round++)
        {
            random.nextBytes(bytes);
            if (round % 2 == 1)
            {
                Arrays.fill(bytes, 100 * round, 100 * round + 4000, (byte)0xFF);
            }
            if (round == 5)
            {
                Arrays.fill(bytes, (byte)0xFF);
            }
            MemorySegment.copy(bytes, 0, segment, ValueLayout.JAVA_BYTE, 0, bytes.length);
            for (int offset = 0; offset < 16; offset++)
            {
                for (final int length : new int[] {255, 256, 257, 319, 320, 321, 383, 1399, 1400, 1401, 1448, 4096, 9001, 9000 + (offset & 7)})
                {
                    final long initial = round % 3 == 0 ? 0 : random.nextInt(1 << 24);
                    final int expected = naiveSum(bytes, offset, length, initial);
                    assertEquals(expected, Checksums.fold(Checksums.scalarSum(segment, offset, length, initial)));
                    assertEquals(expected, Checksums.fold(Checksums.sum(segment, offset, length, initial)),
                        "round " + round + " offset " + offset + " length " + length + " (vector kernel " + Checksums.vectorKernel() + ")");
                    checked++;
                }
            }
        }
        assertEquals(6 * 16 * 14, checked);
        assertEquals(ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent(), Checksums.vectorKernel(),
            "the vector kernel runs wherever the JVM has the module (the build's JVM flags add it)");
    }
}
