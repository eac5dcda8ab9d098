package io.vsnic.orchestrator.daemon;

import static io.vsnic.orchestrator.TestDaemon.expect;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.BindException;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import com.fasterxml.jackson.databind.JsonNode;
import io.vsnic.crypto.DeviceKeys;
import io.vsnic.crypto.KeyFiles;
import io.vsnic.dataplane.buffer.Frame;
import io.vsnic.dataplane.pipeline.DataPlane;
import io.vsnic.dataplane.pipeline.MemoryPort;
import io.vsnic.dataplane.protocol.EthernetFlyweight;
import io.vsnic.dataplane.protocol.FrameBuilder;
import io.vsnic.dataplane.protocol.Ipv4Flyweight;
import io.vsnic.dataplane.status.DropReason;
import io.vsnic.orchestrator.TestDaemon;
import io.vsnic.orchestrator.Waits;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code /v1/enclaves} on a real daemon: create (validated, field-named errors), realized as its own
 * data plane and WireGuard substrate on its own port, services reachable from each other and from
 * nothing else, journaled across a restart, deleted with its socket.
 */
class EnclaveApiTest
{
    @TempDir
    Path state;

    @TempDir
    Path keys;

    private String enclave(final int port, final Path key)
    {
        return """
            {"name": "pay", "vni": 7001, "cidr": "10.77.0.0/24", "gateway": "10.77.0.1",
             "substrate": {"bindAddress": "127.0.0.1", "port": %d, "privateKeyFile": "%s", "innerAddress": "10.98.0.1"},
             "services": [{"name": "client", "ip": "10.77.0.11", "backend": {"type": "memory"}},
                          {"name": "server", "ip": "10.77.0.21", "backend": {"type": "memory"}}],
             "allow": [{"from": "client", "to": "server", "protocol": "udp", "port": 5000}]}
            """.formatted(port, key);
    }

    private static int freeUdpPort() throws Exception
    {
        try (DatagramSocket socket = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0)))
        {
            return socket.getLocalPort();
        }
    }

    private static boolean bindable(final int port) throws Exception
    {
        try (DatagramSocket socket = new DatagramSocket(new InetSocketAddress("127.0.0.1", port)))
        {
            return socket.getLocalPort() == port;
        }
        catch (final BindException ex)
        {
            return false;
        }
    }

    private static MemoryPort service(final TestDaemon daemon, final int index)
    {
        final Enclaves.Running running = daemon.daemon.controller().reconciler().enclaves().running().get("pay");
        assertNotNull(running, "enclave pay is realized");
        return (MemoryPort)running.endpoints().get(index).port();
    }

    private static DataPlane enclavePlane(final TestDaemon daemon)
    {
        return daemon.daemon.controller().reconciler().enclaves().running().get("pay").domain().dataPlane();
    }

    private static Frame udp(final DataPlane plane, final String dstMac, final String srcMac, final String src, final String dst,
        final int dstPort)
    {
        final Frame frame = plane.pool().acquire();
        final FrameBuilder builder = new FrameBuilder(frame.segment(), frame.start());
        builder.ethernet(EthernetFlyweight.parseMac(dstMac), EthernetFlyweight.parseMac(srcMac))
            .ipv4(Ipv4Flyweight.parse(src), Ipv4Flyweight.parse(dst)).udp(40000, dstPort).payload(32, 1);
        frame.length(builder.build());
        return frame;
    }

    private static void awaitTrue(final BooleanSupplier condition, final String what) throws InterruptedException
    {
        Waits.awaitTrue(condition, () -> what);
    }

    @Test
    void shouldCreateRealizeIsolateJournalAndDeleteAnEnclave() throws Exception
    {
        final Path key = keys.resolve("pay.key");
        KeyFiles.writePrivateKey(key, DeviceKeys.generate(new SecureRandom()).privateKey());
        final int port = freeUdpPort();
        final JsonNode created;
        try (TestDaemon daemon = new TestDaemon(state, true))
        {
            daemon.twoVnics();
            created = expect(201, daemon.post("/v1/enclaves", enclave(port, key))).json();
            final JsonNode listed = expect(200, daemon.get("/v1/enclaves")).json().get("items");
            assertEquals(1, listed.size());
            final JsonNode pay = expect(200, daemon.get("/v1/enclaves/pay")).json();
            final String clientMac = pay.at("/services/0/mac").asText();
            final String serverMac = pay.at("/services/1/mac").asText();
            assertTrue(clientMac.startsWith("02:"), "a derived, locally administered MAC: " + clientMac);
            assertTrue(!bindable(port), "the enclave's own WireGuard socket is bound");
            assertEquals(port, daemon.daemon.controller().reconciler().enclaves().running().get("pay").domain().substrate().wireguardPort());

            // client -> server udp/5000 is allowed; the server may not open a flow to the client
            final MemoryPort client = service(daemon, 0);
            final MemoryPort server = service(daemon, 1);
            final DataPlane plane = enclavePlane(daemon);
            for (int i = 0; i < 20; i++)
            {
                assertTrue(client.inject(udp(plane, serverMac, clientMac, "10.77.0.11", "10.77.0.21", 5000)));
            }
            int got = 0;
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (got < 20 && System.nanoTime() < deadline)
            {
                final Frame frame = server.poll();
                if (frame == null)
                {
                    Thread.sleep(1);
                    continue;
                }
                frame.release();
                got++;
            }
            assertEquals(20, got, "client to server inside the enclave");
            final long denied = plane.counters().drops(DropReason.ACL_DENY);
            assertTrue(server.inject(udp(plane, clientMac, serverMac, "10.77.0.21", "10.77.0.11", 6000)));
            awaitTrue(() -> plane.counters().drops(DropReason.ACL_DENY) == denied + 1, "acl_deny for a flow the enclave does not allow");

            // a customer VM cannot reach a service address
            final DataPlane customer = daemon.daemon.dataPlane();
            final JsonNode vm1 = daemon.get("/v1/vnics/vm1").json();
            final long isolated = customer.counters().drops(DropReason.ENCLAVE_ISOLATION);
            assertTrue(daemon.daemon.memoryPort("vm1").inject(udp(customer, serverMac, vm1.get("mac").asText(), "10.0.1.11",
                "10.77.0.21", 5000)));
            awaitTrue(() -> customer.counters().drops(DropReason.ENCLAVE_ISOLATION) == isolated + 1, "enclave_isolation at the customer");
            Thread.sleep(50);
            assertNull(server.poll(), "nothing reached the service");
            assertTrue(daemon.get("/metrics").body().contains("vsnic_resources{kind=\"enclave\"} 1"));
        }
        try (TestDaemon daemon = new TestDaemon(state, true))
        {
            final JsonNode again = expect(200, daemon.get("/v1/enclaves/pay")).json();
            assertEquals(created, again, "the enclave survives a restart (journal)");
            assertEquals(java.util.Set.of(port), daemon.daemon.substrate().avoidedSourcePorts(),
                "the device substrate's source port pool, bound before the enclave is restored, keeps off its port");
            assertEquals(port, daemon.daemon.controller().reconciler().enclaves().running().get("pay").domain().substrate().wireguardPort(),
                "and is realized again");
            expect(204, daemon.delete("/v1/enclaves/pay"));
            expect(404, daemon.get("/v1/enclaves/pay"));
            assertTrue(daemon.daemon.controller().reconciler().enclaves().running().isEmpty());
            assertTrue(bindable(port), "its socket is closed with it");
        }
    }

    @Test
    void shouldNameTheFieldOfEveryInvalidEnclave() throws Exception
    {
        final Path key = keys.resolve("pay.key");
        KeyFiles.writePrivateKey(key, DeviceKeys.generate(new SecureRandom()).privateKey());
        final int port = freeUdpPort();
        try (TestDaemon daemon = new TestDaemon(state, true))
        {
            daemon.twoVnics();
            final String good = enclave(port, key);
            TestDaemon.Response r = daemon.post("/v1/enclaves", good.replace("\"vni\": 7001", "\"vni\": 0"));
            assertEquals(400, r.status());
            assertEquals("vni", r.errorField());
            r = daemon.post("/v1/enclaves", good.replace("\"10.77.0.21\"", "\"10.78.0.21\""));
            assertEquals(422, r.status());
            assertEquals("services[1].ip", r.errorField());
            r = daemon.post("/v1/enclaves", good.replace("\"to\": \"server\"", "\"to\": \"nobody\""));
            assertEquals(422, r.status());
            assertEquals("allow[0].to", r.errorField());
            r = daemon.post("/v1/enclaves", good.replace("\"vni\": 7001", "\"vni\": 100"));
            assertEquals(409, r.status(), r.body());
            assertEquals("duplicate_vni", r.errorCode());
            r = daemon.post("/v1/enclaves", good.replace("10.77.0.", "10.0.1.").replace("10.77.0.0/24", "10.0.1.0/24"));
            assertEquals(409, r.status(), r.body());
            assertEquals("overlapping_address_space", r.errorCode());
            assertEquals("cidr", r.errorField());
            r = daemon.post("/v1/enclaves", good.replace("\"privateKeyFile\": \"" + key + "\"", "\"privateKeyFile\": \"/nonexistent/k\""));
            assertEquals(422, r.status(), r.body());
            assertEquals("substrate.privateKeyFile", r.errorField());
            r = daemon.post("/v1/enclaves", good.replace("\"port\": " + port, "\"port\": 70000"));
            assertEquals(400, r.status());
            assertEquals("substrate.port", r.errorField());
            assertEquals(0, daemon.get("/v1/enclaves").json().get("items").size(), "nothing half-created");
            assertTrue(bindable(port), "no socket left open by a refused enclave");
            // the manifest carries an enclaves section
            final TestDaemon.Response applied = daemon.post("/v1/apply", "{\"enclaves\": [" + good + "]}");
            assertEquals(200, applied.status(), applied.body());
            assertEquals(1, daemon.get("/v1/manifest").json().get("enclaves").size());
            assertTrue(!bindable(port), "the applied enclave is realized");
        }
    }

    /**
     * The device substrate draws its source ports from 49152..65535 at start; an enclave created afterwards
     * on one of them gets it: the pool moves that lane to another port first.
     */
    @Test
    void shouldTakeAPortOfTheSourcePortPoolForAnEnclaveCreatedAfterStart() throws Exception
    {
        final Path key = keys.resolve("pay.key");
        KeyFiles.writePrivateKey(key, DeviceKeys.generate(new SecureRandom()).privateKey());
        try (TestDaemon daemon = new TestDaemon(state, true))
        {
            daemon.twoVnics();
            final List<Integer> pool = daemon.daemon.substrate().sourcePorts();
            assertTrue(pool.size() > 1, "the device substrate has a source port pool: " + pool);
            final int port = pool.get(pool.size() - 1);
            final TestDaemon.Response created = daemon.post("/v1/enclaves", enclave(port, key));
            assertEquals(201, created.status(), created.body());
            assertEquals(port, daemon.daemon.controller().reconciler().enclaves().running().get("pay").domain().substrate().wireguardPort());
            final List<Integer> after = daemon.daemon.substrate().sourcePorts();
            assertEquals(pool.size(), after.size(), "the pool keeps its size: " + after);
            assertTrue(!after.contains(port), "and left the enclave's port: " + after);
            assertEquals(pool.subList(0, pool.size() - 1), after.subList(0, after.size() - 1), "the other lanes keep their ports");
        }
    }
}
