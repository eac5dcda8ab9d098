package io.vsnic.orchestrator.daemon;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;

import org.junit.jupiter.api.Test;

import io.vsnic.orchestrator.model.Backend;

/**
 * Which backend changes reopen a vNIC: an option spelled out at its default is the endpoint the vNIC
 * already has (a TAP reopened would be recreated in vsnicd's namespace and leave the VM's).
 */
class VnicBackendsTest
{
    private final VnicBackends backends = VnicBackends.defaults();

    @Test
    void shouldTreatAnOptionAtItsDefaultAsTheSameEndpoint()
    {
        final Backend tap = new Backend("tap", Map.of("name", "tap7"));
        assertTrue(backends.sameEndpoint(tap, new Backend("tap", Map.of("name", "tap7", "offloads", "on"))));
        assertTrue(backends.sameEndpoint(new Backend("tap", Map.of("name", "tap7", "offloads", "on", "create", "on")), tap));
        assertFalse(backends.sameEndpoint(tap, new Backend("tap", Map.of("name", "tap7", "offloads", "off"))));
        assertFalse(backends.sameEndpoint(tap, new Backend("tap", Map.of("name", "tap7", "create", "off"))));
        assertFalse(backends.sameEndpoint(tap, new Backend("tap", Map.of("name", "tap8"))));

        final Backend stream = new Backend("qemu-stream", Map.of("path", "/run/vm1.sock"));
        assertTrue(backends.sameEndpoint(stream, new Backend("qemu-stream", Map.of("path", "/run/vm1.sock", "mode", "listen"))));
        assertFalse(backends.sameEndpoint(stream, new Backend("qemu-stream", Map.of("path", "/run/vm1.sock", "mode", "connect"))));

        // no defaults, or no backend for the type: the options as given
        assertTrue(backends.sameEndpoint(new Backend("memory", Map.of()), new Backend("memory", Map.of())));
        assertFalse(backends.sameEndpoint(new Backend("vhost", Map.of("x", "1")), new Backend("vhost", Map.of())));
        assertFalse(backends.sameEndpoint(tap, new Backend("qemu-stream", Map.of("name", "tap7"))));
    }
}
