package io.vsnic.orchestrator.cluster;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vsnic.orchestrator.daemon.DeviceController;
import io.vsnic.orchestrator.model.Changes;
import io.vsnic.orchestrator.model.Json;
import io.vsnic.orchestrator.model.VnicResource;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientRequest;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.storage.FileInfo;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.StateMachineStorage;
import org.apache.ratis.statemachine.TransactionContext;
import org.apache.ratis.statemachine.impl.BaseStateMachine;
import org.apache.ratis.statemachine.impl.SimpleStateMachineStorage;
import org.apache.ratis.statemachine.impl.SingleFileSnapshotInfo;
import org.apache.ratis.util.MD5FileUtil;

/**
 * The replicated state machine: applies committed log entries, in log order, to a
 * {@link ClusterState}. Every entry is a JSON command:
 * <ul>
 * <li>{@code {"type": "write", "op": "put"|"delete"|"items"|"apply", "origin": DEVICE, ...}}: an API write as
 *     the device that took it received it; every member runs it through the same write logic as a
 *     standalone device ({@link DeviceController#planner()}: normalise, validate the whole next state,
 *     stamp versions and ports) against the same state, so all reach the same result; the reply is the
 *     outcome (or the error) the API returns.</li>
 * <li>{@code {"type": "changes", "base": R, "changes": [...]}}: a change document (the journal's format)
 *     that the head built and validated against revision {@code R}; applied only when the state is still
 *     at {@code R} (otherwise refused with 409 {@code stale_revision}, and nothing changes), giving
 *     revision {@code R+1}.</li>
 * <li>{@code {"type": "member", "member": {...}}}: a device joins or updates its record.</li>
 * <li>{@code {"type": "remove", "name": N}}: a device leaves (refused with 409 while vNICs live on it).</li>
 * </ul>
 * Every command may carry {@value #DEADLINE}: the wall-clock time (epoch ms) at which its submitter
 * stops waiting and answers its caller 503. The head checks it once, before the entry enters the log
 * ({@link #startTransaction}): a command that reaches the head later (a retry, or TCP delivering it
 * after a partition healed) is refused and never written, so a 503 for a write that no head took in
 * in time stays true. (This compares the submitter's clock with the head's: devices need synchronised
 * clocks, NTP, for the guarantee to hold to within their skew.) Applying ignores the field.
 * Applying is deterministic, so every member holds the same state at the same log index. The reply
 * to the writer is {@code {"ok": true, "revision": R}} or {@code {"ok": false, "status": S, "code": C,
 * "message": M}}. Snapshots are the state as one JSON file in Ratis' state machine directory; a
 * restart loads the latest and replays only the log after it.
 *
 * <p>Threads: Ratis calls {@code applyTransaction} on one thread in log order; {@link #state()} may
 * be read from any thread (one volatile reference to an immutable state). The listener runs on the
 * apply thread and must not block.
 */
public final class ClusterStateMachine extends BaseStateMachine
{
    private static final System.Logger LOG = System.getLogger(ClusterStateMachine.class.getName());
    /** A command's field: when its submitter gives up (epoch ms); the head refuses it after that. */
    public static final String DEADLINE = "deadlineMs";

    private final SimpleStateMachineStorage storage = new SimpleStateMachineStorage();
    private final Consumer<ClusterState> listener;
    /** Runs API writes against the state with the same logic as a standalone device (apply thread only). */
    private final DeviceController planner = DeviceController.planner();
    private volatile ClusterState state = ClusterState.empty();
    /** The state together with the log index it reflects, replaced as one (the snapshot thread reads it). */
    private volatile Applied applied = new Applied(ClusterState.empty(), null);

    private record Applied(ClusterState state, TermIndex index)
    {
    }

    /**
     * @param listener told of every new state (on the apply thread; must not block).
     */
    public ClusterStateMachine(final Consumer<ClusterState> listener)
    {
        this.listener = listener;
    }

    /**
     * @return the state at the last applied index.
     */
    public ClusterState state()
    {
        return state;
    }

    @Override
    public StateMachineStorage getStateMachineStorage()
    {
        return storage;
    }

    @Override
    public void initialize(final RaftServer server, final RaftGroupId groupId, final RaftStorage raftStorage) throws IOException
    {
        super.initialize(server, groupId, raftStorage);
        storage.init(raftStorage);
        load(storage.getLatestSnapshot());
    }

    @Override
    public void reinitialize() throws IOException
    {
        // after a snapshot was installed from the leader
        load(storage.loadLatestSnapshot());
    }

    private void load(final SingleFileSnapshotInfo snapshot) throws IOException
    {
        if (snapshot == null)
        {
            return;
        }
        final Path file = snapshot.getFile().getPath();
        if (snapshot.getFile().getFileDigest() != null)
        {
            MD5FileUtil.verifySavedMD5(file.toFile(), snapshot.getFile().getFileDigest());
        }
        final ClusterState loaded = ClusterState.fromSnapshot(Files.readAllBytes(file));
        setLastAppliedTermIndex(snapshot.getTermIndex());
        state = loaded;
        applied = new Applied(loaded, snapshot.getTermIndex());
        LOG.log(Level.INFO, "cluster: loaded snapshot " + snapshot.getTermIndex() + ", revision " + loaded.desired().revision() +
            ", " + loaded.members().size() + " members");
        listener.accept(loaded);
    }

    @Override
    public long takeSnapshot() throws IOException
    {
        // state and index from the same moment (Ratis calls this off the apply thread)
        final Applied now = applied;
        final ClusterState current = now.state();
        final TermIndex last = now.index();
        if (last == null || last.getIndex() < 0)
        {
            return -1;
        }
        final java.io.File file = storage.getSnapshotFile(last.getTerm(), last.getIndex());
        final Path temp = file.toPath().resolveSibling(file.getName() + ".tmp");
        Files.write(temp, current.toSnapshot());
        Files.move(temp, file.toPath(), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        final org.apache.ratis.io.MD5Hash md5 = MD5FileUtil.computeAndSaveMd5ForFile(file);
        storage.updateLatestSnapshot(new SingleFileSnapshotInfo(new FileInfo(file.toPath(), md5), last));
        return last.getIndex();
    }

    @Override
    public CompletableFuture<Message> query(final Message request)
    {
        // read-index probe: the caller waits until its own applied index reaches the leader's
        final ObjectNode reply = Json.mapper().createObjectNode();
        final TermIndex last = getLastAppliedTermIndex();
        reply.put("appliedIndex", last == null ? -1 : last.getIndex());
        reply.put("revision", state.desired().revision());
        return CompletableFuture.completedFuture(message(reply));
    }

    /** On the head, before a command enters the log: one whose submitter has given up is refused (not written). */
    @Override
    public TransactionContext startTransaction(final RaftClientRequest request) throws IOException
    {
        final TransactionContext transaction = super.startTransaction(request);
        final long deadline = deadline(request.getMessage().getContent().toByteArray());
        final long now = System.currentTimeMillis();
        if (deadline > 0 && now > deadline)
        {
            transaction.setException(new IOException("the request reached the head " + (now - deadline) + " ms after its submitter " +
                "stopped waiting for it: not written"));
        }
        return transaction;
    }

    static long deadline(final byte[] command)
    {
        try
        {
            return Json.mapper().readTree(command).path(DEADLINE).asLong(0);
        }
        catch (final IOException ex)
        {
            // not JSON: applyTransaction refuses it with its own error
            return 0;
        }
    }

    @Override
    public CompletableFuture<Message> applyTransaction(final TransactionContext trx)
    {
        final LogEntryProto entry = trx.getLogEntry();
        final TermIndex termIndex = TermIndex.valueOf(entry);
        ObjectNode reply;
        try
        {
            final JsonNode command = Json.mapper().readTree(entry.getStateMachineLogEntry().getLogData().toByteArray());
            reply = apply(command);
        }
        catch (final IOException | RuntimeException ex)
        {
            // a malformed entry changes nothing on any member (all of them fail it the same way)
            LOG.log(Level.WARNING, "cluster: log entry " + termIndex + " not applied: " + ex);
            reply = refusal(400, "bad_entry", "log entry not applied: " + ex.getMessage());
        }
        updateLastAppliedTermIndex(termIndex);
        applied = new Applied(state, termIndex);
        listener.accept(state);
        return CompletableFuture.completedFuture(message(reply));
    }

    private ObjectNode apply(final JsonNode command) throws IOException
    {
        final String type = command.path("type").asText("");
        final ClusterState current = state;
        switch (type)
        {
            case "write":
            {
                planner.plannerState(current.desired(), current.members()::containsKey, command.path("origin").asText(""));
                final ObjectNode reply = planner.execute(command);
                if (reply.path("ok").asBoolean() && planner.state() != current.desired())
                {
                    state = current.withDesired(planner.state());
                }
                return reply;
            }
            case "changes":
            {
                final long base = command.path("base").asLong(-1);
                if (base != current.desired().revision())
                {
                    return refusal(409, "stale_revision", "the change was built on revision " + base + " but the cluster is at " +
                        current.desired().revision() + "; retry");
                }
                state = current.withDesired(Changes.apply(current.desired(), command, base + 1));
                return ok(base + 1);
            }
            case "member":
            {
                final Member member = Json.mapper().treeToValue(command.get("member"), Member.class);
                if (member.name() == null || member.id() == null)
                {
                    return refusal(400, "invalid_member", "a member needs a name and an id");
                }
                for (final Member other : current.members().values())
                {
                    if (!other.name().equals(member.name()) && other.id().equals(member.id()))
                    {
                        return refusal(409, "duplicate_device_id", "device id " + member.id() + " is already used by " + other.name());
                    }
                }
                state = current.withMember(member);
                return ok(current.desired().revision());
            }
            case "remove":
            {
                final String name = command.path("name").asText("");
                if (!current.members().containsKey(name))
                {
                    return refusal(404, "not_found", "device " + name + " is not a member");
                }
                final String placed = current.desired().vnics().values().stream().filter(v -> name.equals(v.device()))
                    .map(VnicResource::id).reduce((a, b) -> a + ", " + b).orElse(null);
                if (placed != null)
                {
                    return refusal(409, "device_in_use", "vNICs still live on " + name + ": " + placed + " (delete or move them first)");
                }
                state = current.withoutMember(name);
                return ok(current.desired().revision());
            }
            default:
                return refusal(400, "bad_entry", "unknown command type: " + type);
        }
    }

    private static ObjectNode ok(final long revision)
    {
        return Json.mapper().createObjectNode().put("ok", true).put("revision", revision);
    }

    private static ObjectNode refusal(final int status, final String code, final String message)
    {
        return Json.mapper().createObjectNode().put("ok", false).put("status", status).put("code", code).put("message", message);
    }

    private static Message message(final ObjectNode node)
    {
        try
        {
            return Message.valueOf(org.apache.ratis.thirdparty.com.google.protobuf.ByteString.copyFrom(
                Json.mapper().writeValueAsBytes(node)));
        }
        catch (final com.fasterxml.jackson.core.JsonProcessingException ex)
        {
            throw new IllegalStateException(ex);
        }
    }
}
