package io.vsnic.dataplane.capture;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.UnaryOperator;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.vsnic.crypto.wireguard.KeyLog;
import io.vsnic.crypto.wireguard.KeyLogDecryptor;

/**
 * {@link CaptureDecryptor} on the shared real WireGuard capture re-framed the ways substrate captures
 * come: Linux cooked capture v1 and v2 ({@code tcpdump -i any}), raw IP, and IPv6 outer headers;
 * every frame must still decrypt to the same inner packets as the original Ethernet/IPv4 capture.
 * Frames that are not WireGuard are reported, not fatal.
 */
class CaptureDecryptorTest
{
    private static final int ETHERNET = 14;

    private static List<CaptureRecord> original;
    private static KeyLog responderKeys;
    private static List<byte[]> expectedInner;

    @TempDir
    Path directory;

    @BeforeAll
    static void readOriginal() throws IOException
    {
        try (CaptureReader reader = CaptureReader.open(InteropCaptures.resolve("wireguard/wireguard-ping-tcp-dsb.pcapng")))
        {
            original = reader.readAll();
        }
        responderKeys = KeyLog.parse(Files.readString(InteropCaptures.resolve("wireguard/wireguard-ping-tcp.responder.keys")));
        expectedInner = new ArrayList<>();
        for (final CaptureDecryptor.Frame frame : decrypt(original))
        {
            expectedInner.add(frame.innerPacket());
        }
        assertEquals(16, expectedInner.stream().filter(p -> p != null && p.length > 0).count());
    }

    private static List<CaptureDecryptor.Frame> decrypt(final List<CaptureRecord> records)
    {
        final CaptureDecryptor decryptor = new CaptureDecryptor(false).addKeyLog(responderKeys);
        final List<CaptureDecryptor.Frame> frames = new ArrayList<>();
        for (final CaptureRecord record : records)
        {
            frames.add(decryptor.decrypt(record));
        }
        return frames;
    }

    /** Writes the capture with every frame re-framed, reads it back and decrypts it. */
    private List<CaptureDecryptor.Frame> reframed(final int linkType, final UnaryOperator<byte[]> reframe) throws IOException
    {
        final Path file = directory.resolve("reframed-" + linkType + ".pcap");
        try (PcapWriter writer = PcapWriter.open(file, linkType))
        {
            for (final CaptureRecord record : original)
            {
                writer.write(record.timestampNs(), reframe.apply(record.data()));
            }
        }
        try (CaptureReader reader = CaptureReader.open(file))
        {
            final List<CaptureRecord> records = reader.readAll();
            assertTrue(records.stream().allMatch(r -> r.linkType() == linkType));
            return decrypt(records);
        }
    }

    private static void assertSameInnerPackets(final List<CaptureDecryptor.Frame> frames)
    {
        assertEquals(22, frames.size());
        for (int i = 0; i < frames.size(); i++)
        {
            final CaptureDecryptor.Frame frame = frames.get(i);
            assertTrue(frame.isWireguard(), "frame " + (i + 1) + ": " + frame.note());
            assertEquals(KeyLogDecryptor.Outcome.DECRYPTED, frame.message().outcome(), frame.message().describe());
            assertArrayEquals(expectedInner.get(i), frame.innerPacket(), "frame " + (i + 1));
        }
    }

    @Test
    void shouldDecryptLinuxCookedCaptures() throws IOException
    {
        // SLL: packet type (2), ARPHRD (2), address length (2), address (8), protocol type (2)
        final List<CaptureDecryptor.Frame> sll = reframed(LinkType.LINKTYPE_LINUX_SLL, frame -> {
            final byte[] out = new byte[16 + frame.length - ETHERNET];
            out[3] = 1;
            out[5] = 6;
            System.arraycopy(frame, 6, out, 6, 6);
            out[14] = frame[12];
            out[15] = frame[13];
            System.arraycopy(frame, ETHERNET, out, 16, frame.length - ETHERNET);
            return out;
        });
        assertSameInnerPackets(sll);
        assertEquals("10.9.0.1:43462 > 10.9.0.2:51820", sll.getFirst().addresses());

        // SLL2: protocol type (2), reserved (2), interface index (4), ARPHRD (2), packet type, address length, address (8)
        assertSameInnerPackets(reframed(LinkType.LINKTYPE_LINUX_SLL2, frame -> {
            final byte[] out = new byte[20 + frame.length - ETHERNET];
            out[0] = frame[12];
            out[1] = frame[13];
            out[7] = 2;
            out[9] = 1;
            out[11] = 6;
            System.arraycopy(frame, ETHERNET, out, 20, frame.length - ETHERNET);
            return out;
        }));
    }

    @Test
    void shouldDecryptRawIpAndIpv6Outer() throws IOException
    {
        assertSameInnerPackets(reframed(LinkType.LINKTYPE_RAW, frame -> Arrays.copyOfRange(frame, ETHERNET, frame.length)));

        final List<CaptureDecryptor.Frame> v6 = reframed(LinkType.LINKTYPE_ETHERNET, frame -> {
            // Ethernet + IPv6 (fd00::1 or fd00::2, from the IPv4 source's last octet) + the same UDP datagram
            final int ipv4Header = (frame[ETHERNET] & 0x0F) * 4;
            final int udp = ETHERNET + ipv4Header;
            final int udpLength = (frame[udp + 4] & 0xFF) << 8 | (frame[udp + 5] & 0xFF);
            final byte[] out = new byte[ETHERNET + 40 + udpLength];
            System.arraycopy(frame, 0, out, 0, 12);
            out[12] = (byte)0x86;
            out[13] = (byte)0xDD;
            out[ETHERNET] = 0x60;
            out[ETHERNET + 4] = (byte)(udpLength >> 8);
            out[ETHERNET + 5] = (byte)udpLength;
            out[ETHERNET + 6] = 17;
            out[ETHERNET + 7] = 64;
            out[ETHERNET + 8] = (byte)0xfd;
            out[ETHERNET + 23] = frame[ETHERNET + 15];
            out[ETHERNET + 24] = (byte)0xfd;
            out[ETHERNET + 39] = frame[ETHERNET + 19];
            System.arraycopy(frame, udp, out, ETHERNET + 40, udpLength);
            out[ETHERNET + 40 + 6] = 0;   // no UDP checksum: not verified on the outer packet
            out[ETHERNET + 40 + 7] = 0;
            return out;
        });
        assertSameInnerPackets(v6);
        assertEquals("[fd00:0:0:0:0:0:0:1]:43462 > [fd00:0:0:0:0:0:0:2]:51820", v6.getFirst().addresses());
    }

    /**
     * A UDP GSO packet as a capture on the sending host or a veth substrate shows it: two consecutive
     * transport messages of one sender in one IP/UDP packet. Each is decrypted on its own, in order.
     */
    @Test
    void shouldSplitAUdpGsoPacketIntoItsTransportMessages()
    {
        int first = -1;
        for (int i = 0; i + 1 < original.size() && first < 0; i++)
        {
            final byte[] a = payload(original.get(i).data());
            final byte[] b = payload(original.get(i + 1).data());
            if (a.length >= 32 && b.length >= 32 && a[0] == 4 && b[0] == 4 && b.length <= a.length &&
                Arrays.equals(a, 4, 8, b, 4, 8) && counter(b) == counter(a) + 1)
            {
                first = i;
            }
        }
        assertTrue(first >= 0, "the interop capture has two consecutive transport messages of one sender");
        final byte[] frame = original.get(first).data();
        final byte[] second = payload(original.get(first + 1).data());
        final int udp = ETHERNET + 20;
        final byte[] merged = Arrays.copyOf(frame, frame.length + second.length);
        System.arraycopy(second, 0, merged, frame.length, second.length);
        final int ipLength = merged.length - ETHERNET;
        merged[ETHERNET + 2] = (byte)(ipLength >>> 8);
        merged[ETHERNET + 3] = (byte)ipLength;
        merged[ETHERNET + 10] = 0;
        merged[ETHERNET + 11] = 0;
        final int checksum = io.vsnic.dataplane.protocol.Checksums.checksum(java.lang.foreign.MemorySegment.ofArray(merged), ETHERNET, 20);
        merged[ETHERNET + 10] = (byte)(checksum >>> 8);
        merged[ETHERNET + 11] = (byte)checksum;
        final int udpLength = ipLength - 20;
        merged[udp + 4] = (byte)(udpLength >>> 8);
        merged[udp + 5] = (byte)udpLength;
        merged[udp + 6] = 0;
        merged[udp + 7] = 0;

        final List<CaptureRecord> records = new ArrayList<>(original.subList(0, first));
        records.add(new CaptureRecord(first + 1, original.get(first).timestampNs(), LinkType.LINKTYPE_ETHERNET, merged.length, merged));
        final CaptureDecryptor decryptor = new CaptureDecryptor(false).addKeyLog(responderKeys);
        for (final CaptureRecord record : records.subList(0, first))
        {
            decryptor.decrypt(record);
        }
        final List<CaptureDecryptor.Frame> split = decryptor.decryptAll(records.getLast());
        assertEquals(2, split.size(), "one frame per transport message");
        for (int k = 0; k < 2; k++)
        {
            assertEquals(KeyLogDecryptor.Outcome.DECRYPTED, split.get(k).message().outcome(), split.get(k).message().describe());
            assertArrayEquals(expectedInner.get(first + k), split.get(k).innerPacket(), "message " + (k + 1));
            assertTrue(split.get(k).note().contains("UDP GSO"), split.get(k).note());
        }
        assertEquals(0, CaptureDecryptor.gsoSegmentSize(payload(frame)), "one message is not split");
    }

    private static byte[] payload(final byte[] frame)
    {
        return Arrays.copyOfRange(frame, ETHERNET + 20 + 8, frame.length);
    }

    private static long counter(final byte[] message)
    {
        long value = 0;
        for (int i = 7; i >= 0; i--)
        {
            value = (value << 8) | (message[8 + i] & 0xFFL);
        }
        return value;
    }

    @Test
    void shouldReportFramesWithoutWireguard() throws IOException
    {
        final List<CaptureDecryptor.Frame> frames = new ArrayList<>();
        final CaptureDecryptor decryptor = new CaptureDecryptor(true);
        int number = 1;
        for (final SynthFrames.Synth synth : SynthFrames.all())
        {
            frames.add(decryptor.decrypt(new CaptureRecord(number++, 0, LinkType.LINKTYPE_ETHERNET, synth.bytes().length,
                synth.bytes())));
        }
        frames.add(decryptor.decrypt(new CaptureRecord(number, 0, LinkType.LINKTYPE_NULL, 4, new byte[] {2, 0, 0, 0})));
        for (final CaptureDecryptor.Frame frame : frames)
        {
            assertTrue(!frame.isWireguard(), frame.toString());
            assertNull(frame.innerPacket());
            if (frame.message() == null)
            {
                assertTrue(frame.note() != null && !frame.note().isEmpty(), frame.toString());
            }
            else
            {
                assertEquals(KeyLogDecryptor.Outcome.NOT_WIREGUARD, frame.message().outcome());
            }
        }
        assertTrue(frames.getLast().note().startsWith("link type 0 is not"), frames.getLast().note());
        assertTrue(frames.stream().anyMatch(f -> f.note() != null && f.note().startsWith("not UDP")));
        assertTrue(frames.stream().anyMatch(f -> f.message() != null), "some synth frames are UDP");
    }

    @Test
    void shouldStripPaddingByTheInnerIpLength()
    {
        assertEquals(0, CaptureDecryptor.innerPacket(new byte[0]).length);
        final byte[] v4 = new byte[48];
        v4[0] = 0x45;
        v4[3] = 28;
        assertEquals(28, CaptureDecryptor.innerPacket(v4).length);
        final byte[] v6 = new byte[64];
        v6[0] = 0x60;
        v6[5] = 8;
        assertEquals(48, CaptureDecryptor.innerPacket(v6).length);
        final byte[] inconsistent = new byte[32];
        inconsistent[0] = 0x45;
        inconsistent[2] = 1;
        assertEquals(32, CaptureDecryptor.innerPacket(inconsistent).length, "a length beyond the plaintext is kept whole");
        final byte[] notIp = {0x12, 0x34};
        assertEquals(2, CaptureDecryptor.innerPacket(notIp).length);
    }
}
