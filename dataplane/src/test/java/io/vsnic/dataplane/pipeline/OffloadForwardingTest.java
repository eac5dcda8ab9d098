package io.vsnic.dataplane.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;

import io.vsnic.dataplane.buffer.Frame;
import io.vsnic.dataplane.config.Encapsulation;
import io.vsnic.dataplane.config.NetworkSpec;
import io.vsnic.dataplane.config.PeerSpec;
import io.vsnic.dataplane.config.PortSpec;
import io.vsnic.dataplane.config.RemoteSpec;
import io.vsnic.dataplane.config.SubnetSpec;
import io.vsnic.dataplane.offload.OffloadFrames;
import io.vsnic.dataplane.offload.VirtioNetHeader;
import io.vsnic.dataplane.protocol.IpProtocol;
import io.vsnic.dataplane.protocol.TcpFlyweight;
import io.vsnic.dataplane.security.CompiledPolicy;
import io.vsnic.dataplane.security.ConnectionTimeouts;
import io.vsnic.dataplane.security.Direction;
import io.vsnic.dataplane.security.SecurityGroup;
import io.vsnic.dataplane.security.SecurityRule;
import io.vsnic.dataplane.status.DropReason;
import io.vsnic.dataplane.substrate.OverlayHeaders;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Offload super-frames through the worker: one decision per super-frame, cut into segments for a
 * port that does not take them (memory port, overlay), forwarded whole to one that does, partial
 * checksums completed where needed, and segments from the overlay coalesced for a port that takes
 * super-frames.
 */
class OffloadForwardingTest
{
    private static final int MSS = 1448;
    private static final int VNI = 100;
    private static final int OVERLAY = 4000;
    private static final long MAC_A = mac(OffloadFrames.MAC_SRC);
    private static final long MAC_B = mac(OffloadFrames.MAC_DST);
    private static final int BOTH = Port.OFFLOAD_SUPER_FRAMES | Port.OFFLOAD_PARTIAL_CHECKSUM;

    private PipelineHarness harness;

    @AfterEach
    void tearDown()
    {
        if (harness != null)
        {
            harness.close();
        }
    }

    private static long mac(final byte[] bytes)
    {
        long value = 0;
        for (final byte b : bytes)
        {
            value = value << 8 | (b & 0xFF);
        }
        return value;
    }

    /**
     * Network blue: VM A (10.60.1.10) on port 1 unless remote, VM B (10.60.1.20) on port 2 unless remote;
     * a remote VM sits at device 7 behind the overlay.
     */
    private void configure(final boolean aRemote, final boolean bRemote, final int portOffloads)
    {
        harness = new PipelineHarness();
        final List<RemoteSpec> remotes = new ArrayList<>();
        final List<PortSpec> ports = new ArrayList<>();
        // open, but tracked (rules per protocol, not "everything"): the flow count proves one decision per super-frame
        final CompiledPolicy open = CompiledPolicy.compile(List.of(SecurityGroup.withDefaultEgress("open", List.of(
            new SecurityRule(Direction.INGRESS, IpProtocol.TCP, 1, 65535, "0.0.0.0/0"),
            new SecurityRule(Direction.INGRESS, IpProtocol.TCP, 1, 65535, "::/0"),
            new SecurityRule(Direction.INGRESS, IpProtocol.UDP, 1, 65535, "0.0.0.0/0"),
            new SecurityRule(Direction.INGRESS, IpProtocol.UDP, 1, 65535, "::/0")))));
        if (aRemote)
        {
            remotes.add(new RemoteSpec("10.60.1.10", MAC_A, 7));
        }
        else
        {
            ports.add(new PortSpec(1, "vm-a", "blue", MAC_A, "10.60.1.10", "fd00:0:0:1::10", open, true));
        }
        if (bRemote)
        {
            remotes.add(new RemoteSpec("10.60.1.20", MAC_B, 7));
        }
        else
        {
            ports.add(new PortSpec(2, "vm-b", "blue", MAC_B, "10.60.1.20", "fd00:0:0:1::20", open, true));
        }
        for (final PortSpec spec : ports)
        {
            harness.offloadVnic(spec.id(), spec.id() == 2 ? portOffloads : 0);
        }
        final NetworkSpec blue = new NetworkSpec("blue", VNI, 1500,
            List.of(new SubnetSpec("10.60.1.0/24", "10.60.1.1"), new SubnetSpec("fd00:0:0:1::/64", "fd00:0:0:1::1")),
            List.of(), remotes);
        harness.configure(List.of(blue), ports,
            List.of(new PeerSpec(7, "device-7", "192.0.2.7:6081", Encapsulation.GENEVE, List.of(VNI))));
        harness.overlay(OVERLAY);
    }

    private static OffloadFrames.Spec flow(final boolean v6, final int payload)
    {
        final OffloadFrames.Spec spec = new OffloadFrames.Spec();
        spec.v6 = v6;
        spec.payload = OffloadFrames.payload(payload, 21);
        return spec;
    }

    private static OffloadFrames.Spec syn(final OffloadFrames.Spec flow)
    {
        final OffloadFrames.Spec syn = flow.copy();
        syn.flags = TcpFlyweight.SYN;
        syn.sequence = flow.sequence - 1;
        syn.ipId = flow.ipId - 1;
        syn.payload = new byte[0];
        return syn;
    }

    private void inject(final int portId, final Frame frame)
    {
        assertTrue(harness.ports.get(portId).inject(frame));
    }

    private Frame superFrame(final OffloadFrames.Spec flow, final int gsoSize)
    {
        final OffloadFrames.Spec partial = flow.copy();
        partial.partialChecksum = true;
        final Frame frame = OffloadFrames.load(harness.dataPlane.superPool(), OffloadFrames.build(partial));
        frame.gso(flow.v6 ? VirtioNetHeader.GSO_TCPV6 : VirtioNetHeader.GSO_TCPV4, gsoSize)
            .checksumPartial(flow.headerLength() - flow.l4HeaderLength(), TcpFlyweight.CHECKSUM_OFFSET);
        return frame;
    }

    private List<Frame> drainPort(final int portId)
    {
        final List<Frame> frames = new ArrayList<>();
        Frame frame;
        while ((frame = harness.ports.get(portId).poll()) != null)
        {
            frames.add(frame);
        }
        return frames;
    }

    @Test
    void shouldCutASuperFrameForAPortThatDoesNotTakeIt()
    {
        for (final boolean v6 : List.of(false, true))
        {
            configure(false, false, 0);
            // segments of exactly the network MTU: 1500 - 20 (IPv4) or 40 (IPv6) - 32 (TCP with timestamps)
            final int mss = v6 ? MSS - 20 : MSS;
            final OffloadFrames.Spec flow = flow(v6, 10 * mss);
            inject(1, OffloadFrames.load(harness.dataPlane.pool(), OffloadFrames.build(syn(flow))));
            inject(1, superFrame(flow, mss));
            harness.drain();

            final List<Frame> out = drainPort(2);
            assertEquals(11, out.size(), "the SYN and ten segments");
            for (int k = 0; k < 10; k++)
            {
                final OffloadFrames.Spec expected = flow.copy();
                expected.sequence = flow.sequence + (long)k * mss & 0xFFFF_FFFFL;
                expected.ipId = flow.ipId + k;
                expected.payload = OffloadFrames.slice(flow.payload, k * mss, mss);
                assertArrayEquals(OffloadFrames.build(expected), out.get(k + 1).toByteArray(), "v6=" + v6 + " segment " + k);
                assertFalse(out.get(k + 1).checksumPartial());
            }
            out.forEach(Frame::release);
            assertEquals(1, harness.counters().superFramesSegmented());
            assertEquals(10, harness.counters().segmentsBuilt());
            assertEquals(1, harness.counters().flowsCreated(), "one flow, one decision for the super-frame");
            assertEquals(0, harness.counters().totalDrops(), harness.counters().dropsByReason().toString());
            assertEquals(harness.dataPlane.config().superFrameSlots(), harness.dataPlane.superPool().available(),
                "the super-frame went back after it was cut");
            harness.close();
            harness = null;
        }
    }

    @Test
    void shouldForwardASuperFrameWholeToAPortThatTakesIt()
    {
        configure(false, false, BOTH);
        final OffloadFrames.Spec flow = flow(false, 40 * MSS);
        inject(1, OffloadFrames.load(harness.dataPlane.pool(), OffloadFrames.build(syn(flow))));
        inject(1, superFrame(flow, MSS));
        harness.drain();

        final List<Frame> out = drainPort(2);
        assertEquals(2, out.size());
        final Frame whole = out.get(1);
        assertTrue(whole.isSuperFrame());
        assertEquals(MSS, whole.gsoSize());
        assertTrue(whole.checksumPartial(), "the receiver finishes the checksum");
        final OffloadFrames.Spec partial = flow.copy();
        partial.partialChecksum = true;
        assertArrayEquals(OffloadFrames.build(partial), whole.toByteArray());
        out.forEach(Frame::release);
        assertEquals(0, harness.counters().superFramesSegmented());
    }

    @Test
    void shouldCompleteAPartialChecksumForAPortThatNeedsItComplete()
    {
        configure(false, false, 0);
        final OffloadFrames.Spec flow = flow(false, 700);
        final OffloadFrames.Spec partial = flow.copy();
        partial.partialChecksum = true;
        inject(1, OffloadFrames.load(harness.dataPlane.pool(), OffloadFrames.build(syn(flow))));
        inject(1, OffloadFrames.load(harness.dataPlane.pool(), OffloadFrames.build(partial)).checksumPartial(34, 16));
        harness.drain();

        final List<Frame> out = drainPort(2);
        assertEquals(2, out.size());
        assertArrayEquals(OffloadFrames.build(flow), out.get(1).toByteArray());
        out.forEach(Frame::release);
        assertEquals(1, harness.counters().checksumsCompleted());
    }

    @Test
    void shouldCutASuperFrameBeforeTheOverlayAndCheckTheMtuPerSegment()
    {
        configure(false, true, 0);
        final OffloadFrames.Spec flow = flow(false, 5 * MSS);
        inject(1, OffloadFrames.load(harness.dataPlane.pool(), OffloadFrames.build(syn(flow))));
        inject(1, superFrame(flow, MSS));
        // 20 + 32 + 1460 > 1500: its segments would not fit the network MTU.
        final OffloadFrames.Spec tooLarge = flow.copy();
        tooLarge.sequence += 5 * MSS;
        tooLarge.payload = OffloadFrames.payload(4 * 1460, 22);
        inject(1, superFrame(tooLarge, 1460));
        harness.drain();

        final List<Frame> out = drainPort(OVERLAY);
        assertEquals(6, out.size(), "the SYN and five segments");
        for (final Frame frame : out)
        {
            assertEquals(7, frame.peerDevice());
            assertEquals(VNI, frame.vni());
            assertTrue(frame.length() <= 1514);
            assertTrue(OffloadFrames.checksumsValid(frame.toByteArray()));
        }
        out.forEach(Frame::release);
        assertEquals(1, harness.counters().drops(DropReason.MTU_EXCEEDED));
    }

    @Test
    void shouldCoalesceSegmentsFromTheOverlayForAPortThatTakesSuperFrames()
    {
        configure(true, false, BOTH);
        final OffloadFrames.Spec flow = flow(false, 20 * MSS);
        final OverlayHeaders overlayHeaders = new OverlayHeaders();
        final List<byte[]> wire = new ArrayList<>();
        wire.add(OffloadFrames.build(syn(flow)));
        for (int k = 0; k < 20; k++)
        {
            final OffloadFrames.Spec segment = flow.copy();
            segment.sequence = flow.sequence + (long)k * MSS & 0xFFFF_FFFFL;
            segment.ipId = flow.ipId + k;
            segment.payload = OffloadFrames.slice(flow.payload, k * MSS, MSS);
            wire.add(OffloadFrames.build(segment));
        }
        final MemoryPort overlay = harness.ports.get(OVERLAY);
        for (final byte[] bytes : wire)
        {
            final Frame frame = OffloadFrames.load(harness.dataPlane.pool(), bytes);
            overlayHeaders.encapsulate(frame, Encapsulation.GENEVE, VNI);
            harness.send(overlay, frame, -1, 7);
        }
        harness.drain();

        final List<Frame> out = drainPort(2);
        assertEquals(2, out.size(), "the SYN, then one super-frame of twenty segments");
        final Frame merged = out.get(1);
        assertEquals(VirtioNetHeader.GSO_TCPV4, merged.gsoType());
        assertEquals(MSS, merged.gsoSize());
        final OffloadFrames.Spec partial = flow.copy();
        partial.partialChecksum = true;
        assertArrayEquals(OffloadFrames.build(partial), merged.toByteArray());
        out.forEach(Frame::release);
        assertEquals(19, harness.counters().segmentsCoalesced());
        assertEquals(1, harness.counters().superFramesCoalesced());
        assertEquals(21, harness.counters().portRxPackets(OVERLAY), "every segment counted as received");
        assertEquals(1, harness.counters().flowsCreated());
        assertEquals(0, harness.counters().totalDrops(), harness.counters().dropsByReason().toString());
        // merged before the pipeline (ingress GRO): the network saw the SYN and one super-frame
        assertEquals(2, harness.counters().networkRxPackets(0));
        assertEquals(2, harness.counters().portTxPackets(2));
    }

    /**
     * A Linux VXLAN peer on the same host sends a whole tunnel GSO packet: one overlay datagram with an
     * inner TCP packet far over the MTU whose checksum field is the pseudo-header sum. It is taken as a
     * super-frame cut at the network MTU: whole to a port that takes super-frames, in MTU-sized
     * segments to one that does not. The same packet with a complete checksum is not such a packet:
     * it is over the network MTU, so it is dropped and its sender gets fragmentation-needed back over
     * the overlay, as for any other frame over the MTU.
     */
    @Test
    void shouldTakeAWholeTunnelGsoPacketFromTheOverlayAsASuperFrame()
    {
        for (final int offloads : new int[] {BOTH, 0})
        {
            for (final boolean partialChecksum : new boolean[] {true, false})
            {
                configure(true, false, offloads);
                final OffloadFrames.Spec flow = flow(false, 20 * MSS);
                flow.partialChecksum = partialChecksum;
                final MemoryPort overlay = harness.ports.get(OVERLAY);
                final OverlayHeaders overlayHeaders = new OverlayHeaders();
                for (final byte[] bytes : List.of(OffloadFrames.build(syn(flow)), OffloadFrames.build(flow)))
                {
                    final Frame frame = OffloadFrames.load(bytes.length > 9000 ? harness.dataPlane.superPool() :
                        harness.dataPlane.pool(), bytes);
                    overlayHeaders.encapsulate(frame, Encapsulation.GENEVE, VNI);
                    harness.send(overlay, frame, -1, 7);
                }
                harness.drain();
                final List<Frame> out = drainPort(2);
                final String what = "offloads " + offloads + ", partial checksum " + partialChecksum;
                if (!partialChecksum)
                {
                    assertEquals(1, out.size(), "only the SYN: " + what);
                    assertEquals(1, harness.counters().drops(DropReason.MTU_EXCEEDED), what);
                    final List<Frame> back = drainPort(OVERLAY);
                    assertEquals(1, back.size(), "fragmentation-needed back to the sender: " + what);
                    assertEquals(7, back.get(0).peerDevice());
                    back.forEach(Frame::release);
                }
                else if (offloads == BOTH)
                {
                    assertEquals(2, out.size(), what);
                    assertEquals(VirtioNetHeader.GSO_TCPV4, out.get(1).gsoType());
                    assertEquals(MSS, out.get(1).gsoSize(), "cut at the network MTU: 1500 - 20 - 32");
                    assertArrayEquals(OffloadFrames.build(flow), out.get(1).toByteArray(), what);
                }
                else
                {
                    assertEquals(21, out.size(), "the SYN and twenty segments: " + what);
                    for (int k = 1; k < out.size(); k++)
                    {
                        assertTrue(OffloadFrames.checksumsValid(out.get(k).toByteArray()), "segment " + k);
                        assertEquals(14 + 20 + 32 + MSS, out.get(k).length());
                    }
                }
                out.forEach(Frame::release);
                harness.close();
                harness = null;
            }
        }
    }

    @Test
    void shouldNotCoalesceFromTheOverlayWhenNoPortTakesSuperFrames()
    {
        configure(true, false, 0);
        final OffloadFrames.Spec flow = flow(false, 4 * MSS);
        final OverlayHeaders overlayHeaders = new OverlayHeaders();
        final MemoryPort overlay = harness.ports.get(OVERLAY);
        final List<OffloadFrames.Spec> wire = new ArrayList<>();
        wire.add(syn(flow));
        for (int k = 0; k < 4; k++)
        {
            final OffloadFrames.Spec segment = flow.copy();
            segment.sequence = flow.sequence + (long)k * MSS & 0xFFFF_FFFFL;
            segment.ipId = flow.ipId + k;
            segment.payload = OffloadFrames.slice(flow.payload, k * MSS, MSS);
            wire.add(segment);
        }
        for (final OffloadFrames.Spec spec : wire)
        {
            final Frame frame = OffloadFrames.load(harness.dataPlane.pool(), OffloadFrames.build(spec));
            overlayHeaders.encapsulate(frame, Encapsulation.GENEVE, VNI);
            harness.send(overlay, frame, -1, 7);
        }
        harness.drain();
        final List<Frame> out = drainPort(2);
        assertEquals(5, out.size(), "segments pass one by one: merging would only be cut again");
        for (int k = 0; k < 5; k++)
        {
            assertArrayEquals(OffloadFrames.build(wire.get(k)), out.get(k).toByteArray(), "frame " + k);
        }
        out.forEach(Frame::release);
        assertEquals(0, harness.counters().superFramesCoalesced());
        assertEquals(0, harness.counters().superFramesSegmented());
    }

    /** A vNIC port whose transmit offloads can be lost at run time, like a TAP whose kernel refuses a coalesced write. */
    private static final class FallingBackPort implements Port
    {
        volatile int offloads = Port.OFFLOAD_PARTIAL_CHECKSUM | Port.OFFLOAD_SUPER_FRAMES;
        volatile Runnable listener;

        @Override
        public int txOffloads()
        {
            return offloads;
        }

        @Override
        public void onOffloadsChanged(final Runnable value)
        {
            listener = value;
        }

        @Override
        public int id()
        {
            return 5;
        }

        @Override
        public int kind()
        {
            return Port.KIND_VNIC;
        }

        @Override
        public int receive(final Frame[] frames, final int max)
        {
            return 0;
        }

        @Override
        public int transmit(final Frame[] frames, final int count)
        {
            for (int i = 0; i < count; i++)
            {
                frames[i].release();
            }
            return count;
        }

        void loseSuperFrames()
        {
            offloads = Port.OFFLOAD_PARTIAL_CHECKSUM;
            final Runnable callback = listener;
            if (callback != null)
            {
                callback.run();
            }
        }
    }

    @Test
    void shouldStopIngressMergingWhenTheLastSuperFrameReceiverLosesTheOffload()
    {
        try (DataPlane dataPlane = new DataPlane(new DataPlaneConfig(1, 1024, 4096, ConnectionTimeouts.DEFAULTS)))
        {
            final FallingBackPort port = new FallingBackPort();
            assertFalse(dataPlane.superFrameReceivers(), "no port yet");
            dataPlane.addPort(port);
            assertTrue(dataPlane.superFrameReceivers(), "a vNIC that takes super-frames with partial checksums");
            port.loseSuperFrames();
            assertFalse(dataPlane.superFrameReceivers(), "its kernel refused a coalesced write: merging would only be cut again");
            dataPlane.removePort(port.id());
            assertNull(port.listener, "a removed port no longer reports to the data plane");
        }
    }
}
