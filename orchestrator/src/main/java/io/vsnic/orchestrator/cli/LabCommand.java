package io.vsnic.orchestrator.cli;

import java.io.PrintWriter;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import io.vsnic.orchestrator.lab.Lab;
import io.vsnic.orchestrator.lab.LabException;
import io.vsnic.orchestrator.lab.LabState;
import io.vsnic.vnic.netns.NetNs;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code vsnic lab up|status|exec|down}: virtual edge devices on one machine (needs root). Exit status 0
 * on success, 1 when the lab could not be built, found or removed, 2 for bad usage; {@code exec} passes
 * the command's own status through.
 */
@Command(name = "lab", mixinStandardHelpOptions = true,
    description = "Virtual edge devices on this machine: vsnicd processes in network namespaces, VMs as namespaces behind TAP vNICs.",
    subcommands = {LabCommand.Up.class, LabCommand.Status.class, LabCommand.Exec.class, LabCommand.Down.class})
public final class LabCommand implements Runnable
{
    static final String NOT_ROOT = "needs root (network namespaces and TAP devices); 'bin/vsnic demo' runs the same scenario in one process without root";

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run()
    {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** Shared: --name, streams, the root check. */
    abstract static class LabSubcommand implements Callable<Integer>
    {
        @Option(names = "--name", defaultValue = "lab", paramLabel = "LAB", description = "lab name, 1..8 of [a-z0-9] (default: ${DEFAULT-VALUE})")
        String name;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        PrintWriter out()
        {
            return spec.commandLine().getOut();
        }

        @Override
        public final Integer call()
        {
            final PrintWriter err = spec.commandLine().getErr();
            if (!NetNs.isRoot())
            {
                err.println("vsnic lab: " + NOT_ROOT);
                err.flush();
                return 1;
            }
            try
            {
                return run();
            }
            catch (final LabException ex)
            {
                err.println("vsnic lab " + spec.name() + ": " + ex.getMessage());
                return 1;
            }
            finally
            {
                out().flush();
                err.flush();
            }
        }

        abstract int run() throws LabException;
    }

    /** {@code vsnic lab up}. */
    @Command(name = "up", mixinStandardHelpOptions = true, description = "Build a lab: devices, substrate, network, VMs (DHCP).")
    static final class Up extends LabSubcommand
    {
        @Option(names = "--devices", defaultValue = "2", description = "devices, 1.." + Lab.MAX_DEVICES + " (default: ${DEFAULT-VALUE})")
        int devices;

        @Option(names = "--vms-per-device", defaultValue = "1", description = "VMs per device, 0.." + Lab.MAX_VMS + " (default: ${DEFAULT-VALUE})")
        int vms;

        @Option(names = "--encryption", defaultValue = "on", paramLabel = "on|off",
            description = "WireGuard-encrypted substrate; off: plain Geneve, peers encryption none (default: ${DEFAULT-VALUE})")
        String encryption;

        @Option(names = "--enclave", description = "also the enclave '" + Lab.ENCLAVE + "': one service namespace per device (TAP service, " +
            "static address in " + Lab.ENCLAVE_CIDR + "), each device with its own enclave key and port " + Lab.ENCLAVE_PORT)
        boolean enclave;

        @Option(names = "--cluster", description = "the devices form one cluster (docs/cluster.md): d1 runs `cluster init`, the others " +
            "join with a token, Raft over mutual TLS on the substrate (port " + Lab.RAFT_PORT + "); the network is written once, peers " +
            "and remote locations are derived from the replicated state")
        boolean cluster;

        @Override
        int run() throws LabException
        {
            final boolean encrypted = switch (encryption.toLowerCase(Locale.ROOT))
            {
                case "on" -> true;
                case "off" -> false;
                default -> throw new LabException("--encryption must be on or off: " + encryption);
            };
            final PrintWriter out = out();
            // Ctrl-C during up: stop between steps and remove what was made before the JVM exits.
            final AtomicBoolean cancelled = new AtomicBoolean();
            final CountDownLatch done = new CountDownLatch(1);
            final Thread hook = new Thread(() ->
            {
                cancelled.set(true);
                try
                {
                    done.await(40, TimeUnit.SECONDS);
                }
                catch (final InterruptedException ex)
                {
                    Thread.currentThread().interrupt();
                }
            }, "vsnic-lab-up-cancel");
            Runtime.getRuntime().addShutdownHook(hook);
            final LabState state;
            try
            {
                state = Lab.up(new Lab.Spec(name, devices, vms, encrypted, enclave, cluster), Lab.DaemonLauncher.sameJvm(), line ->
                {
                    out.println("  " + line);
                    out.flush();
                }, cancelled::get);
            }
            finally
            {
                done.countDown();
                try
                {
                    Runtime.getRuntime().removeShutdownHook(hook);
                }
                catch (final IllegalStateException ignored)
                {
                    // shutting down: the hook returns now
                }
            }
            out.printf("lab %s up: %d devices, %d VMs%s; files in %s%n", state.name(), state.devices().size(), state.vms().size(),
                state.services().isEmpty() ? "" : ", enclave " + Lab.ENCLAVE + " with " + state.services().size() + " services",
                state.directory());
            out.printf("  vsnic lab status --name %s ; vsnic lab exec --name %s %s -- ping -c 3 %s ; vsnic lab down --name %s%n",
                name, name, state.vms().isEmpty() ? "VM" : state.vms().get(0).name(),
                state.vms().size() > 1 ? state.vms().get(state.vms().size() - 1).ip() : "IP", name);
            if (state.services().size() > 1)
            {
                out.printf("  vsnic lab exec --name %s %s -- ping -c 3 %s   (inside the enclave %s)%n", name, state.services().get(0).name(),
                    state.services().get(1).ip(), Lab.ENCLAVE);
            }
            return 0;
        }
    }

    /** Each device's own view of the cluster, when the lab is one (the member APIs are on each namespace's loopback). */
    private static void clusterStatus(final LabState state, final PrintWriter out)
    {
        boolean header = false;
        for (final LabState.Device device : state.devices())
        {
            String line;
            try
            {
                final com.fasterxml.jackson.databind.JsonNode view = Lab.clusterView(device);
                if (!view.path("clustered").asBoolean())
                {
                    return;
                }
                line = String.format(Locale.ROOT, "%-16s %-6s %8s %8s %8s", view.path("head").isNull() ? "NONE" : view.path("head").asText(),
                    view.path("term").asText(), view.path("commitIndex").asText(), view.path("appliedIndex").asText(),
                    view.path("revision").asText());
            }
            catch (final LabException ex)
            {
                line = "unreachable: " + ex.getMessage();
            }
            if (!header)
            {
                out.printf("%n%-6s %-16s %-6s %8s %8s %8s%n", "DEVICE", "HEAD (its view)", "TERM", "COMMIT", "APPLIED", "REVISION");
                header = true;
            }
            out.printf("%-6s %s%n", "d" + device.index(), line);
        }
    }

    /** {@code vsnic lab status}. */
    @Command(name = "status", mixinStandardHelpOptions = true, description = "Devices (PID, memory, API health, counters), their substrate sessions, and VMs (MAC, IP).")
    static final class Status extends LabSubcommand
    {
        @Override
        int run() throws LabException
        {
            final LabState state = Lab.load(name);
            final PrintWriter out = out();
            out.printf("lab %s (%s), substrate %s, encryption %s%n", state.name(), state.directory(), state.substrate(),
                state.encryption() ? "on" : "off");
            out.printf("%-6s %-14s %-10s %-8s %-9s %s%n", "DEVICE", "NAMESPACE", "SUBSTRATE", "PID", "RSS", "API");
            boolean healthy = true;
            final List<Lab.DeviceStatus> statuses = Lab.deviceStatus(state);
            for (final Lab.DeviceStatus status : statuses)
            {
                healthy &= status.alive() && status.api().startsWith("ok");
                out.printf("%-6s %-14s %-10s %-8s %-9s %s%n", "d" + status.device().index(), status.device().namespace(),
                    status.device().address(), status.device().pid() + (status.alive() ? "" : "(dead)"),
                    status.rssKib() < 0 ? "-" : (status.rssKib() / 1024) + " MiB", status.api());
            }
            out.printf("%n%-6s %s%n", "DEVICE", "PEERS (substrate sessions: vsnic get peers)");
            for (final Lab.DeviceStatus status : statuses)
            {
                for (final String session : status.sessions())
                {
                    out.printf("%-6s %s%n", "d" + status.device().index(), session);
                }
            }
            clusterStatus(state, out);
            out.printf("%n%-6s %-16s %-17s %-12s %s%n", "VM", "NAMESPACE", "MAC", "IP", "TAP");
            for (final LabState.Vm vm : state.vms())
            {
                out.printf("%-6s %-16s %-17s %-12s %s%n", vm.name(), vm.namespace(), vm.mac(),
                    Lab.vmIp(vm.namespace(), vm.tap()).orElse("(none)"), vm.tap());
            }
            if (!state.services().isEmpty())
            {
                out.printf("%n%-7s %-18s %-17s %-12s %-14s %-16s %s%n", "SERVICE", "NAMESPACE", "MAC", "IP", "TAP", "ENCLAVE SUBSTRATE",
                    "ON ITS DEVICE (GET /v1/enclaves/" + Lab.ENCLAVE + ")");
                for (final LabState.Service service : state.services())
                {
                    final String realized = Lab.enclaveOnDevice(state.device(service.device()));
                    healthy &= realized.startsWith("ok");
                    out.printf("%-7s %-18s %-17s %-12s %-14s %-16s %s%n", service.name(), service.namespace(), service.mac(),
                        service.ip(), service.tap(), service.endpoint(), realized);
                }
            }
            out.printf("%n%-6s %12s %12s %12s %12s %10s %10s%n", "DEVICE", "vnic rx", "vnic tx", "overlay tx", "overlay rx", "answers", "drops");
            for (final Lab.DeviceStatus status : statuses)
            {
                final Map<String, Double> c = status.counters();
                out.printf("%-6s %12.0f %12.0f %12.0f %12.0f %10.0f %10.0f%n", "d" + status.device().index(),
                    Lab.sum(c, "vsnic_vnic_rx_packets_total"), Lab.sum(c, "vsnic_vnic_tx_packets_total"),
                    Lab.sum(c, "vsnic_overlay_tx_packets_total"), Lab.sum(c, "vsnic_overlay_rx_packets_total"),
                    Lab.sum(c, "vsnic_dataplane_local_answers_total"), Lab.sum(c, "vsnic_dataplane_drops_total"));
            }
            return healthy ? 0 : 1;
        }
    }

    /** {@code vsnic lab exec VM -- CMD...}. */
    @Command(name = "exec", mixinStandardHelpOptions = true, description = "Run a command inside a VM's namespace; its exit status is passed through.")
    static final class Exec extends LabSubcommand
    {
        @Parameters(index = "0", paramLabel = "VM", description = "the VM (d1v1, d2v1, ...)")
        String vm;

        @Parameters(index = "1..*", arity = "1..*", paramLabel = "CMD", description = "the command (after --)")
        List<String> command;

        @Override
        int run() throws LabException
        {
            out().flush();
            return Lab.exec(Lab.load(name), vm, command);
        }
    }

    /** {@code vsnic lab down}. */
    @Command(name = "down", mixinStandardHelpOptions = true,
        description = "Remove a lab: its processes, namespaces (with every link) and files, also after a crash. Idempotent.")
    static final class Down extends LabSubcommand
    {
        @Override
        int run() throws LabException
        {
            final PrintWriter out = out();
            final int removed = Lab.down(name, line -> out.println("  " + line));
            out.println(removed == 0 ? "lab " + name + ": nothing to remove" : "lab " + name + " removed");
            return 0;
        }
    }
}
