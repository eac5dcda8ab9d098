package io.vsnic.orchestrator.lab;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import io.vsnic.vnic.netns.NetNs;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The offload path across two devices (root), plain and encrypted: VMs behind TAP vNICs with TSO hand
 * over 64 KiB super-frames, the sending device cuts them into overlay datagrams and sends each batch
 * as one UDP GSO send, the receiving device reads it as one UDP GRO message, cuts it, opens and
 * coalesces it back for the other TAP. Checked with real guest kernels on both ends: TCP transfers
 * both ways are byte-exact, also with 2 % of the substrate's datagrams (or GRO batches) dropped on
 * the way in by an nftables rule (retransmissions, segments out of order at the coalescer), UDP
 * datagrams of exactly the MTU and of MTU + 1 (cut into IP fragments by the guest) arrive intact,
 * neither guest counts a checksum error ({@code InCsumErrors} in its {@code /proc/net/snmp}), and
 * the devices' counters show that the GSO and GRO path carried the traffic.
 *
 * <p>Not covered here: inner IPv6 across devices (the lab's networks are IPv4; TAP offloads with
 * IPv6 are in the vnic module's {@code TapOffloadTest}), reordering without loss (no netem here).
 */
class OffloadLabTest
{
    private static final int FORWARD_BYTES = 32 * 1024 * 1024;
    private static final int BACKWARD_BYTES = 8 * 1024 * 1024;
    private static final int DATAGRAMS = 40;

    private final List<String> progress = new ArrayList<>();

    @TempDir
    Path directory;

    @BeforeEach
    void requireRoot()
    {
        LabTest.assumeLab("socat:socat", "python3:python3", "nft:nftables");
    }

    @ParameterizedTest(name = "encryption {0}")
    @ValueSource(booleans = {false, true})
    void shouldKeepTransfersExactThroughTheOffloadPath(final boolean encryption) throws Exception
    {
        final String name = LabTest.uniqueName();
        try
        {
            final LabState state = Lab.up(new Lab.Spec(name, 2, 1, encryption), Lab.DaemonLauncher.sameJvm(), progress::add);
            final LabState.Vm a = state.vm("d1v1").orElseThrow();
            final LabState.Vm b = state.vm("d2v1").orElseThrow();
            final long[] errorsBefore = {inCsumErrors(a), inCsumErrors(b)};

            transferBothWays(a, b, "clean");

            // 2 % loss on the way into device 2 (the WireGuard or Geneve port): one rule in its namespace
            final LabState.Device d2 = state.device(2);
            final String table = "vsnicloss";
            nft(d2, "add table inet " + table);
            nft(d2, "add chain inet " + table + " in { type filter hook input priority 0 ; policy accept ; }");
            nft(d2, "add rule inet " + table + " in udp dport { 6081, " + Lab.WIREGUARD_PORT + " } numgen random mod 100 < 2 counter drop");
            try
            {
                transferBothWays(a, b, "2 % loss");
                final String rule = nft(d2, "list chain inet " + table + " in");
                final java.util.regex.Matcher dropped = java.util.regex.Pattern.compile("counter packets (\\d+)").matcher(rule);
                assertTrue(dropped.find() && Long.parseLong(dropped.group(1)) > 0, "the rule dropped substrate packets: " + rule);
            }
            finally
            {
                nft(d2, "delete table inet " + table);
            }

            final int mtu = mtu(a);
            assertEquals(mtu, mtu(b), "both VMs got the network's MTU by DHCP");
            udpIntact(a, b, mtu - 28);   // an IP packet of exactly the MTU
            udpIntact(a, b, mtu - 27);   // one byte more: the guest cuts it into two IP fragments

            assertEquals(errorsBefore[0], inCsumErrors(a), "checksum errors in the guest of device 1");
            assertEquals(errorsBefore[1], inCsumErrors(b), "checksum errors in the guest of device 2");

            final List<Lab.DeviceStatus> statuses = Lab.deviceStatus(state);
            final double gso = Lab.sum(statuses.get(0).counters(), "vsnic_substrate_udp_gso_messages_total");
            final double gro = Lab.sum(statuses.get(1).counters(), "vsnic_substrate_udp_gro_messages_total");
            assertTrue(gso > 0, "device 1 sent UDP GSO batches: " + gso);
            assertTrue(gro > 0, "device 2 received UDP GRO batches: " + gro);
        }
        finally
        {
            Lab.down(name, progress::add);
        }
    }

    private void transferBothWays(final LabState.Vm a, final LabState.Vm b, final String what) throws Exception
    {
        final Path forward = random("forward-" + what.hashCode() + ".bin", FORWARD_BYTES, 11);
        final Path forwardReceived = directory.resolve("forward-received-" + what.hashCode() + ".bin");
        LabTest.transfer(a, b, forward, forwardReceived);
        assertEquals(LabTest.sha256(forward), LabTest.sha256(forwardReceived), what + ": " + FORWARD_BYTES + " bytes d1 -> d2, byte-exact");
        final Path backward = random("backward-" + what.hashCode() + ".bin", BACKWARD_BYTES, 12);
        final Path backwardReceived = directory.resolve("backward-received-" + what.hashCode() + ".bin");
        LabTest.transfer(b, a, backward, backwardReceived);
        assertEquals(LabTest.sha256(backward), LabTest.sha256(backwardReceived), what + ": " + BACKWARD_BYTES + " bytes d2 -> d1, byte-exact");
    }

    private Path random(final String file, final int bytes, final long seed) throws Exception
    {
        final byte[] data = new byte[bytes];
        new Random(seed).nextBytes(data);
        final Path path = directory.resolve(file);
        Files.write(path, data);
        return path;
    }

    /**
     * Sends {@link #DATAGRAMS} UDP datagrams of {@code size} bytes (a sequence number and a pattern
     * derived from it), 10 ms apart, and checks that every one arrived whole and unchanged.
     */
    private static void udpIntact(final LabState.Vm from, final LabState.Vm to, final int size) throws Exception
    {
        final int port = 40000 + new Random().nextInt(10000);
        final String receiver = """
            import socket, sys
            size, count, port = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("0.0.0.0", port))
            s.settimeout(15)
            print("ready", flush=True)
            seen, bad = set(), 0
            try:
                while len(seen) < count:
                    data = s.recv(65535)
                    n = int.from_bytes(data[:4], "big")
                    if len(data) != size or data != n.to_bytes(4, "big") + bytes((n + i) % 251 for i in range(size - 4)):
                        bad += 1
                    else:
                        seen.add(n)
            except socket.timeout:
                pass
            print(len(seen), bad, flush=True)
            """;
        final String sender = """
            import socket, sys, time
            size, count, host, port = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            for n in range(count):
                s.sendto(n.to_bytes(4, "big") + bytes((n + i) % 251 for i in range(size - 4)), (host, port))
                time.sleep(0.01)
            """;
        final Process listener = new ProcessBuilder(Lab.executable("ip"), "netns", "exec", to.namespace(), "python3", "-c", receiver,
            Integer.toString(size), Integer.toString(DATAGRAMS), Integer.toString(port)).redirectErrorStream(true).start();
        try
        {
            final java.io.BufferedReader out = new java.io.BufferedReader(new java.io.InputStreamReader(listener.getInputStream()));
            assertEquals("ready", out.readLine(), "UDP receiver started");
            final NetNs.Result sent = LabTest.inVm(from, Duration.ofSeconds(60), "python3", "-c", sender, Integer.toString(size),
                Integer.toString(DATAGRAMS), to.ip(), Integer.toString(port));
            assertTrue(sent.ok(), "UDP sender: " + sent.describe());
            final String result = out.readLine();
            assertEquals(DATAGRAMS + " 0", result, size + "-byte datagrams: arrived intact, damaged");
        }
        finally
        {
            listener.destroyForcibly();
        }
    }

    private static int mtu(final LabState.Vm vm)
    {
        final NetNs.Result result = LabTest.inVm(vm, Duration.ofSeconds(10), "sh", "-c",
            "for d in /sys/class/net/*; do [ \"${d##*/}\" = lo ] || cat \"$d/mtu\"; done");
        assertTrue(result.ok(), result.describe());
        return Integer.parseInt(result.stdout().strip().split("\\s+")[0]);
    }

    /** The guest's TCP and UDP {@code InCsumErrors} ({@code /proc/net/snmp} of its namespace), summed. */
    private static long inCsumErrors(final LabState.Vm vm)
    {
        final NetNs.Result result = LabTest.inVm(vm, Duration.ofSeconds(10), "cat", "/proc/net/snmp");
        assertTrue(result.ok(), result.describe());
        final String[] lines = result.stdout().split("\n");
        long sum = 0;
        for (int i = 0; i + 1 < lines.length; i++)
        {
            final String[] names = lines[i].trim().split("\\s+");
            final String[] values = lines[i + 1].trim().split("\\s+");
            if (names.length == values.length && names[0].equals(values[0]) && (names[0].equals("Tcp:") || names[0].equals("Udp:")))
            {
                for (int k = 1; k < names.length; k++)
                {
                    if (names[k].equals("InCsumErrors"))
                    {
                        sum += Long.parseLong(values[k]);
                    }
                }
            }
        }
        return sum;
    }

    private static String nft(final LabState.Device device, final String command)
    {
        final List<String> full = new ArrayList<>(List.of(Lab.executable("ip"), "netns", "exec", device.namespace(), "nft"));
        full.addAll(List.of(command.split(" ")));
        final NetNs.Result result = NetNs.run(Duration.ofSeconds(10), full);
        assertTrue(result.ok(), "nft " + command + ": " + result.describe());
        return result.stdout();
    }
}
