package io.vsnic.orchestrator.cluster;

import static io.vsnic.orchestrator.TestDaemon.expect;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import io.vsnic.orchestrator.TestDaemon;
import io.vsnic.orchestrator.cli.VsnicCli;
import io.vsnic.orchestrator.daemon.DeviceConfig;
import io.vsnic.orchestrator.model.Json;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The cluster life cycle through the CLI: {@code cluster init} on the first device (CA, key 0600),
 * {@code cluster token} there, {@code cluster join} on a second device (single-use token, certificates,
 * configuration), the joined daemons becoming voters over TLS, {@code cluster status}, losing the
 * first device (head and CA holder), and {@code cluster remove} of it.
 */
class ClusterCliTest
{
    @TempDir
    Path temp;

    private final List<TestDaemon> daemons = new ArrayList<>();

    @AfterEach
    void stop()
    {
        daemons.forEach(TestDaemon::close);
    }

    private record Run(int exit, String out, String err)
    {
    }

    private static Run cli(final String... args)
    {
        final StringWriter out = new StringWriter();
        final StringWriter err = new StringWriter();
        final CommandLine line = VsnicCli.commandLine();
        line.setOut(new PrintWriter(out));
        line.setErr(new PrintWriter(err));
        final int exit = line.execute(args);
        return new Run(exit, out.toString(), err.toString());
    }

    private Path config(final String name, final int id, final String raft) throws Exception
    {
        return config(name, id, raft, "none");
    }

    private Path config(final String name, final int id, final String raft, final String auth) throws Exception
    {
        final Path file = temp.resolve(name + ".yaml");
        Files.writeString(file, """
            device: {name: %s, id: %d}
            api: {listen: "127.0.0.1:0", auth: %s}
            substrate: {enabled: true, bindAddress: 127.0.0.%d, genevePort: 0, vxlanPort: 0, transport: nio}
            dataplane: {workers: 1, frameSlots: 1024, connectionCapacity: 4096}
            cluster: {name: lab, raft: "%s", requestTimeoutMs: 3000}
            """.formatted(name, id, auth, id, raft));
        return file;
    }

    private TestDaemon startHead(final Path config, final Path state) throws Exception
    {
        final TestDaemon daemon = new TestDaemon(state, DeviceConfig.load(config));
        daemons.add(daemon);
        ClusterNodeTest.await(daemon.daemon.cluster().name() + " head of its cluster", 15_000, () -> daemon.daemon.cluster().isHead());
        return daemon;
    }

    @Test
    void shouldKeepJoinTokensAcrossARestartOfTheCaHolderSingleUseAndExpiring() throws Exception
    {
        final var ports = ClusterNodeTest.peers(3);
        final Path config1 = config("edge-1", 1, ports.get("edge-1"));
        final Path state1 = temp.resolve("state-1");
        assertEquals(0, cli("cluster", "init", "--config", config1.toString(), "--state-dir", state1.toString()).exit());
        TestDaemon one = startHead(config1, state1);
        final Run lasting = cli("cluster", "token", "--api", one.base());
        final Run brief = cli("cluster", "token", "--api", one.base(), "--ttl", "1");
        assertEquals(0, lasting.exit(), lasting.err());
        assertEquals(0, brief.exit(), brief.err());
        final Path file = state1.resolve("cluster").resolve(JoinTokens.FILE);
        assertEquals(Set.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE), Files.getPosixFilePermissions(file));
        final String text = Files.readString(file);
        assertEquals(2, text.lines().count(), text);
        assertTrue(!text.contains(lasting.out().trim()) && !text.contains(brief.out().trim()), "only hashes are stored: " + text);

        // the CA holder restarts: the tokens it issued are still valid
        one.close();
        daemons.remove(one);
        one = startHead(config1, state1);
        final Path config2 = config("edge-2", 2, ports.get("edge-2"));
        final Run join = cli("cluster", "join", "--token", lasting.out().trim(), "--config", config2.toString(), "--state-dir",
            temp.resolve("state-2").toString(), one.base());
        assertEquals(0, join.exit(), join.err());

        // used stays used across another restart; the one-second token has expired (wait it out, then restart)
        final long expired = System.currentTimeMillis() + 1_100;
        ClusterNodeTest.await("the brief token's lifetime over", 5_000, () -> System.currentTimeMillis() > expired);
        one.close();
        daemons.remove(one);
        one = startHead(config1, state1);
        final Path config3 = config("edge-3", 3, ports.get("edge-3"));
        for (final String token : List.of(lasting.out().trim(), brief.out().trim()))
        {
            final Run refused = cli("cluster", "join", "--token", token, "--config", config3.toString(), "--state-dir",
                temp.resolve("state-3").toString(), one.base());
            assertEquals(1, refused.exit(), refused.out());
            assertTrue(refused.err().contains("403 invalid_token"), refused.err());
        }
        assertEquals("", Files.readString(file).strip(), "the used and the expired token are gone from the file");

        // a file others can read is refused, not trusted
        Files.setPosixFilePermissions(file, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
        one.close();
        daemons.remove(one);
        one = startHead(config1, state1);
        final Run unreadable = cli("cluster", "token", "--api", one.base());
        assertEquals(1, unreadable.exit());
        assertTrue(unreadable.err().contains("join_tokens_unreadable") && unreadable.err().contains("0600"), unreadable.err());
    }

    @Test
    void shouldJoinAndReportThroughApisThatRequireAToken() throws Exception
    {
        final Path state1 = temp.resolve("state-1");
        final String apiToken = state1.resolve(io.vsnic.orchestrator.api.ApiAuth.TOKEN_FILE).toString();
        joinAndReportThroughAuthenticatedApis("token", "http", new String[] {"--token-file", apiToken}, new String[0], state2 ->
        {
            // both devices' APIs accept the same bearer token (the operator gives edge-2 the same api.token)
            Files.createDirectories(state2);
            Files.copy(Path.of(apiToken), state2.resolve(io.vsnic.orchestrator.api.ApiAuth.TOKEN_FILE),
                java.nio.file.StandardCopyOption.COPY_ATTRIBUTES);
        });
    }

    @Test
    void shouldJoinAndReportThroughMutualTlsApis() throws Exception
    {
        // one API CA for both devices (vsnic certs): a server certificate for 127.0.0.1, a client certificate "ops"
        final Path apiState = temp.resolve("api-ca");
        for (final String[] certs : new String[][] {{"certs", "init", "--state-dir", apiState.toString()},
            {"certs", "issue", "ops", "--state-dir", apiState.toString()}})
        {
            final Run run = cli(certs);
            assertEquals(0, run.exit(), run.err());
        }
        final Path tls = apiState.resolve("api-tls");
        final String auth = "mtls, tls: {cert: \"%s\", key: \"%s\", clientCa: \"%s\"}".formatted(tls.resolve("server.crt"),
            tls.resolve("server.key"), tls.resolve("ca.crt"));
        final String[] trustOnly = {"--cacert", tls.resolve("ca.crt").toString()};
        joinAndReportThroughAuthenticatedApis(auth, "https", new String[] {"--cacert", tls.resolve("ca.crt").toString(), "--cert",
            tls.resolve("clients/ops.crt").toString(), "--key", tls.resolve("clients/ops.key").toString()}, trustOnly, state2 -> { });
    }

    @FunctionalInterface
    private interface Prepare
    {
        void accept(Path stateDirectory) throws Exception;
    }

    /**
     * Two devices whose APIs require authentication: {@code cluster token}, {@code join} and {@code status}
     * refused (401) without the credentials and working with them; status reaches every member with them.
     *
     * @param anonymous the options of a client without credentials (for TLS: only the CA, so it gets as far as the 401).
     */
    private void joinAndReportThroughAuthenticatedApis(final String auth, final String scheme, final String[] credentials,
        final String[] anonymous, final Prepare prepareSecond) throws Exception
    {
        final var ports = ClusterNodeTest.peers(2);
        final Path config1 = config("edge-1", 1, ports.get("edge-1"), auth);
        final Path state1 = temp.resolve("state-1");
        assertEquals(0, cli("cluster", "init", "--config", config1.toString(), "--state-dir", state1.toString()).exit());
        final TestDaemon one = startHead(config1, state1);
        final String base1 = scheme + "://127.0.0.1:" + one.daemon.apiAddress().getPort();

        final Run refusedToken = cli(with(anonymous, "cluster", "token", "--api", base1));
        assertEquals(1, refusedToken.exit());
        assertTrue(refusedToken.err().contains("401"), refusedToken.err());
        final Run token = cli(with(credentials, "cluster", "token", "--api", base1));
        assertEquals(0, token.exit(), token.err());

        final Path config2 = config("edge-2", 2, ports.get("edge-2"), auth);
        final Path state2 = temp.resolve("state-2");
        final Run refused = cli(with(anonymous, "cluster", "join", "--token", token.out().trim(), "--config", config2.toString(),
            "--state-dir", state2.toString(), base1));
        assertEquals(1, refused.exit());
        assertTrue(refused.err().contains("401"), "no API credentials: " + refused.err());
        assertTrue(!Files.exists(state2.resolve("cluster/device.key")), "nothing stored after a refusal");
        final Run join = cli(with(credentials, "cluster", "join", "--token", token.out().trim(), "--config", config2.toString(),
            "--state-dir", state2.toString(), base1));
        assertEquals(0, join.exit(), join.err());

        prepareSecond.accept(state2);
        final TestDaemon two = new TestDaemon(state2, DeviceConfig.load(config2));
        daemons.add(two);
        ClusterNodeTest.await("edge-2 a member", 20_000, () -> one.daemon.cluster().state().members().size() == 2 &&
            two.daemon.cluster().state().members().size() == 2);

        final String base2 = scheme + "://127.0.0.1:" + two.daemon.apiAddress().getPort();
        final Run status = cli(with(credentials, "cluster", "status", "--api", base2, "-o", "json"));
        assertEquals(0, status.exit(), status.err());
        final JsonNode view = Json.mapper().readTree(status.out());
        assertEquals("edge-1", view.get("head").asText());
        assertEquals(2, view.get("devices").size());
        for (final JsonNode device : view.get("devices"))
        {
            assertTrue(!device.has("unreachable") && device.get("appliedIndex").asLong() > 0, "every member asked with the credentials: " + device);
        }
        final Run noCredentials = cli(with(anonymous, "cluster", "status", "--api", base2));
        assertEquals(1, noCredentials.exit());
        assertTrue(noCredentials.err().contains("401"), noCredentials.err());
    }

    private static String[] with(final String[] options, final String... args)
    {
        final String[] all = java.util.Arrays.copyOf(args, args.length + options.length);
        System.arraycopy(options, 0, all, args.length, options.length);
        return all;
    }

    @Test
    void shouldInitIssueATokenJoinReportAndRemove() throws Exception
    {
        final var ports = ClusterNodeTest.peers(3);
        final Path config1 = config("edge-1", 1, ports.get("edge-1"));
        final Path state1 = temp.resolve("state-1");
        final Run init = cli("cluster", "init", "--config", config1.toString(), "--state-dir", state1.toString());
        assertEquals(0, init.exit(), init.err());
        assertEquals(Set.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE),
            Files.getPosixFilePermissions(state1.resolve("cluster/ca.key")));
        assertEquals(2, cli("cluster", "init", "--config", config1.toString(), "--state-dir", state1.toString()).exit(),
            "a second init is refused");

        final TestDaemon one = new TestDaemon(state1, DeviceConfig.load(config1));
        daemons.add(one);
        assertTrue(one.daemon.cluster().tls(), "init left a device certificate: Raft runs over TLS");
        ClusterNodeTest.await("edge-1 head of its one-device cluster", 10_000, () -> one.daemon.cluster().isHead() &&
            one.daemon.cluster().state().members().size() == 1);

        final Run token = cli("cluster", "token", "--api", one.base());
        assertEquals(0, token.exit(), token.err());
        final String secret = token.out().trim();

        final Path config2 = config("edge-2", 2, ports.get("edge-2"));
        final Path state2 = temp.resolve("state-2");
        final Run join = cli("cluster", "join", "--token", secret, "--config", config2.toString(), "--state-dir", state2.toString(),
            one.base());
        assertEquals(0, join.exit(), join.err());
        assertEquals(Set.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE),
            Files.getPosixFilePermissions(state2.resolve("cluster/device.key")));
        final DeviceConfig joined = DeviceConfig.load(config2);
        assertEquals(Set.of("edge-1", "edge-2"), joined.cluster().peers().keySet());
        assertTrue(joined.cluster().join());

        // the token was single-use
        final Path config3 = config("edge-3", 3, ports.get("edge-3"));
        final Run again = cli("cluster", "join", "--token", secret, "--config", config3.toString(), "--state-dir",
            temp.resolve("state-3").toString(), one.base());
        assertEquals(1, again.exit());
        assertTrue(again.err().contains("invalid_token"), again.err());

        final TestDaemon two = new TestDaemon(state2, joined);
        daemons.add(two);
        ClusterNodeTest.await("edge-2 a voter and a member", 20_000, () ->
        {
            try
            {
                return one.daemon.cluster().voters().containsKey("edge-2") && one.daemon.cluster().state().members().size() == 2 &&
                    two.daemon.cluster().state().members().size() == 2;
            }
            catch (final java.io.IOException ex)
            {
                return false;
            }
        });
        // a write on the new device is applied on the first
        expect(201, two.post("/v1/networks", """
            {"name": "blue", "vni": 100, "subnets": [{"cidr": "10.0.1.0/24", "gateway": "10.0.1.1"}]}"""));
        expect(200, one.get("/v1/networks/blue?consistent=true"));

        final Run status = cli("cluster", "status", "--api", two.base(), "-o", "json");
        assertEquals(0, status.exit(), status.err());
        final JsonNode view = Json.mapper().readTree(status.out());
        assertEquals("edge-1", view.get("head").asText());
        assertEquals(2, view.get("devices").size());
        for (final JsonNode device : view.get("devices"))
        {
            assertTrue(device.get("appliedIndex").asLong() > 0, device.toString());
        }
        final Run table = cli("cluster", "status", "--api", one.base());
        assertEquals(0, table.exit(), table.err());
        assertTrue(table.out().contains("head edge-1") && table.out().contains("edge-2"), table.out());

        // a third device joins with a fresh token
        final Run token3 = cli("cluster", "token", "--api", one.base());
        assertEquals(0, cli("cluster", "join", "--token", token3.out().trim(), "--config", config3.toString(), "--state-dir",
            temp.resolve("state-3").toString(), one.base()).exit());
        final TestDaemon three = new TestDaemon(temp.resolve("state-3"), DeviceConfig.load(config3));
        daemons.add(three);
        ClusterNodeTest.await("edge-3 a voter and a member", 20_000, () ->
            three.daemon.cluster().state().members().size() == 3 && one.daemon.cluster().state().members().size() == 3);

        // the first device (head, CA holder) goes away: the joined devices elect a head and keep writing
        one.close();
        ClusterNodeTest.await("a new head", 15_000, () -> two.daemon.cluster().isHead() || three.daemon.cluster().isHead());
        expect(201, two.post("/v1/networks", """
            {"name": "green", "vni": 200, "subnets": [{"cidr": "10.0.2.0/24", "gateway": "10.0.2.1"}]}"""));
        expect(200, three.get("/v1/networks/green?consistent=true"));
        expect(200, two.get("/v1/networks/green?consistent=true"));

        // the dead device is removed for good: membership, then its vote
        final Run remove = cli("cluster", "remove", "edge-1", "--api", three.base());
        assertEquals(0, remove.exit(), remove.err());
        assertEquals(Set.of("edge-2", "edge-3"), three.daemon.cluster().state().members().keySet());
        ClusterNodeTest.await("edge-1 no longer votes", 10_000, () ->
        {
            try
            {
                return !three.daemon.cluster().voters().containsKey("edge-1");
            }
            catch (final java.io.IOException ex)
            {
                return false;
            }
        });
        // a device with vNICs on it cannot be removed
        expect(201, two.post("/v1/vnics", """
            {"id": "vm1", "network": "blue", "ip": "10.0.1.11", "backend": {"type": "memory"}}"""));
        final Run refused = cli("cluster", "remove", "edge-2", "--api", three.base());
        assertEquals(1, refused.exit());
        assertTrue(refused.err().contains("device_in_use"), refused.err());
        // the two remaining voters still take writes
        expect(201, three.post("/v1/networks", """
            {"name": "red", "vni": 300, "subnets": [{"cidr": "10.0.3.0/24", "gateway": "10.0.3.1"}]}"""));
    }
}
