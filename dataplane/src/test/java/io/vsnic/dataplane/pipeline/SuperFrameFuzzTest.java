package io.vsnic.dataplane.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.SplittableRandom;

import io.vsnic.dataplane.buffer.Frame;
import io.vsnic.dataplane.buffer.FramePool;
import io.vsnic.dataplane.config.Encapsulation;
import io.vsnic.dataplane.config.NetworkSpec;
import io.vsnic.dataplane.config.PeerSpec;
import io.vsnic.dataplane.config.PortSpec;
import io.vsnic.dataplane.config.RemoteSpec;
import io.vsnic.dataplane.config.SubnetSpec;
import io.vsnic.dataplane.offload.OffloadFrames;
import io.vsnic.dataplane.offload.VirtioNetHeader;
import io.vsnic.dataplane.protocol.Checksums;
import io.vsnic.dataplane.protocol.Flyweight;
import io.vsnic.dataplane.security.CompiledPolicy;
import io.vsnic.dataplane.status.DropReason;
import io.vsnic.dataplane.substrate.OverlayHeaders;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Seeded fuzzing of the offload path of the worker: super-frames from a vNIC with every GSO type
 * and size a TAP lets through (a size above zero, a checksum position inside the frame), over TCP,
 * UDP and damaged headers, to a local port that takes super-frames, one that does not (cut in
 * software) and a remote VM (cut and encapsulated); and Geneve datagrams from the overlay,
 * valid and damaged, including oversize ones in super-frame slots. Whatever comes in: no
 * exception, every frame of both pools back, damaged input dropped and counted, and valid input
 * still forwarded: segmented, encapsulated and answered (fragmentation-needed) alike.
 */
class SuperFrameFuzzTest
{
    private static final long SEED = 0x7375_7065_72L; // "super"
    private static final int ROUNDS = 3_000;
    private static final int VNI = 100;
    private static final int OVERLAY = 4000;
    private static final long MAC_A = 0x02_00_00_00_0a_0aL;
    private static final long MAC_B = 0x02_00_00_00_0b_0bL;
    private static final long MAC_C = 0x02_00_00_00_0c_0cL;
    private static final int[] GSO_TYPES = {VirtioNetHeader.GSO_NONE, VirtioNetHeader.GSO_TCPV4, VirtioNetHeader.GSO_TCPV6,
        VirtioNetHeader.GSO_UDP_L4, VirtioNetHeader.GSO_TCPV4 | VirtioNetHeader.GSO_ECN, VirtioNetHeader.GSO_UDP /* UFO: never negotiated */};
    private static final int[] GSO_SIZES = {1, 7, 536, 1280, 1428, 1448, 1460, 1500, 9000, 65_535};

    private final SplittableRandom random = new SplittableRandom(SEED);
    private PipelineHarness harness;

    @AfterEach
    void tearDown()
    {
        if (harness != null)
        {
            harness.close();
        }
    }

    @Test
    void shouldSurviveAnySuperFrameAndAnyOverlayDatagram()
    {
        for (final int offloads : new int[] {Port.OFFLOAD_SUPER_FRAMES | Port.OFFLOAD_PARTIAL_CHECKSUM, 0})
        {
            configure(offloads);
            final DataPlane dataPlane = harness.dataPlane;
            long injected = 0;
            for (int round = 0; round < ROUNDS; round++)
            {
                final int burst = 1 + random.nextInt(8);
                for (int k = 0; k < burst; k++)
                {
                    final Frame frame = random.nextInt(4) == 0 ? overlayDatagram(dataPlane) : superFrame(dataPlane);
                    if (frame == null)
                    {
                        continue;
                    }
                    final MemoryPort port = harness.ports.get(frame.port() == OVERLAY ? OVERLAY : 1);
                    if (frame.port() == OVERLAY)
                    {
                        harness.send(port, frame, -1, 7);
                    }
                    else
                    {
                        harness.send(port, frame, -1, -1);
                    }
                    injected++;
                }
                harness.drain();
                for (final int id : new int[] {1, 2, OVERLAY})
                {
                    Frame out;
                    while ((out = harness.ports.get(id).poll()) != null)
                    {
                        assertTrue(out.length() > 0 && out.length() <= out.segment().byteSize(), "a frame with bytes");
                        out.release();
                    }
                }
            }
            final var counters = harness.counters();
            final String summary = "offloads " + offloads + ": injected " + injected + ", tx vm-b " + counters.portTxPackets(2)
                + ", tx overlay " + counters.portTxPackets(OVERLAY) + ", tx vm-a " + counters.portTxPackets(1) + ", segmented "
                + counters.superFramesSegmented() + " into " + counters.segmentsBuilt() + ", drops " + counters.dropsByReason();
            assertTrue(injected > ROUNDS, summary);
            assertEquals(dataPlane.pool().capacity(), dataPlane.pool().available(), "every frame went back; " + summary);
            assertEquals(dataPlane.superPool().capacity(), dataPlane.superPool().available(),
                "every super-frame went back; " + summary);
            assertTrue(counters.drops(DropReason.BAD_CHECKSUM) > 0 && counters.drops(DropReason.SEGMENTATION_FAILED) > 0,
                "damaged input was dropped and counted; " + summary);
            assertTrue(counters.portTxPackets(2) > ROUNDS && counters.portTxPackets(OVERLAY) > ROUNDS &&
                counters.segmentsBuilt() > ROUNDS, "valid input was forwarded; " + summary);
            harness.close();
            harness = null;
        }
    }

    private void configure(final int offloads)
    {
        harness = new PipelineHarness();
        final CompiledPolicy open = CompiledPolicy.allowAll();
        final List<PortSpec> ports = List.of(
            new PortSpec(1, "vm-a", "blue", MAC_A, "10.60.1.10", "fd00:0:0:1::10", open, true),
            new PortSpec(2, "vm-b", "blue", MAC_B, "10.60.1.20", "fd00:0:0:1::20", open, true));
        for (final PortSpec spec : ports)
        {
            harness.offloadVnic(spec.id(), spec.id() == 2 ? offloads : 0);
        }
        final NetworkSpec blue = new NetworkSpec("blue", VNI, 1500,
            List.of(new SubnetSpec("10.60.1.0/24", "10.60.1.1"), new SubnetSpec("fd00:0:0:1::/64", "fd00:0:0:1::1")),
            List.of(), List.of(new RemoteSpec("10.60.1.30", MAC_C, 7)));
        harness.configure(List.of(blue), ports,
            List.of(new PeerSpec(7, "device-7", "192.0.2.7:6081", Encapsulation.GENEVE, List.of(VNI))));
        harness.overlay(OVERLAY);
    }

    /** A TCP or UDP packet from VM A, to VM B or to the remote VM C, with random offload metadata and damage. */
    private Frame superFrame(final DataPlane dataPlane)
    {
        final OffloadFrames.Spec spec = new OffloadFrames.Spec();
        spec.v6 = random.nextInt(3) == 0;
        spec.protocol = random.nextInt(4) == 0 ? OffloadFrames.UDP : OffloadFrames.TCP;
        spec.partialChecksum = random.nextBoolean();
        spec.flags = random.nextInt(8) == 0 ? random.nextInt(256) : 0x10;
        spec.payload = OffloadFrames.payload(random.nextInt(4) == 0 ? random.nextInt(2000) : random.nextInt(62_000), random.nextInt());
        final byte[] bytes = OffloadFrames.build(spec);
        if (random.nextBoolean())
        {
            // to the remote VM C: its MAC, and for IPv4 its address (checksums redone)
            bytes[5] = 0x0c;
            bytes[4] = 0x0c;
            if (!spec.v6)
            {
                bytes[33] = 30;
                redoIpv4Checksums(bytes, spec);
            }
        }
        damage(bytes, spec.headerLength());
        final FramePool pool = bytes.length > dataPlane.pool().slotBytes() - dataPlane.pool().headroomBytes() ?
            dataPlane.superPool() : dataPlane.pool();
        if (bytes.length > pool.slotBytes() - pool.headroomBytes())
        {
            return null;
        }
        final Frame frame = load(pool, bytes);
        if (frame == null)
        {
            return null;
        }
        frame.port(1);
        final int gsoType = GSO_TYPES[random.nextInt(GSO_TYPES.length)];
        if (gsoType != VirtioNetHeader.GSO_NONE && pool == dataPlane.superPool())
        {
            frame.gso(gsoType, GSO_SIZES[random.nextInt(GSO_SIZES.length)]);
        }
        if (random.nextInt(10) == 0)
        {
            frame.length(1 + random.nextInt(frame.length())); // truncated
        }
        if (spec.partialChecksum || random.nextInt(8) == 0)
        {
            // where the TAP says the checksum is: usually right, sometimes anywhere inside the frame
            final int length = frame.length();
            int start = 14 + spec.ipHeaderLength();
            int offset = spec.protocol == OffloadFrames.TCP ? 16 : 6;
            if (random.nextInt(6) == 0 && length > 2)
            {
                start = random.nextInt(length - 1);
                offset = random.nextInt(length - 1 - start);
            }
            if (start + offset + 2 <= length)
            {
                frame.checksumPartial(start, offset);
            }
        }
        return frame;
    }

    /** A Geneve datagram from device 7 around a frame for VM A or B, sometimes damaged or oversize. */
    private Frame overlayDatagram(final DataPlane dataPlane)
    {
        final OffloadFrames.Spec spec = new OffloadFrames.Spec();
        spec.v6 = random.nextInt(3) == 0;
        spec.protocol = random.nextInt(4) == 0 ? OffloadFrames.UDP : OffloadFrames.TCP;
        spec.partialChecksum = random.nextInt(3) == 0;
        spec.payload = OffloadFrames.payload(random.nextInt(4) == 0 ? random.nextInt(30_000) : random.nextInt(1400), random.nextInt());
        final byte[] bytes = OffloadFrames.build(spec);
        // from the remote VM C (its MAC and IPv4 address) to VM A or B
        bytes[6 + 4] = 0x0c;
        bytes[6 + 5] = 0x0c;
        if (!spec.v6)
        {
            bytes[29] = 30;
        }
        if (random.nextBoolean())
        {
            bytes[4] = 0x0a;
            bytes[5] = 0x0a;
            if (!spec.v6)
            {
                bytes[33] = 10;
            }
        }
        if (!spec.v6)
        {
            redoIpv4Checksums(bytes, spec);
        }
        damage(bytes, spec.headerLength());
        final FramePool pool = bytes.length + 16 > dataPlane.pool().slotBytes() - dataPlane.pool().headroomBytes() ?
            dataPlane.superPool() : dataPlane.pool();
        final Frame frame = load(pool, bytes);
        if (frame == null)
        {
            return null;
        }
        if (random.nextInt(10) == 0)
        {
            frame.length(1 + random.nextInt(frame.length())); // truncated
        }
        new OverlayHeaders().encapsulate(frame, Encapsulation.GENEVE, random.nextInt(16) == 0 ? random.nextInt(1 << 24) : VNI);
        if (random.nextInt(10) == 0)
        {
            frame.segment().set(java.lang.foreign.ValueLayout.JAVA_BYTE, frame.start() + random.nextInt(8),
                (byte)random.nextInt());
        }
        frame.port(OVERLAY);
        return frame;
    }

    /** The IPv4 header checksum and the L4 checksum (complete, or the pseudo-header sum when partial) after an address change. */
    private static void redoIpv4Checksums(final byte[] bytes, final OffloadFrames.Spec spec)
    {
        final java.lang.foreign.MemorySegment m = java.lang.foreign.MemorySegment.ofArray(bytes);
        bytes[24] = 0;
        bytes[25] = 0;
        final int header = Checksums.checksum(m, 14, 20);
        bytes[24] = (byte)(header >>> 8);
        bytes[25] = (byte)header;
        final int l4 = 34;
        final int l4Length = bytes.length - l4;
        final int field = l4 + (spec.protocol == OffloadFrames.TCP ? 16 : 6);
        bytes[field] = 0;
        bytes[field + 1] = 0;
        final long pseudo = Checksums.pseudoHeaderSumIpv4(m.get(Flyweight.U32, 26), m.get(Flyweight.U32, 30), spec.protocol,
            l4Length);
        final int sum = spec.partialChecksum ? Checksums.fold(pseudo) : ~Checksums.fold(Checksums.sum(m, l4, l4Length, pseudo)) & 0xFFFF;
        bytes[field] = (byte)(sum >>> 8);
        bytes[field + 1] = (byte)sum;
    }

    /** A pool frame holding {@code bytes}, or null when the pool is empty (the fuzzer then skips one). */
    private static Frame load(final FramePool pool, final byte[] bytes)
    {
        final Frame frame = pool.acquire();
        if (frame != null && !frame.copyFrom(java.lang.foreign.MemorySegment.ofArray(bytes), 0, bytes.length))
        {
            frame.release();
            return null;
        }
        return frame;
    }

    /** Leaves most frames as built; damages some headers, truncates some, appends garbage to some. */
    private void damage(final byte[] bytes, final int headerLength)
    {
        switch (random.nextInt(8))
        {
            case 0 ->
            {
                for (int n = 1 + random.nextInt(3); n > 0; n--)
                {
                    final int at = random.nextInt(Math.min(bytes.length, headerLength + 4));
                    bytes[at] ^= (byte)(1 << random.nextInt(8));
                }
            }
            case 1 ->
            {
                final int at = random.nextInt(bytes.length);
                bytes[at] = (byte)random.nextInt();
            }
            default ->
            {
                // as built
            }
        }
    }
}
