package io.vsnic.dataplane.config;

/**
 * Overlay encapsulation used towards a peer device.
 */
public enum Encapsulation
{
    /** Geneve (RFC 8926), UDP port 6081: the default. */
    GENEVE,
    /** VXLAN (RFC 7348), UDP port 4789: for interop with Linux kernel VXLAN devices. */
    VXLAN
}
