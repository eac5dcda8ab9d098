package io.vsnic.orchestrator.lab;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Reads the samples of a Prometheus text exposition ({@code GET /metrics}) into
 * {@code "name{labels}" -> value}, and sums a metric over its labels.
 */
final class PromText
{
    private PromText()
    {
    }

    /**
     * @return every sample, keyed by its name with labels as written; comments and malformed lines skipped.
     */
    static Map<String, Double> parse(final String text)
    {
        final Map<String, Double> samples = new LinkedHashMap<>();
        for (final String raw : text.split("\n"))
        {
            final String line = raw.strip();
            if (line.isEmpty() || line.startsWith("#"))
            {
                continue;
            }
            final int space = line.lastIndexOf(' ');
            if (space <= 0)
            {
                continue;
            }
            try
            {
                samples.put(line.substring(0, space).strip(), Double.parseDouble(line.substring(space + 1)));
            }
            catch (final NumberFormatException ignored)
            {
                // a line that is not a sample
            }
        }
        return samples;
    }

    /**
     * @return the sum of every sample of {@code name} (any labels), 0 when there is none.
     */
    static double sum(final Map<String, Double> samples, final String name)
    {
        double total = 0;
        for (final Map.Entry<String, Double> sample : samples.entrySet())
        {
            final String key = sample.getKey();
            if (key.equals(name) || key.startsWith(name + "{"))
            {
                total += sample.getValue();
            }
        }
        return total;
    }
}
