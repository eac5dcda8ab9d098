package io.vsnic.dataplane.substrate;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.function.Supplier;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.DatagramPacket;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.channel.unix.UnixChannel;
import io.netty.channel.unix.UnixChannelOption;
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringChannelOption;
import io.netty.channel.uring.IoUringDatagramChannel;
import io.netty.channel.uring.IoUringIoHandler;
import io.vsnic.crypto.wireguard.WireguardMessages;
import io.vsnic.dataplane.buffer.Frame;
import io.vsnic.dataplane.buffer.FramePool;
import io.vsnic.dataplane.buffer.IntMpmcQueue;
import io.vsnic.dataplane.config.Encapsulation;
import io.vsnic.dataplane.config.Encryption;
import io.vsnic.dataplane.nativeio.MessageBatch;
import io.vsnic.dataplane.nativeio.Syscalls;
import io.vsnic.dataplane.offload.ChecksumOffload;
import io.vsnic.dataplane.offload.Coalescer;
import io.vsnic.dataplane.pipeline.Port;
import io.vsnic.dataplane.status.DropReason;
import io.vsnic.dataplane.table.ForwardingState;
import io.vsnic.dataplane.table.PeerEntry;

/**
 * The substrate: UDP sockets (Netty epoll, io_uring or NIO) that carry overlay frames between
 * devices, presented to the data plane as its overlay {@link Port}.
 *
 * <p>Direct path (epoll and io_uring on Linux, the default; {@code -Dvsnic.substrate.direct=false}
 * turns it off): the Netty channels bind and close the Geneve/VXLAN sockets but do not read
 * ({@code AUTO_READ} off). Workers read them themselves, {@code recvmmsg} of up to {@link #DIRECT_BATCH}
 * straight into pool frames kept in reserve (or, with UDP GRO, {@link #GRO_BATCH} messages of up to
 * 64 KiB cut into frames); each datagram's sender must be a configured peer (a small cache from address
 * to peer, allocation only on a miss). With {@link Config#receiveQueues()} = Q each UDP port has Q
 * {@code SO_REUSEPORT} sockets and there are Q receive queues: queue {@code i} reads the {@code i}-th
 * Geneve and VXLAN socket with its own receive state; queue 0 is this port (and also reads the WireGuard
 * socket), queues 1..Q-1 are the receive-only ports of {@link #receiveQueues()}, which the data plane
 * gives to other workers. The kernel picks a socket by hashing the 4-tuple, so the datagrams of one
 * sender address and port stay on one queue, in order. Workers that
 * transmit add the Geneve/VXLAN header in the frame's headroom and send the burst with one
 * {@code sendmmsg} per socket from their own thread, each datagram an iovec into its frame (no copy,
 * no per-packet allocation); with {@link #GSO_PROPERTY} runs of equal-sized datagrams to one peer go
 * as UDP GSO messages. {@link #readinessFds} gives the worker the descriptors to sleep on.
 *
 * <p>Event-loop path (NIO, or the direct path off): Netty event loops read datagrams (epoll:
 * {@code recvmmsg} batches of up to {@link #RECEIVE_BATCH}; several sockets per port with
 * {@code SO_REUSEPORT} when {@link Config#receiveQueues()} &gt; 1); each payload is copied into a pool
 * frame queued, lock-free, for the owning worker; transmit copies each datagram into a pooled
 * direct buffer and queues one write task per batch per socket on the event loop. The WireGuard
 * socket always uses its event loop (handshakes, timers, receive); frames it delivers wake the
 * owning worker through {@link #onReadable}.
 *
 * <p>Outer source port (both paths): plaintext overlay datagrams leave from the source port pool,
 * {@link Config#sourcePorts()} send-only sockets bound to ports in 49152..65535, the socket picked by
 * {@link InnerHeaders#flowHash} of the inner frame, so one inner flow always has one outer source port
 * (in order) and different flows spread over the substrate's ECMP paths and the receivers'
 * {@code SO_REUSEPORT} queues. With no pool ({@code sourcePorts} 0) Geneve peers are sent from the
 * Geneve socket, VXLAN peers from the VXLAN socket. Sealed WireGuard messages always leave from the
 * WireGuard socket (its port is the peers' endpoint); their inner UDP header carries the flow hash.
 *
 * <p>Expected failures are counted by {@link DropReason}, never thrown at the workers.
 */
public final class UdpSubstrate implements Port, AutoCloseable
{
    /** Most datagrams one epoll receive returns. */
    public static final int RECEIVE_BATCH = 32;
    /** Largest datagram accepted (jumbo frame + overlay header + room). */
    public static final int MAX_DATAGRAM_BYTES = 9216;

    /** Socket transport. */
    public enum Transport
    {
        EPOLL, IO_URING, NIO
    }

    /**
     * Substrate configuration.
     *
     * @param bindAddress   local substrate address (literal) to bind, e.g. "0.0.0.0" or "192.0.2.1".
     * @param genevePort    UDP port for Geneve (6081 by default).
     * @param vxlanPort     UDP port for VXLAN peers (4789), or 0 to not open one.
     * @param transport     epoll (default), io_uring or NIO.
     * @param receiveQueues sockets per port with SO_REUSEPORT (epoll/io_uring; NIO uses 1); on the direct path
     *                      each is a receive queue read by its own worker ({@link #receiveQueues()}).
     * @param rxQueueFrames frames that may wait for the worker.
     * @param wireguard     the encrypted substrate (a WireGuard socket for peers with encryption
     *                      wireguard), or null for plaintext peers only.
     * @param sourcePorts   send-only sockets, each bound to its own port in 49152..65535, that plaintext
     *                      overlay datagrams leave from, picked by a hash of the inner flow (the outer
     *                      source port is flow entropy for the substrate's ECMP and the receivers'
     *                      {@code SO_REUSEPORT} queues, RFC 7348 §5, RFC 8926 §3.3); 0 sends from the
     *                      Geneve/VXLAN listening sockets (source port 6081/4789, no entropy).
     * @param interfaceName the network interface every substrate socket is bound to ({@code SO_BINDTODEVICE}:
     *                      overlay traffic leaves and is accepted only there), or null for any; epoll and
     *                      io_uring only.
     */
    public record Config(
        String bindAddress, int genevePort, int vxlanPort, Transport transport, int receiveQueues, int rxQueueFrames,
        WireguardConfig wireguard, int sourcePorts, String interfaceName)
    {
        /** Source ports by default: enough distinct values for ECMP and receive queues, few descriptors. */
        public static final int DEFAULT_SOURCE_PORTS = 16;
        /** Most source ports (each one a socket, and a send batch per worker). */
        public static final int MAX_SOURCE_PORTS = 64;

        /**
         * A plaintext-only substrate.
         */
        public Config(
            final String bindAddress, final int genevePort, final int vxlanPort, final Transport transport, final int receiveQueues,
            final int rxQueueFrames)
        {
            this(bindAddress, genevePort, vxlanPort, transport, receiveQueues, rxQueueFrames, null);
        }

        /**
         * A substrate with {@link #DEFAULT_SOURCE_PORTS} source ports.
         */
        public Config(
            final String bindAddress, final int genevePort, final int vxlanPort, final Transport transport, final int receiveQueues,
            final int rxQueueFrames, final WireguardConfig wireguard)
        {
            this(bindAddress, genevePort, vxlanPort, transport, receiveQueues, rxQueueFrames, wireguard, DEFAULT_SOURCE_PORTS, null);
        }

        public Config
        {
            if (genevePort < 0 || genevePort > 65535 || vxlanPort < 0 || vxlanPort > 65535)
            {
                throw new IllegalArgumentException("substrate ports must be in 0..65535 (0 = ephemeral for geneve, off for vxlan)");
            }
            if (receiveQueues < 1 || receiveQueues > 16)
            {
                throw new IllegalArgumentException("substrate.receiveQueues must be in 1..16: " + receiveQueues);
            }
            if (rxQueueFrames < 64)
            {
                throw new IllegalArgumentException("substrate.rxQueueFrames must be at least 64: " + rxQueueFrames);
            }
            if (transport == null)
            {
                throw new IllegalArgumentException("substrate.transport is required (epoll | io_uring | nio)");
            }
            if (sourcePorts < 0 || sourcePorts > MAX_SOURCE_PORTS)
            {
                throw new IllegalArgumentException("substrate.sourcePorts must be in 0.." + MAX_SOURCE_PORTS + ": " + sourcePorts);
            }
            if (interfaceName != null && !isInterfaceName(interfaceName))
            {
                throw new IllegalArgumentException("substrate.interface must be an interface name of 1..15 characters: " + interfaceName);
            }
            if (interfaceName != null && transport == Transport.NIO)
            {
                throw new IllegalArgumentException("substrate.interface needs the epoll or io_uring transport (NIO cannot bind to a device)");
            }
        }

        /**
         * @return Geneve on 6081 and VXLAN on 4789 of {@code bindAddress}, epoll, one receive queue.
         */
        public static Config defaults(final String bindAddress)
        {
            return new Config(bindAddress, 6081, 4789, Transport.EPOLL, 1, 4096);
        }

        /**
         * @return a copy with the encrypted substrate.
         */
        public Config withWireguard(final WireguardConfig value)
        {
            return new Config(bindAddress, genevePort, vxlanPort, transport, receiveQueues, rxQueueFrames, value, sourcePorts,
                interfaceName);
        }

        /**
         * @return a copy with {@code value} source ports (0: send from the listening sockets).
         */
        public Config withSourcePorts(final int value)
        {
            return new Config(bindAddress, genevePort, vxlanPort, transport, receiveQueues, rxQueueFrames, wireguard, value,
                interfaceName);
        }

        /**
         * @return whether {@code name} can name a Linux network interface: 1..15 letters, digits and
         *         {@code _ . : @ -} (no slash, no white space).
         */
        public static boolean isInterfaceName(final String name)
        {
            return name.matches("[A-Za-z0-9_.:@-]{1,15}");
        }

        /**
         * @return a copy whose sockets are bound to the interface {@code name} (null: any).
         */
        public Config withInterface(final String name)
        {
            return new Config(bindAddress, genevePort, vxlanPort, transport, receiveQueues, rxQueueFrames, wireguard, sourcePorts, name);
        }
    }

    private final int id;
    private final FramePool pool;
    private final Supplier<ForwardingState> state;
    private final Config config;
    /** Where {@link #bindSourcePorts} reads the reserved ports ({@link #RESERVED_PORTS_FILE}; tests give their own). */
    private java.nio.file.Path reservedPortsFile = RESERVED_PORTS_FILE;
    /** Ports the source port pool must leave free ({@link #avoidSourcePorts}). */
    private final java.util.Set<Integer> avoidedPorts = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private final IntMpmcQueue rx;
    private final AtomicLongArray drops = new AtomicLongArray(DropReason.count());
    /** See {@link #superFramePool}; null: such datagrams are dropped as oversize. */
    private volatile FramePool oversizePool;
    private final AtomicLongArray traffic = new AtomicLongArray(4);
    private final ThreadLocal<OverlayHeaders> headers = ThreadLocal.withInitial(OverlayHeaders::new);
    private final ByteBufAllocator allocator = PooledByteBufAllocator.DEFAULT;
    private EventLoopGroup group;
    private final List<Channel> geneveChannels = new ArrayList<>();
    private final List<Channel> vxlanChannels = new ArrayList<>();
    private final List<Channel> wireguardChannels = new ArrayList<>();
    /** Send-only sockets of the source port pool ({@link Config#sourcePorts()}), in lane order. */
    private final List<Channel> sourceChannels = new ArrayList<>();
    private final WireguardPath wireguard;
    private volatile boolean running;
    private volatile boolean enclave;

    /**
     * Whether the workers use the plaintext sockets themselves ({@code sendmmsg}/{@code recvmmsg} on
     * the channels' descriptors): epoll and io_uring on Linux, unless the system property
     * {@code vsnic.substrate.direct} is false. NIO keeps the event-loop path.
     */
    private final boolean direct;
    private int[] directFds = new int[0];
    private int[] geneveFds = new int[0];
    private int[] vxlanFds = new int[0];
    /** The WireGuard socket on the direct path (empty otherwise). */
    private int[] wireguardFds = new int[0];
    /**
     * The source port pool's sockets on the direct path, in lane order (empty without a pool); replaced
     * whole when a port of the pool is released ({@link #releaseSourcePort}).
     */
    private volatile int[] sourceFds = new int[0];
    /** Handles the handshakes the direct path reads (on the socket's event loop). */
    private WireguardPath.Receiver wireguardReceiver;
    /**
     * The direct path's receive queues, one per {@link Config#receiveQueues()} (empty on the event-loop
     * path): queue 0 is read by the worker that owns this port, the others are the {@link #receiveQueues()} ports.
     */
    private final ReceiveQueue[] queues;
    private final ThreadLocal<Sender> senders;
    private volatile Runnable wake;

    private static final ValueLayout.OfInt LE_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);
    private static final int SOCKET_PLAIN = 0;
    private static final int SOCKET_WIREGUARD = 1;

    /** Datagrams per {@code sendmmsg}/{@code recvmmsg} of the direct path. */
    public static final int DIRECT_BATCH = 64;
    /** Messages per {@code recvmmsg} with UDP GRO (each up to 64 KiB, one or several datagrams of one sender). */
    public static final int GRO_BATCH = GroReader.MESSAGES;
    private static final int PEER_CACHE = 64;
    private static final int EAGAIN_RETRIES = 256;
    /** Random ports tried per source port socket before an ephemeral one. */
    private static final int SOURCE_PORT_ATTEMPTS = 64;
    /** Longest wait of {@link #releaseSourcePort} for the old socket's port to be free. */
    private static final long UNBIND_WAIT_NS = 2_000_000_000L;
    /** First port of the source port range (RFC 7348 §5, RFC 8926 §3.3: 49152..65535). */
    private static final int SOURCE_PORT_FIRST = 49152;
    /** Ports this network namespace keeps out of automatic port picks; the source port pool skips them too. */
    static final java.nio.file.Path RESERVED_PORTS_FILE = java.nio.file.Path.of("/proc/sys/net/ipv4/ip_local_reserved_ports");
    /** Most datagrams in one UDP GSO send ({@code UDP_MAX_SEGMENTS} of older kernels). */
    private static final int GSO_MAX_SEGMENTS = 64;
    /** Most bytes in one UDP GSO send (an IP packet's 64 KiB less headers). */
    private static final int GSO_MAX_BYTES = 65_000;
    private static final System.Logger LOG = System.getLogger(UdpSubstrate.class.getName());
    /**
     * Turns UDP GSO on send off ("false"; read at {@link #start()}; default on where the kernel takes
     * {@code UDP_SEGMENT}): the segments of a super-frame to one peer leave as one send and, with UDP GRO
     * at the receiving device, cross the substrate as one packet (docs/performance.md).
     */
    public static final String GSO_PROPERTY = "vsnic.substrate.gso";
    /** UDP GSO on send (probed at start unless {@link #GSO_PROPERTY} is false). */
    private volatile boolean gso;
    private final java.util.concurrent.atomic.AtomicLong gsoMessages = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.atomic.AtomicLong gsoFallbacks = new java.util.concurrent.atomic.AtomicLong();
    /**
     * Turns UDP GRO on receive off ("false"; default on where the kernel takes {@code UDP_GRO}): the
     * direct path then reads one datagram per message.
     */
    public static final String GRO_PROPERTY = "vsnic.substrate.gro";
    /** UDP GRO on receive (set at {@link #start()} when every plaintext socket took it). */
    private volatile boolean gro;
    private final java.util.concurrent.atomic.AtomicLong groMessages = new java.util.concurrent.atomic.AtomicLong();

    /**
     * Turns chained segments off ("false"; read when the substrate is made; default on with the direct
     * path): a super-frame's segments to a plaintext peer then hold a copy of their payload instead of
     * leaving it in the super-frame for the send's iovecs ({@link Port#OFFLOAD_CHAINED}).
     */
    public static final String CHAINED_PROPERTY = "vsnic.substrate.chainedSegments";
    private final boolean chained;
    private final java.util.concurrent.atomic.AtomicLong chainedDatagrams = new java.util.concurrent.atomic.AtomicLong();

    private static final int RX_DATAGRAMS = 0;
    private static final int RX_BYTES = 1;
    private static final int TX_DATAGRAMS = 2;
    private static final int TX_BYTES = 3;

    /**
     * @param id     the port id of the overlay port in the data plane.
     * @param pool   the data plane's frame pool.
     * @param state  the data plane's current forwarding state (peers).
     * @param config sockets to open.
     */
    public UdpSubstrate(final int id, final FramePool pool, final Supplier<ForwardingState> state, final Config config)
    {
        this.id = id;
        this.pool = pool;
        this.state = state;
        this.config = config;
        this.rx = new IntMpmcQueue(config.rxQueueFrames());
        this.direct = config.transport() != Transport.NIO && Syscalls.AVAILABLE &&
            Boolean.parseBoolean(System.getProperty("vsnic.substrate.direct", "true"));
        this.chained = direct && Boolean.parseBoolean(System.getProperty(CHAINED_PROPERTY, "true"));
        this.queues = new ReceiveQueue[direct ? config.receiveQueues() : 0];
        for (int q = 0; q < queues.length; q++)
        {
            queues[q] = new ReceiveQueue(q);
        }
        this.wireguard = config.wireguard() == null ? null :
            new WireguardPath(this, pool, state, config.wireguard(), rx::size, rx.capacity());
        final int lanes = Math.max(2, config.sourcePorts());
        this.senders = ThreadLocal.withInitial(() -> new Sender(lanes));
    }

    /**
     * @return true when the transport's native library loads here.
     */
    public static boolean isAvailable(final Transport transport)
    {
        return switch (transport)
        {
            case EPOLL -> Epoll.isAvailable();
            case IO_URING -> IoUring.isAvailable();
            case NIO -> true;
        };
    }

    /**
     * Makes this the substrate of a service enclave (call before {@link #start()}): it carries only
     * WireGuard messages of the enclave's own identity. Its plaintext sockets deliver nothing, and
     * every datagram there, like every datagram on the WireGuard socket that is no WireGuard message
     * (a Geneve or VXLAN packet), is counted as {@link DropReason#ENCLAVE_ISOLATION}.
     *
     * @throws IllegalStateException when the encrypted substrate is off (an enclave has no plaintext path).
     */
    public void isolateAsEnclave()
    {
        if (wireguard == null)
        {
            throw new IllegalStateException("an enclave substrate needs its own WireGuard identity (substrate.wireguard)");
        }
        enclave = true;
    }

    /**
     * @return true when this is an enclave's substrate ({@link #isolateAsEnclave()}).
     */
    public boolean isEnclave()
    {
        return enclave;
    }

    /**
     * Opens and binds the sockets.
     *
     * @throws IOException naming the address and port when a bind fails (the device must not start).
     */
    public void start() throws IOException
    {
        if (!isAvailable(config.transport()))
        {
            throw new IOException("substrate transport " + config.transport().name().toLowerCase() + " is not available here: " +
                unavailabilityCause(config.transport()));
        }
        final IoHandlerFactory factory = switch (config.transport())
        {
            case EPOLL -> EpollIoHandler.newFactory();
            case IO_URING -> IoUringIoHandler.newFactory();
            case NIO -> NioIoHandler.newFactory();
        };
        final int sockets = config.transport() == Transport.NIO ? 1 : config.receiveQueues();
        // on the direct path the loops only bind and close (and run the WireGuard socket): one thread is enough
        group = new MultiThreadIoEventLoopGroup(direct ? 1 : sockets, factory);
        running = true;
        try
        {
            bind(config.genevePort(), sockets, geneveChannels, Receiver::new, !direct);
            if (config.vxlanPort() != 0)
            {
                bind(config.vxlanPort(), sockets, vxlanChannels, Receiver::new, !direct);
            }
            if (!enclave)
            {
                bindSourcePorts(config.sourcePorts());
            }
            if (direct)
            {
                final List<Channel> all = new ArrayList<>(geneveChannels);
                all.addAll(vxlanChannels);
                directFds = new int[all.size()];
                for (int i = 0; i < directFds.length; i++)
                {
                    directFds[i] = ((UnixChannel)all.get(i)).fd().intValue();
                }
                geneveFds = java.util.Arrays.copyOf(directFds, geneveChannels.size());
                if (Boolean.parseBoolean(System.getProperty(GSO_PROPERTY, "true")))
                {
                    final int probe = Syscalls.probeUdpSegment(directFds[0]);
                    gso = probe == 0;
                    if (!gso)
                    {
                        gsoFallbacks.incrementAndGet();
                        LOG.log(System.Logger.Level.WARNING, "substrate: UDP GSO (UDP_SEGMENT) not available here (errno " + -probe +
                            "), sending one datagram per message");
                    }
                }
                vxlanFds = java.util.Arrays.copyOfRange(directFds, geneveChannels.size(), directFds.length);
                sourceFds = new int[sourceChannels.size()];
                for (int i = 0; i < sourceFds.length; i++)
                {
                    sourceFds[i] = ((UnixChannel)sourceChannels.get(i)).fd().intValue();
                }
                if (Boolean.parseBoolean(System.getProperty(GRO_PROPERTY, "true")))
                {
                    gro = enableGro(directFds);
                }
            }
            if (wireguard != null)
            {
                // one socket: handshakes and timers of every session on one event loop; transport messages are
                // read there too, or, on the direct path, by the owning worker (handshakes handed to the loop)
                wireguardReceiver = wireguard.new Receiver();
                final WireguardPath.Receiver receiver = wireguardReceiver;
                bind(config.wireguard().listenPort(), 1, wireguardChannels, () -> receiver, !direct);
                if (direct)
                {
                    wireguardFds = new int[] {((UnixChannel)wireguardChannels.get(0)).fd().intValue()};
                    if (gro)
                    {
                        gro = enableGro(wireguardFds);
                    }
                }
                wireguard.start(wireguardChannels.get(0));
            }
            for (int q = 0; q < queues.length; q++)
            {
                // queue q reads the q-th socket of each SO_REUSEPORT group; queue 0 also the WireGuard socket
                queues[q].plainFds = q < vxlanFds.length ? new int[] {geneveFds[q], vxlanFds[q]} : new int[] {geneveFds[q]};
                queues[q].sealedFds = q == 0 ? wireguardFds : new int[0];
            }
        }
        catch (final IOException | RuntimeException ex)
        {
            close();
            throw ex;
        }
    }

    /** Turns UDP GRO on for every socket, or reports (once) why it stays off. */
    private static boolean enableGro(final int[] fds)
    {
        for (final int fd : fds)
        {
            final int result = Syscalls.enableUdpGro(fd);
            if (result != 0)
            {
                LOG.log(System.Logger.Level.WARNING, "substrate: UDP GRO (UDP_GRO) not available here (errno " + -result +
                    "), receiving one datagram per message");
                return false;
            }
        }
        return true;
    }

    private static String unavailabilityCause(final Transport transport)
    {
        final Throwable cause = transport == Transport.EPOLL ? Epoll.unavailabilityCause() : IoUring.unavailabilityCause();
        return cause == null ? "unknown" : cause.toString();
    }

    private void bind(final int port, final int queues, final List<Channel> channels,
        final Supplier<? extends io.netty.channel.ChannelHandler> handler, final boolean autoRead) throws IOException
    {
        int boundPort = port;
        for (int q = 0; q < queues; q++)
        {
            final Channel channel;
            try
            {
                channel = open(boundPort, queues > 1, 4 << 20, handler.get(), autoRead);
            }
            catch (final Exception ex)
            {
                throw new IOException("cannot bind substrate " + config.transport().name().toLowerCase() + " socket to " +
                    config.bindAddress() + ":" + boundPort + ": " + ex.getMessage(), ex);
            }
            boundPort = ((InetSocketAddress)channel.localAddress()).getPort();
            channels.add(channel);
        }
    }

    /** Opens one datagram socket bound to {@code port} of the bind address (throws when the bind fails). */
    private Channel open(final int port, final boolean reusePort, final int receiveBuffer,
        final io.netty.channel.ChannelHandler handler, final boolean autoRead)
    {
        final Bootstrap bootstrap = new Bootstrap().group(group)
            .option(ChannelOption.SO_RCVBUF, receiveBuffer)
            .option(ChannelOption.SO_SNDBUF, 4 << 20)
            .option(ChannelOption.AUTO_READ, autoRead)
            .handler(handler);
        switch (config.transport())
        {
            case EPOLL -> bootstrap.channel(EpollDatagramChannel.class)
                .option(UnixChannelOption.SO_REUSEPORT, reusePort)
                .option(EpollChannelOption.MAX_DATAGRAM_PAYLOAD_SIZE, MAX_DATAGRAM_BYTES)
                .option(ChannelOption.RECVBUF_ALLOCATOR, new FixedRecvByteBufAllocator(MAX_DATAGRAM_BYTES * RECEIVE_BATCH));
            case IO_URING -> bootstrap.channel(IoUringDatagramChannel.class)
                .option(UnixChannelOption.SO_REUSEPORT, reusePort)
                .option(IoUringChannelOption.MAX_DATAGRAM_PAYLOAD_SIZE, MAX_DATAGRAM_BYTES)
                .option(ChannelOption.RECVBUF_ALLOCATOR, new FixedRecvByteBufAllocator(MAX_DATAGRAM_BYTES));
            case NIO -> bootstrap.channel(NioDatagramChannel.class)
                .option(ChannelOption.RECVBUF_ALLOCATOR, new FixedRecvByteBufAllocator(MAX_DATAGRAM_BYTES));
            default -> throw new IllegalStateException();
        }
        final Channel channel = bootstrap.bind(new InetSocketAddress(config.bindAddress(), port)).syncUninterruptibly().channel();
        if (config.interfaceName() != null)
        {
            final int result = Syscalls.AVAILABLE ? Syscalls.bindToDevice(((UnixChannel)channel).fd().intValue(), config.interfaceName()) :
                -Syscalls.ENOSYS;
            if (result != 0)
            {
                channel.close().syncUninterruptibly();
                throw new IllegalStateException("cannot bind substrate socket " + config.bindAddress() + ":" + port + " to interface " +
                    config.interfaceName() + ": " + (result == -Syscalls.ENODEV ? "no such interface" : "errno " + -result));
            }
        }
        return channel;
    }

    /**
     * Opens the source port pool: {@code count} send-only sockets (never read, a small receive buffer),
     * each bound to a free port drawn from 49152..65535 (the range RFC 7348 and RFC 8926 recommend for
     * the entropy port); after {@link #SOURCE_PORT_ATTEMPTS} ports in use, an ephemeral one (logged).
     */
    private void bindSourcePorts(final int count) throws IOException
    {
        final PortDraw draw = new PortDraw(sourcePortExclusions());
        for (int i = 0; i < count; i++)
        {
            sourceChannels.add(openSourcePort(draw, i));
        }
    }

    /**
     * The ports the source port pool never takes: this substrate's own listening ports (the WireGuard
     * socket binds after the pool, and its usual 51820 lies in the range), what the operator reserved for
     * services that bind later (an enclave's substrate port, say: the kernel keeps ip_local_reserved_ports
     * out of its own port picks, so do we) and the ports {@link #avoidSourcePorts} named.
     */
    private java.util.Set<Integer> sourcePortExclusions()
    {
        final java.util.Set<Integer> excluded = new java.util.HashSet<>(reservedPorts(reservedPortsFile));
        excluded.addAll(avoidedPorts);
        excluded.add(config.genevePort());
        excluded.add(config.vxlanPort());
        if (config.wireguard() != null)
        {
            excluded.add(config.wireguard().listenPort());
        }
        return excluded;
    }

    /** The ports of 49152..65535 left to draw a source port from, without repeats. */
    private static final class PortDraw
    {
        private final java.util.Set<Integer> excluded;
        private final int[] candidates = new int[65536 - SOURCE_PORT_FIRST];
        private int left;

        PortDraw(final java.util.Set<Integer> excluded)
        {
            this.excluded = excluded;
            for (int port = SOURCE_PORT_FIRST; port <= 65535; port++)
            {
                if (!excluded.contains(port))
                {
                    candidates[left++] = port;
                }
            }
        }

        /** @return a port not drawn before, or 0 when none is left (a draw removes its port by moving the last one into its place). */
        int next()
        {
            if (left == 0)
            {
                return 0;
            }
            final int draw = java.util.concurrent.ThreadLocalRandom.current().nextInt(left);
            final int port = candidates[draw];
            candidates[draw] = candidates[--left];
            return port;
        }
    }

    /**
     * Opens one send-only socket of the source port pool (never read, a small receive buffer) on a port of
     * {@code draw}; after {@link #SOURCE_PORT_ATTEMPTS} ports in use, an ephemeral one (logged).
     *
     * @param lane the pool's lane it is for (in messages only).
     */
    private Channel openSourcePort(final PortDraw draw, final int lane) throws IOException
    {
        Channel channel = null;
        Exception failure = null;
        boolean ephemeral = false;
        for (int attempt = 0; !ephemeral && channel == null; attempt++)
        {
            final int port = attempt == SOURCE_PORT_ATTEMPTS ? 0 : draw.next();
            ephemeral = port == 0;
            try
            {
                channel = open(port, false, 64 << 10, new io.netty.channel.ChannelInboundHandlerAdapter(), false);
            }
            catch (final Exception ex)
            {
                failure = ex;
            }
        }
        if (channel == null)
        {
            throw new IOException("cannot bind substrate source port socket to " + config.bindAddress() + ": " +
                (failure == null ? "no port" : failure.getMessage()), failure);
        }
        final int bound = ((InetSocketAddress)channel.localAddress()).getPort();
        if (ephemeral && draw.excluded.contains(bound))
        {
            channel.close().syncUninterruptibly();
            throw new IOException("cannot bind substrate source port socket to " + config.bindAddress() + ": no port in " +
                "49152..65535 was free (up to " + SOURCE_PORT_ATTEMPTS + " tried, reserved ones skipped) and the ephemeral port " +
                bound + " is a listening or reserved port");
        }
        if (ephemeral)
        {
            LOG.log(System.Logger.Level.WARNING, "substrate: source port " + lane + " is the ephemeral port " + bound +
                " (no port in 49152..65535 was free: up to " + SOURCE_PORT_ATTEMPTS + " tried, reserved ones skipped)");
        }
        return channel;
    }

    /**
     * Frees {@code port} when a socket of the source port pool holds it, for a service that binds it after
     * this substrate started (an enclave's substrate created through the API): that lane's socket moves to
     * another free port of 49152..65535, and {@code port} stays out of the pool ({@link #avoidSourcePorts}).
     * The replacement is bound first and published to the senders; {@code quiesce} must then return only
     * once no sender can still be sending on the old socket (every worker has completed a pass over its
     * ports that began after the call: {@code DataPlane.quiesce}), and the old socket is closed after it.
     * Datagrams of the lane's flows leave from the new port from then on. Control thread only.
     *
     * @param port    the port to free.
     * @param quiesce waits until no sender holds the old socket.
     * @return whether a socket of the pool held {@code port} (false: nothing changed).
     * @throws IOException when no replacement port could be bound (the pool is unchanged).
     */
    public synchronized boolean releaseSourcePort(final int port, final Runnable quiesce) throws IOException
    {
        final List<Integer> held = sourcePorts();
        final int lane = held.indexOf(port);
        if (lane < 0 || !running)
        {
            return false;
        }
        final java.util.Set<Integer> excluded = sourcePortExclusions();
        excluded.addAll(held);
        final Channel replacement = openSourcePort(new PortDraw(excluded), lane);
        avoidedPorts.add(port);
        final Channel old = sourceChannels.set(lane, replacement);
        final int[] fds = sourceFds;
        if (fds.length > lane)
        {
            final int[] next = fds.clone();
            next[lane] = ((UnixChannel)replacement).fd().intValue();
            sourceFds = next;
        }
        final InetSocketAddress oldAddress = (InetSocketAddress)old.localAddress();
        quiesce.run();
        old.close().syncUninterruptibly();
        awaitUnbound(oldAddress);
        LOG.log(System.Logger.Level.INFO, "substrate: source port " + lane + " moved from " + port + " to " +
            ((InetSocketAddress)replacement.localAddress()).getPort() + " to free " + port);
        return true;
    }

    /**
     * Waits (up to {@link #UNBIND_WAIT_NS}) until {@code address} can be bound again: a closed channel's
     * socket may still hold it for a moment (NIO closes a channel registered with a selector at the
     * selector's next select; io_uring closes asynchronously).
     */
    private static void awaitUnbound(final InetSocketAddress address)
    {
        final long deadline = System.nanoTime() + UNBIND_WAIT_NS;
        while (true)
        {
            try (java.nio.channels.DatagramChannel probe = java.nio.channels.DatagramChannel.open())
            {
                probe.bind(address);
                return;
            }
            catch (final IOException ex)
            {
                if (System.nanoTime() > deadline)
                {
                    LOG.log(System.Logger.Level.WARNING, "substrate: " + address + " is still bound after its source socket closed: " +
                        ex.getMessage());
                    return;
                }
                java.util.concurrent.locks.LockSupport.parkNanos(1_000_000);
            }
        }
    }

    /**
     * Keeps {@code ports} out of the source port pool (call before {@link #start()}), as for the namespace's
     * reserved ports: the daemon passes the substrate ports of the enclaves it is about to restore, which
     * bind after this substrate.
     */
    public void avoidSourcePorts(final java.util.Collection<Integer> ports)
    {
        avoidedPorts.addAll(ports);
    }

    /**
     * @return the ports given to {@link #avoidSourcePorts}.
     */
    public java.util.Set<Integer> avoidedSourcePorts()
    {
        return java.util.Set.copyOf(avoidedPorts);
    }

    /** Reads the reserved ports from {@code file} instead of {@link #RESERVED_PORTS_FILE} (before {@link #start()}; tests). */
    void reservedPortsFile(final java.nio.file.Path file)
    {
        reservedPortsFile = file;
    }

    /**
     * The ports of {@code file} ({@code net.ipv4.ip_local_reserved_ports} of this network namespace: a
     * comma-separated list of ports and {@code first-last} ranges) that fall in 49152..65535, the source
     * port range; empty, with a warning, when the file cannot be read or parsed.
     */
    static java.util.Set<Integer> reservedPorts(final java.nio.file.Path file)
    {
        final String text;
        try
        {
            text = java.nio.file.Files.readString(file).trim();
        }
        catch (final IOException | RuntimeException ex)
        {
            LOG.log(System.Logger.Level.DEBUG, "substrate: cannot read " + file + ": " + ex);
            return java.util.Set.of();
        }
        final java.util.Set<Integer> ports = new java.util.HashSet<>();
        if (text.isEmpty())
        {
            return ports;
        }
        for (final String item : text.split(","))
        {
            final String[] range = item.trim().split("-", -1);
            final int first = range.length <= 2 ? port(range[0]) : -1;
            final int last = range.length == 2 ? port(range[1]) : first;
            if (first < 0 || last < first)
            {
                LOG.log(System.Logger.Level.WARNING, "substrate: ignoring " + file + ", not a port list: " + text);
                return java.util.Set.of();
            }
            for (int port = Math.max(first, SOURCE_PORT_FIRST); port <= last; port++)
            {
                ports.add(port);
            }
        }
        return ports;
    }

    /** @return {@code text} as a port number (0..65535), or -1. */
    private static int port(final String text)
    {
        try
        {
            final int port = Integer.parseInt(text.trim());
            return port <= 65535 ? port : -1;
        }
        catch (final NumberFormatException ex)
        {
            return -1;
        }
    }

    /**
     * @return the source ports plaintext overlay datagrams leave from, in lane order (empty when they
     *         leave from the listening sockets: {@link Config#sourcePorts()} 0, or an enclave).
     */
    public List<Integer> sourcePorts()
    {
        final List<Integer> ports = new ArrayList<>(sourceChannels.size());
        for (final Channel channel : sourceChannels)
        {
            ports.add(((InetSocketAddress)channel.localAddress()).getPort());
        }
        return ports;
    }

    /**
     * @return the bound Geneve port (useful when configured as 0).
     */
    public int genevePort()
    {
        return ((InetSocketAddress)geneveChannels.get(0).localAddress()).getPort();
    }

    /**
     * @return the bound WireGuard port, or 0 when the encrypted substrate is off.
     */
    public int wireguardPort()
    {
        return wireguardChannels.isEmpty() ? 0 : ((InetSocketAddress)wireguardChannels.get(0).localAddress()).getPort();
    }

    /**
     * @return this device's WireGuard public key (base64), or null when the encrypted substrate is off.
     */
    public String wireguardPublicKey()
    {
        return wireguard == null ? null : java.util.Base64.getEncoder().encodeToString(wireguard.device().publicKey());
    }

    /**
     * @param reason a WireGuard rejection reason.
     * @return how many messages the WireGuard protocol rejected for it (0 when the encrypted substrate is off).
     */
    public long wireguardRejections(final io.vsnic.crypto.wireguard.Rejection reason)
    {
        return wireguard == null ? 0 : wireguard.device().rejections(reason);
    }

    /**
     * @return the state of each WireGuard peer (empty when the encrypted substrate is off).
     */
    public List<WireguardPeerStatus> wireguardPeers()
    {
        return wireguard == null ? List.of() : wireguard.status();
    }

    /**
     * @return the bound VXLAN port, or 0 when none is open.
     */
    public int vxlanPort()
    {
        return vxlanChannels.isEmpty() ? 0 : ((InetSocketAddress)vxlanChannels.get(0).localAddress()).getPort();
    }

    @Override
    public int id()
    {
        return id;
    }

    @Override
    public int kind()
    {
        return KIND_OVERLAY;
    }

    /**
     * Partial checksums are taken: they go to a peer with remote checksum offload as they are (in the
     * Geneve option), and are finished here for every other peer. On the direct path chained segments
     * are taken too ({@link #CHAINED_PROPERTY}): their headers and payload leave as two iovecs of one
     * datagram; they are flattened first where they must be whole (encryption, the event-loop path, a
     * checksum to finish).
     */
    @Override
    public int txOffloads()
    {
        return chained ? OFFLOAD_PARTIAL_CHECKSUM | OFFLOAD_CHAINED : OFFLOAD_PARTIAL_CHECKSUM;
    }

    @Override
    public int receive(final Frame[] frames, final int max)
    {
        return receive(frames, max, null);
    }

    /**
     * Datagrams longer than an ordinary frame go into a frame of this pool (the data plane's super-frame
     * pool) on the GRO path: a Linux peer on the same host hands a tunnel GSO packet over whole, up to 64 KiB.
     */
    @Override
    public void superFramePool(final FramePool superPool)
    {
        oversizePool = superPool;
    }

    /** Frames the event loops queued, then (direct path) queue 0's sockets; see {@link Port#receive(Frame[], int, Coalescer)}. */
    @Override
    public int receive(final Frame[] frames, final int max, final Coalescer coalescer)
    {
        int count = 0;
        while (count < max)
        {
            final int index = rx.poll();
            if (index < 0)
            {
                break;
            }
            frames[count++] = pool.frame(index);
        }
        if (direct)
        {
            count = queues[0].read(frames, count, max, coalescer);
        }
        return count;
    }

    /**
     * The direct path's receive queues after the first (which this port reads itself): one {@link Port}
     * each, with this port's id and kind, reading its own share of the {@code SO_REUSEPORT} sockets
     * into its own reserve of pool frames; the data plane gives each to another worker. Empty on the
     * event-loop path and with one receive queue. Frames are sent through this port, never the queues.
     */
    @Override
    public List<Port> receiveQueues()
    {
        return queues.length <= 1 ? List.of() : List.of(java.util.Arrays.copyOfRange(queues, 1, queues.length));
    }

    /**
     * @return the receive queues (1 on the event-loop path, where the event loops feed one queue).
     */
    public int receiveQueueCount()
    {
        return Math.max(1, queues.length);
    }

    /**
     * @param queue a receive queue, 0..{@link #receiveQueueCount()} - 1.
     * @return datagrams read from that queue's sockets (on the event-loop path: every datagram received).
     */
    public long rxQueueDatagrams(final int queue)
    {
        if (queues.length == 0)
        {
            if (queue != 0)
            {
                throw new IndexOutOfBoundsException("receive queue " + queue + " of 1");
            }
            return rxDatagrams();
        }
        return queues[queue].rxCount.get();
    }

    /**
     * @return the socket address for an address key (see {@link MessageBatch#senderHigh}) and port, or
     *     null for a key of another family.
     */
    static InetSocketAddress socketAddress(final long high, final long low, final int port)
    {
        if (high == -1)
        {
            return null;
        }
        final byte[] bytes;
        if (high == 0 && (low >>> 32) == 0xFFFF)
        {
            bytes = new byte[] {(byte)(low >>> 24), (byte)(low >>> 16), (byte)(low >>> 8), (byte)low};
        }
        else
        {
            bytes = new byte[16];
            for (int i = 0; i < 8; i++)
            {
                bytes[i] = (byte)(high >>> (56 - 8 * i));
                bytes[i + 8] = (byte)(low >>> (56 - 8 * i));
            }
        }
        try
        {
            return new InetSocketAddress(InetAddress.getByAddress(bytes), port);
        }
        catch (final UnknownHostException ex)
        {
            return null;
        }
    }


    /**
     * One receive queue of the direct path: some of the plaintext sockets (queue {@code i} reads the
     * {@code i}-th Geneve and VXLAN socket of the {@code SO_REUSEPORT} group; queue 0 also the WireGuard
     * socket) and everything needed to read them: its own {@code recvmmsg} batch, UDP GRO buffers,
     * reserve of pool frames and peer cache. Thread: the worker that owns it, except {@link #rxCount}
     * (any thread reads it).
     */
    private final class ReceiveQueue implements Port
    {
        private final int index;
        /** The plaintext sockets this queue reads (set at {@link UdpSubstrate#start()}, emptied at close). */
        private volatile int[] plainFds = new int[0];
        /** The WireGuard socket when this queue reads it (queue 0 on the direct path), else empty. */
        private volatile int[] sealedFds = new int[0];
        /** Datagrams this queue read (written by the owning worker only, with release stores). */
        private final java.util.concurrent.atomic.AtomicLong rxCount = new java.util.concurrent.atomic.AtomicLong();
        private final MessageBatch rxBatch = new MessageBatch(DIRECT_BATCH);
        /** UDP GRO receive buffers, used when {@link #gro} is on. */
        private final GroReader groReader = new GroReader();
        /** Checks overlay headers in the GRO buffers for merging on receive (this queue's owner only). */
        private final OverlayHeaders overlayHeaders = new OverlayHeaders();
        /** Where {@link WireguardPath#openInPlace} found the overlay packet: offset, length, peer device. */
        private final int[] located = new int[3];
        private final Frame[] spare = new Frame[DIRECT_BATCH];
        private int spareCount;
        /** Sender address to peer cache, valid for {@link #cachedState}. */
        private final long[] cacheHigh = new long[PEER_CACHE];
        private final long[] cacheLow = new long[PEER_CACHE];
        private final PeerEntry[] cachePeer = new PeerEntry[PEER_CACHE];
        private final boolean[] cacheValid = new boolean[PEER_CACHE];
        private ForwardingState cachedState;

        ReceiveQueue(final int index)
        {
            this.index = index;
        }

        @Override
        public int id()
        {
            return id;
        }

        @Override
        public int kind()
        {
            return KIND_OVERLAY;
        }

        @Override
        public int txOffloads()
        {
            return UdpSubstrate.this.txOffloads();
        }

        @Override
        public int receive(final Frame[] frames, final int max)
        {
            return read(frames, 0, max, null);
        }

        @Override
        public int receive(final Frame[] frames, final int max, final Coalescer coalescer)
        {
            return read(frames, 0, max, coalescer);
        }

        /** Frames go out through the substrate port: a queue only receives. */
        @Override
        public int transmit(final Frame[] frames, final int count)
        {
            return UdpSubstrate.this.transmit(frames, count);
        }

        @Override
        public int readinessFds(final int[] target, final int offset)
        {
            final int[] plain = plainFds;
            final int[] sealed = sealedFds;
            if (!running || plain.length == 0 || offset + plain.length + sealed.length > target.length)
            {
                return -1;
            }
            System.arraycopy(plain, 0, target, offset, plain.length);
            System.arraycopy(sealed, 0, target, offset + plain.length, sealed.length);
            return plain.length + sealed.length;
        }

        @Override
        public String toString()
        {
            return "substrate receive queue " + index;
        }

        /**
         * Reads this queue's sockets into {@code frames[at..max)}; with a coalescer, the plaintext GRO
         * batches' in-order TCP segments are decapsulated and merged on the way ({@link #drainGro}).
         *
         * @return the new frame count.
         */
        int read(final Frame[] frames, final int at, final int max, final Coalescer coalescer)
        {
            if (!running)
            {
                releaseReserve();
                return at;
            }
            final int[] plain = plainFds;
            final int[] sealed = sealedFds;
            final long before = datagramsRead;
            int count = drainGro(frames, at, max, coalescer);
            if (coalescer != null)
            {
                // what the last call left pending is done: the direct reads below may fill the vector
                count = coalescer.flush(frames, count);
            }
            if (gro)
            {
                count = receiveGro(frames, count, max, plain, false, coalescer);
            }
            else
            {
                for (final int fd : plain)
                {
                    int received;
                    do
                    {
                        received = receiveDirect(fd, frames, count, max);
                        count += received;
                    }
                    while (received == DIRECT_BATCH && count < max);
                }
            }
            if (sealed.length > 0)
            {
                count = receiveGro(frames, count, max, sealed, true, coalescer);
            }
            if (coalescer != null)
            {
                // the super-frame the GRO reads above left open (drainGro leaves room for it)
                count = coalescer.flush(frames, count);
            }
            if (datagramsRead != before)
            {
                rxCount.lazySet(datagramsRead);
            }
            return count;
        }

        /** Datagrams read so far (the owner's plain copy of {@link #rxCount}). */
        private long datagramsRead;

        /** Frames kept in reserve for the next {@code recvmmsg} and undelivered GRO datagrams go back to the pool. */
        void releaseReserve()
        {
            groReader.discard();
            while (spareCount > 0)
            {
                spare[--spareCount].release();
                spare[spareCount] = null;
            }
        }

        /**
         * Takes datagrams left from the last GRO read, then reads the sockets while there is room; each
         * datagram is copied into a pool frame (a coalesced message holds several). Returns the new count.
         */
        private int receiveGro(final Frame[] frames, final int at, final int max, final int[] fds, final boolean fromWireguard,
            final Coalescer coalescer)
        {
            int count = at;
            for (final int fd : fds)
            {
                while (count < max && !groReader.hasPending())
                {
                    final int read = groReader.read(fd, fromWireguard);
                    if (read <= 0)
                    {
                        if (read < 0)
                        {
                            drops.incrementAndGet(DropReason.SUBSTRATE_TX_ERROR.ordinal()); // as the event-loop path counts socket errors
                        }
                        break;
                    }
                    final int coalesced = groReader.lastCoalesced();
                    if (coalesced > 0)
                    {
                        groMessages.addAndGet(coalesced);
                    }
                    count = drainGro(frames, count, max, coalescer);
                }
                if (count >= max)
                {
                    break;
                }
            }
            return count;
        }

        /**
         * Turns the pending GRO datagrams into frames: each copied into a pool frame, or, with a
         * coalescer and for plaintext datagrams whose overlay header checks out, decapsulated in place
         * and offered to it ({@link Coalescer#addRange}), so that in-order TCP segments of one flow are
         * copied once, into one super-frame. No frame refers to the GRO buffers when this returns: a
         * lone range is emitted ({@link Coalescer#flushRange}); an open super-frame stays open across the
         * GRO reads of one {@link #read}, which flushes it (one sender's GSO batches of one 64 KiB TSO
         * frame arrive as two datagrams: 48 segments of 1,430 bytes exceed one UDP GSO send). Returns the
         * new count; at most {@code max - 1} when the coalescer holds a super-frame.
         */
        private int drainGro(final Frame[] frames, final int at, final int max, final Coalescer coalescer)
        {
            if (!groReader.hasPending())
            {
                return at;
            }
            final ForwardingState current = state.get();
            if (current != cachedState)
            {
                java.util.Arrays.fill(cacheValid, false);
                cachedState = current;
            }
            int count = at;
            long datagrams = 0;
            long bytes = 0;
            final boolean fromWireguard = groReader.fromWireguard();
            final io.vsnic.crypto.wireguard.TransportCodec codec = fromWireguard ? wireguard.codec() : null;   // one lookup per read
            final Coalescer merging = enclave ? null : coalescer;
            final long lostBefore = merging == null ? 0 : merging.rangeDrops();
            // the coalescer may emit two frames per datagram and one more when flushed
            final int limit = merging == null ? max : max - 2;
            while (count < limit && groReader.next())
            {
                final int length = groReader.datagramLength();
                datagrams++;
                bytes += length;
                if (groReader.truncated())
                {
                    drops.incrementAndGet(DropReason.OVERSIZE.ordinal());
                    continue;
                }
                if (fromWireguard)
                {
                    count = merging == null ? wireguardDatagram(frames, count, length, codec) :
                        wireguardMerging(frames, count, length, codec, merging, current);
                    continue;
                }
                if (enclave)
                {
                    drops.incrementAndGet(DropReason.ENCLAVE_ISOLATION.ordinal()); // an enclave's plaintext sockets deliver nothing
                    continue;
                }
                final PeerEntry peer = peerOf(current, groReader.senderHigh(), groReader.senderLow());
                if (peer == null)
                {
                    drops.incrementAndGet(DropReason.UNKNOWN_PEER.ordinal());
                    continue;
                }
                count = offer(frames, count, merging, groReader.datagramOffset(), length, peer, peer.device(), false);
            }
            if (merging != null)
            {
                // a lone segment still in the GRO buffer goes now (the next read refills the buffer); a
                // super-frame in a frame of its own stays open for the next datagrams of this read
                count = merging.flushRange(frames, count);
                final long lost = merging.rangeDrops() - lostBefore;
                if (lost > 0)
                {
                    drops.addAndGet(DropReason.POOL_EXHAUSTED.ordinal(), lost);
                }
            }
            traffic.addAndGet(RX_DATAGRAMS, datagrams);
            datagramsRead += datagrams;
            traffic.addAndGet(RX_BYTES, bytes);
            return count;
        }

        /**
         * A pool frame holding a copy of {@code length} bytes of the GRO buffer, or null when the pool
         * is empty or the bytes do not fit a frame (each a counted drop).
         */
        private Frame copied(final MemorySegment buffers, final int offset, final int length)
        {
            final FramePool large = oversizePool;
            final boolean big = large != null && length > pool.slotBytes() - pool.headroomBytes();
            final Frame frame = big ? large.acquire() : pool.acquire();
            if (frame == null)
            {
                drops.incrementAndGet(DropReason.POOL_EXHAUSTED.ordinal());
                return null;
            }
            if (!frame.copyFrom(buffers, offset, length))
            {
                drop(DropReason.OVERSIZE, frame);
                return null;
            }
            return frame;
        }

        /**
         * One datagram from the WireGuard socket when the worker merges while this queue reads: a
         * transport message is opened in place in the GRO buffer and its overlay packet offered to the
         * coalescer like a plaintext datagram (its TCP checksum not checked again: the AEAD tag covered
         * it); what is not merged is copied into a frame (the overlay packet, checksum marked verified).
         * Handshake messages go as in {@link #wireguardDatagram}.
         *
         * @return the new frame count.
         */
        private int wireguardMerging(final Frame[] frames, final int count, final int length,
            final io.vsnic.crypto.wireguard.TransportCodec codec, final Coalescer merging, final ForwardingState current)
        {
            final MemorySegment buffers = groReader.buffers();
            final int offset = groReader.datagramOffset();
            if (length < 4 || buffers.get(LE_INT, offset) != WireguardMessages.TYPE_TRANSPORT)
            {
                return wireguardDatagram(frames, count, length, codec);
            }
            if (!wireguard.openInPlace(codec, buffers, offset, length, groReader.senderHigh(), groReader.senderLow(),
                groReader.senderPort(), located))
            {
                return count;
            }
            final int device = located[2];
            return offer(frames, count, merging, located[0], located[1], current.peer(device), device, true);
        }

        /**
         * One overlay packet of the GRO buffer from {@code peer} (null: unknown): offered to the coalescer
         * when there is one and its header checks out, else (or when not taken) copied into a frame still
         * encapsulated, with VNI -1, for the worker, which also names the drop when the header or the peer
         * is wrong.
         *
         * @param verified whether it was opened from an authenticated WireGuard message.
         * @return the new frame count.
         */
        private int offer(final Frame[] frames, final int count, final Coalescer merging, final int start, final int length,
            final PeerEntry peer, final int device, final boolean verified)
        {
            final MemorySegment buffers = groReader.buffers();
            int next = count;
            if (merging != null && peer != null)
            {
                final int header = overlayHeaders.check(buffers, start, length, peer);
                if (header > 0)
                {
                    next = merging.addRange(buffers, start + header, length - header, header, overlayHeaders.vni(), device,
                        verified, overlayHeaders.checksumStart(), overlayHeaders.checksumOffset(), pool, frames, next);
                    if (next >= 0)
                    {
                        return next;
                    }
                    next = ~next;
                }
            }
            final Frame frame = copied(buffers, start, length);
            if (frame == null)
            {
                return next;
            }
            frame.peerDevice(device).vni(-1).checksumVerified(verified);
            frames[next] = frame;
            return next + 1;
        }

        /**
         * One datagram from the WireGuard socket on the direct path: a transport message is opened here, on
         * the worker, into a pool frame; a handshake message goes to the socket's event loop.
         *
         * @return the new frame count.
         */
        private int wireguardDatagram(final Frame[] frames, final int count, final int length,
            final io.vsnic.crypto.wireguard.TransportCodec codec)
        {
            final MemorySegment buffers = groReader.buffers();
            final int offset = groReader.datagramOffset();
            if (length < 4)
            {
                drops.incrementAndGet(DropReason.WG_MALFORMED.ordinal());
                return count;
            }
            final int type = buffers.get(LE_INT, offset);
            if (type == WireguardMessages.TYPE_TRANSPORT)
            {
                final Frame frame = copied(buffers, offset, length);
                if (frame == null)
                {
                    return count;
                }
                if (wireguard.open(codec, frame, null, groReader.senderHigh(), groReader.senderLow(), groReader.senderPort()))
                {
                    frames[count] = frame;
                    return count + 1;
                }
                return count;
            }
            if (enclave && (type < WireguardMessages.TYPE_INITIATION || type > WireguardMessages.TYPE_TRANSPORT))
            {
                drops.incrementAndGet(DropReason.ENCLAVE_ISOLATION.ordinal());     // an overlay packet on an enclave's port
                return count;
            }
            final InetSocketAddress sender = socketAddress(groReader.senderHigh(), groReader.senderLow(), groReader.senderPort());
            if (sender == null)
            {
                drops.incrementAndGet(DropReason.WG_MALFORMED.ordinal());
                return count;
            }
            wireguard.handshakeFromDirect(wireguardReceiver, buffers, offset, length, sender);
            return count;
        }

        /** One {@code recvmmsg} into pool frames kept in reserve; returns the frames added at {@code frames[at..]}. */
        private int receiveDirect(final int fd, final Frame[] frames, final int at, final int max)
        {
            final int want = Math.min(DIRECT_BATCH, max - at);
            while (spareCount < want)
            {
                final Frame frame = pool.acquire();
                if (frame == null)
                {
                    break;
                }
                spare[spareCount++] = frame;
            }
            final int n = Math.min(want, spareCount);
            if (n == 0)
            {
                return 0;
            }
            // the reserve is used from its top: message i fills spare[spareCount - 1 - i]
            final int headroom = pool.headroomBytes();
            for (int i = 0; i < n; i++)
            {
                final Frame frame = spare[spareCount - 1 - i];
                rxBatch.prepareReceive(i, frame.segment().address() + headroom, frame.maxFrameBytes());
            }
            final int received = Syscalls.recvmmsg(fd, rxBatch.address(), n, Syscalls.MSG_DONTWAIT);
            if (received <= 0)
            {
                if (received < 0 && received != -Syscalls.EAGAIN)
                {
                    drops.incrementAndGet(DropReason.SUBSTRATE_TX_ERROR.ordinal()); // as the event-loop path counts socket errors
                }
                return 0;
            }
            final ForwardingState current = state.get();
            if (current != cachedState)
            {
                java.util.Arrays.fill(cacheValid, false);
                cachedState = current;
            }
            int added = 0;
            long bytes = 0;
            for (int i = 0; i < received; i++)
            {
                final Frame frame = spare[--spareCount];
                spare[spareCount] = null;
                final int length = rxBatch.length(i);
                bytes += length;
                if ((rxBatch.flags(i) & Syscalls.MSG_TRUNC) != 0)
                {
                    drop(DropReason.OVERSIZE, frame);
                    continue;
                }
                if (enclave)
                {
                    drop(DropReason.ENCLAVE_ISOLATION, frame); // an enclave's plaintext sockets deliver nothing
                    continue;
                }
                final PeerEntry peer = peerOf(current, rxBatch.senderHigh(i), rxBatch.senderLow(i));
                if (peer == null)
                {
                    drop(DropReason.UNKNOWN_PEER, frame);
                    continue;
                }
                frame.window(headroom, length).peerDevice(peer.device()).vni(-1);
                frames[at + added++] = frame;
            }
            traffic.addAndGet(RX_DATAGRAMS, received);
            datagramsRead += received;
            traffic.addAndGet(RX_BYTES, bytes);
            return added;
        }

        /** The configured peer at a sender address; allocates only on a cache miss (once per peer and state). */
        private PeerEntry peerOf(final ForwardingState current, final long high, final long low)
        {
            if (high == -1)
            {
                return null;
            }
            final int slot = (int)((low ^ (low >>> 29) ^ high ^ (high >>> 31)) & (PEER_CACHE - 1));
            if (cacheValid[slot] && cacheHigh[slot] == high && cacheLow[slot] == low)
            {
                return cachePeer[slot];
            }
            final InetSocketAddress sender = socketAddress(high, low, 0);
            final PeerEntry peer = sender == null ? null : current.peerAt(sender);
            cacheHigh[slot] = high;
            cacheLow[slot] = low;
            cachePeer[slot] = peer;
            cacheValid[slot] = true;
            return peer;
        }
    }

    @Override
    public int readinessFds(final int[] fds, final int offset)
    {
        if (!direct || !running)
        {
            return -1;
        }
        return queues[0].readinessFds(fds, offset);
    }

    @Override
    public void onReadable(final Runnable wake)
    {
        this.wake = wake;
    }

    @Override
    public int transmit(final Frame[] frames, final int count)
    {
        final ForwardingState current = state.get();
        final OverlayHeaders overlay = headers.get();
        List<DatagramPacket> geneve = null;
        List<DatagramPacket> vxlan = null;
        List<DatagramPacket> encrypted = null;
        List<List<DatagramPacket>> pooled = null;
        final long nowNs = System.nanoTime();
        final Sender sender = direct ? senders.get() : null;
        final int sourceLanes = direct ? sourceFds.length : sourceChannels.size();
        for (int i = 0; i < count; i++)
        {
            final Frame frame = frames[i];
            final PeerEntry peer = current.peer(frame.peerDevice());
            if (peer == null || !peer.allowsVni(frame.vni()))
            {
                drop(peer == null ? DropReason.UNKNOWN_PEER : DropReason.VNI_NOT_ALLOWED, frame);
                continue;
            }
            // the source port pool's lane: a hash of the inner flow, taken before the overlay header goes on
            final int lane = sourceLanes == 0 || peer.encryption() == Encryption.WIREGUARD ? -1 :
                InnerHeaders.flowHash(frame.segment(), frame.start(), frame.length()) % sourceLanes;
            // only the direct plaintext send takes a chained segment as it is, and only when its checksum needs no finishing
            if (frame.refersToOther() && (!direct || peer.encryption() == Encryption.WIREGUARD ||
                (!peer.remoteChecksum() && frame.checksumPartial())) && !frame.flatten())
            {
                drop(DropReason.OVERSIZE, frame);
                continue;
            }
            if (!peer.remoteChecksum() && !ChecksumOffload.complete(frame))
            {
                drop(DropReason.BAD_CHECKSUM, frame);
                continue;
            }
            if (!running || !overlay.encapsulate(frame, peer.encapsulation(), frame.vni(), peer.remoteChecksum()))
            {
                drop(DropReason.SUBSTRATE_TX_ERROR, frame);
                continue;
            }
            if (peer.encryption() == Encryption.WIREGUARD)
            {
                if (wireguard == null)
                {
                    drop(DropReason.SUBSTRATE_TX_ERROR, frame);
                    continue;
                }
                if (direct && wireguardFds.length > 0)
                {
                    final InetSocketAddress endpoint = wireguard.seal(current, peer, frame, nowNs);
                    if (endpoint != null)
                    {
                        sender.addSealed(this, frame, endpoint);
                    }
                    continue;
                }
                encrypted = wireguard.transmit(current, peer, frame, nowNs, allocator, encrypted);
                continue;
            }
            if (direct)
            {
                sender.add(this, frame, peer, lane >= 0 ? lane :
                    peer.encapsulation() == Encapsulation.GENEVE || vxlanFds.length == 0 ? 0 : 1);
                continue;
            }
            final ByteBuffer bytes = frame.byteBuffer();
            final int length = bytes.remaining();
            final ByteBuf buffer = allocator.directBuffer(length);
            buffer.writeBytes(bytes);
            frame.release();
            final DatagramPacket packet = new DatagramPacket(buffer, peer.endpoint());
            if (lane >= 0)
            {
                if (pooled == null)
                {
                    pooled = new ArrayList<>(java.util.Collections.nCopies(sourceLanes, (List<DatagramPacket>)null));
                }
                pooled.set(lane, add(pooled.get(lane), packet));
            }
            else if (peer.encapsulation() == Encapsulation.GENEVE || vxlanChannels.isEmpty())
            {
                geneve = add(geneve, packet);
            }
            else
            {
                vxlan = add(vxlan, packet);
            }
            traffic.incrementAndGet(TX_DATAGRAMS);
            traffic.addAndGet(TX_BYTES, length);
        }
        if (sender != null)
        {
            sender.flush(this);
        }
        send(geneveChannels, geneve);
        send(vxlanChannels, vxlan);
        send(wireguardChannels, encrypted);
        if (pooled != null)
        {
            for (int lane = 0; lane < pooled.size(); lane++)
            {
                send(sourceChannels.get(lane), pooled.get(lane));
            }
        }
        return count;
    }

    static List<DatagramPacket> add(final List<DatagramPacket> packets, final DatagramPacket packet)
    {
        final List<DatagramPacket> list = packets == null ? new ArrayList<>(32) : packets;
        list.add(packet);
        return list;
    }

    private void send(final List<Channel> channels, final List<DatagramPacket> packets)
    {
        if (packets != null)
        {
            send(channels.get((int)(Thread.currentThread().threadId() % channels.size())), packets);
        }
    }

    private void send(final Channel channel, final List<DatagramPacket> packets)
    {
        if (packets == null)
        {
            return;
        }
        channel.eventLoop().execute(() ->
        {
            for (final DatagramPacket packet : packets)
            {
                channel.write(packet).addListener(future ->
                {
                    if (!future.isSuccess())
                    {
                        drops.incrementAndGet(DropReason.SUBSTRATE_TX_ERROR.ordinal());
                    }
                });
            }
            channel.flush();
        });
    }

    private void drop(final DropReason reason, final Frame frame)
    {
        drops.incrementAndGet(reason.ordinal());
        frame.release();
    }

    void dropFrame(final DropReason reason, final Frame frame)
    {
        drop(reason, frame);
    }

    void countDrop(final DropReason reason)
    {
        drops.incrementAndGet(reason.ordinal());
    }

    /**
     * @return whether sealed WireGuard messages leave through the direct path ({@link #sendSealed}).
     */
    boolean sendsSealedDirect()
    {
        return direct && wireguardFds.length > 0;
    }

    /** Queues a sealed message on the calling thread's direct send batch ({@link #flushSealed} sends it). */
    void sendSealed(final Frame frame, final InetSocketAddress endpoint)
    {
        senders.get().addSealed(this, frame, endpoint);
    }

    /**
     * The descriptor a direct send batch uses: the WireGuard socket, the source port pool's socket of
     * the lane, or (no pool) the Geneve (lane 0) or VXLAN (lane 1) socket of the calling thread.
     *
     * @return the descriptor, or -1 when the sockets are closed.
     */
    private int sendFd(final int socket, final int lane)
    {
        if (socket == SOCKET_PLAIN)
        {
            final int[] pool = sourceFds;
            if (pool.length > 0)
            {
                return lane < pool.length ? pool[lane] : -1;
            }
        }
        final int[] fds = socket == SOCKET_WIREGUARD ? wireguardFds : lane == 0 ? geneveFds : vxlanFds;
        return fds.length == 0 ? -1 : fds[(int)(Thread.currentThread().threadId() % fds.length)];
    }

    /** Sends the calling thread's pending direct batches now. */
    void flushSealed()
    {
        senders.get().flush(this);
    }

    void countTx(final int bytes)
    {
        traffic.incrementAndGet(TX_DATAGRAMS);
        traffic.addAndGet(TX_BYTES, bytes);
    }

    void countRx(final int bytes)
    {
        traffic.incrementAndGet(RX_DATAGRAMS);
        traffic.addAndGet(RX_BYTES, bytes);
    }

    /** Queues a received overlay frame (window = overlay header + inner frame) for the worker. */
    void deliver(final Frame frame)
    {
        if (!rx.offer(frame.index()))
        {
            drop(DropReason.SUBSTRATE_RX_QUEUE_FULL, frame);
            return;
        }
        wakeOwner();
    }

    private void wakeOwner()
    {
        final Runnable callback = wake;
        if (callback != null)
        {
            callback.run();
        }
    }

    /** A UDP GSO send was refused: send one datagram per message from now on (counted, logged once). */
    void gsoRefused(final int result)
    {
        if (gso)
        {
            gso = false;
            gsoFallbacks.incrementAndGet();
            LOG.log(System.Logger.Level.WARNING, "substrate: a UDP GSO send failed (errno " + -result +
                "), sending one datagram per message from now on");
        }
    }

    /**
     * @return whether sends use UDP GSO now (probed at start, off after a refused send).
     */
    public boolean udpGso()
    {
        return gso;
    }

    /**
     * @return whether receives use UDP GRO (set at start when every plaintext socket took {@code UDP_GRO}).
     */
    public boolean udpGro()
    {
        return gro;
    }

    /**
     * @return received messages that held several datagrams (UDP GRO).
     */
    public long udpGroMessages()
    {
        return groMessages.get();
    }

    /**
     * @return UDP GSO messages sent (each several datagrams), and {@link #udpGsoFallbacks()} the times it was turned off.
     */
    public long udpGsoMessages()
    {
        return gsoMessages.get();
    }

    public long udpGsoFallbacks()
    {
        return gsoFallbacks.get();
    }

    /**
     * @return datagrams sent as chained segments: headers and payload as two iovecs, the payload read by
     *     the kernel straight from the super-frame ({@link #CHAINED_PROPERTY}).
     */
    public long chainedDatagrams()
    {
        return chainedDatagrams.get();
    }

    /**
     * @return whether the workers cut super-frames into chained segments for this port ({@link #CHAINED_PROPERTY}).
     */
    public boolean chainedSegments()
    {
        return chained;
    }

    /**
     * @return datagrams dropped by the substrate (before or after the workers) for a reason.
     */
    public long drops(final DropReason reason)
    {
        return drops.get(reason.ordinal());
    }

    public long rxDatagrams()
    {
        return traffic.get(RX_DATAGRAMS);
    }

    public long rxBytes()
    {
        return traffic.get(RX_BYTES);
    }

    public long txDatagrams()
    {
        return traffic.get(TX_DATAGRAMS);
    }

    public long txBytes()
    {
        return traffic.get(TX_BYTES);
    }

    /**
     * Closes the sockets and the event loops (waits up to 5 s); frames still queued are released.
     */
    @Override
    public void close()
    {
        running = false;
        if (wireguard != null)
        {
            wireguard.close();
        }
        for (final Channel channel : wireguardChannels)
        {
            channel.close().syncUninterruptibly();
        }
        wireguardChannels.clear();
        for (final Channel channel : geneveChannels)
        {
            channel.close().syncUninterruptibly();
        }
        for (final Channel channel : vxlanChannels)
        {
            channel.close().syncUninterruptibly();
        }
        for (final Channel channel : sourceChannels)
        {
            channel.close().syncUninterruptibly();
        }
        geneveChannels.clear();
        vxlanChannels.clear();
        sourceChannels.clear();
        if (group != null)
        {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
            group = null;
        }
        int index;
        while ((index = rx.poll()) >= 0)
        {
            pool.frame(index).release();
        }
        directFds = new int[0];
        geneveFds = directFds;
        vxlanFds = directFds;
        wireguardFds = directFds;
        sourceFds = directFds;
        for (final ReceiveQueue queue : queues)
        {
            queue.plainFds = directFds;
            queue.sealedFds = directFds;
        }
    }

    /**
     * Frames the owning worker holds in reserve for its next {@code recvmmsg} go back to the pool
     * (called by the data plane once the worker has stopped, or by tests).
     */
    public void releaseReserve()
    {
        for (final ReceiveQueue queue : queues)
        {
            queue.releaseReserve();
        }
    }

    /**
     * A worker thread's send batches: the frames themselves are the datagrams (one iovec each, no
     * copy); one {@code sendmmsg} per socket per burst on the thread that forwarded them. With UDP GSO,
     * consecutive datagrams to one peer of one length (the segments of a super-frame; the last may be
     * shorter) become one message of several iovecs with a {@code UDP_SEGMENT} control message, which
     * the kernel sends as one large buffer through its stack and cuts at the end.
     */
    private static final class Sender
    {
        /**
         * Plaintext batches by lane, made on first use: lane i sends from the i-th socket of the source
         * port pool, or, without a pool, lane 0 from the Geneve socket and lane 1 from the VXLAN socket.
         */
        private final Batch[] plain;
        /** Lanes with datagrams since the last {@link #flush}, in first-use order. */
        private final int[] pending;
        private int pendingCount;
        private final Batch wireguard = new Batch(SOCKET_WIREGUARD, 0);

        Sender(final int lanes)
        {
            this.plain = new Batch[lanes];
            this.pending = new int[lanes];
        }

        /** A plaintext datagram to a peer's configured endpoint, from the socket of {@code lane}. */
        void add(final UdpSubstrate substrate, final Frame frame, final PeerEntry peer, final int lane)
        {
            Batch target = plain[lane];
            if (target == null)
            {
                target = new Batch(SOCKET_PLAIN, lane);
                plain[lane] = target;
            }
            if (!target.listed)
            {
                target.listed = true;
                pending[pendingCount++] = lane;
            }
            add(substrate, target, frame, peer, peer.endpoint());
        }

        /** A sealed WireGuard message to a peer's current endpoint (the key: endpoints change when peers roam). */
        void addSealed(final UdpSubstrate substrate, final Frame frame, final InetSocketAddress endpoint)
        {
            add(substrate, wireguard, frame, endpoint, endpoint);
        }

        private static void add(final UdpSubstrate substrate, final Batch target, final Frame frame, final Object key,
            final InetSocketAddress destination)
        {
            int slot = -1;
            for (int i = 0; i < target.keys.length; i++)
            {
                if (target.keys[i] == key)
                {
                    slot = i;
                    break;
                }
            }
            if (slot < 0)
            {
                // a new destination (or a new forwarding state): the slot it takes may be in use by the pending batch
                target.flush(substrate);
                slot = target.victim;
                target.victim = (target.victim + 1) % target.keys.length;
                target.keys[slot] = null;
                if (!target.batch.encodeName(slot, destination))
                {
                    substrate.drop(DropReason.SUBSTRATE_TX_ERROR, frame);
                    return;
                }
                target.keys[slot] = key;
            }
            target.add(substrate, frame, slot);
        }

        void flush(final UdpSubstrate substrate)
        {
            for (int i = 0; i < pendingCount; i++)
            {
                final Batch batch = plain[pending[i]];
                batch.flush(substrate);
                batch.listed = false;
            }
            pendingCount = 0;
            wireguard.flush(substrate);
        }
    }

    /** One socket's pending datagrams on one worker thread. */
    private static final class Batch
    {
        private final int socket;
        private final int lane;
        /** On the sender's pending list. */
        private boolean listed;
        /** Two iovecs per datagram at most: a chained segment's headers and its payload. */
        private final MessageBatch batch = new MessageBatch(DIRECT_BATCH, 2 * DIRECT_BATCH);
        /** What each name slot holds: a peer (plaintext) or an endpoint (WireGuard), compared by identity. */
        private final Object[] keys = new Object[MessageBatch.NAME_SLOTS];
        private int victim;
        private final Frame[] frames = new Frame[DIRECT_BATCH];
        private int frameCount;
        private int iovecCount;
        private final int[] messageSlot = new int[DIRECT_BATCH];
        private final int[] messageFrames = new int[DIRECT_BATCH];
        private final int[] messageSegment = new int[DIRECT_BATCH];
        private final int[] messageBytes = new int[DIRECT_BATCH];
        /** Datagrams of each message that are chained segments. */
        private final int[] messageChained = new int[DIRECT_BATCH];
        private final boolean[] messageClosed = new boolean[DIRECT_BATCH];
        private int messageCount;

        Batch(final int socket, final int lane)
        {
            this.socket = socket;
            this.lane = lane;
        }

        void add(final UdpSubstrate substrate, final Frame frame, final int slot)
        {
            if (frameCount == DIRECT_BATCH)
            {
                flush(substrate);
            }
            final int length = frame.wireLength();
            final long data = frame.segment().address() + frame.start();
            final int last = messageCount - 1;
            if (last >= 0 && substrate.gso && messageSlot[last] == slot && !messageClosed[last] &&
                messageFrames[last] < GSO_MAX_SEGMENTS && length <= messageSegment[last] &&
                messageBytes[last] + length <= GSO_MAX_BYTES)
            {
                batch.appendSend(last, iovecCount++, data, frame.length());
                messageChained[last] += appendReferenced(last, frame);
                frames[frameCount++] = frame;
                if (++messageFrames[last] == 2)
                {
                    batch.segmentSize(last, messageSegment[last]);
                }
                messageBytes[last] += length;
                messageClosed[last] = length < messageSegment[last];
                return;
            }
            final int message = messageCount++;
            batch.prepareSend(message, iovecCount++, data, frame.length(), slot);
            messageChained[message] = appendReferenced(message, frame);
            messageSlot[message] = slot;
            messageFrames[message] = 1;
            messageSegment[message] = length;
            messageBytes[message] = length;
            messageClosed[message] = false;
            frames[frameCount++] = frame;
        }

        /**
         * A chained segment's payload: the next iovec of its message, where it lies in the super-frame.
         *
         * @return 1 for a chained segment, else 0.
         */
        private int appendReferenced(final int message, final Frame frame)
        {
            if (!frame.refersToOther())
            {
                return 0;
            }
            batch.appendSend(message, iovecCount++, frame.referencedSegment().address() + frame.referencedOffset(),
                frame.referencedLength());
            return 1;
        }

        void flush(final UdpSubstrate substrate)
        {
            if (messageCount == 0)
            {
                return;
            }
            final int fd = substrate.sendFd(socket, lane);
            long sent = 0;
            long bytes = 0;
            long segmented = 0;
            long chainedSent = 0;
            if (fd >= 0 && substrate.running)
            {
                int at = 0;
                int retries = 0;
                while (at < messageCount)
                {
                    final int result = Syscalls.sendmmsg(fd, batch.address(at), messageCount - at, 0);
                    if (result > 0)
                    {
                        for (int i = at; i < at + result; i++)
                        {
                            bytes += messageBytes[i];
                            sent += messageFrames[i];
                            segmented += messageFrames[i] > 1 ? 1 : 0;
                            chainedSent += messageChained[i];
                        }
                        at += result;
                        retries = 0;
                    }
                    else if (result == -Syscalls.EAGAIN && ++retries < EAGAIN_RETRIES)
                    {
                        // the socket's send buffer is full for a moment (non-blocking socket): let it drain
                        Thread.onSpinWait();
                    }
                    else
                    {
                        // this message cannot be sent (or the buffer stays full): count its datagrams, go on
                        if (messageFrames[at] > 1 && result != -Syscalls.EAGAIN)
                        {
                            substrate.gsoRefused(result);
                        }
                        substrate.drops.addAndGet(DropReason.SUBSTRATE_TX_ERROR.ordinal(), messageFrames[at]);
                        at++;
                        retries = 0;
                    }
                }
            }
            else
            {
                substrate.drops.addAndGet(DropReason.SUBSTRATE_TX_ERROR.ordinal(), frameCount);
            }
            for (int i = 0; i < frameCount; i++)
            {
                frames[i].release();
                frames[i] = null;
            }
            substrate.traffic.addAndGet(TX_DATAGRAMS, sent);
            substrate.traffic.addAndGet(TX_BYTES, bytes);
            if (segmented > 0)
            {
                substrate.gsoMessages.addAndGet(segmented);
            }
            if (chainedSent > 0)
            {
                substrate.chainedDatagrams.addAndGet(chainedSent);
            }
            frameCount = 0;
            iovecCount = 0;
            messageCount = 0;
        }
    }

    /** Reads datagrams into frames on the event loop. */
    private final class Receiver extends SimpleChannelInboundHandler<DatagramPacket>
    {
        @Override
        protected void channelRead0(final ChannelHandlerContext context, final DatagramPacket packet)
        {
            final ByteBuf content = packet.content();
            final int length = content.readableBytes();
            traffic.incrementAndGet(RX_DATAGRAMS);
            traffic.addAndGet(RX_BYTES, length);
            if (enclave)
            {
                drops.incrementAndGet(DropReason.ENCLAVE_ISOLATION.ordinal());
                return;
            }
            final PeerEntry peer = state.get().peerAt(packet.sender());
            if (peer == null)
            {
                drops.incrementAndGet(DropReason.UNKNOWN_PEER.ordinal());
                return;
            }
            final Frame frame = pool.acquire();
            if (frame == null)
            {
                drops.incrementAndGet(DropReason.POOL_EXHAUSTED.ordinal());
                return;
            }
            if (length > frame.maxFrameBytes())
            {
                drop(DropReason.OVERSIZE, frame);
                return;
            }
            final ByteBuffer target = frame.receiveBuffer();
            final int start = target.position();
            target.limit(start + length);
            content.getBytes(content.readerIndex(), target);
            frame.window(start, length).peerDevice(peer.device()).vni(-1);
            deliver(frame);
        }

        @Override
        public void exceptionCaught(final ChannelHandlerContext context, final Throwable cause)
        {
            drops.incrementAndGet(DropReason.SUBSTRATE_TX_ERROR.ordinal());
        }
    }

    /**
     * @return the channel type for a transport (for tools that open their own substrate sockets).
     */
    static Class<? extends DatagramChannel> channelType(final Transport transport)
    {
        return switch (transport)
        {
            case EPOLL -> EpollDatagramChannel.class;
            case IO_URING -> IoUringDatagramChannel.class;
            case NIO -> NioDatagramChannel.class;
        };
    }
}
