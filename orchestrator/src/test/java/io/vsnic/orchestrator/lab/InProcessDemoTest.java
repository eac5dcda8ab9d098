package io.vsnic.orchestrator.lab;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;

import org.junit.jupiter.api.Test;

/**
 * The demo's in-process scenario (what {@code vsnic demo} runs without root): every check passes on a
 * working build, and the steps that need parts not in this build say so instead of passing.
 */
class InProcessDemoTest
{
    @Test
    void shouldPassEveryCheckAndSkipWhatIsNotBuilt()
    {
        final StringWriter text = new StringWriter();
        final int status = InProcessDemo.run(new PrintWriter(text, true));
        final String report = text.toString();
        assertEquals(0, status, report);
        assertTrue(report.contains("is-at 02:76:00:00:02:01"), report);
        assertTrue(report.matches("(?s).*ping d1v1 -> d2v1 \\(across devices\\) \\.* ok: \\d+/20 replies.*"), report);
        assertTrue(report.contains("demo: 6 passed, 0 failed, 3 skipped"), report);
        assertEquals(3, report.split("skipped: not in this build", -1).length - 1, report);
    }
}
