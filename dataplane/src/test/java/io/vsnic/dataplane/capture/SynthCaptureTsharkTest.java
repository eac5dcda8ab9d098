package io.vsnic.dataplane.capture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import io.vsnic.dataplane.protocol.FrameClassifier;
import io.vsnic.dataplane.protocol.FrameLayout;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The synthetic capture ({@code vsnic pcap synth}) decoded by a dissector nobody here wrote: every
 * frame must be recognised by tshark with the layers it was built with (VXLAN and Geneve present),
 * no malformed packet, no bad checksum, no expert warning; and vsnic's own classifier must accept
 * every frame too.
 */
class SynthCaptureTsharkTest
{
    private static final long EXPERT_WARNING = 6291456;
    private static final String TSHARK_CHECKSUM_STATUS_BAD = "0";

    @Test
    void shouldClassifyEverySynthFrameAsValid()
    {
        final FrameClassifier classifier = FrameClassifier.verifying();
        final FrameLayout layout = new FrameLayout();
        try (Arena arena = Arena.ofConfined())
        {
            for (final SynthFrames.Synth synth : SynthFrames.all())
            {
                final MemorySegment segment = arena.allocate(synth.bytes().length);
                MemorySegment.copy(synth.bytes(), 0, segment, ValueLayout.JAVA_BYTE, 0, synth.bytes().length);
                classifier.classify(segment, 0, synth.bytes().length, layout);
                assertTrue(layout.isValid(), synth.name() + ": " + layout.dropReason().label());
                if (synth.name().startsWith("vxlan"))
                {
                    assertEquals(FrameLayout.OVERLAY_VXLAN, layout.overlayType(), synth.name());
                }
                if (synth.name().startsWith("geneve"))
                {
                    assertEquals(FrameLayout.OVERLAY_GENEVE, layout.overlayType(), synth.name());
                }
            }
        }
    }

    @Test
    void shouldBeDecodedCleanlyByTshark(@TempDir final Path directory) throws IOException, InterruptedException
    {
        Assumptions.assumeTrue(onPath("tshark"),
            "tshark is not installed (apt-get install -y --no-install-recommends tshark): cross-check skipped");
        final List<SynthFrames.Synth> frames = SynthFrames.all();
        final Path capture = directory.resolve("synth.pcap");
        try (PcapWriter writer = PcapWriter.open(capture))
        {
            for (int i = 0; i < frames.size(); i++)
            {
                writer.write(1_700_000_000_000_000_000L + i * 1_000_000L, frames.get(i).bytes());
            }
        }

        final List<String> lines = tshark(capture,
            "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE",
            "-T", "fields", "-E", "separator=|", "-E", "occurrence=a", "-E", "aggregator=,",
            "-e", "frame.number", "-e", "frame.protocols",
            "-e", "ip.checksum.status", "-e", "udp.checksum.status", "-e", "tcp.checksum.status",
            "-e", "icmp.checksum.status", "-e", "icmpv6.checksum.status",
            "-e", "_ws.malformed", "-e", "_ws.expert.severity", "-e", "vxlan.vni", "-e", "geneve.vni");
        assertEquals(frames.size(), lines.size(), "tshark frames: " + lines);
        for (int i = 0; i < frames.size(); i++)
        {
            final String name = frames.get(i).name();
            final String[] fields = lines.get(i).split("\\|", -1);
            assertEquals(Integer.toString(i + 1), fields[0], name);
            final String protocols = fields[1];
            for (int f = 2; f <= 6; f++)
            {
                assertFalse(Arrays.asList(fields[f].split(",")).contains(TSHARK_CHECKSUM_STATUS_BAD),
                    name + ": tshark reports a bad checksum: " + lines.get(i));
            }
            assertTrue(fields[7].isEmpty(), name + ": tshark reports a malformed packet: " + lines.get(i));
            for (final String severity : fields[8].split(","))
            {
                assertTrue(severity.isEmpty() || Long.parseLong(severity) < EXPERT_WARNING,
                    name + ": tshark expert warning: " + lines.get(i));
            }
            if (name.startsWith("vxlan"))
            {
                assertTrue(protocols.contains(":udp:vxlan:eth:"), name + ": " + protocols);
                assertFalse(fields[9].isEmpty(), name + ": no VXLAN VNI");
            }
            if (name.startsWith("geneve"))
            {
                assertTrue(protocols.contains(":udp:geneve:"), name + ": " + protocols);
                assertFalse(fields[10].isEmpty(), name + ": no Geneve VNI");
            }
            if (name.contains("arp"))
            {
                assertTrue(protocols.endsWith(":arp"), name + ": " + protocols);
            }
            if (name.startsWith("ipv6"))
            {
                assertTrue(protocols.startsWith("eth:ethertype:ipv6"), name + ": " + protocols);
            }
        }
    }

    static boolean onPath(final String program)
    {
        final String path = System.getenv("PATH");
        if (path == null)
        {
            return false;
        }
        for (final String directory : path.split(":"))
        {
            if (Files.isExecutable(Path.of(directory, program)))
            {
                return true;
            }
        }
        return false;
    }

    private static List<String> tshark(final Path capture, final String... arguments) throws IOException, InterruptedException
    {
        final String[] command = new String[arguments.length + 3];
        command[0] = "tshark";
        command[1] = "-r";
        command[2] = capture.toString();
        System.arraycopy(arguments, 0, command, 3, arguments.length);
        final Process process = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        final String output;
        try (InputStream in = process.getInputStream())
        {
            output = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        assertTrue(process.waitFor(60, TimeUnit.SECONDS), "tshark did not finish");
        assertEquals(0, process.exitValue(), "tshark exit status; output: " + output);
        return output.lines().filter(line -> !line.isBlank()).toList();
    }
}
