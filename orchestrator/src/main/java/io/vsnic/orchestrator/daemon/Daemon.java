package io.vsnic.orchestrator.daemon;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.security.GeneralSecurityException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.vsnic.dataplane.pipeline.DataPlane;
import io.vsnic.dataplane.pipeline.MemoryPort;
import io.vsnic.dataplane.substrate.UdpSubstrate;
import io.vsnic.orchestrator.api.ApiAuth;
import io.vsnic.orchestrator.api.ApiServer;
import io.vsnic.orchestrator.cluster.ClusterCa;
import io.vsnic.orchestrator.cluster.ClusterNode;
import io.vsnic.orchestrator.cluster.JoinTokens;
import io.vsnic.orchestrator.cluster.ClusterState;
import io.vsnic.orchestrator.cluster.ClusterTls;
import io.vsnic.orchestrator.cluster.LocalView;
import io.vsnic.orchestrator.cluster.Member;
import io.vsnic.orchestrator.model.DesiredState;
import io.vsnic.orchestrator.model.Json;
import org.apache.ratis.grpc.GrpcTlsConfig;
import io.vsnic.orchestrator.flows.FlowLogStore;
import io.vsnic.orchestrator.journal.Journal;
import io.vsnic.orchestrator.model.NetworkResource;
import io.vsnic.orchestrator.model.ResourceException;
import io.vsnic.orchestrator.model.VnicResource;

/**
 * vsnicd: one device's daemon. {@link #start} takes the state directory's lock, reads the journal,
 * starts the data plane and the substrate, replays the desired state into them, starts a fresh
 * journal generation with its snapshot, then opens the REST API. {@link #close} undoes it in
 * reverse order and is safe to call twice (the shutdown hook and the caller may both call it).
 */
public final class Daemon implements AutoCloseable
{
    private static final System.Logger LOG = System.getLogger(Daemon.class.getName());

    private final DeviceConfig config;
    private final Path stateDirectory;
    private final long startedMs = System.currentTimeMillis();
    private final CountDownLatch closed = new CountDownLatch(1);
    private FileChannel lockChannel;
    private FileLock lock;
    private Journal journal;
    private Journal.Replay replay;
    private DataPlane dataPlane;
    private UdpSubstrate substrate;
    private FlowLogStore flowLogs;
    private final java.util.concurrent.atomic.AtomicLong capturedFrames = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.atomic.AtomicLong captureDrops = new java.util.concurrent.atomic.AtomicLong();
    private DeviceController controller;
    private Tasks tasks;
    private ApiServer api;
    private ApiAuth apiAuth = ApiAuth.none();
    private boolean closing;
    private java.io.PrintStream keyLogStream;
    private ClusterNode cluster;
    private ExecutorService clusterApplier;
    private Thread registrar;
    private final AtomicReference<ClusterState> replicated = new AtomicReference<>();
    private final AtomicBoolean reconcilePending = new AtomicBoolean();
    private volatile long localRevision = -1;
    private final AtomicLong clusterApplyErrors = new AtomicLong();
    private volatile String lastClusterApplyError;

    private Daemon(final DeviceConfig config, final Path stateDirectory)
    {
        this.config = config;
        this.stateDirectory = stateDirectory;
    }

    /**
     * Starts a daemon.
     *
     * @throws StartException with a message for the operator when it cannot start (nothing is left running).
     */
    public static Daemon start(final DeviceConfig config, final Path stateDirectory) throws StartException
    {
        return start(config, stateDirectory, VnicBackends.defaults());
    }

    /**
     * Starts a daemon with a given set of vNIC backends.
     *
     * @throws StartException with a message for the operator when it cannot start (nothing is left running).
     */
    public static Daemon start(final DeviceConfig config, final Path stateDirectory, final VnicBackends backends)
        throws StartException
    {
        final Daemon daemon = new Daemon(config, stateDirectory);
        try
        {
            daemon.run(backends);
            return daemon;
        }
        catch (final StartException ex)
        {
            daemon.close();
            throw ex;
        }
        catch (final IOException | RuntimeException ex)
        {
            daemon.close();
            throw new StartException(ex.getMessage() == null ? ex.toString() : ex.getMessage(), ex);
        }
        catch (final Error ex)
        {
            // e.g. a class that fails to initialise: stop what already runs (event loops, workers), so that
            // the process ends instead of idling without an API
            daemon.close();
            throw ex;
        }
    }

    /**
     * Opens the WireGuard key log named by the configuration (mode 0600, appended to), with a loud warning.
     *
     * @return the writer, or null when none is configured.
     */
    private io.vsnic.crypto.wireguard.KeyLog.Writer openKeyLog() throws StartException
    {
        final DeviceConfig.Wireguard w = config.substrate().wireguard();
        if (w == null || w.keylog() == null)
        {
            return null;
        }
        final Path file = Path.of(w.keylog());
        try
        {
            if (!Files.exists(file))
            {
                Files.createFile(file, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                    java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")));
            }
            Files.setPosixFilePermissions(file, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
            keyLogStream = new java.io.PrintStream(Files.newOutputStream(file, StandardOpenOption.APPEND), true,
                java.nio.charset.StandardCharsets.US_ASCII);
        }
        catch (final IOException ex)
        {
            throw new StartException("cannot open the WireGuard key log " + file + ": " + ex.getMessage(), ex);
        }
        LOG.log(Level.WARNING, "*************************************************************************************");
        LOG.log(Level.WARNING, "WireGuard KEY LOG is ON: every session key of this device is written to " + file);
        LOG.log(Level.WARNING, "whoever can read it can decrypt all substrate traffic; use for debugging only");
        LOG.log(Level.WARNING, "*************************************************************************************");
        return new io.vsnic.crypto.wireguard.KeyLog.Writer(keyLogStream);
    }

    private void run(final VnicBackends backends) throws IOException, StartException
    {
        io.vsnic.crypto.primitive.VectorSupport.checkConfiguration();
        Files.createDirectories(stateDirectory);
        lockChannel = FileChannel.open(stateDirectory.resolve("lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        try
        {
            lock = lockChannel.tryLock();
        }
        catch (final OverlappingFileLockException ex)
        {
            lock = null;
        }
        if (lock == null)
        {
            throw new StartException("state directory " + stateDirectory + " is in use by another vsnicd");
        }
        final List<Journal.Replay> replays = new ArrayList<>();
        journal = Journal.open(stateDirectory.resolve("journal"), replays);
        replay = replays.get(0);
        if (replay.corrupt())
        {
            LOG.log(Level.WARNING, "journal: corrupt or torn tail in generation " + replay.generation() + ": " +
                replay.corruption() + "; starting with every intact entry");
        }
        // standalone: the journal's state now, so that the enclaves it restores keep their ports (they bind after
        // the device substrate, whose source ports are drawn from the range enclave ports often come from)
        final DesiredState recovered = config.cluster() == null ? replayedState() : null;
        dataPlane = new DataPlane(config.dataPlaneConfig(), config.flowLogs().enabled() ? config.flowLogs().settings() : null);
        if (config.substrate().enabled())
        {
            final UdpSubstrate.Config substrateConfig;
            try
            {
                substrateConfig = config.substrateConfig(openKeyLog());
            }
            catch (final ConfigException ex)
            {
                throw new StartException("substrate: " + ex.getMessage(), ex);
            }
            substrate = new UdpSubstrate(DeviceController.OVERLAY_PORT, dataPlane.pool(), dataPlane::state, substrateConfig);
            if (recovered != null)
            {
                substrate.avoidSourcePorts(recovered.enclaves().values().stream().map(e -> e.substrate().port())
                    .filter(java.util.Objects::nonNull).toList());
            }
            try
            {
                substrate.start();
            }
            catch (final IOException ex)
            {
                substrate = null;
                throw new StartException("substrate: " + ex.getMessage(), ex);
            }
            dataPlane.overlayPort(substrate);
            final List<Integer> sourcePorts = substrate.sourcePorts();
            LOG.log(Level.INFO, "substrate: Geneve on port " + substrate.genevePort() +
                (substrate.vxlanPort() != 0 ? ", VXLAN on port " + substrate.vxlanPort() : "") +
                (sourcePorts.isEmpty() ? "; plaintext overlay leaves from those ports (sourcePorts 0, no flow entropy)" :
                    "; plaintext overlay leaves from " + sourcePorts.size() + " source ports picked by inner flow hash " + sourcePorts));
            if (substrate.wireguardPublicKey() != null)
            {
                LOG.log(Level.INFO, "substrate: WireGuard on port " + substrate.wireguardPort() + ", public key " +
                    substrate.wireguardPublicKey() + ", inner address " + config.substrate().wireguard().innerAddress());
            }
        }
        dataPlane.start();
        if (config.dataplane().workerCpus() != null)
        {
            LOG.log(Level.INFO, "dataplane: " + dataPlane.workerCount() + " workers, pinned to CPUs " + config.dataplane().workerCpus() +
                " (worker i on the list's CPU i, wrapping around)");
        }
        if (config.cluster() != null)
        {
            startCluster(backends);
        }
        else
        {
            startStandalone(backends, recovered);
        }
        if (dataPlane.flowLog() != null)
        {
            flowLogs = new FlowLogStore(dataPlane.flowLog(), stateDirectory.resolve("flows"), config.flowLogs().roll(),
                config.flowLogs().retentionMs(), this::vnicOfPort, this::networkOfVni);
        }
        try
        {
            apiAuth = ApiAuth.create(config.api(), stateDirectory);
        }
        catch (final IOException ex)
        {
            throw new StartException("api: " + ex.getMessage(), ex);
        }
        api = new ApiServer(this, apiAuth);
        try
        {
            api.start(config.apiAddress());
        }
        catch (final IOException ex)
        {
            api = null;
            throw new StartException("api: cannot listen on " + config.api().listen() + ": " + ex.getMessage(), ex);
        }
        if (cluster != null)
        {
            registrar = new Thread(this::register, "vsnic-cluster-register");
            registrar.setDaemon(true);
            registrar.start();
        }
    }

    /**
     * @return the enclave realizer: enclave substrates bind the device substrate's address unless they name one.
     */
    private Enclaves enclaves(final VnicBackends backends)
    {
        final DeviceConfig.Substrate s = config.substrate();
        final String bind = s.bindAddress() == null ? "0.0.0.0" : s.bindAddress();
        final UdpSubstrate.Transport transport = s.transport() == null ? UdpSubstrate.Transport.EPOLL :
            UdpSubstrate.Transport.valueOf(s.transport().toUpperCase(java.util.Locale.ROOT));
        final Enclaves enclaves = new Enclaves(config.device().name(), config.device().id(), bind, transport, backends);
        final UdpSubstrate device = substrate;
        return device == null ? enclaves : enclaves.releasingSourcePorts(port -> device.releaseSourcePort(port, dataPlane::quiesce));
    }

    /** The desired state the journal's replayed entries describe (standalone devices). */
    private DesiredState replayedState() throws IOException, StartException
    {
        try
        {
            return DeviceController.replayed(replay.entries());
        }
        catch (final ResourceException ex)
        {
            throw invalidJournalState(ex);
        }
    }

    private static StartException invalidJournalState(final ResourceException ex)
    {
        return new StartException("the journal's desired state is not valid for this build: " + ex.getMessage() +
            (ex.field() == null ? "" : " (" + ex.field() + ")"), ex);
    }

    private void startStandalone(final VnicBackends backends, final DesiredState recovered) throws IOException, StartException
    {
        controller = new DeviceController(config.device().name(), config.device().id(), journal,
            new Reconciler(dataPlane, backends, substrate != null && substrate.wireguardPublicKey() != null)
                .withEnclaves(enclaves(backends)),
            config.journal().snapshotEvery());
        openTasks();
        try
        {
            controller.recover(recovered, replay.corrupt());
        }
        catch (final ResourceException ex)
        {
            throw invalidJournalState(ex);
        }
        controller.state().peers().values().stream().filter(peer -> "none".equals(peer.encryption())).forEach(peer ->
            LOG.log(Level.WARNING, "peer " + peer.name() + " (device " + peer.device() + ", " + peer.endpoint() +
                ") has encryption none: its overlay traffic crosses the substrate unencrypted and unauthenticated"));
        LOG.log(Level.INFO, "journal: replayed " + replay.entries().size() + " entries, revision " + controller.state().revision() +
            ", " + controller.state().vnics().size() + " vnics, " + controller.state().networks().size() + " networks" +
            (controller.reconciler().pending().isEmpty() ? "" : ", " + controller.reconciler().pending().size() + " vnics pending"));
        tasks.start();
    }

    /** Opens the task journal ({@code STATE_DIR/tasks}) and binds the tasks to the controller. */
    private void openTasks() throws IOException
    {
        final DeviceConfig.TaskSettings t = config.tasks();
        tasks = Tasks.open(stateDirectory.resolve("tasks"), new Tasks.Settings(t.retryInitialMs(), t.retryMaxMs(), t.keepFinished(),
            Math.max(100, Math.min(config.journal().snapshotEvery(), 10_000))));
        final UdpSubstrate wireguard = substrate != null && substrate.wireguardPublicKey() != null ? substrate : null;
        tasks.bind(controller, wireguard == null ? null : device -> wireguard.wireguardPeers().stream()
            .filter(status -> status.device() == device).findFirst().orElse(null));
    }

    // ---------------------------------------------------------------------------------------------
    // cluster mode

    private void startCluster(final VnicBackends backends) throws IOException, StartException
    {
        final DeviceConfig.Cluster c = config.cluster();
        controller = DeviceController.clustered(config.device().name(), config.device().id(),
            new Reconciler(dataPlane, backends, substrate != null && substrate.wireguardPublicKey() != null)
                .withEnclaves(enclaves(backends).lenient()), this::submitToHead);
        openTasks();
        tasks.start();
        clusterApplier = Executors.newSingleThreadExecutor(r -> new Thread(r, "vsnic-cluster-apply"));
        final GrpcTlsConfig tls;
        try
        {
            tls = ClusterTls.forDevice(stateDirectory.resolve("cluster"), config.device().name(), c.tls());
        }
        catch (final IOException | GeneralSecurityException ex)
        {
            throw new StartException("cluster: " + ex.getMessage(), ex);
        }
        cluster = new ClusterNode(new ClusterNode.Options(config.device().name(), c.name(), c.peers(), stateDirectory.resolve("raft"),
            c.snapshotEvery(), c.requestTimeoutMs(), tls, c.join()), this::replicated);
        try
        {
            cluster.start();
        }
        catch (final IOException | RuntimeException ex)
        {
            throw new StartException("cluster: cannot start the Raft member on " + c.raft() + ": " + ex.getMessage(), ex);
        }
    }

    /** Called on the Raft apply thread for every new replicated state: publish it, reconcile on the applier. */
    private void replicated(final ClusterState state)
    {
        replicated.set(state);
        controller.replicated(state.desired());
        if (reconcilePending.compareAndSet(false, true))
        {
            try
            {
                clusterApplier.execute(this::reconcileLatest);
            }
            catch (final RejectedExecutionException ex)
            {
                reconcilePending.set(false);
            }
        }
    }

    private void reconcileLatest()
    {
        reconcilePending.set(false);
        final ClusterState state = replicated.get();
        if (state == null || state.desired().revision() == localRevision && localRevision >= 0 && !membersChanged(state))
        {
            return;
        }
        final DesiredState local = LocalView.derive(state, config.device().name(), config.device().id());
        try
        {
            controller.reconcileLocal(local);
            localRevision = local.revision();
            lastMembers = state.members();
        }
        catch (final RuntimeException ex)
        {
            // the data plane keeps its last tables; the next replicated state tries again
            clusterApplyErrors.incrementAndGet();
            lastClusterApplyError = "revision " + local.revision() + ": " + ex.getMessage();
            LOG.log(Level.WARNING, "cluster: this device cannot apply revision " + local.revision() + " (keeping revision " +
                localRevision + "): " + ex.getMessage());
        }
    }

    private volatile java.util.SortedMap<String, Member> lastMembers;

    private boolean membersChanged(final ClusterState state)
    {
        return !state.members().equals(lastMembers);
    }

    private JsonNode submitToHead(final ObjectNode command)
    {
        // during an election no head is known for up to one election timeout: wait that long, not longer
        final long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(ClusterNode.ELECTION_TIMEOUT_MAX_MS);
        while (cluster.head() == null)
        {
            if (System.nanoTime() > deadline)
            {
                throw noQuorum("no head known for " + ClusterNode.ELECTION_TIMEOUT_MAX_MS + " ms (this device is cut off, " +
                    "or a majority is down)");
            }
            try
            {
                Thread.sleep(10);
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
                throw noQuorum("interrupted");
            }
        }
        try
        {
            return cluster.submit(command);
        }
        catch (final ClusterNode.NoQuorumException ex)
        {
            throw noQuorum(ex.getMessage());
        }
    }

    private ResourceException noQuorum(final String why)
    {
        final String head = cluster.lastKnownHead();
        return new ResourceException(503, "no_quorum", "write refused: no head with a quorum is reachable from " +
            config.device().name() + " (last known head: " + (head == null ? "none" : head) + "): " + why, null);
    }

    /** Records this device in the replicated membership (retries until a head accepts it). */
    private void register()
    {
        final DeviceConfig.Cluster c = config.cluster();
        final String raftHost = c.raft().substring(0, c.raft().lastIndexOf(':'));
        final String bind = config.substrate().bindAddress();
        final boolean wildcard = bind.equals("0.0.0.0") || bind.equals("::");
        final DeviceConfig.Wireguard wg = config.substrate().wireguard();
        final boolean encrypted = substrate != null && wg != null;
        final String substrateEndpoint = substrate == null ? null : c.substrateEndpoint() != null ? c.substrateEndpoint() :
            (wildcard ? raftHost : bind.indexOf(':') >= 0 ? "[" + bind + "]" : bind) + ":" +
                (encrypted ? wg.listenPort() : substrate.genevePort());
        final String apiEndpoint = apiAddress().getAddress().getHostAddress() + ":" + apiAddress().getPort();
        final Member me = new Member(config.device().name(), config.device().id(), c.raft(), apiEndpoint, substrateEndpoint,
            encrypted ? substrate.wireguardPublicKey() : null, encrypted ? wg.innerAddress() : null);
        if (c.join())
        {
            while (!closing)
            {
                try
                {
                    if (cluster.voters().containsKey(me.name()))
                    {
                        break;
                    }
                    cluster.joinVoters();
                    LOG.log(Level.INFO, "cluster: " + me.name() + " added to the voters");
                    break;
                }
                catch (final IOException ex)
                {
                    LOG.log(Level.INFO, "cluster: waiting to be added to the voters: " + ex.getMessage());
                    try
                    {
                        Thread.sleep(500);
                    }
                    catch (final InterruptedException ie)
                    {
                        return;
                    }
                }
            }
        }
        while (!closing)
        {
            final ClusterState state = cluster.state();
            if (me.equals(state.members().get(me.name())))
            {
                LOG.log(Level.INFO, "cluster: " + me.name() + " is a member (" + state.members().size() + " members)");
                return;
            }
            try
            {
                final ObjectNode command = Json.mapper().createObjectNode().put("type", "member");
                command.set("member", Json.mapper().valueToTree(me));
                final JsonNode reply = cluster.submit(command);
                if (!reply.path("ok").asBoolean())
                {
                    LOG.log(Level.ERROR, "cluster: membership refused: " + reply.path("message").asText());
                    return;
                }
                // committed: this device sees it once it has caught up (it may be behind after a restart)
                LOG.log(Level.INFO, "cluster: " + me.name() + " recorded as a member (substrate " + substrateEndpoint + ")");
                return;
            }
            catch (final ClusterNode.NoQuorumException ex)
            {
                try
                {
                    Thread.sleep(300);
                }
                catch (final InterruptedException ie)
                {
                    return;
                }
            }
        }
    }

    /** Opened on first use: {@code STATE_DIR/cluster/join-tokens} (only the CA holder issues and uses tokens). */
    private JoinTokens tokens;

    private synchronized JoinTokens tokens()
    {
        if (tokens == null)
        {
            final Path file = clusterDirectory().resolve(JoinTokens.FILE);
            try
            {
                tokens = JoinTokens.open(file, System.currentTimeMillis());
            }
            catch (final IOException ex)
            {
                throw new ResourceException(500, "join_tokens_unreadable", "cannot read the join tokens: " + ex.getMessage() +
                    " (remove the file to void every outstanding token)", null);
            }
        }
        return tokens;
    }

    private static ResourceException tokenFileError(final IOException ex)
    {
        return new ResourceException(500, "join_tokens_unwritable", "cannot record the join token: " + ex.getMessage(), null);
    }

    private Path clusterDirectory()
    {
        return stateDirectory.resolve("cluster");
    }

    private void requireCluster()
    {
        if (cluster == null)
        {
            throw ResourceException.conflict("not_clustered", null, "this device is standalone (no cluster section in its configuration)");
        }
    }

    /**
     * Issues a single-use join token ({@code POST /v1/cluster/tokens}); only on the device that holds the CA key.
     *
     * @return {@code {"token": T, "expiresAt": ISO-8601}}.
     */
    public ObjectNode issueJoinToken(final long ttlSeconds)
    {
        requireCluster();
        if (!Files.exists(clusterDirectory().resolve(ClusterCa.CA_KEY)))
        {
            throw ResourceException.conflict("no_ca", null, config.device().name() + " does not hold the cluster CA key " +
                "(only the device that ran `vsnic cluster init` does)");
        }
        if (ttlSeconds < 1 || ttlSeconds > JoinTokens.MAX_TTL_SECONDS)
        {
            throw ResourceException.invalid("ttlSeconds", "ttlSeconds must be in 1.." + JoinTokens.MAX_TTL_SECONDS + ": " + ttlSeconds);
        }
        final long now = System.currentTimeMillis();
        final ObjectNode reply = Json.mapper().createObjectNode();
        try
        {
            reply.put("token", tokens().issue(ttlSeconds, now));
        }
        catch (final IOException ex)
        {
            throw tokenFileError(ex);
        }
        reply.put("expiresAt", java.time.Instant.ofEpochMilli(now + ttlSeconds * 1000).toString());
        return reply;
    }

    /**
     * Admits a device ({@code POST /v1/cluster/join}): checks and uses up the token, certifies the
     * device's public key with the cluster CA and answers with the certificates and the cluster
     * configuration the device starts with. The device asks to become a voter when it starts.
     *
     * @param request {@code {"token", "device", "id", "raft", "publicKey" (PEM)}}.
     */
    public ObjectNode admit(final JsonNode request)
    {
        requireCluster();
        final String device = text(request, "device");
        final String raft = text(request, "raft");
        final String publicKeyPem = text(request, "publicKey");
        if (!request.path("id").canConvertToInt())
        {
            throw ResourceException.missing("id");
        }
        final int id = request.get("id").asInt();
        if (!io.vsnic.orchestrator.model.Validator.NAME.matcher(device).matches())
        {
            throw ResourceException.invalid("device", "device must be 1..63 characters of letters, digits, '.', '_', '-': " + device);
        }
        final int colon = raft.lastIndexOf(':');
        if (colon <= 0)
        {
            throw ResourceException.invalid("raft", "raft must be host:port: " + raft);
        }
        final ClusterCa ca;
        try
        {
            ca = ClusterCa.load(clusterDirectory());
        }
        catch (final IOException | GeneralSecurityException ex)
        {
            throw ResourceException.conflict("no_ca", null, ex.getMessage());
        }
        final boolean valid;
        try
        {
            valid = tokens().consume(text(request, "token"), System.currentTimeMillis());
        }
        catch (final IOException ex)
        {
            throw tokenFileError(ex);
        }
        if (!valid)
        {
            throw new ResourceException(403, "invalid_token", "the join token is unknown, used or expired (issue one with `vsnic cluster token`)",
                "token");
        }
        final ClusterState state = cluster.state();
        for (final Member member : state.members().values())
        {
            if (member.name().equals(device) || member.id() == id)
            {
                throw ResourceException.conflict("already_member", "device", "the cluster already has device " + member.name() +
                    " with id " + member.id());
            }
        }
        final Map<String, String> voters;
        final String certificate;
        try
        {
            voters = new java.util.TreeMap<>(cluster.voters());
            final java.security.PublicKey key = ClusterCa.parsePublicKey(publicKeyPem);
            certificate = ClusterCa.pem(ca.issue(device, key, List.of(raft.substring(0, colon).replace("[", "").replace("]", ""))));
        }
        catch (final IOException | GeneralSecurityException | RuntimeException ex)
        {
            throw ResourceException.invalid("publicKey", "cannot certify the public key: " + ex.getMessage());
        }
        voters.put(device, raft);
        final ObjectNode reply = Json.mapper().createObjectNode();
        try
        {
            reply.put("caCertificate", ClusterCa.pem(ca.certificate()));
        }
        catch (final IOException ex)
        {
            throw new IllegalStateException(ex);
        }
        reply.put("certificate", certificate);
        final ObjectNode c = reply.putObject("cluster");
        c.put("name", config.cluster().name());
        c.set("peers", Json.mapper().valueToTree(voters));
        LOG.log(Level.INFO, "cluster: admitted " + device + " (id " + id + ", raft " + raft + ")");
        return reply;
    }

    private static String text(final JsonNode request, final String field)
    {
        if (request == null || !request.hasNonNull(field) || !request.get(field).isTextual())
        {
            throw ResourceException.missing(field);
        }
        return request.get(field).asText();
    }

    /**
     * Takes a device out of the cluster ({@code DELETE /v1/cluster/members/{name}}): its membership
     * record (refused while vNICs live on it), then its vote.
     */
    public void removeMember(final String name)
    {
        requireCluster();
        final ObjectNode command = Json.mapper().createObjectNode().put("type", "remove").put("name", name);
        final JsonNode reply = submitToHead(command);
        if (!reply.path("ok").asBoolean())
        {
            throw new ResourceException(reply.path("status").asInt(409), reply.path("code").asText(), reply.path("message").asText(), null);
        }
        try
        {
            cluster.removeVoter(name);
        }
        catch (final IOException ex)
        {
            throw noQuorum("the member record is removed but its vote could not be: " + ex.getMessage());
        }
    }

    /**
     * @return the cluster member, or null standalone.
     */
    public ClusterNode cluster()
    {
        return cluster;
    }

    /**
     * @return the revision of the replicated state this device's data plane runs (cluster mode; -1 before the first).
     */
    public long localRevision()
    {
        return localRevision;
    }

    /**
     * @return replicated states this device could not apply to its data plane (cluster mode).
     */
    public long clusterApplyErrors()
    {
        return clusterApplyErrors.get();
    }

    /**
     * @return the last such error, or null.
     */
    public String lastClusterApplyError()
    {
        return lastClusterApplyError;
    }

    /**
     * @return the address the API listens on (the real port when configured as 0).
     */
    public InetSocketAddress apiAddress()
    {
        return api.address();
    }

    /**
     * @return how the API authenticates requests, with its refusal counters.
     */
    public ApiAuth apiAuth()
    {
        return apiAuth;
    }

    public DeviceConfig config()
    {
        return config;
    }

    public Path stateDirectory()
    {
        return stateDirectory;
    }

    public DeviceController controller()
    {
        return controller;
    }

    private String vnicOfPort(final int port)
    {
        for (final VnicResource vnic : controller.state().vnics().values())
        {
            if (vnic.port() != null && vnic.port() == port)
            {
                return vnic.id();
            }
        }
        return null;
    }

    private String networkOfVni(final int vni)
    {
        for (final NetworkResource network : controller.state().networks().values())
        {
            if (network.vni() == vni)
            {
                return network.name();
            }
        }
        return null;
    }

    /**
     * Adds a finished capture's numbers to the daemon's totals ({@code /metrics}).
     *
     * @param frames  frames written to the client.
     * @param dropped copies dropped because a capture ring was full.
     */
    public void countCapture(final long frames, final long dropped)
    {
        capturedFrames.addAndGet(frames);
        captureDrops.addAndGet(dropped);
    }

    /** @return frames written by captures since the start. */
    public long capturedFrames()
    {
        return capturedFrames.get();
    }

    /** @return capture copies dropped (ring full) since the start. */
    public long captureDrops()
    {
        return captureDrops.get();
    }

    /**
     * @return true once {@link #close} has begun.
     */
    public synchronized boolean closing()
    {
        return closing;
    }

    /**
     * @return the flow log store, or null when flow logs are off.
     */
    public FlowLogStore flowLogs()
    {
        return flowLogs;
    }

    public DataPlane dataPlane()
    {
        return dataPlane;
    }

    /**
     * @return the substrate, or null when disabled.
     */
    public UdpSubstrate substrate()
    {
        return substrate;
    }

    public Journal journal()
    {
        return journal;
    }

    /**
     * @return the reconciler's long-running tasks.
     */
    public Tasks tasks()
    {
        return tasks;
    }

    /**
     * @return what the journal replay found at start.
     */
    public Journal.Replay replay()
    {
        return replay;
    }

    public long startedMs()
    {
        return startedMs;
    }

    /**
     * @return the in-memory port of a memory vNIC (tests and embedding programs inject and poll frames through it).
     * @throws IllegalArgumentException when the vNIC is not attached or not a memory vNIC.
     */
    public MemoryPort memoryPort(final String vnicId)
    {
        final Reconciler.Attached attached = controller.reconciler().attached().get(vnicId);
        if (attached == null || !(attached.endpoint() instanceof MemoryVnicBackend.Endpoint endpoint))
        {
            throw new IllegalArgumentException("vnic " + vnicId + " is not an attached memory vNIC");
        }
        return endpoint.port();
    }

    /**
     * Blocks until {@link #close} has finished.
     */
    public void awaitClosed() throws InterruptedException
    {
        closed.await();
    }

    /**
     * Stops the API, detaches the vNICs, stops the data plane and the substrate, closes the journal
     * and releases the state directory.
     */
    @Override
    public void close()
    {
        synchronized (this)
        {
            if (closing)
            {
                return;
            }
            closing = true;
        }
        try
        {
            if (api != null)
            {
                api.close();
            }
            if (registrar != null)
            {
                registrar.interrupt();
            }
            if (cluster != null)
            {
                cluster.close();
            }
            if (clusterApplier != null)
            {
                clusterApplier.shutdown();
                try
                {
                    clusterApplier.awaitTermination(10, TimeUnit.SECONDS);
                }
                catch (final InterruptedException ex)
                {
                    Thread.currentThread().interrupt();
                }
            }
            if (tasks != null)
            {
                // before the vNICs go: no attempt may attach one after that
                tasks.close();
            }
            if (controller != null)
            {
                synchronized (controller)
                {
                    controller.reconciler().detachAll();
                }
            }
            if (flowLogs != null)
            {
                flowLogs.close();
            }
            if (substrate != null)
            {
                // before the data plane: the substrate releases its queued frames into the data plane's pool
                substrate.close();
            }
            if (dataPlane != null)
            {
                dataPlane.close();
            }
            if (journal != null)
            {
                journal.close();
            }
            if (keyLogStream != null)
            {
                keyLogStream.close();
            }
            if (lock != null)
            {
                lock.release();
            }
            if (lockChannel != null)
            {
                lockChannel.close();
            }
        }
        catch (final IOException | RuntimeException ex)
        {
            LOG.log(Level.WARNING, "error while stopping: " + ex, ex);
        }
        finally
        {
            closed.countDown();
        }
    }

    /** The daemon could not start; the message is for the operator. */
    public static final class StartException extends Exception
    {
        private static final long serialVersionUID = 1L;

        /**
         * @param message what went wrong.
         */
        public StartException(final String message)
        {
            super(message);
        }

        /**
         * @param message what went wrong.
         * @param cause   the underlying failure.
         */
        public StartException(final String message, final Throwable cause)
        {
            super(message, cause);
        }
    }
}
