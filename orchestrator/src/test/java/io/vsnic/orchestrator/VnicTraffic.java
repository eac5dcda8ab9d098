package io.vsnic.orchestrator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import com.fasterxml.jackson.databind.JsonNode;
import io.vsnic.dataplane.buffer.Frame;
import io.vsnic.dataplane.pipeline.MemoryPort;
import io.vsnic.dataplane.protocol.EthernetFlyweight;
import io.vsnic.dataplane.protocol.FrameBuilder;
import io.vsnic.dataplane.protocol.Ipv4Flyweight;

/**
 * Frames between the memory vNICs of a {@link TestDaemon}: built with the vNICs' own MACs and
 * addresses, injected on one side, and counted on the other.
 */
public final class VnicTraffic
{
    private final TestDaemon daemon;

    public VnicTraffic(final TestDaemon daemon)
    {
        this.daemon = daemon;
    }

    /** One vNIC's addresses. */
    public record Vnic(String id, long mac, int ip)
    {
    }

    public Vnic vnic(final String id)
    {
        final JsonNode json = TestDaemon.expect(200, daemon.get("/v1/vnics/" + id)).json();
        return new Vnic(id, EthernetFlyweight.parseMac(json.get("mac").asText()), Ipv4Flyweight.parse(json.get("ip").asText()));
    }

    /**
     * Builds a frame from {@code from} to {@code to} (Ethernet and IPv4 headers done; {@code l4} adds the rest)
     * and injects it into {@code from}'s memory port.
     *
     * @return the frame's length.
     */
    public int send(final Vnic from, final Vnic to, final Consumer<FrameBuilder> l4)
    {
        return sendFrame(from, b -> {
            b.ethernet(to.mac(), from.mac()).ipv4(from.ip(), to.ip());
            l4.accept(b);
        });
    }

    /**
     * Builds a whole frame ({@code frame} adds every header) and injects it into {@code from}'s memory port.
     *
     * @return the frame's length.
     */
    public int sendFrame(final Vnic from, final Consumer<FrameBuilder> frameHeaders)
    {
        final Frame frame = daemon.daemon.dataPlane().pool().acquire();
        final FrameBuilder builder = new FrameBuilder(frame.segment(), frame.start());
        frameHeaders.accept(builder);
        final int length = builder.build();
        frame.length(length);
        assertTrue(daemon.daemon.memoryPort(from.id()).inject(frame), "rx ring of " + from.id() + " has room");
        return length;
    }

    /**
     * Waits (10 s at most) until {@code count} frames arrived at {@code to} and releases them.
     *
     * @return frames received.
     */
    public int receive(final Vnic to, final int count) throws InterruptedException
    {
        return receive(to, count, -1);
    }

    /**
     * As {@link #receive(Vnic, int)}, asserting each frame's length.
     *
     * @param length the length every frame must have, or -1 for any.
     */
    public int receive(final Vnic to, final int count, final int length) throws InterruptedException
    {
        final MemoryPort port = daemon.daemon.memoryPort(to.id());
        int received = 0;
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (received < count && System.nanoTime() < deadline)
        {
            final Frame frame = port.poll();
            if (frame == null)
            {
                Thread.sleep(1);
                continue;
            }
            final int got = frame.length();
            frame.release();
            if (length >= 0)
            {
                assertEquals(length, got, "forwarded frame length");
            }
            received++;
        }
        return received;
    }
}
