package io.vsnic.orchestrator.daemon;

import java.util.Map;

import io.vsnic.dataplane.pipeline.Port;

/**
 * An open vNIC: the data plane port and whatever holds the VM side. Closed after the port is
 * detached from the data plane.
 */
public interface VnicEndpoint extends AutoCloseable
{
    /**
     * @return the data plane port.
     */
    Port port();

    /**
     * @return backend-specific state for {@code GET /v1/vnics/{id}} (e.g. queued frames, device name).
     */
    Map<String, Object> status();

    /**
     * @return the endpoint's own counters by label (a TAP's or QEMU socket's {@code EndpointCounter}s: rx_pool_exhausted,
     *         rx_super_frames, ...), empty when it keeps none; shown in {@link #status()} and exported by {@code /metrics}.
     */
    default Map<String, Long> counters()
    {
        return Map.of();
    }

    /**
     * @return why the VM side is gone for good and the vNIC must be opened again (a connection to QEMU's
     *         listener that QEMU closed), or null while it is usable. Polled by the {@link Tasks} runner,
     *         which then makes the vNIC pending again.
     */
    default String lost()
    {
        return null;
    }

    /**
     * Releases the VM side and any frames the endpoint holds. Called once, after the port is detached.
     */
    @Override
    void close();
}
