package io.vsnic.dataplane.config;

/**
 * A VM address that lives on another device (static remote location).
 *
 * @param ip     its IPv4 or IPv6 address.
 * @param mac    its MAC address (low 48 bits).
 * @param device the device that holds it.
 */
public record RemoteSpec(String ip, long mac, int device)
{
}
