package io.vsnic.orchestrator.daemon;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.function.UnaryOperator;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vsnic.dataplane.table.ForwardingState;
import io.vsnic.orchestrator.journal.EntryBytes;
import io.vsnic.orchestrator.journal.Journal;
import io.vsnic.orchestrator.journal.JournalEntry;
import io.vsnic.orchestrator.model.Changes;
import io.vsnic.orchestrator.model.DesiredState;
import io.vsnic.orchestrator.model.Json;
import io.vsnic.orchestrator.model.Kind;
import io.vsnic.orchestrator.model.Manifest;
import io.vsnic.orchestrator.model.NetworkResource;
import io.vsnic.orchestrator.model.Remote;
import io.vsnic.orchestrator.model.Resource;
import io.vsnic.orchestrator.model.ResourceException;
import io.vsnic.orchestrator.model.Route;
import io.vsnic.orchestrator.model.Validator;
import io.vsnic.orchestrator.model.VnicResource;

/**
 * The single writer of the desired state. Every change runs under this object's lock: normalise
 * and validate the resource, build the next desired state, check it as a whole, let the reconciler
 * build the next forwarding state (nothing is applied yet), append the change to the journal
 * (durable before anyone is told), then apply it to the data plane and publish the new state.
 * A change equal to what is there already is acknowledged without a journal entry (idempotent).
 *
 * <p>Readers use {@link #state()} from any thread (one volatile reference to an immutable state).
 */
public final class DeviceController
{
    private static final System.Logger LOG = System.getLogger(DeviceController.class.getName());
    /** The overlay (substrate) port id; vNIC ports are 0..OVERLAY_PORT-1. */
    public static final int OVERLAY_PORT = ForwardingState.MAX_PORTS - 1;

    private static final com.fasterxml.jackson.core.type.TypeReference<Map<String, Object>> MAP = new com.fasterxml.jackson.core.type.TypeReference<>()
    {
    };

    private final String deviceName;
    private final Validator validator;
    private final Journal journal;
    private final Reconciler reconciler;
    private final int snapshotEvery;
    private volatile DesiredState state = DesiredState.empty();
    private volatile long journalEntries;
    /** Cluster mode: where writes go (the head, through Raft); null standalone and in a planner. */
    private final Forwarder forwarder;
    /** Planner mode (inside the replicated state machine): which device names are members; null otherwise. */
    private Predicate<String> members;
    /** The device a vNIC is placed on when the write does not say (planner: the device that took the request). */
    private String origin;
    /** The reconciler's long-running tasks, or null (planner). */
    private Tasks tasks;

    /**
     * Cluster mode: sends a write command to the head and returns the replicated state machine's reply.
     */
    @FunctionalInterface
    public interface Forwarder
    {
        /**
         * @return the reply ({@code ok}, and {@code status}/{@code code}/{@code field}/{@code message} when refused).
         * @throws ResourceException 503 when no head with a quorum can be reached.
         */
        JsonNode submit(ObjectNode command);
    }

    /** The result of a write: HTTP status (200 unchanged/updated, 201 created, 204 deleted) and the resource. */
    public record Outcome(int status, Resource<?> resource, boolean changed)
    {
    }

    /** One line of an apply plan. */
    public record PlanStep(String action, String kind, String name)
    {
    }

    /** The result of an apply. */
    public record ApplyResult(List<PlanStep> plan, boolean changed, boolean applied, long revision)
    {
    }

    /**
     * @param deviceName    this device's name.
     * @param deviceId      this device's id.
     * @param journal       the journal (opened, replay not yet applied).
     * @param reconciler    the reconciler of the data plane.
     * @param snapshotEvery journal entries per generation before a snapshot starts a new one.
     */
    public DeviceController(final String deviceName, final int deviceId, final Journal journal, final Reconciler reconciler,
        final int snapshotEvery)
    {
        this(deviceName, deviceId, journal, reconciler, snapshotEvery, null);
    }

    private DeviceController(final String deviceName, final int deviceId, final Journal journal, final Reconciler reconciler,
        final int snapshotEvery, final Forwarder forwarder)
    {
        this.deviceName = deviceName;
        this.validator = new Validator(deviceName, deviceId);
        this.journal = journal;
        this.reconciler = reconciler;
        this.snapshotEvery = snapshotEvery;
        this.forwarder = forwarder;
        this.origin = deviceName;
    }

    /**
     * A controller for cluster mode: its writes are forwarded (to the head, through Raft); its state is
     * the replicated desired state ({@link #replicated}); the reconciler is driven by the daemon from
     * the state derived for this device.
     */
    public static DeviceController clustered(final String deviceName, final int deviceId, final Reconciler reconciler,
        final Forwarder forwarder)
    {
        return new DeviceController(deviceName, deviceId, null, reconciler, Integer.MAX_VALUE, forwarder);
    }

    /**
     * A planner: the write logic without journal or data plane, run by the replicated state machine
     * on every member in log order (deterministic). A write checks the whole next state and makes it
     * the planner's state.
     */
    public static DeviceController planner()
    {
        return new DeviceController("", -1, null, null, Integer.MAX_VALUE, null);
    }

    /**
     * Cluster mode: the replicated desired state changed (called on the apply thread).
     */
    public void replicated(final DesiredState next)
    {
        state = next;
    }

    /**
     * Planner: sets the state before a command runs.
     */
    public void plannerState(final DesiredState current, final Predicate<String> memberNames, final String originDevice)
    {
        state = current;
        members = memberNames;
        origin = originDevice;
    }

    /**
     * @return true in cluster mode (writes go to the head).
     */
    public boolean isClustered()
    {
        return forwarder != null;
    }

    /**
     * @return the current desired state.
     */
    public DesiredState state()
    {
        return state;
    }

    public Reconciler reconciler()
    {
        return reconciler;
    }

    /**
     * Lets the reconciler's pending work become tasks ({@link Tasks#bind} calls this).
     */
    synchronized void withTasks(final Tasks value)
    {
        this.tasks = value;
    }

    /**
     * @return the reconciler's long-running tasks, or null.
     */
    public Tasks tasks()
    {
        return tasks;
    }

    public String deviceName()
    {
        return deviceName;
    }

    // ---------------------------------------------------------------------------------------------
    // start: replay

    /**
     * The desired state a journal's entries describe (its last snapshot with the changes after it), not yet
     * checked or applied: {@link #recover(DesiredState, boolean)} does that. The daemon reads it before it
     * binds the substrate, to keep the enclaves' ports out of the source port pool.
     *
     * @param entries the intact entries, in order.
     * @throws IOException when an entry cannot be read.
     */
    public static DesiredState replayed(final List<JournalEntry> entries) throws IOException
    {
        DesiredState next = DesiredState.empty();
        for (final JournalEntry entry : entries)
        {
            if (entry.type() == JournalEntry.SNAPSHOT)
            {
                final Snapshot snapshot = Json.mapper().readValue(entry.payload(), Snapshot.class);
                if (snapshot.state() == null)
                {
                    throw new IOException("revision " + entry.revision() + ": a snapshot without a state");
                }
                next = DesiredState.of(entry.revision(), snapshot.state());
            }
            else
            {
                next = Changes.apply(next, entry.payload(), entry.revision());
            }
        }
        return next;
    }

    /**
     * Applies the replayed desired state (from {@link #replayed}) to the data plane and starts a new journal
     * generation with its snapshot.
     *
     * @param replayed   the state the intact entries describe.
     * @param quarantine keep the replayed generation aside (its tail was damaged).
     * @throws IOException when the new generation cannot be written.
     * @throws ResourceException when the replayed state is not valid any more (the daemon must not start).
     */
    public synchronized void recover(final DesiredState replayed, final boolean quarantine) throws IOException
    {
        DesiredState next = replayed;
        for (final NetworkResource network : next.networks().values())
        {
            // as the API's writes stored them: one instance per distinct route target
            next = next.with(Kind.NETWORK, network.withRoutes(Route.shareTargets(network.routes())));
        }
        validator.checkState(next, List.of(), Map.of());
        // accepted before: a backend that cannot be opened now makes its vNIC pending, it does not stop the start
        final Reconciler.Prepared prepared = reconciler.prepare(next, Map.of(), true);
        reconciler.commit(prepared, next);
        state = next;
        journal.startGeneration(next.revision(), snapshot(next), quarantine);
        journalEntries = 1;
        if (tasks != null)
        {
            tasks.reconciled(next, true);
        }
    }

    /** A journal snapshot: {@code {"state": MANIFEST}}. */
    private record Snapshot(Manifest state)
    {
    }

    private static EntryBytes snapshot(final DesiredState state) throws IOException
    {
        // written straight from the manifest, not through a tree of it (a network may hold a million routes),
        // into the journal's parts (not grown in one array and copied)
        final ObjectNode document = Json.mapper().createObjectNode();
        document.putPOJO("state", state.toManifest());
        final EntryBytes bytes = new EntryBytes();
        Json.mapper().writeValue(bytes, document);
        return bytes;
    }

    /**
     * Cluster mode: reconciles this device's data plane to the state derived for it from the
     * replicated state (its own vNICs, derived peers and remotes). The whole local state is checked
     * first; when it is refused, the data plane keeps its last tables and the error is thrown.
     */
    public synchronized void reconcileLocal(final DesiredState local)
    {
        validator.checkState(local, List.of(), Map.of());
        final Reconciler.Prepared prepared = reconciler.prepare(local, Map.of(), true);
        reconciler.commit(prepared, local);
        if (tasks != null)
        {
            tasks.reconciled(local, false);
        }
        this.local = local;
    }

    private volatile DesiredState local;

    /**
     * @return what this device's data plane was last programmed from: in cluster mode the state derived for
     *     this device (its own vNICs, derived and manual peers, remotes), standalone the desired state.
     */
    public DesiredState forwardingState()
    {
        final DesiredState applied = local;
        return applied != null ? applied : state();
    }

    // ---------------------------------------------------------------------------------------------
    // writes

    /**
     * Creates ({@code createOnly}, POST) or creates-or-replaces (PUT) a resource.
     *
     * @param pathKey the key from the URL (PUT), or null (POST).
     * @param ifMatch the If-Match header, or null.
     */
    public Outcome put(final Kind kind, final Resource<?> body, final String pathKey, final String ifMatch,
        final boolean createOnly)
    {
        if (forwarder != null)
        {
            final ObjectNode command = command("put").put("kind", kind.label()).put("pathKey", pathKey).put("ifMatch", ifMatch)
                .put("createOnly", createOnly);
            command.set("body", Json.mapper().valueToTree(body));
            return outcome(forward(command), kind);
        }
        return putLocal(kind, body, pathKey, ifMatch, createOnly);
    }

    private synchronized Outcome putLocal(final Kind kind, final Resource<?> body, final String pathKey, final String ifMatch,
        final boolean createOnly)
    {
        Resource<?> resource = body;
        if (resource != null && pathKey != null)
        {
            if (resource.key() == null)
            {
                resource = withKey(kind, resource, pathKey);
            }
            else if (!resource.key().equals(pathKey))
            {
                throw ResourceException.invalid(kind == Kind.VNIC ? "id" : "name", "the body names " + resource.key() +
                    " but the path names " + pathKey);
            }
        }
        final DesiredState current = state;
        resource = place(kind, resource, current, "");
        final Resource<?> normalized = validator.normalize(kind, resource, "");
        final Resource<?> existing = current.get(kind, normalized.key());
        checkIfMatch(existing, ifMatch, kind, normalized.key());
        if (existing != null && same(existing, normalized))
        {
            return new Outcome(200, existing, false);
        }
        if (existing != null && createOnly)
        {
            throw ResourceException.conflict("already_exists", kind == Kind.VNIC ? "id" : "name",
                kind.label() + " " + normalized.key() + " already exists with a different definition (use PUT to replace it)");
        }
        final long revision = current.revision() + 1;
        final Resource<?> stored = stamp(kind, normalized, existing, revision, current, current);
        final DesiredState next = current.with(kind, stored).withRevision(revision);
        final String blame = kind.label() + "/" + stored.key();
        commit(current, next, List.of(change("put", kind, stored)), List.of(blame), Map.of(blame, ""));
        return new Outcome(existing == null ? 201 : 200, stored, true);
    }

    /**
     * Deletes a resource.
     *
     * @throws ResourceException 404 when it does not exist, 409 when something still refers to it.
     */
    public Outcome delete(final Kind kind, final String key, final String ifMatch)
    {
        if (forwarder != null)
        {
            return outcome(forward(command("delete").put("kind", kind.label()).put("key", key).put("ifMatch", ifMatch)), kind);
        }
        return deleteLocal(kind, key, ifMatch);
    }

    private synchronized Outcome deleteLocal(final Kind kind, final String key, final String ifMatch)
    {
        final DesiredState current = state;
        final Resource<?> existing = current.get(kind, key);
        if (existing == null)
        {
            throw ResourceException.notFound(kind.label() + " " + key + " does not exist");
        }
        checkIfMatch(existing, ifMatch, kind, key);
        final DesiredState next = current.without(kind, key).withRevision(current.revision() + 1);
        Validator.checkDeletable(next, kind, key);
        final ObjectNode change = Json.mapper().createObjectNode().put("op", "delete").put("kind", kind.label()).put("key", key);
        commit(current, next, List.of(change), List.of(), Map.of());
        return new Outcome(204, existing, true);
    }

    /**
     * Changes a network's routes or remotes (sub-resources): the network's version moves.
     */
    private Outcome updateNetwork(final String name, final String ifMatch, final UnaryOperator<NetworkResource> edit)
    {
        return updateNetwork(name, ifMatch, null, edit);
    }

    /**
     * @param routeChange null, or the edit only adds one route already normalised (with {@link Validator#route})
     *                    or removes one: the network is not normalised again, and the journal gets this change
     *                    document for the stored network instead of the whole network (a network may hold a
     *                    million routes: 65 MB per change otherwise).
     */
    private synchronized Outcome updateNetwork(final String name, final String ifMatch,
        final java.util.function.Function<NetworkResource, JsonNode> routeChange, final UnaryOperator<NetworkResource> edit)
    {
        final DesiredState current = state;
        final NetworkResource existing = current.networks().get(name);
        if (existing == null)
        {
            throw ResourceException.notFound("network " + name + " does not exist");
        }
        checkIfMatch(existing, ifMatch, Kind.NETWORK, name);
        final NetworkResource edited = edit.apply(existing);
        final NetworkResource normalized = routeChange != null ? edited.withVersion(null) :
            (NetworkResource)validator.normalize(Kind.NETWORK, edited, "");
        if (same(existing, normalized))
        {
            return new Outcome(200, existing, false);
        }
        final long revision = current.revision() + 1;
        final NetworkResource stored = normalized.withVersion(revision);
        final DesiredState next = current.with(Kind.NETWORK, stored).withRevision(revision);
        final String blame = Kind.NETWORK.label() + "/" + name;
        commit(current, next, List.of(routeChange != null ? routeChange.apply(stored) : change("put", Kind.NETWORK, stored)),
            List.of(blame), Map.of(blame, ""));
        return new Outcome(200, stored, true);
    }

    /**
     * Converges to a manifest: creates and updates what differs, deletes what is missing when
     * {@code prune}; all in one journal entry, or nothing.
     */
    public ApplyResult apply(final Manifest manifest, final boolean prune, final boolean dryRun)
    {
        if (forwarder != null)
        {
            final ObjectNode command = command("apply").put("prune", prune).put("dryRun", dryRun);
            command.set("manifest", Json.mapper().valueToTree(manifest));
            final JsonNode reply = forward(command);
            try
            {
                return Json.mapper().treeToValue(reply.get("result"), ApplyResult.class);
            }
            catch (final JsonProcessingException ex)
            {
                throw new IllegalStateException("unreadable apply result from the head: " + ex.getMessage(), ex);
            }
        }
        return applyLocal(manifest, prune, dryRun);
    }

    private synchronized ApplyResult applyLocal(final Manifest manifest, final boolean prune, final boolean dryRun)
    {
        if (manifest.device() != null && manifest.device().get("name") != null &&
            !origin.equals(String.valueOf(manifest.device().get("name"))))
        {
            throw ResourceException.unprocessable("wrong_device", "device.name", "the manifest is for device " +
                manifest.device().get("name") + ", this is " + origin);
        }
        final DesiredState current = state;
        final long revision = current.revision() + 1;
        DesiredState next = current;
        final List<PlanStep> plan = new ArrayList<>();
        final List<JsonNode> changes = new ArrayList<>();
        final List<String> blame = new ArrayList<>();
        final Map<String, String> fields = new HashMap<>();
        for (final Kind kind : Kind.values())
        {
            final List<? extends Resource<?>> wanted = section(manifest, kind);
            final Set<String> keys = new HashSet<>();
            for (int i = 0; i < wanted.size(); i++)
            {
                final String prefix = kind.section() + "[" + i + "].";
                final Resource<?> normalized = validator.normalize(kind, place(kind, wanted.get(i), current, prefix), prefix);
                if (!keys.add(normalized.key()))
                {
                    throw ResourceException.conflict("duplicate_name", prefix + (kind == Kind.VNIC ? "id" : "name"),
                        kind.label() + " " + normalized.key() + " appears twice in the manifest");
                }
                final String tag = kind.label() + "/" + normalized.key();
                fields.put(tag, prefix);
                final Resource<?> existing = current.get(kind, normalized.key());
                if (existing != null && same(existing, normalized))
                {
                    plan.add(new PlanStep("unchanged", kind.label(), normalized.key()));
                    continue;
                }
                final Resource<?> stored = stamp(kind, normalized, existing, revision, current, next);
                next = next.with(kind, stored);
                blame.add(tag);
                changes.add(change("put", kind, stored));
                plan.add(new PlanStep(existing == null ? "create" : "update", kind.label(), normalized.key()));
            }
            if (prune)
            {
                for (final String key : current.resources(kind).keySet())
                {
                    if (!keys.contains(key))
                    {
                        next = next.without(kind, key);
                        changes.add(Json.mapper().createObjectNode().put("op", "delete").put("kind", kind.label()).put("key", key));
                        plan.add(new PlanStep("delete", kind.label(), key));
                    }
                }
            }
        }
        if (changes.isEmpty())
        {
            return new ApplyResult(plan, false, false, current.revision());
        }
        next = next.withRevision(revision);
        for (final PlanStep step : plan)
        {
            if (step.action().equals("delete"))
            {
                Validator.checkDeletable(next, Kind.ofLabel(step.kind()), step.name());
            }
        }
        if (dryRun)
        {
            validator.checkState(next, blame, fields);
            if (reconciler != null && journal != null)
            {
                reconciler.abort(reconciler.prepare(next, fields));
            }
            return new ApplyResult(plan, true, false, current.revision());
        }
        commit(current, next, changes, blame, fields);
        return new ApplyResult(plan, true, true, revision);
    }

    private static List<? extends Resource<?>> section(final Manifest manifest, final Kind kind)
    {
        return switch (kind)
        {
            case NETWORK -> manifest.networks();
            case SECURITY_GROUP -> manifest.securityGroups();
            case VNIC -> manifest.vnics();
            case PEER -> manifest.peers();
            case ENCLAVE -> manifest.enclaves();
        };
    }

    private void commit(final DesiredState current, final DesiredState next, final List<JsonNode> changes,
        final List<String> blame, final Map<String, String> fields)
    {
        validator.checkState(next, blame, fields);
        if (journal == null)
        {
            // planner: the replicated state machine records the change; each device reconciles its own share
            state = next;
            return;
        }
        final Reconciler.Prepared prepared;
        try
        {
            prepared = reconciler.prepare(next, fields);
        }
        catch (final OutOfMemoryError ex)
        {
            throw outOfMemory("compiling the data plane's tables for it", ex);
        }
        try
        {
            final ObjectNode document = Json.mapper().createObjectNode();
            final ArrayNode array = document.putArray("changes");
            changes.forEach(array::add);
            // serialized into the journal's parts: a million routes' entry is not grown in one array and copied
            final EntryBytes payload = new EntryBytes();
            Json.mapper().writeValue(payload, document);
            journal.append(next.revision(), payload);
        }
        catch (final IOException | RuntimeException ex)
        {
            reconciler.abort(prepared);
            LOG.log(Level.ERROR, "journal append failed; change refused: " + ex, ex);
            throw new ResourceException(503, "journal_unavailable", "the change could not be written to the journal: " +
                ex.getMessage(), null);
        }
        catch (final OutOfMemoryError ex)
        {
            reconciler.abort(prepared);
            throw outOfMemory("writing it to the journal", ex);
        }
        journalEntries++;
        // journalled: this is the desired state now, whatever happens below
        state = next;
        try
        {
            reconciler.commit(prepared, next);
        }
        catch (final OutOfMemoryError ex)
        {
            LOG.log(Level.ERROR, "revision " + next.revision() + " is journalled but the data plane could not take it: " + ex +
                "; restart vsnicd with a larger heap to apply it");
            throw new ResourceException(503, "insufficient_memory", "revision " + next.revision() + " is journalled but " +
                "the data plane ran out of memory applying it (heap at most " + Runtime.getRuntime().maxMemory() / (1 << 20) +
                " MiB); restart vsnicd with a larger heap (VSNIC_JAVA_OPTS=-Xmx...) to apply it", null);
        }
        if (tasks != null)
        {
            // the tasks of this change are journalled before the API answers
            tasks.reconciled(next, false);
        }
        // a new generation after snapshotEvery entries, or once the changes since the snapshot hold more
        // than twice its bytes (at least 64 MiB): replay stays bounded and the disk does not fill with, say,
        // whole-table PUTs of a million routes (65 MB each)
        if (journal.entriesInGeneration() >= snapshotEvery ||
            journal.bytesInGeneration() - journal.snapshotBytes() > Math.max(GENERATION_BYTES, 2 * journal.snapshotBytes()))
        {
            try
            {
                journal.startGeneration(next.revision(), snapshot(next), false);
            }
            catch (final IOException ex)
            {
                LOG.log(Level.WARNING, "journal snapshot failed (the current generation stays in use): " + ex);
            }
        }
        assert current.revision() + 1 == next.revision();
    }

    /** Bytes of changes after which a generation is rolled over in any case (see {@link #commit}). */
    static final long GENERATION_BYTES = 64L << 20;

    /** A change refused because the heap ran out while it was being made (nothing changed). */
    private static ResourceException outOfMemory(final String doing, final OutOfMemoryError error)
    {
        LOG.log(Level.ERROR, "out of memory " + doing + "; change refused: " + error);
        return ResourceException.insufficientMemory(doing);
    }

    /**
     * @return entries appended since the daemon started (plus its start snapshot).
     */
    public long journalEntries()
    {
        return journalEntries;
    }

    /** A change of one route of a network (the route or prefix is added by the caller). */
    private static ObjectNode routeChange(final String op, final NetworkResource stored)
    {
        return Json.mapper().createObjectNode().put("op", op).put("kind", Kind.NETWORK.label()).put("key", stored.name())
            .put("version", stored.version());
    }

    private static JsonNode change(final String op, final Kind kind, final Resource<?> resource)
    {
        final ObjectNode change = Json.mapper().createObjectNode().put("op", op).put("kind", kind.label()).put("key", resource.key());
        // serialized when the entry is written, not copied into a tree first (a network may hold a million routes)
        change.putPOJO("resource", resource);
        return change;
    }

    /** Sets the version, and for a vNIC keeps its port or allocates the lowest one free in both states. */
    private static Resource<?> stamp(final Kind kind, final Resource<?> normalized, final Resource<?> existing,
        final long revision, final DesiredState current, final DesiredState next)
    {
        if (kind != Kind.VNIC)
        {
            return normalized.withVersion(revision);
        }
        final VnicResource vnic = (VnicResource)normalized;
        if (existing != null && Objects.equals(((VnicResource)existing).device(), vnic.device()))
        {
            return vnic.withPort(((VnicResource)existing).port()).withVersion(revision);
        }
        // ports are per device: a vNIC's port id is free among the vNICs on the same device
        final Set<Integer> used = new HashSet<>();
        current.vnics().values().stream().filter(v -> Objects.equals(v.device(), vnic.device()) && !v.id().equals(vnic.id()))
            .forEach(v -> used.add(v.port()));
        next.vnics().values().stream().filter(v -> Objects.equals(v.device(), vnic.device()) && !v.id().equals(vnic.id()))
            .forEach(v -> used.add(v.port()));
        for (int port = 0; port < OVERLAY_PORT; port++)
        {
            if (!used.contains(port))
            {
                return vnic.withPort(port).withVersion(revision);
            }
        }
        throw ResourceException.unprocessable("no_free_port", "id", "every data plane port is in use (" + OVERLAY_PORT + ")");
    }

    /**
     * Sets the device of a vNIC that does not name one: where it lives already, else the device that
     * took the request (cluster). Standalone, a vNIC may only name this device.
     */
    private Resource<?> place(final Kind kind, final Resource<?> resource, final DesiredState current, final String prefix)
    {
        if (kind != Kind.VNIC || !(resource instanceof VnicResource vnic))
        {
            return resource;
        }
        if (members == null)
        {
            if (vnic.device() != null && !vnic.device().equals(deviceName))
            {
                throw ResourceException.unprocessable("unknown_device", prefix + "device", "this device is " + deviceName +
                    " and not in a cluster: a vNIC cannot be placed on " + vnic.device());
            }
            return vnic;
        }
        if (vnic.device() != null)
        {
            if (!members.test(vnic.device()))
            {
                throw ResourceException.unprocessable("unknown_device", prefix + "device", "device " + vnic.device() +
                    " is not a member of the cluster");
            }
            return vnic;
        }
        final VnicResource existing = vnic.id() == null ? null : current.vnics().get(vnic.id());
        return vnic.withDevice(existing != null && existing.device() != null ? existing.device() : origin);
    }

    // ---------------------------------------------------------------------------------------------
    // routes and remotes of a network (sub-resources)

    /**
     * Replaces ({@code replace}: {@code payload} is the list), adds ({@code add}: one item, 201, or 200
     * when the same item is there) or removes ({@code remove}: {@code payload} is the canonical key,
     * 204) a route or a remote of a network. Items arrive validated by the API.
     *
     * @param what {@code routes} or {@code remotes}.
     */
    public Outcome items(final String network, final String what, final String action, final JsonNode payload, final String ifMatch)
    {
        if (forwarder != null)
        {
            final ObjectNode command = command("items").put("network", network).put("what", what).put("action", action)
                .put("ifMatch", ifMatch);
            command.set("payload", payload);
            return outcome(forward(command), Kind.NETWORK);
        }
        if (what.equals("routes"))
        {
            return items(network, "route", "prefix", action, payload, ifMatch, Route.class, NetworkResource::routes,
                NetworkResource::withRoutes, Route::prefix);
        }
        if (what.equals("remotes"))
        {
            return items(network, "remote", "ip", action, payload, ifMatch, Remote.class, NetworkResource::remotes,
                NetworkResource::withRemotes, Remote::ip);
        }
        throw ResourceException.notFound("no sub-resource " + what);
    }

    /**
     * Replaces a network's routes or remotes with a list already read and validated by the API, without going
     * through a JSON tree on this device (a route table may hold millions); in cluster mode the list is
     * forwarded to the head like every other command.
     */
    public Outcome replaceItems(final String network, final String what, final List<?> items, final String ifMatch)
    {
        if (forwarder != null || !(what.equals("routes") || what.equals("remotes")))
        {
            return items(network, what, "replace", Json.mapper().valueToTree(items), ifMatch);
        }
        if (what.equals("routes"))
        {
            final List<Route> routes = items.stream().map(Route.class::cast).toList();
            return updateNetwork(network, ifMatch, current -> current.withRoutes(routes));
        }
        final List<Remote> remotes = items.stream().map(Remote.class::cast).toList();
        return updateNetwork(network, ifMatch, current -> current.withRemotes(remotes));
    }

    private <T> Outcome items(final String name, final String one, final String keyName, final String action,
        final JsonNode payload, final String ifMatch, final Class<T> type, final Function<NetworkResource, List<T>> read,
        final BiFunction<NetworkResource, List<T>, NetworkResource> write, final Function<T, String> keyOf)
    {
        try
        {
            switch (action)
            {
                case "replace" ->
                {
                    final List<T> items = new ArrayList<>();
                    for (final JsonNode item : payload)
                    {
                        items.add(Json.mapper().treeToValue(item, type));
                    }
                    return updateNetwork(name, ifMatch, network -> write.apply(network, items));
                }
                case "add" ->
                {
                    final T parsed = Json.mapper().treeToValue(payload, type);
                    // a route on its own is checked here; the network's other routes were checked when they
                    // were stored, so only the route table changes and the network need not be normalised
                    // again (with a million routes that took seconds per route)
                    final boolean routeOnly = parsed instanceof Route;
                    @SuppressWarnings("unchecked")
                    final T item = routeOnly ? (T)validator.route((Route)parsed, "") : parsed;
                    final String key = keyOf.apply(item);
                    final int[] status = {201};
                    final Outcome outcome = updateNetwork(name, ifMatch,
                        routeOnly ? stored -> routeChange(Changes.ROUTE_ADD, stored).putPOJO("route", item) : null, network ->
                    {
                        final List<T> items = new ArrayList<>(read.apply(network));
                        for (final T existing : items)
                        {
                            if (keyOf.apply(existing).equals(key))
                            {
                                if (existing.equals(item))
                                {
                                    status[0] = 200;
                                    return network;
                                }
                                throw ResourceException.conflict("duplicate_" + one, keyName, one + " " + key +
                                    " already exists in network " + name + " with another definition (PUT the list to replace it)");
                            }
                        }
                        items.add(item);
                        return write.apply(network, items);
                    });
                    return new Outcome(status[0], outcome.resource(), outcome.changed());
                }
                case "remove" ->
                {
                    final String key = payload.asText();
                    // removing a route leaves the others as they were checked
                    final Outcome outcome = updateNetwork(name, ifMatch,
                        type == Route.class ? stored -> routeChange(Changes.ROUTE_REMOVE, stored).put("prefix", key) : null, network ->
                    {
                        final List<T> items = new ArrayList<>(read.apply(network));
                        if (!items.removeIf(item -> keyOf.apply(item).equals(key)))
                        {
                            throw ResourceException.notFound(one + " " + key + " does not exist in network " + name);
                        }
                        return write.apply(network, items);
                    });
                    return new Outcome(204, outcome.resource(), outcome.changed());
                }
                default -> throw ResourceException.invalid(null, "unknown action " + action);
            }
        }
        catch (final JsonProcessingException ex)
        {
            throw ResourceException.invalid(null, "malformed " + one + ": " + ex.getOriginalMessage());
        }
    }

    // ---------------------------------------------------------------------------------------------
    // cluster: commands, forwarding, and their execution in the replicated state machine

    private ObjectNode command(final String op)
    {
        return Json.mapper().createObjectNode().put("type", "write").put("op", op).put("origin", deviceName);
    }

    private JsonNode forward(final ObjectNode command)
    {
        final JsonNode reply = forwarder.submit(command);
        if (!reply.path("ok").asBoolean())
        {
            throw new ResourceException(reply.path("status").asInt(500), reply.path("code").asText("internal"),
                reply.path("message").asText("refused by the head"), reply.hasNonNull("field") ? reply.get("field").asText() : null);
        }
        return reply;
    }

    private static Outcome outcome(final JsonNode reply, final Kind kind)
    {
        try
        {
            final Resource<?> resource = reply.hasNonNull("resource") ? Json.mapper().treeToValue(reply.get("resource"), kind.type()) : null;
            return new Outcome(reply.path("status").asInt(200), resource, reply.path("changed").asBoolean());
        }
        catch (final JsonProcessingException ex)
        {
            throw new IllegalStateException("unreadable reply from the head: " + ex.getMessage(), ex);
        }
    }

    /**
     * Planner: runs one write command (see {@link #plannerState}) and returns the reply for the writer:
     * {@code {"ok": true, "status": S, "changed": C, "resource": R}} (or {@code "result"} for apply), or
     * {@code {"ok": false, "status": S, "code": C, "field": F, "message": M}}. On success the planner's
     * state is the next state; on refusal it is unchanged.
     */
    public ObjectNode execute(final JsonNode command)
    {
        final ObjectNode reply = Json.mapper().createObjectNode();
        try
        {
            final String op = command.path("op").asText("");
            final Kind kind = command.hasNonNull("kind") ? Kind.ofLabel(command.get("kind").asText()) : null;
            final String ifMatch = command.hasNonNull("ifMatch") ? command.get("ifMatch").asText() : null;
            final Outcome outcome;
            switch (op)
            {
                case "put" -> outcome = putLocal(require(kind), Json.mapper().treeToValue(command.get("body"), require(kind).type()),
                    command.hasNonNull("pathKey") ? command.get("pathKey").asText() : null, ifMatch, command.path("createOnly").asBoolean());
                case "delete" -> outcome = deleteLocal(require(kind), command.path("key").asText(), ifMatch);
                case "items" -> outcome = items(command.path("network").asText(), command.path("what").asText(),
                    command.path("action").asText(), command.get("payload"), ifMatch);
                case "apply" ->
                {
                    final ApplyResult result = applyLocal(Json.mapper().treeToValue(command.get("manifest"), Manifest.class),
                        command.path("prune").asBoolean(), command.path("dryRun").asBoolean());
                    reply.put("ok", true).put("status", 200);
                    reply.set("result", Json.mapper().valueToTree(result));
                    return reply;
                }
                default -> throw ResourceException.invalid(null, "unknown write op " + op);
            }
            reply.put("ok", true).put("status", outcome.status()).put("changed", outcome.changed());
            if (outcome.resource() != null)
            {
                reply.set("resource", Json.mapper().valueToTree(outcome.resource()));
            }
            return reply;
        }
        catch (final ResourceException ex)
        {
            reply.removeAll();
            reply.put("ok", false).put("status", ex.status()).put("code", ex.code()).put("message", ex.getMessage());
            if (ex.field() != null)
            {
                reply.put("field", ex.field());
            }
            return reply;
        }
        catch (final JsonProcessingException ex)
        {
            reply.removeAll();
            final ResourceException translated = Json.translate(ex);
            reply.put("ok", false).put("status", translated.status()).put("code", translated.code())
                .put("message", translated.getMessage());
            return reply;
        }
    }

    private static Kind require(final Kind kind)
    {
        if (kind == null)
        {
            throw ResourceException.invalid("kind", "unknown kind");
        }
        return kind;
    }

    private static boolean same(final Resource<?> existing, final Resource<?> normalized)
    {
        Resource<?> a = existing.withVersion(null);
        if (a instanceof VnicResource vnic)
        {
            a = vnic.withPort(null);
        }
        return Objects.equals(a, normalized);
    }

    private static Resource<?> withKey(final Kind kind, final Resource<?> resource, final String key)
    {
        final Map<String, Object> tree = new LinkedHashMap<>(Json.mapper().convertValue(resource, MAP));
        tree.put(kind == Kind.VNIC ? "id" : "name", key);
        return Json.mapper().convertValue(tree, kind.type());
    }

    private static void checkIfMatch(final Resource<?> existing, final String ifMatch, final Kind kind, final String key)
    {
        if (ifMatch == null)
        {
            return;
        }
        if (existing == null)
        {
            throw new ResourceException(412, "precondition_failed", "If-Match given but " + kind.label() + " " + key +
                " does not exist", null);
        }
        if (ifMatch.trim().equals("*"))
        {
            return;
        }
        for (final String tag : ifMatch.split(","))
        {
            String value = tag.trim();
            if (value.startsWith("W/"))
            {
                value = value.substring(2);
            }
            if (value.startsWith("\"") && value.endsWith("\"") && value.length() >= 2)
            {
                value = value.substring(1, value.length() - 1);
            }
            if (value.equals(String.valueOf(existing.version())))
            {
                return;
            }
        }
        throw new ResourceException(412, "precondition_failed", kind.label() + " " + key + " is at version " +
            existing.version() + ", not " + ifMatch, null);
    }
}
