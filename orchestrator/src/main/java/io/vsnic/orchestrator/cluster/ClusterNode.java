package io.vsnic.orchestrator.cluster;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vsnic.orchestrator.model.Json;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.client.RaftClientConfigKeys;
import org.apache.ratis.conf.Parameters;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.grpc.GrpcConfigKeys;
import org.apache.ratis.grpc.GrpcFactory;
import org.apache.ratis.grpc.GrpcTlsConfig;
import org.apache.ratis.protocol.ClientId;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.protocol.SetConfigurationRequest;
import org.apache.ratis.retry.RetryPolicies;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.util.TimeDuration;

/**
 * One device's member of the cluster's Raft group (Apache Ratis over gRPC): the server with its
 * {@link ClusterStateMachine}, durable log and snapshots under the state directory, and a client
 * that submits commands to whoever is the head (the Raft leader; the client follows leader
 * changes). Writes that cannot reach a quorum fail with {@link NoQuorumException} within
 * {@link Options#requestTimeoutMs} (times the few retries), they never hang.
 */
public final class ClusterNode implements AutoCloseable
{
    private static final System.Logger LOG = System.getLogger(ClusterNode.class.getName());
    /** Ratis logs every election step and every client redirect at INFO; keep its warnings only. */
    private static final java.util.logging.Logger RATIS = java.util.logging.Logger.getLogger("org.apache.ratis");

    static
    {
        RATIS.setLevel(java.util.logging.Level.WARNING);
    }

    /** Shortest election timeout (a follower that hears nothing for this long may start an election). */
    public static final long ELECTION_TIMEOUT_MIN_MS = 500;
    /** Longest election timeout. */
    public static final long ELECTION_TIMEOUT_MAX_MS = 1000;

    private final Options options;
    private final ClusterStateMachine stateMachine;
    private RaftServer server;
    private volatile RaftClient client;
    private RaftProperties properties;
    private Parameters parameters;
    private RaftGroup group;
    private volatile String lastKnownHead;
    /** Threads for client calls; a call that outlives its caller's timeout ends with the retry policy. */
    private final java.util.concurrent.ExecutorService callers = java.util.concurrent.Executors.newCachedThreadPool(r ->
    {
        final Thread thread = new Thread(r, "vsnic-raft-client");
        thread.setDaemon(true);
        return thread;
    });
    private boolean joining;

    /**
     * @param name            this device's name (its Raft peer id).
     * @param cluster         the cluster's name (the Raft group id derives from it).
     * @param peers           every voting member's Raft address by name, this device included.
     * @param storage         the directory for the Raft log and snapshots.
     * @param snapshotEvery   log entries between automatic snapshots.
     * @param requestTimeoutMs how long one write attempt may wait for a quorum.
     * @param tls             TLS (mutual, with device certificates) for all Raft traffic, or null for plaintext.
     */
    public record Options(String name, String cluster, Map<String, String> peers, Path storage, long snapshotEvery,
        long requestTimeoutMs, GrpcTlsConfig tls, boolean join)
    {
        /**
         * Options of a founding member (not joining an existing group).
         */
        public Options(final String name, final String cluster, final Map<String, String> peers, final Path storage,
            final long snapshotEvery, final long requestTimeoutMs, final GrpcTlsConfig tls)
        {
            this(name, cluster, peers, storage, snapshotEvery, requestTimeoutMs, tls, false);
        }
    }

    /** The cluster has no head that this device can reach (no quorum, or a partition); nothing was written. */
    public static final class NoQuorumException extends IOException
    {
        private static final long serialVersionUID = 1L;

        /**
         * @param message what failed.
         * @param cause   the Ratis failure.
         */
        public NoQuorumException(final String message, final Throwable cause)
        {
            super(message, cause);
        }
    }

    /**
     * @param options  how to run.
     * @param listener told of every applied state (on the apply thread; must not block).
     */
    public ClusterNode(final Options options, final Consumer<ClusterState> listener)
    {
        this.options = options;
        this.stateMachine = new ClusterStateMachine(listener);
    }

    /**
     * @return the Raft group id of a cluster name (a name-based UUID, the same on every device).
     */
    public static RaftGroupId groupId(final String cluster)
    {
        return RaftGroupId.valueOf(UUID.nameUUIDFromBytes(("vsnic-cluster:" + cluster).getBytes(StandardCharsets.UTF_8)));
    }

    /**
     * Starts the Raft server (recovering its log and latest snapshot when the storage holds them) and the client.
     */
    public void start() throws IOException
    {
        if (!options.peers().containsKey(options.name()))
        {
            throw new IllegalArgumentException("cluster peers must include this device (" + options.name() + ")");
        }
        final List<RaftPeer> peers = new ArrayList<>();
        options.peers().forEach((name, address) -> peers.add(RaftPeer.newBuilder().setId(name).setAddress(address).build()));
        group = RaftGroup.valueOf(groupId(options.cluster()), peers);
        final RaftProperties properties = properties();
        final Parameters parameters = parameters();
        Files.createDirectories(options.storage());
        final boolean existing = Files.isDirectory(options.storage().resolve(group.getGroupId().getUuid().toString()));
        // a joining device starts with no configuration and waits for the head to add it (addVoter)
        joining = options.join() && !existing;
        server = RaftServer.newBuilder()
            .setServerId(RaftPeerId.valueOf(options.name()))
            .setGroup(joining ? RaftGroup.valueOf(group.getGroupId()) : group)
            .setProperties(properties)
            .setParameters(parameters)
            .setStateMachine(stateMachine)
            .setOption(existing ? RaftStorage.StartupOption.RECOVER : RaftStorage.StartupOption.FORMAT)
            .build();
        server.start();
        this.properties = properties;
        this.parameters = parameters;
        client = newClient(joining ? RaftGroup.valueOf(group.getGroupId(), peers.stream()
            .filter(p -> !p.getId().toString().equals(options.name())).toList()) : group, !joining);
        LOG.log(Level.INFO, "cluster " + options.cluster() + ": member " + options.name() + " started on " +
            options.peers().get(options.name()) + (existing ? " (recovered)" : " (new storage)") + ", peers " + options.peers().keySet());
    }

    /**
     * A client over a group. Asking this device's own member first ({@code viaSelf}) always gets an
     * answer while it runs, naming the head and the current voters when it is not the head itself, so
     * the client follows configuration changes.
     */
    private RaftClient newClient(final RaftGroup over, final boolean viaSelf)
    {
        final ClientId clientId = ClientId.randomId();
        return RaftClient.newBuilder()
            .setProperties(properties)
            .setParameters(parameters)
            .setRaftGroup(over)
            .setLeaderId(viaSelf ? RaftPeerId.valueOf(options.name()) : null)
            .setClientId(clientId)
            .setClientRpc(new GrpcFactory(parameters).newRaftClientRpc(clientId, properties))
            .setRetryPolicy(RetryPolicies.retryUpToMaximumCountWithFixedSleep(10, TimeDuration.valueOf(100, TimeUnit.MILLISECONDS)))
            .build();
    }

    private RaftProperties properties()
    {
        final RaftProperties properties = new RaftProperties();
        RaftServerConfigKeys.setStorageDir(properties, List.of(options.storage().toFile()));
        final String address = options.peers().get(options.name());
        final int colon = address.lastIndexOf(':');
        GrpcConfigKeys.Server.setHost(properties, address.substring(0, colon).replace("[", "").replace("]", ""));
        GrpcConfigKeys.Server.setPort(properties, Integer.parseInt(address.substring(colon + 1)));
        // election timeouts: Ratis' defaults (150..300 ms) made leaders step down on this 2-core machine under
        // load and during TLS handshakes; 500..1000 ms keeps failover near a second
        RaftServerConfigKeys.Rpc.setTimeoutMin(properties, TimeDuration.valueOf(ELECTION_TIMEOUT_MIN_MS, TimeUnit.MILLISECONDS));
        RaftServerConfigKeys.Rpc.setTimeoutMax(properties, TimeDuration.valueOf(ELECTION_TIMEOUT_MAX_MS, TimeUnit.MILLISECONDS));
        RaftServerConfigKeys.Snapshot.setAutoTriggerEnabled(properties, true);
        RaftServerConfigKeys.Snapshot.setAutoTriggerThreshold(properties, options.snapshotEvery());
        RaftServerConfigKeys.Snapshot.setRetentionFileNum(properties, 2);
        RaftServerConfigKeys.Log.setPurgeUptoSnapshotIndex(properties, true);
        RaftClientConfigKeys.Rpc.setRequestTimeout(properties, TimeDuration.valueOf(options.requestTimeoutMs(), TimeUnit.MILLISECONDS));
        return properties;
    }

    private Parameters parameters()
    {
        final Parameters parameters = new Parameters();
        if (options.tls() != null)
        {
            GrpcConfigKeys.TLS.setConf(parameters, options.tls());
            GrpcConfigKeys.Server.setTlsConf(parameters, options.tls());
            GrpcConfigKeys.Client.setTlsConf(parameters, options.tls());
            GrpcConfigKeys.Admin.setTlsConf(parameters, options.tls());
        }
        return parameters;
    }

    /**
     * @return true when Raft traffic runs over mutual TLS.
     */
    public boolean tls()
    {
        return options.tls() != null;
    }

    public String name()
    {
        return options.name();
    }

    public RaftGroup group()
    {
        return group;
    }

    /**
     * @return the replicated state at the last applied index on this device.
     */
    public ClusterState state()
    {
        return stateMachine.state();
    }

    private RaftServer.Division division() throws IOException
    {
        return server.getDivision(group.getGroupId());
    }

    /**
     * @return the head's (Raft leader's) name as this device knows it now, or null while there is none.
     */
    public String head()
    {
        try
        {
            final RaftPeerId leader = division().getInfo().getLeaderId();
            if (leader != null)
            {
                lastKnownHead = leader.toString();
                return lastKnownHead;
            }
        }
        catch (final IOException ex)
        {
            // closed: no head
        }
        return null;
    }

    /**
     * @return the head this device last knew (it may be gone), or null.
     */
    public String lastKnownHead()
    {
        head();
        return lastKnownHead;
    }

    /**
     * @return true when this device is the head and ready (its leadership confirmed in this term).
     */
    public boolean isHead()
    {
        try
        {
            return division().getInfo().isLeader();
        }
        catch (final IOException ex)
        {
            return false;
        }
    }

    public long term() throws IOException
    {
        return division().getInfo().getCurrentTerm();
    }

    public long commitIndex() throws IOException
    {
        return division().getRaftLog().getLastCommittedIndex();
    }

    /**
     * @return the last log index applied to this device's state machine.
     */
    public long appliedIndex() throws IOException
    {
        return division().getInfo().getLastAppliedIndex();
    }

    /**
     * Submits a command and waits until the head has applied it.
     *
     * @return the state machine's reply ({@code ok}, {@code revision} or {@code status}/{@code code}/{@code message}).
     * @throws NoQuorumException when no head with a quorum answered in time.
     */
    public JsonNode submit(final ObjectNode command) throws NoQuorumException
    {
        // the head takes it in only until this device stops waiting: a 503 below means it was not written,
        // unless the head had taken it in before (then it may still commit; the error says so)
        return submit(command, System.currentTimeMillis() + options.requestTimeoutMs());
    }

    /** {@link #submit(ObjectNode)} with the deadline (epoch ms) after which the head refuses to take the command in. */
    JsonNode submit(final ObjectNode command, final long deadlineMs) throws NoQuorumException
    {
        final Message message;
        try
        {
            final ObjectNode sent = command.deepCopy().put(ClusterStateMachine.DEADLINE, deadlineMs);
            message = Message.valueOf(ByteString.copyFrom(Json.mapper().writeValueAsBytes(sent)));
        }
        catch (final IOException ex)
        {
            throw new IllegalArgumentException(ex);
        }
        return parse(await(blocking(() -> client.io().send(message)), "the write"));
    }

    /** A Ratis call that may throw IOException. */
    @FunctionalInterface
    private interface Call
    {
        RaftClientReply call() throws IOException;
    }

    /**
     * Runs a blocking client call on the client pool. (Not Ratis' async API: its ordered sliding
     * window closes for good after one failed request, so one write without quorum would make every
     * later write fail.)
     */
    private java.util.concurrent.CompletableFuture<RaftClientReply> blocking(final Call call)
    {
        final java.util.concurrent.CompletableFuture<RaftClientReply> future = new java.util.concurrent.CompletableFuture<>();
        try
        {
            callers.execute(() ->
            {
                try
                {
                    future.complete(call.call());
                }
                catch (final IOException | RuntimeException ex)
                {
                    future.completeExceptionally(ex);
                }
            });
        }
        catch (final java.util.concurrent.RejectedExecutionException ex)
        {
            future.completeExceptionally(new IOException("the cluster member is closed"));
        }
        return future;
    }

    /** Waits for a reply at most the request timeout: a device that cannot reach a quorum answers fast. */
    private RaftClientReply await(final java.util.concurrent.CompletableFuture<RaftClientReply> future, final String what)
        throws NoQuorumException
    {
        try
        {
            return future.get(options.requestTimeoutMs(), TimeUnit.MILLISECONDS);
        }
        catch (final java.util.concurrent.TimeoutException ex)
        {
            future.cancel(true);
            throw new NoQuorumException("no head with a quorum answered " + what + " within " + options.requestTimeoutMs() +
                " ms (a head refuses it from now on; only one that took it in before could still commit it)", ex);
        }
        catch (final java.util.concurrent.ExecutionException ex)
        {
            throw new NoQuorumException("no head with a quorum answered: " + ex.getCause().getMessage(), ex.getCause());
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw new NoQuorumException("interrupted", ex);
        }
    }

    private static JsonNode parse(final RaftClientReply reply) throws NoQuorumException
    {
        if (!reply.isSuccess())
        {
            throw new NoQuorumException("the head refused the request: " + reply.getException(), reply.getException());
        }
        try
        {
            return Json.mapper().readTree(reply.getMessage().getContent().toByteArray());
        }
        catch (final IOException ex)
        {
            throw new NoQuorumException("unreadable reply from the head: " + ex.getMessage(), ex);
        }
    }

    /**
     * Linearizable read barrier: asks the head (a read-only request it confirms with a quorum) for its
     * applied index, then waits until this device has applied as far.
     *
     * @return this device's applied index afterwards.
     * @throws NoQuorumException when the head cannot be reached or this device does not catch up in time.
     */
    public long readBarrier() throws NoQuorumException
    {
        final long target = parse(await(blocking(() -> client.io().sendReadOnly(Message.valueOf("index"))), "the read barrier"))
            .path("appliedIndex").asLong();
        final long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(options.requestTimeoutMs());
        try
        {
            while (appliedIndex() < target)
            {
                if (System.nanoTime() > deadline)
                {
                    throw new NoQuorumException("this device did not catch up to index " + target + " in time", null);
                }
                Thread.sleep(2);
            }
            return appliedIndex();
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw new NoQuorumException("interrupted", ex);
        }
        catch (final NoQuorumException ex)
        {
            throw ex;
        }
        catch (final IOException ex)
        {
            throw new NoQuorumException("closed", ex);
        }
    }

    /**
     * @return the voting members by name with their Raft addresses, as this device's Raft configuration holds them.
     */
    public Map<String, String> voters() throws IOException
    {
        final Map<String, String> voters = new java.util.TreeMap<>();
        division().getRaftConf().getCurrentPeers().forEach(p -> voters.put(p.getId().toString(), p.getAddress()));
        return voters;
    }

    /**
     * Joining device: asks the head to add this device to the voters (the head copies the log or a
     * snapshot to it first). Idempotent.
     *
     * @throws NoQuorumException when no head accepted the change in time.
     */
    public void joinVoters() throws NoQuorumException
    {
        final List<RaftPeer> peers = new ArrayList<>();
        options.peers().forEach((name, address) -> peers.add(RaftPeer.newBuilder().setId(name).setAddress(address).build()));
        // ADD to the head's current configuration, not "the voters the head named when it admitted us": another
        // device may have become a voter since (devices admitted one after another, before the first had joined)
        final RaftPeer self = RaftPeer.newBuilder().setId(options.name()).setAddress(options.peers().get(options.name())).build();
        try
        {
            final RaftClientReply reply = client.admin().setConfiguration(SetConfigurationRequest.Arguments.newBuilder()
                .setServersInNewConf(List.of(self)).setMode(SetConfigurationRequest.Mode.ADD).build());
            if (!reply.isSuccess())
            {
                throw new NoQuorumException("the head refused to add " + options.name() + " to the voters: " + reply.getException(),
                    reply.getException());
            }
        }
        catch (final IOException ex)
        {
            if (ex instanceof NoQuorumException n)
            {
                throw n;
            }
            throw new NoQuorumException("the configuration change failed: " + ex.getMessage(), ex);
        }
        // from now on go through this device's own member (the joining client knew only the old voters)
        final RaftClient old = client;
        client = newClient(RaftGroup.valueOf(group.getGroupId(), peers), true);
        try
        {
            old.close();
        }
        catch (final IOException ex)
        {
            LOG.log(Level.WARNING, "cluster: closing the joining client: " + ex);
        }
    }

    /**
     * Takes a device out of the voters (the state machine's membership record is removed separately).
     */
    public void removeVoter(final String name) throws IOException
    {
        final List<RaftPeer> peers = new ArrayList<>(division().getRaftConf().getCurrentPeers());
        if (!peers.removeIf(p -> p.getId().toString().equals(name)))
        {
            return;
        }
        setConfiguration(peers);
    }

    private void setConfiguration(final List<RaftPeer> peers) throws NoQuorumException
    {
        try
        {
            final RaftClientReply reply = client.admin().setConfiguration(peers);
            if (!reply.isSuccess())
            {
                throw new NoQuorumException("the head refused the configuration change: " + reply.getException(), reply.getException());
            }
        }
        catch (final IOException ex)
        {
            if (ex instanceof NoQuorumException n)
            {
                throw n;
            }
            throw new NoQuorumException("the configuration change failed: " + ex.getMessage(), ex);
        }
    }

    /**
     * Stops the client and the server (the log and snapshots stay on disk).
     */
    @Override
    public void close()
    {
        callers.shutdownNow();
        try
        {
            if (client != null)
            {
                client.close();
            }
        }
        catch (final IOException ex)
        {
            LOG.log(Level.WARNING, "cluster client close: " + ex);
        }
        try
        {
            if (server != null)
            {
                server.close();
            }
        }
        catch (final IOException ex)
        {
            LOG.log(Level.WARNING, "cluster server close: " + ex);
        }
    }
}
