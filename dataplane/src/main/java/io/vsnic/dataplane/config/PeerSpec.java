package io.vsnic.dataplane.config;

import java.util.List;

/**
 * Another device on the substrate.
 *
 * @param device        device id (0..{@link io.vsnic.dataplane.table.ForwardingState#MAX_DEVICES}-1), unique.
 * @param name          name for counters and logs.
 * @param endpoint      substrate address and port, "192.0.2.7:6081" or "[2001:db8::7]:6081".
 * @param encapsulation Geneve or VXLAN towards this peer.
 * @param allowedVnis   VNIs this peer may send and receive; empty means every network of this device.
 */
public record PeerSpec(int device, String name, String endpoint, Encapsulation encapsulation, List<Integer> allowedVnis)
{
    public PeerSpec
    {
        allowedVnis = List.copyOf(allowedVnis);
    }
}
