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
     * Releases the VM side and any frames the endpoint holds. Called once, after the port is detached.
     */
    @Override
    void close();
}
