package io.vsnic.orchestrator.lab;

import java.io.IOException;
import java.io.PrintWriter;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.LockSupport;

import io.vsnic.crypto.DeviceKeys;
import io.vsnic.crypto.wireguard.WireguardTimers;
import io.vsnic.dataplane.buffer.Frame;
import io.vsnic.dataplane.config.Encapsulation;
import io.vsnic.dataplane.config.NetworkSpec;
import io.vsnic.dataplane.config.PeerSpec;
import io.vsnic.dataplane.config.PortSpec;
import io.vsnic.dataplane.config.RemoteSpec;
import io.vsnic.dataplane.config.SubnetSpec;
import io.vsnic.dataplane.pipeline.DataPlane;
import io.vsnic.dataplane.pipeline.DataPlaneConfig;
import io.vsnic.dataplane.pipeline.MemoryPort;
import io.vsnic.dataplane.pipeline.Port;
import io.vsnic.dataplane.protocol.ArpFlyweight;
import io.vsnic.dataplane.protocol.FrameBuilder;
import io.vsnic.dataplane.protocol.Ipv4Flyweight;
import io.vsnic.dataplane.security.CompiledPolicy;
import io.vsnic.dataplane.security.ConnectionTimeouts;
import io.vsnic.dataplane.status.CounterSnapshot;
import io.vsnic.dataplane.substrate.UdpSubstrate;
import io.vsnic.dataplane.substrate.WireguardConfig;
import io.vsnic.dataplane.substrate.WireguardPeerStatus;
import io.vsnic.dataplane.table.ForwardingState;

/**
 * {@code vsnic demo} without root: the lab's scenario in one process. Two data planes (the two
 * devices) peered over a real UDP substrate on loopback (127.0.0.1 and 127.0.0.2, Geneve inside
 * WireGuard sessions keyed by freshly generated device keys), two
 * in-memory vNICs each; a traffic generator plays the four VMs: ARP, ping-like ICMP echo (answered by
 * the target VM's generator, RTT measured), a UDP stream across devices, and the data planes' counters.
 */
public final class InProcessDemo
{
    private static final int VNI = 100;
    private static final int OVERLAY_PORT = 4000;
    private static final int PINGS = 20;
    private static final int STREAM_MS = 3_000;
    private static final int STREAM_FRAME_PAYLOAD = 1372;   // 1400-byte IP packets
    private static final int WINDOW = 256;
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    private InProcessDemo()
    {
    }

    /** One simulated VM: its port, addresses and what arrived for it. */
    private static final class Vm
    {
        final String name;
        final MemoryPort port;
        final long mac;
        final int ip;
        final AtomicLongArray echoReplies = new AtomicLongArray(PINGS + 1);   // arrival time by sequence
        final AtomicLong arpReplyMac = new AtomicLong(-1);
        final AtomicLong udpFrames = new AtomicLong();
        final AtomicLong udpBytes = new AtomicLong();

        Vm(final String name, final MemoryPort port, final long mac, final String ip)
        {
            this.name = name;
            this.port = port;
            this.mac = mac;
            this.ip = Ipv4Flyweight.parse(ip);
        }
    }

    /** One device: data plane, substrate, two VMs. */
    private static final class Device implements AutoCloseable
    {
        final int id;
        final DataPlane dataPlane = new DataPlane(new DataPlaneConfig(1, 4096, 4096, ConnectionTimeouts.DEFAULTS));
        final UdpSubstrate substrate;
        final List<Vm> vms = new ArrayList<>();
        final String publicKey;

        Device(final int id, final String address) throws IOException
        {
            this.id = id;
            final UdpSubstrate.Transport transport = UdpSubstrate.isAvailable(UdpSubstrate.Transport.EPOLL) ?
                UdpSubstrate.Transport.EPOLL : UdpSubstrate.Transport.NIO;
            final DeviceKeys keys = DeviceKeys.generate(new SecureRandom());
            final byte[] secret = keys.privateKey();
            try
            {
                publicKey = keys.publicKeyBase64();
                substrate = new UdpSubstrate(OVERLAY_PORT, dataPlane.pool(), dataPlane::state,
                    new UdpSubstrate.Config(address, 0, 0, transport, 1, 2048).withWireguard(new WireguardConfig(secret, 0,
                        Lab.innerAddress(id), WireguardTimers.DEFAULT, null, WireguardConfig.DEFAULT_STAGED_FRAMES)));
            }
            finally
            {
                Arrays.fill(secret, (byte)0);
                keys.destroy();
            }
            substrate.start();
            for (int v = 1; v <= 2; v++)
            {
                vms.add(new Vm(Lab.vmName(id, v), new MemoryPort(v, Port.KIND_VNIC, dataPlane.pool(), 1024),
                    mac(id, v), Lab.vmAddress(id, v)));
            }
        }

        void configure(final Device other)
        {
            final List<RemoteSpec> remotes = new ArrayList<>();
            for (final Vm vm : other.vms)
            {
                remotes.add(new RemoteSpec(Ipv4Flyweight.format(vm.ip), vm.mac, other.id));
            }
            final NetworkSpec network = new NetworkSpec(Lab.NETWORK, VNI, Lab.OVERLAY_MTU,
                List.of(new SubnetSpec("10.77.0.0/16", "10.77.0.1")), List.of(), remotes);
            final List<PortSpec> ports = new ArrayList<>();
            for (final Vm vm : vms)
            {
                ports.add(new PortSpec(vm.port.id(), vm.name, Lab.NETWORK, vm.mac, Ipv4Flyweight.format(vm.ip), null,
                    CompiledPolicy.allowAll(), true));
            }
            final PeerSpec peer = PeerSpec.wireguard(other.id, "d" + other.id, other.substrateEndpoint(), Encapsulation.GENEVE,
                List.of(VNI), other.publicKey, Lab.innerAddress(other.id));
            dataPlane.publish(ForwardingState.build(dataPlane.state(), List.of(network), ports, List.of(peer)));
            vms.forEach(vm -> dataPlane.addPort(vm.port));
            dataPlane.overlayPort(substrate);
            dataPlane.start();
        }

        String substrateEndpoint()
        {
            return "127.0.0." + id + ":" + substrate.wireguardPort();
        }

        @Override
        public void close()
        {
            substrate.close();
            dataPlane.close();
        }
    }

    static long mac(final int device, final int vm)
    {
        return 0x02_76_00_00_00_00L | (long)device << 8 | vm;
    }

    /**
     * Runs the in-process scenario, printing the report.
     *
     * @return 0 when every check passed, 1 otherwise.
     */
    public static int run(final PrintWriter out)
    {
        out.println("vsnic demo: not root, so the same scenario runs in ONE process: two data planes (devices d1, d2) peered over a UDP");
        out.println("  substrate on loopback (127.0.0.1 / 127.0.0.2, Geneve inside WireGuard), two in-memory vNICs each, a traffic generator as the VMs.");
        out.println("  Run it as root for the real lab: vsnicd processes in network namespaces, VMs behind TAP vNICs, iperf3.");
        out.flush();
        final DemoReport report = new DemoReport(out, 9);
        report.begin("two devices: data planes + loopback substrate");
        try (Device d1 = new Device(1, "127.0.0.1");
             Device d2 = new Device(2, "127.0.0.2"))
        {
            d1.configure(d2);
            d2.configure(d1);
            report.pass("d1 " + d1.substrateEndpoint() + ", d2 " + d2.substrateEndpoint() + ", 2 vNICs each");
            final Generator generator = new Generator(List.of(d1, d2));
            final Thread vmThread = Thread.ofPlatform().daemon().name("demo-vms").start(generator);
            try
            {
                scenario(report, d1, d2);
            }
            finally
            {
                generator.running = false;
                vmThread.join(TimeUnit.SECONDS.toMillis(5));
            }
        }
        catch (final IOException | RuntimeException ex)
        {
            report.fail(String.valueOf(ex));
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            report.fail("interrupted");
        }
        return report.finish();
    }

    private static void scenario(final DemoReport report, final Device d1, final Device d2) throws InterruptedException
    {
        final Vm a1 = d1.vms.get(0);
        final Vm a2 = d1.vms.get(1);
        final Vm b1 = d2.vms.get(0);

        report.begin("ARP d1v1 -> " + Ipv4Flyweight.format(b1.ip) + " (answered by d1 for a remote VM)");
        send(d1, a1, builder -> builder.ethernet(0xFFFF_FFFF_FFFFL, a1.mac)
            .arp(ArpFlyweight.OPERATION_REQUEST, a1.mac, a1.ip, 0, b1.ip).buildPadded(60));
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
        while (a1.arpReplyMac.get() < 0 && System.nanoTime() < deadline)
        {
            Thread.sleep(1);
        }
        if (a1.arpReplyMac.get() == b1.mac)
        {
            report.pass("is-at " + formatMac(b1.mac));
        }
        else
        {
            report.fail(a1.arpReplyMac.get() < 0 ? "no ARP reply" : "wrong MAC " + formatMac(a1.arpReplyMac.get()));
        }

        ping(report, "ping d1v1 -> d2v1 (across devices)", d1, a1, b1);
        stream(report, d1, a1, b1);
        ping(report, "ping d1v1 -> d1v2 (same device)", d1, a1, a2);

        report.begin("key counters of each device");
        boolean moved = true;
        final List<String> lines = new ArrayList<>();
        for (final Device device : List.of(d1, d2))
        {
            final CounterSnapshot c = device.dataPlane.counters();
            moved &= c.portTxPackets(OVERLAY_PORT) > 0 && c.portRxPackets(OVERLAY_PORT) > 0;
            lines.add(String.format(Locale.ROOT,
                "d%d: rx %d tx %d frames | overlay tx %d rx %d | substrate datagrams tx %d rx %d | answers %d | drops %d %s",
                device.id, c.rxFrames(), c.txFrames(), c.portTxPackets(OVERLAY_PORT), c.portRxPackets(OVERLAY_PORT),
                device.substrate.txDatagrams(), device.substrate.rxDatagrams(), c.localAnswers(), c.totalDrops(),
                c.totalDrops() == 0 ? "" : nonZero(c.dropsByReason())));
        }
        if (moved)
        {
            report.pass("");
        }
        else
        {
            report.fail("an overlay counter did not move");
        }
        lines.forEach(report::detail);
        report.begin("substrate encryption (WireGuard)");
        final List<String> problems = new ArrayList<>();
        final List<String> sessions = new ArrayList<>();
        for (final Device device : List.of(d1, d2))
        {
            final List<WireguardPeerStatus> peers = device.substrate.wireguardPeers();
            if (peers.isEmpty())
            {
                problems.add("d" + device.id + " has no WireGuard peer");
            }
            for (final WireguardPeerStatus peer : peers)
            {
                sessions.add(String.format(Locale.ROOT, "d%d -> d%d: session %s, handshake %s, rx %d B, tx %d B", device.id, peer.device(),
                    peer.sessionUp() ? "up" : "down", peer.lastHandshakeAgoMs() < 0 ? "none" : peer.lastHandshakeAgoMs() / 1000 + " s ago",
                    peer.rxBytes(), peer.txBytes()));
                if (!peer.sessionUp() || peer.rxBytes() == 0 || peer.txBytes() == 0)
                {
                    problems.add("d" + device.id + " -> d" + peer.device() + ": " + (peer.sessionUp() ? "no traffic" : "session down"));
                }
            }
        }
        if (problems.isEmpty())
        {
            report.pass(sessions.size() + " sessions up, the overlay traffic inside them");
        }
        else
        {
            report.fail(String.join("; ", problems));
        }
        sessions.forEach(report::detail);
        report.begin("substrate capture holds only WireGuard messages");
        report.skip("needs root (tcpdump on the lab's substrate bridge)");
        report.begin("enclave pair talks; a VM cannot reach the enclave");
        report.skip("not in the in-process demo: needs root (the lab's enclave services are namespaces behind TAP)");
    }

    private static void ping(final DemoReport report, final String title, final Device device, final Vm from, final Vm to)
        throws InterruptedException
    {
        report.begin(title);
        for (int i = 0; i <= PINGS; i++)
        {
            from.echoReplies.set(i, 0);
        }
        final long[] rtt = new long[PINGS];
        int replies = 0;
        for (int seq = 1; seq <= PINGS; seq++)
        {
            final int sequence = seq;
            final long sent = System.nanoTime();
            send(device, from, builder -> builder.ethernet(to.mac, from.mac).ipv4(from.ip, to.ip).icmpEcho(true, 0x7673, sequence)
                .payload(56, sequence).build());
            final long deadline = sent + TimeUnit.SECONDS.toNanos(1);
            while (from.echoReplies.get(seq) == 0 && System.nanoTime() < deadline)
            {
                LockSupport.parkNanos(10_000);
            }
            if (from.echoReplies.get(seq) != 0)
            {
                rtt[replies++] = from.echoReplies.get(seq) - sent;
            }
            Thread.sleep(20);
        }
        if (replies == 0)
        {
            report.fail("no echo reply from " + Ipv4Flyweight.format(to.ip));
            return;
        }
        Arrays.sort(rtt, 0, replies);
        report.pass(String.format(Locale.ROOT, "%d/%d replies, RTT min/median/max %.0f/%.0f/%.0f us", replies, PINGS, rtt[0] / 1e3,
            rtt[replies / 2] / 1e3, rtt[replies - 1] / 1e3));
    }

    private static void stream(final DemoReport report, final Device device, final Vm from, final Vm to) throws InterruptedException
    {
        report.begin("UDP stream d1v1 -> d2v1, " + STREAM_MS / 1000 + " s, 1400-byte packets");
        final long framesBefore = to.udpFrames.get();
        final long bytesBefore = to.udpBytes.get();
        long sent = 0;
        final long start = System.nanoTime();
        final long end = start + TimeUnit.MILLISECONDS.toNanos(STREAM_MS);
        while (System.nanoTime() < end)
        {
            if (sent - (to.udpFrames.get() - framesBefore) >= WINDOW)
            {
                LockSupport.parkNanos(20_000);
                continue;
            }
            final long sequence = sent;
            if (send(device, from, builder -> builder.ethernet(to.mac, from.mac).ipv4(from.ip, to.ip).udp(40000, 5201)
                .payload(STREAM_FRAME_PAYLOAD, (int)sequence).build()))
            {
                sent++;
            }
            else
            {
                LockSupport.parkNanos(20_000);
            }
        }
        final long drainDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
        while (to.udpFrames.get() - framesBefore < sent && System.nanoTime() < drainDeadline)
        {
            Thread.sleep(1);
        }
        final double seconds = (System.nanoTime() - start) / 1e9;
        final long received = to.udpFrames.get() - framesBefore;
        final long bytes = to.udpBytes.get() - bytesBefore;
        final String figures = String.format(Locale.ROOT, "%d of %d frames arrived, %.0f k frames/s, %.2f Gbit/s of IP packets", received,
            sent, received / seconds / 1e3, bytes * 8 / seconds / 1e9);
        if (sent > 0 && received >= sent * 99 / 100)
        {
            report.pass(figures);
        }
        else
        {
            report.fail(figures);
        }
    }

    @FunctionalInterface
    private interface FrameWriter
    {
        int write(FrameBuilder builder);
    }

    /** Builds a frame in the device's pool and hands it to the VM's port; false when the pool or ring is full. */
    private static boolean send(final Device device, final Vm vm, final FrameWriter writer)
    {
        final Frame frame = device.dataPlane.pool().acquire();
        if (frame == null)
        {
            return false;
        }
        frame.length(writer.write(new FrameBuilder(frame.segment(), frame.start())));
        if (vm.port.inject(frame))
        {
            return true;
        }
        frame.release();
        return false;
    }

    private static String nonZero(final java.util.Map<io.vsnic.dataplane.status.DropReason, Long> drops)
    {
        final StringBuilder text = new StringBuilder("(");
        drops.forEach((reason, count) ->
        {
            if (count > 0)
            {
                text.append(text.length() == 1 ? "" : ", ").append(reason.label()).append(' ').append(count);
            }
        });
        return text.append(')').toString();
    }

    static String formatMac(final long mac)
    {
        final StringBuilder text = new StringBuilder(17);
        for (int shift = 40; shift >= 0; shift -= 8)
        {
            text.append(String.format(Locale.ROOT, "%02x", (mac >>> shift) & 0xFF)).append(shift == 0 ? "" : ":");
        }
        return text.toString();
    }

    /**
     * The VMs' side: takes every frame the data planes deliver to the four vNICs, answers echo requests
     * addressed to the VM, records echo replies and ARP replies, counts UDP.
     */
    private static final class Generator implements Runnable
    {
        private final List<Device> devices;
        volatile boolean running = true;

        Generator(final List<Device> devices)
        {
            this.devices = devices;
        }

        @Override
        public void run()
        {
            while (running)
            {
                boolean idle = true;
                for (final Device device : devices)
                {
                    for (final Vm vm : device.vms)
                    {
                        Frame frame;
                        while ((frame = vm.port.poll()) != null)
                        {
                            idle = false;
                            try
                            {
                                handle(device, vm, frame);
                            }
                            finally
                            {
                                frame.release();
                            }
                        }
                    }
                }
                if (idle)
                {
                    LockSupport.parkNanos(20_000);   // two cores are shared with the data planes' workers
                }
            }
        }

        private static void handle(final Device device, final Vm vm, final Frame frame)
        {
            final MemorySegment s = frame.segment();
            final long at = frame.start();
            if (frame.length() < 42)
            {
                return;
            }
            final int etherType = Short.toUnsignedInt(s.get(U16, at + 12));
            if (etherType == 0x0806)
            {
                if (Short.toUnsignedInt(s.get(U16, at + 20)) == ArpFlyweight.OPERATION_REPLY)
                {
                    long mac = 0;
                    for (int i = 0; i < 6; i++)
                    {
                        mac = mac << 8 | Byte.toUnsignedLong(s.get(ValueLayout.JAVA_BYTE, at + 22 + i));
                    }
                    vm.arpReplyMac.set(mac);
                }
                return;
            }
            if (etherType != 0x0800)
            {
                return;
            }
            final int ihl = (s.get(ValueLayout.JAVA_BYTE, at + 14) & 0x0F) * 4;
            final int protocol = Byte.toUnsignedInt(s.get(ValueLayout.JAVA_BYTE, at + 23));
            final int source = s.get(U32, at + 26);
            final int destination = s.get(U32, at + 30);
            if (destination != vm.ip)
            {
                return;
            }
            if (protocol == 17)
            {
                vm.udpFrames.incrementAndGet();
                vm.udpBytes.addAndGet(frame.length() - 14);
                return;
            }
            if (protocol != 1)
            {
                return;
            }
            final long icmp = at + 14 + ihl;
            final int type = Byte.toUnsignedInt(s.get(ValueLayout.JAVA_BYTE, icmp));
            final int identifier = Short.toUnsignedInt(s.get(U16, icmp + 4));
            final int sequence = Short.toUnsignedInt(s.get(U16, icmp + 6));
            if (type == 0 && sequence >= 1 && sequence <= PINGS)
            {
                vm.echoReplies.compareAndSet(sequence, 0, System.nanoTime());
            }
            else if (type == 8)
            {
                long peerMac = 0;
                for (int i = 6; i < 12; i++)
                {
                    peerMac = peerMac << 8 | Byte.toUnsignedLong(s.get(ValueLayout.JAVA_BYTE, at + i));
                }
                final long requester = peerMac;
                send(device, vm, builder -> builder.ethernet(requester, vm.mac).ipv4(vm.ip, source).icmpEcho(false, identifier, sequence)
                    .payload(56, sequence).build());
            }
        }
    }
}
