package io.vsnic.orchestrator.cli;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code vsnic} command line: the entry point that {@code bin/vsnic} runs.
 */
@Command(
    name = "vsnic",
    mixinStandardHelpOptions = true,
    versionProvider = VsnicCli.Version.class,
    description = "vsnic: software-defined virtual smart NIC and overlay-network data plane for edge devices.",
    subcommands = {CommandLine.HelpCommand.class, DaemonCommand.class, ClientCommands.Apply.class, ClientCommands.Get.class,
        ClientCommands.Describe.class, ClientCommands.Attach.class, ClientCommands.Detach.class, ClientCommands.Status.class,
        FlowCommands.Flows.class, FlowCommands.Capture.class,
        ClusterCommand.class, LabCommand.class, DemoCommand.class, PcapCommand.class, KeyCommands.Keygen.class,
        KeyCommands.Pubkey.class, WgCommand.class, CertsCommand.class})
public final class VsnicCli implements Runnable
{
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run()
    {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /**
     * Builds the command line with every subcommand.
     *
     * @return a ready {@link CommandLine}.
     */
    public static CommandLine commandLine()
    {
        return new CommandLine(new VsnicCli());
    }

    /**
     * @param args command-line arguments.
     */
    public static void main(final String[] args)
    {
        System.exit(commandLine().execute(args));
    }

    /** Reads the version the build stamped into the jar. */
    static final class Version implements CommandLine.IVersionProvider
    {
        @Override
        public String[] getVersion() throws IOException
        {
            final Properties properties = new Properties();
            try (InputStream in = VsnicCli.class.getResourceAsStream("/META-INF/vsnic/version.properties"))
            {
                if (in != null)
                {
                    properties.load(in);
                }
            }
            return new String[] {
                "vsnic " + properties.getProperty("version", "unknown"),
                "Java " + Runtime.version() + " (" + System.getProperty("java.vendor") + ")"
            };
        }
    }
}
