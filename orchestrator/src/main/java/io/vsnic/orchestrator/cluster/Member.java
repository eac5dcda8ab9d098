package io.vsnic.orchestrator.cluster;

/**
 * One device of the cluster, as the replicated state records it.
 *
 * @param name      device name (also its Raft peer id).
 * @param id        device id on the substrate (0..4095): remotes and peers refer to it.
 * @param raft      its Raft address host:port.
 * @param api       its REST API address host:port (where writes are forwarded when it is the head).
 * @param substrate    its substrate endpoint host:port: its WireGuard socket when it has an encrypted substrate,
 *                     else its Geneve socket; null when it has no substrate.
 * @param publicKey    its WireGuard public key (base64), or null without an encrypted substrate.
 * @param innerAddress its inner substrate address (the source of its overlay packets inside WireGuard), or null.
 */
public record Member(String name, Integer id, String raft, String api, String substrate, String publicKey, String innerAddress)
{
}
