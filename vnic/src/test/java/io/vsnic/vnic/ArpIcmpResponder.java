package io.vsnic.vnic;

import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

import io.vsnic.dataplane.buffer.Frame;
import io.vsnic.dataplane.buffer.FramePool;
import io.vsnic.dataplane.pipeline.Port;
import io.vsnic.dataplane.protocol.ArpFlyweight;
import io.vsnic.dataplane.protocol.FrameBuilder;
import io.vsnic.dataplane.protocol.FrameClassifier;
import io.vsnic.dataplane.protocol.FrameLayout;
import io.vsnic.dataplane.protocol.IcmpFlyweight;
import io.vsnic.dataplane.protocol.IpProtocol;
import io.vsnic.dataplane.protocol.Ipv4Flyweight;

/**
 * Test stand-in for the data plane behind a VM endpoint port: a thread that owns the port, answers
 * ARP requests and ICMP echo requests for one IPv4 address with one MAC, and keeps a copy of every
 * frame it received for the test to inspect. {@link #close()} stops it (bounded) and rethrows any
 * failure of the thread.
 */
public final class ArpIcmpResponder implements AutoCloseable
{
    private final Port port;
    private final FramePool pool;
    private final int ip;
    private final long mac;
    private final BlockingQueue<byte[]> received = new LinkedBlockingQueue<>();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private final Thread thread;
    private volatile boolean running = true;
    private volatile int arpReplies;
    private volatile int echoReplies;

    /**
     * Starts the thread.
     */
    public ArpIcmpResponder(final Port port, final FramePool pool, final int ip, final long mac)
    {
        this.port = port;
        this.pool = pool;
        this.ip = ip;
        this.mac = mac;
        this.thread = new Thread(this::run, "responder-port-" + port.id());
        this.thread.setDaemon(true);
        this.thread.start();
    }

    /**
     * @return the next received frame's bytes, or null after the timeout.
     */
    public byte[] nextFrame(final Duration timeout) throws InterruptedException
    {
        return received.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    public int arpReplies()
    {
        return arpReplies;
    }

    public int echoReplies()
    {
        return echoReplies;
    }

    private void run()
    {
        final Frame[] frames = new Frame[32];
        final Frame[] replies = new Frame[32];
        final FrameLayout layout = new FrameLayout();
        final FrameClassifier classifier = FrameClassifier.forwarding();
        final ArpFlyweight arp = new ArpFlyweight();
        final Ipv4Flyweight ipv4 = new Ipv4Flyweight();
        final IcmpFlyweight icmp = new IcmpFlyweight();
        try
        {
            while (running)
            {
                final int count = port.receive(frames, frames.length);
                if (count == 0)
                {
                    LockSupport.parkNanos(200_000);
                    continue;
                }
                int replyCount = 0;
                for (int i = 0; i < count; i++)
                {
                    final Frame frame = frames[i];
                    frames[i] = null;
                    try
                    {
                        received.add(frame.toByteArray());
                        final Frame reply = answer(frame, classifier, layout, arp, ipv4, icmp);
                        if (reply != null)
                        {
                            replies[replyCount++] = reply;
                        }
                    }
                    finally
                    {
                        frame.release();
                    }
                }
                if (replyCount > 0)
                {
                    final int accepted = port.transmit(replies, replyCount);
                    for (int i = accepted; i < replyCount; i++)
                    {
                        replies[i].release();
                    }
                }
            }
        }
        catch (final Throwable ex)
        {
            failure.set(ex);
        }
    }

    private Frame answer(
        final Frame frame, final FrameClassifier classifier, final FrameLayout layout, final ArpFlyweight arp,
        final Ipv4Flyweight ipv4, final IcmpFlyweight icmp)
    {
        if (classifier.classify(frame.segment(), frame.start(), frame.length(), layout) != 0 || !layout.isValid())
        {
            return null;
        }
        if (layout.l3Type() == FrameLayout.L3_ARP)
        {
            arp.wrap(frame.segment(), layout.l3Offset());
            if (arp.operation() != ArpFlyweight.OPERATION_REQUEST || arp.targetIp() != ip)
            {
                return null;
            }
            final Frame reply = pool.acquire();
            if (reply == null)
            {
                return null;
            }
            final int length = new FrameBuilder(reply.segment(), reply.start())
                .ethernet(arp.senderMac(), mac)
                .arp(ArpFlyweight.OPERATION_REPLY, mac, ip, arp.senderMac(), arp.senderIp())
                .buildPadded(60);
            reply.length(length);
            arpReplies++;
            return reply;
        }
        if (layout.l3Type() == FrameLayout.L3_IPV4 && layout.l4Protocol() == IpProtocol.ICMP)
        {
            ipv4.wrap(frame.segment(), layout.l3Offset());
            icmp.wrap(frame.segment(), layout.l4Offset());
            if (ipv4.destination() != ip || icmp.type() != IcmpFlyweight.V4_ECHO_REQUEST)
            {
                return null;
            }
            final byte[] data = frame.segment()
                .asSlice(layout.l4Offset() + IcmpFlyweight.HEADER_LENGTH, layout.l4Length() - IcmpFlyweight.HEADER_LENGTH)
                .toArray(ValueLayout.JAVA_BYTE);
            final Frame reply = pool.acquire();
            if (reply == null)
            {
                return null;
            }
            final int length = new FrameBuilder(reply.segment(), reply.start())
                .ethernet(layout.sourceMac(), mac)
                .ipv4(ip, ipv4.source())
                .icmpEcho(false, icmp.identifier(), icmp.sequence())
                .payload(data)
                .buildPadded(60);
            reply.length(length);
            echoReplies++;
            return reply;
        }
        return null;
    }

    /**
     * Stops the thread (waits up to 5 s) and rethrows what made it fail, if anything did.
     */
    @Override
    public void close()
    {
        running = false;
        try
        {
            thread.join(5_000);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
        if (thread.isAlive())
        {
            throw new IllegalStateException("responder thread did not stop");
        }
        final Throwable error = failure.get();
        if (error != null)
        {
            throw new AssertionError("responder thread failed", error);
        }
    }
}
