package io.vsnic.orchestrator.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.security.KeyStore;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.ratis.grpc.GrpcTlsConfig;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Raft over mutual TLS with device certificates from the cluster CA (Bouncy Castle): members with
 * certificates from the cluster's CA form the group; a member whose certificate comes from another
 * CA, and a TLS client without a certificate, are refused.
 */
class ClusterTlsTest
{
    @TempDir
    Path temp;

    private final List<ClusterNode> nodes = new ArrayList<>();

    @AfterEach
    void closeAll()
    {
        nodes.forEach(ClusterNode::close);
    }

    private ClusterNode start(final String name, final Map<String, String> peers, final GrpcTlsConfig tls) throws IOException
    {
        final ClusterNode node = new ClusterNode(new ClusterNode.Options(name, "tls", peers, temp.resolve("raft-" + name), 1000, 2000, tls),
            state -> { });
        node.start();
        nodes.add(node);
        return node;
    }

    @Test
    void shouldKeepTheCaKeyPrivateAndIssueCertificatesThatVerify() throws Exception
    {
        final ClusterCa ca = ClusterCa.create(temp.resolve("ca"), "lab");
        assertEquals(Set.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE),
            Files.getPosixFilePermissions(temp.resolve("ca").resolve(ClusterCa.CA_KEY)));
        assertThrows(IOException.class, () -> ClusterCa.create(temp.resolve("ca"), "lab"), "a second init over an existing CA");
        ca.issueInto(temp.resolve("edge-1"), "edge-1", List.of("192.0.2.7"));
        assertEquals(Set.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE),
            Files.getPosixFilePermissions(temp.resolve("edge-1").resolve(ClusterCa.DEVICE_KEY)));
        final GrpcTlsConfig tls = ClusterTls.forDevice(temp.resolve("edge-1"), "edge-1", null);
        assertNotNull(tls);
        final var cert = ClusterCa.readCertificate(temp.resolve("edge-1").resolve(ClusterCa.DEVICE_CERT));
        cert.verify(ca.certificate().getPublicKey());
        assertTrue(cert.getSubjectAlternativeNames().stream().anyMatch(n -> n.get(1).equals("192.0.2.7")));
        // a certificate for another device name is refused at start
        assertThrows(IOException.class, () -> ClusterTls.forDevice(temp.resolve("edge-1"), "edge-2", null));
        // tls: true without files is an error, not a silent plaintext start
        assertThrows(IOException.class, () -> ClusterTls.forDevice(temp.resolve("nothing"), "edge-9", true));
    }

    @Test
    void shouldFormTheGroupOverTlsAndRejectADeviceWithACertificateFromAnotherCa() throws Exception
    {
        final ClusterCa ca = ClusterCa.create(temp.resolve("ca"), "lab");
        final ClusterCa other = ClusterCa.create(temp.resolve("other-ca"), "evil");
        final Map<String, String> peers = ClusterNodeTest.peers(3);
        for (final String name : peers.keySet())
        {
            ca.issueInto(temp.resolve(name), name, List.of());
            start(name, peers, ClusterTls.forDevice(temp.resolve(name), name, true));
        }
        final ClusterNode one = nodes.get(0);
        ClusterNodeTest.await("a head", 15_000, () -> nodes.stream().anyMatch(ClusterNode::isHead));
        final JsonNode reply = one.submit(ClusterNodeTest.network(0, "blue", 100));
        assertTrue(reply.path("ok").asBoolean(), reply.toString());
        ClusterNodeTest.await("blue on all three", 5000,
            () -> nodes.stream().allMatch(n -> n.state().desired().networks().containsKey("blue")));

        // a device with a certificate from another CA, configured with the members' addresses, gets nowhere
        final Map<String, String> roguePeers = new java.util.LinkedHashMap<>(peers);
        roguePeers.put("edge-9", ClusterNodeTest.peers(1).values().iterator().next());
        other.issueInto(temp.resolve("edge-9"), "edge-9", List.of());
        final ClusterNode rogue = start("edge-9", roguePeers, ClusterTls.forDevice(temp.resolve("edge-9"), "edge-9", true));
        assertThrows(ClusterNode.NoQuorumException.class, () -> rogue.submit(ClusterNodeTest.network(1, "evil", 666)));
        assertEquals(0, rogue.state().desired().revision(), "the rogue device received no log entry");
        assertEquals(1, one.state().desired().revision(), "nothing from the rogue device was applied");
        assertTrue(nodes.stream().filter(n -> n != rogue).allMatch(n -> n.state().members().isEmpty()));

        // a TLS client that trusts the cluster CA but shows no device certificate is refused in the handshake
        final String address = peers.get(one.name());
        try
        {
            tlsHandshakeWithoutCertificate(ca, address);
        }
        finally
        {
            rogue.close();
        }
    }

    private static void tlsHandshakeWithoutCertificate(final ClusterCa ca, final String address) throws Exception
    {
        final KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        trust.setCertificateEntry("ca", ca.certificate());
        final TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        factory.init(trust);
        final SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, factory.getTrustManagers(), null);
        try (SSLSocket socket = (SSLSocket)context.getSocketFactory().createSocket("127.0.0.1",
            Integer.parseInt(address.substring(address.lastIndexOf(':') + 1))))
        {
            socket.setSoTimeout(5000);
            assertThrows(IOException.class, () ->
            {
                socket.startHandshake();
                // TLS 1.3: the server's refusal of the missing client certificate arrives with the first read
                socket.getOutputStream().write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                socket.getOutputStream().flush();
                if (socket.getInputStream().read() < 0)
                {
                    throw new IOException("closed by the server");
                }
            });
        }
    }
}
