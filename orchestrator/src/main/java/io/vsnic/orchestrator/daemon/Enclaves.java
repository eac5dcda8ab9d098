package io.vsnic.orchestrator.daemon;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import io.vsnic.dataplane.enclave.AllowedFlow;
import io.vsnic.dataplane.enclave.EnclaveDomain;
import io.vsnic.dataplane.enclave.EnclavePeer;
import io.vsnic.dataplane.enclave.EnclaveSpec;
import io.vsnic.dataplane.enclave.ServiceSpec;
import io.vsnic.dataplane.pipeline.DataPlane;
import io.vsnic.dataplane.pipeline.DataPlaneConfig;
import io.vsnic.dataplane.pipeline.IsolationGuard;
import io.vsnic.dataplane.protocol.EthernetFlyweight;
import io.vsnic.dataplane.security.ConnectionTimeouts;
import io.vsnic.dataplane.substrate.UdpSubstrate;
import io.vsnic.dataplane.substrate.WireguardConfig;
import io.vsnic.orchestrator.model.DesiredState;
import io.vsnic.orchestrator.model.EnclaveResource;
import io.vsnic.orchestrator.model.NetworkResource;
import io.vsnic.orchestrator.model.ResourceException;
import io.vsnic.orchestrator.model.Subnet;
import io.vsnic.orchestrator.model.VnicResource;

/**
 * Realizes the desired state's enclaves on this device: one {@link EnclaveDomain} per enclave (its own
 * data plane, its own WireGuard-only substrate bound to the enclave's port with the enclave's own key,
 * its own policy), the local services' endpoints attached to it, and the {@link IsolationGuard}s of
 * every domain (the customer data plane's and each enclave's) naming the others. Like the {@link
 * Reconciler} it works in two steps: {@link #prepare} validates everything and opens new enclaves;
 * {@link #commit} closes removed ones, replaces changed ones and publishes. Called by the
 * controller's single writer only.
 */
public final class Enclaves
{
    private static final System.Logger LOG = System.getLogger(Enclaves.class.getName());

    private final String deviceName;
    private final int deviceId;
    private final String defaultBind;
    private final UdpSubstrate.Transport transport;
    private final VnicBackends backends;
    private final Map<String, Running> running = new HashMap<>();
    private volatile Map<String, Running> view = Map.of();
    private boolean lenient;
    private SourcePortRelease release;

    /** A realized enclave: its resource as applied, its domain and its local services' endpoints. */
    public record Running(EnclaveResource resource, EnclaveDomain domain, List<VnicEndpoint> endpoints)
    {
        void close()
        {
            endpoints.forEach(VnicEndpoint::close);
            domain.close();
        }
    }

    /** What {@link #prepare} checked and opened. */
    public record Prepared(Map<String, Running> opened, Map<String, Plan> replace, List<String> close)
    {
    }

    /** A checked enclave that is opened at commit (it replaces one on the same socket). */
    public record Plan(EnclaveResource resource, EnclaveSpec spec, byte[] privateKey)
    {
    }

    /**
     * @param deviceName  this device's name (services without a device, or with this name, are local).
     * @param deviceId    this device's id.
     * @param defaultBind the address an enclave substrate binds when it names none.
     * @param transport   the socket transport.
     * @param backends    the service backends (memory, tap, qemu), as for vNICs.
     */
    public Enclaves(final String deviceName, final int deviceId, final String defaultBind, final UdpSubstrate.Transport transport,
        final VnicBackends backends)
    {
        this.deviceName = deviceName;
        this.deviceId = deviceId;
        this.defaultBind = defaultBind;
        this.transport = transport;
        this.backends = backends;
    }

    /**
     * Frees a port that the device substrate's source port pool holds ({@code UdpSubstrate.releaseSourcePort}).
     */
    @FunctionalInterface
    public interface SourcePortRelease
    {
        /**
         * @param port the port an enclave substrate is about to bind.
         * @return whether the pool held it (and has moved off it).
         * @throws IOException when the pool held it and could not move.
         */
        boolean release(int port) throws IOException;
    }

    /**
     * An enclave created after the device started may want a port that the device substrate's source port
     * pool drew at start (49152..65535): {@code release} moves the pool off it before the enclave binds.
     *
     * @return this.
     */
    public Enclaves releasingSourcePorts(final SourcePortRelease release)
    {
        this.release = release;
        return this;
    }

    /**
     * Cluster mode: the replicated state was accepted by the cluster already, so an enclave this
     * device cannot realize (no key file here, port taken) is logged and skipped instead of failing
     * the device's whole reconcile.
     *
     * @return this.
     */
    public Enclaves lenient()
    {
        this.lenient = true;
        return this;
    }

    /**
     * Checks every enclave of {@code next} and opens the new ones (sockets bound, keys read, service endpoints open).
     *
     * @throws ResourceException 422 naming the field when an enclave cannot be realized here.
     */
    public Prepared prepare(final DesiredState next, final Map<String, String> fields)
    {
        final Map<String, Running> opened = new HashMap<>();
        final Map<String, Plan> replace = new HashMap<>();
        final List<String> close = new ArrayList<>();
        for (final Map.Entry<String, Running> entry : running.entrySet())
        {
            final EnclaveResource wanted = next.enclaves().get(entry.getKey());
            if (wanted == null || !sameSpec(entry.getValue().resource(), wanted))
            {
                close.add(entry.getKey());
            }
        }
        try
        {
            for (final EnclaveResource enclave : next.enclaves().values())
            {
                final Running current = running.get(enclave.name());
                if (current != null && sameSpec(current.resource(), enclave))
                {
                    continue;
                }
                final String p = fields.getOrDefault("enclave/" + enclave.name(), "enclaves[" + enclave.name() + "].");
                try
                {
                    final Plan plan = plan(enclave, p);
                    if (current != null && current.resource().substrate().port().equals(enclave.substrate().port()))
                    {
                        replace.put(enclave.name(), plan);       // same socket: opened once the old one is closed
                    }
                    else
                    {
                        opened.put(enclave.name(), open(plan, p));
                    }
                }
                catch (final ResourceException ex)
                {
                    if (!lenient)
                    {
                        throw ex;
                    }
                    LOG.log(Level.WARNING, "enclave " + enclave.name() + " is not realized on this device: " + ex.getMessage() +
                        (ex.field() == null ? "" : " (" + ex.field() + ")"));
                }
            }
        }
        catch (final RuntimeException ex)
        {
            opened.values().forEach(Running::close);
            throw ex;
        }
        return new Prepared(opened, replace, close);
    }

    private static boolean sameSpec(final EnclaveResource a, final EnclaveResource b)
    {
        return a.withVersion(null).equals(b.withVersion(null));
    }

    private Plan plan(final EnclaveResource enclave, final String p)
    {
        final Map<String, Integer> peerDevices = new HashMap<>();
        for (final EnclaveResource.Peer peer : enclave.peers())
        {
            peerDevices.put(peer.name(), peer.device());
        }
        final List<ServiceSpec> services = new ArrayList<>();
        for (int i = 0; i < enclave.services().size(); i++)
        {
            final EnclaveResource.Service service = enclave.services().get(i);
            final Integer device = service.device() == null || service.device().equals(deviceName) ? Integer.valueOf(deviceId) :
                peerDevices.get(service.device());
            if (device == null)
            {
                throw ResourceException.unprocessable("unknown_reference", p + "services[" + i + "].device",
                    "device " + service.device() + " is neither this device nor a peer of enclave " + enclave.name());
            }
            if (device == deviceId)
            {
                backends.check(service.backend(), p + "services[" + i + "].backend");
            }
            services.add(new ServiceSpec(service.name(), device, i + 1, EthernetFlyweight.parseMac(service.mac()), service.ip()));
        }
        List<AllowedFlow> allow = null;
        if (enclave.allow() != null)
        {
            allow = new ArrayList<>();
            for (final EnclaveResource.Flow flow : enclave.allow())
            {
                final int protocol = switch (flow.protocol())
                {
                    case "tcp" -> 6;
                    case "udp" -> 17;
                    case "icmp" -> 1;
                    default -> -1;
                };
                allow.add(new AllowedFlow(flow.from(), flow.to(), protocol, flow.port() == null ? 0 : flow.port()));
            }
        }
        final EnclaveSpec spec;
        try
        {
            spec = new EnclaveSpec(enclave.name(), enclave.vni(), enclave.cidr(), enclave.gateway(), services, allow);
        }
        catch (final IllegalArgumentException ex)
        {
            throw ResourceException.unprocessable("invalid_config", p.isEmpty() ? null : p.substring(0, p.length() - 1), ex.getMessage());
        }
        final byte[] key;
        try
        {
            key = WireguardConfig.readPrivateKeyFile(Path.of(enclave.substrate().privateKeyFile()));
        }
        catch (final IOException | RuntimeException ex)
        {
            throw ResourceException.unprocessable("invalid_config", p + "substrate.privateKeyFile",
                "cannot read the enclave's private key: " + ex.getMessage());
        }
        return new Plan(enclave, spec, key);
    }

    private Running open(final Plan plan, final String p)
    {
        final EnclaveResource enclave = plan.resource();
        final String bind = enclave.substrate().bindAddress() == null ? defaultBind : enclave.substrate().bindAddress();
        final UdpSubstrate.Config config = new UdpSubstrate.Config(bind, 0, 0, transport, 1, 4096)
            .withWireguard(WireguardConfig.of(plan.privateKey(), enclave.substrate().innerAddress())
                .withListenPort(enclave.substrate().port()));
        if (release != null)
        {
            try
            {
                if (release.release(enclave.substrate().port()))
                {
                    LOG.log(Level.INFO, "enclave " + enclave.name() + ": port " + enclave.substrate().port() +
                        " was a source port of the device substrate, which moved to another one");
                }
            }
            catch (final IOException ex)
            {
                throw ResourceException.unprocessable("backend_failed", p + "substrate.port", "port " + enclave.substrate().port() +
                    " is a source port of the device substrate, which could not move to another one: " + ex.getMessage());
            }
        }
        final EnclaveDomain domain = new EnclaveDomain(plan.spec(), deviceId,
            new DataPlaneConfig(1, 4096, 16_384, ConnectionTimeouts.DEFAULTS), config);
        final List<VnicEndpoint> endpoints = new ArrayList<>();
        try
        {
            domain.open();
            for (int i = 0; i < enclave.services().size(); i++)
            {
                final EnclaveResource.Service service = enclave.services().get(i);
                final ServiceSpec spec = plan.spec().services().get(i);
                if (spec.device() == deviceId)
                {
                    final VnicResource asVnic = new VnicResource(enclave.name() + "." + service.name(), enclave.name(), service.ip(),
                        null, service.mac(), List.of(), service.backend(), true, null, spec.portId(), null);
                    final VnicEndpoint endpoint = backends.open(asVnic, spec.portId(), domain.dataPlane());
                    endpoints.add(endpoint);
                    domain.attach(endpoint.port());      // polled from the first configure on
                }
            }
        }
        catch (final IOException | RuntimeException ex)
        {
            endpoints.forEach(VnicEndpoint::close);
            domain.close();
            if (ex instanceof ResourceException resource)
            {
                throw resource;
            }
            throw ResourceException.unprocessable("backend_failed", p + "substrate", "cannot open enclave " + enclave.name() + ": " +
                ex.getMessage());
        }
        return new Running(enclave, domain, endpoints);
    }

    /**
     * Closes removed and replaced enclaves, opens the replacements, configures every enclave and
     * publishes the isolation guards (the customer data plane's too).
     */
    public void commit(final Prepared prepared, final DesiredState next, final DataPlane customer)
    {
        for (final String name : prepared.close())
        {
            final Running old = running.remove(name);
            if (old != null)
            {
                old.close();
            }
        }
        running.putAll(prepared.opened());
        for (final Map.Entry<String, Plan> entry : prepared.replace().entrySet())
        {
            try
            {
                running.put(entry.getKey(), open(entry.getValue(), "enclaves[" + entry.getKey() + "]."));
            }
            catch (final ResourceException ex)
            {
                LOG.log(Level.WARNING, "enclave " + entry.getKey() + " not realized: " + ex.getMessage());
            }
        }
        final List<Integer> networkVnis = new ArrayList<>();
        final List<String> networkSpaces = new ArrayList<>();
        for (final NetworkResource network : next.networks().values())
        {
            networkVnis.add(network.vni());
            for (final Subnet subnet : network.subnets())
            {
                if (subnet.cidr().indexOf(':') < 0)
                {
                    networkSpaces.add(subnet.cidr());
                }
            }
        }
        final List<Integer> enclaveVnis = new ArrayList<>();
        final List<String> enclaveSpaces = new ArrayList<>();
        for (final EnclaveResource enclave : next.enclaves().values())
        {
            enclaveVnis.add(enclave.vni());
            enclaveSpaces.add(enclave.cidr());
        }
        customer.isolation(enclaveVnis.isEmpty() ? IsolationGuard.none() : IsolationGuard.of(false, enclaveVnis, enclaveSpaces));
        for (final Running enclave : running.values())
        {
            final List<Integer> vnis = new ArrayList<>(networkVnis);
            final List<String> spaces = new ArrayList<>(networkSpaces);
            for (final EnclaveResource other : next.enclaves().values())
            {
                if (!other.name().equals(enclave.resource().name()))
                {
                    vnis.add(other.vni());
                    spaces.add(other.cidr());
                }
            }
            final List<EnclavePeer> peers = new ArrayList<>();
            for (final EnclaveResource.Peer peer : enclave.resource().peers())
            {
                peers.add(new EnclavePeer(peer.device(), peer.name(), peer.endpoint(), peer.publicKey(), peer.innerAddress()));
            }
            enclave.domain().configure(peers, IsolationGuard.of(true, vnis, spaces));
        }
        view = Map.copyOf(running);
    }

    /**
     * Closes what a failed or dry-run {@link #prepare} opened.
     */
    public void abort(final Prepared prepared)
    {
        prepared.opened().values().forEach(Running::close);
    }

    /**
     * @return the realized enclaves by name (a consistent copy, readable from any thread).
     */
    public Map<String, Running> running()
    {
        return view;
    }

    /**
     * Closes every enclave (shutdown).
     */
    public void closeAll()
    {
        running.values().forEach(Running::close);
        running.clear();
        view = Map.of();
    }
}
