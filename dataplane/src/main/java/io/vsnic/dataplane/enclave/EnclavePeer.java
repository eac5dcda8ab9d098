package io.vsnic.dataplane.enclave;

/**
 * Another device's substrate for one enclave: its own WireGuard identity for that enclave (never
 * the device's customer-overlay key) and its enclave substrate endpoint.
 *
 * @param device       the device id.
 * @param name         name for counters and logs.
 * @param endpoint     "host:port" of its enclave WireGuard socket.
 * @param publicKey    its enclave WireGuard public key (base64).
 * @param innerAddress its inner substrate address inside the enclave tunnel.
 */
public record EnclavePeer(int device, String name, String endpoint, String publicKey, String innerAddress)
{
}
