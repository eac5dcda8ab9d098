package io.vsnic.orchestrator.model;

/**
 * A VM address that lives on another device (static remote location).
 *
 * @param ip     IPv4 or IPv6 address inside a subnet of the network, unique within it.
 * @param mac    its MAC ("02:00:00:00:0b:01").
 * @param device the peer device id that holds it.
 */
public record Remote(String ip, String mac, Integer device)
{
}
