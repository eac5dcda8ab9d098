package io.vsnic.orchestrator.api;

import static io.vsnic.orchestrator.TestDaemon.expect;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.nio.file.Path;

import com.fasterxml.jackson.databind.JsonNode;
import io.vsnic.orchestrator.TestDaemon;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Idempotent writes (a repeated POST/PUT changes nothing: same status family, no new revision, no
 * journal entry) and optimistic concurrency with versions, ETag and If-Match.
 */
class WriteSemanticsTest
{
    @TempDir
    Path state;

    private TestDaemon daemon;

    private static final String BLUE = """
        {"name": "blue", "vni": 100, "subnets": [{"cidr": "10.0.1.0/24", "gateway": "10.0.1.1"}]}""";

    @BeforeEach
    void start() throws Exception
    {
        daemon = new TestDaemon(state);
    }

    @AfterEach
    void stop()
    {
        daemon.close();
    }

    private long revision()
    {
        return daemon.get("/v1/status").json().get("revision").asLong();
    }

    private long journalEntries()
    {
        return daemon.get("/v1/status").json().at("/journal/entriesInGeneration").asLong();
    }

    @Test
    void shouldNotChangeAnythingWhenAPostIsRepeatedWithTheSameBody()
    {
        final JsonNode created = expect(201, daemon.post("/v1/networks", BLUE)).json();
        assertEquals(1, created.get("version").asLong());
        assertEquals(1500, created.get("mtu").asInt(), "defaults are filled in");
        final long entries = journalEntries();
        for (int i = 0; i < 3; i++)
        {
            final TestDaemon.Response again = expect(200, daemon.post("/v1/networks", BLUE));
            assertEquals(created, again.json());
            assertEquals("\"1\"", again.header("ETag"));
        }
        assertEquals(1, revision());
        assertEquals(entries, journalEntries(), "no journal entry for a repeated write");
        // the same resource written with its defaults spelled out is the same resource
        expect(200, daemon.post("/v1/networks", """
            {"name": "blue", "vni": 100, "mtu": 1500, "routes": [], "remotes": [],
             "subnets": [{"cidr": "10.0.1.0/24", "gateway": "10.0.1.1"}]}"""));
        assertEquals(1, revision());
    }

    @Test
    void shouldNotChangeAnythingWhenVnicAttachIsRepeated()
    {
        expect(201, daemon.post("/v1/networks", BLUE));
        final String vnic = """
            {"id": "vm1", "network": "blue", "ip": "10.0.1.11", "backend": {"type": "memory"}}""";
        final JsonNode first = expect(201, daemon.post("/v1/vnics", vnic)).json();
        final JsonNode second = expect(200, daemon.post("/v1/vnics", vnic)).json();
        assertEquals(first.get("mac"), second.get("mac"), "the generated MAC is stable");
        assertEquals(first.get("port"), second.get("port"));
        assertEquals(first.get("version"), second.get("version"));
        // PUT of the same spec through the other route is also a no-op
        expect(200, daemon.put("/v1/vnics/vm1", """
            {"network": "blue", "ip": "10.0.1.11", "backend": {"type": "memory"}}"""));
        assertEquals(2, revision());
    }

    @Test
    void shouldBumpTheVersionOnlyWhenTheResourceChanges()
    {
        expect(201, daemon.post("/v1/networks", BLUE));
        final JsonNode updated = expect(200, daemon.put("/v1/networks/blue", """
            {"vni": 100, "mtu": 1400, "subnets": [{"cidr": "10.0.1.0/24", "gateway": "10.0.1.1"}]}""")).json();
        assertEquals(2, updated.get("version").asLong());
        assertEquals(1400, updated.get("mtu").asInt());
        expect(201, daemon.put("/v1/networks/red", """
            {"vni": 200, "subnets": [{"cidr": "10.0.2.0/24", "gateway": "10.0.2.1"}]}"""));
        assertEquals(2, daemon.get("/v1/networks/blue").json().get("version").asLong(), "other resources keep their version");
        assertEquals(3, revision());
    }

    @Test
    void shouldHonourIfMatchOnPutAndDelete()
    {
        expect(201, daemon.post("/v1/networks", BLUE));
        final String etag = daemon.get("/v1/networks/blue").header("ETag");
        assertEquals("\"1\"", etag);
        final String change = """
            {"vni": 100, "mtu": 9000, "subnets": [{"cidr": "10.0.1.0/24", "gateway": "10.0.1.1"}]}""";
        // a writer with the current version wins, one with the old version loses
        final TestDaemon.Response first = expect(200, daemon.put("/v1/networks/blue", change, "If-Match", etag));
        assertEquals("\"2\"", first.header("ETag"));
        final TestDaemon.Response lost = expect(412, daemon.put("/v1/networks/blue", BLUE, "If-Match", etag));
        assertEquals("precondition_failed", lost.errorCode());
        assertEquals(9000, daemon.get("/v1/networks/blue").json().get("mtu").asInt(), "the lost update did not apply");
        expect(200, daemon.put("/v1/networks/blue", change, "If-Match", "*"));
        expect(200, daemon.put("/v1/networks/blue", change, "If-Match", "W/\"2\""));
        expect(412, daemon.delete("/v1/networks/blue", "If-Match", "\"1\""));
        expect(204, daemon.delete("/v1/networks/blue", "If-Match", "\"2\""));
        expect(404, daemon.get("/v1/networks/blue"));
        expect(404, daemon.delete("/v1/networks/blue"));
    }

    @Test
    void shouldHonourIfMatchOnRoutesWithTheNetworkVersion()
    {
        expect(201, daemon.post("/v1/networks", BLUE));
        final String route = """
            {"prefix": "10.8.0.0/16", "target": {"type": "blackhole"}}""";
        final TestDaemon.Response added = expect(201, daemon.request("POST", "/v1/networks/blue/routes", route,
            "Content-Type", "application/json", "If-Match", "\"1\""));
        assertEquals("\"2\"", added.header("ETag"), "a route change moves the network's version");
        expect(200, daemon.post("/v1/networks/blue/routes", route));
        assertEquals(2, revision(), "adding the same route again changes nothing");
        final TestDaemon.Response conflict = expect(409, daemon.post("/v1/networks/blue/routes", """
            {"prefix": "10.8.0.0/16", "target": {"type": "reject"}}"""));
        assertEquals("duplicate_route", conflict.errorCode());
        expect(412, daemon.delete("/v1/networks/blue/routes?prefix=10.8.0.0/16", "If-Match", "\"1\""));
        expect(204, daemon.delete("/v1/networks/blue/routes?prefix=10.8.0.0%2F16", "If-Match", "\"2\""));
        assertEquals(0, daemon.get("/v1/networks/blue/routes").json().get("items").size());
    }

    @Test
    void shouldKeepAVnicPortWhileItExistsAndApplyChangesInPlace()
    {
        expect(201, daemon.post("/v1/networks", BLUE));
        expect(201, daemon.post("/v1/security-groups", """
            {"name": "web", "rules": [{"direction": "ingress", "protocol": "tcp", "ports": "80", "cidr": "0.0.0.0/0"}]}"""));
        final JsonNode vm1 = expect(201, daemon.post("/v1/vnics", """
            {"id": "vm1", "network": "blue", "ip": "10.0.1.11", "backend": {"type": "memory"}}""")).json();
        final JsonNode vm2 = expect(201, daemon.post("/v1/vnics", """
            {"id": "vm2", "network": "blue", "ip": "10.0.1.12", "backend": {"type": "memory"}}""")).json();
        assertNotEquals(vm1.get("port"), vm2.get("port"));
        final JsonNode moved = expect(200, daemon.put("/v1/vnics/vm1", """
            {"network": "blue", "ip": "10.0.1.21", "securityGroups": ["web"], "backend": {"type": "memory"}}""")).json();
        assertEquals(vm1.get("port"), moved.get("port"), "the port stays with the vNIC");
        assertEquals(vm1.get("mac"), moved.get("mac"));
        expect(409, daemon.delete("/v1/security-groups/web"));
        expect(204, daemon.delete("/v1/vnics/vm1"));
        assertFalse(daemon.get("/v1/topology").json().get("vnics").toString().contains("vm1"));
        expect(204, daemon.delete("/v1/security-groups/web"));
    }
}
