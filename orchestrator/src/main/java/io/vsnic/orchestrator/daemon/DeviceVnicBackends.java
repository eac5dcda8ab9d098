package io.vsnic.orchestrator.daemon;

import java.io.IOException;
import java.net.ConnectException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

import io.vsnic.dataplane.pipeline.DataPlane;
import io.vsnic.dataplane.pipeline.Port;
import io.vsnic.orchestrator.model.Backend;
import io.vsnic.orchestrator.model.ResourceException;
import io.vsnic.orchestrator.model.VnicResource;
import io.vsnic.vnic.EndpointCounter;
import io.vsnic.vnic.EndpointCounters;
import io.vsnic.vnic.qemu.QemuDgramPort;
import io.vsnic.vnic.qemu.QemuStreamPort;
import io.vsnic.vnic.tap.TapDevice;
import io.vsnic.vnic.tap.TapOptions;
import io.vsnic.vnic.tap.TapPort;
import io.vsnic.vnic.tap.TunFlags;

/**
 * The vNIC backends that attach real VMs:
 * <ul>
 *   <li>{@code {type: tap, name: vsnic0, offloads: on}}: creates the TAP device, or attaches to one a
 *       hypervisor made (needs CAP_NET_ADMIN, i.e. root); the VM side is that interface (move it into a
 *       namespace, or give it to QEMU with {@code -netdev tap,ifname=NAME,script=no,vnet_hdr=on}). With
 *       {@code offloads: on} (the default, when the data plane has super-frame slots) the TAP is opened
 *       with a virtio-net header and checksum/TSO/USO offloads, negotiated flag by flag; the vNIC's
 *       details name what the kernel accepted ({@code offloads}) and refused ({@code offloadsRefused}), and
 *       whether super-frames are written whole ({@code coalescedWrites}: {@code on}, or {@code off} with the
 *       reason: a {@code gso_type} the kernel refused when the TAP was opened or on a write; then
 *       {@code coalescedWritesRefused} counts the super-frame writes refused while running).</li>
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
            final Map<String, Object> now = new LinkedHashMap<>(details);
            if (port instanceof QemuStreamPort stream)
            {
                now.put("connected", stream.connected());
            }
            if (port instanceof TapPort tap)
            {
                now.put("coalescedWrites", tap.coalescedWrites());
                final long refused = tap.counters().get(EndpointCounter.TX_COALESCED_REFUSED);
                if (refused > 0)
                {
                    now.put("coalescedWritesRefused", refused);
                }
            }
            final Map<String, Long> counters = counters();
            if (!counters.isEmpty())
            {
                now.put("counters", counters);
            }
            return now;
        }

        @Override
        public Map<String, Long> counters()
        {
            final EndpointCounters counters = switch (port)
            {
                case TapPort tap -> tap.counters();
                case QemuStreamPort stream -> stream.counters();
                case QemuDgramPort dgram -> dgram.counters();
                default -> null;
            };
            return counters == null ? Map.of() : counters.snapshot();
        }

        @Override
        public String lost()
        {
            return port instanceof QemuStreamPort stream && stream.connecting() && !stream.connected() ?
                "QEMU closed the connection on " + stream.socketPath() + " (waiting for it to listen again)" : null;
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
        /** The 12-byte virtio-net header (with num_buffers), as QEMU and vhost use it. */
        private static final int TAP_VNET_HEADER_BYTES = 12;

        @Override
        public String type()
        {
            return "tap";
        }

        @Override
        public Map<String, String> defaults()
        {
            return Map.of("offloads", "on", "create", "on");
        }

        @Override
        public void check(final Backend backend, final String field)
        {
            onlyOptions(backend, field, Set.of("name", "offloads", "create"));
            final String name = required(backend, field, "name");
            onOrOff(backend, field, "offloads");
            onOrOff(backend, field, "create");
            if (name.length() > 15 || !name.matches("[A-Za-z0-9_.-]+"))
            {
                throw ResourceException.invalid(field + ".name", "a TAP name is 1..15 characters of [A-Za-z0-9_.-]: " + name);
            }
        }

        @Override
        public VnicEndpoint open(final VnicResource vnic, final int portId, final DataPlane dataPlane) throws IOException
        {
            final String name = vnic.backend().option("name", "");
            // create: off attaches to the hypervisor's TAP and leaves its persistence as it is (no TUNSETPERSIST:
            // the hypervisor may be setting it persistent at this very moment, as `ip tuntap add` does just after
            // making the device)
            final boolean attach = vnic.backend().option("create", "on").equals("off");
            if (attach)
            {
                requireExistingTap(name);
            }
            final boolean offloads = vnic.backend().option("offloads", "on").equals("on") && dataPlane.superPool() != null;
            final TapOptions plain = offloads ?
                TapOptions.defaults().withOffloads(TAP_VNET_HEADER_BYTES, TapOptions.ALL_OFFLOADS) : TapOptions.defaults();
            final TapOptions options = attach ? plain.withPersistenceKept() : plain;
            final TapDevice device = TapDevice.open(name, options);
            final TapPort port = offloads ?
                new TapPort(portId, device, dataPlane.pool(), dataPlane.superPool()) : new TapPort(portId, device, dataPlane.pool());
            final Map<String, Object> details = new LinkedHashMap<>();
            details.put("tap", name);
            details.put("offloads", offloads ? TunFlags.describeOffloads(device.offloads()) : "off");
            if (offloads && device.refusedOffloads() != 0)
            {
                details.put("offloadsRefused", TunFlags.describeOffloads(device.refusedOffloads()));
            }
            return new Endpoint(port, port::close, details);
        }
    }

    /**
     * {@code create: off}: the hypervisor makes the TAP; until it exists the vNIC is pending. (Between this
     * check and {@code TUNSETIFF} the device could vanish, and the open would then create one that goes
     * away with vsnic's descriptor; the next change or restart re-checks.)
     */
    private static void requireExistingTap(final String name) throws IOException
    {
        final Path device = Path.of("/sys/class/net", name);
        if (!Files.exists(device))
        {
            throw new BackendUnavailableException("TAP " + name + " does not exist yet (create: off waits for the hypervisor to make it)");
        }
        final Path flags = device.resolve("tun_flags");
        if (!Files.exists(flags))
        {
            throw new IOException("interface " + name + " exists but is not a TUN/TAP device");
        }
    }

    /**
     * A socket's directory that does not exist yet (the hypervisor makes it with the VM) is pending, not refused.
     */
    private static void requireDirectory(final Path socket) throws IOException
    {
        final Path parent = socket.toAbsolutePath().getParent();
        if (parent != null && !Files.isDirectory(parent))
        {
            throw new BackendUnavailableException("the directory of " + socket + " does not exist yet");
        }
    }

    private static void onOrOff(final Backend backend, final String field, final String option)
    {
        final String value = backend.option(option, "on");
        if (!value.equals("on") && !value.equals("off"))
        {
            throw ResourceException.invalid(field + "." + option, option + " is on or off: " + value);
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
        public Map<String, String> defaults()
        {
            return Map.of("mode", "listen");
        }

        @Override
        public void check(final Backend backend, final String field)
        {
            onlyOptions(backend, field, Set.of("path", "mode"));
            required(backend, field, "path");
            final String mode = backend.option("mode", "listen");
            if (!mode.equals("listen") && !mode.equals("connect"))
            {
                throw ResourceException.invalid(field + ".mode", "mode is listen (vsnic listens, QEMU server=off) or connect " +
                    "(QEMU listens with server=on, vsnic connects): " + mode);
            }
        }

        @Override
        public VnicEndpoint open(final VnicResource vnic, final int portId, final DataPlane dataPlane) throws IOException
        {
            final Path path = Path.of(vnic.backend().option("path", ""));
            final boolean connect = vnic.backend().option("mode", "listen").equals("connect");
            final QemuStreamPort port;
            if (connect)
            {
                try
                {
                    port = QemuStreamPort.connect(portId, dataPlane.pool(), path);
                }
                catch (final IOException ex)
                {
                    // the socket is QEMU's: missing, refused or not yet ours to use, it is for the hypervisor to fix
                    final boolean absent = ex instanceof ConnectException || String.valueOf(ex.getMessage()).contains("No such file");
                    throw new BackendUnavailableException((absent ? "nothing listens on " + path + " yet (" :
                        "cannot connect to " + path + " yet (") + ex.getMessage() + ")", ex);
                }
            }
            else
            {
                requireDirectory(path);
                port = new QemuStreamPort(portId, dataPlane.pool(), path);
            }
            final Map<String, Object> details = new LinkedHashMap<>();
            details.put("path", path.toString());
            details.put("mode", connect ? "connect" : "listen");
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
            requireDirectory(path);
            final QemuDgramPort port = new QemuDgramPort(portId, dataPlane.pool(), path, peer);
            final Map<String, Object> details = new LinkedHashMap<>();
            details.put("path", path.toString());
            details.put("peer", peer.toString());
            return new Endpoint(port, port::close, details);
        }
    }
}
