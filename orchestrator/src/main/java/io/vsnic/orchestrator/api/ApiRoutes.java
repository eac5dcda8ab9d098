package io.vsnic.orchestrator.api;

import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vsnic.orchestrator.cluster.ClusterNode;
import io.vsnic.orchestrator.daemon.Daemon;
import io.vsnic.orchestrator.daemon.DeviceController;
import io.vsnic.orchestrator.flows.FlowLogStore;
import io.vsnic.orchestrator.model.Json;
import io.vsnic.orchestrator.model.Kind;
import io.vsnic.orchestrator.model.PeerResource;
import io.vsnic.orchestrator.model.Manifest;
import io.vsnic.orchestrator.model.NetworkResource;
import io.vsnic.orchestrator.model.Remote;
import io.vsnic.orchestrator.model.Resource;
import io.vsnic.orchestrator.model.ResourceException;
import io.vsnic.orchestrator.model.Route;
import io.vsnic.orchestrator.model.Validator;
import io.vsnic.orchestrator.model.VnicResource;

/**
 * Maps requests to responses. Every route here is documented in {@code docs/api/openapi.yaml};
 * anything else is 404, a known path with another method 405 (with {@code Allow}).
 */
public final class ApiRoutes
{
    private static final System.Logger LOG = System.getLogger(ApiRoutes.class.getName());
    private static final String PROMETHEUS = "text/plain; version=0.0.4; charset=utf-8";

    private final Daemon daemon;
    private final Views views;

    /**
     * @param daemon the daemon served.
     */
    public ApiRoutes(final Daemon daemon)
    {
        this.daemon = daemon;
        this.views = new Views(daemon);
    }

    /**
     * @return the response to a request (never throws).
     */
    public ApiResponse handle(final ApiRequest request)
    {
        ApiResponse response;
        try
        {
            response = route(request);
        }
        catch (final ResourceException ex)
        {
            response = ApiResponse.error(ex);
        }
        catch (final RuntimeException ex)
        {
            LOG.log(Level.ERROR, "internal error on " + request.method() + " /" + String.join("/", request.path()) + ": " + ex, ex);
            response = ApiResponse.error(500, "internal", "internal error: " + ex, null, Map.of());
        }
        catch (final OutOfMemoryError ex)
        {
            // reading or checking a body too large for this heap (a table of millions of routes): changes are
            // made off to the side, so nothing changed
            LOG.log(Level.ERROR, "out of memory on " + request.method() + " /" + String.join("/", request.path()) + ": " + ex);
            response = ApiResponse.error(ResourceException.insufficientMemory("on this request"));
        }
        return daemon.cluster() == null ? response : withClusterHeaders(response);
    }

    /**
     * Cluster mode: every answer says which replicated state it reflects ({@code X-Vsnic-Applied-Index}: the
     * Raft log index this device has applied; {@code X-Vsnic-Revision}: the desired-state revision) and
     * the head this device knows ({@code X-Vsnic-Head}, absent when none).
     */
    private ApiResponse withClusterHeaders(final ApiResponse response)
    {
        final ClusterNode cluster = daemon.cluster();
        final Map<String, String> headers = new java.util.LinkedHashMap<>(response.headers());
        try
        {
            headers.put("X-Vsnic-Applied-Index", Long.toString(cluster.appliedIndex()));
        }
        catch (final java.io.IOException ex)
        {
            // closing: no index
        }
        headers.put("X-Vsnic-Revision", Long.toString(controller().state().revision()));
        final String head = cluster.lastKnownHead();
        if (head != null)
        {
            headers.put("X-Vsnic-Head", head);
        }
        return new ApiResponse(response.status(), response.contentType(), response.body(), headers);
    }

    /** {@code ?consistent=true} on a read: wait until this device has applied what the head had committed. */
    private void consistency(final ApiRequest request)
    {
        if (!request.method().equals("GET") || !flag(request, "consistent") || daemon.cluster() == null)
        {
            return;
        }
        try
        {
            daemon.cluster().readBarrier();
        }
        catch (final ClusterNode.NoQuorumException ex)
        {
            final String head = daemon.cluster().lastKnownHead();
            throw new ResourceException(503, "no_quorum", "consistent read refused: no head with a quorum is reachable (last known head: " +
                (head == null ? "none" : head) + "): " + ex.getMessage(), null);
        }
    }

    private ApiResponse route(final ApiRequest request)
    {
        consistency(request);
        final List<String> p = request.path();
        if (p.size() == 1 && p.get(0).equals("metrics"))
        {
            return methods(request, "GET") ? ApiResponse.text(200, PROMETHEUS, Metrics.render(daemon)) : notAllowed("GET");
        }
        if (p.isEmpty() || !p.get(0).equals("v1"))
        {
            return notFound(request);
        }
        if (p.size() == 2)
        {
            switch (p.get(1))
            {
                case "status":
                    return methods(request, "GET") ? ApiResponse.json(200, views.status()) : notAllowed("GET");
                case "topology":
                    return methods(request, "GET") ? ApiResponse.json(200, views.topology()) : notAllowed("GET");
                case "cluster":
                    return methods(request, "GET") ? ApiResponse.json(200, views.cluster()) : notAllowed("GET");
                case "manifest":
                    return methods(request, "GET") ? ApiResponse.json(200, controller().state().toManifest()) : notAllowed("GET");
                case "apply":
                    return methods(request, "POST") ? apply(request) : notAllowed("POST");
                case "flows":
                    return methods(request, "GET") ? flows(request) : notAllowed("GET");
                default:
                    break;
            }
        }
        if (p.size() >= 3 && p.get(1).equals("cluster"))
        {
            return cluster(request, p);
        }
        if (p.size() >= 2 && p.size() <= 3 && p.get(1).equals("tasks"))
        {
            return methods(request, "GET") ? tasks(p.size() == 3 ? p.get(2) : null) : notAllowed("GET");
        }
        final Kind kind = p.size() >= 2 ? Kind.ofCollection(p.get(1)) : null;
        if (kind == null)
        {
            return notFound(request);
        }
        if (p.size() == 2)
        {
            return switch (request.method())
            {
                case "GET" -> list(kind);
                case "POST" -> write(request, kind, null, true);
                default -> notAllowed("GET, POST");
            };
        }
        final String key = p.get(2);
        if (p.size() == 3)
        {
            return switch (request.method())
            {
                case "GET" -> get(kind, key);
                case "PUT" -> write(request, kind, key, false);
                case "DELETE" -> delete(request, kind, key);
                default -> notAllowed("GET, PUT, DELETE");
            };
        }
        if (p.size() == 4 && kind == Kind.VNIC && p.get(3).equals("capture"))
        {
            if (!methods(request, "GET"))
            {
                return notAllowed("GET");
            }
            // a valid capture streams (ApiServer); only an invalid one gets here
            captureRequest(request);
            throw new IllegalStateException("a capture request must be streamed");
        }
        if (p.size() == 4 && kind == Kind.NETWORK && (p.get(3).equals("routes") || p.get(3).equals("remotes")))
        {
            return p.get(3).equals("routes") ? routes(request, key) : remotes(request, key);
        }
        return notFound(request);
    }

    /** {@code GET /v1/tasks} and {@code GET /v1/tasks/{id}}. */
    private ApiResponse tasks(final String id)
    {
        final io.vsnic.orchestrator.daemon.Tasks tasks = daemon.tasks();
        if (id != null)
        {
            final io.vsnic.orchestrator.daemon.Tasks.Task task = tasks == null ? null : tasks.get(id);
            if (task == null)
            {
                throw ResourceException.notFound("task " + id + " does not exist (finished tasks are kept up to tasks.keepFinished)");
            }
            return ApiResponse.json(200, task.view());
        }
        final ObjectNode root = Json.mapper().createObjectNode();
        final ArrayNode items = root.putArray("items");
        if (tasks != null)
        {
            tasks.list().forEach(task -> items.add(task.view()));
        }
        return ApiResponse.json(200, root);
    }

    private ApiResponse cluster(final ApiRequest request, final List<String> p)
    {
        if (p.size() == 3 && p.get(2).equals("tokens"))
        {
            if (!methods(request, "POST"))
            {
                return notAllowed("POST");
            }
            final com.fasterxml.jackson.databind.JsonNode body = request.body().length == 0 ? null : Json.read(request.body(),
                com.fasterxml.jackson.databind.JsonNode.class);
            final long ttl = body == null || !body.has("ttlSeconds") ? 600 : body.get("ttlSeconds").asLong();
            return ApiResponse.json(201, daemon.issueJoinToken(ttl));
        }
        if (p.size() == 3 && p.get(2).equals("join"))
        {
            if (!methods(request, "POST"))
            {
                return notAllowed("POST");
            }
            requireJson(request);
            return ApiResponse.json(200, daemon.admit(Json.read(request.body(), com.fasterxml.jackson.databind.JsonNode.class)));
        }
        if (p.size() == 4 && p.get(2).equals("members"))
        {
            if (!methods(request, "DELETE"))
            {
                return notAllowed("DELETE");
            }
            daemon.removeMember(p.get(3));
            return ApiResponse.noContent();
        }
        return notFound(request);
    }

    private DeviceController controller()
    {
        return daemon.controller();
    }

    private static boolean methods(final ApiRequest request, final String allowed)
    {
        return request.method().equals(allowed);
    }

    private static ApiResponse notFound(final ApiRequest request)
    {
        return ApiResponse.error(404, "not_found", "no such route: /" + String.join("/", request.path()), null, Map.of());
    }

    private static ApiResponse notAllowed(final String allow)
    {
        return ApiResponse.error(405, "method_not_allowed", "method not allowed here; allowed: " + allow, null,
            Map.of("Allow", allow));
    }

    private static Map<String, String> etag(final Long version)
    {
        return version == null ? Map.of() : Map.of("ETag", "\"" + version + "\"");
    }

    private static void requireJson(final ApiRequest request)
    {
        final String type = request.contentType();
        if (type != null)
        {
            final String media = type.split(";")[0].trim().toLowerCase(Locale.ROOT);
            if (!media.equals("application/json") && !media.endsWith("+json"))
            {
                throw new ResourceException(415, "unsupported_media_type", "the body must be application/json, not " + type, null);
            }
        }
    }

    // ---------------------------------------------------------------------------------------------

    private ApiResponse list(final Kind kind)
    {
        final ObjectNode root = Json.mapper().createObjectNode();
        final ArrayNode items = root.putArray("items");
        final io.vsnic.dataplane.status.CounterSnapshot counters = kind == Kind.VNIC ? daemon.dataPlane().counters() : null;
        for (final Resource<?> resource : controller().state().resources(kind).values())
        {
            items.add(kind == Kind.VNIC ? views.vnic((VnicResource)resource, counters) :
                kind == Kind.PEER ? views.peer((PeerResource)resource) : Json.mapper().valueToTree(resource));
        }
        root.put("revision", controller().state().revision());
        return ApiResponse.json(200, root);
    }

    private ApiResponse get(final Kind kind, final String key)
    {
        final Resource<?> resource = controller().state().get(kind, key);
        if (resource == null)
        {
            throw ResourceException.notFound(kind.label() + " " + key + " does not exist");
        }
        final Object body = kind == Kind.VNIC ? views.vnic((VnicResource)resource) :
            kind == Kind.PEER ? views.peer((PeerResource)resource) : resource;
        return ApiResponse.json(200, body, etag(resource.version()));
    }

    private ApiResponse write(final ApiRequest request, final Kind kind, final String key, final boolean createOnly)
    {
        requireJson(request);
        final Resource<?> body = Json.read(request.body(), kind.type());
        if (createOnly && request.ifMatch() != null)
        {
            throw ResourceException.invalid(null, "If-Match is for PUT and DELETE; POST creates");
        }
        final DeviceController.Outcome outcome = controller().put(kind, body, key, request.ifMatch(), createOnly);
        final Object view = kind == Kind.VNIC ? views.vnic((VnicResource)outcome.resource()) : outcome.resource();
        return ApiResponse.json(outcome.status(), view, etag(outcome.resource().version()));
    }

    private ApiResponse delete(final ApiRequest request, final Kind kind, final String key)
    {
        controller().delete(kind, key, request.ifMatch());
        return ApiResponse.noContent();
    }

    private ApiResponse apply(final ApiRequest request)
    {
        requireJson(request);
        final Manifest manifest = Json.read(request.body(), Manifest.class);
        final boolean dryRun = flag(request, "dryRun");
        final boolean prune = flag(request, "prune");
        return ApiResponse.json(200, controller().apply(manifest, prune, dryRun));
    }

    // ---------------------------------------------------------------------------------------------
    // flow logs and capture

    /** Most records one {@code GET /v1/flows} returns by default. */
    static final int DEFAULT_FLOW_LIMIT = 100;
    /** Longest long poll, seconds. */
    static final int MAX_WAIT_SECONDS = 60;

    /**
     * {@code GET /v1/flows?cursor=&since=&limit=&vnic=&wait=}: a page of flow log records. May block up to
     * {@code wait} seconds: the server runs it off the event loop.
     */
    private ApiResponse flows(final ApiRequest request)
    {
        final FlowLogStore store = daemon.flowLogs();
        if (store == null)
        {
            throw ResourceException.conflict("flow_logs_disabled", null, "flow logs are off on this device (flowLogs.enabled: false)");
        }
        final int limit = intParam(request, "limit", DEFAULT_FLOW_LIMIT, 1, FlowLogStore.MAX_LIMIT);
        final int wait = intParam(request, "wait", 0, 0, MAX_WAIT_SECONDS);
        final String cursor = request.param("cursor");
        if (cursor != null && !cursor.matches("-1|\\d{1,19}"))
        {
            throw ResourceException.invalid("cursor", "cursor must be a value of next from an earlier answer: " + cursor);
        }
        final String since = request.param("since");
        Long sinceMs = null;
        if (since != null)
        {
            try
            {
                sinceMs = since.matches("\\d{1,15}") ? Long.parseLong(since) : java.time.Instant.parse(since).toEpochMilli();
            }
            catch (final java.time.format.DateTimeParseException ex)
            {
                throw ResourceException.invalid("since", "since must be an RFC 3339 time (2026-11-23T06:00:00Z) or epoch milliseconds: " +
                    since);
            }
        }
        final String vnic = request.param("vnic");
        if (vnic != null && !controller().state().vnics().containsKey(vnic))
        {
            throw ResourceException.notFound("no vnic " + vnic);
        }
        final FlowLogStore.Page page;
        try
        {
            page = store.query(cursor, sinceMs, limit, vnic, wait * 1000L);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw new ResourceException(503, "shutting_down", "the daemon is stopping", null);
        }
        final ObjectNode root = Json.mapper().createObjectNode();
        final ArrayNode flows = root.putArray("flows");
        page.flows().forEach(flows::add);
        root.put("next", page.next());
        return ApiResponse.json(200, root);
    }

    /** What a valid {@code GET /v1/vnics/{id}/capture} asks for. */
    record CaptureRequest(String vnic, int port, long count, int seconds, int snapBytes)
    {
    }

    /** Largest {@code count} of one capture. */
    static final long MAX_CAPTURE_COUNT = 100_000_000L;
    /** Longest capture, seconds. */
    static final int MAX_CAPTURE_SECONDS = 86_400;

    /**
     * Validates a capture request: the vNIC must be attached here; {@code count} (frames, 1..10^8), {@code seconds}
     * (1..86400) and {@code snaplen} (64..65535, default 9216) are optional; without either limit the capture runs
     * until the client disconnects.
     *
     * @throws ResourceException naming the field.
     */
    CaptureRequest captureRequest(final ApiRequest request)
    {
        final String id = request.path().get(2);
        final VnicResource vnic = controller().state().vnics().get(id);
        if (vnic == null)
        {
            throw ResourceException.notFound("no vnic " + id);
        }
        final long count = intParam(request, "count", 0, 1, (int)MAX_CAPTURE_COUNT);
        final int seconds = intParam(request, "seconds", 0, 1, MAX_CAPTURE_SECONDS);
        final int snap = intParam(request, "snaplen", io.vsnic.dataplane.capture.PortCapture.DEFAULT_SNAP_BYTES, 64, 65_535);
        if (vnic.port() == null || controller().reconciler().attached().get(id) == null)
        {
            throw ResourceException.conflict("not_attached", null, "vnic " + id + " is not attached to this device's data plane");
        }
        return new CaptureRequest(id, vnic.port(), count, seconds, snap);
    }

    private static int intParam(final ApiRequest request, final String name, final int fallback, final int min, final int max)
    {
        final String value = request.param(name);
        if (value == null)
        {
            return fallback;
        }
        try
        {
            final int parsed = Integer.parseInt(value);
            if (parsed >= min && parsed <= max)
            {
                return parsed;
            }
        }
        catch (final NumberFormatException ex)
        {
            // answered below
        }
        throw ResourceException.invalid(name, name + " must be an integer in " + min + ".." + max + ": " + value);
    }

    private static boolean flag(final ApiRequest request, final String name)
    {
        final String value = request.param(name);
        if (value == null || value.equals("false"))
        {
            return false;
        }
        if (value.equals("true") || value.isEmpty())
        {
            return true;
        }
        throw ResourceException.invalid(name, name + " must be true or false: " + value);
    }

    // ---------------------------------------------------------------------------------------------
    // sub-resources of a network

    private NetworkResource network(final String name)
    {
        final NetworkResource network = controller().state().networks().get(name);
        if (network == null)
        {
            throw ResourceException.notFound("network " + name + " does not exist");
        }
        return network;
    }

    private ApiResponse routes(final ApiRequest request, final String name)
    {
        return subresource(request, name, "routes", Route.class, NetworkResource::routes, "prefix", text -> Validator.canonicalPrefix(text, "prefix"),
            (route, f) -> new Validator("", -1).route(route, f));
    }

    private ApiResponse remotes(final ApiRequest request, final String name)
    {
        return subresource(request, name, "remotes", Remote.class, NetworkResource::remotes, "ip", text -> Validator.canonicalAddress(text, "ip"),
            (remote, f) -> new Validator("", -1).remote(remote, f));
    }

    private <T> ApiResponse subresource(final ApiRequest request, final String name, final String what, final Class<T> type,
        final Function<NetworkResource, List<T>> read, final String keyName, final Function<String, String> canonical,
        final java.util.function.BiFunction<T, String, T> validate)
    {
        switch (request.method())
        {
            case "GET" ->
            {
                final NetworkResource network = network(name);
                return listOf(read.apply(network), network.version());
            }
            case "PUT" ->
            {
                requireJson(request);
                final List<T> items = readList(request.body(), type);
                final DeviceController.Outcome outcome = controller().replaceItems(name, what, items, request.ifMatch());
                final NetworkResource network = (NetworkResource)outcome.resource();
                if (request.prefersMinimal())
                {
                    // RFC 7240: no echo of what was sent (a million routes are 100 MB of JSON), the version only
                    final Map<String, String> headers = new java.util.HashMap<>(etag(network.version()));
                    headers.put("Preference-Applied", "return=minimal");
                    return new ApiResponse(204, null, new byte[0], headers);
                }
                return listOf(read.apply(network), network.version());
            }
            case "POST" ->
            {
                requireJson(request);
                final T item = validate.apply(Json.read(request.body(), type), "");
                final DeviceController.Outcome outcome = controller().items(name, what, "add", Json.mapper().valueToTree(item),
                    request.ifMatch());
                return ApiResponse.json(outcome.status(), item, etag(outcome.resource().version()));
            }
            case "DELETE" ->
            {
                final String raw = request.param(keyName);
                if (raw == null)
                {
                    throw ResourceException.missing(keyName);
                }
                final String key = canonical.apply(raw);
                network(name);
                controller().items(name, what, "remove", com.fasterxml.jackson.databind.node.TextNode.valueOf(key), request.ifMatch());
                return ApiResponse.noContent();
            }
            default ->
            {
                return notAllowed("GET, PUT, POST, DELETE");
            }
        }
    }

    /** A sub-resource list as the API answers it (serialized straight from the items: a table may hold millions). */
    private record ItemList(List<?> items, Long version)
    {
    }

    private static ApiResponse listOf(final List<?> items, final Long version)
    {
        return ApiResponse.json(200, new ItemList(items, version), etag(version));
    }

    /** A sub-resource list as a client sends it. */
    private record Items<T>(List<T> items)
    {
    }

    private static <T> List<T> readList(final byte[] body, final Class<T> type)
    {
        // straight into the items when the body is right (an Internet-sized route table is 60 MB of JSON: a tree
        // of it would take several times that); the tree below only to say what is wrong
        try
        {
            final Items<T> parsed = Json.mapper().readValue(body,
                Json.mapper().getTypeFactory().constructParametricType(Items.class, type));
            if (parsed != null && parsed.items() != null && !parsed.items().contains(null))
            {
                if (type == Route.class)
                {
                    // JSON gives each route a target of its own (two strings each): share them now, so that
                    // a million of them do not stay alive for the whole request
                    @SuppressWarnings("unchecked")
                    final List<T> shared = (List<T>)Route.shareTargets((List<Route>)parsed.items());
                    return shared;
                }
                return parsed.items();
            }
        }
        catch (final java.io.IOException | RuntimeException ex)
        {
            // described below
        }
        return readListExplained(body, type);
    }

    private static <T> List<T> readListExplained(final byte[] body, final Class<T> type)
    {
        final ObjectNode shape;
        try
        {
            shape = (ObjectNode)Json.mapper().readTree(body);
        }
        catch (final ClassCastException ex)
        {
            throw ResourceException.invalid("items", "the body must be {\"items\": [...]}");
        }
        catch (final java.io.IOException ex)
        {
            throw new ResourceException(400, "malformed_json", "malformed JSON: " + ex.getMessage().lines().findFirst().orElse(""), null);
        }
        if (shape == null || !Set.of("items").containsAll(iterable(shape)) || !shape.has("items") || !shape.get("items").isArray())
        {
            throw ResourceException.invalid("items", "the body must be {\"items\": [...]}");
        }
        final List<T> items = new ArrayList<>();
        for (int i = 0; i < shape.get("items").size(); i++)
        {
            try
            {
                items.add(Json.mapper().treeToValue(shape.get("items").get(i), type));
            }
            catch (final com.fasterxml.jackson.core.JsonProcessingException ex)
            {
                final ResourceException translated = Json.translate(ex);
                throw ResourceException.invalid("items[" + i + "]" + (translated.field() == null ? "" : "." + translated.field()),
                    translated.getMessage());
            }
        }
        return items;
    }

    private static List<String> iterable(final ObjectNode node)
    {
        final List<String> names = new ArrayList<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }
}
