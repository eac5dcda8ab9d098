package io.vsnic.orchestrator.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

import io.vsnic.dataplane.capture.CaptureFormatException;
import io.vsnic.dataplane.capture.CaptureReader;
import io.vsnic.dataplane.capture.CaptureRecord;
import io.vsnic.dataplane.capture.FrameDescriber;
import io.vsnic.dataplane.capture.LinkType;
import io.vsnic.dataplane.capture.PcapWriter;
import io.vsnic.dataplane.capture.SynthFrames;
import io.vsnic.dataplane.protocol.FrameClassifier;
import io.vsnic.dataplane.protocol.FrameLayout;
import io.vsnic.dataplane.status.DropReason;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code vsnic pcap}: write a synthetic capture, or decode a capture with the data plane's own
 * classifier.
 */
@Command(
    name = "pcap",
    description = "Packet captures: write a synthetic one, or decode one with the data plane's classifier.",
    mixinStandardHelpOptions = true,
    subcommands = {PcapCommand.Synth.class, PcapCommand.Inspect.class})
public final class PcapCommand implements Runnable
{
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run()
    {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** {@code vsnic pcap synth -w FILE}. */
    @Command(
        name = "synth",
        description = "Write a pcap with one frame of every kind vsnic decodes (ARP, IPv4/IPv6, ICMP, UDP, TCP, " +
            "VLAN, VXLAN, Geneve with options).",
        mixinStandardHelpOptions = true)
    static final class Synth implements Callable<Integer>
    {
        @Option(names = {"-w", "--write"}, required = true, paramLabel = "FILE", description = "pcap file to write")
        Path output;

        @Option(names = {"-v", "--verbose"}, description = "list the frames written")
        boolean verbose;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws IOException
        {
            final PrintWriter out = spec.commandLine().getOut();
            final List<SynthFrames.Synth> frames = SynthFrames.all();
            final long baseNs = System.currentTimeMillis() * 1_000_000L;
            try (PcapWriter writer = PcapWriter.open(output))
            {
                for (int i = 0; i < frames.size(); i++)
                {
                    writer.write(baseNs + i * 1_000_000L, frames.get(i).bytes());
                    if (verbose)
                    {
                        out.printf("%5d %5d B  %s%n", i + 1, frames.get(i).bytes().length, frames.get(i).name());
                    }
                }
            }
            out.printf("wrote %d frames to %s%n", frames.size(), output);
            out.flush();
            return 0;
        }
    }

    /** {@code vsnic pcap inspect FILE}. */
    @Command(
        name = "inspect",
        description = "Decode every frame of a pcap or pcapng file with the data plane's classifier and print its " +
            "headers, or the reason the data plane would drop it.",
        mixinStandardHelpOptions = true)
    static final class Inspect implements Callable<Integer>
    {
        @Parameters(index = "0", paramLabel = "FILE", description = "pcap or pcapng capture")
        Path input;

        @Option(names = "--no-verify-checksums", description = "do not verify UDP/TCP/ICMP checksums")
        boolean noVerify;

        @Option(names = "--mtu", defaultValue = "1500", paramLabel = "BYTES",
            description = "IP packets larger than this are reported as offload super-packets (default: ${DEFAULT-VALUE})")
        int mtu;

        @Option(names = {"-q", "--quiet"}, description = "print only the summary")
        boolean quiet;

        @Option(names = "--strict", description = "exit with status 1 when any frame is dropped")
        boolean strict;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call()
        {
            final PrintWriter out = spec.commandLine().getOut();
            final PrintWriter err = spec.commandLine().getErr();
            if (!Files.isRegularFile(input))
            {
                err.println("vsnic pcap inspect: no such file: " + input);
                return 2;
            }
            final FrameClassifier classifier;
            try
            {
                classifier = FrameClassifier.builder().verifyL4Checksums(!noVerify).mtuBytes(mtu).build();
            }
            catch (final IllegalArgumentException ex)
            {
                err.println("vsnic pcap inspect: " + ex.getMessage());
                return 2;
            }
            final FrameLayout layout = new FrameLayout();
            final FrameDescriber describer = new FrameDescriber();
            final long[] drops = new long[DropReason.count()];
            int frames = 0;
            int skipped = 0;
            int status = 0;
            try (Arena arena = Arena.ofConfined(); CaptureReader reader = CaptureReader.open(input))
            {
                MemorySegment buffer = arena.allocate(PcapWriter.SNAPLEN_BYTES);
                CaptureRecord record;
                while ((record = reader.next()) != null)
                {
                    frames++;
                    if (record.linkType() != LinkType.LINKTYPE_ETHERNET)
                    {
                        skipped++;
                        if (!quiet)
                        {
                            out.printf("%5d %5d B  link type %d is not Ethernet: not decoded%n",
                                record.number(), record.capturedLength(), record.linkType());
                        }
                        continue;
                    }
                    final byte[] data = record.data();
                    if (data.length > buffer.byteSize())
                    {
                        buffer = arena.allocate(data.length);
                    }
                    MemorySegment.copy(data, 0, buffer, ValueLayout.JAVA_BYTE, 0, data.length);
                    classifier.classify(buffer, 0, data.length, layout);
                    drops[layout.dropReasonOrdinal()]++;
                    if (!quiet)
                    {
                        out.print(describer.describe(record.number(), buffer, layout));
                        if (record.isTruncated())
                        {
                            out.printf("  (captured %d of %d bytes)", record.capturedLength(), record.originalLength());
                        }
                        out.println();
                    }
                }
            }
            catch (final NoSuchFileException ex)
            {
                err.println("vsnic pcap inspect: no such file: " + input);
                return 2;
            }
            catch (final CaptureFormatException ex)
            {
                err.println("vsnic pcap inspect: " + input + ": " + ex.getMessage());
                status = 2;
            }
            catch (final IOException ex)
            {
                err.println("vsnic pcap inspect: cannot read " + input + ": " + ex.getMessage());
                return 2;
            }
            final long dropped = frames - skipped - drops[0];
            final StringBuilder summary = new StringBuilder();
            summary.append(frames).append(" frames: ").append(drops[0]).append(" valid, ").append(dropped).append(" dropped");
            if (skipped > 0)
            {
                summary.append(", ").append(skipped).append(" not Ethernet");
            }
            for (int i = 1; i < drops.length; i++)
            {
                if (drops[i] > 0)
                {
                    summary.append(", ").append(DropReason.of(i).label()).append('=').append(drops[i]);
                }
            }
            out.println(summary);
            out.flush();
            err.flush();
            if (status == 0 && strict && dropped > 0)
            {
                status = 1;
            }
            return status;
        }
    }
}
