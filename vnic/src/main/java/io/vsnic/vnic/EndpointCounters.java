package io.vsnic.vnic;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One VM endpoint port's counters ({@link EndpointCounter}), allocated once. Receive-side counters
 * have a single writer (the owning worker) and are published with opaque stores; transmit-side
 * counters may be bumped by several workers at once and use atomic adds. Any thread may read them
 * ({@link #get}, opaque loads: each value is current, no ordering across counters is implied).
 * Each counter sits on its own cache line so that the receiving and the transmitting workers do
 * not share one.
 */
public final class EndpointCounters
{
    private static final VarHandle VALUES = MethodHandles.arrayElementVarHandle(long[].class);
    /** Longs per cache line: counter {@code c} lives at {@code c.ordinal() * STRIDE}. */
    private static final int STRIDE = 8;

    private final long[] values = new long[(EndpointCounter.all().length + 1) * STRIDE];

    private static int index(final EndpointCounter counter)
    {
        return (counter.ordinal() + 1) * STRIDE;
    }

    /**
     * Adds {@code delta}. Receive-side counters must be added only by the port's owning worker.
     */
    public void add(final EndpointCounter counter, final long delta)
    {
        final int index = index(counter);
        if (counter.sharedWriters())
        {
            VALUES.getAndAdd(values, index, delta);
        }
        else
        {
            VALUES.setOpaque(values, index, (long)VALUES.getOpaque(values, index) + delta);
        }
    }

    /**
     * Adds one.
     */
    public void increment(final EndpointCounter counter)
    {
        add(counter, 1);
    }

    /**
     * @return the counter's current value.
     */
    public long get(final EndpointCounter counter)
    {
        return (long)VALUES.getOpaque(values, index(counter));
    }

    /**
     * @return every counter by label, in ordinal order (allocates; for tools, tests and metrics export).
     */
    public Map<String, Long> snapshot()
    {
        final Map<String, Long> result = new LinkedHashMap<>();
        for (final EndpointCounter counter : EndpointCounter.all())
        {
            result.put(counter.label(), get(counter));
        }
        return result;
    }

    @Override
    public String toString()
    {
        final StringBuilder text = new StringBuilder("{");
        for (final EndpointCounter counter : EndpointCounter.all())
        {
            final long value = get(counter);
            if (value != 0)
            {
                text.append(text.length() > 1 ? ", " : "").append(counter.label()).append('=').append(value);
            }
        }
        return text.append('}').toString();
    }
}
