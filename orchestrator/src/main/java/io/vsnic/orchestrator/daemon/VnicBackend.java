package io.vsnic.orchestrator.daemon;

import java.io.IOException;

import io.vsnic.dataplane.pipeline.DataPlane;
import io.vsnic.orchestrator.model.Backend;
import io.vsnic.orchestrator.model.ResourceException;
import io.vsnic.orchestrator.model.VnicResource;

/**
 * A kind of VM-side vNIC endpoint, selected by {@code backend.type}. A backend turns a vNIC into a
 * data plane port; TAP and QEMU socket backends plug in here by implementing this and being
 * {@link VnicBackends#register registered}.
 */
public interface VnicBackend
{
    /**
     * @return the {@code backend.type} this backend serves ("memory", "tap", ...).
     */
    String type();

    /**
     * Checks a backend's options before a change is accepted (nothing is opened).
     *
     * @param backend the vNIC's backend object.
     * @param field   the field path of the backend object, for errors.
     * @throws ResourceException 400 for a bad option, 422 when the backend cannot serve it.
     */
    void check(Backend backend, String field);

    /**
     * Opens the endpoint: creates the data plane port with id {@code portId} (not yet attached).
     *
     * @throws IOException when the VM side cannot be opened.
     */
    VnicEndpoint open(VnicResource vnic, int portId, DataPlane dataPlane) throws IOException;

    /**
     * @return the options this backend assumes when they are left out (none by default): a backend that
     *     spells one out at its default opens the same endpoint as one that leaves it out, so changing
     *     between the two does not reopen the vNIC.
     */
    default java.util.Map<String, String> defaults()
    {
        return java.util.Map.of();
    }
}
