package io.vsnic.orchestrator.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import io.vsnic.dataplane.capture.CaptureReader;
import io.vsnic.dataplane.capture.CaptureRecord;
import io.vsnic.dataplane.capture.LinkType;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine;

/**
 * {@code vsnic wg decrypt} on the shared real WireGuard capture (Linux kernel peers; see
 * testdata/interop/wireguard/KEYS.md for what every frame decrypts to), with the initiator's key log,
 * the responder's, and the key log embedded in the pcapng file.
 */
class WgCommandTest
{
    private static final Path INTEROP = Path.of(System.getProperty("vsnic.repo.root", ".."))
        .resolve("testdata/interop/wireguard").toAbsolutePath().normalize();
    private static final Path CAPTURE = INTEROP.resolve("wireguard-ping-tcp-dsb.pcapng");
    private static final Path INITIATOR_KEYS = INTEROP.resolve("wireguard-ping-tcp.initiator.keys");
    private static final Path RESPONDER_KEYS = INTEROP.resolve("wireguard-ping-tcp.responder.keys");

    /** KEYS.md: what each transport frame's inner packet is, as the data plane's decoder prints it. */
    private static final Map<Integer, String> INNER = Map.ofEntries(
        Map.entry(3, "ipv4 10.10.0.2 > 10.10.0.1 ttl 64 id 58694 len 84 DF  icmp echo-request id 27648 seq 0 [cksum ok]"),
        Map.entry(4, "ipv4 10.10.0.1 > 10.10.0.2 ttl 64 id 41245 len 84  icmp echo-reply id 27648 seq 0 [cksum ok]"),
        Map.entry(5, "ipv4 10.10.0.2 > 10.10.0.1 ttl 64 id 58919 len 84 DF  icmp echo-request id 27648 seq 1"),
        Map.entry(6, "ipv4 10.10.0.1 > 10.10.0.2 ttl 64 id 41466 len 84  icmp echo-reply id 27648 seq 1"),
        Map.entry(7, "ipv4 10.10.0.2 > 10.10.0.1 ttl 64 id 59000 len 84 DF  icmp echo-request id 27648 seq 2"),
        Map.entry(8, "ipv4 10.10.0.1 > 10.10.0.2 ttl 64 id 41625 len 84  icmp echo-reply id 27648 seq 2"),
        Map.entry(10, "ipv4 10.10.0.1 > 1.1.1.1 ttl 64 id 47943 len 59 DF  udp 52950 > 53 len 39 [cksum ok]"),
        Map.entry(11, "ipv4 10.10.0.1 > 1.1.1.1 ttl 64 id 47944 len 59 DF  udp 52950 > 53 len 39 [cksum ok]"),
        Map.entry(12, "ipv4 1.1.1.1 > 10.10.0.1 ttl 63 id 0 len 75  udp 53 > 52950 len 55 [cksum ok]"),
        Map.entry(15, "ipv4 1.1.1.1 > 10.10.0.1 ttl 63 id 1 len 87  udp 53 > 52950 len 67 [cksum ok]"),
        Map.entry(17, "ipv4 10.10.0.1 > 178.21.112.251 ttl 64 id 39080 len 60 DF  tcp 49472 > 443 [S] seq 2333807784"),
        Map.entry(18, "ipv4 178.21.112.251 > 10.10.0.1 ttl 63 id 2 len 44  tcp 443 > 49472 [S.] seq 64001 ack 2333807785"),
        Map.entry(19, "ipv4 10.10.0.1 > 178.21.112.251 ttl 64 id 39081 len 40 DF  tcp 49472 > 443 [.] seq 2333807785 ack 64002"),
        Map.entry(20, "ipv4 10.10.0.1 > 178.21.112.251 ttl 64 id 39082 len 256 DF  tcp 49472 > 443 [P.] seq 2333807785 ack 64002 win 27600 len 216"),
        Map.entry(21, "ipv4 178.21.112.251 > 10.10.0.1 ttl 63 id 3 len 40  tcp 443 > 49472 [.] seq 64002 ack 2333808001"),
        Map.entry(22, "ipv4 178.21.112.251 > 10.10.0.1 ttl 63 id 4 len 1420 frag 0+  tcp 443 > 49472 [.] seq 64002"));

    /** The inner packets' lengths in capture order (keepalives 9 and 16 are not written). */
    private static final int[] INNER_LENGTHS = {84, 84, 84, 84, 84, 84, 59, 59, 75, 87, 60, 44, 40, 256, 40, 1420};

    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    private int run(final String... args)
    {
        out.getBuffer().setLength(0);
        err.getBuffer().setLength(0);
        final CommandLine commandLine = VsnicCli.commandLine();
        commandLine.setOut(new PrintWriter(out, true));
        commandLine.setErr(new PrintWriter(err, true));
        return commandLine.execute(args);
    }

    /** Frame number to its printed block (first line and the inner packet's line). */
    private Map<Integer, String> frames()
    {
        final Map<Integer, String> frames = new TreeMap<>();
        int current = -1;
        for (final String line : out.toString().split("\n"))
        {
            final String trimmed = line.strip();
            if (line.startsWith("              "))
            {
                frames.merge(current, "\n" + trimmed, String::concat);
            }
            else if (!trimmed.isEmpty() && Character.isDigit(trimmed.charAt(0)) && line.startsWith(" "))
            {
                current = Integer.parseInt(trimmed.substring(0, trimmed.indexOf(' ')));
                frames.put(current, trimmed);
            }
        }
        return frames;
    }

    @ParameterizedTest
    @ValueSource(strings = {"initiator", "responder", "embedded"})
    void shouldDecryptEveryFrameOfTheSharedCapture(final String keys)
    {
        final int status = switch (keys)
        {
            case "initiator" -> run("wg", "decrypt", "--strict", "--no-embedded-keys", "--keylog", INITIATOR_KEYS.toString(),
                CAPTURE.toString());
            case "responder" -> run("wg", "decrypt", "--strict", "--no-embedded-keys", "-k", RESPONDER_KEYS.toString(),
                CAPTURE.toString());
            default -> run("wg", "decrypt", "--strict", CAPTURE.toString());
        };
        assertEquals(0, status, err.toString());
        assertEquals("", err.toString());
        final Map<Integer, String> frames = frames();
        assertEquals(22, frames.size(), out.toString());
        for (final Map.Entry<Integer, String> entry : INNER.entrySet())
        {
            final String block = frames.get(entry.getKey());
            assertTrue(block.contains("\n" + entry.getValue()), "frame " + entry.getKey() + ":\n" + block);
            assertTrue(block.lines().findFirst().orElseThrow().endsWith(" B plaintext"), block);
        }
        assertTrue(frames.get(1).contains("handshake initiation sender 0x30d037d8 static Igge9KzRytKNwrgkzDE/8hrLu6Ly0OqVdvOPWhA5KR4= " +
            "timestamp 1532126321.356537872 (2018-07-20T22:38:41.356537872Z)"), frames.get(1));
        assertTrue(frames.get(2).endsWith("handshake response sender 0xab7df406 receiver 0x30d037d8: handshake ok, session keys derived"),
            frames.get(2));
        assertTrue(frames.get(13).contains("sender 0xbffd41c5") && frames.get(13).contains(".490514356"), frames.get(13));
        assertTrue(frames.get(14).contains("sender 0x26de9eb9 receiver 0xbffd41c5: handshake ok"), frames.get(14));
        assertTrue(frames.get(3).startsWith("3   170 B  10.9.0.1:43462 > 10.9.0.2:51820  transport receiver 0xab7df406 counter 0: 96 B plaintext"),
            frames.get(3));
        assertTrue(frames.get(9).endsWith("transport receiver 0xab7df406 counter 3: keepalive"), frames.get(9));
        assertTrue(frames.get(15).contains("transport receiver 0xab7df406 counter 5"), "late frame on the old session: " + frames.get(15));
        assertTrue(frames.get(16).endsWith("transport receiver 0x26de9eb9 counter 0: keepalive"), frames.get(16));
        assertTrue(out.toString().contains("22 frames: 22 WireGuard (2 initiation, 2 response, 0 cookie reply, 18 transport), " +
            "22 decrypted, 0 not decrypted; 16 inner packets, 2 keepalives; keys: 2 static, 2 ephemeral"), out.toString());
        assertEquals(keys.equals("embedded"), out.toString().contains("(1 key log embedded in the capture)"), out.toString());
    }

    @Test
    void shouldWriteInnerPacketsAsRawIpPcap(@TempDir final Path directory) throws Exception
    {
        final Path inner = directory.resolve("inner.pcap");
        assertEquals(0, run("wg", "decrypt", "-q", "-k", RESPONDER_KEYS.toString(), CAPTURE.toString(), "-w", inner.toString()),
            err.toString());
        assertTrue(out.toString().contains("wrote 16 inner packets to " + inner), out.toString());
        assertEquals(1, out.toString().lines().count() - 1, "-q prints only the summary and the file line: " + out);

        final List<CaptureRecord> records;
        final List<CaptureRecord> outer;
        try (CaptureReader reader = CaptureReader.open(inner); CaptureReader original = CaptureReader.open(CAPTURE))
        {
            records = reader.readAll();
            outer = original.readAll();
        }
        assertEquals(INNER_LENGTHS.length, records.size());
        for (int i = 0; i < records.size(); i++)
        {
            assertEquals(LinkType.LINKTYPE_RAW, records.get(i).linkType());
            assertEquals(INNER_LENGTHS[i], records.get(i).capturedLength(), "packet " + (i + 1));
        }
        // KEYS.md: frame 3's plaintext begins with these bytes; its time is frame 3's, to the microsecond
        assertEquals("45000054e54640004001414c0a0a00020a0a00010800f95c6c0000006fad22f5",
            HexFormat.of().formatHex(records.getFirst().data(), 0, 32));
        assertEquals(outer.get(2).timestampNs() / 1000, records.getFirst().timestampNs() / 1000);

        final String tshark = which("tshark");
        Assumptions.assumeTrue(tshark != null, "tshark is not installed (apt-get install tshark): skipping the tshark read-back");
        final Process process = new ProcessBuilder(tshark, "-r", inner.toString(), "-T", "fields", "-e", "frame.number",
            "-e", "ip.src", "-e", "ip.dst", "-e", "icmp.type", "-e", "tcp.dstport", "-e", "dns.qry.name")
            .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        final String fields = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, process.exitValue(), fields);
        final List<String> lines = new ArrayList<>(fields.lines().toList());
        assertEquals(16, lines.size(), fields);
        assertEquals("1\t10.10.0.2\t10.10.0.1\t8\t\t", lines.get(0));
        assertEquals("2\t10.10.0.1\t10.10.0.2\t0\t\t", lines.get(1));
        assertEquals("7\t10.10.0.1\t1.1.1.1\t\t\tlekensteyn.nl", lines.get(6));
        assertEquals("11\t10.10.0.1\t178.21.112.251\t\t443\t", lines.get(10));
        assertEquals("12\t178.21.112.251\t10.10.0.1\t\t49472\t", lines.get(11));
    }

    /** KEYS.md: "editcap --discard-all-secrets plus -F pcap on the DSB file gives the same 22 packets". */
    @Test
    void shouldDecryptClassicPcapAndSecretsInjectedByEditcap(@TempDir final Path directory) throws Exception
    {
        final String editcap = which("editcap");
        Assumptions.assumeTrue(editcap != null, "editcap is not installed (it comes with tshark): skipping");
        final Path plain = directory.resolve("plain.pcap");
        final Path injected = directory.resolve("injected.pcapng");
        exec(editcap, "-F", "pcap", "--discard-all-secrets", CAPTURE.toString(), plain.toString());
        exec(editcap, "--inject-secrets", "wg," + RESPONDER_KEYS, plain.toString(), injected.toString());

        final String summary = "22 frames: 22 WireGuard (2 initiation, 2 response, 0 cookie reply, 18 transport), " +
            "22 decrypted, 0 not decrypted; 16 inner packets, 2 keepalives";
        assertEquals(1, run("wg", "decrypt", "-q", "--strict", plain.toString()), "no keys: nothing decrypted");
        assertTrue(out.toString().contains("0 decrypted, 22 not decrypted"), out.toString());
        assertEquals(0, run("wg", "decrypt", "-q", "--strict", "-k", INITIATOR_KEYS.toString(), plain.toString()), out.toString());
        assertTrue(out.toString().contains(summary), out.toString());
        assertEquals(0, run("wg", "decrypt", "-q", "--strict", injected.toString()), out.toString());
        assertTrue(out.toString().contains(summary + "; keys: 2 static, 2 ephemeral (1 key log embedded in the capture)"),
            out.toString());
    }

    private static void exec(final String... command) throws IOException, InterruptedException
    {
        final Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        final String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(60, TimeUnit.SECONDS), String.join(" ", command));
        assertEquals(0, process.exitValue(), String.join(" ", command) + ": " + output);
    }

    @Test
    void shouldSayWhyFramesAreNotDecryptedWithoutKeys()
    {
        assertEquals(0, run("wg", "decrypt", "--no-embedded-keys", CAPTURE.toString()), err.toString());
        final Map<Integer, String> frames = frames();
        assertTrue(frames.get(1).endsWith("not decrypted: MAC1 matches none of the 0 static keys known: the key log lacks " +
            "the responder's key"), frames.get(1));
        assertTrue(frames.get(3).contains("not decrypted: no session key for receiver index 0xab7df406"), frames.get(3));
        assertTrue(out.toString().contains("0 decrypted, 22 not decrypted"), out.toString());

        assertEquals(1, run("wg", "decrypt", "--strict", "-q", "--no-embedded-keys", CAPTURE.toString()));
    }

    @Test
    void shouldFailWithOneLineForMissingOrBadFiles(@TempDir final Path directory) throws IOException
    {
        assertEquals(2, run("wg", "decrypt", directory.resolve("absent.pcapng").toString()));
        assertEquals("vsnic wg decrypt: no such file: " + directory.resolve("absent.pcapng") + "\n", err.toString());

        assertEquals(2, run("wg", "decrypt", "-k", directory.resolve("absent.keys").toString(), CAPTURE.toString()));
        assertEquals("vsnic wg decrypt: no such key log: " + directory.resolve("absent.keys") + "\n", err.toString());
        assertEquals("", out.toString());

        final Path badKeys = directory.resolve("bad.keys");
        Files.writeString(badKeys, "LOCAL_STATIC_PRIVATE_KEY=AAAA\n");
        assertEquals(2, run("wg", "decrypt", "-k", badKeys.toString(), CAPTURE.toString()));
        assertTrue(err.toString().startsWith("vsnic wg decrypt: key log " + badKeys + ": key log line 1"), err.toString());
        assertEquals(1, err.toString().lines().count());

        final Path truncated = directory.resolve("truncated.pcapng");
        final byte[] bytes = Files.readAllBytes(CAPTURE);
        Files.write(truncated, java.util.Arrays.copyOf(bytes, bytes.length - 100));
        assertEquals(2, run("wg", "decrypt", truncated.toString()));
        assertTrue(err.toString().startsWith("vsnic wg decrypt: " + truncated + ": offset "), err.toString());
        assertEquals(1, err.toString().lines().count());
        // the frames before the damage were still decrypted and reported
        assertTrue(out.toString().contains("21 frames: 21 WireGuard"), out.toString());
    }

    @Test
    void shouldReportFramesThatAreNotWireguard(@TempDir final Path directory) throws IOException
    {
        final Path synth = directory.resolve("synth.pcap");
        assertEquals(0, run("pcap", "synth", "-w", synth.toString()));
        assertEquals(0, run("wg", "decrypt", "-k", INITIATOR_KEYS.toString(), synth.toString()), err.toString());
        final Map<Integer, String> frames = frames();
        assertTrue(frames.get(1).contains("not WireGuard: not IP"), frames.get(1));
        assertTrue(out.toString().contains("21 frames: 0 WireGuard"), out.toString());
        assertTrue(out.toString().contains("21 not WireGuard"), out.toString());
        assertNull(frames.get(0));
    }

    static String which(final String program)
    {
        for (final String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator))
        {
            final File file = new File(dir, program);
            if (file.canExecute())
            {
                return file.getPath();
            }
        }
        return null;
    }
}
