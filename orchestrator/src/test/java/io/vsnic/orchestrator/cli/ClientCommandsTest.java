package io.vsnic.orchestrator.cli;

import static io.vsnic.orchestrator.TestDaemon.expect;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import com.fasterxml.jackson.databind.JsonNode;
import io.vsnic.orchestrator.TestDaemon;
import io.vsnic.orchestrator.model.Json;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code vsnic apply/get/describe/attach/detach/status} against an in-process daemon: the plan,
 * dry runs that change nothing, applying twice changes nothing, pruning, outputs and errors.
 */
class ClientCommandsTest
{
    @TempDir
    Path dir;

    private TestDaemon daemon;

    private static final String MANIFEST = """
        device: {name: test-device}
        networks:
          - name: blue
            vni: 100
            subnets: [{cidr: 10.0.1.0/24, gateway: 10.0.1.1}]
            routes: [{prefix: 0.0.0.0/0, target: {type: device, device: 2}}]
            remotes: [{ip: 10.0.1.50, mac: "02:00:00:00:0b:01", device: 2}]
        securityGroups:
          - name: web
            rules: [{direction: ingress, protocol: tcp, ports: "80", cidr: 0.0.0.0/0}]
        vnics:
          - {id: vm1, network: blue, ip: 10.0.1.11, securityGroups: [web], backend: {type: memory}}
          - {id: vm2, network: blue, ip: 10.0.1.12, backend: {type: memory}}
        peers:
          - {name: edge-2, device: 2, endpoint: "127.0.0.2:6081", encryption: none}
        """;

    /** Exit code and output of one command. */
    record Run(int exit, String out, String err)
    {
    }

    @BeforeEach
    void start() throws Exception
    {
        // an encrypted substrate, so that the documented manifest's wireguard peer is accepted
        final Path key = dir.resolve("device.key");
        java.nio.file.Files.writeString(key, io.vsnic.crypto.DeviceKeys.generate(new java.security.SecureRandom()).privateKeyBase64());
        java.nio.file.Files.setPosixFilePermissions(key, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        daemon = new TestDaemon(dir.resolve("state"), io.vsnic.orchestrator.daemon.DeviceConfig.parse(("""
            device: {name: test-device, id: 1}
            api: {listen: "127.0.0.1:0"}
            substrate: {enabled: true, bindAddress: 127.0.0.1, genevePort: 0, vxlanPort: 0, transport: nio,
                        wireguard: {privateKeyFile: "%s", listenPort: 0, innerAddress: 10.99.0.1}}
            dataplane: {workers: 1, frameSlots: 1024, connectionCapacity: 4096}
            """.formatted(key)).getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    }

    @AfterEach
    void stop()
    {
        daemon.close();
    }

    private Run vsnic(final String... args)
    {
        final StringWriter out = new StringWriter();
        final StringWriter err = new StringWriter();
        final CommandLine cli = VsnicCli.commandLine();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        final String[] all = new String[args.length + 2];
        System.arraycopy(args, 0, all, 0, args.length);
        all[args.length] = "--api";
        all[args.length + 1] = daemon.base();
        final int exit = cli.execute(all);
        return new Run(exit, out.toString(), err.toString());
    }

    private Path manifest(final String name, final String text) throws Exception
    {
        final Path file = dir.resolve(name);
        Files.createDirectories(file.getParent());
        Files.writeString(file, text);
        return file;
    }

    private long revision()
    {
        return daemon.get("/v1/status").json().get("revision").asLong();
    }

    @Test
    void shouldPrintThePlanOnADryRunAndChangeNothing() throws Exception
    {
        final Run run = vsnic("apply", "-f", manifest("m.yaml", MANIFEST).toString(), "--dry-run");
        assertEquals(0, run.exit(), run.err());
        assertTrue(run.out().contains("+ network blue"), run.out());
        assertTrue(run.out().contains("+ vnic vm1"), run.out());
        assertTrue(run.out().contains("+ peer edge-2"), run.out());
        assertTrue(run.out().contains("Plan: 5 to create, 0 to update, 0 to delete, 0 unchanged."), run.out());
        assertTrue(run.out().contains("Dry run"), run.out());
        assertEquals(0, revision());
        assertEquals(0, daemon.get("/v1/networks").json().get("items").size());
    }

    @Test
    void shouldConvergeOnceAndChangeNothingTheSecondTime() throws Exception
    {
        final Path file = manifest("m.yaml", MANIFEST);
        final Run first = vsnic("apply", "-f", file.toString());
        assertEquals(0, first.exit(), first.err());
        assertTrue(first.out().contains("Applied: revision 1."), first.out());
        final JsonNode state = daemon.get("/v1/manifest").json();
        assertEquals(2, state.get("vnics").size());

        final Run second = vsnic("apply", "-f", file.toString());
        assertEquals(0, second.exit(), second.err());
        assertTrue(second.out().contains("Plan: 0 to create, 0 to update, 0 to delete, 5 unchanged."), second.out());
        assertTrue(second.out().contains("No changes"), second.out());
        assertEquals(1, revision());
        assertEquals(state, daemon.get("/v1/manifest").json(), "applying twice changes nothing");

        // the same manifest as JSON is the same desired state
        final Path json = manifest("m.json", Json.mapper().writeValueAsString(Json.yaml().readTree(MANIFEST)));
        assertTrue(vsnic("apply", "-f", json.toString()).out().contains("No changes"));

        final Run update = vsnic("apply", "-f", manifest("m2.yaml", MANIFEST.replace("vni: 100", "vni: 100\n    mtu: 1400")).toString());
        assertTrue(update.out().contains("~ network blue"), update.out());
        assertTrue(update.out().contains("Plan: 0 to create, 1 to update, 0 to delete, 4 unchanged."), update.out());
        assertEquals(2, revision());
    }

    @Test
    void shouldDeleteWhatTheManifestDoesNotListOnlyWithPrune() throws Exception
    {
        vsnic("apply", "-f", manifest("m.yaml", MANIFEST).toString());
        final String withoutPeer = MANIFEST.substring(0, MANIFEST.indexOf("peers:"));
        final Path file = manifest("m3.yaml", withoutPeer);
        final Run keep = vsnic("apply", "-f", file.toString());
        assertTrue(keep.out().contains("No changes"), keep.out());
        expect(200, daemon.get("/v1/peers/edge-2"));
        final Run dry = vsnic("apply", "-f", file.toString(), "--prune", "--dry-run");
        assertTrue(dry.out().contains("- peer edge-2"), dry.out());
        expect(200, daemon.get("/v1/peers/edge-2"));
        final Run prune = vsnic("apply", "-f", file.toString(), "--prune");
        assertTrue(prune.out().contains("Plan: 0 to create, 0 to update, 1 to delete, 4 unchanged."), prune.out());
        expect(404, daemon.get("/v1/peers/edge-2"));
    }

    @Test
    void shouldReportAnInvalidManifestAndChangeNothing() throws Exception
    {
        final Run run = vsnic("apply", "-f", manifest("bad.yaml", MANIFEST.replace("ip: 10.0.1.12", "ip: 10.0.1.11")).toString());
        assertEquals(1, run.exit());
        assertTrue(run.err().contains("409 duplicate_ip"), run.err());
        assertTrue(run.err().contains("vnics[1].ip"), run.err());
        assertEquals(0, revision(), "all or nothing");
        final Run missing = vsnic("apply", "-f", dir.resolve("nope.yaml").toString());
        assertEquals(2, missing.exit());
        assertTrue(missing.err().contains("no such file"), missing.err());
        final Run notManifest = vsnic("apply", "-f", manifest("list.yaml", "- a\n- b\n").toString());
        assertEquals(2, notManifest.exit());
    }

    @Test
    void shouldApplyAManifestWithIncludedProfiles() throws Exception
    {
        manifest("profiles/common.yaml", """
            networks:
              - {name: blue, vni: 100, subnets: [{cidr: 10.0.1.0/24, gateway: 10.0.1.1}]}
            securityGroups:
              - {name: web, rules: [{direction: ingress, protocol: tcp, ports: "80", cidr: 0.0.0.0/0}]}
            """);
        final Path top = manifest("edge.yaml", """
            include: [profiles/common.yaml]
            device: {name: test-device}
            vnics:
              - {id: vm1, network: blue, ip: 10.0.1.11, securityGroups: [web], backend: {type: memory}}
            """);
        final Run run = vsnic("apply", "-f", top.toString());
        assertEquals(0, run.exit(), run.err());
        assertTrue(run.out().contains("Plan: 3 to create"), run.out());
        assertEquals(1, daemon.get("/v1/networks").json().get("items").size());
        assertEquals(0, vsnic("apply", "-f", top.toString()).exit());
        assertEquals(1, revision(), "applying the composed manifest twice changes nothing");

        final Run broken = vsnic("apply", "-f", manifest("broken.yaml", "include: [profiles/missing.yaml]\n").toString());
        assertEquals(2, broken.exit());
        assertTrue(broken.err().contains("no such file: " + dir.resolve("profiles/missing.yaml")), broken.err());
    }

    @Test
    void shouldListDescribeAttachAndDetach() throws Exception
    {
        vsnic("apply", "-f", manifest("m.yaml", MANIFEST).toString());
        final Run table = vsnic("get", "vnics");
        assertEquals(0, table.exit(), table.err());
        assertTrue(table.out().startsWith("ID "), table.out());
        assertTrue(table.out().contains("vm1") && table.out().contains("10.0.1.11") && table.out().contains("memory"), table.out());
        final JsonNode networks = Json.mapper().readTree(vsnic("get", "networks", "-o", "json").out());
        assertEquals("blue", networks.get(0).get("name").asText());
        final JsonNode peers = Json.yaml().readTree(vsnic("get", "peers", "-o", "yaml").out());
        assertEquals("edge-2", peers.get(0).get("name").asText());
        assertTrue(vsnic("get", "security-groups").out().contains("web"));
        assertTrue(vsnic("get", "routes", "-n", "blue").out().contains("0.0.0.0/0"));
        assertTrue(vsnic("get", "remotes", "-n", "blue").out().contains("10.0.1.50"));
        final Run enclaves = vsnic("get", "enclaves");
        assertEquals(0, enclaves.exit(), enclaves.err());
        assertTrue(enclaves.out().startsWith("NAME ") && enclaves.out().contains("SERVICES"), enclaves.out());
        final Run noTasks = vsnic("get", "tasks");
        assertEquals(0, noTasks.exit(), noTasks.err());
        assertEquals(1, noTasks.out().lines().count(), "memory vNICs attach at once: no task; " + noTasks.out());
        assertEquals(2, vsnic("get", "jobs").exit(), "unknown kind");

        final Run describe = vsnic("describe", "vnic", "vm1");
        assertEquals(0, describe.exit(), describe.err());
        final JsonNode vm1 = Json.yaml().readTree(describe.out());
        assertEquals("10.0.1.11", vm1.get("ip").asText());
        assertTrue(vm1.get("status").get("attached").asBoolean());
        assertEquals(0, vm1.get("counters").get("rxPackets").asLong());

        final Run attach = vsnic("attach", "vm3", "--network", "blue", "--ip", "10.0.1.13", "-g", "web");
        assertEquals(0, attach.exit(), attach.err());
        assertTrue(attach.out().contains("vnic vm3 attached"), attach.out());
        assertEquals(0, vsnic("attach", "vm3", "--network", "blue", "--ip", "10.0.1.13", "-g", "web").exit(), "idempotent");
        final Run tap = vsnic("attach", "vm4", "--network", "blue", "--backend", "tap", "--backend-opt", "name=not/a/name");
        assertEquals(1, tap.exit());
        assertTrue(tap.err().contains("backend.name"), tap.err());
        assertEquals(0, vsnic("detach", "vm3").exit());
        final Run again = vsnic("detach", "vm3");
        assertEquals(1, again.exit());
        assertTrue(again.err().contains("404 not_found"), again.err());

        final Run status = vsnic("status");
        assertEquals(0, status.exit(), status.err());
        assertTrue(status.out().contains("test-device") && status.out().contains("revision 3"), status.out());
    }

    @Test
    void shouldAttachAPendingVnicAndShowItsTask() throws Exception
    {
        vsnic("apply", "-f", manifest("m.yaml", MANIFEST).toString());
        final Path socket = dir.resolve("qemu-vm5.sock");
        final Run attach = vsnic("attach", "vm5", "--network", "blue", "--ip", "10.0.1.15", "--backend", "qemu-stream",
            "--backend-opt", "mode=connect", "--backend-opt", "path=" + socket);
        assertEquals(0, attach.exit(), attach.err());
        assertTrue(attach.out().contains("vnic vm5 accepted, pending: nothing listens on " + socket), attach.out());
        final Run table = vsnic("get", "tasks");
        assertEquals(0, table.exit(), table.err());
        assertTrue(table.out().startsWith("ID ") && table.out().contains("ATTEMPTS"), table.out());
        assertTrue(table.out().contains("vnic-attach") && table.out().contains("vnic/vm5"), table.out());
        final JsonNode json = Json.mapper().readTree(vsnic("get", "tasks", "-o", "json").out());
        final JsonNode vm5 = java.util.stream.StreamSupport.stream(json.spliterator(), false)
            .filter(t -> t.get("resource").asText().equals("vnic/vm5")).findFirst().orElseThrow();
        assertTrue(vm5.get("state").asText().matches("pending|running"), vm5.toString());
        assertTrue(vm5.get("attempts").asInt() >= 1, vm5.toString());
        assertEquals(vm5.get("id").asText(), Json.yaml().readTree(vsnic("get", "tasks", "-o", "yaml").out()).get(0).get("id").asText());
        final Run vnics = vsnic("get", "vnics");
        assertTrue(vnics.out().contains("STATE") && vnics.out().contains("pending"), vnics.out());
        assertEquals(0, vsnic("detach", "vm5").exit());
        final JsonNode after = daemon.get("/v1/tasks/" + vm5.get("id").asText()).json();
        assertEquals("cancelled", after.get("state").asText(), after.toString());
    }

    @Test
    void shouldSayWhenTheDaemonCannotBeReached() throws Exception
    {
        final StringWriter err = new StringWriter();
        final CommandLine cli = VsnicCli.commandLine();
        cli.setErr(new PrintWriter(err, true));
        cli.setOut(new PrintWriter(new StringWriter(), true));
        final int port;
        try (java.net.ServerSocket socket = new java.net.ServerSocket(0))
        {
            port = socket.getLocalPort();
        }
        assertEquals(1, cli.execute("status", "--api", "http://127.0.0.1:" + port));
        assertTrue(err.toString().contains("cannot reach the daemon"), err.toString());
        for (final String bad : new String[] {"127.0.0.1:" + port, "ftp://127.0.0.1:" + port, "http:// space", "http:///v1"})
        {
            err.getBuffer().setLength(0);
            assertEquals(1, cli.execute("status", "--api", bad), bad);
            assertTrue(err.toString().startsWith("vsnic status: not an API URL: " + bad + " (expected http://HOST:PORT"), err.toString());
        }
    }

    @Test
    void shouldShowPinnedWorkersInTheStatus()
    {
        final com.fasterxml.jackson.databind.node.ArrayNode cpus = Json.mapper().createArrayNode();
        assertEquals("", ClientCommands.pinning(cpus));
        cpus.addNull();
        assertEquals("", ClientCommands.pinning(cpus), "none pinned");
        cpus.add(3);
        assertEquals(" (on CPUs -,3)", ClientCommands.pinning(cpus));
        final Run status = vsnic("status");
        assertEquals(0, status.exit(), status.err());
        assertTrue(status.out().contains(" workers, "), "unpinned by default: " + status.out());
        assertTrue(daemon.get("/v1/status").json().at("/dataplane/workerCpus").isNull());
    }

    @Test
    void shouldAcceptTheDocumentedExamples() throws Exception
    {
        final Path root = Path.of(System.getProperty("vsnic.repo.root", ".."));
        io.vsnic.orchestrator.daemon.DeviceConfig.load(root.resolve("docs/examples/device.yaml"));
        final Run run = vsnic("apply", "-f", root.resolve("docs/examples/manifest.yaml").toString());
        assertEquals(0, run.exit(), run.err());
        assertTrue(run.out().contains("Plan: 6 to create"), run.out());
        final Run peers = vsnic("get", "peers");
        assertTrue(peers.out().contains("SESSION") && peers.out().contains("down") && peers.out().contains("unencrypted"), peers.out());
        assertTrue(vsnic("apply", "-f", root.resolve("docs/examples/manifest.yaml").toString()).out().contains("No changes"));
    }
}
