package io.vsnic.vnic.tap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.vsnic.dataplane.buffer.Frame;
import io.vsnic.dataplane.buffer.FramePool;
import io.vsnic.dataplane.offload.VirtioNetHeader;
import io.vsnic.dataplane.pipeline.Port;
import io.vsnic.dataplane.protocol.ArpFlyweight;
import io.vsnic.dataplane.protocol.EthernetFlyweight;
import io.vsnic.dataplane.protocol.FrameClassifier;
import io.vsnic.dataplane.protocol.FrameLayout;
import io.vsnic.dataplane.protocol.IpProtocol;
import io.vsnic.dataplane.protocol.Ipv4Flyweight;
import io.vsnic.vnic.ArpIcmpResponder;
import io.vsnic.vnic.EndpointCounter;
import io.vsnic.vnic.linux.Errno;
import io.vsnic.vnic.netns.NetNs;

@Timeout(90)
class TapPortTest
{
    private static final Duration WAIT = Duration.ofSeconds(5);
    private static final int EXPERIMENTAL_ETHER_TYPE = 0x88B5;
    private static final int UDP_PORT = 7777;

    private static FrameLayout classify(final byte[] bytes)
    {
        final FrameLayout layout = new FrameLayout();
        FrameClassifier.forwarding().classify(MemorySegment.ofArray(bytes), 0, bytes.length, layout);
        return layout;
    }

    private static Frame broadcastFrame(final FramePool pool, final int sequence)
    {
        final Frame frame = pool.acquire();
        assertNotNull(frame, "pool exhausted in test setup");
        final EthernetFlyweight ethernet = new EthernetFlyweight();
        ethernet.wrap(frame.segment(), frame.start());
        ethernet.destination(EthernetFlyweight.BROADCAST).source(0x0200_0000_7701L).etherType(EXPERIMENTAL_ETHER_TYPE);
        frame.segment().set(Ipv4Flyweight.U32, frame.start() + EthernetFlyweight.HEADER_LENGTH, sequence);
        frame.length(60);
        return frame;
    }

    /** Sends UDP datagrams from inside the namespace (bash's /dev/udp), each payload its number and a newline. */
    private static void sendUdpFromNamespace(final TapLab lab, final int count)
    {
        final String script = "for i in $(seq 1 " + count + "); do echo $i > /dev/udp/" + lab.vsnicAddress() + "/" + UDP_PORT + "; done";
        final NetNs.Result result = lab.net.exec(lab.ns, Duration.ofSeconds(10), "bash", "-c", script);
        assertTrue(result.ok(), result.describe());
    }

    private static void assumeBash()
    {
        assumeTrue(NetNs.findExecutable("bash").isPresent(), "bash is not installed (the test sends UDP through its /dev/udp)");
    }

    @Test
    void shouldBeAVnicPort() throws Exception
    {
        TapLab.assumeRootWithTap();
        try (TapLab lab = TapLab.create(false); FramePool pool = new FramePool(4))
        {
            final TapPort port = new TapPort(7, lab.device, pool);
            assertEquals(7, port.id());
            assertEquals(Port.KIND_VNIC, port.kind());
            assertEquals(0, port.receive(new Frame[4], 4));
            assertEquals(4, pool.available(), "a read that finds nothing gives its frame back");
        }
    }

    @Test
    void shouldReceiveArpRequestFromTheGuestAndThenItsUdpOnceAnswered() throws Exception
    {
        TapLab.assumeRootWithTap();
        assumeBash();
        try (TapLab lab = TapLab.create(true); FramePool pool = new FramePool(64))
        {
            final TapPort port = new TapPort(1, lab.device, pool);
            try (ArpIcmpResponder responder = new ArpIcmpResponder(port, pool, lab.vsnicIp, lab.vsnicMac))
            {
                sendUdpFromNamespace(lab, 1);

                final byte[] request = responder.nextFrame(WAIT);
                assertNotNull(request, "no ARP request arrived on the port");
                final FrameLayout arpLayout = classify(request);
                assertEquals(FrameLayout.L3_ARP, arpLayout.l3Type(), "first frame: " + Arrays.toString(request));
                assertEquals(EthernetFlyweight.BROADCAST, arpLayout.destinationMac());
                assertEquals(lab.guestMac, arpLayout.sourceMac());
                final ArpFlyweight arp = new ArpFlyweight();
                arp.wrap(MemorySegment.ofArray(request), arpLayout.l3Offset());
                assertEquals(ArpFlyweight.OPERATION_REQUEST, arp.operation());
                assertEquals(lab.guestMac, arp.senderMac());
                assertEquals(lab.guestIp, arp.senderIp());
                assertEquals(lab.vsnicIp, arp.targetIp());

                final byte[] datagram = responder.nextFrame(WAIT);
                assertNotNull(datagram, "the guest did not send its UDP datagram after our ARP reply");
                final FrameLayout udp = classify(datagram);
                assertEquals(lab.vsnicMac, udp.destinationMac(), "the guest must have learnt our MAC from the reply");
                assertEquals(lab.guestMac, udp.sourceMac());
                assertEquals(FrameLayout.L3_IPV4, udp.l3Type());
                assertEquals(IpProtocol.UDP, udp.l4Protocol());
                assertEquals(UDP_PORT, udp.destinationPort());
                final byte[] payload = Arrays.copyOfRange(datagram, udp.l4Offset() + 8, udp.l3Offset() + udp.l3Length());
                assertArrayEquals("1\n".getBytes(StandardCharsets.US_ASCII), payload);

                assertEquals(1, responder.arpReplies());
            }
            assertEquals(2, port.counters().get(EndpointCounter.RX_FRAMES));
            assertEquals(1, port.counters().get(EndpointCounter.TX_FRAMES));
            assertEquals(0, port.counters().get(EndpointCounter.RX_ERRORS));
            assertEquals(0, port.counters().get(EndpointCounter.TX_ERRORS));
            assertEquals(64, pool.available(), "every frame back in the pool");
        }
    }

    @Test
    void shouldAnswerPingFromTheNamespace() throws Exception
    {
        TapLab.assumeRootWithTap();
        assumeTrue(NetNs.findExecutable("ping").isPresent(),
            "ping is not installed: apt-get install -y --no-install-recommends iputils-ping");
        try (TapLab lab = TapLab.create(true); FramePool pool = new FramePool(64))
        {
            final TapPort port = new TapPort(1, lab.device, pool);
            try (ArpIcmpResponder responder = new ArpIcmpResponder(port, pool, lab.vsnicIp, lab.vsnicMac))
            {
                final NetNs.Result ping = lab.net.exec(lab.ns, Duration.ofSeconds(20),
                    "ping", "-n", "-c", "3", "-W", "1", "-i", "0.2", lab.vsnicAddress());
                assertTrue(ping.ok(), ping.describe());
                assertTrue(ping.stdout().contains("3 packets transmitted, 3 received"), ping.describe());
                assertEquals(3, responder.echoReplies());
                final NetNs.Result neighbour = NetNs.ipIn(lab.ns, "neigh", "show", lab.vsnicAddress());
                assertTrue(neighbour.stdout().contains(lab.vsnicMacText()), neighbour.describe());
            }
            assertEquals(0, port.counters().get(EndpointCounter.TX_DROPS));
            assertEquals(64, pool.available());
        }
    }

    @Test
    void shouldStopReadingWhenThePoolIsEmptyAndCountIt() throws Exception
    {
        TapLab.assumeRootWithTap();
        assumeBash();
        try (TapLab lab = TapLab.create(true); FramePool pool = new FramePool(2))
        {
            final NetNs.Result neighbour = NetNs.ipIn(lab.ns, "neigh", "replace", lab.vsnicAddress(),
                "lladdr", lab.vsnicMacText(), "dev", lab.link, "nud", "permanent");
            assertTrue(neighbour.ok(), neighbour.describe());
            sendUdpFromNamespace(lab, 5);
            assertTrue(lab.device.awaitReadable((int)WAIT.toMillis()), "no frame waiting");

            final TapPort port = new TapPort(2, lab.device, pool);
            final Frame[] frames = new Frame[8];
            final List<String> payloads = new ArrayList<>();
            final int[] expectedCounts = {2, 2, 1};
            for (int round = 0; round < expectedCounts.length; round++)
            {
                final int count = port.receive(frames, frames.length);
                assertEquals(expectedCounts[round], count, "round " + round);
                for (int i = 0; i < count; i++)
                {
                    assertEquals(2, frames[i].port());
                    assertEquals(pool.headroomBytes(), frames[i].start(), "frames are read after the headroom");
                    final byte[] bytes = frames[i].toByteArray();
                    final FrameLayout layout = classify(bytes);
                    payloads.add(new String(bytes, layout.l4Offset() + 8, layout.l3Offset() + layout.l3Length() - layout.l4Offset() - 8,
                        StandardCharsets.US_ASCII).strip());
                    frames[i].release();
                }
            }
            assertEquals(List.of("1", "2", "3", "4", "5"), payloads);
            assertEquals(2, port.counters().get(EndpointCounter.RX_POOL_EXHAUSTED));
            assertEquals(5, port.counters().get(EndpointCounter.RX_FRAMES));
            assertEquals(0, port.receive(frames, frames.length));
            assertEquals(2, pool.available());
        }
    }

    @Test
    void shouldCountDropsAndStillReleaseFramesWhileTheLinkIsDown() throws Exception
    {
        TapLab.assumeRootWithTap();
        try (TapLab lab = TapLab.create(false); FramePool pool = new FramePool(16))
        {
            final TapPort port = new TapPort(3, lab.device, pool);
            final Frame[] frames = new Frame[4];
            for (int i = 0; i < frames.length; i++)
            {
                frames[i] = broadcastFrame(pool, i);
            }
            assertEquals(4, port.transmit(frames, 4), "the port owns every frame it is given");
            assertEquals(4, port.counters().get(EndpointCounter.TX_DROPS));
            assertEquals(0, port.counters().get(EndpointCounter.TX_FRAMES));
            assertEquals(0, port.counters().get(EndpointCounter.TX_ERRORS));
            assertEquals(Errno.EIO, port.lastTxErrno());
            assertEquals(16, pool.available());
        }
    }

    @Test
    void shouldCountTxErrorForAFrameTheKernelRefuses() throws Exception
    {
        TapLab.assumeRootWithTap();
        try (TapLab lab = TapLab.create(true); FramePool pool = new FramePool(4))
        {
            final TapPort port = new TapPort(3, lab.device, pool);
            final Frame runt = broadcastFrame(pool, 0);
            runt.length(8);
            final Frame jumbo = broadcastFrame(pool, 1);
            jumbo.length(4000);
            assertEquals(2, port.transmit(new Frame[] {runt, jumbo}, 2));
            assertEquals(1, port.counters().get(EndpointCounter.TX_ERRORS));
            assertEquals(Errno.EINVAL, port.lastTxErrno());
            assertEquals(1, port.counters().get(EndpointCounter.TX_FRAMES), "larger than the MTU: written, the kernel decides");
            assertEquals(4, pool.available());
        }
    }

    /**
     * An IPv4 super-frame from vsnic to the guest: {@code segments} UDP datagrams (or TCP segments) of
     * {@code gsoSize} bytes, checksums left as zero and not partial, with the given {@code gso_type}.
     */
    private static Frame superFrame(final FramePool superPool, final TapLab lab, final int gsoType, final boolean udp,
        final int gsoSize, final int segments)
    {
        final Frame frame = superPool.acquire();
        assertNotNull(frame, "super pool exhausted in test setup");
        final int l4Length = (udp ? 8 : 20) + gsoSize * segments;
        final java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(14 + 20 + l4Length);
        b.put(mac(lab.guestMac)).put(mac(lab.vsnicMac)).putShort((short)0x0800);
        b.put((byte)0x45).put((byte)0).putShort((short)(20 + l4Length)).putShort((short)7).putShort((short)0x4000).put((byte)64)
            .put((byte)(udp ? 17 : 6)).putShort((short)0).putInt(lab.vsnicIp).putInt(lab.guestIp);
        if (udp)
        {
            b.putShort((short)40000).putShort((short)9).putShort((short)l4Length).putShort((short)0);
        }
        else
        {
            b.putShort((short)40000).putShort((short)9).putInt(1).putInt(0).put((byte)0x50).put((byte)0x10).putShort((short)1024)
                .putInt(0);
        }
        for (int i = 0; i < gsoSize * segments; i++)
        {
            b.put((byte)i);
        }
        final byte[] bytes = b.array();
        MemorySegment.copy(bytes, 0, frame.segment(), java.lang.foreign.ValueLayout.JAVA_BYTE, frame.start(), bytes.length);
        frame.length(bytes.length);
        frame.gso(gsoType, gsoSize);
        return frame;
    }

    private static byte[] mac(final long mac)
    {
        final byte[] bytes = new byte[6];
        for (int i = 0; i < 6; i++)
        {
            bytes[i] = (byte)(mac >>> (40 - 8 * i));
        }
        return bytes;
    }

    @Test
    void shouldCutASuperFrameTheKernelRefusesWholeAndStopTakingSuperFrames() throws Exception
    {
        TapLab.assumeRootWithTap();
        try (TapLab lab = TapLab.create(true, TapOptions.defaults().withOffloads(12, TapOptions.ALL_OFFLOADS));
            FramePool pool = new FramePool(16);
            FramePool superPool = new FramePool(2, 66_048, FramePool.DEFAULT_HEADROOM_BYTES))
        {
            final TapPort port = new TapPort(3, lab.device, pool, superPool);
            final java.util.concurrent.atomic.AtomicInteger offloadChanges = new java.util.concurrent.atomic.AtomicInteger();
            port.onOffloadsChanged(offloadChanges::incrementAndGet);
            assertEquals(Port.OFFLOAD_PARTIAL_CHECKSUM | Port.OFFLOAD_SUPER_FRAMES, port.txOffloads());
            assertEquals("on", port.coalescedWrites());

            // A frame that is wrong, not refused for being coalesced: TCP over IPv4 labelled GSO_TCPV6 (partial checksum). The kernel
            // refuses it (EINVAL) and so does the segmenter: a tx error, and the port still takes super-frames.
            final Frame mislabelled = superFrame(superPool, lab, VirtioNetHeader.GSO_TCPV6, false, 1000, 2).checksumPartial(34, 16);
            assertEquals(1, port.transmit(new Frame[] {mislabelled}, 1));
            assertEquals(1, port.counters().get(EndpointCounter.TX_ERRORS));
            assertEquals(0, port.counters().get(EndpointCounter.TX_COALESCED_REFUSED));
            assertEquals("on", port.coalescedWrites());
            assertEquals(0, offloadChanges.get());

            // A correct USO super-frame without NEEDS_CSUM: the kernel refuses the coalesced form (virtio_net_hdr_to_skb
            // wants a partial checksum for GSO_UDP_L4) but takes its three segments.
            final long rxBefore = lab.kernelRxPackets();
            final long noPortsBefore = lab.udpCounter("NoPorts");
            final long csumErrorsBefore = lab.udpCounter("InCsumErrors");
            final Frame refused = superFrame(superPool, lab, VirtioNetHeader.GSO_UDP_L4, true, 1000, 3);
            assertEquals(1, port.transmit(new Frame[] {refused}, 1));
            assertEquals(1, port.counters().get(EndpointCounter.TX_COALESCED_REFUSED));
            assertEquals(1, port.counters().get(EndpointCounter.TX_FRAMES), "the super-frame went, as its segments");
            assertEquals(1, port.counters().get(EndpointCounter.TX_ERRORS), "no new error");
            assertEquals(0, port.counters().get(EndpointCounter.TX_SUPER_FRAMES));
            assertEquals(Port.OFFLOAD_PARTIAL_CHECKSUM, port.txOffloads(), "the worker cuts super-frames for this port from now on");
            assertEquals(1, offloadChanges.get(), "the data plane is told (it stops merging for this port)");
            assertEquals("off (refused on write: udp_l4)", port.coalescedWrites());
            assertEquals(rxBefore + 3, lab.kernelRxPackets(), "three segments reached the guest");
            assertEquals(noPortsBefore + 3, lab.udpCounter("NoPorts"), "the guest's UDP took all three (length and checksum good)");
            assertEquals(csumErrorsBefore, lab.udpCounter("InCsumErrors"));
            assertEquals(16, pool.available(), "every segment went back to the pool");
            assertEquals(2, superPool.available());
        }
    }

    @Test
    void shouldLeaveAQuarterOfTheSuperFramePoolFreePerReadAndTheRestQueued() throws Exception
    {
        TapLab.assumeRootWithTap();
        assumeTrue(NetNs.findExecutable("python3").isPresent(), "python3 is not installed (the guest sends with UDP_SEGMENT)");
        final int sends = 8;
        final int segments = 4;
        try (TapLab lab = TapLab.create(true, TapOptions.defaults().withOffloads(12, TapOptions.ALL_OFFLOADS));
            FramePool pool = new FramePool(16);
            FramePool superPool = new FramePool(sends, FramePool.SUPER_SLOT_BYTES, FramePool.DEFAULT_HEADROOM_BYTES))
        {
            assumeTrue((lab.device.offloads() & TunFlags.TUN_F_USO4) != 0,
                "this kernel's TAP did not take USO4 (" + TunFlags.describeOffloads(lab.device.offloads()) + ")");
            final TapPort port = new TapPort(4, lab.device, pool, superPool);
            // The guest queues eight USO super-frames (one UDP_SEGMENT send of four datagrams each) before vsnic reads.
            final NetNs.Result neighbour = lab.net.exec(lab.ns, NetNs.IP_TIMEOUT, "ip", "neigh", "replace", lab.vsnicAddress(),
                "lladdr", lab.vsnicMacText(), "dev", lab.link, "nud", "permanent");
            assertTrue(neighbour.ok(), neighbour.describe());
            final String sender = "import socket\n" +
                "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n" +
                "s.setsockopt(17, 103, 1000)\n" +
                "for i in range(" + sends + "): s.sendto(bytes([i]) * " + (1000 * segments) + ", ('" + lab.vsnicAddress() + "', 9))\n";
            final NetNs.Result send = lab.net.exec(lab.ns, Duration.ofSeconds(20), "python3", "-c", sender);
            assertTrue(send.ok(), send.describe());

            final Frame[] frames = new Frame[64];
            final List<Frame> held = new ArrayList<>();
            final int first = port.receive(frames, frames.length);
            assertEquals(6, first, "one read leaves a quarter of the eight slots free");
            held.addAll(Arrays.asList(frames).subList(0, first));
            assertEquals(2, superPool.available(), "the reserve, for the other ports and the coalescer");
            // With frames still held, each read takes one: at least one, however low the pool is.
            for (final int expected : new int[] {1, 1})
            {
                final int count = port.receive(frames, frames.length);
                assertEquals(expected, count);
                held.addAll(Arrays.asList(frames).subList(0, count));
            }
            assertEquals(0, superPool.available());
            assertEquals(0, port.counters().get(EndpointCounter.RX_POOL_EXHAUSTED));
            assertEquals(3, port.counters().get(EndpointCounter.RX_SUPER_RESERVE_STOPS), "each of the three reads stopped at the reserve");
            for (int i = 0; i < sends; i++)
            {
                final Frame frame = held.get(i);
                assertEquals(VirtioNetHeader.GSO_UDP_L4, frame.gsoType(), "super-frame " + i);
                assertEquals(1000, frame.gsoSize());
                assertEquals(14 + 20 + 8 + 1000 * segments, frame.length());
                assertEquals((byte)i, frame.segment().get(java.lang.foreign.ValueLayout.JAVA_BYTE, frame.start() + 42),
                    "the guest's sends arrive in order, none lost");
                frame.release();
            }
            assertEquals(sends, port.counters().get(EndpointCounter.RX_SUPER_FRAMES));
            assertEquals(0, port.receive(frames, frames.length), "nothing was left behind in the TAP");
        }
    }

    @Test
    void shouldTransmitFromSeveralWorkersAtOnceWithoutLosingCount() throws Exception
    {
        TapLab.assumeRootWithTap();
        final int threads = 4;
        final int framesPerThread = 250;
        // One pool shared by the senders, as the workers of a data plane share theirs: the port releases
        // frames from several threads into it at once (64 slots: each sender holds 5 at a time).
        final FramePool senderPool = new FramePool(64);
        try (TapLab lab = TapLab.create(true); FramePool pool = new FramePool(16))
        {
            final TapPort port = new TapPort(4, lab.device, pool);
            final long kernelBefore = lab.kernelRxPackets();
            final ExecutorService executor = Executors.newFixedThreadPool(threads);
            try
            {
                final CountDownLatch start = new CountDownLatch(1);
                final List<Future<?>> results = new ArrayList<>();
                for (int t = 0; t < threads; t++)
                {
                    final int thread = t;
                    results.add(executor.submit(() ->
                    {
                        start.await();
                        final Frame[] batch = new Frame[5];
                        for (int i = 0; i < framesPerThread; i += batch.length)
                        {
                            for (int k = 0; k < batch.length; k++)
                            {
                                batch[k] = broadcastFrame(senderPool, thread << 16 | (i + k));
                            }
                            assertEquals(batch.length, port.transmit(batch, batch.length));
                        }
                        return null;
                    }));
                }
                start.countDown();
                for (final Future<?> result : results)
                {
                    result.get(30, TimeUnit.SECONDS);
                }
            }
            finally
            {
                executor.shutdownNow();
                assertTrue(executor.awaitTermination(10, TimeUnit.SECONDS));
            }
            final long total = (long)threads * framesPerThread;
            assertEquals(total, port.counters().get(EndpointCounter.TX_FRAMES) + port.counters().get(EndpointCounter.TX_DROPS));
            assertEquals(0, port.counters().get(EndpointCounter.TX_ERRORS));
            assertEquals(60 * port.counters().get(EndpointCounter.TX_FRAMES), port.counters().get(EndpointCounter.TX_BYTES));
            assertEquals(port.counters().get(EndpointCounter.TX_FRAMES), lab.kernelRxPackets() - kernelBefore,
                "every write the port counted reached the kernel");
            assertEquals(64, senderPool.available(), "the port released every frame it was given");
        }
        finally
        {
            senderPool.close();
        }
    }

    @Test
    void shouldStopQuietlyAfterClose() throws Exception
    {
        TapLab.assumeRootWithTap();
        try (TapLab lab = TapLab.create(true); FramePool pool = new FramePool(4))
        {
            final TapPort port = new TapPort(5, lab.device, pool);
            port.close();
            port.close();
            assertEquals(0, port.receive(new Frame[4], 4));
            assertEquals(0, port.counters().get(EndpointCounter.RX_ERRORS), "a closed port is not an error source");
            final Frame frame = broadcastFrame(pool, 0);
            assertEquals(1, port.transmit(new Frame[] {frame}, 1));
            assertEquals(1, port.counters().get(EndpointCounter.TX_ERRORS));
            assertEquals(4, pool.available());
        }
    }
}
