package io.vsnic.vnic.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;

import io.vsnic.dataplane.config.Encapsulation;
import io.vsnic.dataplane.config.NetworkSpec;
import io.vsnic.dataplane.config.PeerSpec;
import io.vsnic.dataplane.config.PortSpec;
import io.vsnic.dataplane.config.RemoteSpec;
import io.vsnic.dataplane.config.SubnetSpec;
import io.vsnic.dataplane.pipeline.DataPlane;
import io.vsnic.dataplane.pipeline.DataPlaneConfig;
import io.vsnic.dataplane.protocol.EthernetFlyweight;
import io.vsnic.dataplane.security.CompiledPolicy;
import io.vsnic.dataplane.security.ConnectionTimeouts;
import io.vsnic.dataplane.substrate.UdpSubstrate;
import io.vsnic.dataplane.table.ForwardingState;
import io.vsnic.vnic.netns.NetNs;
import io.vsnic.vnic.tap.TapDevice;
import io.vsnic.vnic.tap.TapOptions;
import io.vsnic.vnic.tap.TapPort;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * vsnic against a peer nobody here wrote: a Linux kernel VXLAN device.
 *
 * <pre>
 *  ns K (kernel "device")              ns S (vsnic substrate)           ns V (VM)
 *  vxlan vxk, VNI 100, dstport 4789    UDP 4789 socket of vsnic  <-TAP fd->  tap, 10.0.1.11
 *  10.0.1.50 on vxk                    (the test JVM's data plane)
 *  veth vk 10.250.X.1 ====== veth ====== vs 10.250.X.2
 * </pre>
 *
 * The VM pings the kernel's overlay address and back, and 10 MB cross by TCP in each direction
 * with matching SHA-256 sums. Linux VXLAN over a veth hands the substrate socket whole tunnel GSO
 * packets (an inner TCP packet of up to 64 KiB in one datagram, checksum partial): vsnic takes them
 * as super-frames cut at the network MTU. Everything is created with unique names and removed afterwards.
 */
class KernelVxlanInteropTest
{
    private static final int VNI = 100;
    private static final long VM_MAC = 0x02_00_00_00_01_11L;
    private static final long KERNEL_MAC = 0x02_00_00_00_0c_50L;

    @Test
    void shouldExchangePingAndTcpWithLinuxVxlan(@TempDir final Path directory) throws Exception
    {
        exchange(directory, false);
    }

    /**
     * The same with the VM's TAP opened with every offload: the VM's TCP super-frames are cut into
     * MTU-sized segments before the overlay (the kernel peer checks every checksum), frames from the
     * kernel go to the TAP through the coalescer (Linux VXLAN over veth hands over inner frames that
     * are often already larger than the MTU, so few merge here; the count is printed), and the VM's
     * kernel finds no bad checksum.
     */
    @Test
    void shouldExchangeTcpWithLinuxVxlanThroughATapWithOffloads(@TempDir final Path directory) throws Exception
    {
        exchange(directory, true);
    }

    private static void exchange(final Path directory, final boolean offloads) throws Exception
    {
        Assumptions.assumeTrue(NetNs.isRoot(), "needs root: creates namespaces, veth, VXLAN and TAP devices");
        Assumptions.assumeTrue(NetNs.ipAvailable(), "needs iproute2 (ip)");
        Assumptions.assumeTrue(NetNs.findExecutable("ping").isPresent(), "needs ping (apt-get install iputils-ping)");
        Assumptions.assumeTrue(NetNs.findExecutable("socat").isPresent(), "needs socat (apt-get install socat)");
        final int subnet = 1 + new Random().nextInt(250);
        final String kernelSubstrate = "10.250." + subnet + ".1";
        final String vsnicSubstrate = "10.250." + subnet + ".2";
        try (NetNs scope = NetNs.open();
             DataPlane dataPlane = new DataPlane(new DataPlaneConfig(1, 4096, 65536, ConnectionTimeouts.DEFAULTS)))
        {
            final String nsK = scope.createNamespace("vk");
            final String nsS = scope.createNamespace("vs");
            final String nsV = scope.createNamespace("vv");
            final String suffix = nsK.substring(nsK.length() - 6);
            final String vethK = "vk" + suffix;
            final String vethS = "vs" + suffix;
            scope.createVethPair(vethK, vethS);
            scope.moveLink(vethK, nsK);
            scope.moveLink(vethS, nsS);
            scope.addAddress(nsK, vethK, kernelSubstrate + "/24");
            scope.addAddress(nsS, vethS, vsnicSubstrate + "/24");
            scope.up(nsK, vethK);
            scope.up(nsS, vethS);
            scope.up(nsK, "lo");
            scope.up(nsS, "lo");
            scope.up(nsV, "lo");
            require(scope.exec(nsK, Duration.ofSeconds(10), "ip", "link", "add", "vxk", "type", "vxlan", "id", Integer.toString(VNI),
                "remote", vsnicSubstrate, "local", kernelSubstrate, "dstport", "4789", "dev", vethK));
            scope.setMac(nsK, "vxk", EthernetFlyweight.formatMac(KERNEL_MAC));
            require(scope.exec(nsK, Duration.ofSeconds(10), "ip", "link", "set", "vxk", "mtu", "1450"));
            scope.addAddress(nsK, "vxk", "10.0.1.50/24");
            scope.up(nsK, "vxk");

            // vsnic's substrate socket lives in ns S; the data plane runs in this JVM.
            final UdpSubstrate substrate = NetNs.callIn(nsS, () ->
            {
                final UdpSubstrate created = new UdpSubstrate(4000, dataPlane.pool(), dataPlane::state,
                    new UdpSubstrate.Config(vsnicSubstrate, 6081, 4789, UdpSubstrate.Transport.EPOLL, 1, 4096));
                created.start();
                return created;
            });
            try (substrate)
            {
                final String tapName = "vt" + suffix;
                final TapPort tap = offloads ?
                    new TapPort(1, TapDevice.open(tapName, TapOptions.defaults().withOffloads(10, TapOptions.ALL_OFFLOADS)),
                        dataPlane.pool(), dataPlane.superPool()) :
                    new TapPort(1, TapDevice.open(tapName), dataPlane.pool());
                scope.moveLink(tapName, nsV);
                scope.setMac(nsV, tapName, EthernetFlyweight.formatMac(VM_MAC));
                require(scope.exec(nsV, Duration.ofSeconds(10), "ip", "link", "set", tapName, "mtu", "1450"));
                scope.addAddress(nsV, tapName, "10.0.1.11/24");
                scope.up(nsV, tapName);

                final NetworkSpec network = new NetworkSpec("blue", VNI, 1450, List.of(new SubnetSpec("10.0.1.0/24", "10.0.1.1")),
                    List.of(), List.of(new RemoteSpec("10.0.1.50", KERNEL_MAC, 1)));
                dataPlane.publish(ForwardingState.build(null, List.of(network),
                    List.of(new PortSpec(1, "vm", "blue", VM_MAC, "10.0.1.11", null, CompiledPolicy.allowAll(), true)),
                    List.of(new PeerSpec(1, "kernel", kernelSubstrate + ":4789", Encapsulation.VXLAN, List.of(VNI)))));
                dataPlane.addPort(tap);
                dataPlane.overlayPort(substrate);
                dataPlane.start();

                final NetNs.Result ping = scope.exec(nsV, Duration.ofSeconds(20), "ping", "-c", "3", "-W", "2", "10.0.1.50");
                assertEquals(0, ping.exitCode(), "VM -> kernel VXLAN ping: " + ping.describe() + " drops " +
                    dataPlane.counters().dropsByReason());
                final NetNs.Result pingBack = scope.exec(nsK, Duration.ofSeconds(20), "ping", "-c", "3", "-W", "2", "10.0.1.11");
                assertEquals(0, pingBack.exitCode(), "kernel -> VM ping: " + pingBack.describe());

                final Path payload = directory.resolve("payload.bin");
                final byte[] bytes = new byte[10 * 1024 * 1024];
                new Random(42).nextBytes(bytes);
                Files.write(payload, bytes);
                final String expected = sha256(scope, nsV, payload.toString());
                final long csumErrorsBefore = inCsumErrors(scope, nsV);
                final long started = System.nanoTime();
                transfer(scope, nsK, nsV, "10.0.1.50", payload, directory.resolve("at-kernel.bin"));
                assertEquals(expected, sha256(scope, nsV, directory.resolve("at-kernel.bin").toString()), "VM -> kernel 10 MB");
                transfer(scope, nsV, nsK, "10.0.1.11", payload, directory.resolve("at-vm.bin"));
                assertEquals(expected, sha256(scope, nsV, directory.resolve("at-vm.bin").toString()), "kernel -> VM 10 MB");
                System.out.printf("kernel VXLAN interop%s: 2 x 10 MB in %.1f s%n", offloads ? " (TAP offloads)" : "",
                    (System.nanoTime() - started) / 1e9);
                System.out.println("kernel VXLAN interop: substrate rx " + substrate.rxDatagrams() + " tx " + substrate.txDatagrams() +
                    ", data plane drops " + dataPlane.counters().dropsByReason() + ", checksums completed " +
                    dataPlane.counters().checksumsCompleted() + ", super-frames cut " + dataPlane.counters().superFramesSegmented() +
                    " into " + dataPlane.counters().segmentsBuilt() + ", super-frames coalesced " +
                    dataPlane.counters().superFramesCoalesced() + " of " + dataPlane.counters().segmentsCoalesced() +
                    " merged segments, tap " + tap.counters().snapshot());
                assertTrue(substrate.rxBytes() > bytes.length, "VXLAN bytes received: " + substrate.rxBytes());
                // the kernel hands its UDP socket whole tunnel GSO packets (up to 64 KiB, one datagram each):
                // taken into super-frame slots and cut at the MTU, none dropped as oversize
                assertEquals(0, substrate.drops(io.vsnic.dataplane.status.DropReason.OVERSIZE), "oversize datagrams dropped");
                // Linux VXLAN over veth leaves inner checksums partial (checksum offload, no NIC to finish them).
                assertTrue(dataPlane.counters().checksumsCompleted() > 0, "partial inner checksums were completed");
                assertEquals(csumErrorsBefore, inCsumErrors(scope, nsV), "the VM's kernel found no bad checksum");
                if (offloads)
                {
                    assertTrue(dataPlane.counters().superFramesSegmented() > 0, "the VM's super-frames were cut for the overlay");
                    assertTrue(tap.counters().get(io.vsnic.vnic.EndpointCounter.RX_SUPER_FRAMES) > 0, "super-frames from the VM");
                }
            }
        }
    }

    /** Listens in {@code receiverNs} with socat and sends the file from {@code senderNs}. */
    private static void transfer(final NetNs scope, final String receiverNs, final String senderNs, final String receiverIp,
        final Path payload, final Path target) throws IOException, InterruptedException
    {
        final int port = 20000 + new Random().nextInt(20000);
        final Process listener = new ProcessBuilder("ip", "netns", "exec", receiverNs, "socat", "-u",
            "TCP-LISTEN:" + port + ",reuseaddr", "CREATE:" + target).redirectErrorStream(true).start();
        try
        {
            Thread.sleep(500);
            final NetNs.Result send = scope.exec(senderNs, Duration.ofSeconds(60), "socat", "-u",
                "OPEN:" + payload, "TCP:" + receiverIp + ":" + port + ",connect-timeout=10");
            assertEquals(0, send.exitCode(), "send: " + send.describe());
            assertTrue(listener.waitFor(60, java.util.concurrent.TimeUnit.SECONDS), "receiver finished");
            assertEquals(0, listener.exitValue(), "receiver: " + new String(listener.getInputStream().readAllBytes()));
        }
        finally
        {
            listener.destroyForcibly();
        }
    }

    private static String sha256(final NetNs scope, final String ns, final String file)
    {
        final NetNs.Result result = scope.exec(ns, Duration.ofSeconds(30), "sha256sum", file);
        assertEquals(0, result.exitCode(), result.describe());
        return result.stdout().split("\\s+")[0];
    }

    /**
     * @return the sum of the {@code InCsumErrors} columns of {@code /proc/net/snmp} in the namespace.
     */
    private static long inCsumErrors(final NetNs scope, final String ns)
    {
        final NetNs.Result snmp = scope.exec(ns, Duration.ofSeconds(5), "cat", "/proc/net/snmp");
        assertEquals(0, snmp.exitCode(), snmp.describe());
        final String[] lines = snmp.stdout().split("\n");
        long total = 0;
        for (int i = 0; i + 1 < lines.length; i += 2)
        {
            final String[] names = lines[i].trim().split("\\s+");
            final String[] values = lines[i + 1].trim().split("\\s+");
            for (int c = 1; c < names.length && c < values.length; c++)
            {
                if (names[c].equals("InCsumErrors"))
                {
                    total += Long.parseLong(values[c]);
                }
            }
        }
        return total;
    }

    private static void require(final NetNs.Result result)
    {
        assertEquals(0, result.exitCode(), result.describe());
    }
}
