package io.vsnic.orchestrator.daemon;

import java.util.Map;
import java.util.TreeMap;

import io.vsnic.dataplane.pipeline.DataPlane;
import io.vsnic.orchestrator.model.Backend;
import io.vsnic.orchestrator.model.ResourceException;
import io.vsnic.orchestrator.model.VnicResource;

/**
 * The vNIC backends of this build, keyed by {@code backend.type}. A type the model knows but no
 * backend serves here (tap, qemu-stream, qemu-dgram until they are wired) is answered with 422
 * {@code backend_not_available}.
 */
public final class VnicBackends
{
    private final Map<String, VnicBackend> backends = new TreeMap<>();

    /**
     * @return the backends available in this build: {@code memory}, {@code tap}, {@code qemu-stream}, {@code qemu-dgram}.
     */
    public static VnicBackends defaults()
    {
        final VnicBackends backends = new VnicBackends().register(new MemoryVnicBackend());
        DeviceVnicBackends.registerAll(backends);
        return backends;
    }

    /**
     * Adds (or replaces) the backend for its type.
     *
     * @return this.
     */
    public VnicBackends register(final VnicBackend backend)
    {
        backends.put(backend.type(), backend);
        return this;
    }

    /**
     * @return the backend for a type.
     * @throws ResourceException 422 {@code backend_not_available} when this build has none for it.
     */
    public VnicBackend get(final String type, final String field)
    {
        final VnicBackend backend = backends.get(type);
        if (backend == null)
        {
            throw ResourceException.unprocessable("backend_not_available", field + ".type",
                "backend type " + type + " is not available in this build (available: " + String.join(", ", backends.keySet()) + ")");
        }
        return backend;
    }

    /**
     * Checks a vNIC's backend: the type is served here and the options are valid.
     */
    public void check(final Backend backend, final String field)
    {
        get(backend.type(), field).check(backend, field);
    }

    /**
     * Opens a vNIC's endpoint.
     */
    public VnicEndpoint open(final VnicResource vnic, final int portId, final DataPlane dataPlane) throws java.io.IOException
    {
        return get(vnic.backend().type(), "backend").open(vnic, portId, dataPlane);
    }
}
