package io.vsnic.orchestrator.api;

import static io.vsnic.orchestrator.TestDaemon.expect;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import io.vsnic.orchestrator.TestDaemon;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A table of invalid requests against a daemon with one network, security group, vNIC and peer:
 * each answers the expected 4xx status, error code and field, and none changes the state.
 */
class InvalidRequestTest
{
    private static TestDaemon daemon;
    private static Path state;
    private static long revision;

    private static final String NET = "\"subnets\": [{\"cidr\": \"10.0.2.0/24\", \"gateway\": \"10.0.2.1\"}]";

    /** One row: request, expected status, code and field (null: no field). */
    record Case(String name, String method, String path, String body, String contentType, String ifMatch, int status,
        String code, String field)
    {
        @Override
        public String toString()
        {
            return name;
        }
    }

    private static Case c(final String name, final String method, final String path, final String body, final int status,
        final String code, final String field)
    {
        return new Case(name, method, path, body, "application/json", null, status, code, field);
    }

    private static String vnic(final String fields)
    {
        return "{\"id\": \"vm9\", \"network\": \"blue\", \"backend\": {\"type\": \"memory\"}" + (fields.isEmpty() ? "" : ", " + fields) + "}";
    }

    private static String vnicWithBackend(final String backend)
    {
        return "{\"id\": \"vm9\", \"network\": \"blue\", \"ip\": \"10.0.1.99\", \"backend\": " + backend + "}";
    }

    private static String group(final String rule)
    {
        return "{\"name\": \"g9\", \"rules\": [" + rule + "]}";
    }

    private static String peer(final String fields)
    {
        return "{\"name\": \"p9\", \"device\": 9, \"endpoint\": \"127.0.0.9:6081\"" +
            (fields.contains("\"encryption\"") ? "" : ", \"encryption\": \"none\"") + (fields.isEmpty() ? "" : ", " + fields) + "}";
    }

    private static final String KEY = java.util.Base64.getEncoder().encodeToString(new byte[32]).replace('A', 'k');

    private static String peerRaw(final String fields)
    {
        return "{\"name\": \"p9\", " + fields + "}";
    }

    static List<Case> cases()
    {
        final List<Case> cases = new ArrayList<>();
        // syntax
        cases.add(c("truncated JSON", "POST", "/v1/networks", "{\"name\": ", 400, "malformed_json", null));
        cases.add(c("empty body", "POST", "/v1/networks", "", 400, "malformed_json", null));
        cases.add(c("array instead of object", "POST", "/v1/networks", "[]", 400, "malformed_json", null));
        cases.add(c("trailing garbage", "POST", "/v1/networks", "{\"name\": \"x\"} {}", 400, "malformed_json", null));
        cases.add(new Case("not JSON content type", "POST", "/v1/networks", "name=x", "text/plain", null, 415, "unsupported_media_type", null));
        cases.add(c("body over 1 MiB", "POST", "/v1/networks", "{\"name\": \"" + "x".repeat((1 << 20) + 10) + "\"}", 413,
            "payload_too_large", null));
        // networks
        cases.add(c("unknown field", "POST", "/v1/networks", "{\"name\": \"g\", \"vni\": 5, " + NET + ", \"colour\": \"red\"}", 400,
            "invalid_field", "colour"));
        cases.add(c("missing vni", "POST", "/v1/networks", "{\"name\": \"g\", " + NET + "}", 400, "missing_field", "vni"));
        cases.add(c("vni out of range", "POST", "/v1/networks", "{\"name\": \"g\", \"vni\": 16777216, " + NET + "}", 400,
            "invalid_field", "vni"));
        cases.add(c("vni not a number", "POST", "/v1/networks", "{\"name\": \"g\", \"vni\": \"abc\", " + NET + "}", 400,
            "invalid_field", "vni"));
        cases.add(c("bad name", "POST", "/v1/networks", "{\"name\": \"bad name!\", \"vni\": 5, " + NET + "}", 400,
            "invalid_field", "name"));
        cases.add(c("mtu too small", "POST", "/v1/networks", "{\"name\": \"g\", \"vni\": 5, \"mtu\": 100, " + NET + "}", 400,
            "invalid_field", "mtu"));
        cases.add(c("no subnets", "POST", "/v1/networks", "{\"name\": \"g\", \"vni\": 5, \"subnets\": []}", 400,
            "missing_field", "subnets"));
        cases.add(c("host bits in cidr", "POST", "/v1/networks",
            "{\"name\": \"g\", \"vni\": 5, \"subnets\": [{\"cidr\": \"10.0.2.1/24\", \"gateway\": \"10.0.2.1\"}]}", 400,
            "invalid_field", "subnets[0].cidr"));
        cases.add(c("prefix length 33", "POST", "/v1/networks",
            "{\"name\": \"g\", \"vni\": 5, \"subnets\": [{\"cidr\": \"10.0.2.0/33\", \"gateway\": \"10.0.2.1\"}]}", 400,
            "invalid_field", "subnets[0].cidr"));
        cases.add(c("gateway outside subnet", "POST", "/v1/networks",
            "{\"name\": \"g\", \"vni\": 5, \"subnets\": [{\"cidr\": \"10.0.2.0/24\", \"gateway\": \"10.0.3.1\"}]}", 422,
            "outside_subnet", "subnets[0].gateway"));
        cases.add(c("overlapping subnets", "POST", "/v1/networks",
            "{\"name\": \"g\", \"vni\": 5, \"subnets\": [{\"cidr\": \"10.0.0.0/16\", \"gateway\": \"10.0.0.1\"}, " +
                "{\"cidr\": \"10.0.2.0/24\", \"gateway\": \"10.0.2.1\"}]}", 422, "overlapping_subnets", "subnets[1].cidr"));
        cases.add(c("duplicate VNI", "POST", "/v1/networks", "{\"name\": \"green\", \"vni\": 100, " + NET + "}", 409,
            "duplicate_vni", "vni"));
        cases.add(c("existing name, other body", "POST", "/v1/networks", "{\"name\": \"blue\", \"vni\": 101, " + NET + "}", 409,
            "already_exists", "name"));
        cases.add(c("unknown route target type", "POST", "/v1/networks", "{\"name\": \"g\", \"vni\": 5, " + NET +
            ", \"routes\": [{\"prefix\": \"0.0.0.0/0\", \"target\": {\"type\": \"teleport\"}}]}", 400, "invalid_field",
            "routes[0].target.type"));
        cases.add(c("route to unknown vnic", "POST", "/v1/networks", "{\"name\": \"g\", \"vni\": 5, " + NET +
            ", \"routes\": [{\"prefix\": \"0.0.0.0/0\", \"target\": {\"type\": \"port\", \"vnic\": \"nope\"}}]}", 422,
            "unknown_reference", "routes[0].target.vnic"));
        cases.add(c("route to a vnic of another network", "POST", "/v1/networks", "{\"name\": \"g\", \"vni\": 5, " + NET +
            ", \"routes\": [{\"prefix\": \"0.0.0.0/0\", \"target\": {\"type\": \"port\", \"vnic\": \"vm1\"}}]}", 422,
            "unknown_reference", "routes[0].target.vnic"));
        cases.add(c("duplicate route prefix", "POST", "/v1/networks", "{\"name\": \"g\", \"vni\": 5, " + NET +
            ", \"routes\": [{\"prefix\": \"0.0.0.0/0\", \"target\": {\"type\": \"blackhole\"}}, " +
            "{\"prefix\": \"0.0.0.0/0\", \"target\": {\"type\": \"reject\"}}]}", 409, "duplicate_route", "routes[1].prefix"));
        // after good routes (their target already checked once): the bad one is still named by its index
        cases.add(c("bad prefix after good routes", "POST", "/v1/networks", "{\"name\": \"g\", \"vni\": 5, " + NET +
            ", \"routes\": [{\"prefix\": \"10.9.0.0/16\", \"target\": {\"type\": \"reject\"}}, " +
            "{\"prefix\": \"10.8.0.0/16\", \"target\": {\"type\": \"reject\"}}, " +
            "{\"prefix\": \"10.7.0.1/16\", \"target\": {\"type\": \"reject\"}}]}", 400, "invalid_field", "routes[2].prefix"));
        cases.add(c("bad device after good routes", "POST", "/v1/networks", "{\"name\": \"g\", \"vni\": 5, " + NET +
            ", \"routes\": [{\"prefix\": \"10.9.0.0/16\", \"target\": {\"type\": \"device\", \"device\": 3}}, " +
            "{\"prefix\": \"10.8.0.0/16\", \"target\": {\"type\": \"device\", \"device\": -3}}]}", 400, "invalid_field",
            "routes[1].target.device"));
        cases.add(c("ecmp member not port/device", "POST", "/v1/networks", "{\"name\": \"g\", \"vni\": 5, " + NET +
            ", \"routes\": [{\"prefix\": \"0.0.0.0/0\", \"target\": {\"type\": \"ecmp\", \"members\": [{\"type\": \"blackhole\"}]}}]}",
            400, "invalid_field", "routes[0].target.members[0].type"));
        cases.add(c("remote with bad MAC", "POST", "/v1/networks", "{\"name\": \"g\", \"vni\": 5, " + NET +
            ", \"remotes\": [{\"ip\": \"10.0.2.9\", \"mac\": \"02:00:zz:00:00:01\", \"device\": 2}]}", 400, "invalid_field",
            "remotes[0].mac"));
        cases.add(c("remote with multicast MAC", "POST", "/v1/networks", "{\"name\": \"g\", \"vni\": 5, " + NET +
            ", \"remotes\": [{\"ip\": \"10.0.2.9\", \"mac\": \"01:00:5e:00:00:01\", \"device\": 2}]}", 400, "invalid_field",
            "remotes[0].mac"));
        cases.add(c("remote outside subnets", "POST", "/v1/networks", "{\"name\": \"g\", \"vni\": 5, " + NET +
            ", \"remotes\": [{\"ip\": \"10.9.9.9\", \"mac\": \"02:00:00:00:00:99\", \"device\": 2}]}", 422, "outside_subnet",
            "remotes[0].ip"));
        // vnics
        cases.add(c("vnic in unknown network", "POST", "/v1/vnics",
            "{\"id\": \"vm9\", \"network\": \"nope\", \"backend\": {\"type\": \"memory\"}}", 422, "unknown_reference", "network"));
        cases.add(c("vnic with unknown security group", "POST", "/v1/vnics", vnic("\"securityGroups\": [\"nope\"]"), 422,
            "unknown_reference", "securityGroups[0]"));
        cases.add(c("vnic IP outside subnet", "POST", "/v1/vnics", vnic("\"ip\": \"10.0.9.9\""), 422, "outside_subnet", "ip"));
        cases.add(c("vnic IP taken", "POST", "/v1/vnics", vnic("\"ip\": \"10.0.1.11\""), 409, "duplicate_ip", "ip"));
        cases.add(c("vnic IP is the gateway", "POST", "/v1/vnics", vnic("\"ip\": \"10.0.1.1\""), 409, "duplicate_ip", "ip"));
        cases.add(c("vnic MAC taken", "POST", "/v1/vnics", vnic("\"mac\": \"02:00:00:00:00:11\""), 409, "duplicate_mac", "mac"));
        cases.add(c("vnic IPv4 in ipv6", "POST", "/v1/vnics", vnic("\"ipv6\": \"10.0.1.50\""), 400, "invalid_field", "ipv6"));
        cases.add(c("vnic malformed IP", "POST", "/v1/vnics", vnic("\"ip\": \"10.0.1.256\""), 400, "invalid_field", "ip"));
        cases.add(c("vnic without backend", "POST", "/v1/vnics", "{\"id\": \"vm9\", \"network\": \"blue\"}", 400, "missing_field",
            "backend"));
        cases.add(c("vnic with unknown backend type", "POST", "/v1/vnics", vnicWithBackend("{\"type\": \"floppy\"}"), 400,
            "invalid_field", "backend.type"));
        cases.add(c("vnic with tap backend without a name", "POST", "/v1/vnics", vnicWithBackend("{\"type\": \"tap\"}"), 400,
            "invalid_field", "backend.name"));
        cases.add(c("vnic with tap name too long for an interface", "POST", "/v1/vnics",
            vnicWithBackend("{\"type\": \"tap\", \"name\": \"a-very-long-tap-name\"}"), 400, "invalid_field", "backend.name"));
        cases.add(c("vnic with qemu-stream backend without a path", "POST", "/v1/vnics",
            vnicWithBackend("{\"type\": \"qemu-stream\"}"), 400, "invalid_field", "backend.path"));
        cases.add(c("vnic with qemu-stream mode neither listen nor connect", "POST", "/v1/vnics",
            vnicWithBackend("{\"type\": \"qemu-stream\", \"path\": \"/tmp/x.sock\", \"mode\": \"server\"}"), 400, "invalid_field",
            "backend.mode"));
        cases.add(c("vnic with tap create neither on nor off", "POST", "/v1/vnics",
            vnicWithBackend("{\"type\": \"tap\", \"name\": \"t0\", \"create\": \"maybe\"}"), 400, "invalid_field", "backend.create"));
        // a failure time cannot cure refuses the write (nothing pending): a socket path that is a directory
        cases.add(c("vnic whose qemu-stream path is a directory", "POST", "/v1/vnics",
            vnicWithBackend("{\"type\": \"qemu-stream\", \"path\": \"/tmp\"}"), 422, "backend_failed", null));
        cases.add(c("memory backend with unknown option", "POST", "/v1/vnics", vnicWithBackend("{\"type\": \"memory\", \"color\": 1}"),
            400, "invalid_field", "backend.color"));
        cases.add(c("memory backend queue too small", "POST", "/v1/vnics",
            vnicWithBackend("{\"type\": \"memory\", \"queueFrames\": 3}"), 400, "invalid_field", "backend.queueFrames"));
        cases.add(c("vnic with a nested backend option", "POST", "/v1/vnics",
            vnicWithBackend("{\"type\": \"memory\", \"queueFrames\": {\"a\": 1}}"), 400, "invalid_field", "backend.queueFrames"));
        // security groups
        cases.add(c("rule direction", "POST", "/v1/security-groups", group("{\"direction\": \"sideways\", \"cidr\": \"0.0.0.0/0\"}"),
            400, "invalid_field", "rules[0].direction"));
        cases.add(c("ports on icmp", "POST", "/v1/security-groups",
            group("{\"direction\": \"ingress\", \"protocol\": \"icmp\", \"ports\": \"80\", \"cidr\": \"0.0.0.0/0\"}"), 400,
            "invalid_field", "rules[0].ports"));
        cases.add(c("port range reversed", "POST", "/v1/security-groups",
            group("{\"direction\": \"ingress\", \"protocol\": \"tcp\", \"ports\": \"80-70\", \"cidr\": \"0.0.0.0/0\"}"), 400,
            "invalid_field", "rules[0].ports"));
        cases.add(c("rule without cidr", "POST", "/v1/security-groups", group("{\"direction\": \"ingress\"}"), 400, "missing_field",
            "rules[0].cidr"));
        cases.add(c("unknown protocol", "POST", "/v1/security-groups",
            group("{\"direction\": \"ingress\", \"protocol\": \"foo\", \"cidr\": \"0.0.0.0/0\"}"), 400, "invalid_field",
            "rules[0].protocol"));
        cases.add(c("icmp with an IPv6 prefix", "POST", "/v1/security-groups",
            group("{\"direction\": \"ingress\", \"protocol\": \"icmp\", \"cidr\": \"::/0\"}"), 400, "invalid_field", "rules[0].cidr"));
        // peers
        cases.add(c("wireguard without a public key", "POST", "/v1/peers",
            peer("\"encryption\": \"wireguard\", \"innerAddress\": \"10.99.0.9\""), 400, "missing_field", "publicKey"));
        cases.add(c("encryption omitted means wireguard, which needs a key", "POST", "/v1/peers",
            peerRaw("\"device\": 9, \"endpoint\": \"127.0.0.9:51820\""), 400, "missing_field", "publicKey"));
        cases.add(c("wireguard without an inner address", "POST", "/v1/peers",
            peer("\"encryption\": \"wireguard\", \"publicKey\": \"" + KEY + "\""), 400, "missing_field", "innerAddress"));
        cases.add(c("wireguard inner address is a name", "POST", "/v1/peers",
            peer("\"encryption\": \"wireguard\", \"publicKey\": \"" + KEY + "\", \"innerAddress\": \"edge.example\""), 400,
            "invalid_field", "innerAddress"));
        cases.add(c("wireguard on a device without an encrypted substrate", "POST", "/v1/peers",
            peer("\"encryption\": \"wireguard\", \"publicKey\": \"" + KEY + "\", \"innerAddress\": \"10.99.0.9\""), 422,
            "not_available", "encryption"));
        cases.add(c("inner address with encryption none", "POST", "/v1/peers", peer("\"innerAddress\": \"10.99.0.9\""), 400,
            "invalid_field", "innerAddress"));
        cases.add(c("public key not base64", "POST", "/v1/peers", peer("\"publicKey\": \"!!!\""), 400, "invalid_field", "publicKey"));
        cases.add(c("public key of 16 bytes", "POST", "/v1/peers", peer("\"publicKey\": \"AAAAAAAAAAAAAAAAAAAAAA==\""), 400,
            "invalid_field", "publicKey"));
        cases.add(c("endpoint is a host name", "POST", "/v1/peers",
            peerRaw("\"device\": 9, \"endpoint\": \"edge.example:6081\""), 400, "invalid_field", "endpoint"));
        cases.add(c("peer with this device's id", "POST", "/v1/peers", peerRaw("\"device\": 1, \"endpoint\": \"127.0.0.9:6081\""),
            422, "invalid_config", "device"));
        cases.add(c("duplicate peer device", "POST", "/v1/peers", peerRaw("\"device\": 2, \"endpoint\": \"127.0.0.9:6081\", \"encryption\": \"none\""), 409,
            "duplicate_device", "device"));
        cases.add(c("duplicate peer endpoint", "POST", "/v1/peers", peerRaw("\"device\": 9, \"endpoint\": \"127.0.0.2:6081\", \"encryption\": \"none\""), 409,
            "duplicate_endpoint", "endpoint"));
        cases.add(c("unknown encapsulation", "POST", "/v1/peers", peer("\"encapsulation\": \"gre\""), 400, "invalid_field",
            "encapsulation"));
        cases.add(c("remote checksum over vxlan (it is a Geneve option)", "POST", "/v1/peers",
            peer("\"encapsulation\": \"vxlan\", \"remoteChecksum\": true"), 400, "invalid_field", "remoteChecksum"));
        cases.add(c("remote checksum not a boolean", "POST", "/v1/peers", peer("\"remoteChecksum\": \"maybe\""), 400,
            "invalid_field", "remoteChecksum"));
        // references, versions, routes
        cases.add(c("delete a network with vnics", "DELETE", "/v1/networks/blue", null, 409, "in_use", null));
        cases.add(c("delete a security group in use", "DELETE", "/v1/security-groups/web", null, 409, "in_use", null));
        cases.add(c("unknown network", "GET", "/v1/networks/nope", null, 404, "not_found", null));
        cases.add(c("detach unknown vnic", "DELETE", "/v1/vnics/nope", null, 404, "not_found", null));
        cases.add(c("body names another resource", "PUT", "/v1/networks/blue", "{\"name\": \"red\", \"vni\": 100, " + NET + "}", 400,
            "invalid_field", "name"));
        cases.add(new Case("stale If-Match", "PUT", "/v1/networks/blue", "{\"vni\": 100, " + NET + "}", "application/json", "\"999\"",
            412, "precondition_failed", null));
        cases.add(new Case("If-Match on a missing resource", "DELETE", "/v1/peers/nope", null, null, "\"1\"", 404, "not_found", null));
        cases.add(c("delete route without prefix", "DELETE", "/v1/networks/blue/routes", null, 400, "missing_field", "prefix"));
        cases.add(c("delete route that does not exist", "DELETE", "/v1/networks/blue/routes?prefix=10.99.0.0/16", null, 404,
            "not_found", null));
        cases.add(c("route list without items", "PUT", "/v1/networks/blue/routes", "[{\"prefix\": \"0.0.0.0/0\"}]", 400,
            "invalid_field", "items"));
        cases.add(c("route with a bad prefix", "POST", "/v1/networks/blue/routes",
            "{\"prefix\": \"0.0.0.0/0/1\", \"target\": {\"type\": \"blackhole\"}}", 400, "invalid_field", "prefix"));
        // one route added checks that route alone, and the whole state's references
        cases.add(c("added route to an unknown vnic", "POST", "/v1/networks/blue/routes",
            "{\"prefix\": \"10.99.0.0/16\", \"target\": {\"type\": \"port\", \"vnic\": \"nope\"}}", 422, "unknown_reference",
            "routes[0].target.vnic")); // its place in the network's list
        cases.add(c("added route with an ecmp member of a bad type", "POST", "/v1/networks/blue/routes",
            "{\"prefix\": \"10.99.0.0/16\", \"target\": {\"type\": \"ecmp\", \"members\": [{\"type\": \"reject\"}]}}", 400,
            "invalid_field", "target.members[0].type"));
        cases.add(c("routes of unknown network", "POST", "/v1/networks/nope/routes",
            "{\"prefix\": \"0.0.0.0/0\", \"target\": {\"type\": \"blackhole\"}}", 404, "not_found", null));
        // apply
        cases.add(c("apply with a bad flag", "POST", "/v1/apply?dryRun=maybe", "{}", 400, "invalid_field", "dryRun"));
        cases.add(c("apply for another device", "POST", "/v1/apply", "{\"device\": {\"name\": \"other\"}}", 422, "wrong_device",
            "device.name"));
        cases.add(c("apply with a name twice", "POST", "/v1/apply", "{\"networks\": [{\"name\": \"g\", \"vni\": 5, " + NET + "}, " +
            "{\"name\": \"g\", \"vni\": 6, " + NET + "}]}", 409, "duplicate_name", "networks[1].name"));
        cases.add(c("apply with an invalid vnic", "POST", "/v1/apply",
            "{\"vnics\": [{\"id\": \"vm9\", \"network\": \"blue\", \"ip\": \"10.0.1.11\", \"backend\": {\"type\": \"memory\"}}]}", 409,
            "duplicate_ip", "vnics[0].ip"));
        // methods and routes
        cases.add(c("PATCH is not a method here", "PATCH", "/v1/networks/blue", "{}", 405, "method_not_allowed", null));
        cases.add(c("undocumented route", "GET", "/v1/nothing", null, 404, "not_found", null));
        return cases;
    }

    @BeforeAll
    static void start() throws Exception
    {
        state = Files.createTempDirectory("vsnic-invalid");
        daemon = new TestDaemon(state);
        expect(200, daemon.post("/v1/apply", """
            {"networks": [{"name": "blue", "vni": 100, "subnets": [{"cidr": "10.0.1.0/24", "gateway": "10.0.1.1"}]},
                          {"name": "red", "vni": 200, "subnets": [{"cidr": "10.0.2.0/24", "gateway": "10.0.2.1"}]}],
             "securityGroups": [{"name": "web", "rules": [{"direction": "ingress", "protocol": "tcp", "ports": "80", "cidr": "0.0.0.0/0"}]}],
             "vnics": [{"id": "vm1", "network": "blue", "ip": "10.0.1.11", "mac": "02:00:00:00:00:11", "securityGroups": ["web"],
                        "backend": {"type": "memory"}}],
             "peers": [{"name": "edge-2", "device": 2, "endpoint": "127.0.0.2:6081", "encryption": "none"}]}
            """));
        revision = daemon.get("/v1/status").json().get("revision").asLong();
    }

    @AfterAll
    static void stop()
    {
        daemon.close();
    }

    @Test
    void shouldHaveAtLeastThirtyCases()
    {
        assertTrue(cases().size() >= 30, "cases: " + cases().size());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void shouldRefuseInvalidRequest(final Case c)
    {
        final List<String> headers = new ArrayList<>();
        if (c.contentType() != null && c.body() != null)
        {
            headers.add("Content-Type");
            headers.add(c.contentType());
        }
        if (c.ifMatch() != null)
        {
            headers.add("If-Match");
            headers.add(c.ifMatch());
        }
        final TestDaemon.Response response = daemon.request(c.method(), c.path(), c.body(), headers.toArray(String[]::new));
        assertEquals(c.status(), response.status(), () -> c.name() + ": " + response.body());
        assertEquals(c.code(), response.errorCode(), () -> c.name() + ": " + response.body());
        assertEquals(c.field(), response.errorField(), () -> c.name() + ": " + response.body());
        assertTrue(response.json().get("error").get("message").asText().length() > 5, "a message for a person");
        assertEquals(revision, daemon.get("/v1/status").json().get("revision").asLong(), "nothing changed");
    }
}
