package io.vsnic.dataplane.enclave;

/**
 * One service of an enclave: a container or namespace attached like a vNIC with the {@code service} role.
 *
 * @param name    unique in the enclave.
 * @param device  the device it runs on (0..{@link io.vsnic.dataplane.table.ForwardingState#MAX_DEVICES}-1).
 * @param portId  its port id in the enclave's data plane on that device.
 * @param mac     its MAC (low 48 bits, unicast).
 * @param address its IPv4 service address, inside the enclave's address space.
 */
public record ServiceSpec(String name, int device, int portId, long mac, String address)
{
}
