package io.vsnic.orchestrator.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.concurrent.Callable;
import java.util.logging.ConsoleHandler;
import java.util.logging.Formatter;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

import io.vsnic.orchestrator.daemon.ConfigException;
import io.vsnic.orchestrator.daemon.Daemon;
import io.vsnic.orchestrator.daemon.DeviceConfig;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code vsnic daemon --config device.yaml [--state-dir DIR]}: runs vsnicd in the foreground until
 * SIGTERM/SIGINT. Exit status: 0 after a clean stop, 1 when it cannot start, 2 for a bad configuration.
 */
@Command(
    name = "daemon",
    description = "Run vsnicd in the foreground: the data plane, the substrate and the REST API of one device.",
    mixinStandardHelpOptions = true)
public final class DaemonCommand implements Callable<Integer>
{
    @Option(names = {"-c", "--config"}, required = true, paramLabel = "FILE", description = "device configuration (YAML)")
    Path config;

    @Option(names = "--state-dir", paramLabel = "DIR",
        description = "journal and state (default: $XDG_STATE_HOME/vsnic or ~/.local/state/vsnic)")
    Path stateDirectory;

    @Option(names = "--wg-keylog", paramLabel = "FILE",
        description = "write every WireGuard session's keys to FILE (mode 0600, Wireshark's format) so that captures of the " +
            "substrate can be decrypted; for debugging only: whoever reads FILE can decrypt the traffic")
    Path wgKeylog;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /**
     * @return the default state directory.
     */
    static Path defaultStateDirectory()
    {
        final String xdg = System.getenv("XDG_STATE_HOME");
        final Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) :
            Path.of(System.getProperty("user.home"), ".local", "state");
        return base.resolve("vsnic");
    }

    @Override
    public Integer call() throws InterruptedException
    {
        final PrintWriter out = spec.commandLine().getOut();
        final PrintWriter err = spec.commandLine().getErr();
        configureLogging();
        DeviceConfig device;
        try
        {
            device = DeviceConfig.load(config);
            if (wgKeylog != null)
            {
                device = device.withWireguardKeylog(wgKeylog.toString());
            }
        }
        catch (final ConfigException ex)
        {
            err.println("vsnicd: bad configuration " + config + ": " + ex.getMessage());
            err.flush();
            return 2;
        }
        final Path state = stateDirectory == null ? defaultStateDirectory() : stateDirectory;
        final Daemon daemon;
        try
        {
            daemon = Daemon.start(device, state);
        }
        catch (final Daemon.StartException ex)
        {
            err.println("vsnicd: cannot start: " + ex.getMessage());
            err.flush();
            return 1;
        }
        final Thread hook = new Thread(() ->
        {
            System.err.println("vsnicd: stopping");
            daemon.close();
            System.err.println("vsnicd: stopped");
        }, "vsnic-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        final String substrate = daemon.substrate() == null ? "off" :
            device.substrate().bindAddress() + " geneve " + daemon.substrate().genevePort() + ", vxlan " +
                (daemon.substrate().vxlanPort() == 0 ? "off" : daemon.substrate().vxlanPort()) + " (" + device.substrate().transport() + ")";
        final String auth = daemon.apiAuth().mode() == io.vsnic.orchestrator.api.ApiAuth.Mode.none ? "" :
            " (auth " + daemon.apiAuth().mode() + ")";
        out.printf("vsnicd %s (device %d): ready; API %s://%s:%d%s; substrate %s; state %s; revision %d%s%n",
            device.device().name(), device.device().id(), daemon.apiAuth().ssl() == null ? "http" : "https",
            daemon.apiAddress().getAddress().getHostAddress(), daemon.apiAddress().getPort(), auth, substrate, state, daemon.controller().state().revision(),
            daemon.cluster() == null ? "" : "; cluster " + device.cluster().name() + " (raft " + device.cluster().raft() + ", TLS " +
                (daemon.cluster().tls() ? "on" : "OFF") + ")");
        out.flush();
        daemon.awaitClosed();
        return 0;
    }

    private static void configureLogging()
    {
        final Logger root = Logger.getLogger("");
        for (final java.util.logging.Handler handler : root.getHandlers())
        {
            root.removeHandler(handler);
        }
        final ConsoleHandler handler = new ConsoleHandler();
        handler.setFormatter(new OneLine());
        handler.setLevel(Level.ALL);
        root.addHandler(handler);
        root.setLevel(Level.INFO);
    }

    /** {@code 2026-11-23T01:02:03.456Z INFO logger: message}, one line per record. */
    private static final class OneLine extends Formatter
    {
        private static final DateTimeFormatter TIME = DateTimeFormatter.ISO_INSTANT.withZone(ZoneOffset.UTC);

        @Override
        public String format(final LogRecord record)
        {
            final String name = record.getLoggerName() == null ? "" : record.getLoggerName();
            final StringBuilder line = new StringBuilder(128)
                .append(TIME.format(Instant.ofEpochMilli(record.getMillis()))).append(' ')
                .append(record.getLevel().getName()).append(' ')
                .append(name.substring(name.lastIndexOf('.') + 1)).append(": ")
                .append(formatMessage(record));
            if (record.getThrown() != null)
            {
                line.append(" (").append(record.getThrown()).append(')');
            }
            return line.append(System.lineSeparator()).toString();
        }
    }
}
