package io.vsnic.orchestrator.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

import io.vsnic.orchestrator.cluster.ClusterCa;
import io.vsnic.orchestrator.model.Validator;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code vsnic certs init | issue NAME}: the device CA of the API's mutual TLS (Bouncy Castle, through
 * {@link ClusterCa}). Files in {@code STATE_DIR/api-tls/}: {@code ca.crt}, {@code ca.key} (0600),
 * {@code server.crt}, {@code server.key} (0600), and per client {@code clients/NAME.crt} and
 * {@code clients/NAME.key} (0600). Exit 0 on success, 1 when the files cannot be made (one line on stderr).
 */
@Command(name = "certs", description = "Certificates for the API's TLS and mutual TLS (api.auth: mtls).",
    mixinStandardHelpOptions = true, subcommands = {CertsCommand.Init.class, CertsCommand.Issue.class})
public final class CertsCommand implements Runnable
{
    /** The directory under the state directory. */
    static final String DIRECTORY = "api-tls";

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run()
    {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing subcommand: init or issue");
    }

    /** Shared option. */
    static class StateDir
    {
        @Option(names = "--state-dir", paramLabel = "DIR",
            description = "the daemon's state directory (default: $XDG_STATE_HOME/vsnic or ~/.local/state/vsnic)")
        Path stateDirectory;

        Path directory()
        {
            return (stateDirectory == null ? DaemonCommand.defaultStateDirectory() : stateDirectory).resolve(DIRECTORY);
        }
    }

    /** {@code vsnic certs init [--state-dir DIR] [--name NAME] [--host HOST]...}. */
    @Command(name = "init", mixinStandardHelpOptions = true,
        description = {"Make the device CA and the API's server certificate (for 127.0.0.1, localhost, NAME and every --host).",
            "Refuses to replace an existing CA."})
    static final class Init implements Callable<Integer>
    {
        @CommandLine.Mixin
        StateDir state;

        @Option(names = "--name", paramLabel = "NAME", defaultValue = "vsnic-api",
            description = "the server certificate's CN and DNS name (default: ${DEFAULT-VALUE})")
        String name;

        @Option(names = "--host", paramLabel = "HOST", description = "an IP address or DNS name clients use to reach the API")
        List<String> hosts = new ArrayList<>();

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call()
        {
            final PrintWriter out = spec.commandLine().getOut();
            final Path dir = state.directory();
            try
            {
                final ClusterCa ca = ClusterCa.createNamed(dir, "vsnic device API CA " + name);
                writePair(ca, dir, "server", name, hosts);
                out.println("Wrote " + dir.resolve("ca.crt") + ", ca.key, server.crt, server.key.");
                out.println("Device configuration:");
                out.println("  api: {listen: \"0.0.0.0:9470\", auth: mtls, tls: {cert: " + dir.resolve("server.crt") + ", key: " +
                    dir.resolve("server.key") + ", clientCa: " + dir.resolve("ca.crt") + "}}");
                out.flush();
                return 0;
            }
            catch (final IOException | GeneralSecurityException | IllegalArgumentException ex)
            {
                return fail(spec, "init", ex);
            }
        }
    }

    /** {@code vsnic certs issue NAME [--state-dir DIR]}. */
    @Command(name = "issue", mixinStandardHelpOptions = true,
        description = "Issue a client certificate NAME from the device CA: clients/NAME.crt and clients/NAME.key (0600).")
    static final class Issue implements Callable<Integer>
    {
        @CommandLine.Mixin
        StateDir state;

        @Parameters(paramLabel = "NAME", description = "the client's name (CN)")
        String name;

        @Option(names = {"-f", "--force"}, description = "replace an existing certificate of that name")
        boolean force;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call()
        {
            final PrintWriter out = spec.commandLine().getOut();
            final Path dir = state.directory();
            try
            {
                if (!Validator.NAME.matcher(name).matches())
                {
                    throw new IllegalArgumentException("NAME must be 1..63 characters of letters, digits, '.', '_', '-': " + name);
                }
                final Path clients = dir.resolve("clients");
                if (!force && Files.exists(clients.resolve(name + ".crt")))
                {
                    throw new IOException(clients.resolve(name + ".crt") + " exists (--force replaces it)");
                }
                final ClusterCa ca = ClusterCa.load(dir);
                Files.createDirectories(clients);
                writePair(ca, clients, name, name, List.of());
                out.println("Wrote " + clients.resolve(name + ".crt") + " and " + clients.resolve(name + ".key") + ".");
                out.println("Use: vsnic status --api https://HOST:9470 --cacert " + dir.resolve("ca.crt") + " --cert " +
                    clients.resolve(name + ".crt") + " --key " + clients.resolve(name + ".key"));
                out.flush();
                return 0;
            }
            catch (final IOException | GeneralSecurityException | IllegalArgumentException ex)
            {
                return fail(spec, "issue", ex);
            }
        }
    }

    private static void writePair(final ClusterCa ca, final Path dir, final String file, final String name, final List<String> hosts)
        throws IOException, GeneralSecurityException
    {
        final KeyPair pair = ClusterCa.keyPair();
        final X509Certificate cert = ca.issue(name, pair.getPublic(), hosts);
        ClusterCa.writeSecret(dir.resolve(file + ".key"), ClusterCa.pem(pair.getPrivate()));
        ClusterCa.write(dir.resolve(file + ".crt"), ClusterCa.pem(cert));
    }

    private static int fail(final CommandLine.Model.CommandSpec spec, final String command, final Exception ex)
    {
        spec.commandLine().getErr().println("vsnic certs " + command + ": " + ex.getMessage());
        spec.commandLine().getErr().flush();
        return 1;
    }
}
