package io.vsnic.vnic.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import io.vsnic.dataplane.config.NetworkSpec;
import io.vsnic.dataplane.config.PortSpec;
import io.vsnic.dataplane.config.SubnetSpec;
import io.vsnic.dataplane.pipeline.DataPlane;
import io.vsnic.dataplane.pipeline.DataPlaneConfig;
import io.vsnic.dataplane.protocol.EthernetFlyweight;
import io.vsnic.dataplane.security.CompiledPolicy;
import io.vsnic.dataplane.security.ConnectionTimeouts;
import io.vsnic.dataplane.status.DropReason;
import io.vsnic.dataplane.table.ForwardingState;
import io.vsnic.vnic.netns.NetNs;
import io.vsnic.vnic.tap.TapDevice;
import io.vsnic.vnic.tap.TapPort;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * VMs as network namespaces behind TAP vNICs of one vsnic device, configured by a real DHCP client
 * (busybox udhcpc): they get the right address, default route and MTU, ping each other and the
 * gateway, move 100 MB byte-exact by TCP; a VM in another network cannot reach them; a VM that
 * spoofs its address gets nothing through and the drop is counted.
 */
class TapVmTest
{
    private static final long MAC_A = 0x02_00_00_00_0a_0aL;
    private static final long MAC_B = 0x02_00_00_00_0b_0bL;
    private static final long MAC_C = 0x02_00_00_00_0c_0cL;

    @Test
    void shouldConfigureVmsByDhcpAndForwardBetweenThem(@TempDir final Path directory) throws Exception
    {
        Assumptions.assumeTrue(NetNs.isRoot(), "needs root: creates namespaces and TAP devices");
        Assumptions.assumeTrue(NetNs.findExecutable("udhcpc").isPresent(), "needs udhcpc (apt-get install udhcpc)");
        Assumptions.assumeTrue(NetNs.findExecutable("ping").isPresent(), "needs ping (apt-get install iputils-ping)");
        Assumptions.assumeTrue(NetNs.findExecutable("socat").isPresent(), "needs socat (apt-get install socat)");
        final Path script = directory.resolve("udhcpc.sh");
        Files.writeString(script, """
            #!/bin/sh
            # Applies only address, route and MTU (never /etc/resolv.conf) and records what the server sent.
            case "$1" in
              bound|renew)
                ip addr flush dev "$interface"
                ip addr add "$ip/$mask" dev "$interface"
                [ -n "$mtu" ] && ip link set "$interface" mtu "$mtu"
                [ -n "$router" ] && ip route replace default via "${router%% *}" dev "$interface"
                echo "ip=$ip mask=$mask router=$router mtu=$mtu dns=$dns" > "$0.$interface.lease"
                ;;
            esac
            """);
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwx------"));

        try (NetNs scope = NetNs.open();
             DataPlane dataPlane = new DataPlane(new DataPlaneConfig(1, 8192, 65536, ConnectionTimeouts.DEFAULTS)))
        {
            final String nsA = scope.createNamespace("va");
            final String nsB = scope.createNamespace("vb");
            final String nsC = scope.createNamespace("vc");
            final String suffix = nsA.substring(nsA.length() - 6);
            final String[] taps = {"ta" + suffix, "tb" + suffix, "tc" + suffix};
            final String[] namespaces = {nsA, nsB, nsC};
            final long[] macs = {MAC_A, MAC_B, MAC_C};
            for (int i = 0; i < 3; i++)
            {
                final TapPort port = new TapPort(i + 1, TapDevice.open(taps[i]), dataPlane.pool());
                scope.moveLink(taps[i], namespaces[i]);
                scope.setMac(namespaces[i], taps[i], EthernetFlyweight.formatMac(macs[i]));
                scope.disableIpv6(namespaces[i], taps[i]);
                scope.up(namespaces[i], taps[i]);
                scope.up(namespaces[i], "lo");
                dataPlane.addPort(port);
            }
            final NetworkSpec blue = new NetworkSpec("blue", 100, 1400, List.of(new SubnetSpec("10.60.1.0/24", "10.60.1.1")),
                List.of(), List.of(), List.of("10.60.1.53"));
            final NetworkSpec red = new NetworkSpec("red", 200, 1500, List.of(new SubnetSpec("10.60.1.0/24", "10.60.1.1")));
            final CompiledPolicy open = CompiledPolicy.allowAll();
            dataPlane.publish(ForwardingState.build(List.of(blue, red), List.of(
                new PortSpec(1, "vm-a", "blue", MAC_A, "10.60.1.10", null, open, true),
                new PortSpec(2, "vm-b", "blue", MAC_B, "10.60.1.20", null, open, true),
                new PortSpec(3, "vm-c", "red", MAC_C, "10.60.1.30", null, open, true))));
            dataPlane.start();

            for (int i = 0; i < 3; i++)
            {
                final NetNs.Result dhcp = scope.exec(namespaces[i], Duration.ofSeconds(30), "udhcpc", "-i", taps[i], "-n", "-q", "-f",
                    "-t", "5", "-T", "2", "-O", "mtu", "-s", script.toString());
                assertEquals(0, dhcp.exitCode(), "udhcpc in " + namespaces[i] + ": " + dhcp.describe());
            }
            final String lease = Files.readString(Path.of(script + "." + taps[0] + ".lease"));
            assertTrue(lease.contains("ip=10.60.1.10 mask=24 router=10.60.1.1 mtu=1400 dns=10.60.1.53"), lease);
            final String addresses = scope.exec(nsA, Duration.ofSeconds(5), "ip", "-4", "addr", "show", taps[0]).stdout();
            assertTrue(addresses.contains("10.60.1.10/24") && addresses.contains("mtu 1400"), addresses);
            assertTrue(scope.exec(nsA, Duration.ofSeconds(5), "ip", "route").stdout().contains("default via 10.60.1.1"));

            ping(scope, nsA, "10.60.1.20", true);
            ping(scope, nsB, "10.60.1.10", true);
            ping(scope, nsA, "10.60.1.1", true);
            // vm-c has the same subnet in network red: it reaches neither blue VM.
            ping(scope, nsC, "10.60.1.10", false);
            ping(scope, nsC, "10.60.1.20", false);

            final Path payload = directory.resolve("payload.bin");
            final byte[] bytes = new byte[100 * 1024 * 1024];
            new Random(7).nextBytes(bytes);
            Files.write(payload, bytes);
            final long started = System.nanoTime();
            transfer(scope, nsB, nsA, "10.60.1.20", payload, directory.resolve("received.bin"));
            final double seconds = (System.nanoTime() - started) / 1e9;
            assertEquals(sha256(scope, payload), sha256(scope, directory.resolve("received.bin")), "100 MB byte-exact");
            System.out.printf("TAP to TAP: 100 MB in %.1f s (%.0f Mbit/s)%n", seconds, 800 / seconds);

            // vm-b spoofs vm-a's address by hand: nothing gets through, and the drop is counted.
            final long spoofedBefore = dataPlane.counters().drops(DropReason.SPOOFED_IP);
            scope.exec(nsB, Duration.ofSeconds(5), "ip", "addr", "flush", "dev", taps[1]);
            scope.addAddress(nsB, taps[1], "10.60.1.99/24");
            ping(scope, nsB, "10.60.1.10", false);
            assertTrue(dataPlane.counters().drops(DropReason.SPOOFED_IP) > spoofedBefore,
                "spoofed frames are counted: " + dataPlane.counters().dropsByReason());
            assertNotEquals(0, dataPlane.counters().localAnswers());
        }
    }

    private static void ping(final NetNs scope, final String ns, final String address, final boolean expectReply)
    {
        final NetNs.Result result = scope.exec(ns, Duration.ofSeconds(15), "ping", "-c", "2", "-W", "1", address);
        assertEquals(expectReply, result.exitCode() == 0, "ping " + address + " from " + ns + ": " + result.describe());
    }

    private static void transfer(final NetNs scope, final String receiverNs, final String senderNs, final String receiverIp,
        final Path payload, final Path target) throws IOException, InterruptedException
    {
        final int port = 20000 + new Random().nextInt(20000);
        final Process listener = new ProcessBuilder("ip", "netns", "exec", receiverNs, "socat", "-u",
            "TCP-LISTEN:" + port + ",reuseaddr", "CREATE:" + target).redirectErrorStream(true).start();
        try
        {
            Thread.sleep(500);
            final NetNs.Result send = scope.exec(senderNs, Duration.ofSeconds(180), "socat", "-u",
                "OPEN:" + payload, "TCP:" + receiverIp + ":" + port + ",connect-timeout=10");
            assertEquals(0, send.exitCode(), "send: " + send.describe());
            assertTrue(listener.waitFor(60, TimeUnit.SECONDS), "receiver finished");
        }
        finally
        {
            listener.destroyForcibly();
        }
    }

    private static String sha256(final NetNs scope, final Path file)
    {
        final NetNs.Result result = NetNs.run(Duration.ofSeconds(30), List.of("sha256sum", file.toString()));
        assertEquals(0, result.exitCode(), result.describe());
        return result.stdout().split("\\s+")[0];
    }
}
