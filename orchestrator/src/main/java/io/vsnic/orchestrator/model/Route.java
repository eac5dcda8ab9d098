package io.vsnic.orchestrator.model;

/**
 * A static route of a network.
 *
 * @param prefix destination prefix, unique within the network.
 * @param target where matching packets go.
 */
public record Route(String prefix, RouteTarget target)
{
}
