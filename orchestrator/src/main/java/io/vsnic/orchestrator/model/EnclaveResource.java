package io.vsnic.orchestrator.model;

import java.util.List;

/**
 * A service enclave: {@code /v1/enclaves/{name}}. A set of services that talk only to each other, on
 * a substrate of their own (see docs/enclaves.md).
 *
 * @param name      unique name (1..63 of [A-Za-z0-9._-]).
 * @param vni       the enclave overlay's VNI (1..16777215), unique among networks and enclaves.
 * @param cidr      its IPv4 address space; must not overlap a network's subnet or another enclave's.
 * @param gateway   the gateway address inside {@code cidr}.
 * @param substrate its own substrate socket and WireGuard identity.
 * @param services  its services, each attached like a vNIC with the {@code service} role.
 * @param peers     the other devices running services of this enclave, with their enclave identities.
 * @param allow     null or absent: every service may talk to every other; else only these pairs (stateful).
 * @param version   server-assigned.
 */
public record EnclaveResource(
    String name, Integer vni, String cidr, String gateway, Substrate substrate, List<Service> services, List<Peer> peers,
    List<Flow> allow, Long version) implements Resource<EnclaveResource>
{
    public EnclaveResource
    {
        services = services == null ? null : List.copyOf(services);
        peers = peers == null ? null : List.copyOf(peers);
        allow = allow == null ? null : List.copyOf(allow);
    }

    /**
     * The enclave's own substrate on this device.
     *
     * @param bindAddress    the address its WireGuard socket binds (default: the device substrate's).
     * @param port           its UDP port (1..65535; distinct from the customer substrate's ports).
     * @param privateKeyFile the file holding its own WireGuard private key (never the device's customer key).
     * @param innerAddress   its inner address inside the enclave tunnels.
     */
    public record Substrate(String bindAddress, Integer port, String privateKeyFile, String innerAddress)
    {
    }

    /**
     * One service, attached like a vNIC with the {@code service} role.
     *
     * @param name    unique in the enclave.
     * @param device  the device it runs on (its name; absent: this device).
     * @param mac     its MAC (derived from the name when absent).
     * @param ip      its IPv4 service address inside {@code cidr}.
     * @param backend memory | tap | qemu-stream | qemu-dgram, as for vNICs.
     */
    public record Service(String name, String device, String mac, String ip, Backend backend)
    {
    }

    /**
     * Another device's enclave substrate.
     *
     * @param name         peer name.
     * @param device       its device id.
     * @param endpoint     its enclave WireGuard endpoint "host:port".
     * @param publicKey    its enclave WireGuard public key (base64).
     * @param innerAddress its inner address inside the enclave tunnels.
     */
    public record Peer(String name, Integer device, String endpoint, String publicKey, String innerAddress)
    {
    }

    /**
     * An allowed service pair.
     *
     * @param from     client service.
     * @param to       server service.
     * @param protocol tcp | udp | icmp | any.
     * @param port     destination port on {@code to} (tcp/udp; absent for the others).
     */
    public record Flow(String from, String to, String protocol, Integer port)
    {
    }

    @Override
    public String key()
    {
        return name;
    }

    @Override
    public EnclaveResource withVersion(final Long next)
    {
        return new EnclaveResource(name, vni, cidr, gateway, substrate, services, peers, allow, next);
    }
}
