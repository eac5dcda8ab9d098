package io.vsnic.dataplane.status;

import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * The sum of every worker's counters at one moment (each counter read once; the sum is not an
 * atomic cut across counters while traffic flows, but every counter only grows).
 */
public final class CounterSnapshot
{
    private final long[] sums;

    private CounterSnapshot(final long[] sums)
    {
        this.sums = sums;
    }

    /**
     * @param workers every worker's counters.
     * @return their sum.
     */
    public static CounterSnapshot of(final List<WorkerCounters> workers)
    {
        final long[] sums = new long[WorkerCounters.length()];
        for (final WorkerCounters counters : workers)
        {
            for (int i = 0; i < sums.length; i++)
            {
                sums[i] += counters.get(i);
            }
        }
        return new CounterSnapshot(sums);
    }

    /**
     * @return the summed value of a counter index ({@code WorkerCounters.*} plus an offset).
     */
    public long get(final int index)
    {
        return sums[index];
    }

    public long drops(final DropReason reason)
    {
        return sums[WorkerCounters.DROPS + reason.ordinal()];
    }

    /**
     * @return drops over every reason.
     */
    public long totalDrops()
    {
        long total = 0;
        for (int i = 1; i < DropReason.count(); i++)
        {
            total += sums[WorkerCounters.DROPS + i];
        }
        return total;
    }

    /**
     * @return non-zero drop counts by reason.
     */
    public Map<DropReason, Long> dropsByReason()
    {
        final Map<DropReason, Long> drops = new EnumMap<>(DropReason.class);
        for (final DropReason reason : DropReason.values())
        {
            final long value = drops(reason);
            if (value != 0)
            {
                drops.put(reason, value);
            }
        }
        return drops;
    }

    public long portRxPackets(final int port)
    {
        return sums[WorkerCounters.PORT_RX_PACKETS + port];
    }

    public long portRxBytes(final int port)
    {
        return sums[WorkerCounters.PORT_RX_BYTES + port];
    }

    public long portTxPackets(final int port)
    {
        return sums[WorkerCounters.PORT_TX_PACKETS + port];
    }

    public long portTxBytes(final int port)
    {
        return sums[WorkerCounters.PORT_TX_BYTES + port];
    }

    public long portDrops(final int port)
    {
        return sums[WorkerCounters.PORT_DROPS + port];
    }

    public long networkRxPackets(final int slot)
    {
        return sums[WorkerCounters.NETWORK_RX_PACKETS + slot];
    }

    public long networkRxBytes(final int slot)
    {
        return sums[WorkerCounters.NETWORK_RX_BYTES + slot];
    }

    public long networkTxPackets(final int slot)
    {
        return sums[WorkerCounters.NETWORK_TX_PACKETS + slot];
    }

    public long networkTxBytes(final int slot)
    {
        return sums[WorkerCounters.NETWORK_TX_BYTES + slot];
    }

    public long localAnswers()
    {
        return sums[WorkerCounters.LOCAL_ANSWERS];
    }

    public long icmpErrorsSent()
    {
        return sums[WorkerCounters.ICMP_ERRORS_SENT];
    }

    public long rxFrames()
    {
        return sums[WorkerCounters.RX_FRAMES];
    }

    public long txFrames()
    {
        return sums[WorkerCounters.TX_FRAMES];
    }

    public long checksumsCompleted()
    {
        return sums[WorkerCounters.CHECKSUMS_COMPLETED];
    }

    /**
     * @return offload super-frames the workers cut into segments (software TSO/USO).
     */
    public long superFramesSegmented()
    {
        return sums[WorkerCounters.SUPER_FRAMES_SEGMENTED];
    }

    /**
     * @return segments built by cutting super-frames.
     */
    public long segmentsBuilt()
    {
        return sums[WorkerCounters.SEGMENTS_BUILT];
    }

    /**
     * @return super-frames built by coalescing segments (software GRO).
     */
    public long superFramesCoalesced()
    {
        return sums[WorkerCounters.SUPER_FRAMES_COALESCED];
    }

    /**
     * @return segments merged into coalesced super-frames.
     */
    public long segmentsCoalesced()
    {
        return sums[WorkerCounters.SEGMENTS_COALESCED];
    }

    public long flowsCreated()
    {
        return sums[WorkerCounters.FLOWS_CREATED];
    }
}
