package io.vsnic.dataplane.security;

/**
 * Which way a packet crosses a port, seen from the virtual machine behind it.
 */
public enum Direction
{
    /** Towards the virtual machine: the remote side is the packet's source. */
    INGRESS,
    /** Away from the virtual machine: the remote side is the packet's destination. */
    EGRESS
}
