package io.vsnic.dataplane.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import org.junit.jupiter.api.Test;

class GeneveFlyweightTest
{
    private static final int GOOGLE_CLASS = 0x0132;

    private final GeneveFlyweight geneve = new GeneveFlyweight();

    @Test
    void shouldReadCapturedHeaderWithThreeGoogleOptions()
    {
        geneve.wrap(Hex.segment(Captures.GENEVE_GCP), Captures.GENEVE_GCP_HEADER_OFFSET);

        assertEquals(0, geneve.version());
        assertEquals(40, geneve.optionsLength());
        assertEquals(48, geneve.headerLength());
        assertEquals(0, geneve.flags());
        assertFalse(geneve.isOam());
        assertFalse(geneve.hasCriticalOptions());
        assertEquals(EthernetFlyweight.ETHER_TYPE_IPV4, geneve.protocolType());
        assertEquals(0, geneve.vni());
        assertTrue(geneve.areOptionsValid());
        assertFalse(geneve.anyCriticalOption());

        final int[] expectedTypes = {1, 2, 3};
        final int[] expectedLengths = {4, 16, 8};
        int at = 0;
        for (int i = 0; i < 3; i++)
        {
            assertEquals(GOOGLE_CLASS, geneve.optionClass(at));
            assertEquals(expectedTypes[i], geneve.optionType(at));
            assertEquals(expectedLengths[i], geneve.optionDataLength(at));
            at += GeneveFlyweight.OPTION_HEADER_LENGTH + geneve.optionDataLength(at);
        }
        assertEquals(geneve.optionsLength(), at);
    }

    @Test
    void shouldWriteCapturedHeaderAndOptionsByteForByte()
    {
        final MemorySegment captured = Hex.segment(Captures.GENEVE_GCP);
        final MemorySegment segment = Arena.ofAuto().allocate(48);
        segment.fill((byte)0x99);
        geneve.wrap(segment, 0);

        geneve.header(40, 0, EthernetFlyweight.ETHER_TYPE_IPV4, 0);
        int at = geneve.option(0, GOOGLE_CLASS, 1, Hex.bytes("800000d1"));
        at = geneve.option(at, GOOGLE_CLASS, 2, Hex.bytes("0800000d c0a86402 00000000 00000000"));
        at = geneve.option(at, GOOGLE_CLASS, 3, Hex.bytes("00000000 00001234"));

        assertEquals(40, at);
        assertArrayEquals(Hex.slice(captured, Captures.GENEVE_GCP_HEADER_OFFSET, 48), Hex.slice(segment, 0, 48));
    }

    @Test
    void shouldReadCriticalFlagAndCriticalOptionTypeOfCapturedFrame()
    {
        geneve.wrap(Hex.segment(Captures.GENEVE_CRITICAL_OPTION), 42);

        assertTrue(geneve.hasCriticalOptions());
        assertTrue(geneve.anyCriticalOption());
        assertEquals(EthernetFlyweight.ETHER_TYPE_TEB, geneve.protocolType());
        assertEquals(0xa, geneve.vni());
        assertEquals(0, geneve.optionClass(0));
        assertEquals(0x80, geneve.optionType(0));
        assertEquals(4, geneve.optionDataLength(0));
    }

    @Test
    void shouldWriteRfc8926FixedHeaderWithOamAndCriticalFlags()
    {
        // RFC 8926 section 3.4: Ver(2) OptLen(6) | O C Rsvd(6) | Protocol Type(16) | VNI(24) | Reserved(8)
        final MemorySegment segment = Arena.ofAuto().allocate(GeneveFlyweight.HEADER_LENGTH);
        segment.fill((byte)0xFF);
        geneve.wrap(segment, 0);

        geneve.header(GeneveFlyweight.MAX_OPTIONS_LENGTH, 0xFF, EthernetFlyweight.ETHER_TYPE_TEB, 0xABCDEF);

        assertArrayEquals(Hex.bytes("3f c0 6558 abcdef 00"), Hex.slice(segment, 0, 8));
        assertTrue(geneve.isOam());
        assertTrue(geneve.hasCriticalOptions());
        assertEquals(GeneveFlyweight.MAX_OPTIONS_LENGTH, geneve.optionsLength());
        assertEquals(GeneveFlyweight.HEADER_LENGTH + 252, geneve.headerLength());
    }

    @Test
    void shouldRejectOptionDataWhenNotAMultipleOfFourOrTooLong()
    {
        final MemorySegment segment = Arena.ofAuto().allocate(512);
        geneve.wrap(segment, 0);

        assertThrows(IllegalArgumentException.class, () -> geneve.option(0, 1, 1, new byte[3]));
        assertThrows(IllegalArgumentException.class, () -> geneve.option(0, 1, 1, new byte[128]));
        assertEquals(GeneveFlyweight.OPTION_HEADER_LENGTH + 124, geneve.option(0, 1, 1, new byte[124]));
        assertEquals(31 * 4, geneve.optionDataLength(0));
    }

    @Test
    void shouldIgnoreReservedBitsWhenReadingOptionLength()
    {
        // option length byte: R R R Length(5); 0xE1 has all reserved bits set and length 1.
        geneve.wrap(Hex.segment("0200 6558 00000100 0001 01 e1 00000000"), 0);

        assertEquals(4, geneve.optionDataLength(0));
        assertTrue(geneve.areOptionsValid());
    }

    @Test
    void shouldFindOptionsInvalidWhenTheyDoNotTileTheOptionArea()
    {
        // Opt Len 2 words (8 bytes) but the only option claims 8 bytes of data: 12 bytes in all.
        geneve.wrap(Hex.segment("0200 6558 00000100 0001 01 02 00000000 00000000"), 0);
        assertFalse(geneve.areOptionsValid());

        // Opt Len 1 word: exactly one option header with no data tiles it.
        geneve.wrap(Hex.segment("0100 6558 00000100 0001 01 00"), 0);
        assertTrue(geneve.areOptionsValid());

        // Opt Len 3 words: one 8-byte option and 4 stray bytes that do not form a whole option.
        geneve.wrap(Hex.segment("0300 6558 00000100 0001 01 01 00000000 0001 01 05"), 0);
        assertFalse(geneve.areOptionsValid());
    }

    @Test
    void shouldFindCriticalOptionAfterNonCriticalOnes()
    {
        geneve.wrap(Hex.segment("0400 6558 00000100 0001 01 01 00000000 0102 81 00 0103 02 00"), 0);

        assertFalse(geneve.hasCriticalOptions(), "C flag itself is clear");
        assertTrue(geneve.anyCriticalOption());
    }
}
