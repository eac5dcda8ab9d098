package io.vsnic.dataplane.nativeio;

import java.util.Arrays;

/**
 * A list of CPU numbers in the Linux CPU-list syntax ({@code taskset -c}, {@code cpuset.cpus},
 * {@code /sys/devices/system/cpu/online}): comma-separated numbers and inclusive ranges, such as
 * {@code 0-3,6}. Order is kept as written (a worker's place in the list picks its CPU), duplicates
 * are refused.
 */
public final class CpuList
{
    private CpuList()
    {
    }

    /**
     * Parses a CPU list.
     *
     * @param text such as {@code 1}, {@code 0-3,6} or {@code 2,1}; blanks around items are allowed.
     * @return the CPUs in the order written, at least one.
     * @throws IllegalArgumentException with what is wrong, when {@code text} is not a CPU list, names a CPU
     *                                  outside 0..{@value Syscalls#CPU_SETSIZE} - 1 or names one twice.
     */
    public static int[] parse(final String text)
    {
        if (text == null || text.isBlank())
        {
            throw new IllegalArgumentException("a CPU list is empty; expected CPU numbers and ranges such as 0-3,6");
        }
        final boolean[] seen = new boolean[Syscalls.CPU_SETSIZE];
        int[] cpus = new int[8];
        int count = 0;
        for (final String item : text.split(",", -1))
        {
            final String trimmed = item.strip();
            final int dash = trimmed.indexOf('-');
            final int first = number(text, dash < 0 ? trimmed : trimmed.substring(0, dash));
            final int last = dash < 0 ? first : number(text, trimmed.substring(dash + 1));
            if (last < first)
            {
                throw new IllegalArgumentException("CPU range " + trimmed + " runs backwards in " + text);
            }
            for (int cpu = first; cpu <= last; cpu++)
            {
                if (seen[cpu])
                {
                    throw new IllegalArgumentException("CPU " + cpu + " is named twice in " + text);
                }
                seen[cpu] = true;
                if (count == cpus.length)
                {
                    cpus = Arrays.copyOf(cpus, count * 2);
                }
                cpus[count++] = cpu;
            }
        }
        return Arrays.copyOf(cpus, count);
    }

    private static int number(final String text, final String digits)
    {
        final String d = digits.strip();
        if (d.isEmpty() || d.length() > 4 || !d.chars().allMatch(c -> c >= '0' && c <= '9'))
        {
            throw new IllegalArgumentException("not a CPU list: " + text + " (expected CPU numbers and ranges such as 0-3,6)");
        }
        final int cpu = Integer.parseInt(d);
        if (cpu >= Syscalls.CPU_SETSIZE)
        {
            throw new IllegalArgumentException("CPU " + cpu + " is beyond " + (Syscalls.CPU_SETSIZE - 1) + " in " + text);
        }
        return cpu;
    }

    /**
     * Formats CPUs in the CPU-list syntax, runs of consecutive ascending numbers as ranges.
     *
     * @param cpus CPU numbers.
     * @return such as {@code 0-3,6}; empty for none.
     */
    public static String format(final int[] cpus)
    {
        final StringBuilder out = new StringBuilder();
        int i = 0;
        while (i < cpus.length)
        {
            int j = i;
            while (j + 1 < cpus.length && cpus[j + 1] == cpus[j] + 1)
            {
                j++;
            }
            if (!out.isEmpty())
            {
                out.append(',');
            }
            out.append(cpus[i]);
            if (j > i)
            {
                out.append('-').append(cpus[j]);
            }
            i = j + 1;
        }
        return out.toString();
    }
}
