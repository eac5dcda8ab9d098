package io.vsnic.orchestrator.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vsnic.orchestrator.cluster.ClusterCa;
import io.vsnic.orchestrator.cluster.ClusterJoin;
import io.vsnic.orchestrator.daemon.ConfigException;
import io.vsnic.orchestrator.daemon.DeviceConfig;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code vsnic cluster init|token|join|status|leave|remove}: forming and inspecting a cluster (see
 * docs/cluster.md). Exit status 0 on success, 1 when a daemon refused or could not be reached, 2 for
 * bad usage, an unreadable configuration or local files that are in the way.
 */
@Command(name = "cluster", mixinStandardHelpOptions = true, description = "Form, join, inspect and shrink a cluster of devices.",
    subcommands = {ClusterCommand.Init.class, ClusterCommand.Token.class, ClusterCommand.Join.class, ClusterCommand.Status.class,
        ClusterCommand.Leave.class, ClusterCommand.Remove.class})
final class ClusterCommand implements Runnable
{
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run()
    {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** Local commands (no daemon): a config file and a state directory. */
    abstract static class LocalCommand implements Callable<Integer>
    {
        @Option(names = {"-c", "--config"}, required = true, paramLabel = "FILE", description = "the device configuration (YAML)")
        Path config;

        @Option(names = "--state-dir", required = true, paramLabel = "DIR", description = "the daemon's state directory")
        Path stateDir;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        int fail(final String message)
        {
            spec.commandLine().getErr().println("vsnic cluster " + spec.name() + ": " + message);
            spec.commandLine().getErr().flush();
            return 2;
        }
    }

    /** {@code vsnic cluster init}: the first device makes the cluster CA and its own certificate. */
    @Command(name = "init", mixinStandardHelpOptions = true,
        description = "Create the cluster on its first device: a cluster CA (Bouncy Castle, ECDSA P-256; its key stays in " +
            "STATE_DIR/cluster/ca.key, mode 0600) and this device's certificate. The configuration needs a cluster section.")
    static final class Init extends LocalCommand
    {
        @Override
        public Integer call()
        {
            final DeviceConfig device;
            try
            {
                device = DeviceConfig.load(config);
            }
            catch (final ConfigException ex)
            {
                return fail(ex.getMessage());
            }
            if (device.cluster() == null)
            {
                return fail(config + " has no cluster section (name, raft, peers): see docs/cluster.md");
            }
            final Path directory = stateDir.resolve("cluster");
            try
            {
                final ClusterCa ca = ClusterCa.create(directory, device.cluster().name());
                ca.issueInto(directory, device.device().name(), List.of(host(device.cluster().raft())));
            }
            catch (final IOException | GeneralSecurityException ex)
            {
                return fail(ex.getMessage());
            }
            final PrintWriter out = spec.commandLine().getOut();
            out.printf("cluster %s created: CA key %s (0600), CA certificate %s, certificate for %s%n", device.cluster().name(),
                directory.resolve(ClusterCa.CA_KEY), directory.resolve(ClusterCa.CA_CERT), device.device().name());
            out.println("start the daemon, then admit devices with `vsnic cluster token` and `vsnic cluster join` on them");
            out.flush();
            return 0;
        }
    }

    static String host(final String address)
    {
        return address.substring(0, address.lastIndexOf(':')).replace("[", "").replace("]", "");
    }

    /** {@code vsnic cluster token}. */
    @Command(name = "token", mixinStandardHelpOptions = true,
        description = "Issue a single-use join token (on the device that ran `cluster init`).")
    static final class Token extends ClientCommands.ClientCommand
    {
        @Option(names = "--ttl", defaultValue = "600", paramLabel = "SECONDS", description = "lifetime (default ${DEFAULT-VALUE} s)")
        long ttlSeconds;

        @Override
        int run(final ApiClient client) throws ApiClient.ApiException
        {
            final JsonNode reply = client.send("POST", "/v1/cluster/tokens", Map.of("ttlSeconds", ttlSeconds));
            out().println(reply.get("token").asText());
            spec.commandLine().getErr().println("single use, expires " + reply.get("expiresAt").asText());
            return 0;
        }
    }

    /** {@code vsnic cluster join --token T HEAD_API}. */
    @Command(name = "join", mixinStandardHelpOptions = true,
        description = "Admit this device into a cluster: send a token and a new public key to the head, store the certificates " +
            "it returns in STATE_DIR/cluster (the key stays here, mode 0600) and write the cluster section into the configuration " +
            "(the old file is kept as FILE.bak). Then start the daemon: it asks to become a voter. An API that requires " +
            "authentication takes the same --token-file / --cert --key / --cacert as the other client commands.")
    static final class Join extends LocalCommand
    {
        @Option(names = "--token", required = true, description = "from `vsnic cluster token`")
        String token;

        @Option(names = "--raft", paramLabel = "HOST:PORT", description = "this device's Raft address (default: cluster.raft of the configuration)")
        String raft;

        @Parameters(index = "0", paramLabel = "HEAD_API", description = "the API of the device that issued the token, http://... or https://...")
        String headApi;

        @Mixin
        ApiCredentials credentials;

        @Override
        public Integer call()
        {
            final DeviceConfig device;
            try
            {
                device = DeviceConfig.load(config);
            }
            catch (final ConfigException ex)
            {
                return fail(ex.getMessage());
            }
            final String raftAddress = raft != null ? raft : device.cluster() == null ? null : device.cluster().raft();
            if (raftAddress == null)
            {
                return fail("give --raft HOST:PORT or cluster.raft in " + config);
            }
            final ClusterJoin join;
            final JsonNode reply;
            try
            {
                join = ClusterJoin.prepare(device, raftAddress, token, stateDir);
                reply = credentials.client(headApi).send("POST", "/v1/cluster/join", join.request());
            }
            catch (final ApiClient.ApiException ex)
            {
                spec.commandLine().getErr().println("vsnic cluster join: " + ex.getMessage());
                return 1;
            }
            catch (final IOException | GeneralSecurityException ex)
            {
                return fail(ex.getMessage());
            }
            final String name;
            try
            {
                name = join.complete(reply, config, stateDir);
            }
            catch (final IOException | GeneralSecurityException ex)
            {
                return fail("the head answered but its certificates could not be stored: " + ex.getMessage());
            }
            final PrintWriter out = spec.commandLine().getOut();
            out.printf("admitted into cluster %s as %s; certificates in %s; %s updated. Start the daemon.%n",
                name, device.device().name(), stateDir.resolve("cluster"), config);
            out.flush();
            return 0;
        }
    }

    /** {@code vsnic cluster status}. */
    @Command(name = "status", mixinStandardHelpOptions = true,
        description = "Members, head, term, commit index, and each device's applied index (asked from each member's API with " +
            "the scheme and credentials given for --api).")
    static final class Status extends ClientCommands.ClientCommand
    {
        @Option(names = {"-o", "--output"}, defaultValue = "table", description = "table | json | yaml (default: ${DEFAULT-VALUE})")
        ClientCommands.Output output;

        @Override
        int run(final ApiClient client) throws ApiClient.ApiException
        {
            final JsonNode view = client.get("/v1/cluster");
            if (!view.path("clustered").asBoolean())
            {
                throw new ApiClient.ApiException(view.path("device").asText() + " is standalone (not in a cluster)");
            }
            final ObjectNode result = view.deepCopy();
            final com.fasterxml.jackson.databind.node.ArrayNode devices = result.putArray("devices");
            for (final JsonNode member : view.get("members"))
            {
                final ObjectNode row = devices.addObject();
                row.put("name", member.get("name").asText());
                row.put("id", member.get("id").asInt());
                row.put("raft", member.get("raft").asText());
                row.put("api", member.get("api").asText());
                row.put("head", member.get("name").asText().equals(view.path("head").asText()));
                try
                {
                    final JsonNode other = apiOptions.sibling(member.get("api").asText()).get("/v1/cluster");
                    row.put("appliedIndex", other.path("appliedIndex").asLong());
                    row.put("revision", other.path("revision").asLong());
                    row.put("term", other.path("term").asLong());
                    row.put("dataplaneRevision", other.path("dataplaneRevision").asLong());
                }
                catch (final ApiClient.ApiException ex)
                {
                    row.put("unreachable", ex.getMessage());
                }
            }
            if (output != ClientCommands.Output.table)
            {
                ClientCommands.print(out(), output, result);
                return 0;
            }
            final PrintWriter out = out();
            out.printf("cluster %s: head %s, term %s, commit index %s, revision %s (seen from %s, TLS %s)%n", view.get("name").asText(),
                view.path("head").isNull() ? "NONE (no quorum reachable)" : view.get("head").asText(), view.get("term").asText(),
                view.get("commitIndex").asText(), view.get("revision").asText(), view.get("device").asText(),
                view.get("tls").asBoolean() ? "on" : "OFF");
            out.printf("%-16s %5s %-5s %-22s %-22s %8s %8s %8s%n", "DEVICE", "ID", "ROLE", "RAFT", "API", "APPLIED", "REVISION", "DATAPLANE");
            for (final JsonNode row : devices)
            {
                out.printf("%-16s %5s %-5s %-22s %-22s %8s %8s %8s%n", row.get("name").asText(), row.get("id").asText(),
                    row.get("head").asBoolean() ? "head" : "", row.get("raft").asText(), row.get("api").asText(),
                    row.has("unreachable") ? "?" : row.get("appliedIndex").asText(), row.has("unreachable") ? "?" : row.get("revision").asText(),
                    row.has("unreachable") ? "unreachable" : row.get("dataplaneRevision").asText());
            }
            return 0;
        }
    }

    /** {@code vsnic cluster leave}. */
    @Command(name = "leave", mixinStandardHelpOptions = true,
        description = "Take the device behind --api out of the cluster (refused while vNICs live on it); then stop its daemon.")
    static final class Leave extends ClientCommands.ClientCommand
    {
        @Override
        int run(final ApiClient client) throws ApiClient.ApiException
        {
            final String self = client.get("/v1/cluster").get("device").asText();
            client.send("DELETE", "/v1/cluster/members/" + ApiClient.encode(self), null);
            out().printf("%s left the cluster; stop its daemon%n", self);
            return 0;
        }
    }

    /** {@code vsnic cluster remove NAME}. */
    @Command(name = "remove", mixinStandardHelpOptions = true,
        description = "Take a device out of the cluster (refused while vNICs live on it), e.g. one that is gone for good.")
    static final class Remove extends ClientCommands.ClientCommand
    {
        @Parameters(index = "0", paramLabel = "NAME", description = "the device")
        String name;

        @Override
        int run(final ApiClient client) throws ApiClient.ApiException
        {
            client.send("DELETE", "/v1/cluster/members/" + ApiClient.encode(name), null);
            out().printf("%s removed from the cluster%n", name);
            return 0;
        }
    }
}
