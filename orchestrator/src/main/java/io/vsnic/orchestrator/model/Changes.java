package io.vsnic.orchestrator.model;

import java.io.IOException;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Applies a change document (the journal's and the cluster log's entry format) to a desired state:
 * <pre>{"changes": [{"op": "put", "kind": "vnic", "key": "vm1", "resource": {...}},
 *              {"op": "delete", "kind": "network", "key": "blue"}]}</pre>
 * The resources in it were normalised and validated by the writer; applying is deterministic, so
 * every replica that applies the same documents in the same order holds the same state.
 */
public final class Changes
{
    private Changes()
    {
    }

    /**
     * @param state    the state the changes apply to.
     * @param document the change document.
     * @param revision the revision of the resulting state.
     * @return the next state.
     * @throws IOException when the document is not a change document.
     */
    public static DesiredState apply(final DesiredState state, final JsonNode document, final long revision) throws IOException
    {
        final JsonNode changes = document.get("changes");
        if (changes == null || !changes.isArray())
        {
            throw new IOException("revision " + revision + ": no changes array");
        }
        DesiredState next = state;
        for (final JsonNode change : changes)
        {
            final Kind kind = change.hasNonNull("kind") ? Kind.ofLabel(change.get("kind").asText()) : null;
            if (kind == null || !change.hasNonNull("op") || !change.hasNonNull("key"))
            {
                throw new IOException("revision " + revision + ": malformed change " + change);
            }
            if (change.get("op").asText().equals("delete"))
            {
                next = next.without(kind, change.get("key").asText());
            }
            else
            {
                next = next.with(kind, Json.mapper().treeToValue(change.get("resource"), kind.type()));
            }
        }
        return next.withRevision(revision);
    }
}
