package io.vsnic.orchestrator.lab;

import java.io.PrintWriter;
import java.util.Locale;

/**
 * The demo's report: one progress line per step ({@code [3/9] step ... ok: detail}), and the totals.
 * A step is passed, failed or skipped (with the reason); the demo exits 0 only when none failed.
 */
public final class DemoReport
{
    private static final int WIDTH = 58;

    private final PrintWriter out;
    private final int steps;
    private int step;
    private int passed;
    private int failed;
    private int skipped;

    DemoReport(final PrintWriter out, final int steps)
    {
        this.out = out;
        this.steps = steps;
    }

    /** Prints the start of a step's line (the outcome follows on the same line). */
    void begin(final String title)
    {
        step++;
        final String head = String.format(Locale.ROOT, "[%d/%d] %s ", step, steps, title);
        out.print(head.length() >= WIDTH ? head : head + ".".repeat(WIDTH - head.length()) + " ");
        out.flush();
    }

    void pass(final String detail)
    {
        passed++;
        out.println("ok" + (detail.isEmpty() ? "" : ": " + detail));
        out.flush();
    }

    void fail(final String detail)
    {
        failed++;
        out.println("FAILED: " + detail);
        out.flush();
    }

    void skip(final String reason)
    {
        skipped++;
        out.println("skipped: " + reason);
        out.flush();
    }

    /** The run was stopped (Ctrl-C) before every step ran: counts as a failure. */
    void interrupted()
    {
        failed++;
        out.println("interrupted after step " + step + " of " + steps + ": the remaining steps did not run");
        out.flush();
    }

    /** An indented detail line under the current step. */
    void detail(final String line)
    {
        out.println("      " + line);
        out.flush();
    }

    boolean anyFailed()
    {
        return failed > 0;
    }

    /** Prints the closing line; @return the exit status (0 only when nothing failed). */
    int finish()
    {
        out.printf(Locale.ROOT, "demo: %d passed, %d failed, %d skipped%n", passed, failed, skipped);
        out.flush();
        return failed == 0 ? 0 : 1;
    }
}
