package io.vsnic.orchestrator.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

import io.vsnic.crypto.wireguard.KeyLog;
import io.vsnic.crypto.wireguard.KeyLogDecryptor;
import io.vsnic.crypto.wireguard.WireguardMessages;
import io.vsnic.dataplane.capture.CaptureDecryptor;
import io.vsnic.dataplane.capture.CaptureFormatException;
import io.vsnic.dataplane.capture.CaptureReader;
import io.vsnic.dataplane.capture.CaptureRecord;
import io.vsnic.dataplane.capture.FrameDescriber;
import io.vsnic.dataplane.capture.LinkType;
import io.vsnic.dataplane.capture.PcapWriter;
import io.vsnic.dataplane.protocol.FrameClassifier;
import io.vsnic.dataplane.protocol.FrameLayout;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code vsnic wg}: WireGuard operator tools.
 */
@Command(
    name = "wg",
    description = "WireGuard operator tools for the encrypted substrate.",
    mixinStandardHelpOptions = true,
    subcommands = {WgCommand.Decrypt.class})
public final class WgCommand implements Runnable
{
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run()
    {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** {@code vsnic wg decrypt --keylog FILE CAPTURE [-w OUT.pcap]}. */
    @Command(
        name = "decrypt",
        description = {
            "Decrypt the WireGuard messages of a substrate capture (pcap or pcapng) with a key log in Wireshark's " +
                "WireGuard format (wg.keylog_file), and print each frame's message and decoded inner packet as " +
                "'pcap inspect' prints frames; with -w also write the inner IP packets to a pcap (link type raw IP).",
            "Key logs embedded in a pcapng file (Decryption Secrets Block, type WGKL) are used too. A frame that " +
                "cannot be decrypted says why; the run goes on.",
            "Exit status: 0 when the capture was read, 1 with --strict when a WireGuard message was not decrypted, " +
                "2 when the capture or a key log is missing, unreadable or corrupt."
        },
        mixinStandardHelpOptions = true)
    static final class Decrypt implements Callable<Integer>
    {
        @Parameters(index = "0", paramLabel = "CAPTURE", description = "pcap or pcapng capture of the substrate")
        Path input;

        @Option(names = {"-k", "--keylog"}, paramLabel = "FILE",
            description = "key log (NAME=base64 lines: LOCAL_STATIC_PRIVATE_KEY, REMOTE_STATIC_PUBLIC_KEY, " +
                "LOCAL_EPHEMERAL_PRIVATE_KEY, PRESHARED_KEY); may be repeated")
        List<Path> keyLogs = new ArrayList<>();

        @Option(names = "--no-embedded-keys", description = "ignore key logs embedded in the capture")
        boolean noEmbeddedKeys;

        @Option(names = {"-w", "--write"}, paramLabel = "OUT.pcap",
            description = "write the decrypted inner packets to this pcap file (LINKTYPE_RAW; keepalives are left out)")
        Path output;

        @Option(names = "--no-verify-checksums", description = "do not verify the inner packets' UDP/TCP/ICMP checksums")
        boolean noVerify;

        @Option(names = {"-q", "--quiet"}, description = "print only the summary")
        boolean quiet;

        @Option(names = "--strict", description = "exit with status 1 when a WireGuard message could not be decrypted")
        boolean strict;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        private static final String NAME = "vsnic wg decrypt: ";
        private static final String INDENT = "              ";

        @Override
        public Integer call()
        {
            final PrintWriter out = spec.commandLine().getOut();
            final PrintWriter err = spec.commandLine().getErr();
            try
            {
                return run(out, err);
            }
            finally
            {
                out.flush();
                err.flush();
            }
        }

        private int run(final PrintWriter out, final PrintWriter err)
        {
            final CaptureDecryptor decryptor = new CaptureDecryptor(!noEmbeddedKeys);
            for (final Path file : keyLogs)
            {
                try
                {
                    decryptor.addKeyLog(KeyLog.parse(Files.readString(file)));
                }
                catch (final NoSuchFileException ex)
                {
                    err.println(NAME + "no such key log: " + file);
                    return 2;
                }
                catch (final IOException ex)
                {
                    err.println(NAME + "cannot read key log " + file + ": " + ex.getMessage());
                    return 2;
                }
                catch (final IllegalArgumentException ex)
                {
                    err.println(NAME + "key log " + file + ": " + ex.getMessage());
                    return 2;
                }
            }
            if (!Files.isRegularFile(input))
            {
                err.println(NAME + "no such file: " + input);
                return 2;
            }
            final FrameClassifier classifier = FrameClassifier.builder().verifyL4Checksums(!noVerify).build();
            final FrameLayout layout = new FrameLayout();
            final FrameDescriber describer = new FrameDescriber();
            final Summary summary = new Summary();
            int status = 0;
            PcapWriter writer = null;
            try (CaptureReader reader = CaptureReader.open(input))
            {
                if (output != null)
                {
                    writer = PcapWriter.open(output, LinkType.LINKTYPE_RAW);
                }
                CaptureDecryptor.Frame frame;
                while ((frame = decryptor.next(reader)) != null)
                {
                    summary.count(frame);
                    if (!quiet)
                    {
                        out.println(line(frame, classifier, layout, describer));
                    }
                    final byte[] inner = frame.innerPacket();
                    if (writer != null && inner != null && inner.length > 0)
                    {
                        final CaptureRecord record = frame.record();
                        writer.write(record.hasTimestamp() ? record.timestampNs() : 0, inner);
                    }
                }
            }
            catch (final NoSuchFileException ex)
            {
                err.println(NAME + "no such file: " + ex.getFile());
                status = 2;
            }
            catch (final CaptureFormatException ex)
            {
                err.println(NAME + input + ": " + ex.getMessage());
                status = 2;
            }
            catch (final IOException ex)
            {
                err.println(NAME + "cannot read " + input + (output != null ? " or write " + output : "") + ": " +
                    ex.getMessage());
                status = 2;
            }
            finally
            {
                status = close(writer, err, status);
            }
            out.println(summary.text(decryptor));
            if (writer != null && status == 0)
            {
                out.printf("wrote %d inner packets to %s%n", writer.framesWritten(), output);
            }
            if (status == 0 && strict && summary.notDecrypted > 0)
            {
                status = 1;
            }
            return status;
        }

        private int close(final PcapWriter writer, final PrintWriter err, final int status)
        {
            if (writer == null)
            {
                return status;
            }
            try
            {
                writer.close();
                return status;
            }
            catch (final IOException ex)
            {
                err.println(NAME + "cannot write " + output + ": " + ex.getMessage());
                return 2;
            }
        }

        private static String line(final CaptureDecryptor.Frame frame, final FrameClassifier classifier,
            final FrameLayout layout, final FrameDescriber describer)
        {
            final CaptureRecord record = frame.record();
            final StringBuilder text = new StringBuilder(160);
            text.append(String.format("%5d %5d B  ", record.number(), record.originalLength()));
            if (frame.message() == null)
            {
                return text.append("not WireGuard: ").append(frame.note()).toString();
            }
            text.append(frame.addresses()).append("  ");
            if (!frame.isWireguard())
            {
                return text.append("not a WireGuard message (").append(frame.udpPayload().length).append(" B UDP payload)")
                    .toString();
            }
            final KeyLogDecryptor.Message message = frame.message();
            text.append(message.describe());
            if (frame.note() != null)
            {
                text.append(" [").append(frame.note()).append(']');
            }
            final byte[] inner = frame.innerPacket();
            if (inner != null && inner.length > 0)
            {
                final MemorySegment segment = MemorySegment.ofArray(inner);
                classifier.classifyIp(segment, 0, inner.length, layout);
                text.append('\n').append(INDENT).append(describer.describeBody(segment, layout));
            }
            return text.toString();
        }

        /** Counts for the last line. */
        private static final class Summary
        {
            int frames;
            int wireguard;
            int notWireguard;
            final int[] types = new int[5];
            int decrypted;
            int partial;
            int notDecrypted;
            int innerPackets;
            int keepalives;

            void count(final CaptureDecryptor.Frame frame)
            {
                frames++;
                if (!frame.isWireguard())
                {
                    notWireguard++;
                    return;
                }
                wireguard++;
                final KeyLogDecryptor.Message message = frame.message();
                types[message.type()]++;
                switch (message.outcome())
                {
                    case DECRYPTED -> decrypted++;
                    case PARTIAL -> partial++;
                    case NOT_DECRYPTED -> notDecrypted++;
                    default -> {
                    }
                }
                if (frame.innerPacket() != null)
                {
                    if (frame.innerPacket().length == 0)
                    {
                        keepalives++;
                    }
                    else
                    {
                        innerPackets++;
                    }
                }
            }

            String text(final CaptureDecryptor decryptor)
            {
                final StringBuilder text = new StringBuilder(200);
                text.append(frames).append(" frames: ").append(wireguard).append(" WireGuard (")
                    .append(types[WireguardMessages.TYPE_INITIATION]).append(" initiation, ")
                    .append(types[WireguardMessages.TYPE_RESPONSE]).append(" response, ")
                    .append(types[WireguardMessages.TYPE_COOKIE_REPLY]).append(" cookie reply, ")
                    .append(types[WireguardMessages.TYPE_TRANSPORT]).append(" transport), ")
                    .append(decrypted).append(" decrypted, ");
                if (partial > 0)
                {
                    text.append(partial).append(" partly decrypted, ");
                }
                text.append(notDecrypted).append(" not decrypted");
                if (notWireguard > 0)
                {
                    text.append(", ").append(notWireguard).append(" not WireGuard");
                }
                text.append("; ").append(innerPackets).append(" inner packets, ").append(keepalives).append(" keepalives");
                text.append("; keys: ").append(decryptor.staticKeyCount()).append(" static, ")
                    .append(decryptor.ephemeralKeyCount()).append(" ephemeral");
                if (decryptor.embeddedKeyLogs() > 0)
                {
                    text.append(" (").append(decryptor.embeddedKeyLogs()).append(" key log embedded in the capture)");
                }
                return text.toString();
            }
        }
    }
}
