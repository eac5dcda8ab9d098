package io.vsnic.orchestrator.lab;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;

import org.junit.jupiter.api.Test;

/**
 * The demo's in-process scenario (what {@code vsnic demo} runs without root): every check passes on a
 * working build, the WireGuard sessions between the two data planes are up and carry the traffic, and
 * the steps that need root (the substrate capture, the enclave) say so instead of passing.
 */
class InProcessDemoTest
{
    @Test
    void shouldPassEveryCheckOverWireguardAndSkipWhatIsNotBuilt()
    {
        final StringWriter text = new StringWriter();
        final int status = InProcessDemo.run(new PrintWriter(text, true));
        final String report = text.toString();
        assertEquals(0, status, report);
        assertTrue(report.contains("is-at 02:76:00:00:02:01"), report);
        assertTrue(report.matches("(?s).*ping d1v1 -> d2v1 \\(across devices\\) \\.* ok: \\d+/20 replies.*"), report);
        assertTrue(report.contains("substrate encryption (WireGuard) ") && report.contains("2 sessions up"), report);
        assertTrue(report.matches("(?s).*d1 -> d2: session up, handshake \\d+ s ago, rx [1-9]\\d* B, tx [1-9]\\d* B.*"), report);
        assertTrue(report.contains("skipped: needs root (tcpdump"), report);
        assertTrue(report.contains("demo: 7 passed, 0 failed, 2 skipped"), report);
        assertTrue(report.contains("skipped: not in the in-process demo: needs root (the lab's enclave services"), report);
        assertEquals(0, report.split("skipped: not in this build", -1).length - 1, report);
    }
}
