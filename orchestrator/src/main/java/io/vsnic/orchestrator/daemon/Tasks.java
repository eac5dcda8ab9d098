package io.vsnic.orchestrator.daemon;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntFunction;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vsnic.dataplane.substrate.WireguardPeerStatus;
import io.vsnic.orchestrator.journal.Journal;
import io.vsnic.orchestrator.journal.JournalEntry;
import io.vsnic.orchestrator.model.DesiredState;
import io.vsnic.orchestrator.model.Json;
import io.vsnic.orchestrator.model.PeerResource;
import io.vsnic.orchestrator.model.VnicResource;

/**
 * The long-running tasks of the reconciler: changes that were accepted but take time.
 * <ul>
 *   <li>{@code vnic-attach} (resource {@code vnic/ID}): a vNIC whose backend cannot be opened yet
 *       ({@link Reconciler.Pending}). Each attempt opens the backend and attaches the port; a failed one
 *       is retried after an exponential backoff ({@code retryInitialMs * 2^(attempts-1)}, at most
 *       {@code retryMaxMs}, of which a random half is jitter). It succeeds when the port is attached, and
 *       is cancelled when the vNIC is deleted or its backend or port changes (the new spec gets a new task).
 *       A vNIC connected to QEMU's listener that QEMU closed becomes pending again with a new task.</li>
 *   <li>{@code peer-handshake} (resource {@code peer/NAME}): a WireGuard peer whose session is not up yet.
 *       The data plane runs the handshake (it initiates one when traffic for the peer arrives); each
 *       attempt looks at the session, with the same backoff, and the task succeeds when the session is
 *       established. A changed peer (endpoint, key, inner address) gets a new task.</li>
 * </ul>
 *
 * <p>Durability: every change of a task (created, attempted, finished) is appended to its own
 * Chronicle Queue journal ({@code STATE_DIR/tasks}, the {@link Journal} format: generations started
 * with a snapshot of every task) before the write that caused it is acknowledged. On start the
 * tasks are replayed; when the reconciler finds a vNIC still pending, its task resumes with its
 * attempt count (the attempt at start counts), and one whose vNIC could be attached at start
 * succeeds. The {@code running} state (an attempt in progress) is not journalled: a task killed
 * while running replays as it was before that attempt.
 *
 * <p>Threading: every change happens under the {@link DeviceController}'s lock (the controller calls
 * {@link #reconciled} from its writes; the runner thread takes the lock for its attempts), so a task
 * and the vNIC it drives never disagree. Readers use {@link #list()} from any thread.
 */
public final class Tasks implements AutoCloseable
{
    private static final System.Logger LOG = System.getLogger(Tasks.class.getName());
    /** A pending vNIC's attach. */
    public static final String VNIC_ATTACH = "vnic-attach";
    /** A WireGuard peer's first handshake. */
    public static final String PEER_HANDSHAKE = "peer-handshake";
    /** Longest wait of the runner between two looks at the tasks (for lost endpoints). */
    private static final long IDLE_MS = 1_000;

    /** Task states, as shown. */
    public static final String PENDING = "pending";
    public static final String RUNNING = "running";
    public static final String SUCCEEDED = "succeeded";
    public static final String FAILED = "failed";
    public static final String CANCELLED = "cancelled";

    /**
     * A task as journalled.
     *
     * @param id          sequential per state directory.
     * @param kind        {@link #VNIC_ATTACH} or {@link #PEER_HANDSHAKE}.
     * @param resource    {@code vnic/ID} or {@code peer/NAME}.
     * @param spec        what the task works on (the vNIC's backend and port, the peer's endpoint and key).
     * @param state       pending | running | succeeded | failed | cancelled.
     * @param attempts    attempts made.
     * @param lastError   why the last attempt did not succeed (or why the task was cancelled), or null.
     * @param nextRetryMs when the next attempt is due (epoch ms), or null when finished.
     * @param createdMs   when it was created (epoch ms).
     * @param updatedMs   when it last changed (epoch ms).
     */
    public record Task(String id, String kind, String resource, String spec, String state, int attempts, String lastError,
        Long nextRetryMs, long createdMs, long updatedMs)
    {
        /**
         * @return true while the task is not finished.
         */
        public boolean active()
        {
            return state.equals(PENDING) || state.equals(RUNNING);
        }

        Task with(final String newState, final int newAttempts, final String error, final Long nextRetry, final long now)
        {
            return new Task(id, kind, resource, spec, newState, newAttempts, error, nextRetry, createdMs, now);
        }

        /**
         * @return the API's view: times as ISO-8601.
         */
        public ObjectNode view()
        {
            final ObjectNode node = Json.mapper().createObjectNode();
            node.put("id", id).put("kind", kind).put("resource", resource).put("spec", spec).put("state", state)
                .put("attempts", attempts).put("lastError", lastError);
            node.put("nextRetry", nextRetryMs == null ? null : Instant.ofEpochMilli(nextRetryMs).toString());
            node.put("created", Instant.ofEpochMilli(createdMs).toString());
            node.put("updated", Instant.ofEpochMilli(updatedMs).toString());
            return node;
        }
    }

    /**
     * @param retryInitialMs backoff after the first failed attempt.
     * @param retryMaxMs     longest backoff.
     * @param keepFinished   finished tasks kept (the most recent).
     * @param snapshotEvery  task journal entries per generation before a snapshot starts a new one.
     */
    public record Settings(long retryInitialMs, long retryMaxMs, int keepFinished, int snapshotEvery)
    {
    }

    private final Journal journal;
    private final Settings settings;
    private final Journal.Replay replay;
    private final Map<String, Task> tasks = new LinkedHashMap<>();
    private final AtomicLong journalFailures = new AtomicLong();
    private final Object wakeup = new Object();
    private volatile List<Task> view = List.of();
    private long sequence;
    private long nextId = 1;
    private DeviceController controller;
    /** The state the reconciler applied last (in cluster mode this device's derived state, not the replicated one). */
    private DesiredState applied = DesiredState.empty();
    private IntFunction<WireguardPeerStatus> peers;
    private Thread runner;
    private volatile boolean closed;
    private boolean woken;

    private Tasks(final Journal journal, final Settings settings, final Journal.Replay replay)
    {
        this.journal = journal;
        this.settings = settings;
        this.replay = replay;
    }

    /**
     * Opens the task journal, replays it and starts a new generation with the replayed tasks (a damaged
     * generation is kept aside, as for the desired-state journal).
     */
    public static Tasks open(final Path directory, final Settings settings) throws IOException
    {
        final List<Journal.Replay> replays = new ArrayList<>();
        final Journal journal = Journal.open(directory, replays);
        final Journal.Replay replay = replays.get(0);
        final Tasks tasks = new Tasks(journal, settings, replay);
        try
        {
            for (final JournalEntry entry : replay.entries())
            {
                final JsonNode document = Json.mapper().readTree(entry.payload());
                if (entry.type() == JournalEntry.SNAPSHOT)
                {
                    tasks.tasks.clear();
                    tasks.nextId = document.path("nextId").asLong(1);
                    for (final JsonNode task : document.path("tasks"))
                    {
                        tasks.replayed(Json.mapper().treeToValue(task, Task.class));
                    }
                }
                else
                {
                    tasks.replayed(Json.mapper().treeToValue(document.get("task"), Task.class));
                }
                tasks.sequence = entry.revision();
            }
            if (replay.corrupt())
            {
                LOG.log(Level.WARNING, "task journal: corrupt or torn tail in generation " + replay.generation() + ": " +
                    replay.corruption() + "; starting with every intact entry");
            }
            journal.startGeneration(tasks.sequence, tasks.snapshot(), replay.corrupt());
        }
        catch (final IOException | RuntimeException ex)
        {
            journal.close();
            throw ex;
        }
        tasks.publish();
        return tasks;
    }

    private void replayed(final Task task)
    {
        tasks.put(task.id(), task);
        nextId = Math.max(nextId, Long.parseLong(task.id()) + 1);
    }

    private byte[] snapshot() throws JsonProcessingException
    {
        final ObjectNode document = Json.mapper().createObjectNode();
        document.put("nextId", nextId);
        final ArrayNode array = document.putArray("tasks");
        tasks.values().forEach(task -> array.add(Json.mapper().valueToTree(task)));
        return Json.mapper().writeValueAsBytes(document);
    }

    /**
     * Binds the controller, before it recovers (it calls {@link #reconciled} from then on).
     *
     * @param owner      the controller whose lock every change takes.
     * @param peerStatus the WireGuard session of a peer device id (null when it has none), or null when the
     *                   device has no encrypted substrate.
     */
    public void bind(final DeviceController owner, final IntFunction<WireguardPeerStatus> peerStatus)
    {
        this.controller = owner;
        this.peers = peerStatus;
        owner.withTasks(this);
    }

    /**
     * Starts the runner. Called once, after the controller recovered.
     */
    public void start()
    {
        runner = new Thread(this::run, "vsnic-tasks");
        runner.setDaemon(true);
        runner.start();
    }

    // ---------------------------------------------------------------------------------------------
    // called by the controller, under its lock

    /**
     * Brings the tasks in line with the reconciler after a change was applied: a task for each pending
     * vNIC and each WireGuard peer without a session; tasks whose resource is gone or changed are
     * cancelled. Nothing is written when nothing changed (a repeated apply).
     *
     * @param state      the desired state now applied.
     * @param recovering true at start: the reconciler just tried every vNIC once (an attempt of each resumed task).
     */
    void reconciled(final DesiredState state, final boolean recovering)
    {
        applied = state;
        final long now = System.currentTimeMillis();
        final Reconciler reconciler = controller.reconciler();
        final Map<String, Reconciler.Pending> pending = reconciler.pending();
        for (final Reconciler.Pending waiting : pending.values())
        {
            final String resource = "vnic/" + waiting.vnic().id();
            final String spec = Reconciler.spec(waiting.vnic());
            final Task active = active(resource);
            if (active != null && active.spec().equals(spec))
            {
                if (recovering)
                {
                    final int attempts = active.attempts() + 1;
                    write(active.with(PENDING, attempts, waiting.reason(), now + backoffMs(attempts), now));
                }
                continue;
            }
            if (active != null)
            {
                write(active.with(CANCELLED, active.attempts(), "the vNIC's backend or port changed", null, now));
            }
            write(new Task(Long.toString(nextId++), VNIC_ATTACH, resource, spec, PENDING, 1, waiting.reason(),
                now + backoffMs(1), now, now));
        }
        for (final Task task : List.copyOf(tasks.values()))
        {
            if (!task.active() || !task.kind().equals(VNIC_ATTACH))
            {
                continue;
            }
            final String id = task.resource().substring("vnic/".length());
            if (pending.containsKey(id) && Reconciler.spec(pending.get(id).vnic()).equals(task.spec()))
            {
                continue;
            }
            final VnicResource vnic = state.vnics().get(id);
            final Reconciler.Attached attached = reconciler.attached().get(id);
            if (vnic != null && attached != null && Reconciler.spec(vnic).equals(task.spec()))
            {
                write(task.with(SUCCEEDED, task.attempts() + (recovering ? 1 : 0), null, null, now));
            }
            else
            {
                write(task.with(CANCELLED, task.attempts(), vnic == null ? "vnic " + id + " was deleted" :
                    "the vNIC's backend or port changed", null, now));
            }
        }
        reconcilePeers(state, now);
        publish();
        wake();
    }

    private void reconcilePeers(final DesiredState state, final long now)
    {
        if (peers != null)
        {
            for (final PeerResource peer : state.peers().values())
            {
                if (!"wireguard".equals(peer.encryption()))
                {
                    continue;
                }
                final String resource = "peer/" + peer.name();
                final String spec = spec(peer);
                final Task latest = latest(resource);
                if (latest != null && latest.spec().equals(spec) && !latest.state().equals(CANCELLED))
                {
                    continue;
                }
                if (latest != null && latest.active())
                {
                    write(latest.with(CANCELLED, latest.attempts(), "the peer changed", null, now));
                }
                write(new Task(Long.toString(nextId++), PEER_HANDSHAKE, resource, spec, PENDING, 0, null, now, now, now));
            }
        }
        for (final Task task : List.copyOf(tasks.values()))
        {
            if (!task.active() || !task.kind().equals(PEER_HANDSHAKE))
            {
                continue;
            }
            final PeerResource peer = state.peers().get(task.resource().substring("peer/".length()));
            if (peer == null || !"wireguard".equals(peer.encryption()) || !spec(peer).equals(task.spec()) || peers == null)
            {
                write(task.with(CANCELLED, task.attempts(), peer == null ? "peer " + task.resource().substring(5) + " was deleted" :
                    "the peer changed", null, now));
            }
        }
    }

    private static String spec(final PeerResource peer)
    {
        return "device " + peer.device() + " endpoint " + peer.endpoint() + " publicKey " + peer.publicKey() +
            " innerAddress " + peer.innerAddress();
    }

    private Task active(final String resource)
    {
        for (final Task task : tasks.values())
        {
            if (task.active() && task.resource().equals(resource))
            {
                return task;
            }
        }
        return null;
    }

    private Task latest(final String resource)
    {
        Task latest = null;
        for (final Task task : tasks.values())
        {
            if (task.resource().equals(resource))
            {
                latest = task;
            }
        }
        return latest;
    }

    /**
     * @return the jittered backoff after {@code attempts} failed attempts: a random value in [d/2, d] with
     *         d = min(retryMaxMs, retryInitialMs * 2^(attempts-1)).
     */
    long backoffMs(final int attempts)
    {
        final int doublings = Math.max(0, Math.min(attempts - 1, 30));
        final long full = Math.min(settings.retryMaxMs(), settings.retryInitialMs() << doublings);
        final long half = full / 2;
        return half + ThreadLocalRandom.current().nextLong(full - half + 1);
    }

    /** Records a task: in memory, then in the journal (durable before the caller goes on). */
    private void write(final Task task)
    {
        tasks.put(task.id(), task);
        try
        {
            final ObjectNode document = Json.mapper().createObjectNode();
            document.set("task", Json.mapper().valueToTree(task));
            journal.append(sequence + 1, Json.mapper().writeValueAsBytes(document));
            sequence++;
            if (journal.entriesInGeneration() >= settings.snapshotEvery())
            {
                prune();
                journal.startGeneration(sequence, snapshot(), false);
            }
        }
        catch (final IOException | RuntimeException ex)
        {
            journalFailures.incrementAndGet();
            LOG.log(Level.ERROR, "task journal: cannot record task " + task.id() + " (" + task.state() + "): " + ex, ex);
        }
    }

    /** Forgets the oldest finished tasks beyond {@link Settings#keepFinished}. */
    private void prune()
    {
        final List<Task> finished = tasks.values().stream().filter(t -> !t.active())
            .sorted(Comparator.comparingLong(Task::updatedMs)).toList();
        for (int i = 0; i < finished.size() - settings.keepFinished(); i++)
        {
            tasks.remove(finished.get(i).id());
        }
    }

    private void publish()
    {
        view = List.copyOf(tasks.values());
    }

    // ---------------------------------------------------------------------------------------------
    // the runner

    private void wake()
    {
        synchronized (wakeup)
        {
            woken = true;
            wakeup.notifyAll();
        }
    }

    private void run()
    {
        while (!closed)
        {
            long waitMs = IDLE_MS;
            synchronized (controller)
            {
                if (closed)
                {
                    return;
                }
                if (controller.reconciler().requeueLost() > 0)
                {
                    reconciled(applied, false);
                }
                final long now = System.currentTimeMillis();
                final List<Task> due = tasks.values().stream().filter(t -> t.active() && t.nextRetryMs() != null &&
                    t.nextRetryMs() <= now).sorted(Comparator.comparingLong(Task::nextRetryMs)).toList();
                for (final Task task : due)
                {
                    if (closed)
                    {
                        return;
                    }
                    attempt(task);
                }
                final long after = System.currentTimeMillis();
                for (final Task task : tasks.values())
                {
                    if (task.active() && task.nextRetryMs() != null)
                    {
                        waitMs = Math.min(waitMs, task.nextRetryMs() - after);
                    }
                }
                publish();
            }
            if (waitMs > 0)
            {
                synchronized (wakeup)
                {
                    if (!woken && !closed)
                    {
                        try
                        {
                            wakeup.wait(waitMs);
                        }
                        catch (final InterruptedException ex)
                        {
                            return;
                        }
                    }
                    woken = false;
                }
            }
        }
    }

    /** One attempt, under the controller's lock. */
    private void attempt(final Task task)
    {
        final Task current = tasks.get(task.id());
        if (current == null || !current.active())
        {
            return;
        }
        tasks.put(current.id(), current.with(RUNNING, current.attempts(), current.lastError(), current.nextRetryMs(),
            current.updatedMs()));
        publish();
        final int attempts = current.attempts() + 1;
        final long now = System.currentTimeMillis();
        if (current.kind().equals(VNIC_ATTACH))
        {
            final String id = current.resource().substring("vnic/".length());
            try
            {
                if (controller.reconciler().attachPending(id, current.spec()))
                {
                    LOG.log(Level.INFO, "task " + current.id() + ": vnic " + id + " attached after " + attempts + " attempts");
                    write(current.with(SUCCEEDED, attempts, null, null, now));
                }
                else
                {
                    write(current.with(CANCELLED, current.attempts(), "vnic " + id + " is no longer pending with this spec", null, now));
                }
            }
            catch (final IOException ex)
            {
                write(current.with(PENDING, attempts, ex.getMessage(), now + backoffMs(attempts), now));
            }
            catch (final RuntimeException ex)
            {
                LOG.log(Level.ERROR, "task " + current.id() + ": attaching vnic " + id + " failed: " + ex, ex);
                write(current.with(FAILED, attempts, ex.toString(), null, now));
            }
        }
        else
        {
            final PeerResource peer = applied.peers().get(current.resource().substring("peer/".length()));
            final WireguardPeerStatus status = peer == null || peers == null ? null : peers.apply(peer.device());
            if (status != null && status.sessionUp())
            {
                LOG.log(Level.INFO, "task " + current.id() + ": WireGuard session with " + current.resource() + " is up");
                write(current.with(SUCCEEDED, attempts, null, null, now));
            }
            else
            {
                final String why = status == null ? "the substrate does not know the peer yet" :
                    "no WireGuard session yet (last handshake: " + (status.lastHandshakeAgoMs() < 0 ? "never" :
                        status.lastHandshakeAgoMs() + " ms ago") + ", " + status.stagedFrames() + " frames waiting; the data plane " +
                        "initiates a handshake when traffic for the peer arrives)";
                write(current.with(PENDING, attempts, why, now + backoffMs(attempts), now));
            }
        }
    }

    // ---------------------------------------------------------------------------------------------
    // readers

    /**
     * @return every task kept, in id order (readable from any thread).
     */
    public List<Task> list()
    {
        return view;
    }

    /**
     * @return a task, or null.
     */
    public Task get(final String id)
    {
        for (final Task task : view)
        {
            if (task.id().equals(id))
            {
                return task;
            }
        }
        return null;
    }

    /**
     * @return the unfinished task of a resource ({@code vnic/ID}, {@code peer/NAME}), or null.
     */
    public Task activeFor(final String resource)
    {
        Task found = null;
        for (final Task task : view)
        {
            if (task.active() && Objects.equals(task.resource(), resource))
            {
                found = task;
            }
        }
        return found;
    }

    /**
     * @return task changes that could not be journalled.
     */
    public long journalFailures()
    {
        return journalFailures.get();
    }

    /**
     * @return what the task journal's replay found at start.
     */
    public Journal.Replay replay()
    {
        return replay;
    }

    /**
     * Stops the runner (waits for an attempt in progress) and closes the journal.
     */
    @Override
    public void close()
    {
        closed = true;
        wake();
        if (runner != null)
        {
            try
            {
                runner.join(10_000);
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
            }
        }
        journal.close();
    }
}
