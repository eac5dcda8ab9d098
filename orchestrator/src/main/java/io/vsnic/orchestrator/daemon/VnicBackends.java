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
     * Whether two backends open the same endpoint: the same type and the same options once each
     * backend's {@link VnicBackend#defaults()} fill in the ones left out ({@code offloads: on} spelled out
     * is the TAP a vNIC without it already has). A type not served here compares its options as given.
     */
    public boolean sameEndpoint(final Backend a, final Backend b)
    {
        if (!a.type().equals(b.type()))
        {
            return false;
        }
        final VnicBackend backend = backends.get(a.type());
        if (backend == null || backend.defaults().isEmpty())
        {
            return a.options().equals(b.options());
        }
        final Map<String, String> left = new TreeMap<>(backend.defaults());
        left.putAll(a.options());
        final Map<String, String> right = new TreeMap<>(backend.defaults());
        right.putAll(b.options());
        return left.equals(right);
    }

    /**
     * Opens a vNIC's endpoint.
     */
    public VnicEndpoint open(final VnicResource vnic, final int portId, final DataPlane dataPlane) throws java.io.IOException
    {
        return get(vnic.backend().type(), "backend").open(vnic, portId, dataPlane);
    }
}
