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
import java.util.function.UnaryOperator;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vsnic.dataplane.table.ForwardingState;
import io.vsnic.orchestrator.journal.Journal;
import io.vsnic.orchestrator.journal.JournalEntry;
import io.vsnic.orchestrator.model.Changes;
import io.vsnic.orchestrator.model.DesiredState;
import io.vsnic.orchestrator.model.Json;
import io.vsnic.orchestrator.model.Kind;
import io.vsnic.orchestrator.model.Manifest;
import io.vsnic.orchestrator.model.NetworkResource;
import io.vsnic.orchestrator.model.Resource;
import io.vsnic.orchestrator.model.ResourceException;
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
        this.deviceName = deviceName;
        this.validator = new Validator(deviceName, deviceId);
        this.journal = journal;
        this.reconciler = reconciler;
        this.snapshotEvery = snapshotEvery;
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

    public String deviceName()
    {
        return deviceName;
    }

    // ---------------------------------------------------------------------------------------------
    // start: replay

    /**
     * Rebuilds the desired state from replayed entries, applies it to the data plane and starts a new
     * journal generation with its snapshot.
     *
     * @param entries    the intact entries, in order.
     * @param quarantine keep the replayed generation aside (its tail was damaged).
     * @throws IOException when the new generation cannot be written.
     * @throws ResourceException when the replayed state is not valid any more (the daemon must not start).
     */
    public synchronized void recover(final List<JournalEntry> entries, final boolean quarantine) throws IOException
    {
        DesiredState next = DesiredState.empty();
        for (final JournalEntry entry : entries)
        {
            final JsonNode document = Json.mapper().readTree(entry.payload());
            if (entry.type() == JournalEntry.SNAPSHOT)
            {
                next = DesiredState.of(entry.revision(), Json.mapper().treeToValue(document.get("state"), Manifest.class));
            }
            else
            {
                next = Changes.apply(next, document, entry.revision());
            }
        }
        validator.checkState(next, List.of(), Map.of());
        final Reconciler.Prepared prepared = reconciler.prepare(next, Map.of());
        reconciler.commit(prepared, next);
        state = next;
        journal.startGeneration(next.revision(), snapshot(next), quarantine);
        journalEntries = 1;
    }

    private static byte[] snapshot(final DesiredState state) throws JsonProcessingException
    {
        final ObjectNode document = Json.mapper().createObjectNode();
        document.set("state", Json.mapper().valueToTree(state.toManifest()));
        return Json.mapper().writeValueAsBytes(document);
    }

    // ---------------------------------------------------------------------------------------------
    // writes

    /**
     * Creates ({@code createOnly}, POST) or creates-or-replaces (PUT) a resource.
     *
     * @param pathKey the key from the URL (PUT), or null (POST).
     * @param ifMatch the If-Match header, or null.
     */
    public synchronized Outcome put(final Kind kind, final Resource<?> body, final String pathKey, final String ifMatch,
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
        final Resource<?> normalized = validator.normalize(kind, resource, "");
        final DesiredState current = state;
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
    public synchronized Outcome delete(final Kind kind, final String key, final String ifMatch)
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
    public synchronized Outcome updateNetwork(final String name, final String ifMatch, final UnaryOperator<NetworkResource> edit)
    {
        final DesiredState current = state;
        final NetworkResource existing = current.networks().get(name);
        if (existing == null)
        {
            throw ResourceException.notFound("network " + name + " does not exist");
        }
        checkIfMatch(existing, ifMatch, Kind.NETWORK, name);
        final NetworkResource edited = edit.apply(existing);
        final NetworkResource normalized = (NetworkResource)validator.normalize(Kind.NETWORK, edited, "");
        if (same(existing, normalized))
        {
            return new Outcome(200, existing, false);
        }
        final long revision = current.revision() + 1;
        final NetworkResource stored = normalized.withVersion(revision);
        final DesiredState next = current.with(Kind.NETWORK, stored).withRevision(revision);
        final String blame = Kind.NETWORK.label() + "/" + name;
        commit(current, next, List.of(change("put", Kind.NETWORK, stored)), List.of(blame), Map.of(blame, ""));
        return new Outcome(200, stored, true);
    }

    /**
     * Converges to a manifest: creates and updates what differs, deletes what is missing when
     * {@code prune}; all in one journal entry, or nothing.
     */
    public synchronized ApplyResult apply(final Manifest manifest, final boolean prune, final boolean dryRun)
    {
        if (manifest.device() != null && manifest.device().get("name") != null &&
            !deviceName.equals(String.valueOf(manifest.device().get("name"))))
        {
            throw ResourceException.unprocessable("wrong_device", "device.name", "the manifest is for device " +
                manifest.device().get("name") + ", this is " + deviceName);
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
                final Resource<?> normalized = validator.normalize(kind, wanted.get(i), prefix);
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
            reconciler.abort(reconciler.prepare(next, fields));
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
        };
    }

    private void commit(final DesiredState current, final DesiredState next, final List<JsonNode> changes,
        final List<String> blame, final Map<String, String> fields)
    {
        validator.checkState(next, blame, fields);
        final Reconciler.Prepared prepared = reconciler.prepare(next, fields);
        final byte[] payload;
        try
        {
            final ObjectNode document = Json.mapper().createObjectNode();
            final ArrayNode array = document.putArray("changes");
            changes.forEach(array::add);
            payload = Json.mapper().writeValueAsBytes(document);
            journal.append(next.revision(), payload);
        }
        catch (final JsonProcessingException | RuntimeException ex)
        {
            reconciler.abort(prepared);
            LOG.log(Level.ERROR, "journal append failed; change refused: " + ex, ex);
            throw new ResourceException(503, "journal_unavailable", "the change could not be written to the journal: " +
                ex.getMessage(), null);
        }
        journalEntries++;
        reconciler.commit(prepared, next);
        state = next;
        if (journal.entriesInGeneration() >= snapshotEvery)
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

    /**
     * @return entries appended since the daemon started (plus its start snapshot).
     */
    public long journalEntries()
    {
        return journalEntries;
    }

    private static JsonNode change(final String op, final Kind kind, final Resource<?> resource)
    {
        final ObjectNode change = Json.mapper().createObjectNode().put("op", op).put("kind", kind.label()).put("key", resource.key());
        change.set("resource", Json.mapper().valueToTree(resource));
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
        if (existing != null)
        {
            return vnic.withPort(((VnicResource)existing).port()).withVersion(revision);
        }
        final Set<Integer> used = new HashSet<>();
        current.vnics().values().forEach(v -> used.add(v.port()));
        next.vnics().values().forEach(v -> used.add(v.port()));
        for (int port = 0; port < OVERLAY_PORT; port++)
        {
            if (!used.contains(port))
            {
                return vnic.withPort(port).withVersion(revision);
            }
        }
        throw ResourceException.unprocessable("no_free_port", "id", "every data plane port is in use (" + OVERLAY_PORT + ")");
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
