package io.vsnic.dataplane.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import java.util.SplittableRandom;

import io.vsnic.dataplane.buffer.Frame;
import io.vsnic.dataplane.buffer.FramePool;
import io.vsnic.dataplane.status.DropReason;
import org.junit.jupiter.api.Test;

/**
 * Feeds a million seeded frames to both classifiers: valid frames of every layer combination built
 * with {@link FrameBuilder}, the same frames truncated, bit-flipped or with a garbage tail, and
 * garbage of random length. Every frame lives in a pool {@link Frame} for the duration of its batch.
 */
class FrameClassifierFuzzTest
{
    private static final long SEED = 0x76_73_6E_69_63L; // "vsnic"
    private static final int FRAMES = 1_000_000;
    private static final int MAX_FRAME_BYTES = 9022;
    private static final int MAX_BATCH = 64;
    private static final int PADDING_RESERVE = 24;

    private static final int KIND_VALID = 0;
    private static final int KIND_TRUNCATED = 1;
    private static final int KIND_BIT_FLIPPED = 2;
    private static final int KIND_GARBAGE_TAIL = 3;
    private static final int KIND_GARBAGE = 4;
    private static final String[] KIND_NAMES = {"valid", "truncated", "bit-flipped", "garbage-tail", "garbage"};

    private static final int[] OVERLAY_PORTS = {VxlanFlyweight.UDP_PORT, VxlanFlyweight.LEGACY_LINUX_UDP_PORT, GeneveFlyweight.UDP_PORT};

    /** EtherTypes for garbage with a plausible Ethernet header: three network types, then the two tag types. */
    private static final int[] ETHER_TYPES = {EthernetFlyweight.ETHER_TYPE_IPV4, EthernetFlyweight.ETHER_TYPE_IPV6,
        EthernetFlyweight.ETHER_TYPE_ARP, EthernetFlyweight.ETHER_TYPE_VLAN, EthernetFlyweight.ETHER_TYPE_QINQ};

    private final SplittableRandom random = new SplittableRandom(SEED);
    private final MemorySegment scratch = Arena.ofAuto().allocate(16_384);
    private final MemorySegment garbage = Arena.ofAuto().allocate(65_536 + MAX_FRAME_BYTES);
    private final FrameBuilder builder = new FrameBuilder(scratch, 0);
    private final FrameClassifier forwarding = FrameClassifier.forwarding();
    private final FrameClassifier verifying = FrameClassifier.verifying();
    private final FrameLayout forwardingLayout = new FrameLayout();
    private final FrameLayout verifyingLayout = new FrameLayout();
    private final long[] forwardingHistogram = new long[DropReason.count()];
    private final long[] verifyingHistogram = new long[DropReason.count()];
    private final long[] kindCounts = new long[KIND_NAMES.length];
    private final Spec spec = new Spec();
    /** Bytes written so far by the generator (it checks this against what the builder returns). */
    private int position;

    /** What the generator put into the last valid frame, to check the classifier's layout against. */
    private static final class Spec
    {
        int length;
        int l3End;
        int vlanCount;
        int l3Type;
        int overlayType;
        int vni;
        int innerL3Type;
    }

    @Test
    void shouldGiveEveryFrameAReasonWithoutThrowingAndReturnEverySlot()
    {
        final byte[] noise = new byte[(int)garbage.byteSize()];
        new Random(SEED).nextBytes(noise);
        MemorySegment.copy(noise, 0, garbage, ValueLayout.JAVA_BYTE, 0, noise.length);

        final long startNs = System.nanoTime();
        int produced = 0;
        long validFrames = 0;
        long truncationsBelowIpEnd = 0;
        try (FramePool pool = new FramePool(64))
        {
            final Frame[] batch = new Frame[MAX_BATCH];
            while (produced < FRAMES)
            {
                final int batchSize = Math.min(FRAMES - produced, 1 + random.nextInt(MAX_BATCH));
                for (int i = 0; i < batchSize; i++)
                {
                    batch[i] = pool.acquire();
                    assertNotNull(batch[i], "the pool holds a whole batch");
                }
                for (int i = 0; i < batchSize; i++)
                {
                    final Frame frame = batch[i];
                    final int kind = nextKind();
                    kindCounts[kind]++;
                    fill(frame, kind);
                    final int forwardingReason = classify(forwarding, forwardingLayout, frame, kind);
                    final int verifyingReason = classify(verifying, verifyingLayout, frame, kind);
                    forwardingHistogram[forwardingReason]++;
                    verifyingHistogram[verifyingReason]++;

                    if (verifyingReason != forwardingReason && verifyingReason != DropReason.BAD_CHECKSUM.ordinal())
                    {
                        failWith(frame, kind, "verification may only add BAD_CHECKSUM: forwarding " + DropReason.of(forwardingReason) +
                            ", verifying " + DropReason.of(verifyingReason));
                    }
                    if (kind == KIND_VALID)
                    {
                        validFrames++;
                        if (forwardingReason != 0 || verifyingReason != 0)
                        {
                            failWith(frame, kind, "valid frame dropped: forwarding " + DropReason.of(forwardingReason) +
                                ", verifying " + DropReason.of(verifyingReason));
                        }
                        checkAgainstSpec(frame, kind);
                    }
                    else if (kind == KIND_TRUNCATED)
                    {
                        if (frame.length() < spec.l3End)
                        {
                            truncationsBelowIpEnd++;
                            if (forwardingReason == 0 || verifyingReason == 0)
                            {
                                failWith(frame, kind, "truncated below the end of its IP packet (" + spec.l3End + ") but valid");
                            }
                        }
                        else if (forwardingReason != 0)
                        {
                            failWith(frame, kind, "only Ethernet padding was cut but dropped: " + DropReason.of(forwardingReason));
                        }
                    }
                }
                for (int i = 0; i < batchSize; i++)
                {
                    batch[i].release();
                    batch[i] = null;
                }
                produced += batchSize;
            }

            assertEquals(pool.capacity(), pool.available(), "every slot returned");
            assertEquals(0, pool.doubleReleaseCount());
            assertEquals(0, pool.exhaustedCount());
        }
        final long elapsedMs = (System.nanoTime() - startNs) / 1_000_000;
        printSummary(elapsedMs);

        long total = 0;
        for (int reason = 0; reason < DropReason.count(); reason++)
        {
            total += forwardingHistogram[reason];
        }
        assertEquals(FRAMES, total);
        assertTrue(validFrames > FRAMES / 5);
        assertTrue(truncationsBelowIpEnd > FRAMES / 10);
        assertTrue(forwardingHistogram[0] > validFrames, "some mutated frames stay valid");
        for (final DropReason reason : new DropReason[]{
            DropReason.TRUNCATED, DropReason.UNSUPPORTED_ETHERTYPE, DropReason.BAD_IP_LENGTH, DropReason.BAD_CHECKSUM,
            DropReason.BAD_ADDRESS, DropReason.BAD_IHL, DropReason.BAD_IP_VERSION, DropReason.BAD_UDP_LENGTH,
            DropReason.BAD_IPV6_EXTENSION, DropReason.BAD_TCP_OFFSET, DropReason.BAD_VXLAN_FLAGS, DropReason.BAD_GENEVE_VERSION,
            DropReason.GENEVE_OPTION_OVERFLOW, DropReason.UNSUPPORTED_GENEVE_PROTOCOL, DropReason.TOO_MANY_VLAN_TAGS,
            DropReason.BAD_ARP, DropReason.BAD_IP_OPTIONS})
        {
            assertTrue(verifyingHistogram[reason.ordinal()] > 0, "the fuzzer reaches " + reason);
        }
    }

    // ----- classification and checks -----

    private int classify(final FrameClassifier classifier, final FrameLayout layout, final Frame frame, final int kind)
    {
        final int reason;
        try
        {
            reason = classifier.classify(frame.segment(), frame.start(), frame.length(), layout);
        }
        catch (final RuntimeException ex)
        {
            failWith(frame, kind, "classifier threw " + ex);
            throw ex;
        }
        if (reason < 0 || reason >= DropReason.count() || layout.dropReasonOrdinal() != reason)
        {
            failWith(frame, kind, "reason " + reason + " (layout says " + layout.dropReasonOrdinal() + ")");
        }
        if (reason == 0)
        {
            checkOffsets(frame, kind, layout, frame.start() + frame.length());
        }
        return reason;
    }

    /** A valid layout only points inside the frame, each header inside the one that carries it. */
    private void checkOffsets(final Frame frame, final int kind, final FrameLayout layout, final int frameEnd)
    {
        final int l3End = layout.l3End();
        if (layout.l3Offset() < layout.frameOffset() || l3End > frameEnd || layout.l3HeaderLength() > layout.l3Length())
        {
            failWith(frame, kind, "L3 outside the frame: " + layout.l3Offset() + "+" + layout.l3Length() + " end " + frameEnd);
        }
        if (layout.l4Offset() >= 0 && (layout.l4Offset() < layout.l3Offset() + layout.l3HeaderLength() ||
            layout.l4Offset() + layout.l4HeaderLength() > l3End || layout.l4Offset() + layout.l4Length() != l3End))
        {
            failWith(frame, kind, "L4 outside the IP packet: " + layout.l4Offset() + "+" + layout.l4HeaderLength());
        }
        if (layout.overlayType() != FrameLayout.OVERLAY_NONE)
        {
            final FrameLayout inner = layout.inner();
            if (inner == null || !inner.isValid() || layout.overlayOffset() != layout.l4Offset() + UdpFlyweight.HEADER_LENGTH ||
                inner.frameOffset() != layout.overlayOffset() + layout.overlayHeaderLength() ||
                inner.frameOffset() + inner.frameLength() > l3End)
            {
                failWith(frame, kind, "inner frame outside the outer datagram");
            }
            else
            {
                checkOffsets(frame, kind, inner, inner.frameOffset() + inner.frameLength());
            }
        }
    }

    private void checkAgainstSpec(final Frame frame, final int kind)
    {
        final FrameLayout layout = verifyingLayout;
        if (layout.vlanCount() != spec.vlanCount || layout.l3Type() != spec.l3Type || layout.overlayType() != spec.overlayType ||
            layout.l3End() - frame.start() != spec.l3End)
        {
            failWith(frame, kind, "layout differs from what was built: vlans " + layout.vlanCount() + "/" + spec.vlanCount +
                ", l3 " + layout.l3Type() + "/" + spec.l3Type + ", overlay " + layout.overlayType() + "/" + spec.overlayType +
                ", l3End " + (layout.l3End() - frame.start()) + "/" + spec.l3End);
        }
        if (spec.overlayType != FrameLayout.OVERLAY_NONE && (layout.vni() != spec.vni || layout.inner().l3Type() != spec.innerL3Type))
        {
            failWith(frame, kind, "overlay differs: vni " + layout.vni() + "/" + spec.vni + ", inner l3 " +
                layout.inner().l3Type() + "/" + spec.innerL3Type);
        }
    }

    private void failWith(final Frame frame, final int kind, final String message)
    {
        final int shown = Math.min(frame.length(), 256);
        fail(KIND_NAMES[kind] + " frame of " + frame.length() + " bytes: " + message + "\n" +
            Hex.hex(frame.segment().asSlice(frame.start(), shown).toArray(ValueLayout.JAVA_BYTE)) +
            (shown < frame.length() ? "..." : ""));
    }

    private void printSummary(final long elapsedMs)
    {
        final StringBuilder text = new StringBuilder(2048);
        text.append("FrameClassifierFuzzTest: ").append(FRAMES).append(" frames (seed 0x").append(Long.toHexString(SEED))
            .append(") classified twice in ").append(elapsedMs).append(" ms; kinds:");
        for (int kind = 0; kind < KIND_NAMES.length; kind++)
        {
            text.append(' ').append(KIND_NAMES[kind]).append('=').append(kindCounts[kind]);
        }
        text.append(String.format("%n  %-28s %10s %10s%n", "reason", "forwarding", "verifying"));
        for (int reason = 0; reason < DropReason.count(); reason++)
        {
            text.append(String.format("  %-28s %10d %10d%n",
                DropReason.of(reason).label(), forwardingHistogram[reason], verifyingHistogram[reason]));
        }
        System.out.print(text);
    }

    // ----- generation -----

    private int nextKind()
    {
        final int roll = random.nextInt(100);
        if (roll < 25)
        {
            return KIND_VALID;
        }
        if (roll < 50)
        {
            return KIND_TRUNCATED;
        }
        if (roll < 75)
        {
            return KIND_BIT_FLIPPED;
        }
        return roll < 87 ? KIND_GARBAGE_TAIL : KIND_GARBAGE;
    }

    private void fill(final Frame frame, final int kind)
    {
        if (kind == KIND_GARBAGE)
        {
            final int length = random.nextInt(MAX_FRAME_BYTES + 1);
            copy(frame, garbage, random.nextInt(65_536), length);
            if (length >= EthernetFlyweight.HEADER_LENGTH && random.nextBoolean())
            {
                plausibleEthernet(frame);
            }
            return;
        }
        buildValid();
        switch (kind)
        {
            case KIND_TRUNCATED -> copy(frame, scratch, 0, random.nextInt(spec.length));
            case KIND_BIT_FLIPPED ->
            {
                copy(frame, scratch, 0, spec.length);
                final int flips = 1 + random.nextInt(8);
                for (int i = 0; i < flips; i++)
                {
                    final int at = frame.start() + random.nextInt(spec.length);
                    final byte value = frame.segment().get(ValueLayout.JAVA_BYTE, at);
                    frame.segment().set(ValueLayout.JAVA_BYTE, at, (byte)(value ^ (1 << random.nextInt(8))));
                }
            }
            case KIND_GARBAGE_TAIL ->
            {
                copy(frame, scratch, 0, spec.length);
                final int from = EthernetFlyweight.HEADER_LENGTH + random.nextInt(spec.length - EthernetFlyweight.HEADER_LENGTH);
                MemorySegment.copy(garbage, random.nextInt(65_536), frame.segment(), frame.start() + from, spec.length - from);
            }
            default -> copy(frame, scratch, 0, spec.length);
        }
    }

    private static void copy(final Frame frame, final MemorySegment source, final int offset, final int length)
    {
        if (!frame.copyFrom(source, offset, length))
        {
            fail("frame of " + length + " bytes does not fit a slot");
        }
    }

    private void plausibleEthernet(final Frame frame)
    {
        final MemorySegment segment = frame.segment();
        final int at = frame.start();
        segment.set(Flyweight.U16, at + EthernetFlyweight.SOURCE_OFFSET,
            (short)(segment.get(Flyweight.U16, at + EthernetFlyweight.SOURCE_OFFSET) & 0xFEFF));
        final int[] types = ETHER_TYPES;
        final int etherType = types[random.nextInt(types.length)];
        segment.set(Flyweight.U16, at + EthernetFlyweight.ETHER_TYPE_OFFSET, (short)etherType);
        int l3 = at + EthernetFlyweight.HEADER_LENGTH;
        // behind a tag, more tags or an IP EtherType, so that tag stacks of every depth occur
        while ((etherType == EthernetFlyweight.ETHER_TYPE_VLAN || etherType == EthernetFlyweight.ETHER_TYPE_QINQ) &&
            l3 + VlanTagFlyweight.TAG_LENGTH <= at + frame.length() && random.nextInt(100) < 80)
        {
            final int next = random.nextInt(100) < 60 ? types[3 + random.nextInt(2)] : types[random.nextInt(3)];
            segment.set(Flyweight.U16, l3 + VlanTagFlyweight.ETHER_TYPE_OFFSET, (short)next);
            l3 += VlanTagFlyweight.TAG_LENGTH;
            if (next != EthernetFlyweight.ETHER_TYPE_VLAN && next != EthernetFlyweight.ETHER_TYPE_QINQ)
            {
                break;
            }
        }
        if (l3 < at + frame.length() && random.nextBoolean())
        {
            // a version nibble that matches, so that the garbage reaches the deeper checks
            segment.set(ValueLayout.JAVA_BYTE, l3, (byte)(random.nextBoolean() ? 0x45 : 0x60));
        }
    }

    /** Builds a random valid frame into the scratch segment and records it in {@link #spec}. */
    private void buildValid()
    {
        builder.reset();
        position = 0;
        spec.overlayType = FrameLayout.OVERLAY_NONE;
        spec.vni = -1;
        spec.innerL3Type = FrameLayout.L3_NONE;
        final int vlans = random.nextInt(100) < 60 ? 0 : random.nextInt(100) < 65 ? 1 : 2;
        spec.vlanCount = vlans;
        ethernet();
        for (int i = 0; i < vlans; i++)
        {
            builder.vlan(random.nextInt(4096), i == 0 && vlans == 2 && random.nextBoolean());
            position += VlanTagFlyweight.TAG_LENGTH;
        }
        spec.l3Type = network(true);
        final int length = builder.build();
        assertEquals(position, length, "generator and builder agree on the length");
        spec.l3End = length;
        spec.length = length;
        if (random.nextInt(100) < 10)
        {
            // Ethernet padding (or trailer) after the packet
            final int padding = 1 + random.nextInt(PADDING_RESERVE);
            scratch.asSlice(length, padding).fill((byte)random.nextInt(256));
            spec.length = length + padding;
        }
    }

    private void ethernet()
    {
        builder.ethernet(random.nextLong() & 0xFFFF_FFFF_FFFFL, unicastMac());
        position += EthernetFlyweight.HEADER_LENGTH;
    }

    /**
     * Adds ARP, IPv4 or IPv6 with the layers above them.
     *
     * @return the L3 type added.
     */
    private int network(final boolean outer)
    {
        final int roll = random.nextInt(100);
        if (roll < 5)
        {
            builder.arp(random.nextBoolean() ? ArpFlyweight.OPERATION_REQUEST : ArpFlyweight.OPERATION_REPLY,
                unicastMac(), random.nextInt(), random.nextLong() & 0xFFFF_FFFF_FFFFL, random.nextInt());
            position += ArpFlyweight.HEADER_LENGTH;
            return FrameLayout.L3_ARP;
        }
        if (roll < 60)
        {
            ipv4(outer);
            return FrameLayout.L3_IPV4;
        }
        ipv6(outer);
        return FrameLayout.L3_IPV6;
    }

    private void ipv4(final boolean outer)
    {
        int source = random.nextInt();
        if ((source >>> 28) == 0xE || source == -1)
        {
            source &= 0x7FFF_FFFF;
        }
        final int roll = random.nextInt(100);
        final int flags;
        if (roll < 5)
        {
            flags = Ipv4Flyweight.FLAG_MORE_FRAGMENTS;
        }
        else if (roll < 10)
        {
            flags = (random.nextBoolean() ? Ipv4Flyweight.FLAG_MORE_FRAGMENTS : 0) | (1 + random.nextInt(Ipv4Flyweight.FRAGMENT_OFFSET_MASK));
        }
        else
        {
            flags = random.nextBoolean() ? Ipv4Flyweight.FLAG_DONT_FRAGMENT : 0;
        }
        final byte[] options = random.nextInt(100) < 15 ? ipv4Options() : null;
        builder.ipv4(source, random.nextInt(), 1 + random.nextInt(255), random.nextInt(65536), flags, options);
        position += Ipv4Flyweight.MIN_HEADER_LENGTH + (options == null ? 0 : options.length);
        if ((flags & Ipv4Flyweight.FRAGMENT_OFFSET_MASK) != 0)
        {
            payload();
            return;
        }
        transport(false, outer && flags != Ipv4Flyweight.FLAG_MORE_FRAGMENTS);
    }

    private byte[] ipv4Options()
    {
        final byte[] options = new byte[4 * (1 + random.nextInt(10))];
        int at = 0;
        while (at < options.length)
        {
            final int left = options.length - at;
            final int roll = random.nextInt(4);
            if (roll == 0 || left < 4)
            {
                options[at++] = Ipv4Flyweight.OPTION_NOP;
            }
            else if (roll == 1)
            {
                // router alert (RFC 2113)
                options[at] = (byte)0x94;
                options[at + 1] = 4;
                at += 4;
            }
            else if (roll == 2)
            {
                // record route with room for one to three addresses
                final int addresses = Math.min((left - 3) / 4, 1 + random.nextInt(3));
                options[at] = 7;
                options[at + 1] = (byte)(3 + 4 * addresses);
                options[at + 2] = 4;
                at += 3 + 4 * addresses;
            }
            else
            {
                // END: whatever follows is ignored
                options[at] = Ipv4Flyweight.OPTION_END;
                for (int i = at + 1; i < options.length; i++)
                {
                    options[i] = (byte)random.nextInt(256);
                }
                at = options.length;
            }
        }
        return options;
    }

    private void ipv6(final boolean outer)
    {
        final byte[] source = new byte[16];
        final byte[] destination = new byte[16];
        random.nextBytes(source);
        random.nextBytes(destination);
        if (source[0] == (byte)0xFF)
        {
            source[0] = (byte)0xFD;
        }
        builder.ipv6(source, destination, random.nextInt(256), random.nextInt(1 << 20));
        int nextHeaderField = position + Ipv6Flyweight.NEXT_HEADER_OFFSET;
        position += Ipv6Flyweight.HEADER_LENGTH;
        final int extensions = random.nextInt(100) < 70 ? 0 : 1 + random.nextInt(3);
        for (int i = 0; i < extensions; i++)
        {
            builder.ipv6OptionsHeader(i == 0 && random.nextBoolean() ? IpProtocol.HOP_BY_HOP : IpProtocol.IPV6_DESTINATION_OPTIONS);
            nextHeaderField = position;
            position += 8;
        }
        if (random.nextInt(100) < 5)
        {
            // no upper layer: an opaque payload behind "no next header"
            payload();
            scratch.set(ValueLayout.JAVA_BYTE, nextHeaderField, (byte)IpProtocol.IPV6_NO_NEXT);
            return;
        }
        transport(true, outer);
    }

    private void transport(final boolean ipv6, final boolean mayTunnel)
    {
        final int roll = random.nextInt(100);
        if (roll < 45)
        {
            udp(ipv6, mayTunnel);
        }
        else if (roll < 75)
        {
            final byte[] options = random.nextInt(100) < 30 ? new byte[4 * (1 + random.nextInt(10))] : null;
            if (options != null)
            {
                options[0] = 2;
                options[1] = 4;
            }
            builder.tcp(notOverlayPort(), notOverlayPort(), random.nextLong() & 0xFFFF_FFFFL, random.nextLong() & 0xFFFF_FFFFL,
                random.nextInt(256), options);
            position += TcpFlyweight.MIN_HEADER_LENGTH + (options == null ? 0 : options.length);
            payload();
        }
        else if (roll < 95 || ipv6)
        {
            if (random.nextBoolean())
            {
                builder.icmpEcho(random.nextBoolean(), random.nextInt(65536), random.nextInt(65536));
            }
            else
            {
                builder.icmp(random.nextInt(256), random.nextInt(256), random.nextInt(65536), random.nextInt(65536));
            }
            position += IcmpFlyweight.HEADER_LENGTH;
            payload();
        }
        else
        {
            // IPv4 protocol 0: no header the classifier knows
            payload();
        }
    }

    private void udp(final boolean ipv6, final boolean mayTunnel)
    {
        final boolean tunnel = mayTunnel && random.nextInt(100) < 35;
        final int destinationPort = tunnel ? OVERLAY_PORTS[random.nextInt(OVERLAY_PORTS.length)] : notOverlayPort();
        if ((tunnel || !ipv6) && random.nextInt(100) < 20)
        {
            builder.udpNoChecksum(notOverlayPort(), destinationPort);
        }
        else
        {
            builder.udp(notOverlayPort(), destinationPort);
        }
        position += UdpFlyweight.HEADER_LENGTH;
        if (!tunnel)
        {
            payload();
            return;
        }
        final int vni = random.nextInt(1 << 24);
        spec.vni = vni;
        if (destinationPort == GeneveFlyweight.UDP_PORT)
        {
            spec.overlayType = FrameLayout.OVERLAY_GENEVE;
            final int count = random.nextInt(4);
            final int[][] options = new int[count][];
            final byte[][] data = new byte[count][];
            int optionBytes = 0;
            for (int i = 0; i < count; i++)
            {
                options[i] = new int[]{random.nextInt(65536), random.nextInt(256)};
                data[i] = new byte[4 * random.nextInt(5)];
                random.nextBytes(data[i]);
                optionBytes += GeneveFlyweight.OPTION_HEADER_LENGTH + data[i].length;
            }
            builder.geneve(vni, options, data);
            position += GeneveFlyweight.HEADER_LENGTH + optionBytes;
            final int inner = random.nextInt(3);
            if (inner == 0)
            {
                innerEthernet();
            }
            else if (inner == 1)
            {
                ipv4(false);
                spec.innerL3Type = FrameLayout.L3_IPV4;
            }
            else
            {
                ipv6(false);
                spec.innerL3Type = FrameLayout.L3_IPV6;
            }
        }
        else
        {
            spec.overlayType = FrameLayout.OVERLAY_VXLAN;
            builder.vxlan(vni);
            position += VxlanFlyweight.HEADER_LENGTH;
            innerEthernet();
        }
    }

    private void innerEthernet()
    {
        ethernet();
        if (random.nextInt(100) < 20)
        {
            builder.vlan(random.nextInt(4096), false);
            position += VlanTagFlyweight.TAG_LENGTH;
        }
        spec.innerL3Type = network(false);
    }

    private void payload()
    {
        final int roll = random.nextInt(100);
        final int wanted = roll < 70 ? random.nextInt(129) : roll < 95 ? 128 + random.nextInt(1373) : random.nextInt(MAX_FRAME_BYTES);
        final int length = Math.max(0, Math.min(wanted, MAX_FRAME_BYTES - PADDING_RESERVE - position));
        builder.payload(length, random.nextInt(256));
        position += length;
    }

    private long unicastMac()
    {
        return random.nextLong() & 0xFEFF_FFFF_FFFFL;
    }

    private int notOverlayPort()
    {
        final int port = random.nextInt(65536);
        return port == VxlanFlyweight.UDP_PORT || port == VxlanFlyweight.LEGACY_LINUX_UDP_PORT || port == GeneveFlyweight.UDP_PORT
            ? port + 1 : port;
    }
}
