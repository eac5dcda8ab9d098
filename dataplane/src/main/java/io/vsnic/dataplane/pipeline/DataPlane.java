package io.vsnic.dataplane.pipeline;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import io.vsnic.dataplane.buffer.FramePool;
import io.vsnic.dataplane.capture.PortCapture;
import io.vsnic.dataplane.flow.FlowLog;
import io.vsnic.dataplane.security.ConnectionTable;
import io.vsnic.dataplane.status.CounterSnapshot;
import io.vsnic.dataplane.status.WorkerCounters;
import io.vsnic.dataplane.table.ForwardingState;

/**
 * The device's data plane: the frame pool, the published {@link ForwardingState}, the ports, the
 * shared connection table and the workers. The control plane talks to it through this narrow
 * interface only: {@link #publish} a new snapshot, {@link #addPort}/{@link #removePort}, set the
 * {@link #overlayPort}. Workers never block on it: every structure they read is reached through a
 * volatile reference to an immutable object (read-copy-update).
 */
public final class DataPlane implements AutoCloseable
{
    private final DataPlaneConfig config;
    private final FramePool pool;
    private final FramePool superPool;
    private final ConnectionTable connections;
    private final Worker[] workers;
    private final Thread[] threads;
    private volatile ForwardingState state = ForwardingState.empty();
    private volatile Port[] ports = new Port[ForwardingState.MAX_PORTS];
    private static final java.util.concurrent.atomic.AtomicBoolean CHECKSUMS_WARMED_UP = new java.util.concurrent.atomic.AtomicBoolean();
    private volatile Port overlay;
    /** Whether an attached vNIC port takes super-frames with partial checksums (see {@link #superFrameReceivers()}). */
    private volatile boolean superFrameReceivers;
    private volatile IsolationGuard isolation = IsolationGuard.none();
    private volatile PortCapture capture;
    private final FlowLog flowLog;
    private final Object control = new Object();

    /**
     * Allocates the pool and the connection table and creates the workers (not yet running).
     */
    public DataPlane(final DataPlaneConfig config)
    {
        this(config, null);
    }

    /**
     * Allocates the pool, the connection table and, with {@code flowLogs}, the flow log's stripes and
     * rings, and creates the workers (not yet running).
     *
     * @param config   sizing.
     * @param flowLogs flow log settings, or null for no flow log (the workers then count nothing per flow).
     */
    public DataPlane(final DataPlaneConfig config, final FlowLog.Settings flowLogs)
    {
        this.config = config;
        this.pool = new FramePool(config.frameSlots());
        this.superPool = config.superFrameSlots() == 0 ? null :
            new FramePool(config.superFrameSlots(), FramePool.SUPER_SLOT_BYTES, FramePool.DEFAULT_HEADROOM_BYTES);
        this.connections = new ConnectionTable(config.connectionCapacity(), config.timeouts());
        this.flowLog = flowLogs == null ? null : new FlowLog(connections, config.workers(), flowLogs);
        this.workers = new Worker[config.workers()];
        this.threads = new Thread[config.workers()];
        for (int i = 0; i < workers.length; i++)
        {
            workers[i] = new Worker(i, this);
        }
    }

    public DataPlaneConfig config()
    {
        return config;
    }

    public FramePool pool()
    {
        return pool;
    }

    /**
     * @return the pool of offload super-frames ({@link FramePool#SUPER_SLOT_BYTES} slots), or null when
     *     {@link DataPlaneConfig#superFrameSlots()} is 0 (no segmentation offloads).
     */
    public FramePool superPool()
    {
        return superPool;
    }

    public ConnectionTable connections()
    {
        return connections;
    }

    /**
     * @return the flow log (its collector is run by the caller's thread), or null when flow logs are off.
     */
    public FlowLog flowLog()
    {
        return flowLog;
    }

    /**
     * Starts capturing a port: from the workers' next vector on, every frame the port receives or is
     * handed for transmission is copied into the capture's rings. One capture at a time per data plane.
     *
     * @param portId    the port.
     * @param slots     frames per worker ring (a power of two).
     * @param snapBytes bytes kept per frame.
     * @return the capture, to drain and then {@link #stopCapture}.
     * @throws IllegalStateException when a capture is already running.
     */
    public PortCapture startCapture(final int portId, final int slots, final int snapBytes)
    {
        synchronized (control)
        {
            if (capture != null)
            {
                throw new IllegalStateException("a capture of port " + capture.portId() + " is already running");
            }
            final PortCapture next = new PortCapture(portId, workers.length, slots, snapBytes);
            capture = next;
            return next;
        }
    }

    /**
     * Stops a capture started by {@link #startCapture} (nothing when it is not the running one).
     */
    public void stopCapture(final PortCapture running)
    {
        synchronized (control)
        {
            running.stop();
            if (capture == running)
            {
                capture = null;
            }
        }
    }

    /**
     * @return true while a capture of {@code portId} runs.
     */
    public boolean capturing(final int portId)
    {
        final PortCapture running = capture;
        return running != null && running.portId() == portId;
    }

    /**
     * @return the running capture, or null (workers read it once per vector).
     */
    PortCapture capture()
    {
        return capture;
    }

    /**
     * @return the current snapshot (workers read it once per vector).
     */
    public ForwardingState state()
    {
        return state;
    }

    /**
     * Publishes a new snapshot; workers pick it up at their next vector.
     */
    public void publish(final ForwardingState next)
    {
        if (next == null)
        {
            throw new IllegalArgumentException("state must not be null");
        }
        state = next;
    }

    /**
     * @return what this data plane knows of the device's other isolation domains (names drops only).
     */
    public IsolationGuard isolation()
    {
        return isolation;
    }

    /**
     * Publishes the other domains' VNIs and address spaces (see {@link IsolationGuard}).
     */
    public void isolation(final IsolationGuard next)
    {
        if (next == null)
        {
            throw new IllegalArgumentException("isolation guard must not be null");
        }
        isolation = next;
    }

    /**
     * Attaches a port and gives it to the worker with the fewest ports; each of its
     * {@link Port#receiveQueues()} goes to the next least busy worker that holds none of the port's
     * queues yet (with more queues than workers, some workers read several).
     *
     * @throws IllegalArgumentException when the id is out of range or taken.
     */
    public void addPort(final Port port)
    {
        synchronized (control)
        {
            if (port.id() < 0 || port.id() >= ForwardingState.MAX_PORTS)
            {
                throw new IllegalArgumentException("port id must be in 0.." + (ForwardingState.MAX_PORTS - 1) + ": " + port.id());
            }
            if (ports[port.id()] != null)
            {
                throw new IllegalArgumentException("port id already attached: " + port.id());
            }
            final Port[] next = ports.clone();
            next[port.id()] = port;
            ports = next;
            // the port, then each of its receive queues, to the least busy worker that holds none of them yet
            final boolean[] holds = new boolean[workers.length];
            final List<Port> queues = port.receiveQueues();
            for (int q = -1; q < queues.size(); q++)
            {
                final Worker least = leastBusy(holds);
                least.assign(q < 0 ? port : queues.get(q));
                holds[least.id()] = true;
            }
            superFrameReceivers = anySuperFrameReceiver(next);
            port.onOffloadsChanged(this::offloadsChanged);
        }
    }

    /** A port's transmit offloads changed (a TAP lost super-frames): whether ingress GRO still pays off. */
    private void offloadsChanged()
    {
        synchronized (control)
        {
            superFrameReceivers = anySuperFrameReceiver(ports);
        }
    }

    private static boolean anySuperFrameReceiver(final Port[] ports)
    {
        for (final Port port : ports)
        {
            if (port != null && port.kind() == Port.KIND_VNIC &&
                (port.txOffloads() & (Port.OFFLOAD_SUPER_FRAMES | Port.OFFLOAD_PARTIAL_CHECKSUM)) ==
                    (Port.OFFLOAD_SUPER_FRAMES | Port.OFFLOAD_PARTIAL_CHECKSUM))
            {
                return true;
            }
        }
        return false;
    }

    /**
     * @return true when some attached vNIC port takes super-frames with partial checksums (a TAP with
     *         offloads): then workers merge TCP segments from the overlay before the pipeline
     *         (software GRO at ingress), as Linux does before forwarding.
     */
    public boolean superFrameReceivers()
    {
        return superFrameReceivers;
    }

    /** The worker with the fewest ports among those not marked (all of them once every one is marked). */
    private Worker leastBusy(final boolean[] marked)
    {
        Worker least = null;
        for (final Worker worker : workers)
        {
            if (!marked[worker.id()] && (least == null || worker.portCount() < least.portCount()))
            {
                least = worker;
            }
        }
        if (least == null)
        {
            Arrays.fill(marked, false);
            return leastBusy(marked);
        }
        return least;
    }

    /**
     * Detaches a port: no worker receives from it or transmits to it after this returns
     * (frames already in its rings stay there for the caller to drain).
     *
     * @return the port, or null if none had that id.
     */
    public Port removePort(final int id)
    {
        synchronized (control)
        {
            final Port port = id >= 0 && id < ports.length ? ports[id] : null;
            if (port == null)
            {
                return null;
            }
            final Port[] next = ports.clone();
            next[id] = null;
            ports = next;
            port.onOffloadsChanged(null);
            superFrameReceivers = anySuperFrameReceiver(next);
            for (final Worker worker : workers)
            {
                worker.unassign(port);
                for (final Port queue : port.receiveQueues())
                {
                    worker.unassign(queue);
                }
            }
            if (overlay == port)
            {
                overlay = null;
            }
            return port;
        }
    }

    /**
     * Attaches the overlay port: frames for remote devices are transmitted to it; what it receives
     * (decapsulated frames with VNI and peer device) enters the pipeline.
     */
    public void overlayPort(final Port port)
    {
        if (port.kind() != Port.KIND_OVERLAY)
        {
            throw new IllegalArgumentException("not an overlay port: " + port.id());
        }
        port.superFramePool(superPool);
        addPort(port);
        overlay = port;
    }

    Port port(final int id)
    {
        return ports[id];
    }

    Port overlay()
    {
        return overlay;
    }

    /**
     * @return the worker with an index (tests drive {@link Worker#doWork()} directly).
     */
    public Worker worker(final int index)
    {
        return workers[index];
    }

    public int workerCount()
    {
        return workers.length;
    }

    /**
     * Waits until every running worker has completed a pass over its ports that began after this call
     * (a sleeping worker is woken for it), so that nothing a worker read before the call (a socket
     * descriptor, say) is still in use afterwards. Bounded: each stuck worker holds the caller at most
     * 200 ms. Not from a worker thread (that worker is skipped).
     */
    public void quiesce()
    {
        for (final Worker worker : workers)
        {
            worker.awaitPass();
        }
    }

    /**
     * @return per worker, the CPU its thread is pinned to, or -1 (not pinned, or not started yet).
     */
    public int[] pinnedCpus()
    {
        final int[] cpus = new int[workers.length];
        for (int i = 0; i < workers.length; i++)
        {
            cpus[i] = workers[i].pinnedCpu();
        }
        return cpus;
    }

    /**
     * @return every worker's counters summed.
     */
    public CounterSnapshot counters()
    {
        final List<WorkerCounters> all = new ArrayList<>(workers.length);
        for (final Worker worker : workers)
        {
            all.add(worker.counters());
        }
        return CounterSnapshot.of(all);
    }

    /**
     * Starts one platform thread per worker, and returns once each has done its start-up (pinned to its
     * CPU when {@link DataPlaneConfig#workerCpus} names one), so {@link #pinnedCpus()} is final from here.
     */
    public void start()
    {
        if (CHECKSUMS_WARMED_UP.compareAndSet(false, true))
        {
            // once per process: the checksum's vector kernel compiled before the first traffic
            final io.vsnic.dataplane.buffer.Frame frame = pool.acquire();
            if (frame != null)
            {
                io.vsnic.dataplane.protocol.Checksums.warmUp(frame.segment().asSlice(frame.start(), 1500),
                    java.util.concurrent.TimeUnit.SECONDS.toNanos(3));
                frame.release();
            }
        }
        synchronized (control)
        {
            for (int i = 0; i < workers.length; i++)
            {
                if (threads[i] == null)
                {
                    // a thread with its own cache of free frames (no contention on the pools' free lists per frame)
                    threads[i] = new io.vsnic.dataplane.buffer.FrameCacheThread(workers[i], "vsnic-worker-" + i);
                    threads[i].setDaemon(true);
                    threads[i].start();
                }
            }
        }
        for (final Worker worker : workers)
        {
            worker.awaitStarted();
        }
    }

    /**
     * Stops the workers (waits up to 5 s) and frees the pool.
     */
    @Override
    public void close()
    {
        for (final Worker worker : workers)
        {
            worker.stop();
        }
        boolean stopped = true;
        for (final Thread thread : threads)
        {
            if (thread != null)
            {
                try
                {
                    thread.join(TimeUnit.SECONDS.toMillis(5));
                }
                catch (final InterruptedException ex)
                {
                    Thread.currentThread().interrupt();
                }
                stopped &= !thread.isAlive();
            }
        }
        if (stopped)
        {
            pool.close();
            if (superPool != null)
            {
                superPool.close();
            }
        }
    }

    @Override
    public String toString()
    {
        return "DataPlane{workers=" + workers.length + ", " + pool + ", ports=" +
            Arrays.stream(ports).filter(p -> p != null).count() + '}';
    }
}
