package io.vsnic.orchestrator.cluster;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.GeneralSecurityException;
import java.security.KeyPair;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vsnic.orchestrator.daemon.DeviceConfig;
import io.vsnic.orchestrator.model.Json;

/**
 * The joining device's side of {@code POST /v1/cluster/join}, without the HTTP: {@link #prepare} makes
 * the device's key pair (the private key never leaves the device) and the request body, {@link #complete}
 * checks the head's answer and stores the certificates and the {@code cluster:} section. Used by
 * {@code vsnic cluster join} and by the lab's cluster mode, each with its own HTTP client.
 */
public final class ClusterJoin
{
    private final KeyPair pair;
    private final ObjectNode request;
    private final String raft;

    private ClusterJoin(final KeyPair pair, final ObjectNode request, final String raft)
    {
        this.pair = pair;
        this.request = request;
        this.raft = raft;
    }

    /**
     * @param device the joining device's configuration.
     * @param raft   its Raft address {@code host:port}.
     * @param token  the join token from the CA holder.
     * @throws IOException when the state directory already holds a cluster identity.
     */
    public static ClusterJoin prepare(final DeviceConfig device, final String raft, final String token, final Path stateDir)
        throws IOException, GeneralSecurityException
    {
        final Path directory = stateDir.resolve("cluster");
        if (Files.exists(directory.resolve(ClusterCa.DEVICE_KEY)))
        {
            throw new IOException(directory.resolve(ClusterCa.DEVICE_KEY) + " exists: this device already has a cluster identity");
        }
        final KeyPair pair = ClusterCa.keyPair();
        final ObjectNode request = Json.mapper().createObjectNode().put("token", token).put("device", device.device().name())
            .put("id", device.device().id()).put("raft", raft).put("publicKey", ClusterCa.pem(pair.getPublic()));
        return new ClusterJoin(pair, request, raft);
    }

    /** @return the body of {@code POST /v1/cluster/join}. */
    public ObjectNode request()
    {
        return request;
    }

    /**
     * Checks that the certificate in the head's answer is signed by the CA certificate in it, stores both
     * and the device key in {@code STATE_DIR/cluster}, and writes the {@code cluster:} section (voters,
     * {@code join: true}) into the configuration file; the previous file is kept as {@code FILE.bak}.
     *
     * @return the cluster's name.
     */
    public String complete(final JsonNode reply, final Path config, final Path stateDir) throws IOException, GeneralSecurityException
    {
        final JsonNode tree = Json.yaml().readTree(Files.readAllBytes(config));
        if (!(tree instanceof ObjectNode) || !reply.path("certificate").isTextual() || !reply.path("caCertificate").isTextual())
        {
            throw new IOException("the head's answer has no certificate and CA certificate, or " + config + " is not a YAML mapping");
        }
        ClusterCa.readCertificateText(reply.get("certificate").asText()).verify(
            ClusterCa.readCertificateText(reply.get("caCertificate").asText()).getPublicKey());
        ClusterCa.store(stateDir.resolve("cluster"), pair.getPrivate(), reply.get("certificate").asText(),
            reply.get("caCertificate").asText());
        final ObjectNode cluster = Json.mapper().createObjectNode();
        cluster.put("name", reply.at("/cluster/name").asText());
        cluster.put("raft", raft);
        cluster.set("peers", reply.at("/cluster/peers"));
        cluster.put("join", true);
        final ObjectNode updated = ((ObjectNode)tree).deepCopy();
        updated.set("cluster", cluster);
        Files.copy(config, config.resolveSibling(config.getFileName() + ".bak"), StandardCopyOption.REPLACE_EXISTING);
        Files.writeString(config, Json.yaml().writeValueAsString(updated));
        return reply.at("/cluster/name").asText();
    }
}
