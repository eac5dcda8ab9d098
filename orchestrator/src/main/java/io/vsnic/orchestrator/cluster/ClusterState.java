package io.vsnic.orchestrator.cluster;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SortedMap;
import java.util.TreeMap;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vsnic.orchestrator.model.DesiredState;
import io.vsnic.orchestrator.model.Json;
import io.vsnic.orchestrator.model.Manifest;

/**
 * One immutable version of the replicated state: the cluster-wide desired state (networks, security
 * groups, vNICs with the device each lives on, manual peers) and the device membership. Held by
 * {@link ClusterStateMachine}; every device derives its own forwarding state from it.
 *
 * @param desired the desired state (its revision counts accepted changes).
 * @param members the devices by name.
 */
public record ClusterState(DesiredState desired, SortedMap<String, Member> members)
{
    private static final ClusterState EMPTY = new ClusterState(DesiredState.empty(), Collections.emptySortedMap());

    public ClusterState
    {
        members = Collections.unmodifiableSortedMap(new TreeMap<>(members));
    }

    /**
     * @return nothing yet: revision 0, no members.
     */
    public static ClusterState empty()
    {
        return EMPTY;
    }

    /**
     * @return a copy with another desired state.
     */
    public ClusterState withDesired(final DesiredState next)
    {
        return new ClusterState(next, members);
    }

    /**
     * @return a copy with a member put (added or replaced).
     */
    public ClusterState withMember(final Member member)
    {
        final SortedMap<String, Member> next = new TreeMap<>(members);
        next.put(member.name(), member);
        return new ClusterState(desired, next);
    }

    /**
     * @return a copy without a member.
     */
    public ClusterState withoutMember(final String name)
    {
        final SortedMap<String, Member> next = new TreeMap<>(members);
        next.remove(name);
        return new ClusterState(desired, next);
    }

    /**
     * @return the snapshot document: {@code {"revision": R, "state": MANIFEST, "members": [...]}}.
     */
    public byte[] toSnapshot() throws IOException
    {
        final ObjectNode document = Json.mapper().createObjectNode();
        document.put("revision", desired.revision());
        document.set("state", Json.mapper().valueToTree(desired.toManifest()));
        document.set("members", Json.mapper().valueToTree(new ArrayList<>(members.values())));
        return Json.mapper().writeValueAsBytes(document);
    }

    /**
     * @return the state a snapshot document holds.
     * @throws IOException when the document is not one.
     */
    public static ClusterState fromSnapshot(final byte[] bytes) throws IOException
    {
        final JsonNode document = Json.mapper().readTree(bytes);
        if (document == null || !document.has("revision") || !document.has("state") || !document.has("members"))
        {
            throw new IOException("not a cluster snapshot (revision, state and members expected)");
        }
        final DesiredState desired = DesiredState.of(document.get("revision").asLong(),
            Json.mapper().treeToValue(document.get("state"), Manifest.class));
        final SortedMap<String, Member> members = new TreeMap<>();
        final List<Member> list = new ArrayList<>();
        for (final JsonNode member : document.get("members"))
        {
            list.add(Json.mapper().treeToValue(member, Member.class));
        }
        list.forEach(m -> members.put(m.name(), m));
        return new ClusterState(desired, members);
    }
}
