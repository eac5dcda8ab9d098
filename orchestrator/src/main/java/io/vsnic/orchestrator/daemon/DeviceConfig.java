package io.vsnic.orchestrator.daemon;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Locale;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonMappingException;
import io.vsnic.dataplane.nativeio.CpuList;
import io.vsnic.dataplane.nativeio.Syscalls;
import io.vsnic.dataplane.pipeline.DataPlaneConfig;
import io.vsnic.dataplane.security.ConnectionTimeouts;
import io.vsnic.dataplane.substrate.UdpSubstrate;
import io.vsnic.dataplane.substrate.WireguardConfig;
import io.vsnic.dataplane.table.ForwardingState;
import io.vsnic.dataplane.table.Prefixes;
import io.vsnic.orchestrator.model.Json;
import io.vsnic.orchestrator.model.Validator;

/**
 * The device configuration file ({@code vsnic daemon --config device.yaml}): what the device is
 * and how it runs. What it forwards (networks, vNICs, ...) is desired state, set through the API.
 *
 * <pre>
 * device:    { name: edge-1, id: 1 }
 * api:       { listen: 127.0.0.1:9470, auth: none|token|mtls, tls: { cert: server.crt, key: server.key, clientCa: ca.crt } }
 * substrate: { enabled: true, bindAddress: 0.0.0.0, genevePort: 6081, vxlanPort: 4789, transport: epoll, receiveQueues: 2,
 *              sourcePorts: 16, interface: eth1,
 *              wireguard: { privateKeyFile: /etc/vsnic/device.key, listenPort: 51820, innerAddress: 10.99.0.1 } }
 * dataplane: { workers: 1, workerCpus: "1-3", frameSlots: 8192, connectionCapacity: 65536,
 *              timeouts: { tcpSyn: 60s, tcpEstablished: 5d, tcpClosing: 120s, udp: 30s, udpReplied: 120s, icmp: 30s } }
 * journal:   { snapshotEvery: 10000 }
 * tasks:     { retryInitialMs: 500, retryMaxMs: 30000, keepFinished: 100 }
 * flowLogs:  { enabled: true, retention: 24h, roll: hourly, ringSlots: 4096, interim: 60s, scanInterval: 1s, rejectWindow: 10s }
 * cluster:   { name: lab, raft: 127.0.0.1:9480, peers: { edge-1: 127.0.0.1:9480, edge-2: 127.0.0.1:9481 } }   # optional
 * </pre>
 *
 * @param device    name and id of this device.
 * @param api       the REST API.
 * @param substrate the overlay's UDP sockets.
 * @param dataplane data plane sizing.
 * @param journal   journal settings.
 * @param tasks     the reconciler's long-running tasks (retry backoff, history kept).
 * @param cluster   cluster membership, or null for a standalone device (the default).
 * @param flowLogs  flow log settings.
 */
public record DeviceConfig(Device device, Api api, Substrate substrate, Dataplane dataplane, JournalSettings journal,
    TaskSettings tasks, Cluster cluster, FlowLogs flowLogs)
{
    /** Default API address. */
    public static final String DEFAULT_LISTEN = "127.0.0.1:9470";
    /** WireGuard's REKEY_AFTER_TIME (seconds) unless {@code substrate.wireguard.rekeyAfterSeconds} shortens it. */
    public static final int REKEY_AFTER_SECONDS = 120;

    /**
     * @param name device name (used in metrics, topology, and as the namespace of generated MACs).
     * @param id   device id on the substrate (0..4095, default 0): remotes and peers refer to devices by id.
     */
    public record Device(String name, Integer id)
    {
    }

    /**
     * @param listen address:port of the API (default 127.0.0.1:9470; port 0 picks a free one).
     * @param auth   {@code none} (the default on loopback), {@code token} (a bearer token the daemon generates into
     *               {@code STATE_DIR/api.token}, mode 0600) or {@code mtls} (a client certificate issued by
     *               {@code tls.clientCa}). An address other than loopback requires {@code token} or {@code mtls},
     *               and TLS ({@code tls.cert}, {@code tls.key}) so that credentials never cross a network in clear.
     * @param tls    the API's server certificate and key (PEM; serve HTTPS), and for {@code mtls} the CA that issues
     *               client certificates. {@code vsnic certs init} writes all three into {@code STATE_DIR/api-tls}.
     */
    public record Api(String listen, String auth, Tls tls)
    {
        /** API authentication modes. */
        public static final java.util.List<String> AUTH_MODES = java.util.List.of("none", "token", "mtls");
    }

    /**
     * @param cert     the server certificate (PEM).
     * @param key      the server private key (PEM, PKCS#8 or OpenSSL; mode 0600).
     * @param clientCa the CA certificate (PEM) that client certificates must chain to ({@code auth: mtls}).
     */
    public record Tls(String cert, String key, String clientCa)
    {
    }

    /**
     * @param enabled       open the substrate sockets (default true; false for a device without peers).
     * @param bindAddress   literal local address (default 0.0.0.0).
     * @param genevePort    Geneve UDP port (default 6081; 0 picks a free one).
     * @param vxlanPort     VXLAN UDP port (default 4789; 0 opens none).
     * @param transport     epoll | io_uring | nio (default epoll).
     * @param receiveQueues sockets per port with SO_REUSEPORT, each read by its own worker on the direct path
     *                      (default: {@code dataplane.workers}, at most 16).
     * @param wireguard     the encrypted substrate (WireGuard sessions with peers of {@code encryption: wireguard}),
     *                      or absent for a device whose peers are all {@code encryption: none}.
     * @param sourcePorts   send-only sockets on ports in 49152..65535 that plaintext overlay datagrams leave from,
     *                      picked by a hash of the inner flow (default 16; 0 sends from 6081/4789, no entropy).
     * @param interfaceName YAML {@code interface}: the network interface every substrate socket is bound to
     *                      ({@code SO_BINDTODEVICE}), or absent for any; epoll and io_uring only.
     */
    public record Substrate(Boolean enabled, String bindAddress, Integer genevePort, Integer vxlanPort, String transport,
        Integer receiveQueues, Wireguard wireguard, Integer sourcePorts,
        @com.fasterxml.jackson.annotation.JsonProperty("interface") String interfaceName)
    {
    }

    /**
     * @param privateKeyFile this device's private key ({@code vsnic keygen} or {@code wg genkey}; mode 0600: a file
     *                       readable by group or others is refused).
     * @param listenPort     UDP port of the WireGuard socket (default 51820; 0 picks a free one).
     * @param innerAddress   this device's inner substrate address (IPv4 or IPv6 literal): the source of its overlay
     *                       packets inside the tunnel; peers list it as their {@code innerAddress} for this device.
     * @param keylog         optional key log file (Wireshark's WireGuard format) for debugging: anyone who can read
     *                       it can decrypt the substrate. {@code --wg-keylog} on the command line overrides it.
     * @param rekeyAfterSeconds WireGuard's REKEY_AFTER_TIME in seconds (default 120, the protocol's; 10..120): a
     *                       session older than this starts a new handshake when it sends. Shorter only to exercise
     *                       rekeying (the soak runs 30); REJECT_AFTER_TIME stays 180 s.
     */
    public record Wireguard(String privateKeyFile, Integer listenPort, String innerAddress, String keylog,
        Integer rekeyAfterSeconds)
    {
        /**
         * Without {@code rekeyAfterSeconds} (the protocol's 120 s).
         */
        public Wireguard(final String privateKeyFile, final Integer listenPort, final String innerAddress, final String keylog)
        {
            this(privateKeyFile, listenPort, innerAddress, keylog, null);
        }
    }

    /**
     * @param workers            worker threads (default: cores - 1, at least 1).
     * @param frameSlots         frame buffers (default 8192, 9472 bytes each).
     * @param connectionCapacity connection-table slots (default 65536).
     * @param timeouts           connection-table timeouts (defaults: Linux conntrack's).
     * @param workerCpus         CPUs to pin the workers to, a Linux CPU list ({@code 1-3}, {@code 2,5}): worker
     *                           {@code i} runs on the list's CPU {@code i % size}. Each must be one vsnicd may run
     *                           on ({@code taskset}, cgroup cpuset). Absent: the scheduler places the workers.
     */
    public record Dataplane(Integer workers, Integer frameSlots, Integer connectionCapacity, Timeouts timeouts,
        String workerCpus)
    {
        /**
         * With unpinned workers.
         */
        public Dataplane(final Integer workers, final Integer frameSlots, final Integer connectionCapacity, final Timeouts timeouts)
        {
            this(workers, frameSlots, connectionCapacity, timeouts, null);
        }

        /**
         * @return the CPUs of {@link #workerCpus()} (a validated configuration's), empty when not set.
         */
        public java.util.List<Integer> workerCpuList()
        {
            return workerCpus == null ? java.util.List.of() :
                java.util.Arrays.stream(CpuList.parse(workerCpus)).boxed().toList();
        }
    }

    /**
     * Connection-table timeouts, each a duration ({@code 30s}, {@code 2m}, {@code 5d}, {@code 500ms}, or a number of
     * seconds); absent ones keep the defaults ({@link ConnectionTimeouts#DEFAULTS}).
     */
    public record Timeouts(String tcpSyn, String tcpEstablished, String tcpClosing, String udp, String udpReplied, String icmp)
    {
    }

    /**
     * Flow logs (docs/operations.md "Flow logs"): records of every flow written by the data plane into a Chronicle
     * Queue under {@code STATE_DIR/flows}.
     *
     * @param enabled      write flow logs (default true).
     * @param retention    how long records are kept (default 24h): older roll-cycle files are deleted.
     * @param roll         the queue's file cycle: {@code secondly} (tests), {@code minutely}, {@code hourly} (default)
     *                     or {@code daily}; retention deletes whole cycles.
     * @param ringSlots    records each worker's hand-off ring holds (a power of two, default 4096); a full ring drops
     *                     the record and counts it ({@code vsnic_flow_log_overflow_total}).
     * @param interim      interval of interim records of long-lived flows (default 60s).
     * @param scanInterval how often the collector looks for ended flows (default 1s).
     * @param rejectWindow rejects of one 5-tuple are aggregated into one record per window (default 10s).
     */
    public record FlowLogs(Boolean enabled, String retention, String roll, Integer ringSlots, String interim,
        String scanInterval, String rejectWindow)
    {
        /** Accepted roll cycles. */
        public static final java.util.List<String> ROLLS = java.util.List.of("secondly", "minutely", "hourly", "daily");

        /**
         * @return the retention in milliseconds (validated).
         */
        public long retentionMs()
        {
            return parseDurationNs(retention) / 1_000_000L;
        }

        /**
         * @return the data plane's flow log settings (validated).
         */
        public io.vsnic.dataplane.flow.FlowLog.Settings settings()
        {
            return new io.vsnic.dataplane.flow.FlowLog.Settings(ringSlots, parseDurationNs(interim), parseDurationNs(rejectWindow),
                parseDurationNs(scanInterval));
        }
    }

    /**
     * @param snapshotEvery start a new journal generation with a snapshot after this many entries (default 10000).
     */
    public record JournalSettings(Integer snapshotEvery)
    {
    }

    /**
     * @param retryInitialMs backoff after a task's first failed attempt (default 500; 10..60000).
     * @param retryMaxMs     longest backoff (default 30000; retryInitialMs..3600000); each wait is a random
     *                       value between half of the exponential delay and all of it (jitter).
     * @param keepFinished   finished tasks (succeeded, failed, cancelled) kept for {@code get tasks} (default 100).
     */
    public record TaskSettings(Integer retryInitialMs, Integer retryMaxMs, Integer keepFinished)
    {
    }

    /**
     * Cluster mode (see docs/cluster.md): this device is a member of a Raft group whose replicated
     * state is the source of truth.
     *
     * @param name              the cluster's name (the same on every member; the Raft group id derives from it).
     * @param raft              this device's Raft address host:port (gRPC).
     * @param peers             every voting member's Raft address by device name, this device included.
     * @param substrateEndpoint this device's substrate endpoint as other devices reach it (default: the substrate
     *                          bind address, or the Raft host when that is a wildcard, with the Geneve port).
     * @param snapshotEvery     Raft log entries between snapshots (default 1000).
     * @param requestTimeoutMs  how long a write waits for the head before it fails with 503 (default 3000).
     * @param tls               Raft over mutual TLS with the device certificate in STATE_DIR/cluster (default true
     *                          when that directory holds one).
     * @param join              this device joins an existing cluster ({@code vsnic cluster join} writes it): on its
     *                          first start it asks the head to add it to the voters.
     */
    public record Cluster(String name, String raft, java.util.Map<String, String> peers, String substrateEndpoint,
        Integer snapshotEvery, Integer requestTimeoutMs, Boolean tls, Boolean join)
    {
    }

    /**
     * Reads and validates a YAML (or JSON) configuration file.
     *
     * @throws ConfigException naming the offending field.
     */
    public static DeviceConfig load(final Path file) throws ConfigException
    {
        final byte[] bytes;
        try
        {
            bytes = Files.readAllBytes(file);
        }
        catch (final NoSuchFileException ex)
        {
            throw new ConfigException(null, "configuration file " + file + " does not exist");
        }
        catch (final IOException ex)
        {
            throw new ConfigException(null, "cannot read " + file + ": " + ex.getMessage());
        }
        return parse(bytes);
    }

    /**
     * Parses and validates a configuration.
     *
     * @throws ConfigException naming the offending field.
     */
    public static DeviceConfig parse(final byte[] yaml) throws ConfigException
    {
        final DeviceConfig raw;
        try
        {
            raw = Json.yaml().readValue(yaml, DeviceConfig.class);
        }
        catch (final JsonMappingException ex)
        {
            final String field = Json.path(ex);
            if (ex instanceof com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException)
            {
                throw new ConfigException(field, "unknown field");
            }
            throw new ConfigException(field.isEmpty() ? null : field, firstLine(ex.getOriginalMessage()));
        }
        catch (final JsonProcessingException ex)
        {
            throw new ConfigException(null, "not valid YAML: " + firstLine(ex.getOriginalMessage()));
        }
        catch (final IOException ex)
        {
            throw new ConfigException(null, ex.getMessage());
        }
        if (raw == null)
        {
            throw new ConfigException(null, "the configuration is empty");
        }
        return raw.validated();
    }

    private static String firstLine(final String message)
    {
        return message == null ? "invalid" : message.lines().findFirst().orElse("invalid");
    }

    private DeviceConfig validated() throws ConfigException
    {
        if (device == null || device.name() == null)
        {
            throw new ConfigException("device.name", "is required");
        }
        if (!Validator.NAME.matcher(device.name()).matches())
        {
            throw new ConfigException("device.name", "must be 1..63 characters of letters, digits, '.', '_', '-': " + device.name());
        }
        final int id = device.id() == null ? 0 : device.id();
        if (id < 0 || id >= ForwardingState.MAX_DEVICES)
        {
            throw new ConfigException("device.id", "must be in 0.." + (ForwardingState.MAX_DEVICES - 1) + ": " + id);
        }
        final String listen = api == null || api.listen() == null ? DEFAULT_LISTEN : api.listen();
        final InetSocketAddress address = socketAddress("api.listen", listen);
        final Api validatedApi = validatedApi(listen, address);
        final Substrate s = substrate == null ? new Substrate(null, null, null, null, null, null, null, null, null) : substrate;
        final String bind = s.bindAddress() == null ? "0.0.0.0" : s.bindAddress();
        literal("substrate.bindAddress", bind);
        final int geneve = port("substrate.genevePort", s.genevePort(), 6081);
        final int vxlan = port("substrate.vxlanPort", s.vxlanPort(), 4789);
        final String transport = s.transport() == null ? "epoll" : s.transport().toLowerCase(Locale.ROOT);
        if (!transport.equals("epoll") && !transport.equals("io_uring") && !transport.equals("nio"))
        {
            throw new ConfigException("substrate.transport", "must be epoll, io_uring or nio: " + s.transport());
        }
        if (s.interfaceName() != null && !UdpSubstrate.Config.isInterfaceName(s.interfaceName()))
        {
            throw new ConfigException("substrate.interface", "must be an interface name of 1..15 characters: " + s.interfaceName());
        }
        if (s.interfaceName() != null && transport.equals("nio"))
        {
            throw new ConfigException("substrate.interface", "needs transport epoll or io_uring (NIO cannot bind to a device)");
        }
        Wireguard wg = null;
        if (s.wireguard() != null)
        {
            final Wireguard w = s.wireguard();
            if (w.privateKeyFile() == null || w.privateKeyFile().isBlank())
            {
                throw new ConfigException("substrate.wireguard.privateKeyFile", "is required (a file written by vsnic keygen or wg genkey)");
            }
            final int wgPort = w.listenPort() == null ? 51820 : w.listenPort();
            if (wgPort < 0 || wgPort > 65535)
            {
                throw new ConfigException("substrate.wireguard.listenPort", "must be in 0..65535: " + wgPort);
            }
            if (w.innerAddress() == null)
            {
                throw new ConfigException("substrate.wireguard.innerAddress", "is required (an IPv4 or IPv6 literal)");
            }
            literal("substrate.wireguard.innerAddress", w.innerAddress());
            final int rekey = w.rekeyAfterSeconds() == null ? REKEY_AFTER_SECONDS : w.rekeyAfterSeconds();
            if (rekey < 10 || rekey > REKEY_AFTER_SECONDS)
            {
                throw new ConfigException("substrate.wireguard.rekeyAfterSeconds", "must be in 10..120: " + rekey);
            }
            wg = new Wireguard(w.privateKeyFile(), wgPort, w.innerAddress(), w.keylog(), rekey);
        }
        final Dataplane d = dataplane == null ? new Dataplane(null, null, null, null) : dataplane;
        final int workers = d.workers() == null ? Math.max(1, Runtime.getRuntime().availableProcessors() - 1) : d.workers();
        if (workers < 1 || workers > 64)
        {
            throw new ConfigException("dataplane.workers", "must be in 1..64: " + workers);
        }
        // default: one receive queue per worker (each worker then reads its own substrate sockets)
        final int queues = s.receiveQueues() == null ? Math.min(workers, 16) : s.receiveQueues();
        if (queues < 1 || queues > 16)
        {
            throw new ConfigException("substrate.receiveQueues", "must be in 1..16: " + queues);
        }
        final int sourcePorts = s.sourcePorts() == null ? UdpSubstrate.Config.DEFAULT_SOURCE_PORTS : s.sourcePorts();
        if (sourcePorts < 0 || sourcePorts > UdpSubstrate.Config.MAX_SOURCE_PORTS)
        {
            throw new ConfigException("substrate.sourcePorts", "must be in 0.." + UdpSubstrate.Config.MAX_SOURCE_PORTS +
                " (0: send from the Geneve/VXLAN ports): " + sourcePorts);
        }
        final String workerCpus = validatedWorkerCpus(d.workerCpus());
        final int slots = d.frameSlots() == null ? 8192 : d.frameSlots();
        if (slots < 512 || slots > (1 << 20))
        {
            throw new ConfigException("dataplane.frameSlots", "must be in 512..1048576: " + slots);
        }
        final int connections = d.connectionCapacity() == null ? 65536 : d.connectionCapacity();
        if (connections < 1024 || connections > (1 << 26))
        {
            throw new ConfigException("dataplane.connectionCapacity", "must be in 1024..67108864: " + connections);
        }
        final int snapshotEvery = journal == null || journal.snapshotEvery() == null ? 10_000 : journal.snapshotEvery();
        if (snapshotEvery < 10)
        {
            throw new ConfigException("journal.snapshotEvery", "must be at least 10: " + snapshotEvery);
        }
        final Timeouts t = validatedTimeouts(d.timeouts());
        return new DeviceConfig(new Device(device.name(), id), validatedApi,
            new Substrate(s.enabled() == null || s.enabled(), bind, geneve, vxlan, transport, queues, wg, sourcePorts, s.interfaceName()),
            new Dataplane(workers, slots, connections, t, workerCpus), new JournalSettings(snapshotEvery), validatedTasks(),
            cluster == null ? null : validatedCluster(), validatedFlowLogs());
    }

    /**
     * @return the CPU list in its canonical form, or null when not set.
     * @throws ConfigException when it is not a CPU list or names a CPU this process may not run on.
     */
    private static String validatedWorkerCpus(final String text) throws ConfigException
    {
        if (text == null)
        {
            return null;
        }
        final int[] cpus;
        try
        {
            cpus = CpuList.parse(text);
        }
        catch (final IllegalArgumentException ex)
        {
            throw new ConfigException("dataplane.workerCpus", ex.getMessage());
        }
        final int[] allowed = Syscalls.allowedCpus();
        if (allowed == null)
        {
            throw new ConfigException("dataplane.workerCpus", "pinning workers needs Linux (sched_setaffinity), not available here");
        }
        for (final int cpu : cpus)
        {
            if (java.util.Arrays.binarySearch(allowed, cpu) < 0)
            {
                throw new ConfigException("dataplane.workerCpus", "CPU " + cpu + " is not one vsnicd may run on (" +
                    CpuList.format(allowed) + ")");
            }
        }
        return CpuList.format(cpus);
    }

    private static Timeouts validatedTimeouts(final Timeouts t) throws ConfigException
    {
        final ConnectionTimeouts d = ConnectionTimeouts.DEFAULTS;
        final Timeouts given = t == null ? new Timeouts(null, null, null, null, null, null) : t;
        final Timeouts result = new Timeouts(
            timeout("dataplane.timeouts.tcpSyn", given.tcpSyn(), d.tcpSynNs()),
            timeout("dataplane.timeouts.tcpEstablished", given.tcpEstablished(), d.tcpEstablishedNs()),
            timeout("dataplane.timeouts.tcpClosing", given.tcpClosing(), d.tcpClosingNs()),
            timeout("dataplane.timeouts.udp", given.udp(), d.udpNs()),
            timeout("dataplane.timeouts.udpReplied", given.udpReplied(), d.udpRepliedNs()),
            timeout("dataplane.timeouts.icmp", given.icmp(), d.icmpNs()));
        try
        {
            connectionTimeouts(result);
        }
        catch (final IllegalArgumentException ex)
        {
            throw new ConfigException("dataplane.timeouts", ex.getMessage());
        }
        return result;
    }

    private static String timeout(final String field, final String value, final long defaultNs) throws ConfigException
    {
        if (value == null)
        {
            return defaultNs / 1_000_000L + "ms";
        }
        final long ns = duration(field, value);
        if (ns < 1_000_000L)
        {
            throw new ConfigException(field, "must be at least 1ms: " + value);
        }
        return value;
    }

    private static ConnectionTimeouts connectionTimeouts(final Timeouts t)
    {
        return new ConnectionTimeouts(parseDurationNs(t.tcpSyn()), parseDurationNs(t.tcpEstablished()),
            parseDurationNs(t.tcpClosing()), parseDurationNs(t.udp()), parseDurationNs(t.icmp()), parseDurationNs(t.udpReplied()));
    }

    private FlowLogs validatedFlowLogs() throws ConfigException
    {
        final FlowLogs f = flowLogs == null ? new FlowLogs(null, null, null, null, null, null, null) : flowLogs;
        final String retention = f.retention() == null ? "24h" : f.retention();
        if (duration("flowLogs.retention", retention) < 1_000_000_000L)
        {
            throw new ConfigException("flowLogs.retention", "must be at least 1s: " + retention);
        }
        final String roll = f.roll() == null ? "hourly" : f.roll().toLowerCase(Locale.ROOT);
        if (!FlowLogs.ROLLS.contains(roll))
        {
            throw new ConfigException("flowLogs.roll", "must be secondly, minutely, hourly or daily: " + f.roll());
        }
        final int ringSlots = f.ringSlots() == null ? 4096 : f.ringSlots();
        if (ringSlots < 2 || ringSlots > (1 << 20) || Integer.bitCount(ringSlots) != 1)
        {
            throw new ConfigException("flowLogs.ringSlots", "must be a power of two in 2..1048576: " + ringSlots);
        }
        final String interim = f.interim() == null ? "60s" : f.interim();
        if (duration("flowLogs.interim", interim) < 1_000_000_000L)
        {
            throw new ConfigException("flowLogs.interim", "must be at least 1s: " + interim);
        }
        final String scan = f.scanInterval() == null ? "1s" : f.scanInterval();
        final long scanNs = duration("flowLogs.scanInterval", scan);
        if (scanNs < 10_000_000L || scanNs > 60_000_000_000L)
        {
            throw new ConfigException("flowLogs.scanInterval", "must be in 10ms..60s: " + scan);
        }
        final String window = f.rejectWindow() == null ? "10s" : f.rejectWindow();
        if (duration("flowLogs.rejectWindow", window) < 1_000_000L)
        {
            throw new ConfigException("flowLogs.rejectWindow", "must be at least 1ms: " + window);
        }
        return new FlowLogs(f.enabled() == null || f.enabled(), retention, roll, ringSlots, interim, scan, window);
    }

    private static long duration(final String field, final String text) throws ConfigException
    {
        try
        {
            return parseDurationNs(text);
        }
        catch (final IllegalArgumentException ex)
        {
            throw new ConfigException(field, ex.getMessage());
        }
    }

    /**
     * Parses a duration: a number with a unit {@code ms}, {@code s}, {@code m}, {@code h} or {@code d}, or a plain
     * number of seconds.
     *
     * @return nanoseconds.
     * @throws IllegalArgumentException when it is not one.
     */
    static long parseDurationNs(final String text)
    {
        final java.util.regex.Matcher m = java.util.regex.Pattern.compile("(\\d{1,12})(ms|s|m|h|d)?").matcher(text.trim());
        if (!m.matches())
        {
            throw new IllegalArgumentException("must be a duration such as 500ms, 30s, 5m, 24h or 7d: " + text);
        }
        final long value = Long.parseLong(m.group(1));
        final String unit = m.group(2) == null ? "s" : m.group(2);
        final long ns = switch (unit)
        {
            case "ms" -> java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(value);
            case "m" -> java.util.concurrent.TimeUnit.MINUTES.toNanos(value);
            case "h" -> java.util.concurrent.TimeUnit.HOURS.toNanos(value);
            case "d" -> java.util.concurrent.TimeUnit.DAYS.toNanos(value);
            default -> java.util.concurrent.TimeUnit.SECONDS.toNanos(value);
        };
        if (ns == Long.MAX_VALUE)
        {
            throw new IllegalArgumentException("is too long: " + text);
        }
        return ns;
    }

    private TaskSettings validatedTasks() throws ConfigException
    {
        final TaskSettings t = tasks == null ? new TaskSettings(null, null, null) : tasks;
        final int initial = t.retryInitialMs() == null ? 500 : t.retryInitialMs();
        if (initial < 10 || initial > 60_000)
        {
            throw new ConfigException("tasks.retryInitialMs", "must be in 10..60000: " + initial);
        }
        final int max = t.retryMaxMs() == null ? Math.max(30_000, initial) : t.retryMaxMs();
        if (max < initial || max > 3_600_000)
        {
            throw new ConfigException("tasks.retryMaxMs", "must be in retryInitialMs (" + initial + ")..3600000: " + max);
        }
        final int keep = t.keepFinished() == null ? 100 : t.keepFinished();
        if (keep < 0 || keep > 100_000)
        {
            throw new ConfigException("tasks.keepFinished", "must be in 0..100000: " + keep);
        }
        return new TaskSettings(initial, max, keep);
    }

    private Api validatedApi(final String listen, final InetSocketAddress address) throws ConfigException
    {
        final boolean loopback = address.getAddress().isLoopbackAddress();
        final String auth = api == null || api.auth() == null ? (loopback ? "none" : null) : api.auth().toLowerCase(Locale.ROOT);
        if (auth == null)
        {
            throw new ConfigException("api.auth", "is required when api.listen is not a loopback address (" + listen +
                "): token (a bearer token in STATE_DIR/api.token) or mtls (client certificates)");
        }
        if (!Api.AUTH_MODES.contains(auth))
        {
            throw new ConfigException("api.auth", "must be none, token or mtls: " + api.auth());
        }
        if (!loopback && auth.equals("none"))
        {
            throw new ConfigException("api.auth", "none is only allowed on a loopback address (" + listen + "): use token or mtls");
        }
        final Tls tls = api == null ? null : api.tls();
        if (tls != null)
        {
            if (tls.cert() == null || tls.cert().isBlank())
            {
                throw new ConfigException("api.tls.cert", "is required when api.tls is set (a PEM certificate; vsnic certs init)");
            }
            if (tls.key() == null || tls.key().isBlank())
            {
                throw new ConfigException("api.tls.key", "is required when api.tls is set (a PEM private key; vsnic certs init)");
            }
        }
        if (!loopback && tls == null)
        {
            throw new ConfigException("api.tls", "is required when api.listen is not a loopback address (" + listen +
                "): credentials must not cross the network in clear (vsnic certs init writes a certificate)");
        }
        if (auth.equals("mtls"))
        {
            if (tls == null)
            {
                throw new ConfigException("api.tls", "auth mtls needs tls.cert, tls.key and tls.clientCa");
            }
            if (tls.clientCa() == null || tls.clientCa().isBlank())
            {
                throw new ConfigException("api.tls.clientCa", "is required for auth mtls (the CA that issues client certificates)");
            }
        }
        else if (tls != null && tls.clientCa() != null)
        {
            throw new ConfigException("api.tls.clientCa", "is only used with auth mtls (auth is " + auth + ")");
        }
        return new Api(listen, auth, tls);
    }

    private Cluster validatedCluster() throws ConfigException
    {
        if (cluster.name() == null || !Validator.NAME.matcher(cluster.name()).matches())
        {
            throw new ConfigException("cluster.name", "is required: 1..63 characters of letters, digits, '.', '_', '-'");
        }
        if (cluster.raft() == null)
        {
            throw new ConfigException("cluster.raft", "is required: this device's Raft address host:port");
        }
        final InetSocketAddress raft = socketAddress("cluster.raft", cluster.raft());
        if (raft.getPort() == 0)
        {
            throw new ConfigException("cluster.raft", "needs a fixed port (other members dial it): " + cluster.raft());
        }
        final java.util.Map<String, String> peers = new java.util.TreeMap<>(cluster.peers() == null ? java.util.Map.of() : cluster.peers());
        for (final java.util.Map.Entry<String, String> peer : peers.entrySet())
        {
            if (!Validator.NAME.matcher(peer.getKey()).matches())
            {
                throw new ConfigException("cluster.peers", "bad device name: " + peer.getKey());
            }
            socketAddress("cluster.peers." + peer.getKey(), peer.getValue());
        }
        final String self = peers.get(device.name());
        if (self != null && !self.equals(cluster.raft()))
        {
            throw new ConfigException("cluster.peers." + device.name(), "this device's entry must equal cluster.raft (" +
                cluster.raft() + "): " + self);
        }
        peers.put(device.name(), cluster.raft());
        if (cluster.substrateEndpoint() != null)
        {
            socketAddress("cluster.substrateEndpoint", cluster.substrateEndpoint());
        }
        final int every = cluster.snapshotEvery() == null ? 1000 : cluster.snapshotEvery();
        if (every < 10)
        {
            throw new ConfigException("cluster.snapshotEvery", "must be at least 10: " + every);
        }
        final int timeout = cluster.requestTimeoutMs() == null ? 3000 : cluster.requestTimeoutMs();
        if (timeout < 100 || timeout > 60_000)
        {
            throw new ConfigException("cluster.requestTimeoutMs", "must be in 100..60000: " + timeout);
        }
        return new Cluster(cluster.name(), cluster.raft(), java.util.Collections.unmodifiableMap(peers), cluster.substrateEndpoint(),
            every, timeout, cluster.tls(), Boolean.TRUE.equals(cluster.join()));
    }

    private static int port(final String field, final Integer value, final int fallback) throws ConfigException
    {
        final int port = value == null ? fallback : value;
        if (port < 0 || port > 65535)
        {
            throw new ConfigException(field, "must be in 0..65535: " + port);
        }
        return port;
    }

    private static InetAddress literal(final String field, final String text) throws ConfigException
    {
        try
        {
            if (text.indexOf(':') >= 0)
            {
                final Prefixes.Ipv6Prefix v6 = Prefixes.parseIpv6Address(text);
                final byte[] bytes = new byte[16];
                for (int i = 0; i < 8; i++)
                {
                    bytes[i] = (byte)(v6.high() >>> (56 - 8 * i));
                    bytes[i + 8] = (byte)(v6.low() >>> (56 - 8 * i));
                }
                return InetAddress.getByAddress(bytes);
            }
            final int v4 = Prefixes.parseIpv4Address(text);
            return InetAddress.getByAddress(new byte[] {(byte)(v4 >>> 24), (byte)(v4 >>> 16), (byte)(v4 >>> 8), (byte)v4});
        }
        catch (final IllegalArgumentException | IOException ex)
        {
            throw new ConfigException(field, "must be a literal IPv4 or IPv6 address: " + text);
        }
    }

    private static InetSocketAddress socketAddress(final String field, final String text) throws ConfigException
    {
        final int colon = text.lastIndexOf(':');
        if (colon <= 0)
        {
            throw new ConfigException(field, "must be address:port (127.0.0.1:9470 or [::1]:9470): " + text);
        }
        String host = text.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]"))
        {
            host = host.substring(1, host.length() - 1);
        }
        else if (host.indexOf(':') >= 0)
        {
            throw new ConfigException(field, "an IPv6 address needs brackets: [::1]:9470");
        }
        final int port;
        try
        {
            port = Integer.parseInt(text.substring(colon + 1));
        }
        catch (final NumberFormatException ex)
        {
            throw new ConfigException(field, "bad port in " + text);
        }
        if (port < 0 || port > 65535)
        {
            throw new ConfigException(field, "port must be in 0..65535: " + text);
        }
        return new InetSocketAddress(literal(field, host), port);
    }

    /**
     * @return the API socket address.
     */
    public InetSocketAddress apiAddress()
    {
        try
        {
            return socketAddress("api.listen", api.listen());
        }
        catch (final ConfigException ex)
        {
            throw new IllegalStateException(ex);
        }
    }

    /**
     * @param file the key log file ({@code --wg-keylog}).
     * @return a copy that logs WireGuard session keys to {@code file}.
     * @throws ConfigException when the device has no encrypted substrate.
     */
    public DeviceConfig withWireguardKeylog(final String file) throws ConfigException
    {
        final Wireguard w = substrate.wireguard();
        if (w == null)
        {
            throw new ConfigException("substrate.wireguard", "--wg-keylog needs substrate.wireguard in the configuration");
        }
        return new DeviceConfig(device, api, new Substrate(substrate.enabled(), substrate.bindAddress(), substrate.genevePort(),
            substrate.vxlanPort(), substrate.transport(), substrate.receiveQueues(),
            new Wireguard(w.privateKeyFile(), w.listenPort(), w.innerAddress(), file, w.rekeyAfterSeconds()), substrate.sourcePorts(),
            substrate.interfaceName()),
            dataplane, journal,
            tasks, cluster, flowLogs);
    }

    /**
     * @return the data plane configuration.
     */
    public DataPlaneConfig dataPlaneConfig()
    {
        return new DataPlaneConfig(dataplane.workers(), dataplane.frameSlots(), dataplane.connectionCapacity(),
            dataplane.timeouts() == null ? ConnectionTimeouts.DEFAULTS : connectionTimeouts(dataplane.timeouts()),
            DataPlaneConfig.DEFAULT_SUPER_FRAME_SLOTS, dataplane.workerCpuList());
    }

    /**
     * @return the substrate configuration without its encrypted part.
     */
    public UdpSubstrate.Config substrateConfig()
    {
        return new UdpSubstrate.Config(substrate.bindAddress(), substrate.genevePort(), substrate.vxlanPort(),
            UdpSubstrate.Transport.valueOf(substrate.transport().toUpperCase(Locale.ROOT)), substrate.receiveQueues(), 4096, null,
            substrate.sourcePorts(), substrate.interfaceName());
    }

    /**
     * @param keyLog where session keys are logged (debugging), or null.
     * @return the substrate configuration, with WireGuard when {@code substrate.wireguard} is set (its private key read now).
     * @throws ConfigException when the private key file cannot be read, holds no key, or is readable by group or others.
     */
    public UdpSubstrate.Config substrateConfig(final io.vsnic.crypto.wireguard.KeyLog.Writer keyLog) throws ConfigException
    {
        final UdpSubstrate.Config plain = substrateConfig();
        final Wireguard w = substrate.wireguard();
        if (w == null)
        {
            return plain;
        }
        final byte[] key;
        try
        {
            key = WireguardConfig.readPrivateKeyFile(Path.of(w.privateKeyFile()));
        }
        catch (final IOException ex)
        {
            throw new ConfigException("substrate.wireguard.privateKeyFile", ex.getMessage());
        }
        try
        {
            final io.vsnic.crypto.wireguard.WireguardTimers timers = w.rekeyAfterSeconds() == null ||
                w.rekeyAfterSeconds() == REKEY_AFTER_SECONDS ? io.vsnic.crypto.wireguard.WireguardTimers.DEFAULT :
                io.vsnic.crypto.wireguard.WireguardTimers.DEFAULT.withRekeyAfterTimeNs(
                    java.util.concurrent.TimeUnit.SECONDS.toNanos(w.rekeyAfterSeconds()));
            return plain.withWireguard(new WireguardConfig(key, w.listenPort(), w.innerAddress(), timers, keyLog,
                WireguardConfig.DEFAULT_STAGED_FRAMES));
        }
        finally
        {
            java.util.Arrays.fill(key, (byte)0);
        }
    }
}
