package io.vsnic.dataplane.capture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.vsnic.dataplane.protocol.ArpFlyweight;
import io.vsnic.dataplane.protocol.EthernetFlyweight;
import io.vsnic.dataplane.protocol.FrameClassifier;
import io.vsnic.dataplane.protocol.FrameLayout;
import io.vsnic.dataplane.protocol.GeneveFlyweight;
import io.vsnic.dataplane.protocol.Ipv4Flyweight;
import io.vsnic.dataplane.protocol.Ipv6Flyweight;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The real VXLAN and Geneve captures from tcpdump's own test suite (in {@code testdata/interop/overlay})
 * must all classify as valid, and report the same VNI, Geneve options and inner addresses (and
 * ports) as tcpdump's expected output for them. The GSO captures hold offload super-packets with
 * partial checksums: they must be recognised as such, not dropped.
 */
class TcpdumpInteropTest
{
    private static final Pattern FRAME_START = Pattern.compile("^\\s{0,5}(\\d+)\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:");
    private static final Pattern VNI = Pattern.compile("vni (0x[0-9a-f]+|\\d+)");
    private static final Pattern OPTION = Pattern.compile(
        "class [^,\\]]*?\\((0x[0-9a-f]+)\\) type (0x[0-9a-f]+)(?:\\(C\\))? len (\\d+) data ([0-9a-f ]*[0-9a-f])");
    private static final Pattern ADDRESSES = Pattern.compile("([0-9a-f.:]+) > ([0-9a-f.:]+):\\s");
    private static final Pattern MACS = Pattern.compile("([0-9a-f]{2}(?::[0-9a-f]{2}){5}) > ([0-9a-f]{2}(?::[0-9a-f]{2}){5}),");
    private static final Pattern ARP_REQUEST = Pattern.compile("Request who-has (\\S+) tell (\\S+?),");
    private static final Pattern ARP_REPLY = Pattern.compile("Reply (\\S+) is-at ([0-9a-f:]{17})");

    @ParameterizedTest(name = "{0}")
    @CsvSource({
        "vxlan.pcap, vxlan.out, 10, 0",
        "vxlan_port_8472.pcap, vxlan_port_8472.out, 10, 0",
        "geneve.pcap, geneve-vv.out, 39, 0",
        "geneve-gcp.pcap, geneve-gcp.out, 1, 0",
        "gso-ipv4-geneve-ipv4.pcap, gso-ipv4-geneve-ipv4.out, 1, 1",
        "gso-ipv4-geneve-ipv6.pcap, gso-ipv4-geneve-ipv6.out, 1, 1",
        "gso-ipv6-geneve-ipv4.pcap, gso-ipv6-geneve-ipv4.out, 1, 1",
        "gso-ipv6-geneve-ipv6.pcap, gso-ipv6-geneve-ipv6.out, 1, 1",
        "gso-ipv4-vxlan-ipv4.pcap, gso-ipv4-vxlan-ipv4.out, 1, 1",
        "gso-ipv4-vxlan-ipv6.pcap, gso-ipv4-vxlan-ipv6.out, 1, 1",
        "gso-ipv6-vxlan-ipv4.pcap, gso-ipv6-vxlan-ipv4.out, 1, 1",
        "gso-ipv6-vxlan-ipv6.pcap, gso-ipv6-vxlan-ipv6.out, 1, 1",
    })
    void shouldDecodeEveryFrameAsTcpdumpDoes(final String capture, final String expected, final int frames, final int superPackets)
        throws IOException
    {
        final List<String> decodes = tcpdumpFrames(InteropCaptures.resolve("overlay/" + expected));
        final List<CaptureRecord> records;
        try (CaptureReader reader = CaptureReader.open(InteropCaptures.resolve("overlay/" + capture)))
        {
            records = reader.readAll();
        }
        assertEquals(frames, records.size(), "frames in " + capture);
        assertEquals(frames, decodes.size(), "frames in " + expected);

        final FrameClassifier classifier = FrameClassifier.verifying();
        final FrameLayout layout = new FrameLayout();
        int superPacketsSeen = 0;
        try (Arena arena = Arena.ofConfined())
        {
            for (int i = 0; i < frames; i++)
            {
                final byte[] data = records.get(i).data();
                final MemorySegment segment = arena.allocate(data.length);
                MemorySegment.copy(data, 0, segment, ValueLayout.JAVA_BYTE, 0, data.length);
                final String where = capture + " frame " + (i + 1) + ": ";
                classifier.classify(segment, 0, data.length, layout);
                assertTrue(layout.isValid(), where + "dropped as " + layout.dropReason().label());
                assertTrue(layout.overlayType() != FrameLayout.OVERLAY_NONE, where + "no overlay found");
                final String tcpdump = decodes.get(i);
                final FrameLayout inner = layout.inner();

                assertEquals(expectedVni(tcpdump), layout.vni(), where + "VNI");
                assertEquals(expectedOptions(tcpdump), actualOptions(segment, layout), where + "Geneve options");
                final String innerText = tcpdump.substring(Math.max(tcpdump.indexOf("VXLAN"), tcpdump.indexOf("Geneve")));
                assertInnerMatches(where, innerText, segment, inner);

                if (layout.hasFlag(FrameLayout.FLAG_SUPER_PACKET))
                {
                    superPacketsSeen++;
                    assertTrue(inner.hasFlag(FrameLayout.FLAG_SUPER_PACKET), where + "inner super-packet");
                    assertTrue(inner.hasFlag(FrameLayout.FLAG_L4_CHECKSUM_PARTIAL),
                        where + "inner TCP checksum should be recognised as partial (tcpdump: incorrect)");
                }
                else
                {
                    assertFalse(inner.hasFlag(FrameLayout.FLAG_L4_CHECKSUM_PARTIAL), where + "partial checksum");
                }
            }
        }
        assertEquals(superPackets, superPacketsSeen, "super-packets in " + capture);
    }

    private static void assertInnerMatches(
        final String where, final String innerText, final MemorySegment segment, final FrameLayout inner)
    {
        final Matcher macs = MACS.matcher(innerText);
        if (macs.find())
        {
            assertEquals(macs.group(1), EthernetFlyweight.formatMac(inner.sourceMac()), where + "inner source MAC");
            assertEquals(macs.group(2), EthernetFlyweight.formatMac(inner.destinationMac()), where + "inner destination MAC");
        }
        if (inner.l3Type() == FrameLayout.L3_ARP)
        {
            final ArpFlyweight arp = new ArpFlyweight();
            arp.wrap(segment, inner.l3Offset());
            final Matcher request = ARP_REQUEST.matcher(innerText);
            final Matcher reply = ARP_REPLY.matcher(innerText);
            if (request.find())
            {
                assertEquals(request.group(1), Ipv4Flyweight.format(arp.targetIp()), where + "ARP target");
                assertEquals(request.group(2), Ipv4Flyweight.format(arp.senderIp()), where + "ARP sender");
            }
            else
            {
                assertTrue(reply.find(), where + "tcpdump shows neither ARP request nor reply: " + innerText);
                assertEquals(reply.group(1), Ipv4Flyweight.format(arp.senderIp()), where + "ARP sender");
                assertEquals(reply.group(2), EthernetFlyweight.formatMac(arp.senderMac()), where + "ARP sender MAC");
            }
            return;
        }
        final Matcher addresses = ADDRESSES.matcher(innerText);
        assertTrue(addresses.find(), where + "no inner addresses in tcpdump text: " + innerText);
        final String source;
        final String destination;
        if (inner.l3Type() == FrameLayout.L3_IPV4)
        {
            final Ipv4Flyweight ipv4 = new Ipv4Flyweight();
            ipv4.wrap(segment, inner.l3Offset());
            source = Ipv4Flyweight.format(ipv4.source());
            destination = Ipv4Flyweight.format(ipv4.destination());
        }
        else
        {
            assertEquals(FrameLayout.L3_IPV6, inner.l3Type(), where + "inner L3");
            source = Ipv6Flyweight.format(segment, inner.l3Offset() + Ipv6Flyweight.SOURCE_OFFSET);
            destination = Ipv6Flyweight.format(segment, inner.l3Offset() + Ipv6Flyweight.DESTINATION_OFFSET);
        }
        final boolean ports = inner.sourcePort() >= 0 && inner.l4Protocol() != 1 && inner.l4Protocol() != 58;
        assertEquals(ports ? source + "." + inner.sourcePort() : source, addresses.group(1), where + "inner source");
        assertEquals(ports ? destination + "." + inner.destinationPort() : destination, addresses.group(2),
            where + "inner destination");
    }

    private static int expectedVni(final String tcpdump)
    {
        final Matcher vni = VNI.matcher(tcpdump);
        assertTrue(vni.find(), "tcpdump text has no VNI: " + tcpdump);
        final String text = vni.group(1);
        return text.startsWith("0x") ? Integer.parseInt(text.substring(2), 16) : Integer.parseInt(text);
    }

    private static List<String> expectedOptions(final String tcpdump)
    {
        final List<String> options = new ArrayList<>();
        final Matcher option = OPTION.matcher(tcpdump);
        while (option.find())
        {
            options.add(Integer.parseInt(option.group(1).substring(2), 16) + "/" +
                Integer.parseInt(option.group(2).substring(2), 16) + "/" + option.group(3) + "/" +
                option.group(4).replace(" ", ""));
        }
        return options;
    }

    private static List<String> actualOptions(final MemorySegment segment, final FrameLayout layout)
    {
        final List<String> options = new ArrayList<>();
        if (layout.overlayType() != FrameLayout.OVERLAY_GENEVE)
        {
            return options;
        }
        final GeneveFlyweight geneve = new GeneveFlyweight();
        geneve.wrap(segment, layout.overlayOffset());
        int at = 0;
        while (at < geneve.optionsLength())
        {
            final int dataLength = geneve.optionDataLength(at);
            final long dataAt = layout.overlayOffset() + GeneveFlyweight.OPTIONS_OFFSET + at + GeneveFlyweight.OPTION_HEADER_LENGTH;
            final byte[] data = segment.asSlice(dataAt, dataLength).toArray(ValueLayout.JAVA_BYTE);
            options.add(geneve.optionClass(at) + "/" + geneve.optionType(at) + "/" +
                (GeneveFlyweight.OPTION_HEADER_LENGTH + dataLength) + "/" + HexFormat.of().formatHex(data));
            at += GeneveFlyweight.OPTION_HEADER_LENGTH + dataLength;
        }
        return options;
    }

    private static List<String> tcpdumpFrames(final Path out) throws IOException
    {
        final List<String> frames = new ArrayList<>();
        StringBuilder current = null;
        for (final String line : Files.readAllLines(out))
        {
            if (FRAME_START.matcher(line).find())
            {
                if (current != null)
                {
                    frames.add(current.toString());
                }
                current = new StringBuilder(line);
            }
            else if (current != null)
            {
                current.append('\n').append(line.strip());
            }
        }
        if (current != null)
        {
            frames.add(current.toString());
        }
        return frames;
    }
}
