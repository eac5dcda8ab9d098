package io.vsnic.orchestrator.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class PcapCommandTest
{
    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    private int run(final String... args)
    {
        final CommandLine commandLine = VsnicCli.commandLine();
        commandLine.setOut(new PrintWriter(out, true));
        commandLine.setErr(new PrintWriter(err, true));
        return commandLine.execute(args);
    }

    @Test
    void shouldWriteSynthCaptureThatInspectDecodesWithoutDrops(@TempDir final Path directory)
    {
        final Path capture = directory.resolve("synth.pcap");
        assertEquals(0, run("pcap", "synth", "-w", capture.toString()), err.toString());
        assertTrue(Files.isRegularFile(capture));
        assertTrue(out.toString().contains("wrote 21 frames"), out.toString());

        out.getBuffer().setLength(0);
        assertEquals(0, run("pcap", "inspect", "--strict", capture.toString()), err.toString());
        final String text = out.toString();
        assertTrue(text.contains("21 frames: 21 valid, 0 dropped"), text);
        assertTrue(text.contains("vxlan vni 100"), text);
        assertTrue(text.contains("geneve vni 43981 (0xabcd) proto 0x6558 [C] options [class 0x102 type 0x1 len 8 data 0000002a"), text);
        assertTrue(text.contains("arp who-has 10.0.0.12 tell 10.0.0.11"), text);
    }

    @Test
    void shouldReportDropReasonAndFailStrictWhenFrameIsBroken(@TempDir final Path directory) throws IOException
    {
        final Path capture = directory.resolve("synth.pcap");
        assertEquals(0, run("pcap", "synth", "-w", capture.toString()));
        final byte[] bytes = Files.readAllBytes(capture);
        // Frame 3 (IPv4 ICMP echo) starts after the 24-byte file header, two 60-byte frames and three record headers.
        final int ipv4HeaderChecksum = 24 + 16 + 60 + 16 + 60 + 16 + 14 + 10;
        bytes[ipv4HeaderChecksum] ^= 0x5A;
        Files.write(capture, bytes);

        out.getBuffer().setLength(0);
        assertEquals(1, run("pcap", "inspect", "--strict", capture.toString()));
        assertTrue(out.toString().contains("DROP bad_checksum"), out.toString());
        assertTrue(out.toString().contains("20 valid, 1 dropped, bad_checksum=1"), out.toString());
    }

    @Test
    void shouldExplainMissingAndCorruptFiles(@TempDir final Path directory) throws IOException
    {
        assertEquals(2, run("pcap", "inspect", directory.resolve("absent.pcap").toString()));
        assertTrue(err.toString().contains("no such file"), err.toString());

        final Path garbage = directory.resolve("garbage.pcap");
        Files.write(garbage, new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24});
        err.getBuffer().setLength(0);
        assertEquals(2, run("pcap", "inspect", garbage.toString()));
        assertTrue(err.toString().contains(garbage.toString()), err.toString());
    }

    @Test
    void shouldPrintVersionAndHelp()
    {
        assertEquals(0, run("--version"));
        assertTrue(out.toString().startsWith("vsnic "), out.toString());
        out.getBuffer().setLength(0);
        assertEquals(0, run("--help"));
        assertTrue(out.toString().contains("pcap"), out.toString());
    }
}
