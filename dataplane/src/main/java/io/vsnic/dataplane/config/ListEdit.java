package io.vsnic.dataplane.config;

import java.util.List;
import java.util.Objects;

/**
 * How a list became another by one contiguous edit: both share their first {@link #head()} and last
 * {@link #tail()} elements, and the elements between were replaced. A route added to or removed from a
 * million-route network is such an edit, and knowing it lets the control plane convert and compile that
 * one route instead of all of them.
 *
 * <p>Elements are compared with {@code equals} (identity first, so lists that share their unchanged
 * elements, as the control plane's do, compare at the speed of a pointer scan). One pass over each list,
 * nothing allocated but the result.
 *
 * @param head    elements equal at the start of both lists.
 * @param tail    elements equal at the end of both lists, not overlapping {@code head}.
 * @param removed how many elements of the first list were replaced ({@code before.size() - head - tail}).
 * @param added   how many elements of the second list replaced them ({@code after.size() - head - tail}).
 */
public record ListEdit(int head, int tail, int removed, int added)
{
    /**
     * @param before     the first list (random access).
     * @param after      the second list (random access).
     * @param maxChanged the most removed plus added elements worth describing.
     * @return the edit, or null when more than {@code maxChanged} elements differ.
     */
    public static ListEdit between(final List<?> before, final List<?> after, final int maxChanged)
    {
        final int n = before.size();
        final int m = after.size();
        if (Math.abs(n - m) > maxChanged)
        {
            return null;
        }
        final int shorter = Math.min(n, m);
        int head = 0;
        while (head < shorter && Objects.equals(before.get(head), after.get(head)))
        {
            head++;
        }
        int tail = 0;
        while (tail < shorter - head && Objects.equals(before.get(n - 1 - tail), after.get(m - 1 - tail)))
        {
            tail++;
        }
        final int removed = n - head - tail;
        final int added = m - head - tail;
        return removed + added > maxChanged ? null : new ListEdit(head, tail, removed, added);
    }

    /**
     * @return whether nothing changed (the lists are equal).
     */
    public boolean isEmpty()
    {
        return removed == 0 && added == 0;
    }
}
