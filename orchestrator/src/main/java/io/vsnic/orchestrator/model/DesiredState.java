package io.vsnic.orchestrator.model;

import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * One immutable version of the device's desired state: every network, security group, vNIC and
 * peer by key, and the revision (the number of the last accepted change). Changes make new
 * instances; readers on any thread see a consistent version through one volatile reference.
 */
public final class DesiredState
{
    private static final DesiredState EMPTY = new DesiredState(0, new EnumMap<>(Kind.class));

    private final long revision;
    private final Map<Kind, SortedMap<String, Resource<?>>> resources;

    private DesiredState(final long revision, final Map<Kind, SortedMap<String, Resource<?>>> resources)
    {
        this.revision = revision;
        this.resources = resources;
        for (final Kind kind : Kind.values())
        {
            resources.putIfAbsent(kind, Collections.emptySortedMap());
        }
    }

    /**
     * @return the state with nothing in it, revision 0.
     */
    public static DesiredState empty()
    {
        return EMPTY;
    }

    public long revision()
    {
        return revision;
    }

    /**
     * @return the resources of a kind by key, sorted (unmodifiable).
     */
    @SuppressWarnings("unchecked")
    public <T extends Resource<T>> SortedMap<String, T> all(final Kind kind)
    {
        return (SortedMap<String, T>)(SortedMap<String, ?>)resources.get(kind);
    }

    /**
     * @return the resources of a kind by key, without a type (unmodifiable).
     */
    public SortedMap<String, Resource<?>> resources(final Kind kind)
    {
        return resources.get(kind);
    }

    /**
     * @return one resource, or null.
     */
    public <T extends Resource<T>> T get(final Kind kind, final String key)
    {
        return this.<T>all(kind).get(key);
    }

    public SortedMap<String, NetworkResource> networks()
    {
        return all(Kind.NETWORK);
    }

    public SortedMap<String, SecurityGroupResource> securityGroups()
    {
        return all(Kind.SECURITY_GROUP);
    }

    public SortedMap<String, VnicResource> vnics()
    {
        return all(Kind.VNIC);
    }

    public SortedMap<String, PeerResource> peers()
    {
        return all(Kind.PEER);
    }

    public SortedMap<String, EnclaveResource> enclaves()
    {
        return all(Kind.ENCLAVE);
    }

    /**
     * @return a copy with a resource put (inserted or replaced) under its key.
     */
    public DesiredState with(final Kind kind, final Resource<?> resource)
    {
        final Map<Kind, SortedMap<String, Resource<?>>> next = new EnumMap<>(resources);
        final SortedMap<String, Resource<?>> map = new TreeMap<>(resources.get(kind));
        map.put(resource.key(), resource);
        next.put(kind, Collections.unmodifiableSortedMap(map));
        return new DesiredState(revision, next);
    }

    /**
     * @return a copy without a resource.
     */
    public DesiredState without(final Kind kind, final String key)
    {
        final Map<Kind, SortedMap<String, Resource<?>>> next = new EnumMap<>(resources);
        final SortedMap<String, Resource<?>> map = new TreeMap<>(resources.get(kind));
        map.remove(key);
        next.put(kind, Collections.unmodifiableSortedMap(map));
        return new DesiredState(revision, next);
    }

    /**
     * @return a copy at another revision.
     */
    public DesiredState withRevision(final long next)
    {
        return new DesiredState(next, new EnumMap<>(resources));
    }

    /**
     * @return this state as a manifest (versions and ports included).
     */
    public Manifest toManifest()
    {
        return new Manifest(null, networks().values().stream().toList(), securityGroups().values().stream().toList(),
            vnics().values().stream().toList(), peers().values().stream().toList(), enclaves().values().stream().toList());
    }

    /**
     * Builds a state from a manifest as stored (a snapshot): resources are taken as they are.
     */
    public static DesiredState of(final long revision, final Manifest manifest)
    {
        DesiredState state = new DesiredState(revision, new EnumMap<>(Kind.class));
        for (final NetworkResource network : manifest.networks())
        {
            state = state.with(Kind.NETWORK, network);
        }
        for (final SecurityGroupResource group : manifest.securityGroups())
        {
            state = state.with(Kind.SECURITY_GROUP, group);
        }
        for (final VnicResource vnic : manifest.vnics())
        {
            state = state.with(Kind.VNIC, vnic);
        }
        for (final PeerResource peer : manifest.peers())
        {
            state = state.with(Kind.PEER, peer);
        }
        for (final EnclaveResource enclave : manifest.enclaves())
        {
            state = state.with(Kind.ENCLAVE, enclave);
        }
        return state;
    }
}
