package io.vsnic.orchestrator.cli;

import java.io.PrintWriter;
import java.util.Optional;
import java.util.concurrent.Callable;

import io.vsnic.orchestrator.lab.InProcessDemo;
import io.vsnic.orchestrator.lab.Lab;
import io.vsnic.orchestrator.lab.LabDemo;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code vsnic demo}: as root, a 2-device, 2-VMs-per-device lab with ping, iperf3 and counters, torn
 * down at the end; without root, the same scenario in one process with in-memory vNICs. Exit status 0
 * only when every check passed.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = "See vsnic work: two virtual edge devices, VMs on each, traffic across them, counters; then tear down.")
public final class DemoCommand implements Callable<Integer>
{
    @Option(names = "--in-process", description = "run the in-process scenario even as root")
    boolean inProcess;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call()
    {
        final PrintWriter out = spec.commandLine().getOut();
        final Optional<String> missing = Lab.missingPrerequisite();
        try
        {
            if (inProcess || missing.isPresent())
            {
                if (!inProcess && !missing.get().startsWith("needs root"))
                {
                    out.println("vsnic demo: the namespace lab " + missing.get() + "; running the in-process scenario instead");
                }
                return InProcessDemo.run(out);
            }
            return LabDemo.run(out, Lab.DaemonLauncher.sameJvm());
        }
        finally
        {
            out.flush();
        }
    }
}
