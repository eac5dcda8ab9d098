package io.vsnic.vnic;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.Test;

class EndpointCountersTest
{
    @Test
    void shouldNotLoseTransmitCountsFromSeveralThreads() throws InterruptedException
    {
        final EndpointCounters counters = new EndpointCounters();
        final Thread[] threads = new Thread[4];
        for (int t = 0; t < threads.length; t++)
        {
            threads[t] = new Thread(() ->
            {
                for (int i = 0; i < 100_000; i++)
                {
                    counters.increment(EndpointCounter.TX_FRAMES);
                    counters.add(EndpointCounter.TX_BYTES, 60);
                }
            });
            threads[t].start();
        }
        for (int i = 0; i < 100_000; i++)
        {
            counters.increment(EndpointCounter.RX_FRAMES);
        }
        for (final Thread thread : threads)
        {
            thread.join(10_000);
            assertFalse(thread.isAlive());
        }
        assertEquals(400_000, counters.get(EndpointCounter.TX_FRAMES));
        assertEquals(24_000_000, counters.get(EndpointCounter.TX_BYTES));
        assertEquals(100_000, counters.get(EndpointCounter.RX_FRAMES));
    }

    @Test
    void shouldExportEveryCounterUnderAStableUniqueLabel()
    {
        final EndpointCounters counters = new EndpointCounters();
        counters.add(EndpointCounter.RX_BAD_LENGTH, 3);
        final Map<String, Long> snapshot = counters.snapshot();
        assertEquals(EndpointCounter.values().length, snapshot.size());
        assertEquals(3L, snapshot.get("rx_bad_length"));
        assertEquals("{rx_bad_length=3}", counters.toString());
        final Set<String> labels = new HashSet<>();
        for (final EndpointCounter counter : EndpointCounter.values())
        {
            assertTrue(labels.add(counter.label()));
            assertTrue(counter.label().matches("[a-z_]+"));
            assertEquals(counter.name().startsWith("TX_"), counter.sharedWriters(), counter.name());
        }
    }
}
