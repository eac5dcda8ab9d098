package io.vsnic.orchestrator.daemon;

import static io.vsnic.orchestrator.TestDaemon.expect;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import io.vsnic.orchestrator.TestDaemon;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Restart from the same state directory: the journal is replayed, the desired state is what it was,
 * and the data plane forwards between the memory vNICs as before. A corrupt journal tail is cut off
 * and reported, and the daemon starts with every intact entry.
 */
class RestartTest
{
    @TempDir
    Path state;

    @Test
    void shouldRestoreEverythingAndForwardAfterRestart() throws Exception
    {
        final JsonNode manifest;
        final JsonNode vm1;
        try (TestDaemon daemon = new TestDaemon(state, true))
        {
            daemon.twoVnics();
            expect(201, daemon.post("/v1/peers", "{\"name\": \"edge-2\", \"device\": 2, \"endpoint\": \"127.0.0.2:6081\", \"encryption\": \"none\"}"));
            expect(201, daemon.post("/v1/networks/blue/routes", "{\"prefix\": \"0.0.0.0/0\", \"target\": {\"type\": \"device\", \"device\": 2}}"));
            expect(201, daemon.post("/v1/networks/blue/remotes", "{\"ip\": \"10.0.1.50\", \"mac\": \"02:00:00:00:0b:01\", \"device\": 2}"));
            daemon.assertForwards("vm1", "vm2", 20);
            manifest = daemon.get("/v1/manifest").json();
            vm1 = daemon.get("/v1/vnics/vm1").json();
        }
        try (TestDaemon daemon = new TestDaemon(state, true))
        {
            assertEquals(manifest, daemon.get("/v1/manifest").json(), "the same desired state, versions and ports included");
            final JsonNode status = daemon.get("/v1/status").json();
            assertEquals(4, status.get("revision").asLong(), "one apply, a peer, a route, a remote");
            assertTrue(status.at("/journal/corruptTail").isNull());
            assertEquals(vm1.get("port"), daemon.get("/v1/vnics/vm1").json().get("port"));
            daemon.assertForwards("vm1", "vm2", 20);
            daemon.assertForwards("vm2", "vm1", 20);
            assertEquals(20, daemon.get("/v1/vnics/vm2").json().at("/counters/txPackets").asLong(),
                "counters start again with the process");
            // and it keeps accepting changes after the restart
            expect(201, daemon.post("/v1/networks", "{\"name\": \"red\", \"vni\": 200, \"subnets\": [{\"cidr\": \"10.0.2.0/24\", \"gateway\": \"10.0.2.1\"}]}"));
        }
        try (TestDaemon daemon = new TestDaemon(state, true))
        {
            assertEquals(5, daemon.get("/v1/status").json().get("revision").asLong());
            expect(200, daemon.get("/v1/networks/red"));
        }
    }

    @Test
    void shouldRefuseASecondDaemonOnTheSameStateDirectory() throws Exception
    {
        try (TestDaemon daemon = new TestDaemon(state))
        {
            final Daemon.StartException ex = org.junit.jupiter.api.Assertions.assertThrows(Daemon.StartException.class,
                () -> Daemon.start(TestDaemon.config(false), state));
            assertTrue(ex.getMessage().contains("in use by another vsnicd"), ex.getMessage());
            expect(200, daemon.get("/v1/status"));
        }
    }

    private Path queueFile() throws Exception
    {
        try (Stream<Path> files = Files.walk(state.resolve("journal")))
        {
            return files.filter(p -> p.toString().endsWith(".cq4")).findFirst().orElseThrow();
        }
    }

    private static long dataEnd(final Path file) throws Exception
    {
        final byte[] bytes = Files.readAllBytes(file);
        int end = bytes.length;
        while (end > 0 && bytes[end - 1] == 0)
        {
            end--;
        }
        return end;
    }

    @Test
    void shouldStartWithEveryIntactEntryWhenTheJournalTailIsGarbled() throws Exception
    {
        try (TestDaemon daemon = new TestDaemon(state))
        {
            for (int i = 0; i < 10; i++)
            {
                expect(201, daemon.post("/v1/networks", "{\"name\": \"net-" + i + "\", \"vni\": " + (100 + i) +
                    ", \"subnets\": [{\"cidr\": \"10.0." + i + ".0/24\", \"gateway\": \"10.0." + i + ".1\"}]}"));
            }
        }
        final Path file = queueFile();
        final long end = dataEnd(file);
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw"))
        {
            raf.seek(end - 40);
            raf.write("GARBAGE!GARBAGE!".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        }
        try (TestDaemon daemon = new TestDaemon(state))
        {
            final JsonNode status = daemon.get("/v1/status").json();
            assertTrue(status.at("/journal/corruptTail").asText().contains("checksum"), status.toString());
            assertNotNull(status.at("/journal/quarantined").asText(null));
            assertEquals(9, status.get("revision").asLong(), "every intact entry");
            assertEquals(9, daemon.get("/v1/networks").json().get("items").size());
            expect(404, daemon.get("/v1/networks/net-9"));
            assertTrue(daemon.get("/metrics").body().contains("vsnic_journal_corrupt_tail 1"));
            // new writes go to a fresh generation
            expect(201, daemon.post("/v1/networks", "{\"name\": \"net-9\", \"vni\": 109, \"subnets\": [{\"cidr\": \"10.0.9.0/24\", \"gateway\": \"10.0.9.1\"}]}"));
        }
        try (TestDaemon daemon = new TestDaemon(state))
        {
            final JsonNode status = daemon.get("/v1/status").json();
            assertTrue(status.at("/journal/corruptTail").isNull(), status.toString());
            assertEquals(10, daemon.get("/v1/networks").json().get("items").size());
        }
        try (Stream<Path> files = Files.list(state.resolve("journal")))
        {
            assertTrue(files.anyMatch(p -> p.getFileName().toString().contains(".corrupt-")), "the damaged generation is kept aside");
        }
    }

    @Test
    void shouldStartWithEveryIntactEntryWhenTheJournalIsTruncated() throws Exception
    {
        try (TestDaemon daemon = new TestDaemon(state))
        {
            for (int i = 0; i < 5; i++)
            {
                expect(201, daemon.post("/v1/security-groups", "{\"name\": \"g" + i + "\"}"));
            }
        }
        final Path file = queueFile();
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw"))
        {
            raf.setLength(dataEnd(file) - 30);
        }
        try (TestDaemon daemon = new TestDaemon(state))
        {
            final JsonNode status = daemon.get("/v1/status").json();
            assertTrue(!status.at("/journal/corruptTail").isNull(), status.toString());
            assertEquals(4, status.get("revision").asLong());
            assertEquals(4, daemon.get("/v1/security-groups").json().get("items").size());
        }
    }
}
