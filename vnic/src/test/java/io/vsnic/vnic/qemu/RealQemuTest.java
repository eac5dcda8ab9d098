package io.vsnic.vnic.qemu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import io.vsnic.dataplane.buffer.Frame;
import io.vsnic.dataplane.buffer.FramePool;
import io.vsnic.dataplane.pipeline.Port;
import io.vsnic.dataplane.protocol.EthernetFlyweight;
import io.vsnic.dataplane.protocol.FrameBuilder;
import io.vsnic.dataplane.protocol.FrameClassifier;
import io.vsnic.dataplane.protocol.FrameLayout;
import io.vsnic.dataplane.protocol.IpProtocol;
import io.vsnic.dataplane.protocol.Ipv4Flyweight;
import io.vsnic.vnic.EndpointCounter;
import io.vsnic.vnic.EndpointCounters;
import io.vsnic.vnic.netns.NetNs;

/**
 * A real QEMU on the other end of the socket netdevs. No guest disk or kernel is needed: with
 * {@code -boot n} SeaBIOS starts the iPXE ROM of the virtio-net device, which asks for an address
 * by DHCP. The test (playing vsnic's DHCP) answers the guest's DISCOVER with an OFFER and waits
 * for the REQUEST for the offered address: frames crossed both ways through QEMU.
 *
 * <p>Skips, saying why, when {@code qemu-system-x86_64} (Debian {@code qemu-system-x86}, which
 * brings the iPXE ROMs) is not installed. Runs as any user.
 */
@Timeout(180)
class RealQemuTest
{
    private static final long GUEST_MAC = EthernetFlyweight.parseMac("52:54:00:77:00:10");
    private static final long VSNIC_MAC = EthernetFlyweight.parseMac("02:00:00:77:00:01");
    private static final int SERVER_IP = Ipv4Flyweight.parse("10.77.0.1");
    private static final int OFFERED_IP = Ipv4Flyweight.parse("10.77.0.10");
    private static final int DHCP_DISCOVER = 1;
    private static final int DHCP_OFFER = 2;
    private static final int DHCP_REQUEST = 3;
    private static final int OPTION_MESSAGE_TYPE = 53;
    private static final int OPTION_REQUESTED_IP = 50;
    private static final int BOOTP_MAGIC_OFFSET = 236;
    private static final Duration DHCP_WAIT = Duration.ofSeconds(90);

    @TempDir
    Path directory;

    private static Path qemu()
    {
        final var qemu = NetNs.findExecutable("qemu-system-x86_64");
        assumeTrue(qemu.isPresent(),
            "qemu-system-x86_64 is not installed (apt-get install -y --no-install-recommends qemu-system-x86)");
        return qemu.get();
    }

    private Process startQemu(final Path qemu, final String netdev) throws IOException
    {
        final List<String> command = new ArrayList<>(List.of(qemu.toString(),
            "-nodefaults", "-no-user-config", "-nographic", "-display", "none", "-serial", "none", "-monitor", "none",
            "-machine", "pc,accel=tcg", "-m", "64", "-boot", "n",
            "-netdev", netdev,
            "-device", "virtio-net-pci,netdev=n0,mac=" + EthernetFlyweight.formatMac(GUEST_MAC)));
        return new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(directory.resolve("qemu.log").toFile())
            .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
            .start();
    }

    private String qemuLog()
    {
        try
        {
            return Files.readString(directory.resolve("qemu.log"), StandardCharsets.UTF_8);
        }
        catch (final IOException ex)
        {
            return "(no log: " + ex.getMessage() + ")";
        }
    }

    private static void stop(final Process process) throws InterruptedException
    {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
    }

    @Test
    void shouldExchangeDhcpWithTheIpxeRomOfARealQemuOverNetdevStream() throws Exception
    {
        final Path qemu = qemu();
        final Path socket = directory.resolve("vnic.sock");
        try (FramePool pool = new FramePool(64); QemuStreamPort port = new QemuStreamPort(0, pool, socket))
        {
            final Process process = startQemu(qemu,
                "stream,id=n0,server=off,addr.type=unix,addr.path=" + socket);
            try
            {
                exchangeDhcp(port, pool, process, port.counters());
                assertEquals(1, port.counters().get(EndpointCounter.CONNECTIONS));
            }
            finally
            {
                stop(process);
            }
        }
    }

    @Test
    void shouldExchangeDhcpWithTheIpxeRomOfARealQemuOverNetdevDgram() throws Exception
    {
        final Path qemu = qemu();
        final Path vsnicPath = directory.resolve("vsnic.dgram");
        final Path qemuPath = directory.resolve("qemu.dgram");
        try (FramePool pool = new FramePool(64); QemuDgramPort port = new QemuDgramPort(0, pool, vsnicPath, qemuPath))
        {
            final Process process = startQemu(qemu, "dgram,id=n0,local.type=unix,local.path=" + qemuPath +
                ",remote.type=unix,remote.path=" + vsnicPath);
            try
            {
                exchangeDhcp(port, pool, process, port.counters());
            }
            finally
            {
                stop(process);
            }
        }
    }

    /**
     * Owns the port like a worker: answers every DHCP DISCOVER from the guest with an OFFER until
     * the guest sends a REQUEST, which must ask for the offered address.
     */
    private void exchangeDhcp(final Port port, final FramePool pool, final Process process, final EndpointCounters counters)
    {
        final Frame[] frames = new Frame[64];
        final FrameLayout layout = new FrameLayout();
        final FrameClassifier classifier = FrameClassifier.forwarding();
        final long deadline = System.nanoTime() + DHCP_WAIT.toNanos();
        int discovers = 0;
        while (System.nanoTime() < deadline)
        {
            if (!process.isAlive())
            {
                final String log = qemuLog();
                assumeFalse(log.contains("romfile"), "QEMU cannot load the iPXE ROM: " + log);
                fail("QEMU exited with " + process.exitValue() + ": " + log);
            }
            final int count = port.receive(frames, frames.length);
            if (count == 0)
            {
                LockSupport.parkNanos(1_000_000);
                continue;
            }
            for (int i = 0; i < count; i++)
            {
                final Frame frame = frames[i];
                frames[i] = null;
                try
                {
                    final byte[] bootp = dhcpPayload(frame, classifier, layout);
                    if (bootp == null)
                    {
                        continue;
                    }
                    final int type = option(bootp, OPTION_MESSAGE_TYPE);
                    if (type == DHCP_DISCOVER)
                    {
                        discovers++;
                        final Frame offer = offer(pool, ByteBuffer.wrap(bootp).getInt(4));
                        assertEquals(1, port.transmit(new Frame[] {offer}, 1));
                    }
                    else if (type == DHCP_REQUEST)
                    {
                        assertEquals(OFFERED_IP, requestedIp(bootp), "the guest requests the address we offered");
                        assertEquals(0, counters.get(EndpointCounter.TX_DROPS) + counters.get(EndpointCounter.TX_ERRORS));
                        return;
                    }
                }
                finally
                {
                    frame.release();
                }
            }
        }
        fail("no DHCP REQUEST within " + DHCP_WAIT + " (" + discovers + " DISCOVERs answered, counters " + counters +
            "); QEMU log: " + qemuLog());
    }

    /**
     * @return the BOOTP message of a DHCP client frame from the guest's MAC, or null.
     */
    private static byte[] dhcpPayload(final Frame frame, final FrameClassifier classifier, final FrameLayout layout)
    {
        if (classifier.classify(frame.segment(), frame.start(), frame.length(), layout) != 0 ||
            layout.l3Type() != FrameLayout.L3_IPV4 || layout.l4Protocol() != IpProtocol.UDP ||
            layout.sourcePort() != 68 || layout.destinationPort() != 67 || layout.sourceMac() != GUEST_MAC)
        {
            return null;
        }
        final int offset = layout.l4Offset() + 8;
        final int length = layout.l3Offset() + layout.l3Length() - offset;
        final byte[] bootp = frame.segment().asSlice(offset, length).toArray(ValueLayout.JAVA_BYTE);
        final byte[] chaddr = new byte[6];
        System.arraycopy(bootp, 28, chaddr, 0, 6);
        assertArrayEquals(macBytes(GUEST_MAC), chaddr, "chaddr is the guest's MAC");
        assertEquals(0x63825363, ByteBuffer.wrap(bootp).getInt(BOOTP_MAGIC_OFFSET), "DHCP magic cookie");
        return bootp;
    }

    private static int option(final byte[] bootp, final int code)
    {
        int at = BOOTP_MAGIC_OFFSET + 4;
        while (at < bootp.length)
        {
            final int tag = bootp[at] & 0xFF;
            if (tag == 255)
            {
                break;
            }
            if (tag == 0)
            {
                at++;
                continue;
            }
            final int length = bootp[at + 1] & 0xFF;
            if (tag == code)
            {
                return length == 1 ? bootp[at + 2] & 0xFF : ByteBuffer.wrap(bootp, at + 2, 4).getInt();
            }
            at += 2 + length;
        }
        return -1;
    }

    private static int requestedIp(final byte[] bootp)
    {
        final int requested = option(bootp, OPTION_REQUESTED_IP);
        return requested != -1 ? requested : ByteBuffer.wrap(bootp).getInt(12);
    }

    private static byte[] macBytes(final long mac)
    {
        final byte[] bytes = new byte[6];
        for (int i = 0; i < 6; i++)
        {
            bytes[i] = (byte)(mac >>> (40 - 8 * i));
        }
        return bytes;
    }

    /** A DHCPOFFER (RFC 2131 section 4.3.1) of {@link #OFFERED_IP}, broadcast. */
    private static Frame offer(final FramePool pool, final int xid)
    {
        final ByteBuffer bootp = ByteBuffer.allocate(300);
        bootp.put((byte)2).put((byte)1).put((byte)6).put((byte)0).putInt(xid).putShort((short)0).putShort((short)0x8000);
        bootp.putInt(0).putInt(OFFERED_IP).putInt(SERVER_IP).putInt(0).put(macBytes(GUEST_MAC));
        bootp.position(BOOTP_MAGIC_OFFSET);
        bootp.putInt(0x63825363);
        bootp.put((byte)OPTION_MESSAGE_TYPE).put((byte)1).put((byte)DHCP_OFFER);
        bootp.put((byte)54).put((byte)4).putInt(SERVER_IP);
        bootp.put((byte)1).put((byte)4).putInt(0xFFFFFF00);
        bootp.put((byte)3).put((byte)4).putInt(SERVER_IP);
        bootp.put((byte)51).put((byte)4).putInt(3600);
        bootp.put((byte)255);
        final Frame frame = pool.acquire();
        assertNotNull(frame, "pool exhausted");
        final int length = new FrameBuilder(frame.segment(), frame.start())
            .ethernet(EthernetFlyweight.BROADCAST, VSNIC_MAC)
            .ipv4(SERVER_IP, 0xFFFFFFFF)
            .udp(67, 68)
            .payload(bootp.array())
            .build();
        frame.length(length);
        return frame;
    }
}
