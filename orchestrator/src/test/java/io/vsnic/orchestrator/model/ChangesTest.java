package io.vsnic.orchestrator.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;

import org.junit.jupiter.api.Test;

/** The journal's change documents, streamed and as trees: the same states, the same refusals. */
class ChangesTest
{
    private static final String BLUE = "{\"name\":\"blue\",\"vni\":100,\"mtu\":1500," +
        "\"subnets\":[{\"cidr\":\"10.0.1.0/24\",\"gateway\":\"10.0.1.1\"}]," +
        "\"routes\":[{\"prefix\":\"0.0.0.0/0\",\"target\":{\"type\":\"device\",\"device\":2}}," +
        "{\"prefix\":\"192.0.2.0/24\",\"target\":{\"type\":\"reject\"}}],\"remotes\":[],\"version\":3}";

    private static DesiredState both(final DesiredState state, final String document, final long revision) throws IOException
    {
        final byte[] bytes = document.getBytes(StandardCharsets.UTF_8);
        final DesiredState streamed = Changes.apply(state, bytes, revision);
        final DesiredState tree = Changes.apply(state, Json.mapper().readTree(bytes), revision);
        assertEquals(tree.toManifest(), streamed.toManifest(), "streamed and tree replay agree");
        assertEquals(tree.revision(), streamed.revision());
        return streamed;
    }

    @Test
    void shouldApplyPutsAndDeletesInOrder() throws IOException
    {
        final DesiredState one = both(DesiredState.empty(),
            "{\"changes\":[{\"op\":\"put\",\"kind\":\"network\",\"key\":\"blue\",\"resource\":" + BLUE + "}]}", 3);
        assertEquals(3, one.revision());
        final NetworkResource blue = one.networks().get("blue");
        assertEquals(List.of("0.0.0.0/0", "192.0.2.0/24"), blue.routes().stream().map(Route::prefix).toList());
        assertEquals(2, blue.routes().get(0).target().device());
        final DesiredState two = both(one, "{\"changes\":[{\"op\":\"delete\",\"kind\":\"network\",\"key\":\"blue\"}]}", 4);
        assertTrue(two.networks().isEmpty());
    }

    @Test
    void shouldAddAndRemoveOneRouteOfANetwork() throws IOException
    {
        final DesiredState one = both(DesiredState.empty(),
            "{\"changes\":[{\"op\":\"put\",\"kind\":\"network\",\"key\":\"blue\",\"resource\":" + BLUE + "}]}", 3);
        final DesiredState added = both(one, "{\"changes\":[{\"op\":\"route-add\",\"kind\":\"network\",\"key\":\"blue\"," +
            "\"version\":4,\"route\":{\"prefix\":\"10.9.0.0/16\",\"target\":{\"type\":\"blackhole\"}}}]}", 4);
        final NetworkResource blue = added.networks().get("blue");
        assertEquals(4L, blue.version());
        assertEquals(List.of("0.0.0.0/0", "192.0.2.0/24", "10.9.0.0/16"), blue.routes().stream().map(Route::prefix).toList());
        final DesiredState removed = both(added, "{\"changes\":[{\"op\":\"route-remove\",\"kind\":\"network\"," +
            "\"key\":\"blue\",\"version\":5,\"prefix\":\"192.0.2.0/24\"}]}", 5);
        assertEquals(List.of("0.0.0.0/0", "10.9.0.0/16"), removed.networks().get("blue").routes().stream().map(Route::prefix).toList());
        assertEquals(5L, removed.networks().get("blue").version());
        // of a network that does not exist, or without its route: refused
        for (final String bad : List.of(
            "{\"changes\":[{\"op\":\"route-add\",\"kind\":\"network\",\"key\":\"red\",\"version\":6,\"route\":" +
                "{\"prefix\":\"10.9.0.0/16\",\"target\":{\"type\":\"blackhole\"}}}]}",
            "{\"changes\":[{\"op\":\"route-add\",\"kind\":\"network\",\"key\":\"blue\",\"version\":6}]}",
            "{\"changes\":[{\"op\":\"route-remove\",\"kind\":\"network\",\"key\":\"blue\",\"prefix\":\"10.9.0.0/16\"}]}",
            "{\"changes\":[{\"op\":\"rename\",\"kind\":\"network\",\"key\":\"blue\"}]}"))
        {
            assertThrows(IOException.class, () -> Changes.apply(removed, bad.getBytes(StandardCharsets.UTF_8), 6), bad);
            assertThrows(IOException.class, () -> Changes.apply(removed, Json.mapper().readTree(bad), 6), bad);
        }
    }

    @Test
    void shouldReadAResourceWrittenBeforeItsKind() throws IOException
    {
        // not what the writer produces, but valid JSON: the streamed reader falls back to the tree
        final DesiredState state = both(DesiredState.empty(),
            "{\"changes\":[{\"resource\":" + BLUE + ",\"op\":\"put\",\"key\":\"blue\",\"kind\":\"network\"}]}", 5);
        assertEquals(100, state.networks().get("blue").vni());
    }

    @Test
    void shouldRefuseWhatIsNotAChangeDocument()
    {
        for (final String bad : List.of("[]", "{}", "{\"changes\":{}}", "{\"changes\":[{\"op\":\"put\",\"kind\":\"network\"}]}",
            "{\"changes\":[{\"op\":\"put\",\"kind\":\"teapot\",\"key\":\"x\",\"resource\":{}}]}"))
        {
            assertThrows(IOException.class, () -> Changes.apply(DesiredState.empty(), bad.getBytes(StandardCharsets.UTF_8), 1), bad);
        }
    }

    @Test
    void shouldShareEqualRouteTargets()
    {
        final List<Route> routes = List.of(new Route("10.1.0.0/16", new RouteTarget("port", "vm1", null, null)),
            new Route("10.2.0.0/16", new RouteTarget("port", "vm1", null, null)),
            new Route("10.3.0.0/16", new RouteTarget("reject", null, null, null)));
        final List<Route> shared = Route.shareTargets(routes);
        assertEquals(routes, shared);
        assertSame(shared.get(0).target(), shared.get(1).target());
        final List<Route> single = routes.subList(0, 1);
        assertSame(single, Route.shareTargets(single), "nothing to share: the same list");
        final List<Route> again = Route.shareTargets(shared);
        assertSame(shared, again, "already shared: the same list");
    }
}
