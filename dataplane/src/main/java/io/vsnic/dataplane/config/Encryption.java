package io.vsnic.dataplane.config;

/**
 * How overlay packets to and from a peer are protected on the substrate.
 */
public enum Encryption
{
    /** Plain Geneve/VXLAN over UDP (for peers such as a kernel VXLAN device that cannot encrypt). */
    NONE,
    /**
     * WireGuard transport messages: the plaintext of each is the overlay packet (inner IP + UDP +
     * Geneve/VXLAN + Ethernet) between the two devices' inner substrate addresses.
     */
    WIREGUARD
}
