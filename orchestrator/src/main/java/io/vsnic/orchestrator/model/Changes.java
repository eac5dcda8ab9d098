package io.vsnic.orchestrator.model;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectReader;

/**
 * Applies a change document (the journal's and the cluster log's entry format) to a desired state:
 * <pre>{"changes": [{"op": "put", "kind": "vnic", "key": "vm1", "resource": {...}},
 *              {"op": "delete", "kind": "network", "key": "blue"},
 *              {"op": "route-add", "kind": "network", "key": "blue", "version": 7, "route": {...}},
 *              {"op": "route-remove", "kind": "network", "key": "blue", "version": 8, "prefix": "10.9.0.0/16"}]}</pre>
 * The route operations change one route of a network that holds many without repeating the network.
 * The resources in it were normalised and validated by the writer; applying is deterministic, so
 * every replica that applies the same documents in the same order holds the same state.
 */
public final class Changes
{
    /** One route added to a network (the network's new version with it). */
    public static final String ROUTE_ADD = "route-add";
    /** One route removed from a network, by prefix. */
    public static final String ROUTE_REMOVE = "route-remove";

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
                    Route route = null;
                    String prefix = null;
                    Long version = null;
                    while (parser.nextToken() == JsonToken.FIELD_NAME)
                    {
                        final String name = parser.currentName();
                        parser.nextToken();
                        switch (name)
                        {
                            case "op" -> op = parser.getValueAsString();
                            case "kind" -> kind = Kind.ofLabel(parser.getValueAsString());
                            case "key" -> key = parser.getValueAsString();
                            case "route" -> route = RESOURCE.forType(Route.class).readValue(parser);
                            case "prefix" -> prefix = parser.getValueAsString();
                            case "version" -> version = parser.currentToken().isNumeric() ? parser.getLongValue() : null;
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
                    if (kind == null || op == null || key == null)
                    {
                        throw new IOException("revision " + revision + ": malformed change (op " + op + ", kind " + kind +
                            ", key " + key + ")");
                    }
                    next = apply(next, revision, op, kind, key, resource, route, prefix, version);
                }
            }
            if (!changes)
            {
                throw new IOException("revision " + revision + ": no changes array");
            }
            return next.withRevision(revision);
        }
    }

    /** One change: put, delete, or one route added to or removed from a network. */
    private static DesiredState apply(final DesiredState state, final long revision, final String op, final Kind kind,
        final String key, final Resource<?> resource, final Route route, final String prefix, final Long version)
        throws IOException
    {
        switch (op)
        {
            case "delete" ->
            {
                return state.without(kind, key);
            }
            case "put" ->
            {
                if (resource == null)
                {
                    throw new IOException("revision " + revision + ": put of " + kind.label() + " " + key + " without a resource");
                }
                return state.with(kind, resource);
            }
            case ROUTE_ADD, ROUTE_REMOVE ->
            {
                final NetworkResource network = kind == Kind.NETWORK ? state.networks().get(key) : null;
                if (network == null || version == null || (op.equals(ROUTE_ADD) ? route == null : prefix == null))
                {
                    throw new IOException("revision " + revision + ": malformed " + op + " of network " + key +
                        (network == null ? " (no such network)" : ""));
                }
                final List<Route> routes = new ArrayList<>(network.routes() == null ? List.of() : network.routes());
                final String removed = op.equals(ROUTE_ADD) ? route.prefix() : prefix;
                routes.removeIf(r -> r.prefix().equals(removed));
                if (op.equals(ROUTE_ADD))
                {
                    routes.add(route);
                }
                return state.with(Kind.NETWORK, network.withRoutes(routes).withVersion(version));
            }
            default -> throw new IOException("revision " + revision + ": unknown change op " + op);
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
            final String op = change.get("op").asText();
            final Resource<?> resource = op.equals("put") && change.hasNonNull("resource") ?
                Json.mapper().treeToValue(change.get("resource"), kind.type()) : null;
            final Route route = change.hasNonNull("route") ? Json.mapper().treeToValue(change.get("route"), Route.class) : null;
            next = apply(next, revision, op, kind, change.get("key").asText(), resource, route,
                change.hasNonNull("prefix") ? change.get("prefix").asText() : null,
                change.path("version").isIntegralNumber() ? change.get("version").asLong() : null);
        }
        return next.withRevision(revision);
    }
}
