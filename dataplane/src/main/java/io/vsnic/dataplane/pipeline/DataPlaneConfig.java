package io.vsnic.dataplane.pipeline;

import io.vsnic.dataplane.nativeio.Syscalls;
import io.vsnic.dataplane.security.ConnectionTimeouts;
import java.util.List;

/**
 * Sizing of a {@link DataPlane}, validated once when it is built.
 *
 * @param workers            worker threads (1..64).
 * @param frameSlots         frame buffers in the pool (each {@link io.vsnic.dataplane.buffer.FramePool#DEFAULT_SLOT_BYTES}).
 * @param connectionCapacity connection-table slots shared by all workers; size it at about twice the
 *                           expected live flows: above half full, a new flow whose probe window is
 *                           full is refused ({@code conntrack_full}) even though other slots are free.
 * @param timeouts           connection-table timeouts.
 * @param superFrameSlots    offload super-frames held at once (each a {@link io.vsnic.dataplane.buffer.FramePool#SUPER_SLOT_BYTES}
 *                           slot, 64.5 KiB, in a second pool: a 64 KiB super-frame does not fit an ordinary slot).
 *                           0 turns super-frames off: TAP vNICs then negotiate no segmentation offload.
 * @param workerCpus         the CPU each worker is pinned to: worker {@code i} runs on CPU number
 *                           {@code i % size} of this list (so a list shorter than the workers is reused);
 *                           empty for workers the scheduler places freely.
 */
public record DataPlaneConfig(int workers, int frameSlots, int connectionCapacity, ConnectionTimeouts timeouts,
    int superFrameSlots, List<Integer> workerCpus)
{
    /** Super-frame slots when not configured: 256 slots, 16.1 MiB of native memory. */
    public static final int DEFAULT_SUPER_FRAME_SLOTS = 256;

    /**
     * With {@link #DEFAULT_SUPER_FRAME_SLOTS}.
     */
    public DataPlaneConfig(final int workers, final int frameSlots, final int connectionCapacity, final ConnectionTimeouts timeouts)
    {
        this(workers, frameSlots, connectionCapacity, timeouts, DEFAULT_SUPER_FRAME_SLOTS);
    }

    /**
     * With unpinned workers.
     */
    public DataPlaneConfig(final int workers, final int frameSlots, final int connectionCapacity, final ConnectionTimeouts timeouts,
        final int superFrameSlots)
    {
        this(workers, frameSlots, connectionCapacity, timeouts, superFrameSlots, List.of());
    }

    public DataPlaneConfig
    {
        if (superFrameSlots < 0 || superFrameSlots > 65_536)
        {
            throw new IllegalArgumentException("superFrameSlots must be in 0..65536: " + superFrameSlots);
        }
        if (workers < 1 || workers > 64)
        {
            throw new IllegalArgumentException("workers must be in 1..64: " + workers);
        }
        if (frameSlots < 2 * Worker.BURST)
        {
            throw new IllegalArgumentException("frameSlots must be at least " + 2 * Worker.BURST + ": " + frameSlots);
        }
        if (connectionCapacity < 1024)
        {
            throw new IllegalArgumentException("connectionCapacity must be at least 1024: " + connectionCapacity);
        }
        if (timeouts == null)
        {
            throw new IllegalArgumentException("timeouts are required");
        }
        workerCpus = workerCpus == null ? List.of() : List.copyOf(workerCpus);
        for (final int cpu : workerCpus)
        {
            if (cpu < 0 || cpu >= Syscalls.CPU_SETSIZE)
            {
                throw new IllegalArgumentException("worker CPUs must be in 0.." + (Syscalls.CPU_SETSIZE - 1) + ": " + cpu);
            }
        }
    }

    /**
     * @return the CPU worker {@code worker} is pinned to, or -1 when workers are not pinned.
     */
    public int workerCpu(final int worker)
    {
        return workerCpus.isEmpty() ? -1 : workerCpus.get(worker % workerCpus.size());
    }

    /**
     * @return one worker per core minus one (at least one), 8192 frames, 65536 connections, default timeouts.
     */
    public static DataPlaneConfig defaults()
    {
        return new DataPlaneConfig(Math.max(1, Runtime.getRuntime().availableProcessors() - 1), 8192, 65536,
            ConnectionTimeouts.DEFAULTS);
    }
}
