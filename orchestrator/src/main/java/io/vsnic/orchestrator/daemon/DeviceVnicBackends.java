package io.vsnic.orchestrator.daemon;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

import io.vsnic.dataplane.pipeline.DataPlane;
import io.vsnic.dataplane.pipeline.Port;
import io.vsnic.orchestrator.model.Backend;
import io.vsnic.orchestrator.model.ResourceException;
import io.vsnic.orchestrator.model.VnicResource;
import io.vsnic.vnic.qemu.QemuDgramPort;
import io.vsnic.vnic.qemu.QemuStreamPort;
import io.vsnic.vnic.tap.TapDevice;
import io.vsnic.vnic.tap.TapPort;

/**
 * The vNIC backends that attach real VMs:
 * <ul>
 *   <li>{@code {type: tap, name: vsnic0}}: creates the TAP device, or attaches to one a hypervisor made
 *       (needs CAP_NET_ADMIN, i.e. root); the VM side is that interface (move it into a namespace, or
 *       give it to QEMU with {@code -netdev tap,ifname=NAME,script=no}).</li>
 *   <li>{@code {type: qemu-stream, path: /run/vsnic/vm1.sock}}: vsnic listens on a unix socket that
 *       {@code qemu-system-x86_64 -netdev stream,id=n0,server=off,addr.type=unix,addr.path=PATH} connects to.</li>
 *   <li>{@code {type: qemu-dgram, path: VSNIC_PATH, peer: QEMU_PATH}}: one frame per datagram, for
 *       {@code -netdev dgram,id=n0,local.type=unix,local.path=QEMU_PATH,remote.type=unix,remote.path=VSNIC_PATH}.</li>
 * </ul>
 */
final class DeviceVnicBackends
{
    private DeviceVnicBackends()
    {
    }

    static void registerAll(final VnicBackends backends)
    {
        backends.register(new Tap()).register(new QemuStream()).register(new QemuDgram());
    }

    private static void onlyOptions(final Backend backend, final String field, final Set<String> allowed)
    {
        for (final String option : backend.options().keySet())
        {
            if (!allowed.contains(option))
            {
                throw ResourceException.invalid(field + "." + option, "backend " + backend.type() + " has no option " + option +
                    " (it has " + String.join(", ", allowed) + ")");
            }
        }
    }

    private static String required(final Backend backend, final String field, final String option)
    {
        final String value = backend.option(option, "");
        if (value.isBlank())
        {
            throw ResourceException.invalid(field + "." + option, "backend " + backend.type() + " needs " + option);
        }
        return value;
    }

    /** An open endpoint around any closeable port. */
    private record Endpoint(Port port, AutoCloseable resource, Map<String, Object> details) implements VnicEndpoint
    {
        @Override
        public Map<String, Object> status()
        {
            return details;
        }

        @Override
        public void close()
        {
            try
            {
                resource.close();
            }
            catch (final Exception ex)
            {
                System.err.println("vsnicd: closing vNIC endpoint: " + ex.getMessage());
            }
        }
    }

    private static final class Tap implements VnicBackend
    {
        @Override
        public String type()
        {
            return "tap";
        }

        @Override
        public void check(final Backend backend, final String field)
        {
            onlyOptions(backend, field, Set.of("name"));
            final String name = required(backend, field, "name");
            if (name.length() > 15 || !name.matches("[A-Za-z0-9_.-]+"))
            {
                throw ResourceException.invalid(field + ".name", "a TAP name is 1..15 characters of [A-Za-z0-9_.-]: " + name);
            }
        }

        @Override
        public VnicEndpoint open(final VnicResource vnic, final int portId, final DataPlane dataPlane) throws IOException
        {
            final String name = vnic.backend().option("name", "");
            final TapPort port = new TapPort(portId, TapDevice.open(name), dataPlane.pool());
            final Map<String, Object> details = new LinkedHashMap<>();
            details.put("tap", name);
            return new Endpoint(port, port::close, details);
        }
    }

    private static final class QemuStream implements VnicBackend
    {
        @Override
        public String type()
        {
            return "qemu-stream";
        }

        @Override
        public void check(final Backend backend, final String field)
        {
            onlyOptions(backend, field, Set.of("path"));
            required(backend, field, "path");
        }

        @Override
        public VnicEndpoint open(final VnicResource vnic, final int portId, final DataPlane dataPlane) throws IOException
        {
            final Path path = Path.of(vnic.backend().option("path", ""));
            final QemuStreamPort port = new QemuStreamPort(portId, dataPlane.pool(), path);
            final Map<String, Object> details = new LinkedHashMap<>();
            details.put("path", path.toString());
            return new Endpoint(port, port::close, details);
        }
    }

    private static final class QemuDgram implements VnicBackend
    {
        @Override
        public String type()
        {
            return "qemu-dgram";
        }

        @Override
        public void check(final Backend backend, final String field)
        {
            onlyOptions(backend, field, Set.of("path", "peer"));
            required(backend, field, "path");
            required(backend, field, "peer");
        }

        @Override
        public VnicEndpoint open(final VnicResource vnic, final int portId, final DataPlane dataPlane) throws IOException
        {
            final Path path = Path.of(vnic.backend().option("path", ""));
            final Path peer = Path.of(vnic.backend().option("peer", ""));
            final QemuDgramPort port = new QemuDgramPort(portId, dataPlane.pool(), path, peer);
            final Map<String, Object> details = new LinkedHashMap<>();
            details.put("path", path.toString());
            details.put("peer", peer.toString());
            return new Endpoint(port, port::close, details);
        }
    }
}
