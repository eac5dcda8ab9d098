package io.vsnic.orchestrator.cluster;

/**
 * One device of the cluster, as the replicated state records it.
 *
 * @param name      device name (also its Raft peer id).
 * @param id        device id on the substrate (0..4095): remotes and peers refer to it.
 * @param raft      its Raft address host:port.
 * @param api       its REST API address host:port (where writes are forwarded when it is the head).
 * @param substrate its substrate endpoint host:port (Geneve), or null when it has no substrate.
 * @param publicKey its WireGuard public key (base64), or null.
 */
public record Member(String name, Integer id, String raft, String api, String substrate, String publicKey)
{
}
