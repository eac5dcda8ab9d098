package io.vsnic.orchestrator.daemon;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

import io.vsnic.dataplane.config.Encapsulation;
import io.vsnic.dataplane.config.Encryption;
import io.vsnic.dataplane.config.ListEdit;
import io.vsnic.dataplane.config.NetworkSpec;
import io.vsnic.dataplane.config.PeerSpec;
import io.vsnic.dataplane.config.PortSpec;
import io.vsnic.dataplane.config.RemoteSpec;
import io.vsnic.dataplane.config.RouteSpec;
import io.vsnic.dataplane.config.SubnetSpec;
import io.vsnic.dataplane.pipeline.DataPlane;
import io.vsnic.dataplane.protocol.EthernetFlyweight;
import io.vsnic.dataplane.security.CompiledPolicy;
import io.vsnic.dataplane.security.SecurityGroup;
import io.vsnic.dataplane.security.SecurityRule;
import io.vsnic.dataplane.status.CounterSnapshot;
import io.vsnic.dataplane.table.ForwardingState;
import io.vsnic.orchestrator.model.DesiredState;
import io.vsnic.orchestrator.model.NetworkResource;
import io.vsnic.orchestrator.model.PeerResource;
import io.vsnic.orchestrator.model.Remote;
import io.vsnic.orchestrator.model.ResourceException;
import io.vsnic.orchestrator.model.Route;
import io.vsnic.orchestrator.model.RouteTarget;
import io.vsnic.orchestrator.model.SecurityGroupResource;
import io.vsnic.orchestrator.model.Subnet;
import io.vsnic.orchestrator.model.Validator;
import io.vsnic.orchestrator.model.VnicResource;

/**
 * Turns a desired state into the data plane's form, in two steps so that nothing is half-applied:
 * {@link #prepare} builds (and so fully validates) the next {@link ForwardingState} and opens the
 * endpoints of new vNICs without attaching them; {@link #commit} then attaches new ports, publishes
 * the snapshot and detaches removed ports, none of which can fail; {@link #abort} closes what
 * {@code prepare} opened. Called by the controller's single writer only (under its lock).
 *
 * <p>A vNIC whose backend cannot be opened yet ({@link BackendUnavailableException}: the TAP is not
 * there, nothing listens on QEMU's socket) does not refuse the change: it is <em>pending</em>, in the
 * forwarding state (frames to it are dropped as {@code unknown_port}) but not attached, and
 * {@link Tasks} retries it through {@link #attachPending}. A pending vNIC whose spec does not change
 * is left to its task; one that is deleted or re-backed stops being pending.
 */
public final class Reconciler
{
    private final DataPlane dataPlane;
    private final VnicBackends backends;
    private final boolean encrypted;
    private final Map<String, Attached> attached = new HashMap<>();
    private volatile Map<String, Attached> view = Map.of();
    private final Map<String, Pending> pending = new HashMap<>();
    private volatile Map<String, Pending> pendingView = Map.of();
    private Enclaves enclaves;

    /**
     * An attached vNIC: its spec as applied, its endpoint, and the port counters at attach time
     * (port ids are reused; counters of a new vNIC start from this baseline).
     */
    public record Attached(VnicResource vnic, VnicEndpoint endpoint, long[] baseline)
    {
    }

    /**
     * A vNIC whose backend cannot be opened yet.
     *
     * @param vnic   its spec as accepted.
     * @param reason why it cannot be opened (the last attempt's error).
     */
    public record Pending(VnicResource vnic, String reason)
    {
    }

    /**
     * The outcome of {@link #prepare}: the next snapshot, the endpoints to swap (and the enclaves', or null),
     * and the vNICs that become pending with the reason.
     */
    public record Prepared(ForwardingState state, Map<String, VnicEndpoint> opened, List<String> detach, Enclaves.Prepared enclaves,
        Map<String, String> deferred)
    {
    }

    /**
     * Realizes enclaves too (a device without it refuses a state with enclaves).
     *
     * @return this.
     */
    public Reconciler withEnclaves(final Enclaves value)
    {
        this.enclaves = value;
        return this;
    }

    /**
     * @return the enclaves realized here, or null when this reconciler has none.
     */
    public Enclaves enclaves()
    {
        return enclaves;
    }

    /**
     * @param dataPlane the data plane to program.
     * @param backends  the vNIC backends.
     */
    public Reconciler(final DataPlane dataPlane, final VnicBackends backends)
    {
        this(dataPlane, backends, false);
    }

    /**
     * @param dataPlane the data plane to program.
     * @param backends  the vNIC backends.
     * @param encrypted whether the substrate has WireGuard (peers with encryption wireguard are refused without it).
     */
    public Reconciler(final DataPlane dataPlane, final VnicBackends backends, final boolean encrypted)
    {
        this.dataPlane = dataPlane;
        this.backends = backends;
        this.encrypted = encrypted;
    }

    /**
     * Builds the next snapshot and opens the endpoints of new (or re-backed) vNICs; a backend that is
     * not available yet makes its vNIC pending.
     *
     * @param next   the desired state.
     * @param fields field prefix per "vnic/ID" for errors (default {@code vnics[ID].}).
     * @throws ResourceException 422 when the data plane rejects the state or a backend cannot serve a vNIC.
     */
    public Prepared prepare(final DesiredState next, final Map<String, String> fields)
    {
        return prepare(next, fields, false);
    }

    /**
     * @param lenient every backend that fails to open makes its vNIC pending (a state accepted before: replay
     *                at start, a cluster's derived state), not only one that is {@link BackendUnavailableException unavailable}.
     */
    public Prepared prepare(final DesiredState next, final Map<String, String> fields, final boolean lenient)
    {
        for (final VnicResource vnic : next.vnics().values())
        {
            backends.check(vnic.backend(), fields.getOrDefault("vnic/" + vnic.id(), "vnics[" + vnic.id() + "].") + "backend");
        }
        if (!encrypted)
        {
            for (final PeerResource peer : next.peers().values())
            {
                if ("wireguard".equals(peer.encryption()))
                {
                    throw ResourceException.unprocessable("not_available",
                        fields.getOrDefault("peer/" + peer.name(), "peers[" + peer.name() + "].") + "encryption",
                        "peer " + peer.name() + " needs encryption wireguard but this device has no encrypted substrate " +
                        "(substrate.wireguard in the device configuration); use encryption none only for a peer that cannot encrypt");
                }
            }
        }
        final ForwardingState state;
        try
        {
            state = ForwardingState.build(dataPlane.state(), networks(next), ports(next), peers(next));
        }
        catch (final IllegalArgumentException ex)
        {
            throw ResourceException.unprocessable("invalid_config", null, ex.getMessage());
        }
        final List<String> detach = new ArrayList<>();
        for (final Map.Entry<String, Attached> entry : attached.entrySet())
        {
            final VnicResource wanted = next.vnics().get(entry.getKey());
            if (wanted == null || needsReopen(entry.getValue().vnic(), wanted))
            {
                detach.add(entry.getKey());
            }
        }
        final Map<String, VnicEndpoint> opened = new HashMap<>();
        final Map<String, String> deferred = new HashMap<>();
        try
        {
            for (final VnicResource vnic : next.vnics().values())
            {
                final Attached current = attached.get(vnic.id());
                if (current == null || needsReopen(current.vnic(), vnic))
                {
                    final Pending waiting = pending.get(vnic.id());
                    if (current == null && waiting != null && !needsReopen(waiting.vnic(), vnic))
                    {
                        continue;  // its task keeps trying
                    }
                    try
                    {
                        opened.put(vnic.id(), backends.open(vnic, vnic.port(), dataPlane));
                    }
                    catch (final BackendUnavailableException ex)
                    {
                        deferred.put(vnic.id(), ex.getMessage());
                    }
                    catch (final IOException ex)
                    {
                        if (!lenient)
                        {
                            throw ex;
                        }
                        deferred.put(vnic.id(), "cannot open the backend: " + ex.getMessage());
                    }
                }
            }
        }
        catch (final IOException | RuntimeException ex)
        {
            opened.values().forEach(VnicEndpoint::close);
            if (ex instanceof ResourceException resource)
            {
                throw resource;
            }
            throw ResourceException.unprocessable("backend_failed", null, "cannot open a vNIC backend: " + ex.getMessage());
        }
        Enclaves.Prepared enclaveChanges = null;
        if (enclaves != null)
        {
            try
            {
                enclaveChanges = enclaves.prepare(next, fields);
            }
            catch (final RuntimeException ex)
            {
                opened.values().forEach(VnicEndpoint::close);
                throw ex;
            }
        }
        else if (!next.enclaves().isEmpty())
        {
            opened.values().forEach(VnicEndpoint::close);
            throw ResourceException.unprocessable("not_available", "enclaves", "this device does not realize enclaves");
        }
        return new Prepared(state, opened, detach, enclaveChanges, deferred);
    }

    private boolean needsReopen(final VnicResource current, final VnicResource wanted)
    {
        return !Objects.equals(current.port(), wanted.port()) || !backends.sameEndpoint(current.backend(), wanted.backend());
    }

    /**
     * Applies a prepared change: detaches replaced and removed ports, attaches opened ones, publishes.
     */
    public void commit(final Prepared prepared, final DesiredState next)
    {
        final List<Attached> closing = new ArrayList<>();
        final List<Attached> detachAfterPublish = new ArrayList<>();
        for (final String id : prepared.detach())
        {
            final Attached old = attached.remove(id);
            if (prepared.opened().containsKey(id))
            {
                // replaced: the old port must leave before the new one with the same or another id arrives
                dataPlane.removePort(old.endpoint().port().id());
                closing.add(old);
            }
            else
            {
                detachAfterPublish.add(old);
            }
        }
        final CounterSnapshot counters = dataPlane.counters();
        for (final Map.Entry<String, VnicEndpoint> entry : prepared.opened().entrySet())
        {
            final int port = entry.getValue().port().id();
            dataPlane.addPort(entry.getValue().port());
            attached.put(entry.getKey(), new Attached(next.vnics().get(entry.getKey()), entry.getValue(), new long[] {
                counters.portRxPackets(port), counters.portRxBytes(port), counters.portTxPackets(port),
                counters.portTxBytes(port), counters.portDrops(port)}));
        }
        for (final VnicResource vnic : next.vnics().values())
        {
            final Attached current = attached.get(vnic.id());
            if (current != null && current.vnic() != vnic)
            {
                attached.put(vnic.id(), new Attached(vnic, current.endpoint(), current.baseline()));
            }
        }
        dataPlane.publish(prepared.state());
        for (final Attached old : detachAfterPublish)
        {
            dataPlane.removePort(old.endpoint().port().id());
            closing.add(old);
        }
        for (final Attached old : closing)
        {
            old.endpoint().close();
        }
        view = Map.copyOf(attached);
        for (final String id : List.copyOf(pending.keySet()))
        {
            final Pending waiting = pending.get(id);
            final VnicResource wanted = next.vnics().get(id);
            if (wanted == null || attached.containsKey(id) || needsReopen(waiting.vnic(), wanted))
            {
                pending.remove(id);
            }
            else if (wanted != waiting.vnic())
            {
                pending.put(id, new Pending(wanted, waiting.reason()));
            }
        }
        for (final Map.Entry<String, String> entry : prepared.deferred().entrySet())
        {
            pending.put(entry.getKey(), new Pending(next.vnics().get(entry.getKey()), entry.getValue()));
        }
        pendingView = Map.copyOf(pending);
        if (prepared.enclaves() != null)
        {
            enclaves.commit(prepared.enclaves(), next, dataPlane);
        }
    }

    /**
     * One attempt of a pending vNIC's task: opens its backend and attaches the port.
     *
     * @param id   the vNIC.
     * @param spec the task's {@link #spec} of the vNIC: nothing is done when the pending vNIC is another.
     * @return false when the vNIC is not pending with that spec (deleted, changed or attached meanwhile).
     * @throws IOException when the backend still cannot be opened (the vNIC stays pending with this reason).
     */
    public boolean attachPending(final String id, final String spec) throws IOException
    {
        final Pending waiting = pending.get(id);
        if (waiting == null || !spec(waiting.vnic()).equals(spec))
        {
            return false;
        }
        final VnicEndpoint endpoint;
        try
        {
            endpoint = backends.open(waiting.vnic(), waiting.vnic().port(), dataPlane);
        }
        catch (final IOException ex)
        {
            pending.put(id, new Pending(waiting.vnic(), ex.getMessage()));
            pendingView = Map.copyOf(pending);
            throw ex;
        }
        final int port = endpoint.port().id();
        final CounterSnapshot counters = dataPlane.counters();
        try
        {
            dataPlane.addPort(endpoint.port());
        }
        catch (final RuntimeException ex)
        {
            endpoint.close();
            throw ex;
        }
        attached.put(id, new Attached(waiting.vnic(), endpoint, new long[] {
            counters.portRxPackets(port), counters.portRxBytes(port), counters.portTxPackets(port),
            counters.portTxBytes(port), counters.portDrops(port)}));
        pending.remove(id);
        view = Map.copyOf(attached);
        pendingView = Map.copyOf(pending);
        return true;
    }

    /**
     * Detaches the attached vNICs whose VM side is gone for good ({@link VnicEndpoint#lost}) and makes them
     * pending again.
     *
     * @return how many.
     */
    public int requeueLost()
    {
        int lost = 0;
        for (final Attached each : List.copyOf(attached.values()))
        {
            final String reason = each.endpoint().lost();
            if (reason != null)
            {
                dataPlane.removePort(each.endpoint().port().id());
                each.endpoint().close();
                attached.remove(each.vnic().id());
                pending.put(each.vnic().id(), new Pending(each.vnic(), reason));
                lost++;
            }
        }
        if (lost > 0)
        {
            view = Map.copyOf(attached);
            pendingView = Map.copyOf(pending);
        }
        return lost;
    }

    /**
     * @return the pending vNICs by id (a consistent copy, readable from any thread).
     */
    public Map<String, Pending> pending()
    {
        return pendingView;
    }

    /**
     * @return what identifies how a vNIC is opened (backend and port): a task retries one spec; a vNIC whose
     *         spec changes gets a new task.
     */
    public static String spec(final VnicResource vnic)
    {
        return vnic.backend().toJson() + " port " + vnic.port();
    }

    /**
     * Closes the endpoints a failed or dry-run change opened.
     */
    public void abort(final Prepared prepared)
    {
        prepared.opened().values().forEach(VnicEndpoint::close);
        if (prepared.enclaves() != null)
        {
            enclaves.abort(prepared.enclaves());
        }
    }

    /**
     * @return the attached vNICs by id (a consistent copy, readable from any thread).
     */
    public Map<String, Attached> attached()
    {
        return view;
    }

    /**
     * Detaches every vNIC (shutdown).
     */
    public void detachAll()
    {
        for (final Attached old : attached.values())
        {
            dataPlane.removePort(old.endpoint().port().id());
            old.endpoint().close();
        }
        attached.clear();
        view = Map.of();
        pending.clear();
        pendingView = Map.of();
        if (enclaves != null)
        {
            enclaves.closeAll();
        }
    }

    // ---------------------------------------------------------------------------------------------

    /**
     * A network's routes as last converted for the data plane: taken again while the network keeps the very
     * same route list and the vNICs its routes name keep their ports, so that the data plane sees the same
     * list instance and keeps its compiled tables ({@code ForwardingState}); a million routes are not
     * converted and compiled again for every unrelated change.
     */
    private record RouteConversion(List<Route> from, Map<String, Integer> ports, List<RouteSpec> to)
    {
        boolean holds(final NetworkResource network, final DesiredState state)
        {
            return from == network.routes() && portsHold(state);
        }

        /** Whether the vNICs the converted routes name still have the ports they were converted with. */
        boolean portsHold(final DesiredState state)
        {
            for (final Map.Entry<String, Integer> port : ports.entrySet())
            {
                final VnicResource vnic = state.vnics().get(port.getKey());
                if (vnic == null || !port.getValue().equals(vnic.port()))
                {
                    return false;
                }
            }
            return true;
        }
    }

    /** By network name; the control thread's (prepare runs under the controller's lock). */
    private final Map<String, RouteConversion> conversions = new HashMap<>();

    private List<NetworkSpec> networks(final DesiredState state)
    {
        conversions.keySet().retainAll(state.networks().keySet());
        final List<NetworkSpec> specs = new ArrayList<>();
        for (final NetworkResource network : state.networks().values())
        {
            final List<SubnetSpec> subnets = new ArrayList<>();
            for (final Subnet subnet : network.subnets())
            {
                subnets.add(new SubnetSpec(subnet.cidr(), subnet.gateway()));
            }
            final RouteConversion cached = conversions.get(network.name());
            final List<RouteSpec> routes;
            if (cached != null && cached.holds(network, state))
            {
                routes = cached.to();
            }
            else
            {
                final List<Route> from = network.routes();
                // as few routes as the data plane edits its tables for; below, converting them all is cheap
                final ListEdit edit = cached != null && from.size() >= ForwardingState.EDIT_MIN_ROUTES && cached.portsHold(state) ?
                    ListEdit.between(cached.from(), from, from.size() / 8) : null;
                final List<RouteSpec> converted = new ArrayList<>(from.size());
                final Map<String, Integer> ports = new HashMap<>();
                if (edit != null)
                {
                    // a few routes changed (one added or removed through the API): convert those, keep the
                    // others' conversions, so the data plane sees the same RouteSpec instances and edits its
                    // tables instead of compiling them (ForwardingState)
                    ports.putAll(cached.ports());
                    converted.addAll(cached.to().subList(0, edit.head()));
                    for (final Route route : from.subList(edit.head(), edit.head() + edit.added()))
                    {
                        converted.add(new RouteSpec(route.prefix(), target(state, route.target(), ports)));
                    }
                    converted.addAll(cached.to().subList(cached.to().size() - edit.tail(), cached.to().size()));
                }
                else
                {
                    // routes share their target instances (Route.shareTargets): convert each once, and the data
                    // plane's routes share theirs too (900,000 routes to one vNIC held 900,000 equal targets)
                    final Map<RouteTarget, io.vsnic.dataplane.config.RouteTarget> targets = new java.util.IdentityHashMap<>();
                    for (final Route route : from)
                    {
                        final io.vsnic.dataplane.config.RouteTarget target = targets.computeIfAbsent(route.target(),
                            t -> target(state, t, ports));
                        converted.add(new RouteSpec(route.prefix(), target));
                    }
                }
                routes = List.copyOf(converted);
                conversions.put(network.name(), new RouteConversion(from, Map.copyOf(ports), routes));
            }
            final List<RemoteSpec> remotes = new ArrayList<>();
            for (final Remote remote : network.remotes())
            {
                remotes.add(new RemoteSpec(remote.ip(), EthernetFlyweight.parseMac(remote.mac()), remote.device()));
            }
            specs.add(new NetworkSpec(network.name(), network.vni(), network.mtu(), subnets, routes, remotes));
        }
        return specs;
    }

    /**
     * @param ports receives the port of every vNIC the target names.
     */
    private static io.vsnic.dataplane.config.RouteTarget target(final DesiredState state, final RouteTarget target,
        final Map<String, Integer> ports)
    {
        return switch (target.type())
        {
            case "port" ->
            {
                final VnicResource vnic = state.vnics().get(target.vnic());
                if (vnic == null)
                {
                    throw ResourceException.unprocessable("unknown_reference", null, "route target vnic " + target.vnic() + " does not exist");
                }
                ports.put(target.vnic(), vnic.port());
                yield new io.vsnic.dataplane.config.RouteTarget.LocalPort(vnic.port());
            }
            case "device" -> new io.vsnic.dataplane.config.RouteTarget.RemoteDevice(target.device());
            case "ecmp" -> new io.vsnic.dataplane.config.RouteTarget.Ecmp(
                target.members().stream().map(m -> target(state, m, ports)).toList());
            case "blackhole" -> new io.vsnic.dataplane.config.RouteTarget.Blackhole();
            case "reject" -> new io.vsnic.dataplane.config.RouteTarget.Reject();
            default -> throw new IllegalStateException("validated target type: " + target.type());
        };
    }

    private static List<PortSpec> ports(final DesiredState state)
    {
        final Map<String, SecurityGroup> groups = new HashMap<>();
        for (final SecurityGroupResource group : state.securityGroups().values())
        {
            final List<SecurityRule> rules = new ArrayList<>();
            for (int i = 0; i < group.rules().size(); i++)
            {
                rules.add(Validator.compileRule(group.rules().get(i), "securityGroups[" + group.name() + "].rules[" + i + "]"));
            }
            groups.put(group.name(), group.defaultEgress() ? SecurityGroup.withDefaultEgress(group.name(), rules) :
                new SecurityGroup(group.name(), rules));
        }
        final List<PortSpec> specs = new ArrayList<>();
        for (final VnicResource vnic : state.vnics().values())
        {
            final CompiledPolicy policy;
            try
            {
                policy = CompiledPolicy.compile(vnic.securityGroups().stream().map(groups::get).toList());
            }
            catch (final IllegalArgumentException ex)
            {
                throw ResourceException.unprocessable("invalid_config", "vnics[" + vnic.id() + "].securityGroups",
                    "vnic " + vnic.id() + ": " + ex.getMessage());
            }
            specs.add(new PortSpec(vnic.port(), vnic.id(), vnic.network(), EthernetFlyweight.parseMac(vnic.mac()), vnic.ip(),
                vnic.ipv6(), policy, vnic.antiSpoof()));
        }
        return specs;
    }

    private static List<PeerSpec> peers(final DesiredState state)
    {
        final List<PeerSpec> specs = new ArrayList<>();
        for (final PeerResource peer : state.peers().values())
        {
            final Encapsulation encapsulation = Encapsulation.valueOf(peer.encapsulation().toUpperCase(Locale.ROOT));
            final boolean wireguard = "wireguard".equals(peer.encryption());
            specs.add(new PeerSpec(peer.device(), peer.name(), peer.endpoint(), encapsulation, peer.allowedVnis(),
                wireguard ? Encryption.WIREGUARD : Encryption.NONE, wireguard ? peer.publicKey() : null,
                wireguard ? peer.innerAddress() : null, Boolean.TRUE.equals(peer.remoteChecksum())));
        }
        return specs;
    }
}
