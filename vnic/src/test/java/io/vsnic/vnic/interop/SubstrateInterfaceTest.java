package io.vsnic.vnic.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;

import io.vsnic.dataplane.buffer.Frame;
import io.vsnic.dataplane.pipeline.DataPlane;
import io.vsnic.dataplane.pipeline.DataPlaneConfig;
import io.vsnic.dataplane.security.ConnectionTimeouts;
import io.vsnic.dataplane.status.DropReason;
import io.vsnic.dataplane.substrate.UdpSubstrate;
import io.vsnic.vnic.netns.NetNs;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code substrate.interface} against the kernel (root): a substrate namespace with two links to a
 * peer namespace, the substrate bound to {@code 0.0.0.0} and to link A only. A datagram that arrives
 * on link B finds no socket (the kernel counts it in {@code Udp NoPorts}), one that arrives on link A
 * is read.
 */
@Timeout(120)
class SubstrateInterfaceTest
{
    @Test
    void shouldOnlyHearAndSendThroughTheBoundInterface() throws Exception
    {
        Assumptions.assumeTrue(NetNs.isRoot(), "needs root (CAP_SYS_ADMIN) to create network namespaces; CI runs as root");
        Assumptions.assumeTrue(NetNs.ipAvailable(), "iproute2's ip command is not installed");
        Assumptions.assumeTrue(UdpSubstrate.isAvailable(UdpSubstrate.Transport.EPOLL), "epoll is not available here");
        final String a0 = NetNs.uniqueName("via", 12);
        final String a1 = NetNs.uniqueName("via", 12);
        final String b0 = NetNs.uniqueName("vib", 12);
        final String b1 = NetNs.uniqueName("vib", 12);
        try (NetNs scope = NetNs.open();
             DataPlane dataPlane = new DataPlane(new DataPlaneConfig(1, 1024, 4096, ConnectionTimeouts.DEFAULTS)))
        {
            final String sub = scope.createNamespace("vsis");
            final String peer = scope.createNamespace("vsip");
            scope.createVethPair(a0, a1);
            scope.createVethPair(b0, b1);
            scope.moveLink(a0, sub);
            scope.moveLink(b0, sub);
            scope.moveLink(a1, peer);
            scope.moveLink(b1, peer);
            scope.addAddress(sub, a0, "10.97.1.1/24");
            scope.addAddress(sub, b0, "10.97.2.1/24");
            scope.addAddress(peer, a1, "10.97.1.2/24");
            scope.addAddress(peer, b1, "10.97.2.2/24");
            for (final String[] link : new String[][] {{sub, a0}, {sub, b0}, {peer, a1}, {peer, b1}})
            {
                scope.up(link[0], link[1]);
            }
            final UdpSubstrate substrate = NetNs.callIn(sub, () ->
            {
                final UdpSubstrate opened = new UdpSubstrate(1, dataPlane.pool(), dataPlane::state,
                    new UdpSubstrate.Config("0.0.0.0", 0, 0, UdpSubstrate.Transport.EPOLL, 1, 1024).withInterface(a0));
                opened.start();
                return opened;
            });
            try (DatagramSocket sender = NetNs.callIn(peer, () -> new DatagramSocket(new InetSocketAddress("0.0.0.0", 0))))
            {
                final int port = substrate.genevePort();
                final Frame[] frames = new Frame[16];
                final long noPortsBefore = noPorts(sub);
                // through link B: no socket for it
                sender.send(new DatagramPacket(new byte[] {0, 0, 0, 0, 0, 0, 0, 0}, 8, new InetSocketAddress("10.97.2.1", port)));
                Waits.awaitTrue(() -> noPorts(sub) == noPortsBefore + 1, "the kernel finding no socket for link B's datagram",
                    () -> "NoPorts " + noPorts(sub) + ", before " + noPortsBefore);
                // through link A: read (no peer is configured, so it is counted as from an unknown peer)
                sender.send(new DatagramPacket(new byte[] {0, 0, 0, 0, 0, 0, 0, 0}, 8, new InetSocketAddress("10.97.1.1", port)));
                Waits.awaitTrue(() ->
                {
                    final int n = substrate.receive(frames, frames.length);
                    for (int i = 0; i < n; i++)
                    {
                        frames[i].release();
                    }
                    return substrate.drops(DropReason.UNKNOWN_PEER) == 1;
                }, "link A's datagram at the substrate", () -> "rx " + substrate.rxDatagrams());
                assertEquals(1, substrate.rxDatagrams(), "only the datagram of link A reached the substrate");
                assertEquals(noPortsBefore + 1, noPorts(sub));
            }
            finally
            {
                substrate.close();
            }
        }
    }

    /** {@code Udp NoPorts} of the namespace's {@code /proc/net/snmp}. */
    private static long noPorts(final String ns)
    {
        return NetNs.snmpCounter(ns, "Udp", "NoPorts");
    }
}
