package io.vsnic.orchestrator.model;

import java.io.IOException;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectReader;

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
    public static DesiredState apply(final DesiredState state, final byte[] document, final long revision) throws IOException
    {
        // streamed: each resource is read straight into its type (a network may hold a million routes, and a
        // tree of it takes several times its JSON); the writer puts "kind" before "resource", else the tree
        try (JsonParser parser = Json.mapper().createParser(document))
        {
            if (parser.nextToken() != JsonToken.START_OBJECT)
            {
                throw new IOException("revision " + revision + ": not a change document");
            }
            DesiredState next = state;
            boolean changes = false;
            while (parser.nextToken() == JsonToken.FIELD_NAME)
            {
                final String field = parser.currentName();
                if (parser.nextToken() != JsonToken.START_ARRAY || !field.equals("changes"))
                {
                    parser.skipChildren();
                    continue;
                }
                changes = true;
                while (parser.nextToken() == JsonToken.START_OBJECT)
                {
                    String op = null;
                    Kind kind = null;
                    String key = null;
                    Resource<?> resource = null;
                    while (parser.nextToken() == JsonToken.FIELD_NAME)
                    {
                        final String name = parser.currentName();
                        parser.nextToken();
                        switch (name)
                        {
                            case "op" -> op = parser.getValueAsString();
                            case "kind" -> kind = Kind.ofLabel(parser.getValueAsString());
                            case "key" -> key = parser.getValueAsString();
                            case "resource" ->
                            {
                                if (kind == null)
                                {
                                    return apply(state, Json.mapper().readTree(document), revision);
                                }
                                resource = RESOURCE.forType(kind.type()).readValue(parser);
                            }
                            default -> parser.skipChildren();
                        }
                    }
                    if (kind == null || op == null || key == null || (!op.equals("delete") && resource == null))
                    {
                        throw new IOException("revision " + revision + ": malformed change (op " + op + ", kind " + kind +
                            ", key " + key + ")");
                    }
                    next = op.equals("delete") ? next.without(kind, key) : next.with(kind, resource);
                }
            }
            if (!changes)
            {
                throw new IOException("revision " + revision + ": no changes array");
            }
            return next.withRevision(revision);
        }
    }

    /** Reads one resource in the middle of a change document (what follows it is the document's, not an error). */
    private static final ObjectReader RESOURCE = Json.mapper().reader().without(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    /**
     * As {@link #apply(DesiredState, byte[], long)}, from a parsed document.
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
