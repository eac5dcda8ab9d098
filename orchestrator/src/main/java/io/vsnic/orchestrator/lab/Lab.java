package io.vsnic.orchestrator.lab;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import io.vsnic.crypto.DeviceKeys;
import io.vsnic.crypto.KeyFiles;
import io.vsnic.dataplane.nativeio.CpuList;
import io.vsnic.dataplane.nativeio.Syscalls;
import io.vsnic.orchestrator.cluster.ClusterCa;
import io.vsnic.orchestrator.cluster.ClusterJoin;
import io.vsnic.orchestrator.daemon.ConfigException;
import io.vsnic.orchestrator.daemon.DeviceConfig;
import io.vsnic.vnic.netns.NetNs;

/**
 * The virtual edge-device lab: N devices, each a {@code vsnicd} process in its own network namespace,
 * joined by a substrate (one veth pair per device to a Linux bridge in a substrate namespace); M VM
 * namespaces per device, each attached as a TAP vNIC through its device's REST API as a hypervisor
 * integration would, configured by DHCP ({@code udhcpc}) from the device's data plane.
 *
 * <pre>
 *   vl-LAB-s  (substrate)         br0 ── s1 ══ sub0 vl-LAB-d1 (vsnicd, 10.76.0.1, API 127.0.0.1:9470)
 *                                     └─ s2 ══ sub0 vl-LAB-d2 (vsnicd, 10.76.0.2)
 *   vl-LAB-d1v1 (VM)  tLABd1v1 ◀── TAP fd held by vsnicd of d1 (created in vl-LAB-d1, moved here)
 * </pre>
 *
 * Every link lives inside a namespace of the lab, none in the caller's namespace, so deleting the
 * lab's namespaces (found by the prefix {@code vl-LAB-}) and killing the processes inside them
 * ({@code ip netns pids}) removes everything, also after a crash. Files live under
 * {@code /run/vsnic-lab/LAB/}.
 *
 * <p>The API stays on loopback inside each device namespace (the daemon refuses other addresses until
 * the API has authentication); the lab reaches it with {@link NamespaceHttp}, whose socket is opened
 * on a thread that entered the namespace.
 *
 * <p>Identity and encryption: every device gets its identity key pair ({@code LABDIR/dN/device.key},
 * as {@code vsnic keygen -o} writes it) and every peer entry carries the other device's public key
 * ({@code peers[].publicKey}). With {@link Spec#encryption()} (the default of {@code lab up} and the
 * demo) each daemon's configuration has {@code substrate.wireguard} (that key file, UDP port
 * {@value #WIREGUARD_PORT}, inner address {@code 10.78.0.N}, a key log {@code LABDIR/dN/wg.keylog} for
 * {@code vsnic wg decrypt}) and every peer is {@code encryption: wireguard} with the other device's
 * inner address; without it peers are {@code encryption: none} (plain Geneve on the substrate, and
 * each daemon logs its warning for them).
 */
public final class Lab
{
    /** Where labs keep their files. */
    public static final Path BASE = Path.of("/run/vsnic-lab");
    /** Start of every namespace name of every lab. */
    public static final String PREFIX = "vl-";
    /** Most devices per lab. */
    public static final int MAX_DEVICES = 16;
    /** Most VMs per device. */
    public static final int MAX_VMS = 16;
    /** The network every VM joins. */
    public static final String NETWORK = "lab";
    /** Its VNI. */
    public static final int VNI = 100;
    /** IP MTU inside the overlay: substrate 1500 minus Geneve, UDP, IPv4 and inner Ethernet, rounded down. */
    public static final int OVERLAY_MTU = 1400;
    /** The API port inside each device namespace. */
    public static final int API_PORT = 9470;
    /** The substrate's Geneve port. */
    public static final int GENEVE_PORT = 6081;
    /** The substrate's WireGuard port (encrypted labs). */
    public static final int WIREGUARD_PORT = 51820;
    /**
     * IP MTU inside the overlay of an encrypted lab: 1500 minus outer IPv4 + UDP (28), WireGuard header
     * and tag (32), padding (up to 15), inner IPv4 + UDP (28), Geneve (8) and inner Ethernet (14), rounded
     * down with room for Geneve options.
     */
    public static final int ENCRYPTED_OVERLAY_MTU = 1340;
    /** File name of each device's WireGuard key log in its directory (encrypted labs). */
    public static final String KEYLOG = "wg.keylog";

    /** The lab's enclave (with {@link Spec#enclave()}). */
    public static final String ENCLAVE = "svc";
    /** Its VNI. */
    public static final int ENCLAVE_VNI = 7001;
    /** Its address space (outside the lab network's 10.77.0.0/16). */
    public static final String ENCLAVE_CIDR = "10.79.0.0/24";
    /** Its gateway. */
    public static final String ENCLAVE_GATEWAY = "10.79.0.1";
    /** Each device's enclave substrate port (WireGuard only), on the device's substrate address. */
    public static final int ENCLAVE_PORT = 51900;
    /** File name of each device's enclave private key in its directory. */
    public static final String ENCLAVE_KEY = "enclave.key";
    /** Each device's Raft port on its substrate address (cluster labs). */
    public static final int RAFT_PORT = 9480;

    private static final Pattern NAME = Pattern.compile("[a-z0-9]{1,8}");
    private static final Duration START_TIMEOUT = Duration.ofSeconds(60);
    private static final Duration DHCP_TIMEOUT = Duration.ofSeconds(30);
    private static final Duration ATTACH_TIMEOUT = Duration.ofSeconds(10);

    private Lab()
    {
    }

    /**
     * What to build.
     *
     * @param name       lab name, 1..8 of [a-z0-9] (keeps every interface name within 15 characters).
     * @param devices    1..{@link #MAX_DEVICES}.
     * @param vmsPerDevice 0..{@link #MAX_VMS}.
     * @param encryption WireGuard-encrypted substrate (peers {@code encryption: wireguard}); false: plain Geneve.
     * @param enclave    also the enclave {@value #ENCLAVE}: one service namespace per device, attached as a TAP service.
     * @param cluster    the devices form one cluster (Raft over mutual TLS on the substrate, port {@value #RAFT_PORT}):
     *                   d1 runs {@code cluster init}, the others join with a token; the network is written once and
     *                   every device derives its peers and remote locations from the replicated state.
     */
    public record Spec(String name, int devices, int vmsPerDevice, boolean encryption, boolean enclave, boolean cluster)
    {
        /** A lab of standalone devices. */
        public Spec(final String name, final int devices, final int vmsPerDevice, final boolean encryption, final boolean enclave)
        {
            this(name, devices, vmsPerDevice, encryption, enclave, false);
        }

        /** A lab of standalone devices without the enclave. */
        public Spec(final String name, final int devices, final int vmsPerDevice, final boolean encryption)
        {
            this(name, devices, vmsPerDevice, encryption, false, false);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // names

    /**
     * @throws LabException when the name is not 1..8 of [a-z0-9].
     */
    public static void checkName(final String name) throws LabException
    {
        if (name == null || !NAME.matcher(name).matches())
        {
            throw new LabException("lab name must be 1..8 characters of [a-z0-9]: " + name);
        }
    }

    /** @return the lab's directory. */
    public static Path directory(final String name)
    {
        return BASE.resolve(name);
    }

    /** @return the prefix of every namespace of that lab. */
    public static String namespacePrefix(final String name)
    {
        return PREFIX + name + "-";
    }

    static String substrateNamespace(final String lab)
    {
        return namespacePrefix(lab) + "s";
    }

    static String deviceNamespace(final String lab, final int device)
    {
        return namespacePrefix(lab) + "d" + device;
    }

    /** @return the short VM name used by {@code lab exec}. */
    public static String vmName(final int device, final int vm)
    {
        return "d" + device + "v" + vm;
    }

    static String vmNamespace(final String lab, final int device, final int vm)
    {
        return namespacePrefix(lab) + vmName(device, vm);
    }

    static String tapName(final String lab, final int device, final int vm)
    {
        return "t" + lab + vmName(device, vm);
    }

    static String substrateAddress(final int device)
    {
        return "10.76.0." + device;
    }

    static String innerAddress(final int device)
    {
        return "10.78.0." + device;
    }

    static String vmAddress(final int device, final int vm)
    {
        return "10.77." + device + "." + (10 + vm);
    }

    /** @return the short name of a device's enclave service ({@code d1svc}), also its name in the enclave. */
    public static String serviceName(final int device)
    {
        return "d" + device + ENCLAVE;
    }

    static String serviceNamespace(final String lab, final int device)
    {
        return namespacePrefix(lab) + serviceName(device);
    }

    static String serviceTap(final String lab, final int device)
    {
        return "e" + lab + "d" + device;
    }

    static String serviceAddress(final int device)
    {
        return "10.79.0." + (10 + device);
    }

    static String serviceMac(final int device)
    {
        return String.format(Locale.ROOT, "02:79:00:00:00:%02x", device);
    }

    static String enclaveInnerAddress(final int device)
    {
        return "10.98.0." + device;
    }

    static String vmMac(final int device, final int vm)
    {
        return String.format(Locale.ROOT, "02:76:00:00:%02x:%02x", device, vm);
    }

    // ---------------------------------------------------------------------------------------------
    // preconditions

    /**
     * @return why this machine cannot run the lab, or empty when it can.
     */
    public static Optional<String> missingPrerequisite()
    {
        if (!NetNs.isRoot())
        {
            return Optional.of("needs root (it creates network namespaces and TAP devices)");
        }
        for (final String[] tool : new String[][] {{"ip", "iproute2"}, {"udhcpc", "udhcpc"}})
        {
            if (NetNs.findExecutable(tool[0]).isEmpty())
            {
                return Optional.of("needs " + tool[0] + ": apt-get install -y --no-install-recommends " + tool[1]);
            }
        }
        if (!Files.exists(Path.of("/dev/net/tun")))
        {
            return Optional.of("needs /dev/net/tun (TUN/TAP support in the kernel)");
        }
        return Optional.empty();
    }

    /**
     * @return the namespaces that exist with this lab's prefix.
     */
    public static List<String> namespaces(final String lab)
    {
        final String prefix = namespacePrefix(lab);
        final List<String> found = new ArrayList<>();
        for (final Path dir : List.of(Path.of("/run/netns"), Path.of("/var/run/netns")))
        {
            if (!Files.isDirectory(dir))
            {
                continue;
            }
            try (Stream<Path> entries = Files.list(dir))
            {
                entries.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(prefix) && !found.contains(n)).forEach(found::add);
            }
            catch (final IOException ignored)
            {
                // unreadable: nothing found there
            }
        }
        found.sort(Comparator.naturalOrder());
        return found;
    }

    // ---------------------------------------------------------------------------------------------
    // up

    /**
     * Builds a lab. On failure everything made so far is removed (the last lines of a failing daemon's
     * log are part of the message).
     *
     * @param spec     what to build.
     * @param launcher how to start a vsnicd.
     * @param progress receives one line per step.
     * @return the lab.
     */
    public static LabState up(final Spec spec, final DaemonLauncher launcher, final Consumer<String> progress) throws LabException
    {
        return up(spec, launcher, progress, () -> false);
    }

    /**
     * Builds a lab, checking {@code cancelled} between steps (a shutdown hook sets it on Ctrl-C): once
     * it is true, {@code up} stops, removes what it made and throws.
     */
    public static LabState up(final Spec spec, final DaemonLauncher launcher, final Consumer<String> progress,
        final BooleanSupplier cancelled) throws LabException
    {
        checkName(spec.name());
        if (spec.devices() < 1 || spec.devices() > MAX_DEVICES)
        {
            throw new LabException("--devices must be 1.." + MAX_DEVICES + ": " + spec.devices());
        }
        if (spec.vmsPerDevice() < 0 || spec.vmsPerDevice() > MAX_VMS)
        {
            throw new LabException("--vms-per-device must be 0.." + MAX_VMS + ": " + spec.vmsPerDevice());
        }
        if (spec.cluster() && spec.enclave())
        {
            throw new LabException("--cluster and --enclave together are not supported: the lab's enclave gives every device its own " +
                "enclave substrate (address, key file, inner address), and one replicated enclave resource has one substrate section");
        }
        try
        {
            workerCpus(1, System.getenv("VSNIC_LAB_WORKERS"), System.getenv("VSNIC_LAB_WORKER_CPUS"), null);
            tapOffloads(System.getenv("VSNIC_LAB_OFFLOADS"));
        }
        catch (final IllegalArgumentException ex)
        {
            throw new LabException(ex.getMessage());
        }
        final Optional<String> missing = missingPrerequisite();
        if (missing.isPresent())
        {
            throw new LabException(missing.get());
        }
        final Path dir = directory(spec.name());
        if (!namespaces(spec.name()).isEmpty() || Files.exists(dir))
        {
            throw new LabException("lab " + spec.name() + " already exists (or left something behind): run 'vsnic lab down --name " +
                spec.name() + "' first");
        }
        try
        {
            return build(spec, dir, launcher, progress, cancelled);
        }
        catch (final LabException | IOException | RuntimeException ex)
        {
            final String message = ex instanceof CancelledException || cancelled.getAsBoolean() ? "interrupted" :
                ex.getMessage() == null ? ex.toString() : ex.getMessage();
            progress.accept("lab up failed: " + message.lines().findFirst().orElse("") + "; removing what was made");
            down(spec.name(), progress);
            throw ex instanceof LabException lab && !cancelled.getAsBoolean() ? lab : new LabException(message, ex);
        }
    }

    /** Thrown between steps of {@code up} once it was cancelled. */
    private static final class CancelledException extends RuntimeException
    {
        private static final long serialVersionUID = 1L;

        CancelledException()
        {
            super("interrupted", null, false, false);
        }
    }

    private static LabState build(final Spec spec, final Path dir, final DaemonLauncher launcher, final Consumer<String> progress,
        final BooleanSupplier cancelled) throws LabException, IOException
    {
        final Runnable check = () ->
        {
            if (cancelled.getAsBoolean())
            {
                throw new CancelledException();
            }
        };
        final String lab = spec.name();
        Files.createDirectories(dir);
        final Path script = dir.resolve("udhcpc.sh");
        Files.writeString(script, UDHCPC_SCRIPT);
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwx------"));
        final String substrate = substrateNamespace(lab);
        LabState state = new LabState(lab, dir.toString(), spec.encryption(), substrate, List.of(), List.of(), List.of());
        state.save();

        progress.accept("substrate: namespace " + substrate + ", bridge br0");
        addNamespace(substrate);
        ip("-n", substrate, "link", "add", "br0", "type", "bridge");
        ip("-n", substrate, "link", "set", "br0", "up");

        for (int d = 1; d <= spec.devices(); d++)
        {
            check.run();
            final String ns = deviceNamespace(lab, d);
            final String address = substrateAddress(d);
            addNamespace(ns);
            ip("-n", substrate, "link", "add", "s" + d, "type", "veth", "peer", "name", "sub0", "netns", ns);
            ip("-n", substrate, "link", "set", "s" + d, "master", "br0", "up");
            ip("-n", ns, "addr", "add", address + "/24", "dev", "sub0");
            ip("-n", ns, "link", "set", "sub0", "up");
            if (spec.enclave())
            {
                // the enclave's substrate port binds after vsnicd has drawn its source ports from 49152..65535:
                // reserved in the device's namespace, neither vsnicd's pool nor the kernel hands it out first
                run(Duration.ofSeconds(5), "ip", "netns", "exec", ns, "sh", "-c",
                    "echo " + ENCLAVE_PORT + " > /proc/sys/net/ipv4/ip_local_reserved_ports");
            }

            final Path deviceDir = Files.createDirectories(dir.resolve("d" + d));
            final Path config = deviceDir.resolve("device.yaml");
            final Path stateDir = deviceDir.resolve("state");
            final Path log = deviceDir.resolve("vsnicd.log");
            final Path keyFile = deviceDir.resolve("device.key");
            final Path keylog = spec.encryption() ? deviceDir.resolve(KEYLOG) : null;
            final String publicKey = identity(keyFile);
            Files.writeString(config, deviceConfig(lab, d, keyFile, keylog, spec.cluster(), System.getenv("VSNIC_LAB_REKEY_SECONDS"),
                System.getenv("VSNIC_LAB_WORKERS"), System.getenv("VSNIC_LAB_SOURCE_PORTS"),
                workerCpus(d, System.getenv("VSNIC_LAB_WORKERS"), System.getenv("VSNIC_LAB_WORKER_CPUS"), Syscalls.allowedCpus())));
            if (spec.cluster())
            {
                clusterIdentity(state, d, config, stateDir, progress);
            }
            final long pid = launcher.start(ns, config, stateDir, log);
            final LabState.Device device = new LabState.Device(d, lab + "-d" + d, ns, address, pid, config.toString(), stateDir.toString(),
                log.toString(), keyFile.toString(), publicKey, spec.encryption() ? innerAddress(d) : null,
                keylog == null ? null : keylog.toString());
            state = state.withDevice(device);
            state.save();
            progress.accept("device d" + d + ": namespace " + ns + ", substrate " + address +
                (spec.encryption() ? " (WireGuard :" + WIREGUARD_PORT + ", inner " + innerAddress(d) + ")" : " (plain Geneve)") +
                ", key " + publicKey + ", vsnicd pid " + pid);
            if (spec.cluster() && d == 1)
            {
                // the first device must answer before the others can join through it
                awaitHealthy(device, cancelled);
                awaitCluster(state, cancelled, view -> !view.path("head").isNull(), "head elected");
            }
        }

        for (final LabState.Device device : state.devices())
        {
            check.run();
            awaitHealthy(device, cancelled);
        }
        progress.accept("devices: " + spec.devices() + " vsnicd up, API answering");

        if (spec.cluster())
        {
            awaitCluster(state, cancelled, view -> view.path("members").size() == spec.devices(), spec.devices() + " members");
            final NamespaceHttp.Response applied = api(state.device(1)).send("POST", "/v1/apply", manifest(state, 1, spec));
            if (!applied.ok())
            {
                throw new LabException("device d1: apply: " + applied.error());
            }
            for (final LabState.Device device : state.devices())
            {
                awaitPeers(device, spec.devices() - 1, cancelled);
            }
            progress.accept("cluster " + lab + ": " + spec.devices() + " members, head " + clusterView(state.device(1)).path("head").asText() +
                "; network " + NETWORK + " (VNI " + VNI + ", 10.77.0.0/16) written once, peers derived from the membership");
        }
        else
        {
            for (final LabState.Device device : state.devices())
            {
                final NamespaceHttp api = api(device);
                final NamespaceHttp.Response applied = api.send("POST", "/v1/apply", manifest(state, device.index(), spec));
                if (!applied.ok())
                {
                    throw new LabException("device d" + device.index() + ": apply: " + applied.error());
                }
            }
            progress.accept("network " + NETWORK + " (VNI " + VNI + ", 10.77.0.0/16) spans " + spec.devices() + " devices: peers and remotes applied");
        }

        final String offloads = tapOffloads(System.getenv("VSNIC_LAB_OFFLOADS"));
        for (final LabState.Device device : state.devices())
        {
            for (int v = 1; v <= spec.vmsPerDevice(); v++)
            {
                check.run();
                final LabState.Vm vm = attachVm(lab, device, v, script, offloads);
                state = state.withVm(vm);
                state.save();
                progress.accept("vm " + vm.name() + ": namespace " + vm.namespace() + ", TAP " + vm.tap() +
                    (offloads.equals("on") ? "" : " (offloads off)") + ", MAC " + vm.mac() + ", DHCP " + vm.ip());
            }
        }
        if (spec.enclave())
        {
            state = buildEnclave(state, progress, check);
        }
        return state;
    }

    /**
     * The enclave {@value #ENCLAVE}: a key per device, {@code POST /v1/enclaves} on each device (its own
     * substrate port and key, every other device as a peer with its enclave key), and one service
     * namespace per device behind a TAP service with a static address (services get no DHCP).
     */
    private static LabState buildEnclave(final LabState initial, final Consumer<String> progress, final Runnable check)
        throws LabException, IOException
    {
        LabState state = initial;
        final Map<Integer, String> keys = new LinkedHashMap<>();
        for (final LabState.Device device : state.devices())
        {
            keys.put(device.index(), identity(Path.of(state.directory(), "d" + device.index(), ENCLAVE_KEY)));
        }
        for (final LabState.Device device : state.devices())
        {
            check.run();
            final int d = device.index();
            final String ns = serviceNamespace(state.name(), d);
            final String tap = serviceTap(state.name(), d);
            addNamespace(ns);
            final NamespaceHttp.Response created = api(device).send("POST", "/v1/enclaves", enclave(state, d, keys));
            if (!created.ok())
            {
                throw new LabException("device d" + d + ": create enclave " + ENCLAVE + ": " + created.error());
            }
            // As for VMs: the daemon made the TAP in its namespace and holds its fd; the service side moves out.
            ip("-n", device.namespace(), "link", "set", "dev", tap, "netns", ns);
            ip("-n", ns, "link", "set", "dev", tap, "address", serviceMac(d));
            ip("-n", ns, "link", "set", "dev", tap, "mtu", Integer.toString(ENCRYPTED_OVERLAY_MTU));
            run(Duration.ofSeconds(5), "ip", "netns", "exec", ns, "sh", "-c",
                "[ ! -e /proc/sys/net/ipv6/conf/" + tap + "/disable_ipv6 ] || echo 1 > /proc/sys/net/ipv6/conf/" + tap + "/disable_ipv6");
            ip("-n", ns, "addr", "add", serviceAddress(d) + "/24", "dev", tap);
            ip("-n", ns, "link", "set", "dev", tap, "up");
            final LabState.Service service = new LabState.Service(serviceName(d), d, ns, tap, serviceMac(d), serviceAddress(d),
                Path.of(state.directory(), "d" + d, ENCLAVE_KEY).toString(), keys.get(d), device.address() + ":" + ENCLAVE_PORT);
            state = state.withService(service);
            state.save();
            progress.accept("enclave " + ENCLAVE + " service " + service.name() + ": namespace " + ns + ", TAP " + tap + ", IP " +
                service.ip() + " (static), enclave substrate " + service.endpoint() + ", key " + service.publicKey());
        }
        progress.accept("enclave " + ENCLAVE + " (VNI " + ENCLAVE_VNI + ", " + ENCLAVE_CIDR + ") spans " + state.devices().size() +
            " devices, each with its own WireGuard port " + ENCLAVE_PORT + " and key");
        return state;
    }

    /** The enclave resource as one device sees it: its own substrate, every device's service, the other devices as peers. */
    static Map<String, Object> enclave(final LabState state, final int device, final Map<Integer, String> keys)
    {
        final List<Map<String, Object>> services = new ArrayList<>();
        final List<Map<String, Object>> peers = new ArrayList<>();
        for (final LabState.Device other : state.devices())
        {
            final int k = other.index();
            final Map<String, Object> service = new LinkedHashMap<>();
            service.put("name", serviceName(k));
            service.put("device", other.name());
            service.put("mac", serviceMac(k));
            service.put("ip", serviceAddress(k));
            service.put("backend", k == device ? Map.of("type", "tap", "name", serviceTap(state.name(), k)) : Map.of("type", "memory"));
            services.add(service);
            if (k != device)
            {
                final Map<String, Object> peer = new LinkedHashMap<>();
                peer.put("name", other.name());
                peer.put("device", k);
                peer.put("endpoint", other.address() + ":" + ENCLAVE_PORT);
                peer.put("publicKey", keys.get(k));
                peer.put("innerAddress", enclaveInnerAddress(k));
                peers.add(peer);
            }
        }
        final Map<String, Object> substrate = new LinkedHashMap<>();
        substrate.put("bindAddress", substrateAddress(device));
        substrate.put("port", ENCLAVE_PORT);
        substrate.put("privateKeyFile", Path.of(state.directory(), "d" + device, ENCLAVE_KEY).toString());
        substrate.put("innerAddress", enclaveInnerAddress(device));
        final Map<String, Object> enclave = new LinkedHashMap<>();
        enclave.put("name", ENCLAVE);
        enclave.put("vni", ENCLAVE_VNI);
        enclave.put("cidr", ENCLAVE_CIDR);
        enclave.put("gateway", ENCLAVE_GATEWAY);
        enclave.put("substrate", substrate);
        enclave.put("services", services);
        enclave.put("peers", peers);
        return enclave;
    }

    private static final String UDHCPC_SCRIPT = """
        #!/bin/sh
        # vsnic lab: applies address, default route and MTU from the lease (never /etc/resolv.conf).
        case "$1" in
          bound|renew)
            ip addr flush dev "$interface"
            ip addr add "$ip/$mask" dev "$interface"
            [ -n "$mtu" ] && ip link set "$interface" mtu "$mtu"
            [ -n "$router" ] && ip route replace default via "${router%% *}" dev "$interface"
            ;;
        esac
        exit 0
        """;

    /**
     * Generates a device's identity key pair (what {@code vsnic keygen -o FILE} does) into {@code keyFile}
     * (mode 0600).
     *
     * @return the public key, base64.
     */
    static String identity(final Path keyFile) throws IOException
    {
        final DeviceKeys keys = DeviceKeys.generate(new SecureRandom());
        final byte[] secret = keys.privateKey();
        try
        {
            KeyFiles.writePrivateKey(keyFile, secret);
            return keys.publicKeyBase64();
        }
        finally
        {
            Arrays.fill(secret, (byte)0);
            keys.destroy();
        }
    }

    /**
     * @param keylog the WireGuard key log to write, or null for a plain (unencrypted) substrate.
     */
    static String deviceConfig(final String lab, final int device, final Path keyFile, final Path keylog, final boolean cluster)
    {
        return deviceConfig(lab, device, keyFile, keylog, cluster, null);
    }

    /**
     * @param rekeySeconds {@code substrate.wireguard.rekeyAfterSeconds} (from {@code $VSNIC_LAB_REKEY_SECONDS}: the
     *                     soak shortens WireGuard's rekey interval with it), or null or blank for the protocol's 120 s.
     *                     The daemon validates it (10..120) and refuses to start otherwise.
     */
    static String deviceConfig(final String lab, final int device, final Path keyFile, final Path keylog, final boolean cluster,
        final String rekeySeconds)
    {
        return deviceConfig(lab, device, keyFile, keylog, cluster, rekeySeconds, null, null, null);
    }

    /**
     * The CPUs device {@code device}'s workers are pinned to, as each device of a real deployment has
     * cores of its own: by default ({@code $VSNIC_LAB_WORKER_CPUS} unset or {@code auto}) the devices take
     * the CPUs this process may run on in turn, {@code workers} each, wrapping around when the lab has more
     * workers than CPUs; {@code none} leaves the workers to the scheduler.
     *
     * @param workers {@code $VSNIC_LAB_WORKERS} (null or blank: 1; anything else not a number: no pinning, the
     *                daemon then refuses the worker count itself).
     * @param allowed the CPUs this process may run on, ascending, or null when unknown (no pinning).
     * @return a CPU list for {@code dataplane.workerCpus}, or null for none.
     * @throws IllegalArgumentException when {@code setting} is neither {@code auto} nor {@code none}.
     */
    static String workerCpus(final int device, final String workers, final String setting, final int[] allowed)
    {
        final String mode = setting == null || setting.isBlank() ? "auto" : setting.trim();
        if (mode.equals("none"))
        {
            return null;
        }
        if (!mode.equals("auto"))
        {
            throw new IllegalArgumentException("VSNIC_LAB_WORKER_CPUS must be auto or none: " + setting);
        }
        final String count = workers == null || workers.isBlank() ? "1" : workers.trim();
        if (allowed == null || allowed.length == 0 || !count.matches("[0-9]{1,2}") || Integer.parseInt(count) < 1)
        {
            return null;
        }
        final int perDevice = Integer.parseInt(count);
        final java.util.LinkedHashSet<Integer> cpus = new java.util.LinkedHashSet<>();
        for (int i = 0; i < perDevice; i++)
        {
            cpus.add(allowed[((device - 1) * perDevice + i) % allowed.length]);
        }
        return CpuList.format(cpus.stream().mapToInt(Integer::intValue).toArray());
    }

    /**
     * @param workers     {@code dataplane.workers} (from {@code $VSNIC_LAB_WORKERS}; the substrate then opens as many
     *                    receive queues), or null or blank for one worker. The daemon validates it (1..64).
     * @param sourcePorts {@code substrate.sourcePorts} (from {@code $VSNIC_LAB_SOURCE_PORTS}), or null or blank for
     *                    the default. The daemon validates it (0..64).
     * @param workerCpus  {@code dataplane.workerCpus} ({@link #workerCpus}), or null for unpinned workers.
     */
    static String deviceConfig(final String lab, final int device, final Path keyFile, final Path keylog, final boolean cluster,
        final String rekeySeconds, final String workers, final String sourcePorts, final String workerCpus)
    {
        final String pinning = workerCpus == null ? "" : ", workerCpus: \"" + workerCpus + "\"";
        final String sourcePortsSetting = sourcePorts == null || sourcePorts.isBlank() ? "" : ", sourcePorts: " + yamlNumber(sourcePorts);
        final String workerCount = workers == null || workers.isBlank() ? "1" : yamlNumber(workers);
        final String clusterSection = cluster ? "cluster: {name: %s, raft: \"%s:%d\"}\n".formatted(lab, substrateAddress(device), RAFT_PORT) : "";
        final String rekey = rekeySeconds == null || rekeySeconds.isBlank() ? "" :
            ", rekeyAfterSeconds: " + yamlNumber(rekeySeconds);
        final String wireguard = keylog == null ? "" : ", wireguard: {privateKeyFile: \"%s\", listenPort: %d, innerAddress: %s, keylog: \"%s\"%s}"
            .formatted(keyFile, WIREGUARD_PORT, innerAddress(device), keylog, rekey);
        return """
            # vsnic lab %s, device d%d (written by 'vsnic lab up')
            device: {name: %s-d%d, id: %d}
            api: {listen: "127.0.0.1:%d"}
            substrate: {enabled: true, bindAddress: %s, genevePort: %d, vxlanPort: 0, transport: epoll%s%s}
            dataplane: {workers: %s%s, frameSlots: 4096, connectionCapacity: 16384}
            """.formatted(lab, device, lab, device, device, API_PORT, substrateAddress(device), GENEVE_PORT, sourcePortsSetting, wireguard,
                workerCount, pinning) +
            clusterSection;
    }

    /**
     * @return whether the lab's devices use remote checksum offload between them: on unless
     *     {@code $VSNIC_LAB_REMOTE_CHECKSUM} is 0 or false (for measuring without it).
     */
    static boolean remoteChecksum()
    {
        final String value = System.getenv("VSNIC_LAB_REMOTE_CHECKSUM");
        return value == null || !(value.trim().equals("0") || value.trim().equalsIgnoreCase("false"));
    }

    /**
     * An environment variable's value for a numeric YAML field: the number itself, or anything else
     * quoted, so that the daemon's validation names the field instead of the YAML parser failing.
     */
    private static String yamlNumber(final String value)
    {
        final String trimmed = value.trim();
        return trimmed.matches("[0-9]{1,9}") ? trimmed : "\"" + trimmed + "\"";
    }

    /**
     * The desired state of one device: the lab network with a remote entry for every VM on the other
     * devices, an open security group, and every other device as a peer.
     */
    static Map<String, Object> manifest(final LabState state, final int device, final Spec spec)
    {
        final List<Map<String, Object>> remotes = new ArrayList<>();
        final List<Map<String, Object>> peers = new ArrayList<>();
        for (final LabState.Device other : state.devices())
        {
            if (other.index() == device || spec.cluster())
            {
                // a cluster derives peers and remote locations from its membership and where each vNIC lives
                continue;
            }
            for (int v = 1; v <= spec.vmsPerDevice(); v++)
            {
                remotes.add(Map.of("ip", vmAddress(other.index(), v), "mac", vmMac(other.index(), v), "device", other.index()));
            }
            final Map<String, Object> peer = new LinkedHashMap<>();
            peer.put("name", other.name());
            peer.put("device", other.index());
            peer.put("endpoint", other.address() + ":" + (spec.encryption() ? WIREGUARD_PORT : GENEVE_PORT));
            peer.put("publicKey", other.publicKey());
            peer.put("encapsulation", "geneve");
            peer.put("remoteChecksum", remoteChecksum());
            if (spec.encryption())
            {
                peer.put("encryption", "wireguard");
                peer.put("innerAddress", innerAddress(other.index()));
            }
            else
            {
                peer.put("encryption", "none");
            }
            peers.add(peer);
        }
        final Map<String, Object> network = new LinkedHashMap<>();
        network.put("name", NETWORK);
        network.put("vni", VNI);
        network.put("mtu", spec.encryption() ? ENCRYPTED_OVERLAY_MTU : OVERLAY_MTU);
        network.put("subnets", List.of(Map.of("cidr", "10.77.0.0/16", "gateway", "10.77.0.1")));
        network.put("remotes", remotes);
        final Map<String, Object> group = new LinkedHashMap<>();
        group.put("name", "open");
        group.put("rules", List.of(Map.of("direction", "ingress", "protocol", "any", "cidr", "0.0.0.0/0")));
        final Map<String, Object> manifest = new LinkedHashMap<>();
        manifest.put("networks", List.of(network));
        manifest.put("securityGroups", List.of(group));
        if (!spec.cluster())
        {
            manifest.put("peers", peers);
        }
        return manifest;
    }

    /**
     * Whether the VMs' TAP vNICs negotiate offloads (backend option {@code offloads}): {@code on} unless
     * {@code $VSNIC_LAB_OFFLOADS} says {@code off}, for measuring the path without them (one frame of at most
     * the MTU per read and write, the guests segment and checksum).
     *
     * @param setting the variable's value, or null.
     * @return {@code on} or {@code off}.
     * @throws IllegalArgumentException when {@code setting} is neither.
     */
    static String tapOffloads(final String setting)
    {
        final String mode = setting == null || setting.isBlank() ? "on" : setting.trim();
        if (!mode.equals("on") && !mode.equals("off"))
        {
            throw new IllegalArgumentException("VSNIC_LAB_OFFLOADS must be on or off: " + setting);
        }
        return mode;
    }

    private static LabState.Vm attachVm(final String lab, final LabState.Device device, final int v, final Path script,
        final String offloads) throws LabException, IOException
    {
        final String ns = vmNamespace(lab, device.index(), v);
        final String tap = tapName(lab, device.index(), v);
        final String mac = vmMac(device.index(), v);
        final String vnic = vmName(device.index(), v);
        addNamespace(ns);
        final Map<String, Object> body = new LinkedHashMap<>();
        body.put("id", vnic);
        body.put("network", NETWORK);
        body.put("ip", vmAddress(device.index(), v));
        body.put("mac", mac);
        body.put("securityGroups", List.of("open"));
        body.put("backend", Map.of("type", "tap", "name", tap, "offloads", offloads));
        final NamespaceHttp.Response created = api(device).send("POST", "/v1/vnics", body);
        if (!created.ok())
        {
            throw new LabException("device d" + device.index() + ": attach vNIC " + vnic + ": " + created.error());
        }
        // The daemon created the TAP in its own namespace and holds its fd; the VM side moves out. In a cluster
        // the device attaches it once it has applied the replicated write, which may be just after the answer.
        final long deadline = System.nanoTime() + ATTACH_TIMEOUT.toNanos();
        while (!NetNs.ipIn(device.namespace(), "link", "show", "dev", tap).ok() && System.nanoTime() < deadline)
        {
            sleep(50);
        }
        ip("-n", device.namespace(), "link", "set", "dev", tap, "netns", ns);
        ip("-n", ns, "link", "set", "dev", tap, "address", mac);
        run(Duration.ofSeconds(5), "ip", "netns", "exec", ns, "sh", "-c",
            "[ ! -e /proc/sys/net/ipv6/conf/" + tap + "/disable_ipv6 ] || echo 1 > /proc/sys/net/ipv6/conf/" + tap + "/disable_ipv6");
        ip("-n", ns, "link", "set", "dev", tap, "up");
        final NetNs.Result dhcp = NetNs.run(DHCP_TIMEOUT, List.of(executable("ip"), "netns", "exec", ns, executable("udhcpc"), "-i", tap,
            "-n", "-q", "-f", "-t", "5", "-T", "2", "-O", "mtu", "-s", script.toString()));
        if (!dhcp.ok())
        {
            throw new LabException("vm " + vnic + ": no DHCP lease from device d" + device.index() + ": " + dhcp.describe());
        }
        final String ip = vmIp(ns, tap).orElseThrow(() -> new LabException("vm " + vnic + ": DHCP succeeded but " + tap + " has no address"));
        return new LabState.Vm(vnic, device.index(), ns, vnic, tap, mac, ip);
    }

    private static final Pattern INET = Pattern.compile("inet (\\d+\\.\\d+\\.\\d+\\.\\d+)/");

    /**
     * @return the IPv4 address on a VM's interface, if it has one.
     */
    public static Optional<String> vmIp(final String ns, final String tap)
    {
        final NetNs.Result result = NetNs.ipIn(ns, "-4", "-o", "addr", "show", "dev", tap);
        final Matcher matcher = INET.matcher(result.stdout());
        return result.ok() && matcher.find() ? Optional.of(matcher.group(1)) : Optional.empty();
    }

    static NamespaceHttp api(final LabState.Device device)
    {
        return new NamespaceHttp(device.namespace(), "127.0.0.1", API_PORT);
    }

    private static void awaitHealthy(final LabState.Device device, final BooleanSupplier cancelled) throws LabException
    {
        final long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        String last = "no answer";
        while (System.nanoTime() < deadline && !cancelled.getAsBoolean())
        {
            if (!alive(device.pid()))
            {
                throw new LabException("device d" + device.index() + ": vsnicd exited during start; its log " + device.log() + " ends:\n" +
                    tail(Path.of(device.log()), 15));
            }
            try
            {
                final NamespaceHttp.Response response = api(device).get("/v1/status");
                if (response.ok())
                {
                    return;
                }
                last = response.error();
            }
            catch (final IOException ex)
            {
                last = String.valueOf(ex.getMessage());
            }
            sleep(200);
        }
        throw new LabException("device d" + device.index() + ": API not answering after " + START_TIMEOUT.toSeconds() + " s (" + last +
            "); log " + device.log() + " ends:\n" + tail(Path.of(device.log()), 15));
    }

    /**
     * Cluster identity of device {@code d} before its daemon starts: d1 runs {@code cluster init} (the CA and
     * its certificate, as {@code vsnic cluster init} does); every other device joins through d1's API with
     * a fresh token, as {@code vsnic cluster join} does ({@link ClusterJoin}).
     */
    private static void clusterIdentity(final LabState state, final int d, final Path config, final Path stateDir,
        final Consumer<String> progress) throws LabException, IOException
    {
        final Path directory = stateDir.resolve("cluster");
        try
        {
            if (d == 1)
            {
                ClusterCa.create(directory, state.name()).issueInto(directory, state.name() + "-d1", List.of(substrateAddress(1)));
                progress.accept("cluster " + state.name() + ": CA and d1's certificate in " + directory);
                return;
            }
            final NamespaceHttp head = api(state.device(1));
            final NamespaceHttp.Response token = head.send("POST", "/v1/cluster/tokens", Map.of("ttlSeconds", 60));
            if (!token.ok())
            {
                throw new LabException("device d1: join token: " + token.error());
            }
            final ClusterJoin join;
            try
            {
                join = ClusterJoin.prepare(DeviceConfig.load(config), substrateAddress(d) + ":" + RAFT_PORT, token.json().path("token").asText(),
                    stateDir);
            }
            catch (final ConfigException ex)
            {
                throw new LabException("device d" + d + ": " + ex.getMessage(), ex);
            }
            final NamespaceHttp.Response admitted = head.send("POST", "/v1/cluster/join", join.request());
            if (!admitted.ok())
            {
                throw new LabException("device d" + d + ": join through d1: " + admitted.error());
            }
            join.complete(admitted.json(), config, stateDir);
            progress.accept("device d" + d + ": admitted into cluster " + state.name() + " (token from d1, certificate in " + directory + ")");
        }
        catch (final GeneralSecurityException ex)
        {
            throw new LabException("device d" + d + ": cluster identity: " + ex.getMessage(), ex);
        }
    }

    /**
     * @return a device's view of the cluster ({@code GET /v1/cluster}).
     * @throws LabException when its API does not answer.
     */
    public static JsonNode clusterView(final LabState.Device device) throws LabException
    {
        try
        {
            return api(device).getJson("/v1/cluster");
        }
        catch (final IOException ex)
        {
            throw new LabException("device d" + device.index() + ": GET /v1/cluster: " + ex.getMessage(), ex);
        }
    }

    private static void awaitCluster(final LabState state, final BooleanSupplier cancelled,
        final java.util.function.Predicate<JsonNode> condition, final String what) throws LabException
    {
        final long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        JsonNode view = null;
        while (System.nanoTime() < deadline && !cancelled.getAsBoolean())
        {
            view = clusterView(state.device(1));
            if (condition.test(view))
            {
                return;
            }
            sleep(200);
        }
        throw new LabException("cluster " + state.name() + ": not " + what + " after " + START_TIMEOUT.toSeconds() + " s; d1 sees " + view);
    }

    private static void awaitPeers(final LabState.Device device, final int peers, final BooleanSupplier cancelled) throws LabException
    {
        final long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        int seen = -1;
        while (System.nanoTime() < deadline && !cancelled.getAsBoolean())
        {
            try
            {
                seen = api(device).getJson("/v1/topology").path("peers").size();
                if (seen == peers)
                {
                    return;
                }
            }
            catch (final IOException ex)
            {
                seen = -1;
            }
            sleep(200);
        }
        throw new LabException("device d" + device.index() + ": " + seen + " derived peers, expected " + peers);
    }

    // ---------------------------------------------------------------------------------------------
    // down

    /**
     * Removes a lab: stops every process inside its namespaces (SIGTERM, then SIGKILL after 5 s),
     * deletes the namespaces (and with them every link inside) and the lab directory. Works from the
     * name alone, whatever state the lab is in; running it again finds nothing and does nothing.
     *
     * @return how many namespaces, processes and directories it removed (0 when nothing was there).
     */
    public static int down(final String name, final Consumer<String> progress) throws LabException
    {
        checkName(name);
        int removed = 0;
        final List<String> namespaces = namespaces(name);
        final List<ProcessHandle> processes = new ArrayList<>();
        for (final String ns : namespaces)
        {
            processes.addAll(pidsIn(ns));
        }
        // Also the daemons recorded in lab.json (a vsnicd between fork and setns is not yet in its namespace).
        try
        {
            LabState.load(directory(name)).ifPresent(state -> state.devices().forEach(d ->
                ProcessHandle.of(d.pid()).filter(p -> p.isAlive() && commandLine(p.pid()).contains(directory(name).toString()))
                    .filter(p -> processes.stream().noneMatch(q -> q.pid() == p.pid())).ifPresent(processes::add)));
        }
        catch (final IOException ignored)
        {
            // an unreadable lab.json: the namespaces still find everything that runs
        }
        for (final ProcessHandle process : processes)
        {
            process.destroy();
        }
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        for (final ProcessHandle process : processes)
        {
            while (process.isAlive() && System.nanoTime() < deadline)
            {
                sleep(20);
            }
            if (process.isAlive())
            {
                process.destroyForcibly();
            }
        }
        for (final ProcessHandle process : processes)
        {
            final long killDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (process.isAlive() && System.nanoTime() < killDeadline)
            {
                sleep(20);
            }
        }
        if (!processes.isEmpty())
        {
            progress.accept("stopped " + processes.size() + " process(es): " +
                String.join(" ", processes.stream().map(p -> Long.toString(p.pid())).toList()));
            removed += processes.size();
        }
        final List<String> failures = new ArrayList<>();
        // VMs first, then devices, then the substrate (the reverse of up; any order would work).
        final List<String> ordered = new ArrayList<>(namespaces);
        ordered.sort(Comparator.comparingInt((String ns) -> ns.endsWith("-s") ? 2 : ns.matches(".*-d\\d+$") ? 1 : 0));
        for (final String ns : ordered)
        {
            final NetNs.Result result = NetNs.ip("netns", "delete", ns);
            if (!result.ok() && NetNs.namespaceExists(ns))
            {
                failures.add(result.describe());
            }
        }
        if (!namespaces.isEmpty())
        {
            progress.accept("deleted " + namespaces.size() + " namespace(s): " + String.join(" ", namespaces));
            removed += namespaces.size();
        }
        final Path dir = directory(name);
        if (Files.exists(dir))
        {
            try
            {
                deleteTree(dir);
                progress.accept("removed " + dir);
                removed++;
            }
            catch (final IOException ex)
            {
                failures.add("cannot remove " + dir + ": " + ex.getMessage());
            }
        }
        if (!failures.isEmpty())
        {
            throw new LabException("lab " + name + " not fully removed: " + String.join("; ", failures));
        }
        return removed;
    }

    /**
     * @return the processes running inside a namespace ({@code ip netns pids}).
     */
    static List<ProcessHandle> pidsIn(final String ns)
    {
        final NetNs.Result result = NetNs.ip("netns", "pids", ns);
        final List<ProcessHandle> found = new ArrayList<>();
        for (final String line : result.stdout().split("\\s+"))
        {
            if (line.matches("\\d+"))
            {
                ProcessHandle.of(Long.parseLong(line)).ifPresent(found::add);
            }
        }
        return found;
    }

    private static void deleteTree(final Path root) throws IOException
    {
        try (Stream<Path> walk = Files.walk(root))
        {
            final List<Path> paths = walk.sorted(Comparator.reverseOrder()).toList();
            for (final Path path : paths)
            {
                Files.deleteIfExists(path);
            }
        }
    }

    // ---------------------------------------------------------------------------------------------
    // status and exec

    /**
     * @return the saved state of a running lab.
     * @throws LabException when there is no such lab.
     */
    public static LabState load(final String name) throws LabException
    {
        checkName(name);
        final Optional<LabState> state;
        try
        {
            state = LabState.load(directory(name));
        }
        catch (final IOException ex)
        {
            throw new LabException("cannot read " + directory(name).resolve(LabState.FILE) + ": " + ex.getMessage(), ex);
        }
        if (state.isEmpty())
        {
            final List<String> leftovers = namespaces(name);
            throw new LabException(leftovers.isEmpty() ? "no lab named " + name + " (start one with 'vsnic lab up')" :
                "lab " + name + " has no state file but leftovers (" + String.join(" ", leftovers) + "): run 'vsnic lab down --name " +
                    name + "'");
        }
        return state.get();
    }

    /**
     * One device as {@code status} sees it.
     *
     * @param device   the device.
     * @param alive    its vsnicd runs.
     * @param rssKib   its resident memory, -1 when it does not run.
     * @param api      "ok (...)" or "down: why".
     * @param counters its Prometheus samples.
     * @param sessions one line per peer: name, endpoint, encapsulation, session state.
     */
    public record DeviceStatus(LabState.Device device, boolean alive, long rssKib, String api, Map<String, Double> counters,
        List<String> sessions)
    {
    }

    /**
     * One peer of one device and its substrate session, as the device's API reports it
     * ({@code /v1/topology}, the same as {@code vsnic get peers}).
     *
     * @param device             the device's index.
     * @param peer               the peer's name.
     * @param endpoint           the peer's configured endpoint.
     * @param encryption         {@code wireguard} or {@code none}.
     * @param up                 a WireGuard session is established (always false for {@code none}).
     * @param lastHandshakeAgoMs milliseconds since the last completed handshake, -1 when none.
     * @param rxBytes            transport bytes received on the session.
     * @param txBytes            transport bytes sent on the session.
     * @param currentEndpoint    where the peer's last authenticated packet came from, or null.
     */
    public record PeerSession(int device, String peer, String endpoint, String encryption, boolean up, long lastHandshakeAgoMs,
        long rxBytes, long txBytes, String currentEndpoint)
    {
        static PeerSession of(final int device, final JsonNode peer)
        {
            final JsonNode session = peer.path("session");
            return new PeerSession(device, peer.path("name").asText(), peer.path("endpoint").asText(), peer.path("encryption").asText(),
                session.path("up").asBoolean(false), session.path("lastHandshakeAgoMs").isNumber() ? session.path("lastHandshakeAgoMs").asLong() : -1,
                session.path("rxBytes").asLong(0), session.path("txBytes").asLong(0),
                session.path("endpoint").isTextual() ? session.path("endpoint").asText() : null);
        }

        /** @return whether the peer is configured {@code encryption: wireguard}. */
        public boolean encrypted()
        {
            return "wireguard".equals(encryption);
        }

        /** @return {@code lab-d2 10.76.0.2:51820 wireguard: session up, handshake 3 s ago, rx 1234 B, tx 5678 B}. */
        public String describe()
        {
            if (!encrypted())
            {
                return peer + " " + endpoint + " " + encryption + ": unencrypted (plain Geneve on the substrate)";
            }
            return peer + " " + endpoint + " wireguard: session " + (up ? "up" : "down") +
                (lastHandshakeAgoMs >= 0 ? ", handshake " + lastHandshakeAgoMs / 1000 + " s ago" : ", no handshake yet") +
                ", rx " + rxBytes + " B, tx " + txBytes + " B" +
                (currentEndpoint != null && !currentEndpoint.equals(endpoint) ? ", endpoint now " + currentEndpoint : "");
        }
    }

    /**
     * @return every device's peers and their sessions, in device order.
     * @throws LabException when a device's API does not answer.
     */
    public static List<PeerSession> sessions(final LabState state) throws LabException
    {
        final List<PeerSession> sessions = new ArrayList<>();
        for (final LabState.Device device : state.devices())
        {
            try
            {
                for (final JsonNode peer : api(device).getJson("/v1/topology").path("peers"))
                {
                    sessions.add(PeerSession.of(device.index(), peer));
                }
            }
            catch (final IOException ex)
            {
                throw new LabException("device d" + device.index() + ": API: " + ex.getMessage(), ex);
            }
        }
        return sessions;
    }

    /**
     * Asks each device for its health and counters.
     *
     * @return one entry per device.
     */
    public static List<DeviceStatus> deviceStatus(final LabState state)
    {
        final List<DeviceStatus> statuses = new ArrayList<>();
        for (final LabState.Device device : state.devices())
        {
            final boolean alive = alive(device.pid());
            String api;
            Map<String, Double> counters = Map.of();
            final List<String> sessions = new ArrayList<>();
            try
            {
                final JsonNode status = api(device).getJson("/v1/status");
                api = "ok (revision " + status.path("revision").asLong() + ", " + status.path("dataplane").path("attachedVnics").asInt() +
                    " vNICs attached)";
                for (final JsonNode peer : api(device).getJson("/v1/topology").path("peers"))
                {
                    sessions.add(PeerSession.of(device.index(), peer).describe());
                }
                final NamespaceHttp.Response metrics = api(device).get("/metrics");
                if (metrics.ok())
                {
                    counters = PromText.parse(metrics.text());
                }
            }
            catch (final IOException ex)
            {
                api = "down: " + ex.getMessage();
            }
            statuses.add(new DeviceStatus(device, alive, alive ? rssKib(device.pid()) : -1, api, counters, List.copyOf(sessions)));
        }
        return statuses;
    }

    /**
     * @return the customer plane's {@code vsnic_dataplane_drops_total{reason="enclave_isolation"}} of a device.
     * @throws LabException when its API does not answer.
     */
    public static long enclaveIsolationDrops(final LabState.Device device) throws LabException
    {
        try
        {
            final NamespaceHttp.Response metrics = api(device).get("/metrics");
            if (!metrics.ok())
            {
                throw new LabException("device d" + device.index() + ": /metrics: " + metrics.error());
            }
            final Double value = PromText.parse(metrics.text()).get("vsnic_dataplane_drops_total{reason=\"enclave_isolation\"}");
            return value == null ? 0 : value.longValue();
        }
        catch (final IOException ex)
        {
            throw new LabException("device d" + device.index() + ": /metrics: " + ex.getMessage(), ex);
        }
    }

    /**
     * @return "ok (N services, M peers)" when the device reports the lab's enclave, else what is wrong.
     */
    public static String enclaveOnDevice(final LabState.Device device)
    {
        try
        {
            final NamespaceHttp.Response response = api(device).get("/v1/enclaves/" + ENCLAVE);
            if (!response.ok())
            {
                return "missing: " + response.error();
            }
            final JsonNode enclave = response.json();
            return "ok (" + enclave.path("services").size() + " services, " + enclave.path("peers").size() + " peers)";
        }
        catch (final IOException ex)
        {
            return "down: " + ex.getMessage();
        }
    }

    /**
     * Runs a command inside a VM's (or an enclave service's) namespace with the caller's standard streams.
     *
     * @return its exit status.
     */
    public static int exec(final LabState state, final String vm, final List<String> command) throws LabException
    {
        final String namespace = state.vm(vm).map(LabState.Vm::namespace)
            .or(() -> state.services().stream().filter(s -> s.name().equals(vm)).map(LabState.Service::namespace).findFirst())
            .orElseThrow(() -> new LabException("lab " + state.name() + " has no VM or service " + vm + " (it has " +
                String.join(", ", Stream.concat(state.vms().stream().map(LabState.Vm::name), state.services().stream()
                    .map(LabState.Service::name)).toList()) + ")"));
        final List<String> full = new ArrayList<>(List.of(executable("ip"), "netns", "exec", namespace));
        full.addAll(command);
        try
        {
            final Process process = new ProcessBuilder(full).inheritIO().start();
            return process.waitFor();
        }
        catch (final IOException ex)
        {
            throw new LabException("cannot run " + String.join(" ", command) + " in " + namespace + ": " + ex.getMessage(), ex);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw new LabException("interrupted");
        }
    }

    /**
     * @return the sum of a metric over all its labels in a device's counters (0 when absent).
     */
    public static double sum(final Map<String, Double> counters, final String metric)
    {
        return PromText.sum(counters, metric);
    }

    // ---------------------------------------------------------------------------------------------
    // helpers

    /**
     * @return true when the process exists and is not a zombie.
     */
    static boolean alive(final long pid)
    {
        final Path stat = Path.of("/proc", Long.toString(pid), "stat");
        try
        {
            final String text = Files.readString(stat);
            final int close = text.lastIndexOf(')');
            return close > 0 && close + 2 < text.length() && text.charAt(close + 2) != 'Z';
        }
        catch (final IOException ex)
        {
            return false;
        }
    }

    /**
     * @return a process's resident set size in KiB ({@code VmRSS}), or -1.
     */
    public static long rssKib(final long pid)
    {
        try
        {
            for (final String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status")))
            {
                if (line.startsWith("VmRSS:"))
                {
                    return Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            }
        }
        catch (final IOException | NumberFormatException ex)
        {
            return -1;
        }
        return -1;
    }

    static String commandLine(final long pid)
    {
        try
        {
            return new String(Files.readAllBytes(Path.of("/proc", Long.toString(pid), "cmdline")), StandardCharsets.UTF_8).replace('\0', ' ');
        }
        catch (final IOException ex)
        {
            return "";
        }
    }

    static String tail(final Path file, final int lines)
    {
        try
        {
            final List<String> all = Files.readAllLines(file, StandardCharsets.UTF_8);
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        }
        catch (final IOException ex)
        {
            return "(cannot read " + file + ": " + ex.getMessage() + ")";
        }
    }

    static String executable(final String name)
    {
        return NetNs.findExecutable(name).map(Path::toString).orElse(name);
    }

    private static void addNamespace(final String ns) throws LabException
    {
        ip("netns", "add", ns);
        ip("-n", ns, "link", "set", "dev", "lo", "up");
    }

    private static void ip(final String... args) throws LabException
    {
        final NetNs.Result result = NetNs.ip(args);
        if (!result.ok())
        {
            throw new LabException(result.describe());
        }
    }

    private static void run(final Duration timeout, final String... command) throws LabException
    {
        final List<String> full = new ArrayList<>(List.of(command));
        full.set(0, executable(command[0]));
        final NetNs.Result result = NetNs.run(timeout, full);
        if (!result.ok())
        {
            throw new LabException(result.describe());
        }
    }

    static void sleep(final long millis)
    {
        try
        {
            Thread.sleep(millis);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Starts {@code vsnic daemon} inside a namespace, detached from the caller (its own session), with
     * output to a log file.
     */
    @FunctionalInterface
    public interface DaemonLauncher
    {
        /**
         * JVM options of a lab daemon unless {@code $VSNIC_LAB_JAVA_OPTS} says otherwise (the data plane's
         * frames are off-heap): a heap that starts small and stops at 128 MiB, which holds 100 vNICs and
         * 100,000 routes (45 MiB live after a full GC), the serial collector (one GC thread, no
         * per-region tables), and glibc's freed malloc memory returned to the system every 5 s (after
         * the JIT's bursts). Measured with {@code jmh-benchmarks/footprint.sh}, docs/performance.md
         * "Footprint".
         */
        String DEFAULT_JAVA_OPTS = "-Xms16m -Xmx128m -XX:+UseSerialGC -XX:TrimNativeHeapInterval=5000";

        /**
         * @return the daemon's process id.
         */
        long start(String namespace, Path config, Path stateDir, Path log) throws IOException;

        /**
         * The launcher that runs the JVM this process runs on, with the build's recorded JVM flags and
         * this process's class path ({@code setsid ip netns exec NS java FLAGS -cp CP VsnicCli daemon ...}).
         * Extra JVM options come from {@code $VSNIC_LAB_JAVA_OPTS} (default {@link #DEFAULT_JAVA_OPTS}).
         */
        static DaemonLauncher sameJvm()
        {
            return (namespace, config, stateDir, log) ->
            {
                final List<String> command = new ArrayList<>(List.of(executable("setsid"), executable("ip"), "netns", "exec", namespace));
                command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
                command.addAll(jvmFlags());
                final String extra = System.getenv().getOrDefault("VSNIC_LAB_JAVA_OPTS", DEFAULT_JAVA_OPTS);
                for (final String option : extra.trim().split("\\s+"))
                {
                    if (!option.isEmpty())
                    {
                        command.add(option);
                    }
                }
                command.addAll(List.of("-cp", System.getProperty("java.class.path"), "io.vsnic.orchestrator.cli.VsnicCli", "daemon",
                    "--config", config.toString(), "--state-dir", stateDir.toString()));
                final Process process = new ProcessBuilder(command)
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                    .redirectErrorStream(true)
                    .start();
                return process.pid();
            };
        }

        private static List<String> jvmFlags() throws IOException
        {
            try (InputStream in = Lab.class.getResourceAsStream("/META-INF/vsnic/jvm.flags"))
            {
                if (in == null)
                {
                    throw new IOException("META-INF/vsnic/jvm.flags is not on the class path: build with ./mvnw -DskipTests package");
                }
                final String flags = new String(in.readAllBytes(), StandardCharsets.UTF_8).trim();
                return flags.isEmpty() ? List.of() : List.of(flags.split("\\s+"));
            }
        }
    }
}
