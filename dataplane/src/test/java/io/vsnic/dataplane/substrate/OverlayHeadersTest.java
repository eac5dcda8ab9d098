package io.vsnic.dataplane.substrate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.List;

import io.vsnic.dataplane.buffer.Frame;
import io.vsnic.dataplane.buffer.FramePool;
import io.vsnic.dataplane.config.Encapsulation;
import io.vsnic.dataplane.config.NetworkSpec;
import io.vsnic.dataplane.config.PeerSpec;
import io.vsnic.dataplane.config.SubnetSpec;
import io.vsnic.dataplane.offload.ChecksumOffload;
import io.vsnic.dataplane.offload.OffloadFrames;
import io.vsnic.dataplane.protocol.Flyweight;
import io.vsnic.dataplane.protocol.GeneveFlyweight;
import io.vsnic.dataplane.protocol.TcpFlyweight;
import io.vsnic.dataplane.status.DropReason;
import io.vsnic.dataplane.table.ForwardingState;
import io.vsnic.dataplane.table.PeerEntry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The overlay header on its own: the remote checksum option (written for a peer that takes it, read
 * back into a partial checksum, refused when it points outside the frame) and the critical-option rule.
 */
class OverlayHeadersTest
{
    private static final int VNI = 300;
    /** The inner TCP header's offset in an OffloadFrames IPv4 frame (Ethernet 14 + IPv4 20). */
    private static final int L4 = 34;

    private final FramePool pool = new FramePool(16);
    private final OverlayHeaders headers = new OverlayHeaders();
    private final ForwardingState state = ForwardingState.build(ForwardingState.empty(),
        List.of(new NetworkSpec("blue", VNI, 1500, List.of(new SubnetSpec("10.60.1.0/24", "10.60.1.1")))), List.of(),
        List.of(new PeerSpec(7, "vsnic-peer", "192.0.2.7:6081", Encapsulation.GENEVE, List.of()).withRemoteChecksum(true),
            new PeerSpec(8, "other-peer", "192.0.2.8:6081", Encapsulation.GENEVE, List.of())));

    @AfterEach
    void close()
    {
        pool.close();
    }

    private Frame partialSegment(final int payload)
    {
        final OffloadFrames.Spec spec = new OffloadFrames.Spec();
        spec.payload = OffloadFrames.payload(payload, 5);
        spec.partialChecksum = true;
        final Frame frame = OffloadFrames.load(pool, OffloadFrames.build(spec));
        frame.checksumPartial(L4, TcpFlyweight.CHECKSUM_OFFSET);
        return frame;
    }

    @Test
    void shouldCarryAPartialChecksumInTheOptionAndMarkTheFramePartialOnReceipt()
    {
        final Frame frame = partialSegment(1000);
        final byte[] inner = frame.toByteArray();
        assertTrue(headers.encapsulate(frame, Encapsulation.GENEVE, VNI, true));

        final MemorySegment bytes = frame.segment();
        final GeneveFlyweight geneve = new GeneveFlyweight();
        geneve.wrap(bytes, frame.start());
        assertEquals(GeneveFlyweight.HEADER_LENGTH + OverlayHeaders.REMOTE_CHECKSUM_LENGTH, geneve.headerLength());
        assertTrue(geneve.hasCriticalOptions(), "the C flag: the option is critical");
        assertEquals(0xFF56, geneve.optionClass(0));
        assertEquals(0x81, geneve.optionType(0));
        assertEquals(4, geneve.optionDataLength(0));
        assertEquals(L4 << 16 | TcpFlyweight.CHECKSUM_OFFSET, geneve.optionData32(0), "csum start and offset of the inner frame");
        assertEquals(VNI, geneve.vni());

        assertEquals(0, headers.decapsulate(frame, state.peer(8)), "any peer's option is understood on receipt");
        assertEquals(VNI, frame.vni());
        assertTrue(frame.checksumPartial());
        assertEquals(L4, frame.csumStart());
        assertEquals(TcpFlyweight.CHECKSUM_OFFSET, frame.csumOffset());
        assertEquals(java.util.HexFormat.of().formatHex(inner), java.util.HexFormat.of().formatHex(frame.toByteArray()));
        assertTrue(ChecksumOffload.complete(frame));
        assertTrue(OffloadFrames.checksumsValid(frame.toByteArray()), "finished, the checksum verifies");
        frame.release();
    }

    @Test
    void shouldSendNoOptionWhenTheChecksumIsCompleteOrThePeerDoesNotTakeIt()
    {
        final Frame complete = OffloadFrames.load(pool, OffloadFrames.build(new OffloadFrames.Spec()));
        assertTrue(headers.encapsulate(complete, Encapsulation.GENEVE, VNI, true));
        final GeneveFlyweight geneve = new GeneveFlyweight();
        geneve.wrap(complete.segment(), complete.start());
        assertEquals(GeneveFlyweight.HEADER_LENGTH, geneve.headerLength());
        assertEquals(0, headers.decapsulate(complete, state.peer(7)));
        assertFalse(complete.checksumPartial());
        complete.release();

        final Frame partial = partialSegment(100);
        assertTrue(headers.encapsulate(partial, Encapsulation.GENEVE, VNI, false));
        geneve.wrap(partial.segment(), partial.start());
        assertEquals(GeneveFlyweight.HEADER_LENGTH, geneve.headerLength(), "without remote checksum: the caller finishes it");
        partial.release();
    }

    @Test
    void shouldDropAnOptionThatPointsOutsideTheFrameOrAtNoChecksumField()
    {
        for (final int data : new int[] {(L4 << 16) | 7, (10 << 16) | 16, (1200 << 16) | 16, (L4 << 16) | 0xFFFF})
        {
            final Frame frame = partialSegment(100);
            assertTrue(headers.encapsulate(frame, Encapsulation.GENEVE, VNI, true));
            frame.segment().set(Flyweight.U32, frame.start() + GeneveFlyweight.OPTIONS_OFFSET + GeneveFlyweight.OPTION_HEADER_LENGTH,
                data);
            assertEquals(-DropReason.BAD_CHECKSUM.ordinal(), headers.check(frame.segment(), frame.start(), frame.length(), state.peer(7)),
                "option data " + Integer.toHexString(data));
            frame.release();
        }
    }

    @Test
    void shouldStillDropCriticalOptionsItDoesNotKnow()
    {
        final Frame frame = partialSegment(100);
        assertTrue(headers.encapsulate(frame, Encapsulation.GENEVE, VNI, true));
        final PeerEntry peer = state.peer(7);
        // another type of the same class, critical: unknown
        frame.segment().set(java.lang.foreign.ValueLayout.JAVA_BYTE, frame.start() + GeneveFlyweight.OPTIONS_OFFSET + 2, (byte)0x82);
        assertEquals(-DropReason.GENEVE_CRITICAL_OPTION.ordinal(), headers.check(frame.segment(), frame.start(), frame.length(), peer));
        // the same type without the critical bit: ignored, but the C flag then announces a critical option that is not there
        frame.segment().set(java.lang.foreign.ValueLayout.JAVA_BYTE, frame.start() + GeneveFlyweight.OPTIONS_OFFSET + 2, (byte)0x02);
        assertEquals(-DropReason.GENEVE_CRITICAL_OPTION.ordinal(), headers.check(frame.segment(), frame.start(), frame.length(), peer));
        // ... and without the C flag it is an unknown, non-critical option: skipped, no partial checksum
        frame.segment().set(java.lang.foreign.ValueLayout.JAVA_BYTE, frame.start() + GeneveFlyweight.FLAGS_OFFSET, (byte)0);
        assertEquals(GeneveFlyweight.HEADER_LENGTH + OverlayHeaders.REMOTE_CHECKSUM_LENGTH,
            headers.check(frame.segment(), frame.start(), frame.length(), peer));
        assertEquals(-1, headers.checksumStart());
        frame.release();
    }

    /**
     * Seeded fuzzing of the option area: random option data (any start and offset), random bytes in the
     * option header and the Geneve flags. Nothing throws; an accepted remote checksum option always lies
     * inside the inner frame, at a TCP or UDP checksum offset; finishing the checksum it names stays
     * inside the frame.
     */
    @Test
    void shouldAcceptOnlyRemoteChecksumOptionsThatFitTheFrame()
    {
        final java.util.Random random = new java.util.Random(0x5EED_0C5L);
        int accepted = 0;
        int refused = 0;
        for (int round = 0; round < 20_000; round++)
        {
            final Frame frame = partialSegment(random.nextInt(1400));
            assertTrue(headers.encapsulate(frame, Encapsulation.GENEVE, VNI, true));
            final MemorySegment bytes = frame.segment();
            final int at = frame.start();
            final int option = at + GeneveFlyweight.OPTIONS_OFFSET;
            switch (random.nextInt(4))
            {
                case 0 -> bytes.set(Flyweight.U32, option + GeneveFlyweight.OPTION_HEADER_LENGTH, random.nextInt());
                case 1 -> bytes.set(Flyweight.U32, option + GeneveFlyweight.OPTION_HEADER_LENGTH,
                    random.nextInt(200) << 16 | (random.nextBoolean() ? TcpFlyweight.CHECKSUM_OFFSET : random.nextInt(32)));
                case 2 -> bytes.set(java.lang.foreign.ValueLayout.JAVA_BYTE, option + random.nextInt(4), (byte)random.nextInt());
                default -> bytes.set(java.lang.foreign.ValueLayout.JAVA_BYTE, at + random.nextInt(2), (byte)random.nextInt());
            }
            final int innerLength = frame.length() - GeneveFlyweight.HEADER_LENGTH - OverlayHeaders.REMOTE_CHECKSUM_LENGTH;
            final int result = headers.check(bytes, at, frame.length(), state.peer(7));
            if (result > 0 && headers.checksumStart() >= 0)
            {
                accepted++;
                final int start = headers.checksumStart();
                final int offset = headers.checksumOffset();
                assertTrue(start >= 14 && (offset == 16 || offset == 6) && start + offset + 2 <= frame.length() - result,
                    "accepted start " + start + " offset " + offset + " of " + innerLength + " bytes");
                assertEquals(0, headers.decapsulate(frame, state.peer(7)));
                assertTrue(frame.checksumPartial());
                ChecksumOffload.complete(frame);    // true or false, never outside the frame
            }
            else if (result < 0)
            {
                refused++;
            }
            frame.release();
        }
        assertTrue(accepted > 1_000 && refused > 1_000, "both kinds seen: accepted " + accepted + ", refused " + refused);
    }

    @Test
    void shouldRefuseRemoteChecksumTowardsAVxlanPeer()
    {
        final IllegalArgumentException refused = assertThrows(IllegalArgumentException.class, () -> ForwardingState.build(
            ForwardingState.empty(), List.of(), List.of(),
            List.of(new PeerSpec(9, "kernel-vtep", "192.0.2.9:4789", Encapsulation.VXLAN, List.of()).withRemoteChecksum(true))));
        assertTrue(refused.getMessage().contains("remoteChecksum needs encapsulation geneve"), refused.getMessage());
    }
}
