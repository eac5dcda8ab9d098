package io.vsnic.orchestrator.model;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A static route of a network.
 *
 * @param prefix destination prefix, unique within the network.
 * @param target where matching packets go.
 */
public record Route(String prefix, RouteTarget target)
{
    /**
     * The same routes with one target instance per distinct target. A large table has few distinct
     * targets, and JSON gives each route its own: a million routes to ten vNICs held a million targets
     * and two million strings for them, about 80 MB of heap.
     *
     * @return the routes, sharing equal targets (the list itself when there is nothing to share).
     */
    public static List<Route> shareTargets(final List<Route> routes)
    {
        if (routes == null || routes.size() < 2)
        {
            return routes;
        }
        final Map<RouteTarget, RouteTarget> targets = new HashMap<>();
        final List<Route> shared = new ArrayList<>(routes.size());
        boolean changed = false;
        for (final Route route : routes)
        {
            final RouteTarget target = route.target() == null ? null : targets.putIfAbsent(route.target(), route.target());
            if (target == null || target == route.target())
            {
                shared.add(route);
            }
            else
            {
                shared.add(new Route(route.prefix(), target));
                changed = true;
            }
        }
        return changed ? shared : routes;
    }
}
