package io.vsnic.orchestrator.daemon;

import static io.vsnic.orchestrator.TestDaemon.expect;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Arrays;

import com.fasterxml.jackson.databind.JsonNode;
import io.vsnic.crypto.DeviceKeys;
import io.vsnic.crypto.wireguard.HandshakeResult;
import io.vsnic.crypto.wireguard.Peer;
import io.vsnic.crypto.wireguard.TransportCodec;
import io.vsnic.crypto.wireguard.WireguardDevice;
import io.vsnic.crypto.wireguard.WireguardMessages;
import io.vsnic.orchestrator.TestDaemon;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A daemon with an encrypted substrate: its private key file, a WireGuard peer through the API, a
 * real handshake with that peer (a WireGuard device in the test), the session in {@code GET
 * /v1/peers}, the key log, and the refusals (a key file others can read; a wireguard peer on a
 * device without an encrypted substrate is covered by {@code InvalidRequestTest}).
 */
class WireguardDaemonTest
{
    @TempDir
    Path dir;

    private DeviceConfig config(final Path keyFile, final String keylog) throws ConfigException
    {
        return DeviceConfig.parse(("""
            device: {name: wg-device, id: 1}
            api: {listen: "127.0.0.1:0"}
            substrate:
              enabled: true
              bindAddress: 127.0.0.1
              genevePort: 0
              vxlanPort: 0
              transport: nio
              wireguard: {privateKeyFile: "%s", listenPort: 0, innerAddress: 10.99.0.1%s}
            dataplane: {workers: 1, frameSlots: 1024, connectionCapacity: 4096}
            tasks: {retryInitialMs: 20, retryMaxMs: 200}
            """.formatted(keyFile, keylog == null ? "" : ", keylog: \"" + keylog + "\"")).getBytes(StandardCharsets.UTF_8));
    }

    private Path keyFile(final DeviceKeys keys, final String mode) throws Exception
    {
        final Path file = dir.resolve("device-" + mode + ".key");
        Files.writeString(file, keys.privateKeyBase64() + "\n", StandardCharsets.US_ASCII);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString(mode));
        return file;
    }

    @Test
    void shouldHandshakeWithAWireguardPeerAndShowTheSession() throws Exception
    {
        final SecureRandom random = new SecureRandom();
        final DeviceKeys deviceKeys = DeviceKeys.generate(random);
        final DeviceKeys peerKeys = DeviceKeys.generate(random);
        final Path keylog = dir.resolve("keys.log");
        try (TestDaemon daemon = new TestDaemon(dir.resolve("state"), config(keyFile(deviceKeys, "rw-------"), keylog.toString()));
             DatagramSocket peerSocket = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0)))
        {
            assertEquals(deviceKeys.publicKeyBase64(), daemon.daemon.substrate().wireguardPublicKey());
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(keylog)));
            assertTrue(Files.readString(keylog).contains("LOCAL_STATIC_PRIVATE_KEY"), "the key log has our key");

            // encryption omitted: wireguard
            final TestDaemon.Response created = daemon.post("/v1/peers", "{\"name\": \"edge-2\", \"device\": 2, \"endpoint\": " +
                "\"127.0.0.9:51820\", \"publicKey\": \"" + peerKeys.publicKeyBase64() + "\", \"innerAddress\": \"10.99.0.2\"}");
            assertEquals(201, created.status(), created.body());
            assertEquals("wireguard", created.json().get("encryption").asText());
            final JsonNode before = daemon.get("/v1/peers/edge-2").json();
            assertFalse(before.at("/session/up").asBoolean(), before.toString());
            assertTrue(before.at("/session/lastHandshakeAgoMs").isNull(), before.toString());
            // a task waits for the session: pending, looked at with backoff
            final JsonNode waiting = daemon.get("/v1/tasks").json().at("/items/0");
            assertEquals("peer-handshake", waiting.get("kind").asText(), waiting.toString());
            assertEquals("peer/edge-2", waiting.get("resource").asText());
            final String taskId = waiting.get("id").asText();
            final long waitUntil = System.nanoTime() + 10_000_000_000L;
            while (daemon.get("/v1/tasks/" + taskId).json().get("attempts").asInt() < 2 && System.nanoTime() < waitUntil)
            {
                Thread.sleep(10);
            }
            final JsonNode looked = daemon.get("/v1/tasks/" + taskId).json();
            assertTrue(looked.get("attempts").asInt() >= 2, looked.toString());
            assertTrue(looked.get("lastError").asText().contains("no WireGuard session yet"), looked.toString());

            // the peer initiates from an address that is not its configured endpoint: the daemon answers and roams
            final WireguardDevice peer = WireguardDevice.builder(peerKeys).build();
            final Peer toDevice = peer.addPeer(deviceKeys.publicKey(), null);
            final byte[] buffer = new byte[256];
            final MemorySegment segment = MemorySegment.ofArray(buffer);
            final int n = peer.createInitiation(toDevice, segment, 0, peer.nanoTime());
            final InetSocketAddress target = new InetSocketAddress("127.0.0.1", daemon.daemon.substrate().wireguardPort());
            peerSocket.setSoTimeout(10_000);
            peerSocket.send(new DatagramPacket(buffer, n, target));
            final DatagramPacket reply = new DatagramPacket(new byte[256], 256);
            peerSocket.receive(reply);
            assertEquals(WireguardMessages.RESPONSE_LENGTH, reply.getLength());
            final HandshakeResult result = new HandshakeResult();
            final byte[] response = Arrays.copyOf(reply.getData(), reply.getLength());
            assertTrue(peer.consumeHandshake(MemorySegment.ofArray(response), 0, response.length, null, peer.nanoTime(),
                MemorySegment.ofArray(new byte[128]), 0, result) >= 0, result.toString());
            assertEquals(HandshakeResult.Kind.RESPONSE_CONSUMED, result.kind());
            // the responder's session is confirmed by the initiator's first transport message: a keepalive
            final byte[] keepalive = new byte[64];
            final int k = new TransportCodec(peer, 0).seal(toDevice.current(), MemorySegment.ofArray(keepalive),
                WireguardMessages.TRANSPORT_DATA_OFFSET, 0, 0, peer.nanoTime());
            peerSocket.send(new DatagramPacket(keepalive, k, target));
            final long deadline = System.nanoTime() + 10_000_000_000L;
            while (!daemon.get("/v1/peers/edge-2").json().at("/session/up").asBoolean() && System.nanoTime() < deadline)
            {
                Thread.sleep(20);
            }

            final JsonNode after = daemon.get("/v1/peers/edge-2").json();
            assertTrue(after.at("/session/up").asBoolean(), after.toString());
            assertTrue(after.at("/session/lastHandshakeAgoMs").asLong(-1) >= 0, after.toString());
            assertEquals("127.0.0.1:" + peerSocket.getLocalPort(), after.at("/session/endpoint").asText(), after.toString());
            final JsonNode list = daemon.get("/v1/peers").json();
            assertTrue(list.at("/items/0/session/up").asBoolean(), list.toString());
            assertEquals(after.at("/session/endpoint"), list.at("/items/0/session/endpoint"));
            assertTrue(Files.readString(keylog).contains("REMOTE_STATIC_PUBLIC_KEY=" + peerKeys.publicKeyBase64()),
                "the key log names the peer");
            // the task completes with the session
            final long doneBy = System.nanoTime() + 10_000_000_000L;
            while (!daemon.get("/v1/tasks/" + taskId).json().get("state").asText().equals("succeeded") && System.nanoTime() < doneBy)
            {
                Thread.sleep(10);
            }
            final JsonNode done = daemon.get("/v1/tasks/" + taskId).json();
            assertEquals("succeeded", done.get("state").asText(), done.toString());
            assertTrue(done.get("lastError").isNull(), done.toString());
            // re-sending the same peer changes nothing, its task included
            expect(200, daemon.post("/v1/peers", "{\"name\": \"edge-2\", \"device\": 2, \"endpoint\": " +
                "\"127.0.0.9:51820\", \"publicKey\": \"" + peerKeys.publicKeyBase64() + "\", \"innerAddress\": \"10.99.0.2\"}"));
            assertEquals(1, daemon.get("/v1/tasks").json().get("items").size());
            assertEquals(done, daemon.get("/v1/tasks/" + taskId).json());
        }
    }

    @Test
    void shouldRefuseToStartWithAPrivateKeyFileOthersCanRead() throws Exception
    {
        final Path open = keyFile(DeviceKeys.generate(new SecureRandom()), "rw-r--r--");
        final Daemon.StartException error = assertThrows(Daemon.StartException.class,
            () -> Daemon.start(config(open, null), dir.resolve("state2")));
        assertTrue(error.getMessage().contains("chmod 600"), error.getMessage());
    }
}
