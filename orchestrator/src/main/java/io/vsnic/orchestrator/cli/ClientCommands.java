package io.vsnic.orchestrator.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Function;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vsnic.orchestrator.model.Json;
import io.vsnic.orchestrator.model.ManifestFiles;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * The commands that talk to a running daemon: {@code apply}, {@code get}, {@code describe},
 * {@code attach}, {@code detach}, {@code status}. Exit status 0 on success, 1 when the daemon refused
 * or could not be reached (the error is printed), 2 for bad usage or an unreadable file.
 */
final class ClientCommands
{
    private ClientCommands()
    {
    }

    /** Base: --api and credentials, the spec's streams, error printing. */
    abstract static class ClientCommand implements Callable<Integer>
    {
        @Mixin
        ApiOptions apiOptions;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        PrintWriter out()
        {
            return spec.commandLine().getOut();
        }

        @Override
        public final Integer call()
        {
            try
            {
                return run(apiOptions.client());
            }
            catch (final ApiClient.ApiException ex)
            {
                spec.commandLine().getErr().println("vsnic " + spec.name() + ": " + ex.getMessage());
                spec.commandLine().getErr().flush();
                return 1;
            }
            finally
            {
                out().flush();
            }
        }

        abstract int run(ApiClient client) throws ApiClient.ApiException;
    }

    /** Output format. */
    enum Output
    {
        table, json, yaml
    }

    static void print(final PrintWriter out, final Output format, final JsonNode value)
    {
        try
        {
            if (format == Output.yaml)
            {
                out.print(Json.yaml().writeValueAsString(value));
            }
            else
            {
                out.println(Json.mapper().writerWithDefaultPrettyPrinter().writeValueAsString(value));
            }
        }
        catch (final JsonProcessingException ex)
        {
            throw new IllegalStateException(ex);
        }
    }

    // ---------------------------------------------------------------------------------------------

    /** {@code vsnic apply -f FILE [--dry-run] [--prune]}. */
    @Command(name = "apply", mixinStandardHelpOptions = true,
        description = "Converge the daemon to a manifest (YAML or JSON): print the plan, then apply it in one step. " +
            "Applying the same manifest again changes nothing.")
    static final class Apply extends ClientCommand
    {
        @Option(names = {"-f", "--file"}, required = true, paramLabel = "FILE",
            description = "manifest, YAML or JSON; its include: [FILE...] (relative to it) are read first")
        Path file;

        @Option(names = "--dry-run", description = "validate and print the plan; change nothing")
        boolean dryRun;

        @Option(names = "--prune", description = "also delete resources that the manifest does not list")
        boolean prune;

        @Override
        int run(final ApiClient client) throws ApiClient.ApiException
        {
            final JsonNode manifest;
            try
            {
                manifest = ManifestFiles.load(file);
            }
            catch (final ManifestFiles.ManifestException ex)
            {
                spec.commandLine().getErr().println("vsnic apply: " + ex.getMessage());
                return 2;
            }
            final JsonNode result = client.send("POST", "/v1/apply?dryRun=" + dryRun + "&prune=" + prune, manifest);
            final PrintWriter out = out();
            final Map<String, Integer> counts = new LinkedHashMap<>();
            for (final String action : List.of("create", "update", "delete", "unchanged"))
            {
                counts.put(action, 0);
            }
            for (final JsonNode step : result.get("plan"))
            {
                final String action = step.get("action").asText();
                counts.merge(action, 1, Integer::sum);
                final String mark = switch (action)
                {
                    case "create" -> "+";
                    case "update" -> "~";
                    case "delete" -> "-";
                    default -> "=";
                };
                out.printf("%s %s %s%s%n", mark, step.get("kind").asText(), step.get("name").asText(),
                    action.equals("unchanged") ? " (unchanged)" : "");
            }
            out.printf("Plan: %d to create, %d to update, %d to delete, %d unchanged.%n", counts.get("create"),
                counts.get("update"), counts.get("delete"), counts.get("unchanged"));
            if (!result.get("changed").asBoolean())
            {
                out.println("No changes: the daemon already matches the manifest.");
            }
            else if (dryRun)
            {
                out.println("Dry run: the plan is valid; nothing was changed.");
            }
            else
            {
                out.println("Applied: revision " + result.get("revision").asLong() + ".");
            }
            return 0;
        }
    }

    /** {@code vsnic get networks|vnics|peers|security-groups|enclaves|tasks [-o table|json|yaml]}. */
    @Command(name = "get", mixinStandardHelpOptions = true, description = "List resources of one kind.")
    static final class Get extends ClientCommand
    {
        @Parameters(index = "0", paramLabel = "KIND", description = "networks | vnics | peers | security-groups | enclaves | tasks | routes | remotes")
        String kind;

        @Option(names = {"-o", "--output"}, defaultValue = "table", description = "table | json | yaml (default: ${DEFAULT-VALUE})")
        Output output;

        @Option(names = {"-n", "--network"}, paramLabel = "NAME", description = "the network (for routes and remotes)")
        String network;

        @Override
        int run(final ApiClient client) throws ApiClient.ApiException
        {
            final String path;
            switch (kind)
            {
                case "networks", "vnics", "peers", "security-groups", "enclaves", "tasks" -> path = "/v1/" + kind;
                case "routes", "remotes" ->
                {
                    if (network == null)
                    {
                        spec.commandLine().getErr().println("vsnic get " + kind + ": --network NAME is required");
                        return 2;
                    }
                    path = "/v1/networks/" + ApiClient.encode(network) + "/" + kind;
                }
                default ->
                {
                    spec.commandLine().getErr().println("vsnic get: unknown kind " + kind +
                        " (networks, vnics, peers, security-groups, enclaves, tasks, routes, remotes)");
                    return 2;
                }
            }
            final JsonNode items = client.get(path).get("items");
            if (output != Output.table)
            {
                print(out(), output, items);
                return 0;
            }
            table(out(), kind, items);
            return 0;
        }
    }

    /**
     * @return " (on CPUs 0,1)" for workers pinned to CPUs ("-" for one not pinned), "" when none is pinned.
     */
    static String pinning(final JsonNode pinnedCpus)
    {
        final List<String> cpus = new ArrayList<>();
        boolean any = false;
        for (final JsonNode cpu : pinnedCpus)
        {
            cpus.add(cpu.isNull() ? "-" : cpu.asText());
            any |= !cpu.isNull();
        }
        return any ? " (on CPUs " + String.join(",", cpus) + ")" : "";
    }

    private static String text(final JsonNode node)
    {
        if (node == null || node.isNull() || node.isMissingNode())
        {
            return "-";
        }
        if (node.isArray())
        {
            final List<String> parts = new ArrayList<>();
            node.forEach(n -> parts.add(n.isObject() ? n.path("cidr").asText(n.toString()) : n.asText()));
            return parts.isEmpty() ? "-" : String.join(",", parts);
        }
        return node.asText();
    }

    static void table(final PrintWriter out, final String kind, final JsonNode items)
    {
        final Map<String, Function<JsonNode, String>> columns = new LinkedHashMap<>();
        switch (kind)
        {
            case "enclaves" ->
            {
                columns.put("NAME", n -> text(n.get("name")));
                columns.put("VNI", n -> text(n.get("vni")));
                columns.put("CIDR", n -> text(n.get("cidr")));
                columns.put("PORT", n -> text(n.path("substrate").get("port")));
                columns.put("SERVICES", n -> Integer.toString(n.path("services").size()));
                columns.put("PEERS", n -> Integer.toString(n.path("peers").size()));
                columns.put("POLICY", n -> n.path("allow").isArray() ? n.path("allow").size() + " pairs" : "all");
                columns.put("VERSION", n -> text(n.get("version")));
            }
            case "networks" ->
            {
                columns.put("NAME", n -> text(n.get("name")));
                columns.put("VNI", n -> text(n.get("vni")));
                columns.put("MTU", n -> text(n.get("mtu")));
                columns.put("SUBNETS", n -> text(n.get("subnets")));
                columns.put("ROUTES", n -> Integer.toString(n.path("routes").size()));
                columns.put("REMOTES", n -> Integer.toString(n.path("remotes").size()));
                columns.put("VERSION", n -> text(n.get("version")));
            }
            case "vnics" ->
            {
                columns.put("ID", n -> text(n.get("id")));
                columns.put("NETWORK", n -> text(n.get("network")));
                columns.put("IP", n -> text(n.get("ip")));
                columns.put("IPV6", n -> text(n.get("ipv6")));
                columns.put("MAC", n -> text(n.get("mac")));
                columns.put("PORT", n -> text(n.get("port")));
                columns.put("BACKEND", n -> text(n.path("backend").get("type")));
                columns.put("ATTACHED", n -> text(n.path("status").get("attached")));
                columns.put("STATE", n -> text(n.path("status").get("state")));
                columns.put("RX", n -> text(n.path("counters").get("rxPackets")));
                columns.put("TX", n -> text(n.path("counters").get("txPackets")));
                columns.put("DROPS", n -> text(n.path("counters").get("drops")));
            }
            case "peers" ->
            {
                columns.put("NAME", n -> text(n.get("name")));
                columns.put("DEVICE", n -> text(n.get("device")));
                columns.put("ENDPOINT", n -> text(n.get("endpoint")));
                columns.put("ENCAP", n -> text(n.get("encapsulation")));
                columns.put("REMOTE-CSUM", n -> n.path("remoteChecksum").asBoolean() ? "on" : "off");
                columns.put("ENCRYPTION", n -> text(n.get("encryption")));
                columns.put("VNIS", n -> n.path("allowedVnis").isEmpty() ? "all" : text(n.get("allowedVnis")));
                columns.put("SESSION", n -> n.path("session").isTextual() ? n.path("session").asText() :
                    n.path("session").path("up").asBoolean() ? "up" : "down");
                columns.put("HANDSHAKE", n -> n.path("session").path("lastHandshakeAgoMs").isNumber() ?
                    (n.path("session").path("lastHandshakeAgoMs").asLong() / 1000) + "s ago" : "-");
                columns.put("RX-BYTES", n -> n.path("session").has("rxBytes") ? text(n.path("session").get("rxBytes")) : "-");
                columns.put("TX-BYTES", n -> n.path("session").has("txBytes") ? text(n.path("session").get("txBytes")) : "-");
                columns.put("CURRENT-ENDPOINT", n -> n.path("session").has("endpoint") ? text(n.path("session").get("endpoint")) : "-");
            }
            case "tasks" ->
            {
                columns.put("ID", n -> text(n.get("id")));
                columns.put("KIND", n -> text(n.get("kind")));
                columns.put("RESOURCE", n -> text(n.get("resource")));
                columns.put("STATE", n -> text(n.get("state")));
                columns.put("ATTEMPTS", n -> text(n.get("attempts")));
                columns.put("NEXT-RETRY", n -> text(n.get("nextRetry")));
                columns.put("UPDATED", n -> text(n.get("updated")));
                columns.put("LAST-ERROR", n -> text(n.get("lastError")));
            }
            case "security-groups" ->
            {
                columns.put("NAME", n -> text(n.get("name")));
                columns.put("RULES", n -> Integer.toString(n.path("rules").size()));
                columns.put("DEFAULT-EGRESS", n -> text(n.get("defaultEgress")));
                columns.put("VERSION", n -> text(n.get("version")));
            }
            case "routes" ->
            {
                columns.put("PREFIX", n -> text(n.get("prefix")));
                columns.put("TARGET", n -> text(n.path("target").get("type")));
                columns.put("VIA", n -> n.path("target").has("vnic") ? text(n.path("target").get("vnic")) :
                    n.path("target").has("device") ? "device " + text(n.path("target").get("device")) :
                    n.path("target").has("members") ? n.path("target").get("members").size() + " members" : "-");
            }
            default ->
            {
                columns.put("IP", n -> text(n.get("ip")));
                columns.put("MAC", n -> text(n.get("mac")));
                columns.put("DEVICE", n -> text(n.get("device")));
            }
        }
        final List<String[]> rows = new ArrayList<>();
        rows.add(columns.keySet().toArray(String[]::new));
        for (final JsonNode item : items)
        {
            rows.add(columns.values().stream().map(f -> f.apply(item)).toArray(String[]::new));
        }
        final int[] widths = new int[columns.size()];
        for (final String[] row : rows)
        {
            for (int i = 0; i < row.length; i++)
            {
                widths[i] = Math.max(widths[i], row[i].length());
            }
        }
        for (final String[] row : rows)
        {
            final StringBuilder line = new StringBuilder();
            for (int i = 0; i < row.length; i++)
            {
                line.append(i == row.length - 1 ? row[i] : String.format("%-" + (widths[i] + 2) + "s", row[i]));
            }
            out.println(line.toString().stripTrailing());
        }
    }

    /** {@code vsnic describe vnic ID}. */
    @Command(name = "describe", mixinStandardHelpOptions = true, description = "Show one resource in full, a vNIC with its counters.")
    static final class Describe extends ClientCommand
    {
        @Parameters(index = "0", paramLabel = "KIND", description = "vnic | network | peer | security-group")
        String kind;

        @Parameters(index = "1", paramLabel = "NAME", description = "its id or name")
        String name;

        @Option(names = {"-o", "--output"}, defaultValue = "yaml", description = "yaml | json (default: ${DEFAULT-VALUE})")
        Output output;

        @Override
        int run(final ApiClient client) throws ApiClient.ApiException
        {
            final String collection = switch (kind)
            {
                case "vnic", "vnics" -> "vnics";
                case "network", "networks" -> "networks";
                case "peer", "peers" -> "peers";
                case "security-group", "security-groups" -> "security-groups";
                case "enclave", "enclaves" -> "enclaves";
                default -> null;
            };
            if (collection == null)
            {
                spec.commandLine().getErr().println("vsnic describe: unknown kind " + kind + " (vnic, network, peer, security-group, enclave)");
                return 2;
            }
            print(out(), output == Output.table ? Output.yaml : output, client.get("/v1/" + collection + "/" + ApiClient.encode(name)));
            return 0;
        }
    }

    /** {@code vsnic attach ID --network NET [...]}. */
    @Command(name = "attach", mixinStandardHelpOptions = true,
        description = "Attach a vNIC (POST /v1/vnics): a data plane port in a network, with its VM-side backend.")
    static final class Attach extends ClientCommand
    {
        @Parameters(index = "0", paramLabel = "ID", description = "vNIC id")
        String id;

        @Option(names = {"-n", "--network"}, required = true, paramLabel = "NAME", description = "network")
        String network;

        @Option(names = "--ip", paramLabel = "ADDRESS", description = "IPv4 address")
        String ip;

        @Option(names = "--ipv6", paramLabel = "ADDRESS", description = "IPv6 address")
        String ipv6;

        @Option(names = "--mac", paramLabel = "MAC", description = "MAC (default: stable, derived from device and id)")
        String mac;

        @Option(names = {"-g", "--security-group"}, paramLabel = "NAME", description = "security group (repeatable)")
        List<String> securityGroups = new ArrayList<>();

        @ArgGroup(exclusive = false)
        BackendOptions backend = new BackendOptions();

        /** --backend TYPE --backend-opt key=value... */
        static final class BackendOptions
        {
            @Option(names = "--backend", defaultValue = "memory", paramLabel = "TYPE",
                description = "memory | tap | qemu-stream | qemu-dgram (default: ${DEFAULT-VALUE})")
            String type = "memory";

            @Option(names = "--backend-opt", paramLabel = "KEY=VALUE", description = "backend option (repeatable)")
            Map<String, String> options = new LinkedHashMap<>();
        }

        @Override
        int run(final ApiClient client) throws ApiClient.ApiException
        {
            final ObjectNode body = Json.mapper().createObjectNode();
            body.put("id", id).put("network", network);
            if (ip != null)
            {
                body.put("ip", ip);
            }
            if (ipv6 != null)
            {
                body.put("ipv6", ipv6);
            }
            if (mac != null)
            {
                body.put("mac", mac);
            }
            securityGroups.forEach(body.putArray("securityGroups")::add);
            final ObjectNode b = body.putObject("backend").put("type", backend.type);
            backend.options.forEach(b::put);
            final JsonNode vnic = client.send("POST", "/v1/vnics", body);
            if (vnic.at("/status/state").asText().equals("pending"))
            {
                out().printf("vnic %s accepted, pending: %s (task %s retries it; vsnic get tasks)%n", vnic.get("id").asText(),
                    vnic.at("/status/reason").asText(), vnic.at("/status/task").asText());
                return 0;
            }
            out().printf("vnic %s attached: network %s, mac %s, port %s%n", vnic.get("id").asText(), vnic.get("network").asText(),
                vnic.get("mac").asText(), vnic.get("port").asText());
            return 0;
        }
    }

    /** {@code vsnic detach ID}. */
    @Command(name = "detach", mixinStandardHelpOptions = true, description = "Detach a vNIC (DELETE /v1/vnics/ID).")
    static final class Detach extends ClientCommand
    {
        @Parameters(index = "0", paramLabel = "ID", description = "vNIC id")
        String id;

        @Override
        int run(final ApiClient client) throws ApiClient.ApiException
        {
            client.send("DELETE", "/v1/vnics/" + ApiClient.encode(id), null);
            out().printf("vnic %s detached%n", id);
            return 0;
        }
    }

    /** {@code vsnic status}. */
    @Command(name = "status", mixinStandardHelpOptions = true, description = "Show the daemon's status.")
    static final class Status extends ClientCommand
    {
        @Option(names = {"-o", "--output"}, defaultValue = "table", description = "table | json | yaml (default: ${DEFAULT-VALUE})")
        Output output;

        @Override
        int run(final ApiClient client) throws ApiClient.ApiException
        {
            final JsonNode status = client.get("/v1/status");
            if (output != Output.table)
            {
                print(out(), output, status);
                return 0;
            }
            final PrintWriter out = out();
            out.printf("device      %s (id %s), vsnic %s, %s, up %ss%n", status.at("/device/name").asText(),
                status.at("/device/id").asText(), status.get("version").asText(), status.get("state").asText(),
                status.get("uptimeSeconds").asText());
            out.printf("state       revision %s: %s networks, %s security groups, %s vnics, %s peers%n",
                status.get("revision").asText(), status.at("/resources/networks").asText(), status.at("/resources/securityGroups").asText(),
                status.at("/resources/vnics").asText(), status.at("/resources/peers").asText());
            out.printf("journal     %s, generation %s, %s entries replayed at start%s%n", status.at("/journal/directory").asText(),
                status.at("/journal/generation").asText(), status.at("/journal/entriesReplayed").asText(),
                status.at("/journal/corruptTail").isNull() ? "" : "; CORRUPT TAIL CUT OFF: " + status.at("/journal/corruptTail").asText());
            out.printf("dataplane   %s workers%s, %s frame slots, %s connections, %s vnics attached%n",
                status.at("/dataplane/workers").asText(), pinning(status.at("/dataplane/pinnedCpus")), status.at("/dataplane/frameSlots").asText(),
                status.at("/dataplane/connectionCapacity").asText(), status.at("/dataplane/attachedVnics").asText());
            out.printf("substrate   %s%n", status.at("/substrate/enabled").asBoolean() ? status.at("/substrate/bindAddress").asText() +
                " geneve " + status.at("/substrate/genevePort").asText() + ", vxlan " +
                (status.at("/substrate/vxlanPort").asInt() == 0 ? "off" : status.at("/substrate/vxlanPort").asText()) +
                " (" + status.at("/substrate/transport").asText() + ", unencrypted)" : "off");
            out.printf("api         http://%s%n", status.at("/api/listen").asText());
            return 0;
        }
    }
}
