package io.vsnic.dataplane.enclave;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

import io.vsnic.dataplane.config.Encapsulation;
import io.vsnic.dataplane.config.NetworkSpec;
import io.vsnic.dataplane.config.PeerSpec;
import io.vsnic.dataplane.config.PortSpec;
import io.vsnic.dataplane.config.RemoteSpec;
import io.vsnic.dataplane.config.SubnetSpec;
import io.vsnic.dataplane.pipeline.DataPlane;
import io.vsnic.dataplane.pipeline.DataPlaneConfig;
import io.vsnic.dataplane.pipeline.IsolationGuard;
import io.vsnic.dataplane.pipeline.Port;
import io.vsnic.dataplane.status.CounterSnapshot;
import io.vsnic.dataplane.substrate.UdpSubstrate;
import io.vsnic.dataplane.table.ForwardingState;

/**
 * One service enclave on one device: an isolation domain of its own. It owns
 * <ul>
 *   <li>its own {@link DataPlane} (frame pool, {@link ForwardingState} with one network holding only the
 *       enclave's service addresses and MACs, connection table and workers): the service ports are
 *       attached to it and nowhere else, so a service frame can only ever be resolved against the
 *       enclave's tables, and a customer port cannot resolve an enclave address (it is not in the
 *       customer state);</li>
 *   <li>its own {@link UdpSubstrate} with its own socket(s) and its own WireGuard identity and peer
 *       set ({@link UdpSubstrate#isolateAsEnclave()}: no plaintext path), reading and writing only this
 *       enclave's state;</li>
 *   <li>its own policy ({@link EnclaveSpec#policyOf}), enforced statefully by its connection table.</li>
 * </ul>
 * Nothing is shared with the customer data plane or another enclave but the JVM. Frames that try to
 * cross are dropped because the other side's tables do not have them, and counted as {@code
 * enclave_isolation} by the {@link IsolationGuard} each domain is given.
 */
public final class EnclaveDomain implements AutoCloseable
{
    /** The port id of the enclave substrate inside the enclave's data plane. */
    public static final int SUBSTRATE_PORT_ID = ForwardingState.MAX_PORTS - 1;

    private final EnclaveSpec spec;
    private final int device;
    private final DataPlane dataPlane;
    private final UdpSubstrate substrate;
    private boolean started;

    /**
     * @param spec      the enclave.
     * @param device    this device's id (the services with this device id are local).
     * @param config    sizes of the enclave's own data plane.
     * @param substrate the enclave substrate's sockets: must carry a WireGuard identity of its own.
     * @throws IllegalArgumentException when the substrate has no WireGuard identity.
     */
    public EnclaveDomain(final EnclaveSpec spec, final int device, final DataPlaneConfig config, final UdpSubstrate.Config substrate)
    {
        if (substrate.wireguard() == null)
        {
            throw new IllegalArgumentException("enclave " + spec.name() + ": substrate.wireguard is required (an enclave has no plaintext path)");
        }
        this.spec = spec;
        this.device = device;
        this.dataPlane = new DataPlane(config);
        this.substrate = new UdpSubstrate(SUBSTRATE_PORT_ID, dataPlane.pool(), dataPlane::state, substrate);
        this.substrate.isolateAsEnclave();
    }

    /**
     * Opens the enclave substrate's sockets.
     *
     * @throws IOException when a bind fails.
     */
    public void open() throws IOException
    {
        substrate.start();
    }

    /**
     * Publishes the enclave's tables for its peers and the other domains of the device, attaches the
     * substrate and starts the workers (first call), or republishes (later calls).
     *
     * @param peers the other devices that run services of this enclave (their enclave identities).
     * @param guard the other domains' VNIs and address spaces (to name isolation drops).
     * @throws IllegalArgumentException naming the field when the configuration does not compile.
     */
    public void configure(final List<EnclavePeer> peers, final IsolationGuard guard)
    {
        if (!guard.isEnclave())
        {
            throw new IllegalArgumentException("enclave " + spec.name() + ": its guard must be an enclave guard");
        }
        final List<RemoteSpec> remotes = new ArrayList<>();
        final List<PortSpec> ports = new ArrayList<>();
        for (final ServiceSpec service : spec.services())
        {
            if (service.device() == device)
            {
                ports.add(new PortSpec(service.portId(), service.name(), spec.name(), service.mac(), service.address(), null,
                    spec.policyOf(service), true));
            }
            else
            {
                remotes.add(new RemoteSpec(service.address(), service.mac(), service.device()));
            }
        }
        final List<PeerSpec> peerSpecs = new ArrayList<>();
        for (final EnclavePeer peer : peers)
        {
            peerSpecs.add(PeerSpec.wireguard(peer.device(), peer.name(), peer.endpoint(), Encapsulation.GENEVE, List.of(spec.vni()),
                peer.publicKey(), peer.innerAddress()));
        }
        final NetworkSpec network = new NetworkSpec(spec.name(), spec.vni(), 1400,
            List.of(new SubnetSpec(spec.cidr(), spec.gateway())), List.of(), remotes);
        final ForwardingState next = ForwardingState.build(dataPlane.state(), List.of(network), ports, peerSpecs);
        dataPlane.isolation(guard);
        dataPlane.publish(next);
        synchronized (this)
        {
            if (!started)
            {
                dataPlane.overlayPort(substrate);
                dataPlane.start();
                started = true;
            }
        }
    }

    /**
     * Attaches a local service's port (memory, TAP or QEMU backend) to the enclave's data plane.
     *
     * @throws IllegalArgumentException when the port is no local service's port of this enclave.
     */
    public void attach(final Port port)
    {
        for (final ServiceSpec service : spec.services())
        {
            if (service.device() == device && service.portId() == port.id())
            {
                dataPlane.addPort(port);
                return;
            }
        }
        throw new IllegalArgumentException("enclave " + spec.name() + ": port " + port.id() + " is no service of this enclave on device " + device);
    }

    public EnclaveSpec spec()
    {
        return spec;
    }

    /**
     * @return the enclave's own data plane (its pool allocates the frames its services send).
     */
    public DataPlane dataPlane()
    {
        return dataPlane;
    }

    /**
     * @return the enclave's own substrate.
     */
    public UdpSubstrate substrate()
    {
        return substrate;
    }

    /**
     * @return the counters of the enclave's workers.
     */
    public CounterSnapshot counters()
    {
        return dataPlane.counters();
    }

    @Override
    public void close()
    {
        substrate.close();
        dataPlane.close();
    }
}
