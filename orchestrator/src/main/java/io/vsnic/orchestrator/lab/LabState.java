package io.vsnic.orchestrator.lab;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import io.vsnic.orchestrator.model.Json;

/**
 * What a lab is made of, written to {@code LABDIR/lab.json} as it is built (so {@code status} and
 * {@code exec} find devices and VMs). {@code down} does not depend on it: it finds a lab's leftovers by
 * its name prefix.
 *
 * @param name       the lab's name.
 * @param directory  its directory (configs, state directories, logs).
 * @param encryption whether the substrate is encrypted.
 * @param substrate  the substrate namespace (holds the bridge).
 * @param devices    the devices, in order.
 * @param vms        the VMs, in order.
 * @param services   the enclave services, one per device (empty for a lab without the enclave).
 */
public record LabState(String name, String directory, boolean encryption, String substrate, List<Device> devices, List<Vm> vms,
    List<Service> services)
{
    /** The file name inside the lab directory. */
    public static final String FILE = "lab.json";

    public LabState
    {
        devices = devices == null ? List.of() : List.copyOf(devices);
        vms = vms == null ? List.of() : List.copyOf(vms);
        services = services == null ? List.of() : List.copyOf(services);
    }

    /**
     * One virtual edge device.
     *
     * @param index     1-based; also its substrate device id.
     * @param name      device name (the daemon's {@code device.name}).
     * @param namespace its network namespace.
     * @param address   its substrate address.
     * @param pid       the vsnicd process.
     * @param config    its configuration file.
     * @param stateDir  its state directory.
     * @param log       its log file (stdout and stderr).
     * @param keyFile   its identity private key (WireGuard format, mode 0600).
     * @param publicKey its identity public key (base64), listed in the other devices' peers.
     * @param innerAddress its WireGuard inner substrate address, or null when the substrate is plain.
     * @param keylog    its WireGuard key log (for {@code vsnic wg decrypt}), or null when the substrate is plain.
     */
    public record Device(int index, String name, String namespace, String address, long pid, String config, String stateDir,
        String log, String keyFile, String publicKey, String innerAddress, String keylog)
    {
    }

    /**
     * One VM: a namespace whose interface is the TAP vNIC of its device.
     *
     * @param name      short name used by {@code lab exec} ({@code d1v2}).
     * @param device    index of its device.
     * @param namespace its network namespace.
     * @param vnic      the vNIC id on the device.
     * @param tap       the TAP interface (created by the device, moved into the VM namespace).
     * @param mac       its MAC.
     * @param ip        the address it got by DHCP (null until then).
     */
    public record Vm(String name, int device, String namespace, String vnic, String tap, String mac, String ip)
    {
    }

    /**
     * One service of the lab's enclave: a namespace whose interface is the TAP service port of its device.
     *
     * @param name      its name in the enclave ({@code d1svc}).
     * @param device    index of its device.
     * @param namespace its network namespace.
     * @param tap       the TAP interface (created by the device, moved into the namespace).
     * @param mac       its MAC.
     * @param ip        its static service address.
     * @param keyFile   its device's enclave private key.
     * @param publicKey that key's public half (in the other devices' enclave peers).
     * @param endpoint  its device's enclave substrate endpoint "address:port".
     */
    public record Service(String name, int device, String namespace, String tap, String mac, String ip, String keyFile,
        String publicKey, String endpoint)
    {
    }

    LabState withService(final Service service)
    {
        final List<Service> next = new ArrayList<>(services);
        next.add(service);
        return new LabState(name, directory, encryption, substrate, devices, vms, next);
    }

    LabState withDevice(final Device device)
    {
        final List<Device> next = new ArrayList<>(devices);
        next.add(device);
        return new LabState(name, directory, encryption, substrate, next, vms, services);
    }

    LabState withVm(final Vm vm)
    {
        final List<Vm> next = new ArrayList<>(vms);
        next.add(vm);
        return new LabState(name, directory, encryption, substrate, devices, next, services);
    }

    /**
     * @return the VM of that name.
     */
    public Optional<Vm> vm(final String vmName)
    {
        return vms.stream().filter(vm -> vm.name().equals(vmName)).findFirst();
    }

    /**
     * @return the device of that index.
     */
    public Device device(final int index)
    {
        return devices.stream().filter(d -> d.index() == index).findFirst()
            .orElseThrow(() -> new IllegalArgumentException("no device " + index));
    }

    void save() throws IOException
    {
        final Path dir = Path.of(directory);
        final Path temporary = dir.resolve(FILE + ".tmp");
        Files.write(temporary, Json.mapper().writerWithDefaultPrettyPrinter().writeValueAsBytes(this));
        Files.move(temporary, dir.resolve(FILE), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /**
     * @return the saved state of a lab directory, if it has one.
     * @throws IOException when the file exists but cannot be read.
     */
    public static Optional<LabState> load(final Path directory) throws IOException
    {
        try
        {
            return Optional.of(Json.mapper().readValue(Files.readAllBytes(directory.resolve(FILE)), LabState.class));
        }
        catch (final NoSuchFileException ex)
        {
            return Optional.empty();
        }
    }
}
