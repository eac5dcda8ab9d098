package io.vsnic.dataplane.substrate;

import java.lang.foreign.MemorySegment;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.DatagramPacket;
import io.vsnic.crypto.DeviceKeys;
import io.vsnic.crypto.primitive.VectorSupport;
import io.vsnic.crypto.wireguard.HandshakeResult;
import io.vsnic.crypto.wireguard.Keypair;
import io.vsnic.crypto.wireguard.Peer;
import io.vsnic.crypto.wireguard.Rejection;
import io.vsnic.crypto.wireguard.TimerActions;
import io.vsnic.crypto.wireguard.TransportCodec;
import io.vsnic.crypto.wireguard.WireguardDevice;
import io.vsnic.crypto.wireguard.WireguardMessages;
import io.vsnic.dataplane.buffer.Frame;
import io.vsnic.dataplane.buffer.FramePool;
import io.vsnic.dataplane.buffer.IntMpmcQueue;
import io.vsnic.dataplane.config.Encryption;
import io.vsnic.dataplane.status.DropReason;
import io.vsnic.dataplane.table.ForwardingState;
import io.vsnic.dataplane.table.PeerEntry;

/**
 * The encrypted half of the substrate: one WireGuard socket and one {@link WireguardDevice} whose
 * peers follow the forwarding state's peers with {@link Encryption#WIREGUARD}.
 *
 * <p><b>Transmit</b> (worker threads, {@link #transmit}): the frame already carries its Geneve/VXLAN
 * header; inner IPv4/IPv6 + UDP headers between the two inner substrate addresses are written in
 * front of it ({@link InnerHeaders}), the packet is sealed in place ({@link TransportCodec#seal}, one
 * codec per thread) and the transport message goes to the peer's current endpoint. Without a usable
 * session the frame is staged in the peer's bounded queue (FIFO; a full queue drops the new frame,
 * counted as {@link DropReason#WG_STAGED_FULL}) and the timer thread starts a handshake; once a
 * frame is staged, later frames for that peer queue behind it so a flow stays in order.
 *
 * <p><b>Receive</b> (the socket's event loop): handshake messages (types 1-3) go to
 * {@link WireguardDevice#consumeHandshake} and its reply is sent back; transport messages (type 4)
 * are copied into a pool frame and opened in place, then cryptokey routing: the inner source must be
 * the authenticated peer's inner address and the packet an overlay packet to us, else a counted drop;
 * the frame, narrowed to the overlay header + inner Ethernet frame and tagged with the peer's device
 * id (from the authenticated session, never the outer address), is queued for the worker like a
 * plaintext one. Every authenticated packet moves the peer's endpoint to its outer source (roaming).
 * A completed handshake flushes the staged frames (or sends a keepalive).
 *
 * <p><b>Timers</b>: every {@link #TICK_MS} ms on the socket's event loop: follow configuration
 * changes, {@link WireguardDevice#tick} (initiations, retransmissions, keepalives, giving up), and
 * flush staged frames of peers that have a session.
 */
final class WireguardPath
{
    private static final System.Logger LOG = System.getLogger(WireguardPath.class.getName());

    /** Timer period. */
    static final int TICK_MS = 50;

    private static final AtomicBoolean WARMED_UP = new AtomicBoolean();
    /** Handshakes from the direct path waiting for the event loop, at most (more are dropped and counted). */
    static final int MAX_PENDING_HANDSHAKES = 1024;
    /** Waiting handshakes above which the device is under load (cookie replies instead of handshakes). */
    static final int UNDER_LOAD_HANDSHAKES = 64;
    /** Rounds one flush of a peer's staged frames makes on the direct path before it leaves the rest to a tick. */
    private static final int MAX_FLUSH_ROUNDS = 8;

    private final UdpSubstrate owner;
    private final FramePool pool;
    private final Supplier<ForwardingState> state;
    private final WireguardConfig config;
    private final WireguardDevice device;
    private final InetAddress inner;
    private final Session[] sessions = new Session[ForwardingState.MAX_DEVICES];
    private final ConcurrentHashMap<Peer, Session> byPeer = new ConcurrentHashMap<>();
    private final ThreadLocal<TransportCodec> codecs;
    private final Runnable tickTask = this::tick;
    /** A tick asked for by the direct receive path is queued (one at a time, however many packets ask). */
    private final AtomicBoolean tickQueued = new AtomicBoolean();
    private final Runnable queuedTick = () ->
    {
        tickQueued.set(false);
        tick();
    };
    private final Actions actions = new Actions();
    private final java.util.concurrent.atomic.AtomicInteger pendingHandshakes = new java.util.concurrent.atomic.AtomicInteger();
    private volatile ForwardingState synced;
    private volatile Channel channel;
    private ScheduledFuture<?> ticker;

    WireguardPath(final UdpSubstrate owner, final FramePool pool, final Supplier<ForwardingState> state, final WireguardConfig config,
        final java.util.function.IntSupplier rxBacklog, final int rxCapacity)
    {
        this.owner = owner;
        this.pool = pool;
        this.state = state;
        this.config = config;
        final byte[] privateKey = config.privateKey();
        final DeviceKeys keys = DeviceKeys.fromPrivateKey(privateKey);
        Arrays.fill(privateKey, (byte)0);
        final WireguardDevice.Builder builder = WireguardDevice.builder(keys).timers(config.timers())
            .underLoad(() -> rxBacklog.getAsInt() > rxCapacity / 2 || pendingHandshakes.get() > UNDER_LOAD_HANDSHAKES);
        if (config.keyLog() != null)
        {
            builder.keyLog(config.keyLog());
        }
        this.device = builder.build();
        keys.destroy();
        this.codecs = ThreadLocal.withInitial(() -> new TransportCodec(device, 0));
        this.inner = config.inner();
    }

    WireguardDevice device()
    {
        return device;
    }

    /**
     * Gets the transport kernels compiled (once per process) and starts the timer on the socket's loop.
     */
    void start(final Channel wgChannel)
    {
        this.channel = wgChannel;
        if (WARMED_UP.compareAndSet(false, true))
        {
            final Frame frame = pool.acquire();
            if (frame != null)
            {
                final long t0 = System.nanoTime();
                final boolean fast = TransportCodec.warmUp(frame.segment(), TimeUnit.SECONDS.toNanos(5));
                frame.release();
                final long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
                final int bits = VectorSupport.vectorBits();
                final String kernels = bits == 0
                    ? "plain Java ChaCha20-Poly1305 (no jdk.incubator.vector, or -D" + VectorSupport.PROPERTY + "=false)"
                    : "ChaCha20-Poly1305 Vector API kernels, " + bits + " bits wide";
                LOG.log(fast ? System.Logger.Level.INFO : System.Logger.Level.WARNING, "substrate encryption: " + kernels +
                    (fast ? ", compiled in " : ", still not at compiled speed after ") + ms + " ms");
            }
        }
        ticker = wgChannel.eventLoop().scheduleAtFixedRate(tickTask, TICK_MS, TICK_MS, TimeUnit.MILLISECONDS);
    }

    void close()
    {
        if (ticker != null)
        {
            ticker.cancel(false);
        }
        synchronized (this)
        {
            for (int d = 0; d < sessions.length; d++)
            {
                if (sessions[d] != null)
                {
                    remove(d);
                }
            }
        }
    }

    // ------------------------------------------------------------------ sessions follow the configuration

    private Session session(final ForwardingState current, final int peerDevice)
    {
        if (current != synced)
        {
            sync(current);
        }
        return sessions[peerDevice];
    }

    private synchronized void sync(final ForwardingState current)
    {
        if (current == synced)
        {
            return;
        }
        for (int d = 0; d < sessions.length; d++)
        {
            final Session s = sessions[d];
            final PeerEntry e = current.peer(d);
            if (s != null && (e == null || e.encryption() != Encryption.WIREGUARD || !Arrays.equals(s.publicKey, e.publicKey())))
            {
                remove(d);
            }
        }
        for (int d = 0; d < sessions.length; d++)
        {
            final PeerEntry e = current.peer(d);
            if (e == null || e.encryption() != Encryption.WIREGUARD)
            {
                continue;
            }
            Session s = sessions[d];
            if (s == null)
            {
                final Peer peer;
                try
                {
                    peer = device.addPeer(e.publicKey(), null);
                }
                catch (final IllegalArgumentException ex)
                {
                    // our own key or a low-order point: the peer stays without a session (tx: unknown_peer)
                    owner.countDrop(DropReason.UNKNOWN_PEER);
                    continue;
                }
                s = new Session(peer, e.publicKey(), config.stagedFrames());
                sessions[d] = s;
                byPeer.put(peer, s);
            }
            s.update(e, inner);
        }
        synced = current;
    }

    private void remove(final int d)
    {
        final Session s = sessions[d];
        sessions[d] = null;
        s.removed = true;
        byPeer.remove(s.peer);
        device.removePeer(s.peer);
        dropStaged(s, DropReason.WG_HANDSHAKE_GAVE_UP);
    }

    private void dropStaged(final Session s, final DropReason reason)
    {
        int index;
        while ((index = s.staged.poll()) >= 0)
        {
            owner.dropFrame(reason, pool.frame(index));
        }
    }

    // ------------------------------------------------------------------ transmit (workers)

    /**
     * Sends (or stages) one frame that carries its overlay header, for a WireGuard peer.
     *
     * @param packets where the datagram to send is added (for the caller's one write per batch).
     * @return the list (created when null and something was added).
     */
    List<DatagramPacket> transmit(final ForwardingState current, final PeerEntry peer, final Frame frame, final long nowNs,
        final ByteBufAllocator allocator, final List<DatagramPacket> packets)
    {
        final Session s = session(current, peer.device());
        if (s == null)
        {
            owner.dropFrame(DropReason.UNKNOWN_PEER, frame);
            return packets;
        }
        final InnerTunnel tunnel = s.tunnel;
        if (tunnel == null || !InnerTunnel.fits(frame))
        {
            owner.dropFrame(DropReason.SUBSTRATE_TX_ERROR, frame);
            return packets;
        }
        if (s.staged.size() > 0)
        {
            stage(s, frame);
            return packets;
        }
        final Keypair kp = s.peer.sendingKeypair(nowNs);
        if (kp == null || tunnel.seal(codecs.get(), kp, frame, nowNs) < 0)
        {
            stage(s, frame);
            return packets;
        }
        return UdpSubstrate.add(packets, datagram(s, frame, allocator));
    }

    /**
     * The direct path's transmit: seals one frame in place for a WireGuard peer (or stages it while
     * the peer has no session), for the caller to send with its own {@code sendmmsg}.
     *
     * @return the peer's current endpoint when the frame was sealed and is the caller's to send;
     *     null when it was staged or dropped (counted).
     */
    InetSocketAddress seal(final ForwardingState current, final PeerEntry peer, final Frame frame, final long nowNs)
    {
        final Session s = session(current, peer.device());
        if (s == null)
        {
            owner.dropFrame(DropReason.UNKNOWN_PEER, frame);
            return null;
        }
        final InnerTunnel tunnel = s.tunnel;
        if (tunnel == null || !InnerTunnel.fits(frame))
        {
            owner.dropFrame(DropReason.SUBSTRATE_TX_ERROR, frame);
            return null;
        }
        if (s.staged.size() > 0 || s.flushing)
        {
            stage(s, frame);
            return null;
        }
        final Keypair kp = s.peer.sendingKeypair(nowNs);
        if (kp == null || tunnel.seal(codecs.get(), kp, frame, nowNs) < 0)
        {
            stage(s, frame);
            return null;
        }
        s.txBytes.addAndGet(frame.length());
        return s.endpoint;
    }

    private void stage(final Session s, final Frame frame)
    {
        final boolean wasEmpty = s.staged.size() == 0;
        if (!s.staged.offer(frame.index()))
        {
            owner.dropFrame(DropReason.WG_STAGED_FULL, frame);
            return;
        }
        if (s.removed)
        {
            dropStaged(s, DropReason.WG_HANDSHAKE_GAVE_UP);   // the peer went away while we staged: nobody flushes
            return;
        }
        final Channel ch = channel;
        if (wasEmpty && ch != null)
        {
            ch.eventLoop().execute(tickTask);   // start the handshake now rather than at the next tick
        }
    }

    private DatagramPacket datagram(final Session s, final Frame frame, final ByteBufAllocator allocator)
    {
        final int length = frame.length();
        final ByteBuf buffer = allocator.directBuffer(length);
        buffer.writeBytes(frame.byteBuffer());
        frame.release();
        s.txBytes.addAndGet(length);
        owner.countTx(length);
        return new DatagramPacket(buffer, s.endpoint);
    }

    Channel channel()
    {
        return channel;
    }

    // ------------------------------------------------------------------ timers (the socket's event loop)

    private void tick()
    {
        final ForwardingState current = state.get();
        if (current != synced)
        {
            sync(current);
        }
        final long now = device.nanoTime();
        device.tick(now, actions);
        boolean wrote = false;
        for (final Session s : byPeer.values())
        {
            if (s.staged.size() > 0 && s.peer.current() != null && s.peer.sendingKeypair(now) != null)
            {
                wrote |= flush(s, now);
            }
        }
        if (wrote)
        {
            channel.flush();
        }
    }

    /** Seals and writes the staged frames of a peer (event loop only); the caller flushes the channel. */
    private boolean flush(final Session s, final long nowNs)
    {
        final TransportCodec codec = codecs.get();
        final boolean direct = owner.sendsSealedDirect();
        boolean wrote = false;
        int rounds = 0;
        // Direct path: the workers send a peer's frames themselves once its queue is empty, so the staged
        // ones must be in the socket before that: they are sent here, synchronously, while 'flushing' makes
        // the workers queue behind them; frames queued meanwhile go out in the next round.
        do
        {
            s.flushing = true;
            try
            {
                int index;
                while ((index = s.staged.poll()) >= 0)
                {
                    final Frame frame = pool.frame(index);
                    final Keypair kp = s.peer.sendingKeypair(nowNs);
                    final InnerTunnel tunnel = s.tunnel;
                    if (kp == null || tunnel == null || tunnel.seal(codec, kp, frame, nowNs) < 0)
                    {
                        owner.dropFrame(DropReason.WG_EXPIRED, frame);
                        continue;
                    }
                    if (direct)
                    {
                        s.txBytes.addAndGet(frame.length());
                        owner.sendSealed(frame, s.endpoint);
                    }
                    else
                    {
                        write(datagram(s, frame, channel.alloc()));
                        wrote = true;
                    }
                }
                if (direct)
                {
                    owner.flushSealed();
                }
            }
            finally
            {
                s.flushing = false;
            }
        }
        while (direct && s.staged.size() > 0 && ++rounds < MAX_FLUSH_ROUNDS);
        if (direct && s.staged.size() > 0 && channel != null)
        {
            scheduleTick(channel);   // still more: the next tick goes on, the loop stays free for handshakes
        }
        return wrote;
    }

    private void write(final DatagramPacket packet)
    {
        channel.write(packet).addListener(future ->
        {
            if (!future.isSuccess())
            {
                owner.countDrop(DropReason.SUBSTRATE_TX_ERROR);
            }
        });
    }

    private void sendBytes(final byte[] bytes, final int length, final InetSocketAddress to)
    {
        final ByteBuf buffer = channel.alloc().directBuffer(length);
        buffer.writeBytes(bytes, 0, length);
        owner.countTx(length);
        write(new DatagramPacket(buffer, to));
        channel.flush();
    }

    private boolean sendKeepalive(final Session s, final long nowNs)
    {
        final Keypair kp = s.peer.sendingKeypair(nowNs);
        if (kp == null)
        {
            return false;
        }
        final Frame frame = pool.acquire();
        if (frame == null)
        {
            owner.countDrop(DropReason.POOL_EXHAUSTED);
            return false;
        }
        final int messageOffset = frame.start();
        final int n = codecs.get().seal(kp, frame.segment(), messageOffset + WireguardMessages.TRANSPORT_HEADER_LENGTH, 0,
            messageOffset, nowNs);
        if (n < 0)
        {
            frame.release();
            return false;
        }
        frame.window(messageOffset, n);
        write(datagram(s, frame, channel.alloc()));
        return true;
    }

    private final class Actions implements TimerActions
    {
        private final byte[] initiation = new byte[WireguardMessages.INITIATION_LENGTH];
        private final MemorySegment initiationSegment = MemorySegment.ofArray(initiation);

        @Override
        public void sendInitiation(final Peer peer)
        {
            final Session s = byPeer.get(peer);
            if (s == null || s.endpoint == null)
            {
                return;
            }
            final int n = device.createInitiation(peer, initiationSegment, 0, device.nanoTime());
            sendBytes(initiation, n, s.endpoint);
        }

        @Override
        public void sendKeepalive(final Peer peer)
        {
            final Session s = byPeer.get(peer);
            if (s != null && WireguardPath.this.sendKeepalive(s, device.nanoTime()))
            {
                channel.flush();
            }
        }

        @Override
        public void handshakeGaveUp(final Peer peer)
        {
            final Session s = byPeer.get(peer);
            if (s != null)
            {
                dropStaged(s, DropReason.WG_HANDSHAKE_GAVE_UP);
            }
        }
    }

    // ------------------------------------------------------------------ receive (the socket's event loop)

    /** Reads the WireGuard socket. */
    final class Receiver extends SimpleChannelInboundHandler<DatagramPacket>
    {
        private final TransportCodec codec = new TransportCodec(device, 0);
        private final HandshakeResult result = new HandshakeResult();
        private final byte[] handshake = new byte[WireguardMessages.INITIATION_LENGTH];
        private final MemorySegment handshakeSegment = MemorySegment.ofArray(handshake);
        private final byte[] reply = new byte[WireguardMessages.RESPONSE_LENGTH];
        private final MemorySegment replySegment = MemorySegment.ofArray(reply);

        @Override
        protected void channelRead0(final ChannelHandlerContext context, final DatagramPacket packet)
        {
            final ByteBuf content = packet.content();
            final int length = content.readableBytes();
            owner.countRx(length);
            if (length < 4)
            {
                owner.countDrop(DropReason.WG_MALFORMED);
                return;
            }
            final ForwardingState current = state.get();
            if (current != synced)
            {
                sync(current);                    // a peer configured a moment ago may already be calling
            }
            final int type = content.getIntLE(content.readerIndex());
            if (owner.isEnclave() && (type < WireguardMessages.TYPE_INITIATION || type > WireguardMessages.TYPE_TRANSPORT))
            {
                owner.countDrop(DropReason.ENCLAVE_ISOLATION);     // an overlay packet on an enclave's port
                return;
            }
            if (type == WireguardMessages.TYPE_TRANSPORT)
            {
                transport(content, length, packet.sender());
            }
            else if (length <= handshake.length)
            {
                content.getBytes(content.readerIndex(), handshake, 0, length);
                handshake(length, packet.sender());
            }
            else
            {
                owner.countDrop(DropReason.WG_MALFORMED);
            }
        }

        private void transport(final ByteBuf content, final int length, final InetSocketAddress sender)
        {
            final Frame frame = pool.acquire();
            if (frame == null)
            {
                owner.countDrop(DropReason.POOL_EXHAUSTED);
                return;
            }
            if (length > frame.maxFrameBytes())
            {
                owner.dropFrame(DropReason.OVERSIZE, frame);
                return;
            }
            final ByteBuffer target = frame.receiveBuffer();
            final int start = target.position();
            target.limit(start + length);
            content.getBytes(content.readerIndex(), target);
            frame.window(start, length);
            if (open(codec, frame, sender, 0, 0, 0))
            {
                owner.deliver(frame);
            }
        }

        /** A handshake message read by the direct path (event loop only). */
        void handshake(final byte[] message, final int length, final InetSocketAddress sender)
        {
            final ForwardingState current = state.get();
            if (current != synced)
            {
                sync(current);                    // a peer configured a moment ago may already be calling
            }
            System.arraycopy(message, 0, handshake, 0, length);
            handshake(length, sender);
        }

        private void handshake(final int length, final InetSocketAddress sender)
        {
            final long now = device.nanoTime();
            final int n = device.consumeHandshake(handshakeSegment, 0, length, sourceBytes(sender), now, replySegment, 0, result);
            if (n < 0)
            {
                owner.countDrop(dropReason(result.rejection()));
                return;
            }
            final Session s = result.peer() == null ? null : byPeer.get(result.peer());
            switch (result.kind())
            {
                case RESPONSE_WRITTEN ->
                {
                    if (s != null)
                    {
                        s.roam(sender);
                    }
                    sendBytes(reply, n, sender);
                }
                case COOKIE_REPLY_WRITTEN ->
                {
                    owner.countDrop(DropReason.WG_COOKIE_REQUIRED);
                    sendBytes(reply, n, sender);
                }
                case RESPONSE_CONSUMED ->
                {
                    if (s != null)
                    {
                        s.roam(sender);
                        final boolean sent = s.staged.size() > 0 ? flush(s, now) : sendKeepalive(s, now);
                        if (sent)
                        {
                            channel.flush();
                        }
                    }
                }
                default ->
                {
                }
            }
        }

        @Override
        public void exceptionCaught(final ChannelHandlerContext context, final Throwable cause)
        {
            owner.countDrop(DropReason.SUBSTRATE_TX_ERROR);
        }
    }

    /**
     * Opens a transport message (the frame's window) in place and applies cryptokey routing; the
     * sender is either {@code sender} (event loop) or, when that is null, the address in
     * {@code senderHigh}/{@code senderLow} ({@link io.vsnic.dataplane.nativeio.MessageBatch#senderHigh})
     * and {@code senderPort} (direct path: an address object is made only when the peer roams).
     *
     * @return true when the frame now holds the overlay packet, tagged with the peer's device, for the
     *     worker; false when it was consumed (keepalive) or dropped (counted).
     */
    boolean open(final TransportCodec codec, final Frame frame, final InetSocketAddress sender,
        final long senderHigh, final long senderLow, final int senderPort)
    {
        final int start = frame.start();
        final long now = device.nanoTime();
        final int n = codec.open(frame.segment(), start, frame.length(), now);
        final Session s = accept(codec, n, frame.length(), sender, senderHigh, senderLow, senderPort, now);
        if (s == null || n == 0)
        {
            frame.release();                  // dropped (counted) or a keepalive
            return false;
        }
        final InnerTunnel tunnel = s.tunnel;
        final int reason = tunnel == null ? DropReason.WG_INNER_SOURCE.ordinal() : tunnel.strip(frame, start, n);
        if (reason != 0)
        {
            owner.dropFrame(DropReason.of(reason), frame);
            return false;
        }
        // the AEAD tag covered every byte: no need to verify the inner checksum again (as Linux's WireGuard)
        frame.peerDevice(s.device).vni(-1).checksumVerified(true);
        return true;
    }

    /**
     * Like {@link #open}, for a transport message that sits in a buffer of the direct path's (a UDP
     * GRO batch), opened in place there.
     *
     * @param located receives the overlay packet's offset and length in {@code segment} and the
     *                peer's device (indices 0, 1, 2).
     * @return true when {@code located} says where the overlay packet is; false when the message was
     *     consumed (keepalive) or dropped (counted).
     */
    boolean openInPlace(final TransportCodec codec, final MemorySegment segment, final int offset, final int length,
        final long senderHigh, final long senderLow, final int senderPort, final int[] located)
    {
        final long now = device.nanoTime();
        final int n = codec.open(segment, offset, length, now);
        final Session s = accept(codec, n, length, null, senderHigh, senderLow, senderPort, now);
        if (s == null || n == 0)
        {
            return false;
        }
        final InnerTunnel tunnel = s.tunnel;
        final long where = tunnel == null ? -DropReason.WG_INNER_SOURCE.ordinal() : tunnel.locate(segment, offset, n);
        if (where < 0)
        {
            owner.countDrop(DropReason.of((int)-where));
            return false;
        }
        located[0] = (int)(where >>> 32);
        located[1] = (int)where;
        located[2] = s.device;
        return true;
    }

    /**
     * What follows a transport message's opening either way: the drop when it failed, cryptokey
     * routing (the session of the key it opened with), roaming and the staged frames that session
     * waited to send.
     *
     * @param n what {@link TransportCodec#open} returned.
     * @return the session, or null when the message was dropped (counted).
     */
    private Session accept(final TransportCodec codec, final int n, final int length, final InetSocketAddress sender,
        final long senderHigh, final long senderLow, final int senderPort, final long now)
    {
        if (n < 0)
        {
            owner.countDrop(dropReason(Rejection.ofCode(n)));
            return null;
        }
        final Session s = byPeer.get(codec.lastPeer());
        if (s == null)
        {
            owner.countDrop(DropReason.UNKNOWN_PEER);
            return null;
        }
        if (sender != null)
        {
            s.roam(sender);
        }
        else
        {
            s.roam(senderHigh, senderLow, senderPort);
        }
        s.rxBytes.addAndGet(length);
        if (s.staged.size() > 0)
        {
            final Channel ch = channel;
            if (ch != null && ch.eventLoop().inEventLoop())
            {
                if (flush(s, now))
                {
                    ch.flush();
                }
            }
            else if (ch != null)
            {
                scheduleTick(ch);                  // staged frames are written by the socket's event loop
            }
        }
        return s;
    }

    private void scheduleTick(final Channel ch)
    {
        if (tickQueued.compareAndSet(false, true))
        {
            try
            {
                ch.eventLoop().execute(queuedTick);
            }
            catch (final java.util.concurrent.RejectedExecutionException ex)
            {
                tickQueued.set(false);              // closing: nothing flushes any more
            }
        }
    }

    /**
     * @return a transport codec for the calling thread (the direct path's worker).
     */
    TransportCodec codec()
    {
        return codecs.get();
    }

    /**
     * Hands a handshake message read by the direct path to the socket's event loop, where every
     * handshake is processed (copied: handshakes are rare and small).
     */
    void handshakeFromDirect(final Receiver receiver, final MemorySegment source, final long offset, final int length,
        final InetSocketAddress sender)
    {
        final Channel ch = channel;
        if (ch == null || length > WireguardMessages.INITIATION_LENGTH)
        {
            owner.countDrop(DropReason.WG_MALFORMED);
            return;
        }
        if (pendingHandshakes.incrementAndGet() > MAX_PENDING_HANDSHAKES)
        {
            pendingHandshakes.decrementAndGet();
            owner.countDrop(DropReason.WG_HANDSHAKE_BACKLOG);
            return;
        }
        final byte[] copy = new byte[length];
        MemorySegment.copy(source, java.lang.foreign.ValueLayout.JAVA_BYTE, offset, copy, 0, length);
        try
        {
            ch.eventLoop().execute(() ->
            {
                try
                {
                    receiver.handshake(copy, length, sender);
                }
                finally
                {
                    pendingHandshakes.decrementAndGet();
                }
            });
        }
        catch (final java.util.concurrent.RejectedExecutionException ex)
        {
            pendingHandshakes.decrementAndGet();   // the substrate is closing
            owner.countDrop(DropReason.WG_HANDSHAKE_BACKLOG);
        }
    }

    private static byte[] sourceBytes(final InetSocketAddress sender)
    {
        final byte[] address = sender.getAddress().getAddress();
        final byte[] bytes = Arrays.copyOf(address, address.length + 2);
        bytes[address.length] = (byte)(sender.getPort() >>> 8);
        bytes[address.length + 1] = (byte)sender.getPort();
        return bytes;
    }

    /**
     * @return the drop reason a WireGuard rejection is counted under.
     */
    static DropReason dropReason(final Rejection rejection)
    {
        return switch (rejection)
        {
            case BAD_MAC1 -> DropReason.WG_BAD_MAC;
            case COOKIE_REQUIRED -> DropReason.WG_COOKIE_REQUIRED;
            case UNKNOWN_PEER -> DropReason.WG_UNKNOWN_KEY;
            case STALE_TIMESTAMP, HANDSHAKE_FLOOD -> DropReason.WG_STALE_HANDSHAKE;
            case DECRYPT_FAILED -> DropReason.WG_DECRYPT_FAILED;
            case UNKNOWN_INDEX, UNEXPECTED_MESSAGE -> DropReason.WG_UNKNOWN_INDEX;
            case REPLAY -> DropReason.WG_REPLAY;
            case COUNTER_LIMIT, EXPIRED_KEYPAIR -> DropReason.WG_EXPIRED;
            case TRUNCATED, BAD_LENGTH, BAD_TYPE, INVALID_KEY -> DropReason.WG_MALFORMED;
        };
    }

    // ------------------------------------------------------------------ status

    /**
     * @return one line of state per WireGuard peer.
     */
    List<WireguardPeerStatus> status()
    {
        final ForwardingState current = state.get();
        if (current != synced)
        {
            sync(current);                        // a peer published a moment ago is shown at once
        }
        final List<WireguardPeerStatus> list = new ArrayList<>();
        final long now = device.nanoTime();
        for (int d = 0; d < sessions.length; d++)
        {
            final Session s = sessions[d];
            if (s != null)
            {
                final long last = s.peer.lastHandshakeNs();
                list.add(new WireguardPeerStatus(d, Base64.getEncoder().encodeToString(s.publicKey), s.endpoint,
                    last == Long.MIN_VALUE ? -1 : TimeUnit.NANOSECONDS.toMillis(now - last), s.rxBytes.get(), s.txBytes.get(),
                    s.peer.current() != null, s.staged.size()));
            }
        }
        return list;
    }

    /** An endpoint and its address key (see {@code MessageBatch#senderHigh}). */
    private record EndpointKey(InetSocketAddress address, long high, long low)
    {
    }

    /** One WireGuard peer of this device: its crypto peer, where it is, its staged frames, its traffic. */
    private static final class Session
    {
        final Peer peer;
        final byte[] publicKey;
        final IntMpmcQueue staged;
        final AtomicLong rxBytes = new AtomicLong();
        final AtomicLong txBytes = new AtomicLong();
        volatile int device;
        volatile InetSocketAddress endpoint;
        /** The address key of an {@link #endpoint} seen by {@link #roam(long, long, int)} (valid while it is that object). */
        volatile EndpointKey endpointKey;
        volatile InetSocketAddress configuredEndpoint;
        volatile boolean removed;
        /** The event loop is sending this peer's staged frames (direct path): workers queue behind them. */
        volatile boolean flushing;
        /** Null when the peer's inner address is not of our inner address's family (its frames are dropped). */
        volatile InnerTunnel tunnel;

        Session(final Peer peer, final byte[] publicKey, final int stagedFrames)
        {
            this.peer = peer;
            this.publicKey = publicKey;
            this.staged = new IntMpmcQueue(stagedFrames);
        }

        void update(final PeerEntry entry, final InetAddress ours)
        {
            device = entry.device();
            final InetAddress theirs = entry.innerAddress();
            tunnel = (theirs instanceof Inet6Address) == (ours instanceof Inet6Address)
                ? new InnerTunnel(ours, theirs, entry.encapsulation()) : null;
            if (!entry.endpoint().equals(configuredEndpoint))
            {
                configuredEndpoint = entry.endpoint();
                endpoint = entry.endpoint();
            }
        }

        void roam(final InetSocketAddress sender)
        {
            if (!sender.equals(endpoint))
            {
                endpoint = sender;
            }
        }

        /** Roams to a sender given as address key and port (see {@code MessageBatch#senderHigh}); allocates only on a move. */
        void roam(final long high, final long low, final int port)
        {
            final InetSocketAddress current = endpoint;
            final EndpointKey key = endpointKey;
            if (current != null && key != null && key.address == current && key.high == high && key.low == low &&
                current.getPort() == port)
            {
                return;
            }
            final InetSocketAddress moved = UdpSubstrate.socketAddress(high, low, port);
            if (moved == null)
            {
                return;
            }
            if (!moved.equals(current))
            {
                endpoint = moved;
                endpointKey = new EndpointKey(moved, high, low);
            }
            else
            {
                endpointKey = new EndpointKey(current, high, low);   // same place: remember its key, keep the object
            }
        }
    }
}
