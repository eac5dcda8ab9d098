package io.vsnic.dataplane.pipeline;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.locks.LockSupport;

import io.vsnic.dataplane.buffer.Frame;
import io.vsnic.dataplane.buffer.FramePool;
import io.vsnic.dataplane.capture.PortCapture;
import io.vsnic.dataplane.flow.FlowProducer;
import io.vsnic.dataplane.nativeio.Syscalls;
import io.vsnic.dataplane.offload.ChecksumOffload;
import io.vsnic.dataplane.offload.Coalescer;
import io.vsnic.dataplane.offload.Segmenter;
import io.vsnic.dataplane.offload.VirtioNetHeader;
import io.vsnic.dataplane.protocol.ArpFlyweight;
import io.vsnic.dataplane.protocol.Checksums;
import io.vsnic.dataplane.protocol.EthernetFlyweight;
import io.vsnic.dataplane.protocol.FrameClassifier;
import io.vsnic.dataplane.protocol.FrameLayout;
import io.vsnic.dataplane.protocol.IcmpFlyweight;
import io.vsnic.dataplane.protocol.IpProtocol;
import io.vsnic.dataplane.protocol.Ipv4Flyweight;
import io.vsnic.dataplane.protocol.Ipv6Flyweight;
import io.vsnic.dataplane.protocol.TcpFlyweight;
import io.vsnic.dataplane.security.CompiledPolicy;
import io.vsnic.dataplane.security.ConnectionTable;
import io.vsnic.dataplane.security.FlowStripe;
import io.vsnic.dataplane.status.DropReason;
import io.vsnic.dataplane.status.WorkerCounters;
import io.vsnic.dataplane.substrate.OverlayHeaders;
import io.vsnic.dataplane.table.ForwardingState;
import io.vsnic.dataplane.table.KeyedTable;
import io.vsnic.dataplane.table.NetworkTable;
import io.vsnic.dataplane.table.PeerEntry;
import io.vsnic.dataplane.table.PortEntry;

/**
 * A data plane worker: one thread that owns a share of the ports and runs each received burst
 * (a vector of up to {@link #BURST} frames from one port) to completion, VPP style:
 *
 * <ol>
 *   <li><b>classify</b> every frame ({@link FrameClassifier}); malformed frames get their drop reason;</li>
 *   <li><b>decide</b> per frame: anti-spoofing, local answers (ARP proxy, IPv6 neighbour advertisements,
 *       echo replies from the gateways), the L2 (MAC table) or L3 (longest-prefix match, neighbour
 *       table, ECMP) lookup in the ingress port's network only, the routed-hop checks (TTL with ICMP
 *       time exceeded, MTU with ICMP fragmentation-needed / packet-too-big), the stateful security
 *       check (egress policy of the source port, ingress policy of the destination port, shared
 *       connection table), and the rewrite (MACs, TTL with an incremental checksum update). Each
 *       frame ends with an output location or a drop reason;</li>
 *   <li><b>enqueue</b>: frames are grouped by output port and handed over once per port per vector;
 *       drops are counted by reason and released.</li>
 * </ol>
 *
 * <p>IPv4 fragments: the first fragment is checked like any packet; its verdict and output are kept
 * in a small per-worker table keyed by (network, source, destination, identification, protocol) for
 * {@link #FRAGMENT_TIMEOUT_NS}; later fragments of that packet follow it (all fragments of a
 * packet come from the same port, hence the same worker; from the overlay, from the same substrate
 * receive queue, as long as the sender gives every fragment of a packet the same outer source port:
 * a vsnic peer sends from its bound port; Linux VXLAN hashes the inner flow, without L4 ports for
 * fragments). Later fragments whose first fragment was
 * not seen or was dropped are dropped ({@code fragment_no_flow}). IPv6 later fragments are dropped the
 * same way (IPv6 guests do path-MTU discovery; the network MTU is advertised to them).
 *
 * <p>Oversize IPv4 packets without DF are dropped ({@code mtu_exceeded}): every VM of a network is
 * given the network MTU, so only a misconfigured guest sends them; the data plane does not fragment.
 *
 * <p>Offload super-frames (a TAP with TSO hands over up to 64 KiB at once, {@link Frame#isSuperFrame()})
 * go through the same steps once: one classification, one lookup, one security verdict and one
 * connection-table update per super-frame; the MTU check applies to the segments it will become.
 * At output, a port that does not take super-frames or partial checksums ({@link Port#txOffloads()}:
 * memory and QEMU ports, the overlay until the substrate sends with UDP GSO) gets them cut into
 * segments ({@link Segmenter}) and completed; a port that takes super-frames gets the in-order TCP
 * segments of each vector from the overlay merged ({@link Coalescer}, flushed at the end of the vector).
 *
 * <p>Nothing here locks, allocates, logs or throws per packet. Thread: the worker's own.
 */
public final class Worker implements Runnable
{
    /** Largest vector a port read returns. */
    public static final int BURST = 256;
    /**
     * Software GRO at ingress for frames from the overlay, when a vNIC port takes super-frames
     * ({@code -Dvsnic.dataplane.ingressGro=false} turns it off: segments are then merged per output
     * batch, after the pipeline).
     */
    static final boolean INGRESS_GRO = Boolean.parseBoolean(System.getProperty("vsnic.dataplane.ingressGro", "true"));
    /**
     * Whether ingress GRO runs inside the overlay port's read, on the datagrams of a UDP GRO batch
     * (one copy per merged segment instead of two; {@code -Dvsnic.dataplane.mergeOnReceive=false}
     * merges only after each datagram has a frame of its own).
     */
    static final boolean PORT_MERGE = Boolean.parseBoolean(System.getProperty("vsnic.dataplane.mergeOnReceive", "true"));
    /** How long a first fragment's decision is kept for the later fragments. */
    public static final long FRAGMENT_TIMEOUT_NS = 5_000_000_000L;

    private static final int FRAGMENT_SLOTS = 1024;
    private static final int NO_OUTPUT = Integer.MIN_VALUE;
    private static final int DEFAULT_TTL = 64;

    private final int id;
    private final DataPlane dataPlane;
    private final FramePool pool;
    private final ConnectionTable connections;
    private final WorkerCounters counters = new WorkerCounters();
    private final FrameClassifier classifier = FrameClassifier.forwarding();
    private final IcmpWriter icmpWriter = new IcmpWriter();
    private final OverlayHeaders overlayHeaders = new OverlayHeaders();
    private final DhcpServer dhcp = new DhcpServer();
    private final FlowProducer flows;
    private final FlowStripe flowStripe;
    /** The running capture, read once per vector; null when none. */
    private PortCapture capture;
    private long vectorNs;
    private volatile Port[] owned = new Port[0];
    private volatile boolean running = true;

    /**
     * How long an idle worker keeps polling its ports before it sleeps (system property
     * {@code vsnic.worker.busyPollMicros}, default 50; 0 sleeps at once).
     */
    public static final long BUSY_POLL_NS = Math.max(0, Long.getLong("vsnic.worker.busyPollMicros", 50)) * 1000;
    /**
     * The time slice each worker thread asks the kernel for (system property {@code vsnic.worker.sliceMicros},
     * default 100, the shortest Linux takes; 0 leaves the kernel's default, 0.7 ms times 1 + log2 of the CPUs).
     * Linux 6.12 and later (EEVDF) give a thread with a shorter slice an earlier deadline: a worker woken by a
     * frame preempts the thread on its CPU (a JIT compiler thread, the flow-log writer, a VM's vCPU) at once
     * instead of waiting up to a tick. Its share of the CPU is unchanged. Older kernels ignore it.
     */
    public static final long SLICE_NS = sliceFromMicros(Long.getLong("vsnic.worker.sliceMicros", 100));
    /** Longest park of a worker whose ports cannot all be polled by descriptor. */
    public static final long MAX_PARK_NS = 1_000_000L;
    /** {@code poll(2)} timeout of a worker that saw frames within about the last second. */
    private static final int POLL_TIMEOUT_MS = 10;
    /** Timed-out sleeps in a row (about a second at {@link #POLL_TIMEOUT_MS}) after which a worker sleeps longer. */
    private static final int DEEP_IDLE_SLEEPS = 100;
    /**
     * {@code poll(2)} timeout of a worker idle for about a second (system property
     * {@code vsnic.worker.idlePollMillis}, default 200, clamped to 10..10000). Frames, a port assigned and
     * a stop wake the worker at once whatever the timeout; the timeout only bounds how late work that
     * announces itself in no way is seen (none is known; frames freed after a pool ran dry keep the
     * short timeout).
     */
    public static final int IDLE_POLL_TIMEOUT_MS =
        Math.clamp(Integer.getInteger("vsnic.worker.idlePollMillis", 200), POLL_TIMEOUT_MS, 10_000);
    private static final int POLL_SLOTS = 256;
    private static final MemorySegment ONE = one();
    private final MemorySegment pollSet = Arena.ofAuto().allocate(POLL_SLOTS * 8L, 8);
    private final MemorySegment drain = Arena.ofAuto().allocate(8, 8);
    private final int[] pollFds = new int[POLL_SLOTS];
    private final Runnable wakeCallback = this::wake;
    private Port[] pollPorts;
    private int pollCount;
    private volatile int eventFd = -1;
    private volatile int pinnedCpu = -1;
    /** The slice the kernel reports for this worker's thread after start, 0 when unknown ({@link #SLICE_NS}). */
    private volatile long sliceNs;
    /** Counted down once the thread has done its start-up (pinning), before its first pass. */
    private final java.util.concurrent.CountDownLatch started = new java.util.concurrent.CountDownLatch(1);
    private volatile boolean sleeping;
    /** The pools' exhaustion counts at this worker's last sleep: a change keeps the short poll timeout. */
    private long exhaustedSeen;
    /** Sleeps in a row that timed out, since the last pass that found frames. */
    private int idleSleeps;
    /** Sleeps that timed out since the worker started (one writer: this worker). */
    private volatile long sleepsTimedOut;
    /** wake() calls in progress; Integer.MIN_VALUE (and above) once the worker has closed its eventfd. */
    private final java.util.concurrent.atomic.AtomicInteger wakers = new java.util.concurrent.atomic.AtomicInteger();
    private volatile Thread thread;
    /** Passes over the owned ports completed ({@link #doWork}); read by {@link #awaitPass}. */
    private final java.util.concurrent.atomic.AtomicLong passes = new java.util.concurrent.atomic.AtomicLong();
    /** Longest wait of {@link #unassign} for the worker's current pass. */
    private static final long UNASSIGN_WAIT_NS = 200_000_000L;

    private final Frame[] frames = new Frame[BURST];
    private final FrameLayout[] layouts = new FrameLayout[BURST];
    private final int[] outputs = new int[BURST];
    private final int[] reasons = new int[BURST];
    private final int[] networkSlots = new int[BURST];
    private final Frame[] batch = new Frame[BURST];
    private final int[] batchSlots = new int[BURST];
    private final int[] batchBytes = new int[BURST];
    /** Largest number of segments one super-frame may be cut into (64 KiB at a gso_size of 128). */
    private static final int MAX_SEGMENTS = 512;
    private final Segmenter segmenter = new Segmenter();
    private final Coalescer coalescer;
    private final Frame[] adapted = new Frame[BURST];
    private final int[] adaptedSlots = new int[BURST];
    private final int[] adaptedBytes = new int[BURST];
    private final Frame[] segments = new Frame[MAX_SEGMENTS];
    /** Ingress GRO: the merged vector (the coalescer may write two past the last input), and the frames that failed decapsulation. */
    private final Frame[] coalesced = new Frame[BURST + 1];
    private final Frame[] failedFrames = new Frame[BURST];
    private final int[] failedReasons = new int[BURST];
    private boolean vectorFromOverlay;
    /** Segments the ingress port merged while reading the current vector, and the bytes of the datagrams they came in. */
    private long portMerged;
    private long portMergedBytes;
    /** Whether this vector's overlay segments were merged at ingress ({@link #coalesceIngress}). */
    private boolean vectorCoalesced;

    private final EthernetFlyweight ethernet = new EthernetFlyweight();
    private final ArpFlyweight arp = new ArpFlyweight();
    private final Ipv4Flyweight ipv4 = new Ipv4Flyweight();
    /** What {@link #touchRoutes} read, kept so that its loads are not dropped as dead code. */
    private int routeTouches;
    private final Ipv6Flyweight ipv6 = new Ipv6Flyweight();
    private final IcmpFlyweight icmp = new IcmpFlyweight();
    private final TcpFlyweight tcp = new TcpFlyweight();

    private final long[] fragmentKeys = new long[FRAGMENT_SLOTS * 2];
    private final long[] fragmentDeadlines = new long[FRAGMENT_SLOTS];
    private final int[] fragmentOutputs = new int[FRAGMENT_SLOTS];
    private final long[] fragmentMacs = new long[FRAGMENT_SLOTS];

    Worker(final int id, final DataPlane dataPlane)
    {
        this.id = id;
        this.dataPlane = dataPlane;
        this.pool = dataPlane.pool();
        this.connections = dataPlane.connections();
        this.flows = dataPlane.flowLog() == null ? null : dataPlane.flowLog().producer(id);
        this.flowStripe = flows == null ? null : flows.stripe();
        this.coalescer = dataPlane.superPool() == null ? null : new Coalescer(dataPlane.superPool(), Coalescer.CHECKSUM_PARTIAL);
        for (int i = 0; i < BURST; i++)
        {
            layouts[i] = new FrameLayout();
        }
    }

    /**
     * @return this worker's index.
     */
    public int id()
    {
        return id;
    }

    /**
     * @return this worker's counters (written only by this worker).
     */
    public WorkerCounters counters()
    {
        return counters;
    }

    int portCount()
    {
        return owned.length;
    }

    void assign(final Port port)
    {
        port.onReadable(wakeCallback);
        final Port[] current = owned;
        final Port[] next = java.util.Arrays.copyOf(current, current.length + 1);
        next[current.length] = port;
        owned = next;
        // a sleeping worker polls the descriptors of the ports it had: it must add the new one now
        wake();
    }

    /**
     * @return passes over the owned ports so far (each {@link #doWork}).
     */
    long passes()
    {
        return passes.get();
    }

    /**
     * @return sleeps that ended by their timeout, not by an event, since the worker started.
     */
    long sleepsTimedOut()
    {
        return sleepsTimedOut;
    }

    void unassign(final Port port)
    {
        port.onReadable(null);
        final Port[] current = owned;
        owned = java.util.Arrays.stream(current).filter(p -> p != port).toArray(Port[]::new);
        awaitPass();
    }

    /**
     * Waits until the pass over the ports that may have started before a change of {@link #owned} (or of
     * anything else a pass reads: {@link DataPlane#quiesce}) has ended, so that no pass reads a port after it
     * was unassigned (bounded: a stopped or stuck worker
     * does not hold the control thread for more than {@link #UNASSIGN_WAIT_NS}).
     */
    void awaitPass()
    {
        final Thread self = thread;
        if (!running || self == null || self == Thread.currentThread() || !self.isAlive())
        {
            return;
        }
        final long target = passes.get() + 1;
        final long deadline = System.nanoTime() + UNASSIGN_WAIT_NS;
        wake();
        while (passes.get() < target && running && self.isAlive() && System.nanoTime() < deadline)
        {
            LockSupport.parkNanos(50_000);
        }
    }

    void stop()
    {
        running = false;
        wake();
    }

    @Override
    public void run()
    {
        thread = Thread.currentThread();
        try
        {
            pin();
            slice();
        }
        finally
        {
            started.countDown();
        }
        try
        {
            long idleSince = 0;
            while (running)
            {
                if (doWork() > 0)
                {
                    idleSince = 0;
                    continue;
                }
                final long now = System.nanoTime();
                if (idleSince == 0)
                {
                    idleSince = now;
                }
                if (now - idleSince < BUSY_POLL_NS)
                {
                    Thread.onSpinWait();
                    continue;
                }
                // a sleep that timed out with nothing arriving is followed by the next sleep at once,
                // which looks at the ports once before it sleeps: an idle worker costs one pass per
                // timeout, not a busy-poll window of empty reads
                while (!sleep() && running)
                {
                    idleSleeps++;
                    sleepsTimedOut = sleepsTimedOut + 1;
                }
                // woken by an event: frames are likely to follow, so poll for them again
                idleSince = System.nanoTime();
            }
        }
        finally
        {
            // wait out wake() calls writing right now, and make later ones skip the (closed) descriptor
            while (!wakers.compareAndSet(0, Integer.MIN_VALUE))
            {
                Thread.onSpinWait();
            }
            if (eventFd >= 0)
            {
                Syscalls.close(eventFd);
                eventFd = -1;
            }
        }
    }

    /**
     * Pins this thread to its configured CPU ({@link DataPlaneConfig#workerCpu}), once at start. A CPU the
     * kernel refuses (taken away since the configuration was checked) leaves the worker unpinned, with a warning.
     */
    private void pin()
    {
        final int cpu = dataPlane.config().workerCpu(id);
        if (cpu < 0)
        {
            return;
        }
        final int result = Syscalls.AVAILABLE ? Syscalls.pinCurrentThread(cpu) : -Syscalls.ENOSYS;
        if (result == 0)
        {
            pinnedCpu = cpu;
        }
        else
        {
            System.getLogger(Worker.class.getName()).log(System.Logger.Level.WARNING,
                "worker " + id + ": cannot pin to CPU " + cpu + " (errno " + -result + "); it runs unpinned");
        }
    }

    /** Asks the kernel for this thread's time slice ({@link #SLICE_NS}), once at start; a refusal is logged. */
    private void slice()
    {
        if (SLICE_NS > 0 && Syscalls.AVAILABLE)
        {
            final int result = Syscalls.setSliceNanos(SLICE_NS);
            if (result < 0)
            {
                System.getLogger(Worker.class.getName()).log(System.Logger.Level.WARNING,
                    "worker " + id + ": cannot set its time slice to " + SLICE_NS / 1000 + " µs (errno " + -result + ")");
            }
        }
        sliceNs = Syscalls.AVAILABLE ? Syscalls.sliceNanos() : 0;
    }

    /** {@link #SLICE_NS} from the property's microseconds: 0, or clamped to the kernel's 100..100,000 µs. */
    static long sliceFromMicros(final long micros)
    {
        return micros <= 0 ? 0 : Math.clamp(micros, 100, 100_000) * 1000;
    }

    /**
     * @return the time slice the kernel reports for this worker's thread, in nanoseconds, once it has started: 0
     *         where the kernel reports none (before Linux 6.12) or the thread is not in the fair class.
     */
    public long sliceNanos()
    {
        return sliceNs;
    }

    /**
     * Waits until this worker's thread has done its start-up ({@link #pin}); returns at once if the
     * calling thread is interrupted (with its interrupt flag set again).
     */
    void awaitStarted()
    {
        try
        {
            started.await();
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * @return the CPU this worker's thread is pinned to, or -1 when it is not (not configured, refused, or
     *         the thread has not started).
     */
    public int pinnedCpu()
    {
        return pinnedCpu;
    }

    private static MemorySegment one()
    {
        final MemorySegment segment = Arena.global().allocate(8, 8);
        segment.set(ValueLayout.JAVA_LONG, 0, 1L);
        return segment;
    }

    /**
     * Wakes this worker if it sleeps (any thread; a port's {@link Port#onReadable} callback).
     */
    void wake()
    {
        if (!sleeping)
        {
            return;
        }
        // negative once the worker has ended: its eventfd is closed and its number may be reused
        if (wakers.getAndIncrement() >= 0)
        {
            final int fd = eventFd;
            if (fd >= 0)
            {
                Syscalls.write(fd, ONE.address(), 8);
            }
            else
            {
                LockSupport.unpark(thread);
            }
        }
        wakers.decrementAndGet();
    }

    /**
     * Sleeps until a port may have frames: in {@code poll(2)} on the ports' readiness descriptors and
     * this worker's eventfd when every owned port has them, else parked for a bounded time
     * ({@link #MAX_PARK_NS}, growing from 50 µs), woken early by {@link #wake()}.
     *
     * @return true when woken by an event (not a timeout guess).
     */
    private boolean sleep()
    {
        final Port[] ports = owned;
        if (ports != pollPorts)
        {
            buildPollSet(ports);
        }
        sleeping = true;
        try
        {
            if (doWork() > 0 || owned != pollPorts)
            {
                // frames, or a port (un)assigned before wake() could see this worker sleeping
                return true;
            }
            if (pollCount > 0)
            {
                final int ready = Syscalls.poll(pollSet.address(), pollCount, pollTimeoutMs());
                if (ready > 0)
                {
                    for (int i = 0; i < pollCount; i++)
                    {
                        final short revents = pollSet.get(ValueLayout.JAVA_SHORT, i * 8L + 6);
                        if ((revents & (Syscalls.POLLNVAL | Syscalls.POLLERR)) != 0)
                        {
                            // a port closing under us: fall back to parking until it is unassigned
                            pollPorts = null;
                            pollCount = 0;
                            LockSupport.parkNanos(MAX_PARK_NS);
                            return false;
                        }
                    }
                    if ((pollSet.get(ValueLayout.JAVA_SHORT, 6) & Syscalls.POLLIN) != 0)
                    {
                        Syscalls.read(eventFd, drain.address(), 8);
                    }
                    return true;
                }
                return ready == 0 ? false : parkFallback();
            }
            LockSupport.parkNanos(Math.min(MAX_PARK_NS, 50_000L << Math.min(5, idleSleeps)));
            return false;
        }
        finally
        {
            sleeping = false;
        }
    }

    /**
     * The {@code poll(2)} timeout of the next sleep: {@link #IDLE_POLL_TIMEOUT_MS} once the worker has been
     * idle for {@link #DEEP_IDLE_SLEEPS} timed-out sleeps and no frame pool ran dry since its last sleep
     * (frames released by other threads announce themselves in no way), else {@link #POLL_TIMEOUT_MS}.
     */
    private int pollTimeoutMs()
    {
        final FramePool superPool = dataPlane.superPool();
        final long exhausted = pool.exhaustedCount() + (superPool == null ? 0 : superPool.exhaustedCount());
        final boolean starved = exhausted != exhaustedSeen;
        exhaustedSeen = exhausted;
        return idleSleeps >= DEEP_IDLE_SLEEPS && !starved ? IDLE_POLL_TIMEOUT_MS : POLL_TIMEOUT_MS;
    }

    private boolean parkFallback()
    {
        pollPorts = null;
        pollCount = 0;
        LockSupport.parkNanos(MAX_PARK_NS);
        return false;
    }

    private void buildPollSet(final Port[] ports)
    {
        pollPorts = ports;
        pollCount = 0;
        if (!Syscalls.AVAILABLE || ports.length + 1 > POLL_SLOTS)
        {
            return;
        }
        if (eventFd < 0)
        {
            eventFd = Syscalls.eventfd();
            if (eventFd < 0)
            {
                return;
            }
        }
        int count = 0;
        pollFds[count++] = eventFd;
        for (final Port port : ports)
        {
            final int added = count + 1 >= POLL_SLOTS ? -1 : port.readinessFds(pollFds, count);
            if (added < 0)
            {
                return;
            }
            count += added;
        }
        for (int i = 0; i < count; i++)
        {
            pollSet.set(ValueLayout.JAVA_INT, i * 8L, pollFds[i]);
            pollSet.set(ValueLayout.JAVA_SHORT, i * 8L + 4, Syscalls.POLLIN);
            pollSet.set(ValueLayout.JAVA_SHORT, i * 8L + 6, (short)0);
        }
        pollCount = count;
    }

    /**
     * Polls every owned port once and processes what arrived.
     *
     * @return number of frames processed.
     */
    public int doWork()
    {
        int work = 0;
        final Port[] ports = owned;
        for (final Port port : ports)
        {
            final int count;
            if (port.kind() == Port.KIND_OVERLAY && mergesOnReceive(port))
            {
                // segments the port merged while reading count as received (and as coalesced)
                final long mergedBefore = coalescer.mergedCount();
                final long superBefore = coalescer.superFrameCount();
                final long bytesBefore = coalescer.rangeBytes();
                count = port.receive(frames, BURST, coalescer);
                portMerged = coalescer.mergedCount() - mergedBefore;
                portMergedBytes = coalescer.rangeBytes() - bytesBefore;
                if (portMerged > 0)
                {
                    counters.add(WorkerCounters.SEGMENTS_COALESCED, portMerged);
                    counters.add(WorkerCounters.SUPER_FRAMES_COALESCED, coalescer.superFrameCount() - superBefore);
                }
            }
            else
            {
                count = port.receive(frames, BURST);
                portMerged = 0;
                portMergedBytes = 0;
            }
            if (count > 0)
            {
                processVector(port, count);
                work += count;
            }
        }
        passes.lazySet(passes.get() + 1);   // one writer: this worker
        if (work > 0)
        {
            idleSleeps = 0;
        }
        return work;
    }

    /**
     * Whether the overlay port may merge TCP segments while it reads ({@link Port#receive(Frame[], int,
     * Coalescer)}): ingress GRO is on and some vNIC takes super-frames, and no capture runs on the port
     * (a capture of the overlay port records the datagrams as they arrived).
     */
    private boolean mergesOnReceive(final Port port)
    {
        if (!INGRESS_GRO || !PORT_MERGE || coalescer == null || !dataPlane.superFrameReceivers())
        {
            return false;
        }
        final PortCapture running = dataPlane.capture();
        return running == null || running.portId() != port.id();
    }

    private void processVector(final Port ingress, final int received)
    {
        final ForwardingState state = dataPlane.state();
        final long nowNs = System.nanoTime();
        final int ingressId = ingress.id();
        final boolean fromOverlay = ingress.kind() == Port.KIND_OVERLAY;
        vectorNs = nowNs;
        capture = dataPlane.capture();
        if (capture != null && capture.portId() == ingressId)
        {
            capture.copy(id, frames, received, PortCapture.RECEIVED, nowNs);
        }
        vectorFromOverlay = fromOverlay;
        final PortEntry source = fromOverlay ? null : state.port(ingressId);
        counters.increment(WorkerCounters.VECTORS);
        counters.add(WorkerCounters.RX_FRAMES, received + portMerged);
        counters.add(WorkerCounters.PORT_RX_PACKETS + ingressId, received + portMerged);

        // frames the port decapsulated (and merged) count with the datagrams they came from
        long rxBytes = portMergedBytes;
        for (int i = 0; i < received; i++)
        {
            final Frame frame = frames[i];
            outputs[i] = NO_OUTPUT;
            networkSlots[i] = -1;
            frame.port(ingressId);
            if (fromOverlay)
            {
                final PeerEntry peer = state.peer(frame.peerDevice());
                if (peer == null)
                {
                    rxBytes += frame.length();
                    reasons[i] = DropReason.UNKNOWN_PEER.ordinal();
                }
                else if (frame.vni() >= 0)
                {
                    // decapsulated by the port; the peer may have lost the VNI since (a newer state)
                    reasons[i] = peer.allowsVni(frame.vni()) ? 0 : DropReason.VNI_NOT_ALLOWED.ordinal();
                }
                else
                {
                    rxBytes += frame.length();
                    reasons[i] = overlayHeaders.decapsulate(frame, peer);
                }
            }
            else
            {
                rxBytes += frame.length();
                reasons[i] = 0;
            }
        }
        counters.add(WorkerCounters.PORT_RX_BYTES + ingressId, rxBytes);
        vectorCoalesced = fromOverlay && received > 1 && INGRESS_GRO && coalescer != null && dataPlane.superFrameReceivers();
        final int count = vectorCoalesced ? coalesceIngress(received) : received;
        for (int i = 0; i < count; i++)
        {
            if (reasons[i] == 0)
            {
                final Frame frame = frames[i];
                reasons[i] = classifier.classify(frame.segment(), frame.start(), frame.length(), layouts[i]);
            }
        }

        final NetworkTable sourceNetwork = source == null ? null : state.network(source.network());
        if (sourceNetwork != null && sourceNetwork.largeRoutes4())
        {
            touchRoutes(sourceNetwork, count);
        }

        int runSlot = -1;
        long runPackets = 0;
        long runBytes = 0;
        for (int i = 0; i < count; i++)
        {
            if (reasons[i] != 0)
            {
                continue;
            }
            final Frame frame = frames[i];
            final NetworkTable network;
            if (fromOverlay)
            {
                final int index = state.networkByVni(frame.vni());
                if (index < 0)
                {
                    reasons[i] = DropReason.UNKNOWN_VNI.ordinal();
                    continue;
                }
                network = state.network(index);
            }
            else if (source == null)
            {
                reasons[i] = DropReason.UNKNOWN_PORT.ordinal();
                continue;
            }
            else
            {
                network = state.network(source.network());
            }
            if (fromOverlay && !frame.isSuperFrame() && layouts[i].l3Length() > network.mtuBytes())
            {
                adoptTunnelGso(frame, layouts[i], network.mtuBytes());
            }
            final int slot = network.counterSlot();
            networkSlots[i] = slot;
            if (slot != runSlot)
            {
                countNetworkRx(runSlot, runPackets, runBytes);
                runSlot = slot;
                runPackets = 0;
                runBytes = 0;
            }
            runPackets++;
            runBytes += frame.length();
            decide(i, frame, layouts[i], state, network, source, fromOverlay ? NetworkTable.remoteLocation(frame.peerDevice()) : ingressId, nowNs);
        }

        countNetworkRx(runSlot, runPackets, runBytes);

        nameIsolationDrops(count, fromOverlay);
        enqueue(count, ingressId);
    }

    /**
     * Issues the first load of the route lookup of every IPv4 frame of the vector sent to the gateway,
     * before any of them is decided: the loads are independent, so their cache misses overlap, and the
     * lookups in {@link #decide} find the entries in the cache (VPP prefetches for the same reason).
     * Only for tables larger than the caches ({@link NetworkTable#largeRoutes4()}): with a million
     * prefixes (the 64 MiB direct root) it took the worker loop from 307 to 117-153 ns per routed 64-byte
     * frame ({@code WorkerRoutesBenchmark}, with shared next hops; 515 ns before both).
     */
    private void touchRoutes(final NetworkTable network, final int count)
    {
        final long gateway = network.gatewayMac();
        int touched = 0;
        for (int i = 0; i < count; i++)
        {
            final FrameLayout layout = layouts[i];
            if (reasons[i] == 0 && layout.l3Type() == FrameLayout.L3_IPV4 && layout.destinationMac() == gateway)
            {
                touched += network.touchRoute4(frames[i].segment().get(Ipv4Flyweight.U32,
                    layout.l3Offset() + Ipv4Flyweight.DESTINATION_OFFSET));
            }
        }
        routeTouches += touched;
    }

    /**
     * A Linux peer on the same host (its VXLAN device over a veth substrate) hands its UDP socket a
     * tunnel GSO packet whole: one datagram holding an inner TCP packet of up to 64 KiB whose checksum
     * field is the pseudo-header sum (CHECKSUM_PARTIAL), where a NIC would have cut MTU-sized
     * segments. Such a packet, and only such (TCP, not a fragment, the field exactly the pseudo-header
     * sum over its length), is taken as a super-frame cut at the network MTU, as if a TAP had handed it
     * over; anything else longer than the MTU is forwarded as before (the MTU check applies towards
     * other devices).
     */
    private static void adoptTunnelGso(final Frame frame, final FrameLayout layout, final int mtu)
    {
        if (layout.l4Protocol() != IpProtocol.TCP ||
            (layout.flags() & (FrameLayout.FLAG_FRAGMENT | FrameLayout.FLAG_LATER_FRAGMENT)) != 0)
        {
            return;
        }
        final MemorySegment segment = frame.segment();
        final int l3 = layout.l3Offset();
        final int l4 = layout.l4Offset();
        final int l4Length = layout.l3Length() - (l4 - l3);
        final long pseudo;
        final int type;
        if (layout.l3Type() == FrameLayout.L3_IPV4)
        {
            pseudo = Checksums.pseudoHeaderSumIpv4(segment.get(Ipv4Flyweight.U32, l3 + Ipv4Flyweight.SOURCE_OFFSET),
                segment.get(Ipv4Flyweight.U32, l3 + Ipv4Flyweight.DESTINATION_OFFSET), IpProtocol.TCP, l4Length);
            type = VirtioNetHeader.GSO_TCPV4;
        }
        else if (layout.l3Type() == FrameLayout.L3_IPV6 && l4 - l3 == Ipv6Flyweight.HEADER_LENGTH)
        {
            pseudo = Checksums.pseudoHeaderSumIpv6(segment, l3 + 8, IpProtocol.TCP, l4Length);
            type = VirtioNetHeader.GSO_TCPV6;
        }
        else
        {
            return;
        }
        final int gsoSize = mtu - (l4 - l3) - layout.l4HeaderLength();
        if (gsoSize <= 0 || (segment.get(Ipv4Flyweight.U16, l4 + TcpFlyweight.CHECKSUM_OFFSET) & 0xFFFF) != Checksums.fold(pseudo))
        {
            return;
        }
        frame.gso(type, gsoSize).checksumPartial(l4 - frame.start(), TcpFlyweight.CHECKSUM_OFFSET);
    }

    /** Adds a run of frames received for one network (the counters are written once per run, not per frame). */
    private void countNetworkRx(final int slot, final long packets, final long bytes)
    {
        if (packets > 0)
        {
            counters.add(WorkerCounters.NETWORK_RX_PACKETS + slot, packets);
            counters.add(WorkerCounters.NETWORK_RX_BYTES + slot, bytes);
        }
    }

    /**
     * Software GRO at ingress: merges the vector's consecutive in-order TCP segments of one flow (same
     * peer device and VNI) into super-frames before the pipeline, so that classification, lookup,
     * security and rewriting run once per super-frame, as Linux runs GRO before forwarding. Frames
     * the coalescer does not merge pass unchanged, in order; frames that already failed
     * decapsulation move to the end of the vector with their drop reasons.
     *
     * @return the number of frames in the vector now.
     */
    private int coalesceIngress(final int received)
    {
        final long mergedBefore = coalescer.mergedCount();
        final long superBefore = coalescer.superFrameCount();
        int n = 0;
        int failed = 0;
        for (int i = 0; i < received; i++)
        {
            final Frame frame = frames[i];
            frames[i] = null;
            if (reasons[i] != 0)
            {
                failedFrames[failed] = frame;
                failedReasons[failed++] = reasons[i];
                continue;
            }
            n = coalescer.add(frame, coalesced, n);
        }
        n = coalescer.flush(coalesced, n);
        for (int k = 0; k < n; k++)
        {
            frames[k] = coalesced[k];
            coalesced[k] = null;
            reasons[k] = 0;
        }
        for (int k = 0; k < failed; k++)
        {
            frames[n + k] = failedFrames[k];
            reasons[n + k] = failedReasons[k];
            failedFrames[k] = null;
        }
        counters.add(WorkerCounters.SEGMENTS_COALESCED, coalescer.mergedCount() - mergedBefore);
        counters.add(WorkerCounters.SUPER_FRAMES_COALESCED, coalescer.superFrameCount() - superBefore);
        return n + failed;
    }

    /**
     * Renames the drops that were cross-domain attempts to {@link DropReason#ENCLAVE_ISOLATION}
     * (see {@link IsolationGuard}); touches dropped frames only.
     */
    private void nameIsolationDrops(final int count, final boolean fromOverlay)
    {
        final IsolationGuard guard = dataPlane.isolation();
        if (guard == IsolationGuard.none())
        {
            return;
        }
        for (int i = 0; i < count; i++)
        {
            final Frame frame = frames[i];
            // an overlay frame whose header did not decapsulate has no VNI and no classified layout
            if (reasons[i] > 0 && (!fromOverlay || frame.vni() >= 0 || reasons[i] == DropReason.VNI_NOT_ALLOWED.ordinal()))
            {
                reasons[i] = guard.reclassify(reasons[i], fromOverlay ? frame.vni() : -1, layouts[i], frame.segment(), ipv4, arp);
            }
        }
    }

    private void decide(
        final int i, final Frame frame, final FrameLayout layout, final ForwardingState state, final NetworkTable network,
        final PortEntry source, final int ingressLocation, final long nowNs)
    {
        final MemorySegment segment = frame.segment();
        if (source != null && source.antiSpoof() && layout.sourceMac() != source.mac())
        {
            reasons[i] = DropReason.SPOOFED_MAC.ordinal();
            return;
        }
        if (source == null && !locatedAtPeer(segment, layout, network, ingressLocation))
        {
            reasons[i] = DropReason.OVERLAY_SPOOFED_SOURCE.ordinal();
            return;
        }
        final int l3Type = layout.l3Type();
        if (l3Type == FrameLayout.L3_ARP)
        {
            answerArp(i, frame, layout, network, source, ingressLocation);
            return;
        }
        if (source != null && DhcpServer.isClientMessage(layout))
        {
            reasons[i] = dhcp.answer(frame, layout, network, source);
            if (reasons[i] == 0)
            {
                counters.increment(WorkerCounters.LOCAL_ANSWERS);
                output(i, frame, network, ingressLocation);
            }
            return;
        }
        if (source != null && source.antiSpoof() && !sourceAddressAllowed(segment, layout, source))
        {
            reasons[i] = DropReason.SPOOFED_IP.ordinal();
            return;
        }
        final long destinationMac = layout.destinationMac();
        if (l3Type == FrameLayout.L3_IPV6 && layout.l4Protocol() == IpProtocol.ICMPV6 && layout.l4Offset() >= 0 &&
            (layout.destinationPort() >>> 8) == IcmpFlyweight.V6_NEIGHBOR_SOLICITATION)
        {
            answerNeighborSolicitation(i, frame, layout, network, ingressLocation);
            return;
        }
        if (source != null && l3Type == FrameLayout.L3_IPV6 && layout.l4Protocol() == IpProtocol.ICMPV6 &&
            layout.l4Offset() >= 0 && (layout.destinationPort() >>> 8) == IcmpFlyweight.V6_ROUTER_SOLICITATION)
        {
            answerRouterSolicitation(i, frame, layout, network, ingressLocation);
            return;
        }
        if (EthernetFlyweight.isMulticast(destinationMac))
        {
            reasons[i] = DropReason.UNHANDLED_BROADCAST.ordinal();
            return;
        }

        int location;
        long nextMac;
        final boolean routed = destinationMac == network.gatewayMac();
        if (routed)
        {
            if (l3Type == FrameLayout.L3_IPV4)
            {
                ipv4.wrap(segment, layout.l3Offset());
                if (network.isGateway4(ipv4.destination()))
                {
                    answerGatewayEcho(i, frame, layout, network, ingressLocation);
                    return;
                }
                if ((layout.flags() & FrameLayout.FLAG_LATER_FRAGMENT) != 0)
                {
                    followFirstFragment(i, frame, layout, network, nowNs);
                    return;
                }
                final int hop = network.route4(ipv4.destination());
                if (hop < 0)
                {
                    reasons[i] = DropReason.NO_ROUTE.ordinal();
                    return;
                }
                location = resolveHop(i, frame, layout, network, hop, ipv4.destination() & 0xFFFF_FFFFL, 0, true);
            }
            else if (l3Type == FrameLayout.L3_IPV6)
            {
                ipv6.wrap(segment, layout.l3Offset());
                final long high = ipv6.destinationHigh();
                final long low = ipv6.destinationLow();
                if (network.isGateway6(high, low))
                {
                    answerGatewayEcho(i, frame, layout, network, ingressLocation);
                    return;
                }
                if ((layout.flags() & FrameLayout.FLAG_LATER_FRAGMENT) != 0)
                {
                    reasons[i] = DropReason.FRAGMENT_NO_FLOW.ordinal();
                    return;
                }
                final int hop = network.route6(high, low);
                if (hop < 0)
                {
                    reasons[i] = DropReason.NO_ROUTE.ordinal();
                    return;
                }
                location = resolveHop(i, frame, layout, network, hop, high, low, false);
            }
            else
            {
                reasons[i] = DropReason.TO_GATEWAY.ordinal();
                return;
            }
            if (location == NO_OUTPUT)
            {
                return;
            }
            nextMac = resolvedMac;
            if (!checkRoutedHop(i, frame, layout, network, ingressLocation))
            {
                return;
            }
        }
        else
        {
            final KeyedTable macs = network.macs();
            final int slot = macs.find(destinationMac, 0);
            if (slot < 0)
            {
                reasons[i] = DropReason.UNKNOWN_MAC.ordinal();
                return;
            }
            location = macs.location(slot);
            nextMac = destinationMac;
            if ((layout.flags() & FrameLayout.FLAG_LATER_FRAGMENT) != 0 && l3Type == FrameLayout.L3_IPV4)
            {
                followFirstFragment(i, frame, layout, network, nowNs);
                return;
            }
            if (l3Type == FrameLayout.L3_IPV6 && (layout.flags() & FrameLayout.FLAG_LATER_FRAGMENT) != 0)
            {
                reasons[i] = DropReason.FRAGMENT_NO_FLOW.ordinal();
                return;
            }
        }

        final PortEntry destination = location >= 0 ? state.port(location) : null;
        if (location >= 0 && (destination == null || destination.network() != network.index()))
        {
            reasons[i] = destination == null ? DropReason.UNKNOWN_PORT.ordinal() : DropReason.NETWORK_ISOLATION.ordinal();
            return;
        }
        if (location == ingressLocation)
        {
            reasons[i] = DropReason.NO_ROUTE.ordinal();
            return;
        }
        if (!routed && layout.l3Length() > network.mtuBytes() &&
            (l3Type == FrameLayout.L3_IPV4 || l3Type == FrameLayout.L3_IPV6))
        {
            // Switched: the network MTU holds on every port (the overlay carries at most that much, and
            // a vNIC's guest drops what exceeds it), so path-MTU discovery must see the limit here
            // rather than a silent loss on the substrate or in the receiving guest. Super-frames pass
            // when their segments fit.
            if (!checkMtu(i, frame, layout, network))
            {
                return;
            }
        }
        if (!checkSecurity(i, frame, layout, network, source, destination, nowNs))
        {
            return;
        }
        if (routed)
        {
            ethernet.wrap(segment, frame.start());
            ethernet.destination(nextMac).source(network.gatewayMac());
            if (l3Type == FrameLayout.L3_IPV4)
            {
                ipv4.wrap(segment, layout.l3Offset());
                ipv4.decrementTtl();
            }
            else
            {
                ipv6.wrap(segment, layout.l3Offset());
                ipv6.hopLimit(ipv6.hopLimit() - 1);
            }
        }
        if (source == null && location >= 0 && !frame.checksumPartial())
        {
            // (a super-frame merged at ingress keeps its partial checksum: its receiver finishes it)
            completePartialChecksum(segment, layout);
        }
        if ((layout.flags() & FrameLayout.FLAG_FRAGMENT) != 0 && l3Type == FrameLayout.L3_IPV4)
        {
            rememberFirstFragment(segment, layout, network, location, routed ? nextMac : 0, nowNs);
        }
        output(i, frame, network, location);
    }

    private long resolvedMac;

    /**
     * Resolves a next hop to an output location (and {@link #resolvedMac}), or sets the drop reason and
     * returns {@link #NO_OUTPUT}. A connected hop looks the destination up in the neighbour table of
     * its family: IPv4 keys are (address, 0), IPv6 keys (high, low).
     */
    private int resolveHop(
        final int i, final Frame frame, final FrameLayout layout, final NetworkTable network, final int hop,
        final long destinationHigh, final long destinationLow, final boolean v4)
    {
        switch (network.hopKind(hop))
        {
            case NetworkTable.HOP_CONNECTED ->
            {
                final KeyedTable neighbors = v4 ? network.neighbors4() : network.neighbors6();
                final int slot = neighbors.find(destinationHigh, destinationLow);
                if (slot < 0)
                {
                    reasons[i] = DropReason.NO_NEIGHBOR.ordinal();
                    return NO_OUTPUT;
                }
                resolvedMac = neighbors.mac(slot);
                return neighbors.location(slot);
            }
            case NetworkTable.HOP_LOCATION ->
            {
                resolvedMac = network.hopMac(hop);
                return network.hopLocation(hop);
            }
            case NetworkTable.HOP_ECMP ->
            {
                final int location = network.ecmpLocation(hop, flowHash(frame.segment(), layout));
                resolvedMac = macOfLocation(network, location);
                return location;
            }
            case NetworkTable.HOP_BLACKHOLE ->
            {
                reasons[i] = DropReason.BLACKHOLE.ordinal();
                return NO_OUTPUT;
            }
            default ->
            {
                // Destination unreachable, administratively prohibited: ICMP code 13, ICMPv6 code 1.
                if (v4)
                {
                    sendIcmpError(i, frame, layout, network, IcmpFlyweight.V4_DESTINATION_UNREACHABLE,
                        IcmpFlyweight.V4_CODE_ADMIN_PROHIBITED, 0);
                }
                else
                {
                    sendIcmpError(i, frame, layout, network, IcmpFlyweight.V6_DESTINATION_UNREACHABLE, 1, 0);
                }
                reasons[i] = DropReason.REJECT.ordinal();
                return NO_OUTPUT;
            }
        }
    }

    private long macOfLocation(final NetworkTable network, final int location)
    {
        if (location >= 0)
        {
            final PortEntry port = dataPlane.state().port(location);
            return port == null ? network.gatewayMac() : port.mac();
        }
        return network.gatewayMac();
    }

    /**
     * TTL / hop limit and MTU for a routed packet; sends the ICMP error when one applies.
     */
    private boolean checkRoutedHop(
        final int i, final Frame frame, final FrameLayout layout, final NetworkTable network, final int ingressLocation)
    {
        final MemorySegment segment = frame.segment();
        if (layout.l3Type() == FrameLayout.L3_IPV4)
        {
            ipv4.wrap(segment, layout.l3Offset());
            if (ipv4.ttl() <= 1)
            {
                sendIcmpError(i, frame, layout, network, IcmpFlyweight.V4_TIME_EXCEEDED, 0, 0);
                reasons[i] = DropReason.TTL_EXPIRED.ordinal();
                return false;
            }
        }
        else
        {
            ipv6.wrap(segment, layout.l3Offset());
            if (ipv6.hopLimit() <= 1)
            {
                sendIcmpError(i, frame, layout, network, IcmpFlyweight.V6_TIME_EXCEEDED, 0, 0);
                reasons[i] = DropReason.TTL_EXPIRED.ordinal();
                return false;
            }
        }
        return checkMtu(i, frame, layout, network);
    }

    /**
     * The network MTU: IPv4 with DF and IPv6 get fragmentation-needed / packet-too-big from the gateway
     * so path-MTU discovery works through the overlay; IPv4 without DF is dropped (no fragmentation here).
     */
    private boolean checkMtu(final int i, final Frame frame, final FrameLayout layout, final NetworkTable network)
    {
        final int mtu = network.mtuBytes();
        if (layout.l3Length() <= mtu || segmentsFit(frame, layout, mtu))
        {
            return true;
        }
        if (layout.l3Type() == FrameLayout.L3_IPV4)
        {
            ipv4.wrap(frame.segment(), layout.l3Offset());
            if (ipv4.dontFragment())
            {
                sendIcmpError(i, frame, layout, network, IcmpFlyweight.V4_DESTINATION_UNREACHABLE,
                    IcmpFlyweight.V4_CODE_FRAGMENTATION_NEEDED, mtu);
            }
        }
        else
        {
            sendIcmpError(i, frame, layout, network, IcmpFlyweight.V6_PACKET_TOO_BIG, 0, mtu);
        }
        reasons[i] = DropReason.MTU_EXCEEDED.ordinal();
        return false;
    }

    private boolean checkSecurity(
        final int i, final Frame frame, final FrameLayout layout, final NetworkTable network, final PortEntry source,
        final PortEntry destination, final long nowNs)
    {
        final int l3Type = layout.l3Type();
        if (l3Type != FrameLayout.L3_IPV4 && l3Type != FrameLayout.L3_IPV6)
        {
            return true;
        }
        if (flows == null && untracked(source) && untracked(destination))
        {
            // every local end allows everything: no state to keep (see CompiledPolicy#untracked)
            return true;
        }
        final MemorySegment segment = frame.segment();
        final int protocol = layout.l4Protocol();
        final boolean hasPorts = layout.l4Offset() >= 0 && layout.l4HeaderLength() > 0;
        final boolean icmpProtocol = protocol == IpProtocol.ICMP || protocol == IpProtocol.ICMPV6;
        final int sourcePort = hasPorts ? layout.sourcePort() : 0;
        // ICMP: the echo identifier is the "port" on both sides so that replies match; policies see the type.
        final int destinationPort = hasPorts ? (icmpProtocol ? layout.sourcePort() : layout.destinationPort()) : 0;
        final int policyPort = hasPorts ? (icmpProtocol ? layout.destinationPort() >>> 8 : layout.destinationPort()) : 0;
        int tcpFlags = 0;
        if (protocol == IpProtocol.TCP && hasPorts)
        {
            tcp.wrap(segment, layout.l4Offset());
            tcpFlags = tcp.flags();
        }
        final int verdict;
        if (l3Type == FrameLayout.L3_IPV4)
        {
            ipv4.wrap(segment, layout.l3Offset());
            final int sourceAddress = ipv4.source();
            final int destinationAddress = ipv4.destination();
            if (flowStripe != null)
            {
                flowStripe.packet(frame.length(), flowPort(source, destination));
            }
            // most packets belong to known flows: look up first, evaluate the rules only for a new flow
            int tracked = connections.trackV4(network.vni(), protocol, sourceAddress, destinationAddress,
                sourcePort, destinationPort, tcpFlags, nowNs, false, flowStripe);
            if (tracked == ConnectionTable.DENIED && egress4(source, protocol, destinationAddress, policyPort) &&
                ingress4(destination, protocol, sourceAddress, policyPort))
            {
                tracked = connections.trackV4(network.vni(), protocol, sourceAddress, destinationAddress,
                    sourcePort, destinationPort, tcpFlags, nowNs, true, flowStripe);
            }
            verdict = tracked;
            if (flows != null && (verdict == ConnectionTable.CREATED || verdict == ConnectionTable.DENIED))
            {
                logFlow(verdict, network.vni(), protocol, false, 0, sourceAddress & 0xFFFF_FFFFL, 0,
                    destinationAddress & 0xFFFF_FFFFL, sourcePort, destinationPort, flowPort(source, destination), nowNs,
                    frame.length());
            }
        }
        else
        {
            ipv6.wrap(segment, layout.l3Offset());
            final long sourceHigh = ipv6.sourceHigh();
            final long sourceLow = ipv6.sourceLow();
            final long destinationHigh = ipv6.destinationHigh();
            final long destinationLow = ipv6.destinationLow();
            if (flowStripe != null)
            {
                flowStripe.packet(frame.length(), flowPort(source, destination));
            }
            int tracked = connections.trackV6(network.vni(), protocol, sourceHigh, sourceLow, destinationHigh,
                destinationLow, sourcePort, destinationPort, tcpFlags, nowNs, false, flowStripe);
            if (tracked == ConnectionTable.DENIED && egress6(source, protocol, destinationHigh, destinationLow, policyPort) &&
                ingress6(destination, protocol, sourceHigh, sourceLow, policyPort))
            {
                tracked = connections.trackV6(network.vni(), protocol, sourceHigh, sourceLow, destinationHigh,
                    destinationLow, sourcePort, destinationPort, tcpFlags, nowNs, true, flowStripe);
            }
            verdict = tracked;
            if (flows != null && (verdict == ConnectionTable.CREATED || verdict == ConnectionTable.DENIED))
            {
                logFlow(verdict, network.vni(), protocol, true, sourceHigh, sourceLow, destinationHigh, destinationLow,
                    sourcePort, destinationPort, flowPort(source, destination), nowNs, frame.length());
            }
        }
        switch (verdict)
        {
            case ConnectionTable.ESTABLISHED, ConnectionTable.REPLY ->
            {
                return true;
            }
            case ConnectionTable.CREATED ->
            {
                counters.increment(WorkerCounters.FLOWS_CREATED);
                return true;
            }
            case ConnectionTable.FULL -> reasons[i] = DropReason.CONNTRACK_FULL.ordinal();
            case ConnectionTable.MISS_INVALID -> reasons[i] = DropReason.CONNTRACK_INVALID.ordinal();
            default -> reasons[i] = DropReason.ACL_DENY.ordinal();
        }
        return false;
    }

    /** The vNIC port a flow is logged under: the source's when local, else the destination's, else -1. */
    private static int flowPort(final PortEntry source, final PortEntry destination)
    {
        return source != null ? source.id() : destination != null ? destination.id() : -1;
    }

    private void logFlow(
        final int verdict, final int network, final int protocol, final boolean ipv6, final long sourceHigh, final long sourceLow,
        final long destinationHigh, final long destinationLow, final int sourcePort, final int destinationPort, final int port,
        final long nowNs, final int bytes)
    {
        if (verdict == ConnectionTable.CREATED)
        {
            flows.started(network, protocol, ipv6, sourceHigh, sourceLow, destinationHigh, destinationLow, sourcePort,
                destinationPort, port, nowNs, bytes);
        }
        else
        {
            flows.rejected(network, protocol, ipv6, sourceHigh, sourceLow, destinationHigh, destinationLow, sourcePort,
                destinationPort, port, nowNs, bytes);
        }
    }

    /**
     * A sender with checksum offload (a kernel VXLAN device over veth, a TAP with offloads) may leave
     * the inner TCP/UDP checksum partial: the field holds only the folded pseudo-header sum, to be
     * finished by hardware that is not there. A VM port without offloads needs a complete checksum, so
     * frames from the overlay get it completed here when the field looks partial. Recomputing is safe
     * even when a complete checksum happens to equal that value: it yields the same correct value.
     */
    private void completePartialChecksum(final MemorySegment segment, final FrameLayout layout)
    {
        final int protocol = layout.l4Protocol();
        if ((protocol != IpProtocol.TCP && protocol != IpProtocol.UDP) || layout.l4Offset() < 0 ||
            (layout.flags() & FrameLayout.FLAG_FRAGMENT) != 0)
        {
            return;
        }
        final int l4Offset = layout.l4Offset();
        final int length = layout.l4Length();
        final long pseudoSum;
        if (layout.l3Type() == FrameLayout.L3_IPV4)
        {
            ipv4.wrap(segment, layout.l3Offset());
            pseudoSum = Checksums.pseudoHeaderSumIpv4(ipv4.source(), ipv4.destination(), protocol, length);
        }
        else
        {
            pseudoSum = Checksums.pseudoHeaderSumIpv6(segment, layout.l3Offset() + Ipv6Flyweight.SOURCE_OFFSET, protocol, length);
        }
        final int checksumOffset = l4Offset + (protocol == IpProtocol.TCP ? TcpFlyweight.CHECKSUM_OFFSET : 6);
        final int field = segment.get(Ipv4Flyweight.U16, checksumOffset) & 0xFFFF;
        if (field == 0 && protocol == IpProtocol.UDP)
        {
            return;
        }
        if (field != Checksums.fold(pseudoSum) && field != Checksums.fold(pseudoSum - length))
        {
            return;
        }
        segment.set(Ipv4Flyweight.U16, checksumOffset, (short)0);
        int checksum = ~Checksums.fold(Checksums.sum(segment, l4Offset, length, pseudoSum)) & 0xFFFF;
        if (checksum == 0 && protocol == IpProtocol.UDP)
        {
            checksum = 0xFFFF;
        }
        segment.set(Ipv4Flyweight.U16, checksumOffset, (short)checksum);
        counters.increment(WorkerCounters.CHECKSUMS_COMPLETED);
    }

    /** A port that is not local (null: the overlay side) is judged by its own device. */
    private static boolean untracked(final PortEntry port)
    {
        return port == null || port.policy().untracked();
    }

    private static boolean egress4(final PortEntry source, final int protocol, final int remote, final int port)
    {
        return source == null || source.policy().allowsEgressV4(protocol, remote, port);
    }

    private static boolean ingress4(final PortEntry destination, final int protocol, final int remote, final int port)
    {
        return destination == null || destination.policy().allowsIngressV4(protocol, remote, port);
    }

    private static boolean egress6(final PortEntry source, final int protocol, final long high, final long low, final int port)
    {
        return source == null || source.policy().allowsEgressV6(protocol, high, low, port);
    }

    private static boolean ingress6(final PortEntry destination, final int protocol, final long high, final long low, final int port)
    {
        final CompiledPolicy policy = destination == null ? null : destination.policy();
        return policy == null || policy.allowsIngressV6(protocol, high, low, port);
    }

    /**
     * Cross-device anti-spoofing: the inner source of an overlay frame must be located at the peer
     * that sent it. A switched frame's source MAC must be a MAC of that peer; a routed frame (source
     * MAC = the gateway MAC, the peer routed it) must have a source IP that this network places at
     * that peer, as a neighbour or through a route.
     */
    private boolean locatedAtPeer(
        final MemorySegment segment, final FrameLayout layout, final NetworkTable network, final int peerLocation)
    {
        final long sourceMac = layout.sourceMac();
        if (sourceMac != network.gatewayMac())
        {
            final int slot = network.macs().find(sourceMac, 0);
            return slot >= 0 && network.macs().location(slot) == peerLocation;
        }
        if (layout.l3Type() == FrameLayout.L3_IPV4)
        {
            ipv4.wrap(segment, layout.l3Offset());
            final int address = ipv4.source();
            final int slot = network.neighbors4().find(address & 0xFFFF_FFFFL, 0);
            if (slot >= 0)
            {
                return network.neighbors4().location(slot) == peerLocation;
            }
            final int hop = network.route4(address);
            return hop >= 0 && hopReaches(network, hop, peerLocation);
        }
        if (layout.l3Type() == FrameLayout.L3_IPV6)
        {
            ipv6.wrap(segment, layout.l3Offset());
            final long high = ipv6.sourceHigh();
            final long low = ipv6.sourceLow();
            final int slot = network.neighbors6().find(high, low);
            if (slot >= 0)
            {
                return network.neighbors6().location(slot) == peerLocation;
            }
            final int hop = network.route6(high, low);
            return hop >= 0 && hopReaches(network, hop, peerLocation);
        }
        return false;
    }

    private static boolean hopReaches(final NetworkTable network, final int hop, final int location)
    {
        return switch (network.hopKind(hop))
        {
            case NetworkTable.HOP_LOCATION -> network.hopLocation(hop) == location;
            case NetworkTable.HOP_ECMP -> network.ecmpContains(hop, location);
            default -> false;
        };
    }

    private boolean sourceAddressAllowed(final MemorySegment segment, final FrameLayout layout, final PortEntry source)
    {
        if (layout.l3Type() == FrameLayout.L3_IPV4)
        {
            ipv4.wrap(segment, layout.l3Offset());
            return source.hasIpv4() && ipv4.source() == source.ipv4();
        }
        if (layout.l3Type() == FrameLayout.L3_IPV6)
        {
            ipv6.wrap(segment, layout.l3Offset());
            final long high = ipv6.sourceHigh();
            final long low = ipv6.sourceLow();
            if (source.hasIpv6() && high == source.ipv6High() && low == source.ipv6Low())
            {
                return true;
            }
            // Link-local (fe80::/64) for neighbour discovery, and :: for duplicate address detection.
            return (high == 0xFE80_0000_0000_0000L) || (high == 0 && low == 0 &&
                layout.l4Protocol() == IpProtocol.ICMPV6);
        }
        return true;
    }

    private void answerArp(
        final int i, final Frame frame, final FrameLayout layout, final NetworkTable network, final PortEntry source,
        final int ingressLocation)
    {
        final MemorySegment segment = frame.segment();
        arp.wrap(segment, layout.l3Offset());
        if (arp.operation() != ArpFlyweight.OPERATION_REQUEST)
        {
            reasons[i] = DropReason.ARP_IGNORED.ordinal();
            return;
        }
        final int senderIp = arp.senderIp();
        if (source != null && source.antiSpoof() &&
            (arp.senderMac() != source.mac() || (senderIp != 0 && (!source.hasIpv4() || senderIp != source.ipv4()))))
        {
            reasons[i] = DropReason.SPOOFED_IP.ordinal();
            return;
        }
        final int target = arp.targetIp();
        final long answer;
        if (network.isGateway4(target))
        {
            answer = network.gatewayMac();
        }
        else
        {
            final KeyedTable neighbors = network.neighbors4();
            final int slot = neighbors.find(target & 0xFFFF_FFFFL, 0);
            if (slot < 0 || target == senderIp)
            {
                reasons[i] = senderIp == target ? DropReason.ARP_IGNORED.ordinal() : DropReason.UNKNOWN_TARGET.ordinal();
                return;
            }
            answer = neighbors.mac(slot);
        }
        final long requester = arp.senderMac();
        arp.operation(ArpFlyweight.OPERATION_REPLY).targetMac(requester).targetIp(senderIp).senderMac(answer).senderIp(target);
        ethernet.wrap(segment, frame.start());
        ethernet.destination(requester).source(answer);
        counters.increment(WorkerCounters.LOCAL_ANSWERS);
        output(i, frame, network, ingressLocation);
    }

    private void answerNeighborSolicitation(
        final int i, final Frame frame, final FrameLayout layout, final NetworkTable network, final int ingressLocation)
    {
        final MemorySegment segment = frame.segment();
        final int icmpOffset = layout.l4Offset();
        if (layout.l4Length() < IcmpFlyweight.HEADER_LENGTH + 16)
        {
            reasons[i] = DropReason.TRUNCATED.ordinal();
            return;
        }
        final long targetHigh = segment.get(IcmpFlyweight.U64, icmpOffset + 8);
        final long targetLow = segment.get(IcmpFlyweight.U64, icmpOffset + 16);
        final long answer;
        final boolean router = network.isGateway6(targetHigh, targetLow);
        if (router)
        {
            answer = network.gatewayMac();
        }
        else
        {
            final KeyedTable neighbors = network.neighbors6();
            final int slot = neighbors.find(targetHigh, targetLow);
            if (slot < 0)
            {
                reasons[i] = DropReason.UNKNOWN_TARGET.ordinal();
                return;
            }
            answer = neighbors.mac(slot);
        }
        ipv6.wrap(segment, layout.l3Offset());
        final long requesterHigh = ipv6.sourceHigh();
        final long requesterLow = ipv6.sourceLow();
        final boolean unspecified = requesterHigh == 0 && requesterLow == 0;
        ethernet.wrap(segment, frame.start());
        final long requesterMac = layout.sourceMac();
        // Rebuild in place as a neighbour advertisement: Ethernet, IPv6 (40), ICMPv6 NA (24) + target link-layer option (8).
        final int ip = frame.start() + EthernetFlyweight.HEADER_LENGTH;
        ethernet.destination(unspecified ? 0x3333_0000_0001L : requesterMac).source(answer)
            .etherType(EthernetFlyweight.ETHER_TYPE_IPV6);
        ipv6.wrap(segment, ip);
        ipv6.versionClassFlow(0, 0).payloadLength(32).nextHeader(IpProtocol.ICMPV6).hopLimit(255)
            .source(targetHigh, targetLow);
        if (unspecified)
        {
            ipv6.destination(0xFF02_0000_0000_0000L, 1L);
        }
        else
        {
            ipv6.destination(requesterHigh, requesterLow);
        }
        final int na = ip + Ipv6Flyweight.HEADER_LENGTH;
        icmp.wrap(segment, na);
        icmp.type(IcmpFlyweight.V6_NEIGHBOR_ADVERTISEMENT).code(0);
        final int flags = (router ? 0x80 : 0) | (unspecified ? 0 : 0x40) | 0x20;
        segment.set(IcmpFlyweight.U32, na + 4, flags << 24);
        segment.set(IcmpFlyweight.U64, na + 8, targetHigh);
        segment.set(IcmpFlyweight.U64, na + 16, targetLow);
        segment.set(ValueLayout.JAVA_BYTE, na + 24, (byte)2);
        segment.set(ValueLayout.JAVA_BYTE, na + 25, (byte)1);
        segment.set(IcmpFlyweight.U16, na + 26, (short)(answer >>> 32));
        segment.set(IcmpFlyweight.U32, na + 28, (int)answer);
        icmp.updateChecksumV6(ip, 32);
        frame.length(EthernetFlyweight.HEADER_LENGTH + Ipv6Flyweight.HEADER_LENGTH + 32);
        counters.increment(WorkerCounters.LOCAL_ANSWERS);
        output(i, frame, network, ingressLocation);
    }

    /**
     * Answers a router solicitation with a router advertisement (RFC 4861 section 4.2) from the gateway's
     * link-local address: the network MTU, and every IPv6 subnet as a prefix with the on-link flag and,
     * for /64 prefixes, the autonomous flag (SLAAC: the guest forms its address from its MAC).
     */
    private void answerRouterSolicitation(
        final int i, final Frame frame, final FrameLayout layout, final NetworkTable network, final int ingressLocation)
    {
        final int prefixes = network.gateway6Count();
        if (prefixes == 0)
        {
            reasons[i] = DropReason.UNHANDLED_BROADCAST.ordinal();
            return;
        }
        final MemorySegment segment = frame.segment();
        ipv6.wrap(segment, layout.l3Offset());
        final long requesterHigh = ipv6.sourceHigh();
        final long requesterLow = ipv6.sourceLow();
        final boolean unspecified = requesterHigh == 0 && requesterLow == 0;
        final long requesterMac = layout.sourceMac();
        final int ip = frame.start() + EthernetFlyweight.HEADER_LENGTH;
        final int icmpLength = 16 + 8 + 8 + 32 * Math.min(prefixes, 8);
        ethernet.wrap(segment, frame.start());
        ethernet.destination(unspecified ? 0x3333_0000_0001L : requesterMac).source(network.gatewayMac())
            .etherType(EthernetFlyweight.ETHER_TYPE_IPV6);
        ipv6.wrap(segment, ip);
        ipv6.versionClassFlow(0, 0).payloadLength(icmpLength).nextHeader(IpProtocol.ICMPV6).hopLimit(255)
            .source(NetworkTable.linkLocalHigh(), network.gatewayLinkLocalLow());
        if (unspecified)
        {
            ipv6.destination(0xFF02_0000_0000_0000L, 1L);
        }
        else
        {
            ipv6.destination(requesterHigh, requesterLow);
        }
        final int ra = ip + Ipv6Flyweight.HEADER_LENGTH;
        icmp.wrap(segment, ra);
        icmp.type(IcmpFlyweight.V6_ROUTER_ADVERTISEMENT).code(0);
        segment.set(ValueLayout.JAVA_BYTE, ra + 4, (byte)DEFAULT_TTL);
        segment.set(ValueLayout.JAVA_BYTE, ra + 5, (byte)0);
        segment.set(IcmpFlyweight.U16, ra + 6, (short)1800);
        segment.set(IcmpFlyweight.U64, ra + 8, 0L);
        int option = ra + 16;
        final long gatewayMac = network.gatewayMac();
        segment.set(ValueLayout.JAVA_BYTE, option, (byte)1);
        segment.set(ValueLayout.JAVA_BYTE, option + 1, (byte)1);
        segment.set(IcmpFlyweight.U16, option + 2, (short)(gatewayMac >>> 32));
        segment.set(IcmpFlyweight.U32, option + 4, (int)gatewayMac);
        option += 8;
        segment.set(ValueLayout.JAVA_BYTE, option, (byte)5);
        segment.set(ValueLayout.JAVA_BYTE, option + 1, (byte)1);
        segment.set(IcmpFlyweight.U16, option + 2, (short)0);
        segment.set(IcmpFlyweight.U32, option + 4, network.mtuBytes());
        option += 8;
        for (int p = 0; p < Math.min(prefixes, 8); p++)
        {
            final int length = network.prefixLength6(p);
            final long maskHigh = length == 0 ? 0 : length >= 64 ? -1L : -1L << (64 - length);
            final long maskLow = length <= 64 ? 0 : length == 128 ? -1L : -1L << (128 - length);
            segment.set(ValueLayout.JAVA_BYTE, option, (byte)3);
            segment.set(ValueLayout.JAVA_BYTE, option + 1, (byte)4);
            segment.set(ValueLayout.JAVA_BYTE, option + 2, (byte)length);
            segment.set(ValueLayout.JAVA_BYTE, option + 3, (byte)(length == 64 ? 0xC0 : 0x80));
            segment.set(IcmpFlyweight.U32, option + 4, 86_400);
            segment.set(IcmpFlyweight.U32, option + 8, 14_400);
            segment.set(IcmpFlyweight.U32, option + 12, 0);
            segment.set(IcmpFlyweight.U64, option + 16, network.gateway6High(p) & maskHigh);
            segment.set(IcmpFlyweight.U64, option + 24, network.gateway6Low(p) & maskLow);
            option += 32;
        }
        icmp.updateChecksumV6(ip, icmpLength);
        frame.length(EthernetFlyweight.HEADER_LENGTH + Ipv6Flyweight.HEADER_LENGTH + icmpLength);
        counters.increment(WorkerCounters.LOCAL_ANSWERS);
        output(i, frame, network, ingressLocation);
    }

    private void answerGatewayEcho(
        final int i, final Frame frame, final FrameLayout layout, final NetworkTable network, final int ingressLocation)
    {
        final MemorySegment segment = frame.segment();
        final boolean v4 = layout.l3Type() == FrameLayout.L3_IPV4;
        final int echoRequest = v4 ? IcmpFlyweight.V4_ECHO_REQUEST : IcmpFlyweight.V6_ECHO_REQUEST;
        if (layout.l4Protocol() != (v4 ? IpProtocol.ICMP : IpProtocol.ICMPV6) || layout.l4Offset() < 0 ||
            (layout.destinationPort() >>> 8) != echoRequest || (layout.flags() & FrameLayout.FLAG_FRAGMENT) != 0)
        {
            reasons[i] = DropReason.TO_GATEWAY.ordinal();
            return;
        }
        // The reply's checksum is the request's, updated: a request whose checksum is wrong is dropped,
        // as a host drops it, instead of being answered with a wrong checksum of its own.
        icmp.wrap(segment, layout.l4Offset());
        if (!frame.checksumVerified() && (layout.flags() & FrameLayout.FLAG_L4_CHECKSUM_VERIFIED) == 0)
        {
            final int icmpLength = layout.l3Offset() + layout.l3Length() - layout.l4Offset();
            if (icmpLength < 8 || !(v4 ? icmp.isChecksumValidV4(icmpLength) : icmp.isChecksumValidV6(layout.l3Offset(), icmpLength)))
            {
                reasons[i] = DropReason.BAD_CHECKSUM.ordinal();
                return;
            }
        }
        ethernet.wrap(segment, frame.start());
        final long requesterMac = ethernet.source();
        ethernet.destination(requesterMac).source(network.gatewayMac());
        final int oldWord = icmp.type() << 8 | icmp.code();
        if (v4)
        {
            ipv4.wrap(segment, layout.l3Offset());
            final int requester = ipv4.source();
            ipv4.source(ipv4.destination()).destination(requester).ttl(DEFAULT_TTL).updateChecksum();
            icmp.type(IcmpFlyweight.V4_ECHO_REPLY);
            icmp.checksum(Checksums.update16(icmp.checksum(), oldWord, IcmpFlyweight.V4_ECHO_REPLY << 8 | icmp.code()));
        }
        else
        {
            ipv6.wrap(segment, layout.l3Offset());
            final long high = ipv6.sourceHigh();
            final long low = ipv6.sourceLow();
            ipv6.source(ipv6.destinationHigh(), ipv6.destinationLow()).destination(high, low).hopLimit(DEFAULT_TTL);
            icmp.type(IcmpFlyweight.V6_ECHO_REPLY);
            // The pseudo-header holds the same two addresses (swapped): only the type word changes the sum.
            icmp.checksum(Checksums.update16(icmp.checksum(), oldWord, IcmpFlyweight.V6_ECHO_REPLY << 8 | icmp.code()));
        }
        counters.increment(WorkerCounters.LOCAL_ANSWERS);
        output(i, frame, network, ingressLocation);
    }

    private void sendIcmpError(
        final int i, final Frame frame, final FrameLayout layout, final NetworkTable network, final int type, final int code,
        final int mtu)
    {
        // Never answer an ICMP error with an ICMP error (RFC 1122 3.2.2), nor a later fragment.
        if (layout.l4Offset() >= 0 && (layout.l4Protocol() == IpProtocol.ICMP || layout.l4Protocol() == IpProtocol.ICMPV6))
        {
            final int icmpType = layout.destinationPort() >>> 8;
            final boolean error = layout.l4Protocol() == IpProtocol.ICMP ?
                icmpType != IcmpFlyweight.V4_ECHO_REQUEST && icmpType != IcmpFlyweight.V4_ECHO_REPLY : icmpType < 128;
            if (error)
            {
                return;
            }
        }
        if ((layout.flags() & FrameLayout.FLAG_LATER_FRAGMENT) != 0)
        {
            return;
        }
        final int ingressLocation = frame.port() >= 0 ? frame.port() : NO_OUTPUT;
        final Frame out = pool.acquire();
        if (out == null)
        {
            counters.drop(DropReason.ICMP_NOT_SENT.ordinal(), -1);
            return;
        }
        if (layout.l3Type() == FrameLayout.L3_IPV4)
        {
            if (network.gateway4Count() == 0)
            {
                out.release();
                counters.drop(DropReason.ICMP_NOT_SENT.ordinal(), -1);
                return;
            }
            icmpWriter.writeV4(frame, layout.l3Offset(), layout.l3Length(), out, network.gatewayMac(),
                network.gateway4(0), type, code, mtu);
        }
        else
        {
            if (network.gateway6Count() == 0)
            {
                out.release();
                counters.drop(DropReason.ICMP_NOT_SENT.ordinal(), -1);
                return;
            }
            icmpWriter.writeV6(frame, layout.l3Offset(), layout.l3Length(), out, network.gatewayMac(),
                network.gateway6High(0), network.gateway6Low(0), type, code, mtu);
        }
        counters.increment(WorkerCounters.ICMP_ERRORS_SENT);
        out.vni(network.vni()).peerDevice(frame.peerDevice());
        final int location = frame.peerDevice() >= 0 ? NetworkTable.remoteLocation(frame.peerDevice()) : ingressLocation;
        if (!sendNow(out, network, location))
        {
            counters.drop(DropReason.ICMP_NOT_SENT.ordinal(), -1);
        }
    }

    private boolean sendNow(final Frame out, final NetworkTable network, final int location)
    {
        final Port port = location >= 0 ? dataPlane.port(location) : location == NO_OUTPUT ? null : dataPlane.overlay();
        if (port == null)
        {
            out.release();
            return false;
        }
        if (location < 0)
        {
            out.peerDevice(NetworkTable.remoteDevice(location)).vni(network.vni());
        }
        final int bytes = out.length();
        batch[0] = out;
        if (capture != null && capture.portId() == port.id())
        {
            capture.copy(id, batch, 1, PortCapture.SENT, vectorNs);
        }
        final boolean sent = port.transmit(batch, 1) == 1;
        batch[0] = null;
        if (!sent)
        {
            out.release();
            return false;
        }
        countTx(port.id(), network.counterSlot(), bytes);
        return true;
    }

    private void followFirstFragment(
        final int i, final Frame frame, final FrameLayout layout, final NetworkTable network, final long nowNs)
    {
        final int slot = fragmentSlot(frame.segment(), layout, network);
        if (fragmentDeadlines[slot] < nowNs || !fragmentKeyMatches(slot))
        {
            reasons[i] = DropReason.FRAGMENT_NO_FLOW.ordinal();
            return;
        }
        final int location = fragmentOutputs[slot];
        final long mac = fragmentMacs[slot];
        final MemorySegment segment = frame.segment();
        if (mac != 0)
        {
            if (!checkRoutedHop(i, frame, layout, network, frame.port()))
            {
                return;
            }
            ethernet.wrap(segment, frame.start());
            ethernet.destination(mac).source(network.gatewayMac());
            ipv4.wrap(segment, layout.l3Offset());
            ipv4.decrementTtl();
        }
        output(i, frame, network, location);
    }

    private long fragmentKey0;
    private long fragmentKey1;

    private int fragmentSlot(final MemorySegment segment, final FrameLayout layout, final NetworkTable network)
    {
        ipv4.wrap(segment, layout.l3Offset());
        fragmentKey0 = (ipv4.source() & 0xFFFF_FFFFL) << 32 | (ipv4.destination() & 0xFFFF_FFFFL);
        fragmentKey1 = (long)network.vni() << 32 | (long)ipv4.identification() << 8 | ipv4.protocol();
        long h = fragmentKey0 * 0x9E37_79B9_7F4A_7C15L ^ fragmentKey1 * 0xC2B2_AE3D_27D4_EB4FL;
        h ^= h >>> 29;
        return (int)h & (FRAGMENT_SLOTS - 1);
    }

    private boolean fragmentKeyMatches(final int slot)
    {
        return fragmentKeys[slot * 2] == fragmentKey0 && fragmentKeys[slot * 2 + 1] == fragmentKey1;
    }

    private void rememberFirstFragment(
        final MemorySegment segment, final FrameLayout layout, final NetworkTable network, final int location,
        final long mac, final long nowNs)
    {
        final int slot = fragmentSlot(segment, layout, network);
        fragmentKeys[slot * 2] = fragmentKey0;
        fragmentKeys[slot * 2 + 1] = fragmentKey1;
        fragmentDeadlines[slot] = nowNs + FRAGMENT_TIMEOUT_NS;
        fragmentOutputs[slot] = location;
        fragmentMacs[slot] = mac;
    }

    private static int flowHash(final MemorySegment segment, final FrameLayout layout)
    {
        long h;
        if (layout.l3Type() == FrameLayout.L3_IPV4)
        {
            h = segment.get(Ipv4Flyweight.U64, layout.l3Offset() + Ipv4Flyweight.SOURCE_OFFSET);
        }
        else
        {
            final long at = layout.l3Offset() + Ipv6Flyweight.SOURCE_OFFSET;
            h = segment.get(Ipv6Flyweight.U64, at) ^ Long.rotateLeft(segment.get(Ipv6Flyweight.U64, at + 8), 17) ^
                Long.rotateLeft(segment.get(Ipv6Flyweight.U64, at + 16), 31) ^
                Long.rotateLeft(segment.get(Ipv6Flyweight.U64, at + 24), 47);
        }
        h ^= (long)layout.l4Protocol() << 32 | (layout.sourcePort() & 0xFFFFL) << 16 | (layout.destinationPort() & 0xFFFFL);
        h *= 0xFF51_AFD7_ED55_8CCDL;
        h ^= h >>> 33;
        h *= 0xC4CE_B9FE_1A85_EC53L;
        h ^= h >>> 33;
        return (int)h;
    }

    private void output(final int i, final Frame frame, final NetworkTable network, final int location)
    {
        outputs[i] = location;
        frame.vni(network.vni());
        if (location < 0)
        {
            frame.peerDevice(NetworkTable.remoteDevice(location));
        }
    }

    /**
     * Counts {@code count} frames sent on one port, whose network slots and lengths are
     * {@code slots[0..count)} and {@code bytes[0..count)}: each counter is written once per batch (per
     * run of one network), not once per frame.
     */
    private void countTx(final int portId, final int[] slots, final int[] bytes, final int count)
    {
        long total = 0;
        int runSlot = slots[0];
        long runPackets = 0;
        long runBytes = 0;
        for (int k = 0; k < count; k++)
        {
            final int length = bytes[k];
            total += length;
            if (slots[k] != runSlot)
            {
                countNetworkTx(runSlot, runPackets, runBytes);
                runSlot = slots[k];
                runPackets = 0;
                runBytes = 0;
            }
            runPackets++;
            runBytes += length;
        }
        countNetworkTx(runSlot, runPackets, runBytes);
        counters.add(WorkerCounters.TX_FRAMES, count);
        counters.add(WorkerCounters.PORT_TX_PACKETS + portId, count);
        counters.add(WorkerCounters.PORT_TX_BYTES + portId, total);
    }

    private void countNetworkTx(final int slot, final long packets, final long bytes)
    {
        if (slot >= 0 && packets > 0)
        {
            counters.add(WorkerCounters.NETWORK_TX_PACKETS + slot, packets);
            counters.add(WorkerCounters.NETWORK_TX_BYTES + slot, bytes);
        }
    }

    private void countTx(final int portId, final int networkSlot, final int bytes)
    {
        counters.increment(WorkerCounters.TX_FRAMES);
        counters.increment(WorkerCounters.PORT_TX_PACKETS + portId);
        counters.add(WorkerCounters.PORT_TX_BYTES + portId, bytes);
        if (networkSlot >= 0)
        {
            counters.increment(WorkerCounters.NETWORK_TX_PACKETS + networkSlot);
            counters.add(WorkerCounters.NETWORK_TX_BYTES + networkSlot, bytes);
        }
    }

    private void enqueue(final int count, final int ingressId)
    {
        for (int i = 0; i < count; i++)
        {
            if (reasons[i] != 0 || outputs[i] == NO_OUTPUT)
            {
                if (reasons[i] == 0)
                {
                    reasons[i] = DropReason.NO_ROUTE.ordinal();
                }
                counters.drop(reasons[i], ingressId);
                frames[i].release();
                frames[i] = null;
            }
        }
        for (int i = 0; i < count; i++)
        {
            if (frames[i] == null)
            {
                continue;
            }
            final int location = outputs[i];
            int size = 0;
            for (int j = i; j < count; j++)
            {
                if (frames[j] != null && (outputs[j] == location || (location < 0 && outputs[j] < 0 && outputs[j] != NO_OUTPUT)))
                {
                    batchSlots[size] = networkSlots[j];
                    batchBytes[size] = frames[j].length();
                    batch[size++] = frames[j];
                    frames[j] = null;
                }
            }
            final Port port = location >= 0 ? dataPlane.port(location) : dataPlane.overlay();
            if (port != null && needsOffloadWork(port, size))
            {
                transmitAdapted(port, size, ingressId);
                continue;
            }
            if (port != null && capture != null && capture.portId() == port.id())
            {
                capture.copy(id, batch, size, PortCapture.SENT, vectorNs);
            }
            final int accepted = port == null ? 0 : port.transmit(batch, size);
            if (accepted > 0)
            {
                countTx(port.id(), batchSlots, batchBytes, accepted);
            }
            for (int k = accepted; k < size; k++)
            {
                counters.drop(port == null ? DropReason.UNKNOWN_PORT.ordinal() : DropReason.TX_QUEUE_FULL.ordinal(), ingressId);
                batch[k].release();
            }
            for (int k = 0; k < size; k++)
            {
                batch[k] = null;
            }
        }
    }

    // ---- Offloads: what a port does not take is done here, once per output batch. ----

    /**
     * @return true when {@code batch[0..size)} needs offload work before {@code port} takes it: a
     *     super-frame or a partial checksum the port does not take, or segments from the overlay to
     *     coalesce for a port that takes super-frames.
     */
    private boolean needsOffloadWork(final Port port, final int size)
    {
        final int offloads = port.txOffloads();
        if (coalesces(offloads, size))
        {
            return true;
        }
        for (int k = 0; k < size; k++)
        {
            final Frame frame = batch[k];
            if ((frame.isSuperFrame() && (offloads & Port.OFFLOAD_SUPER_FRAMES) == 0) ||
                (frame.checksumPartial() && (offloads & Port.OFFLOAD_PARTIAL_CHECKSUM) == 0))
            {
                return true;
            }
        }
        return false;
    }

    private boolean coalesces(final int offloads, final int size)
    {
        return coalescer != null && vectorFromOverlay && !vectorCoalesced && size > 1 &&
            (offloads & (Port.OFFLOAD_SUPER_FRAMES | Port.OFFLOAD_PARTIAL_CHECKSUM)) ==
                (Port.OFFLOAD_SUPER_FRAMES | Port.OFFLOAD_PARTIAL_CHECKSUM);
    }

    /**
     * Sends {@code batch[0..size)} to {@code port} in the form it takes: super-frames cut into segments
     * (software TSO/USO, checksums complete unless the port takes partial ones; payloads left in the
     * super-frame for a port that takes chained frames), partial checksums
     * completed, and, for a port that takes super-frames, in-order TCP segments from the overlay merged
     * (software GRO, flushed at the end of the batch). Every frame ends sent or counted as a drop.
     */
    private void transmitAdapted(final Port port, final int size, final int ingressId)
    {
        final int offloads = port.txOffloads();
        final boolean takesSuperFrames = (offloads & Port.OFFLOAD_SUPER_FRAMES) != 0;
        final boolean takesPartial = (offloads & Port.OFFLOAD_PARTIAL_CHECKSUM) != 0;
        final boolean chained = (offloads & Port.OFFLOAD_CHAINED) != 0;
        final boolean coalesce = coalesces(offloads, size);
        final long mergedBefore = coalesce ? coalescer.mergedCount() : 0;
        final long superBefore = coalesce ? coalescer.superFrameCount() : 0;
        int n = 0;
        for (int k = 0; k < size; k++)
        {
            final Frame frame = batch[k];
            final int slot = batchSlots[k];
            batch[k] = null;
            if (frame.isSuperFrame() && !takesSuperFrames)
            {
                n = sendAdapted(port, n, ingressId);
                final int count = segmenter.segment(frame, pool, !takesPartial, chained, segments, 0);
                frame.release();
                if (count < 0)
                {
                    counters.drop(-count, ingressId);
                    continue;
                }
                counters.increment(WorkerCounters.SUPER_FRAMES_SEGMENTED);
                counters.add(WorkerCounters.SEGMENTS_BUILT, count);
                for (int j = 0; j < count; j++)
                {
                    adapted[n] = segments[j];
                    adaptedSlots[n++] = slot;
                    segments[j] = null;
                    if (n == BURST)
                    {
                        n = sendAdapted(port, n, ingressId);
                    }
                }
                continue;
            }
            if (frame.checksumPartial() && !takesPartial)
            {
                if (!ChecksumOffload.complete(frame))
                {
                    counters.drop(DropReason.BAD_CHECKSUM.ordinal(), ingressId);
                    frame.release();
                    continue;
                }
                counters.increment(WorkerCounters.CHECKSUMS_COMPLETED);
            }
            if (n + 2 > BURST)
            {
                n = sendAdapted(port, n, ingressId);
            }
            final int before = n;
            if (coalesce)
            {
                n = coalescer.add(frame, adapted, n);
            }
            else
            {
                adapted[n++] = frame;
            }
            for (int j = before; j < n; j++)
            {
                adaptedSlots[j] = slot;
            }
        }
        if (coalesce)
        {
            if (n + 1 > BURST)
            {
                n = sendAdapted(port, n, ingressId);
            }
            final int before = n;
            n = coalescer.flush(adapted, n);
            if (n > before)
            {
                adaptedSlots[before] = before > 0 ? adaptedSlots[before - 1] : batchSlots[0];
            }
            counters.add(WorkerCounters.SEGMENTS_COALESCED, coalescer.mergedCount() - mergedBefore);
            counters.add(WorkerCounters.SUPER_FRAMES_COALESCED, coalescer.superFrameCount() - superBefore);
        }
        sendAdapted(port, n, ingressId);
    }

    /**
     * Transmits {@code adapted[0..n)}, counts what was taken and drops the rest.
     *
     * @return 0 (the next free index of {@code adapted}).
     */
    private int sendAdapted(final Port port, final int n, final int ingressId)
    {
        if (n == 0)
        {
            return 0;
        }
        for (int k = 0; k < n; k++)
        {
            adaptedBytes[k] = adapted[k].wireLength();
        }
        if (capture != null && capture.portId() == port.id())
        {
            capture.copy(id, adapted, n, PortCapture.SENT, vectorNs);
        }
        final int accepted = port.transmit(adapted, n);
        if (accepted > 0)
        {
            countTx(port.id(), adaptedSlots, adaptedBytes, accepted);
        }
        for (int k = accepted; k < n; k++)
        {
            counters.drop(DropReason.TX_QUEUE_FULL.ordinal(), ingressId);
            adapted[k].release();
        }
        for (int k = 0; k < n; k++)
        {
            adapted[k] = null;
        }
        return 0;
    }

    /**
     * @return true when every segment of a super-frame (IP and L4 headers plus {@code gso_size}) fits the MTU.
     */
    private static boolean segmentsFit(final Frame frame, final FrameLayout layout, final int mtu)
    {
        return frame.isSuperFrame() && layout.l4Offset() >= 0 &&
            layout.l4Offset() - layout.l3Offset() + layout.l4HeaderLength() + frame.gsoSize() <= mtu;
    }
}
