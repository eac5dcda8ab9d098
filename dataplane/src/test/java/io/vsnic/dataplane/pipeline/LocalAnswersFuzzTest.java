package io.vsnic.dataplane.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import io.vsnic.dataplane.buffer.Frame;
import io.vsnic.dataplane.config.NetworkSpec;
import io.vsnic.dataplane.config.PortSpec;
import io.vsnic.dataplane.config.SubnetSpec;
import io.vsnic.dataplane.protocol.ArpFlyweight;
import io.vsnic.dataplane.protocol.EthernetFlyweight;
import io.vsnic.dataplane.protocol.FrameBuilder;
import io.vsnic.dataplane.protocol.Ipv4Flyweight;
import io.vsnic.dataplane.protocol.IpProtocol;
import io.vsnic.dataplane.security.CompiledPolicy;
import io.vsnic.dataplane.table.ForwardingState;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Seeded fuzzing of what a guest can send to the data plane's local answers: DHCP messages with
 * damaged BOOTP fields and options (lengths past the end, no end option, a wrong magic cookie,
 * random message types and hardware addresses), ARP requests with odd hardware and protocol fields,
 * IPv6 neighbour and router solicitations (and other ICMPv6 types) with odd options, codes and hop
 * limits, and echo requests to the gateway, whole or
 * damaged after they were built. Whatever comes in: no exception, every frame back in its pool, and
 * every answer the data plane sends is a well-formed frame (valid lengths and checksums).
 */
class LocalAnswersFuzzTest
{
    private static final long SEED = 0x64686370L; // "dhcp"
    private static final int FRAMES = 20_000;
    private static final long MAC = 0x02_00_00_00_00_31L;
    private static final long GW_MAC = ForwardingState.GATEWAY_MAC_PREFIX | 9;
    private static final int IP = Ipv4Flyweight.parse("10.9.1.7");
    private static final int GW = Ipv4Flyweight.parse("10.9.0.1");
    private static final byte[] IP6 = address6(0x07);
    private static final byte[] GW6 = address6(0x01);

    private final SplittableRandom random = new SplittableRandom(SEED);
    private PipelineHarness harness;

    @AfterEach
    void tearDown()
    {
        harness.close();
    }

    private static byte[] address6(final int last)
    {
        final byte[] address = new byte[16];
        address[0] = (byte)0xfd;
        address[3] = 9;
        address[15] = (byte)last;
        return address;
    }

    @Test
    void shouldAnswerOnlyWithWellFormedFramesWhateverTheGuestSends()
    {
        harness = new PipelineHarness();
        harness.configure(List.of(new NetworkSpec("n", 9, 1400,
                List.of(new SubnetSpec("10.9.0.0/22", "10.9.0.1"), new SubnetSpec("fd00:9::/64", "fd00:9::1")),
                List.of(), List.of(), List.of("10.9.0.53"))),
            List.of(new PortSpec(1, "vm", "n", MAC, "10.9.1.7", "fd00:9::7", CompiledPolicy.allowAll(), true)));
        int answers = 0;
        for (int i = 0; i < FRAMES; i++)
        {
            final Frame frame = harness.build(this::guestFrame);
            if (random.nextInt(3) == 0)
            {
                damage(frame);
            }
            harness.send(harness.ports.get(1), frame, -1, -1);
            if (i % 16 == 15)
            {
                harness.drain();
                for (final PipelineHarness.Out out : harness.received(1))
                {
                    assertTrue(out.layout().isValid(), () -> "an answer that does not classify: " + out.layout().dropReason().label()
                        + " " + java.util.HexFormat.of().formatHex(out.bytes()));
                    answers++;
                }
            }
        }
        harness.drain();
        harness.received(1);
        assertEquals(harness.dataPlane.pool().capacity(), harness.dataPlane.pool().available(), "every frame went back");
        assertTrue(answers > FRAMES / 10, "answers: " + answers);
        assertTrue(harness.counters().totalDrops() > FRAMES / 10, "damaged input dropped and counted");
    }

    private void guestFrame(final FrameBuilder b)
    {
        switch (random.nextInt(4))
        {
            case 0 ->
            {
                final byte[] bootp = DhcpServerTest.message(random.nextInt(10), random.nextInt(4) == 0 ? random.nextLong() : MAC,
                    random.nextBoolean() ? IP : random.nextInt(), random.nextInt(4) == 0 ? random.nextInt() : 0);
                final byte[] damaged = damageDhcp(bootp);
                b.ethernet(EthernetFlyweight.BROADCAST, MAC).ipv4(random.nextBoolean() ? 0 : IP, -1, 64, 0, 0, null).udp(68, 67)
                    .payload(damaged);
            }
            case 1 -> b.ethernet(random.nextBoolean() ? EthernetFlyweight.BROADCAST : GW_MAC, MAC)
                .arp(random.nextInt(4) == 0 ? random.nextInt(5) : ArpFlyweight.OPERATION_REQUEST,
                    random.nextInt(8) == 0 ? random.nextLong() & 0xFFFF_FFFF_FFFFL : MAC, random.nextBoolean() ? IP : random.nextInt(),
                    0, random.nextBoolean() ? GW : random.nextInt());
            case 2 ->
            {
                // a neighbour solicitation for the gateway: reserved word, target, then options
                final byte[] body = new byte[16 + random.nextInt(40)];
                System.arraycopy(GW6, 0, body, 0, 16);
                for (int k = 16; k < body.length; k++)
                {
                    body[k] = (byte)random.nextInt();
                }
                if (body.length >= 24 && random.nextBoolean())
                {
                    body[16] = 1; // source link-layer address option, its length (in 8 bytes) random
                    body[17] = (byte)random.nextInt(4);
                }
                // mostly solicitations; also router solicitations, advertisements and unknown types
                final int[] types = {135, 135, 135, 133, 133, 136, 134, 137, 143, random.nextInt(256)};
                b.ethernet(0x33_33_ff_00_00_01L, MAC).ipv6(IP6, random.nextBoolean() ? GW6 : solicitedNode(),
                        random.nextInt(8) == 0 ? random.nextInt(256) : 255, 0)
                    .icmp(types[random.nextInt(types.length)], random.nextInt(8) == 0 ? random.nextInt(256) : 0, 0, 0).payload(body);
            }
            default ->
            {
                if (random.nextBoolean())
                {
                    b.ethernet(GW_MAC, MAC).ipv4(IP, GW).icmpEcho(true, random.nextInt(0x10000), random.nextInt(0x10000))
                        .payload(random.nextInt(1300), random.nextInt());
                }
                else
                {
                    b.ethernet(GW_MAC, MAC).ipv6(IP6, GW6).icmpEcho(true, random.nextInt(0x10000), random.nextInt(0x10000))
                        .payload(random.nextInt(1300), random.nextInt());
                }
            }
        }
    }

    private static byte[] solicitedNode()
    {
        final byte[] address = new byte[16];
        address[0] = (byte)0xff;
        address[1] = 2;
        address[11] = 1;
        address[12] = (byte)0xff;
        address[15] = 1;
        return address;
    }

    /** BOOTP damage: fields and options changed, cut short, or left without the end option. */
    private byte[] damageDhcp(final byte[] bootp)
    {
        byte[] message = bootp.clone();
        switch (random.nextInt(6))
        {
            case 0 -> message = Arrays.copyOf(message, random.nextInt(message.length));
            case 1 -> message[236 + random.nextInt(4)] ^= (byte)(1 << random.nextInt(8)); // the magic cookie
            case 2 ->
            {
                // an option whose length runs past the end
                final int at = 240 + random.nextInt(message.length - 241);
                message[at] = (byte)random.nextInt(1, 254);
                message[at + 1] = (byte)255;
            }
            case 3 ->
            {
                // no end option: pad and options all the way to the end
                for (int k = 240; k < message.length; k++)
                {
                    message[k] = (byte)(random.nextInt(4) == 0 ? 0 : random.nextInt(1, 254));
                }
            }
            case 4 -> message[random.nextInt(message.length)] = (byte)random.nextInt();
            default ->
            {
                // whole
            }
        }
        return message;
    }

    /** Frame-level damage after building: a byte changed (often a length), or the frame cut short. */
    private void damage(final Frame frame)
    {
        final int length = frame.length();
        if (random.nextBoolean() && length > 15)
        {
            frame.length(14 + random.nextInt(length - 14));
        }
        else
        {
            final int at = frame.start() + random.nextInt(length);
            frame.segment().set(java.lang.foreign.ValueLayout.JAVA_BYTE, at, (byte)random.nextInt());
        }
        if (random.nextInt(8) == 0)
        {
            frame.segment().set(java.lang.foreign.ValueLayout.JAVA_BYTE, frame.start() + 23, (byte)IpProtocol.UDP);
        }
    }
}
