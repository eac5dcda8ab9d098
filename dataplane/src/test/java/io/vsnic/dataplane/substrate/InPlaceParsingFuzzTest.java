package io.vsnic.dataplane.substrate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.SplittableRandom;

import io.vsnic.dataplane.buffer.Frame;
import io.vsnic.dataplane.buffer.FramePool;
import io.vsnic.dataplane.config.Encapsulation;
import io.vsnic.dataplane.config.NetworkSpec;
import io.vsnic.dataplane.config.PeerSpec;
import io.vsnic.dataplane.config.SubnetSpec;
import io.vsnic.dataplane.offload.Coalescer;
import io.vsnic.dataplane.offload.OffloadFrames;
import io.vsnic.dataplane.table.ForwardingState;
import io.vsnic.dataplane.table.PeerEntry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Seeded fuzzing of the code that parses untrusted datagrams in place in a receive buffer (the UDP GRO
 * path of the overlay port): {@link OverlayHeaders#check}, {@link Coalescer#addRange} and
 * {@link InnerHeaders#locate}. Inputs: Geneve and VXLAN datagrams around TCP segments of a few flows,
 * in order and out of order, then truncated, bit-flipped, with a garbage tail, or plain garbage.
 * Whatever comes in: no exception, no frame lost from either pool, every frame that comes out is a
 * consistent IP packet with valid checksums, and a segment whose payload was damaged after its
 * checksum was computed is never merged (that would hand the guest a fresh, valid checksum over
 * corrupted bytes).
 */
class InPlaceParsingFuzzTest
{
    private static final long SEED = 0x6F76_6572_6C61_79L; // "overlay"
    private static final int DATAGRAMS = 200_000;
    private static final int MSS = 1448;
    private static final int VNI = 100;
    private static final int BUFFER_BYTES = 256 * 1024;

    private final SplittableRandom random = new SplittableRandom(SEED);
    private final MemorySegment buffer = Arena.ofAuto().allocate(BUFFER_BYTES, 64);
    private final FramePool pool = new FramePool(256);
    private final FramePool superPool = new FramePool(16, FramePool.SUPER_SLOT_BYTES, FramePool.DEFAULT_HEADROOM_BYTES);
    private final Coalescer coalescer = new Coalescer(superPool, Coalescer.CHECKSUM_COMPLETE);
    private final OverlayHeaders headers = new OverlayHeaders();
    private final Frame[] out = new Frame[256];
    private final OffloadFrames.Spec[] flows = new OffloadFrames.Spec[4];
    private final int[] nextSegment = new int[flows.length];
    private long taken;
    private long notTaken;
    private long rejected;
    private long damagedOffered;
    private long emittedFrames;
    /** Whether {@link #datagram} damaged only the TCP payload of a valid segment. */
    private boolean lastDamagedPayload;

    @AfterEach
    void release()
    {
        pool.close();
        superPool.close();
    }

    @Test
    void shouldSurviveAnyDatagramAndNeverMergeADamagedSegment()
    {
        run(false);
    }

    /**
     * The same datagrams offered as authenticated (opened from WireGuard messages): their checksums
     * are not checked, so damaged ones may merge, but nothing throws, nothing is lost, and every
     * frame that comes out is still a consistent IP packet.
     */
    @Test
    void shouldSurviveAnyAuthenticatedDatagram()
    {
        run(true);
    }

    private void run(final boolean authenticated)
    {
        final ForwardingState state = ForwardingState.build(ForwardingState.empty(),
            List.of(new NetworkSpec("blue", VNI, 1500, List.of(new SubnetSpec("10.60.1.0/24", "10.60.1.1")))), List.of(),
            List.of(new PeerSpec(7, "geneve-peer", "192.0.2.7:6081", Encapsulation.GENEVE, List.of()),
                new PeerSpec(8, "vxlan-peer", "192.0.2.8:4789", Encapsulation.VXLAN, List.of())));
        final PeerEntry[] peers = {state.peer(7), state.peer(8)};
        for (int f = 0; f < flows.length; f++)
        {
            final OffloadFrames.Spec flow = new OffloadFrames.Spec();
            flow.v6 = f % 2 == 1;
            flow.sourcePort = 40_000 + f;
            flow.payload = OffloadFrames.payload(64 * MSS, f);
            flows[f] = flow;
        }

        int done = 0;
        while (done < DATAGRAMS)
        {
            // one receive batch: datagrams laid out in the buffer, each range left untouched until the flush
            final int batch = 1 + random.nextInt(48);
            int emitted = 0;
            int position = 0;
            for (int d = 0; d < batch && done < DATAGRAMS; d++, done++)
            {
                final PeerEntry peer = peers[random.nextInt(peers.length)];
                final int length = datagram(position, peer.encapsulation());
                final int header = headers.check(buffer, position, length, peer);
                if (header < 0)
                {
                    rejected++;
                }
                else
                {
                    assertTrue(header >= 8 && header <= length, "header " + header + " of " + length);
                    final boolean damaged = lastDamagedPayload;
                    final int next = coalescer.addRange(buffer, position + header, length - header, header,
                        headers.vni(), 7, authenticated, headers.checksumStart(), headers.checksumOffset(), pool, out, emitted);
                    if (next < 0)
                    {
                        notTaken++;
                        emitted = ~next;
                    }
                    else
                    {
                        if (damaged && !authenticated)
                        {
                            fail("a segment whose payload was damaged was merged (datagram " + done + ")");
                        }
                        taken++;
                        emitted = next;
                    }
                    damagedOffered += damaged ? 1 : 0;
                }
                position += length + random.nextInt(64);
                if (emitted > out.length - 4)
                {
                    emitted = check(emitted, authenticated);
                }
            }
            check(coalescer.flush(out, emitted), authenticated);
            locateFuzz();
        }
        assertEquals(pool.capacity(), pool.available(), "every frame went back");
        assertEquals(superPool.capacity(), superPool.available(), "every super-frame went back");
        assertEquals(0, coalescer.rangeDrops(), "the pool never ran dry here");
        assertTrue(taken > DATAGRAMS / 10, "enough valid segments were merged or kept: " + taken);
        assertTrue(rejected > DATAGRAMS / 20, "enough headers were refused: " + rejected);
        assertTrue(notTaken > DATAGRAMS / 20, "enough inner frames were refused: " + notTaken);
        assertTrue(damagedOffered > 1_000, "enough damaged payloads were offered: " + damagedOffered);
        assertTrue(emittedFrames > 0);
    }

    /** Validates and releases {@code out[0..count)}; returns 0. */
    private int check(final int count, final boolean authenticated)
    {
        for (int i = 0; i < count; i++)
        {
            final Frame frame = out[i];
            final byte[] bytes = frame.toByteArray();
            final boolean v6 = (bytes[14] & 0xF0) == 0x60;
            final int ipLength = v6 ? 40 + ((bytes[18] & 0xFF) << 8 | bytes[19] & 0xFF) : (bytes[16] & 0xFF) << 8 | bytes[17] & 0xFF;
            assertEquals(bytes.length - 14, ipLength, "IP length of an emitted frame");
            assertTrue(authenticated || OffloadFrames.checksumsValid(bytes), () -> "checksums of an emitted frame: length " + bytes.length
                + " gso " + frame.gsoType() + "/" + frame.gsoSize() + " partial " + frame.checksumPartial() + " verified "
                + frame.checksumVerified() + " v6 " + v6 + " head " + java.util.HexFormat.of().formatHex(bytes, 0, Math.min(bytes.length, 80)));
            frame.release();
            out[i] = null;
            emittedFrames++;
        }
        return 0;
    }

    /**
     * Writes one datagram (overlay header + inner frame, possibly damaged) at {@code position}.
     *
     * @return its length.
     */
    private int datagram(final int position, final Encapsulation encapsulation)
    {
        lastDamagedPayload = false;
        final int kind = random.nextInt(10);
        if (kind == 9)
        {
            final int length = random.nextInt(2000);
            for (int i = 0; i < length; i++)
            {
                buffer.set(ValueLayout.JAVA_BYTE, position + i, (byte)random.nextInt());
            }
            return length;
        }
        final int f = random.nextInt(flows.length);
        final OffloadFrames.Spec flow = flows[f];
        int k = nextSegment[f];
        if (random.nextInt(8) == 0)
        {
            k = random.nextInt(64); // out of order or repeated
        }
        nextSegment[f] = (k + 1) % 64;
        final OffloadFrames.Spec segment = flow.copy();
        segment.sequence = flow.sequence + (long)k * MSS & 0xFFFF_FFFFL;
        segment.ipId = flow.ipId + k;
        segment.payload = OffloadFrames.slice(flow.payload, k * MSS, random.nextInt(6) == 0 ? 1 + random.nextInt(MSS) : MSS);
        if (random.nextInt(16) == 0)
        {
            segment.flags |= 0x08; // PSH: closes the super-frame
        }
        final byte[] inner = OffloadFrames.build(segment);
        // overlay header: Geneve (version 0, no options, Ethernet) or VXLAN (I flag)
        if (encapsulation == Encapsulation.GENEVE)
        {
            buffer.set(ValueLayout.JAVA_INT_UNALIGNED.withOrder(java.nio.ByteOrder.BIG_ENDIAN), position, 0x0000_6558);
        }
        else
        {
            buffer.set(ValueLayout.JAVA_INT_UNALIGNED.withOrder(java.nio.ByteOrder.BIG_ENDIAN), position, 0x0800_0000);
        }
        buffer.set(ValueLayout.JAVA_INT_UNALIGNED.withOrder(java.nio.ByteOrder.BIG_ENDIAN), position + 4, VNI << 8);
        MemorySegment.copy(inner, 0, buffer, ValueLayout.JAVA_BYTE, position + 8, inner.length);
        int length = 8 + inner.length;
        switch (kind)
        {
            case 5 -> length = random.nextInt(length); // truncated
            case 6 ->
            {
                // bit flips anywhere (headers included)
                for (int n = 1 + random.nextInt(4); n > 0; n--)
                {
                    flip(position + random.nextInt(length));
                }
            }
            case 7 ->
            {
                // one bit flipped in the TCP payload only: the checksum no longer matches
                final int payloadStart = 8 + segment.headerLength();
                flip(position + payloadStart + random.nextInt(segment.payload.length));
                lastDamagedPayload = true;
            }
            case 8 ->
            {
                // garbage after the IP packet (the datagram is longer than the packet it carries)
                final int extra = 1 + random.nextInt(200);
                for (int i = 0; i < extra; i++)
                {
                    buffer.set(ValueLayout.JAVA_BYTE, position + length + i, (byte)random.nextInt());
                }
                length += extra;
            }
            default ->
            {
                // valid
            }
        }
        return length;
    }

    private void flip(final int at)
    {
        buffer.set(ValueLayout.JAVA_BYTE, at, (byte)(buffer.get(ValueLayout.JAVA_BYTE, at) ^ 1 << random.nextInt(8)));
    }

    /** {@link InnerHeaders#locate} over random and half-plausible plaintexts: a result, never an exception. */
    private void locateFuzz()
    {
        final int base = BUFFER_BYTES - 4096;
        final int length = random.nextInt(2048);
        for (int i = 0; i < length; i++)
        {
            buffer.set(ValueLayout.JAVA_BYTE, base + i, (byte)random.nextInt());
        }
        if (length > 0 && random.nextBoolean())
        {
            buffer.set(ValueLayout.JAVA_BYTE, base, (byte)(random.nextBoolean() ? 0x45 : 0x60));
        }
        final boolean ipv6 = random.nextBoolean();
        final long located = InnerHeaders.locate(buffer, base, length, random.nextInt(), random.nextLong(), random.nextLong(),
            random.nextInt(), random.nextLong(), random.nextLong(), ipv6, 6081);
        if (located >= 0)
        {
            final long offset = located >>> 32;
            final long size = located & 0xFFFF_FFFFL;
            assertTrue(offset >= base && offset + size <= base + length, "located inside the plaintext");
        }
    }
}
