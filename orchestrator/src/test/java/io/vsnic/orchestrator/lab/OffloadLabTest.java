package io.vsnic.orchestrator.lab;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import io.vsnic.orchestrator.Waits;
import io.vsnic.vnic.netns.NetNs;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The offload path across two devices (root), plain and encrypted: VMs behind TAP vNICs with TSO hand
 * over 64 KiB super-frames, the sending device cuts them into overlay datagrams and sends each batch
 * as one UDP GSO send, the receiving device reads it as one UDP GRO message, cuts it, opens and
 * coalesces it back for the other TAP. Checked with real guest kernels on both ends, in one lab per
 * run (issue 11, "Proof"):
 * <ul>
 *   <li>TCP transfers both ways byte-exact (sha256), over inner IPv4 and inner IPv6 (the network gets
 *       an IPv6 subnet, the vNICs IPv6 addresses, the guests static addresses on the subnet's /64);</li>
 *   <li>with reordering injected on the substrate (no netem in this kernel: a slow HTB class on device
 *       1's substrate link, a twelfth of the rate the clean transfer reached, takes every 8th outgoing
 *       overlay datagram, chosen by an nftables rule that sets its priority, so it arrives after later
 *       ones): the receiving guest queues
 *       segments out of order ({@code TCPOFOQueue}) and the bytes are exact;</li>
 *   <li>with 2 % of the substrate's datagrams (or GRO batches) dropped on the way in by an nftables rule,
 *       reordering still on (retransmissions, segments out of order at the coalescer);</li>
 *   <li>UDP datagrams of exactly the MTU arrive intact over IPv4 and IPv6; over IPv4 MTU + 1 is cut into
 *       fragments by the guest and arrives intact; over IPv6 a packet of MTU + 1 that the guest does
 *       not fragment (IPV6_DONTFRAG, interface MTU raised for it) is answered with an ICMPv6 Packet Too
 *       Big: the guest learns the path MTU and refuses the next one (EMSGSIZE);</li>
 *   <li>offloads on, then off, in the same run: with them on the devices' counters show super-frames cut
 *       towards the substrate, GSO sends, GRO reads and coalesced super-frames; then both vNICs are
 *       re-attached with {@code offloads: off} (no virtio-net header, the guests segment and checksum
 *       themselves) and the IPv4, IPv6 and UDP checks run again, with no super-frame cut or coalesced;</li>
 *   <li>neither guest counts a checksum error ({@code InCsumErrors} in its {@code /proc/net/snmp}) at any
 *       point.</li>
 * </ul>
 * The substrate's UDP GSO/GRO are daemon-wide ({@code -Dvsnic.substrate.gso=false},
 * {@code -Dvsnic.substrate.gro=false}): run the whole proof with them off by giving those to the lab's
 * daemons, {@code VSNIC_LAB_JAVA_OPTS="-Xms16m -Xmx128m -XX:+UseSerialGC -Dvsnic.substrate.gso=false
 * -Dvsnic.substrate.gro=false"}; the test then expects no GSO send and no GRO read.
 *
 * <p>{@link #shouldMoveOneGigabyteExactlyThroughTheOffloadPath} (tag {@code slow}, {@code -Pslow}) moves
 * 1 GiB by TCP, streamed and checksummed on both ends.
 */
class OffloadLabTest
{
    private static final int FORWARD_BYTES = 32 * 1024 * 1024;
    private static final int BACKWARD_BYTES = 8 * 1024 * 1024;
    private static final int IPV6_BYTES = 8 * 1024 * 1024;
    private static final int DATAGRAMS = 40;
    private static final long ONE_GIB = 1L << 30;
    /** The IPv6 subnet the test adds to the lab network; VM dNvV gets {@code fd77::N:(10+V)}. */
    private static final String IPV6_CIDR = "fd77::/64";
    private static final String IPV6_GATEWAY = "fd77::1";

    private final List<String> progress = new ArrayList<>();

    @TempDir
    Path directory;

    @BeforeEach
    void requireRoot()
    {
        LabTest.assumeLab("socat:socat", "python3:python3", "nft:nftables", "tc:iproute2", "ping:iputils-ping");
    }

    @ParameterizedTest(name = "encryption {0}")
    @ValueSource(booleans = {false, true})
    void shouldKeepTransfersExactThroughTheOffloadPath(final boolean encryption) throws Exception
    {
        final String name = LabTest.uniqueName();
        try
        {
            final LabState state = up(name, encryption);
            final LabState.Vm a = state.vm("d1v1").orElseThrow();
            final LabState.Vm b = state.vm("d2v1").orElseThrow();
            final long[] errorsBefore = csumErrors(a, b);
            final boolean substrateOffloads = substrateOffloadsOn();

            final long cleanMbit = transferBothWays(a, b, "clean");

            addIpv6(state);
            transferIpv6(a, b, "offloads on");

            final LabState.Device d1 = state.device(1);
            final LabState.Device d2 = state.device(2);
            final String table = "vsnicloss";
            try
            {
                final long slowMbit = reorder(d1, cleanMbit);
                final long ofoBefore = tcpExt(b, "TCPOFOQueue");
                transfer(a, b, "reordering", FORWARD_BYTES, 13);
                final long outOfOrder = tcpExt(b, "TCPOFOQueue") - ofoBefore;
                final long delayed = ruleCounter(d1, REORDER_TABLE, "out");
                final String reordering = String.format(
                    "reordering (clean transfer %d Mbit/s, slow class %d Mbit/s): %d substrate sends held back, %d segments queued out of order",
                    cleanMbit, slowMbit, delayed, outOfOrder);
                System.out.printf("OffloadLabTest (%s): %s%n", encryption ? "encrypted" : "plain", reordering);
                assertTrue(delayed > 0, "the reorder rule took datagrams: " + reordering);
                assertTrue(outOfOrder > 0, "the receiving guest queued segments out of order: " + reordering);

                // 2 % loss on the way into device 2 (the WireGuard or Geneve port), reordering still on
                nft(d2, "add table inet " + table);
                nft(d2, "add chain inet " + table + " in { type filter hook input priority 0 ; policy accept ; }");
                nft(d2, "add rule inet " + table + " in udp dport { 6081, " + Lab.WIREGUARD_PORT + " } numgen random mod 100 < 2 counter drop");
                transferBothWays(a, b, "2 % loss and reordering");
                assertTrue(ruleCounter(d2, table, "in") > 0, "the loss rule dropped substrate packets");
            }
            finally
            {
                nftQuietly(d2, "delete table inet " + table);
                unreorder(d1);
            }

            final int mtu = mtu(a);
            assertEquals(mtu, mtu(b), "both VMs got the network's MTU by DHCP");
            udpChecks(a, b, mtu);

            final List<Lab.DeviceStatus> statuses = Lab.deviceStatus(state);
            final double segmented = Lab.sum(statuses.get(0).counters(), "vsnic_dataplane_super_frames_segmented_total");
            final double coalesced = Lab.sum(statuses.get(1).counters(), "vsnic_dataplane_super_frames_coalesced_total");
            final double gso = Lab.sum(statuses.get(0).counters(), "vsnic_substrate_udp_gso_messages_total");
            final double gro = Lab.sum(statuses.get(1).counters(), "vsnic_substrate_udp_gro_messages_total");
            assertTrue(segmented > 0, "device 1 cut the guest's TSO super-frames for the substrate: " + segmented);
            assertTrue(coalesced > 0, "device 2 coalesced segments into super-frames for its TAP: " + coalesced);
            if (substrateOffloads)
            {
                assertTrue(gso > 0, "device 1 sent UDP GSO batches: " + gso);
                assertTrue(gro > 0, "device 2 received UDP GRO batches: " + gro);
            }
            else
            {
                assertEquals(0.0, gso + gro, "substrate GSO and GRO turned off: no GSO send, no GRO read");
            }
            assertEquals("on", coalescedWrites(d2, b), "device 2 writes super-frames whole to its TAP");
            // The TAP endpoints' own counters, as describe vnic shows them (status.backend.counters).
            assertTrue(endpointCounter(d1, a, "rx_super_frames") > 0, "device 1 read the guest's TSO super-frames whole");
            assertTrue(endpointCounter(d2, b, "tx_super_frames") > 0, "device 2 wrote coalesced super-frames whole");
            assertEquals(0, endpointCounter(d1, a, "rx_bad_vnet_header"));
            assertEquals(0, endpointCounter(d2, b, "tx_errors"));
            assertEquals((double)endpointCounter(d1, a, "rx_super_frames"), statuses.get(0).counters().entrySet().stream()
                .filter(e -> e.getKey().startsWith("vsnic_vnic_endpoint_total{") && e.getKey().contains("counter=\"rx_super_frames\"") &&
                    e.getKey().contains("vnic=\"" + a.vnic() + "\""))
                .mapToDouble(Map.Entry::getValue).sum(), 0.0, "/metrics exports the same endpoint counter");

            // The same checks with the TAPs' offloads off: no virtio-net header, the guests cut and checksum.
            reattachWithoutOffloads(state, a);
            reattachWithoutOffloads(state, b);
            transfer(a, b, "offloads off", BACKWARD_BYTES, 14);
            transfer(b, a, "offloads off, back", BACKWARD_BYTES, 15);
            transferIpv6(a, b, "offloads off");
            udpChecks(a, b, mtu);
            final List<Lab.DeviceStatus> after = Lab.deviceStatus(state);
            assertEquals(segmented, Lab.sum(after.get(0).counters(), "vsnic_dataplane_super_frames_segmented_total"),
                "offloads off: no super-frame from the TAP to cut");
            assertEquals(coalesced, Lab.sum(after.get(1).counters(), "vsnic_dataplane_super_frames_coalesced_total"),
                "offloads off: nothing coalesced for a TAP without a virtio-net header");
            assertEquals("off (no virtio-net header)", coalescedWrites(d2, b));

            assertGuestChecksumsClean(a, b, errorsBefore);
        }
        finally
        {
            Lab.down(name, progress::add);
        }
    }

    /**
     * 1 GiB by TCP from d1v1 to d2v1 through the offload path (plain and encrypted), generated from
     * {@code /dev/urandom} and checksummed as it streams on both ends (nothing is written to disk).
     * Not in the default build: {@code ./mvnw -Pslow -pl orchestrator -am test
     * -Dtest='OffloadLabTest#shouldMoveOneGigabyteExactlyThroughTheOffloadPath' -Dsurefire.failIfNoSpecifiedTests=false}.
     */
    @Tag("slow")
    @ParameterizedTest(name = "encryption {0}")
    @ValueSource(booleans = {false, true})
    void shouldMoveOneGigabyteExactlyThroughTheOffloadPath(final boolean encryption) throws Exception
    {
        final String name = LabTest.uniqueName();
        try
        {
            final LabState state = up(name, encryption);
            final LabState.Vm a = state.vm("d1v1").orElseThrow();
            final LabState.Vm b = state.vm("d2v1").orElseThrow();
            final long[] errorsBefore = csumErrors(a, b);
            final int port = 20000 + new Random().nextInt(20000);
            final Path sent = directory.resolve("sent.sha256");
            final Path received = directory.resolve("received.sha256");
            final Process listener = new ProcessBuilder(Lab.executable("ip"), "netns", "exec", b.namespace(), "bash", "-c",
                "socat -u TCP-LISTEN:" + port + ",reuseaddr - | tee >(wc -c > " + received + ".bytes) | sha256sum > " + received)
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).redirectErrorStream(true).start();
            try
            {
                final long started = System.nanoTime();
                NetNs.Result send = null;
                for (int attempt = 0; attempt < 50; attempt++)
                {
                    send = LabTest.inVm(a, Duration.ofMinutes(15), "bash", "-c", "set -o pipefail; head -c " + ONE_GIB +
                        " /dev/urandom | tee >(sha256sum > " + sent + ") | socat -u - TCP:" + b.ip() + ":" + port + ",connect-timeout=10");
                    if (send.ok() || !send.stderr().contains("Connection refused"))
                    {
                        break;
                    }
                    Thread.sleep(100);
                }
                assertTrue(send.ok(), "send: " + send.describe());
                assertTrue(listener.waitFor(120, java.util.concurrent.TimeUnit.SECONDS), "receiver finished");
                final double seconds = (System.nanoTime() - started) / 1e9;
                final String sentSum = awaitFile(sent).split("\\s+")[0];
                assertEquals(Long.toString(ONE_GIB), awaitFile(Path.of(received + ".bytes")).strip(), "bytes received");
                assertEquals(sentSum, Files.readString(received).split("\\s+")[0], "1 GiB d1 -> d2, byte-exact");
                System.out.printf("OffloadLabTest: 1 GiB %s in %.1f s (%.2f Gbit/s)%n", encryption ? "encrypted" : "plain", seconds,
                    ONE_GIB * 8 / seconds / 1e9);
            }
            finally
            {
                listener.destroyForcibly();
            }
            assertGuestChecksumsClean(a, b, errorsBefore);
        }
        finally
        {
            Lab.down(name, progress::add);
        }
    }

    /** The sender's checksum file is written by a process substitution that may finish just after the pipe. */
    private static String awaitFile(final Path file) throws Exception
    {
        Waits.awaitTrue(Duration.ofSeconds(30), () -> !readQuietly(file).isBlank(), () -> file + " to be written");
        return Files.readString(file);
    }

    /** The file's text, or "" when it is not there (yet). */
    private static String readQuietly(final Path file)
    {
        try
        {
            return Files.exists(file) ? Files.readString(file) : "";
        }
        catch (final java.io.IOException ex)
        {
            return "";
        }
    }

    // ---- IPv6 ----

    /** VM dNvV's IPv6 address: {@code fd77::N:(10+V)}, mirroring its IPv4 {@code 10.77.N.(10+V)}. */
    private static String ipv6(final LabState.Vm vm)
    {
        return "fd77::" + vm.device() + ":" + vm.ip().substring(vm.ip().lastIndexOf('.') + 1);
    }

    /**
     * Gives the lab network an IPv6 subnet on every device, the remote entries for the other device's VM,
     * an ingress rule for {@code ::/0} in the open group, each vNIC its IPv6 address, and each guest that
     * address on its TAP (static, no DAD, no router advertisements or SLAAC: one source address).
     */
    private static void addIpv6(final LabState state) throws Exception
    {
        for (final LabState.Device device : state.devices())
        {
            final NamespaceHttp api = Lab.api(device);
            put(api, "/v1/security-groups/open", Map.of("name", "open", "rules", List.of(
                Map.of("direction", "ingress", "protocol", "any", "cidr", "0.0.0.0/0"),
                Map.of("direction", "ingress", "protocol", "any", "cidr", "::/0"))));
            final com.fasterxml.jackson.databind.JsonNode network = api.getJson("/v1/networks/" + Lab.NETWORK);
            final List<Map<String, Object>> remotes = new ArrayList<>();
            for (final com.fasterxml.jackson.databind.JsonNode remote : network.path("remotes"))
            {
                remotes.add(Map.of("ip", remote.path("ip").asText(), "mac", remote.path("mac").asText(), "device", remote.path("device").asInt()));
            }
            for (final LabState.Vm vm : state.vms())
            {
                if (vm.device() != device.index())
                {
                    remotes.add(Map.of("ip", ipv6(vm), "mac", vm.mac(), "device", vm.device()));
                }
            }
            final List<Map<String, Object>> subnets = new ArrayList<>();
            for (final com.fasterxml.jackson.databind.JsonNode subnet : network.path("subnets"))
            {
                subnets.add(Map.of("cidr", subnet.path("cidr").asText(), "gateway", subnet.path("gateway").asText()));
            }
            subnets.add(Map.of("cidr", IPV6_CIDR, "gateway", IPV6_GATEWAY));
            final Map<String, Object> body = new LinkedHashMap<>();
            body.put("name", Lab.NETWORK);
            body.put("vni", network.path("vni").asInt());
            body.put("mtu", network.path("mtu").asInt());
            body.put("subnets", subnets);
            body.put("remotes", remotes);
            put(api, "/v1/networks/" + Lab.NETWORK, body);
        }
        for (final LabState.Vm vm : state.vms())
        {
            put(Lab.api(state.device(vm.device())), "/v1/vnics/" + vm.vnic(), vnicBody(vm, "on"));
            guestIpv6(vm);
        }
        for (final LabState.Vm vm : state.vms())
        {
            for (final LabState.Vm other : state.vms())
            {
                if (other != vm)
                {
                    awaitPing(vm, ipv6(other));
                }
            }
        }
    }

    private static Map<String, Object> vnicBody(final LabState.Vm vm, final String offloads)
    {
        final Map<String, Object> body = new LinkedHashMap<>();
        body.put("id", vm.vnic());
        body.put("network", Lab.NETWORK);
        body.put("ip", vm.ip());
        body.put("ipv6", ipv6(vm));
        body.put("mac", vm.mac());
        body.put("securityGroups", List.of("open"));
        // offloads on is the default: left out, the backend stays what the lab attached (no re-open)
        body.put("backend", offloads.equals("on") ? Map.of("type", "tap", "name", vm.tap()) :
            Map.of("type", "tap", "name", vm.tap(), "offloads", offloads));
        return body;
    }

    private static void put(final NamespaceHttp api, final String path, final Object body) throws Exception
    {
        final NamespaceHttp.Response response = api.send("PUT", path, body);
        assertTrue(response.ok(), "PUT " + path + ": " + response.error());
    }

    private static void guestIpv6(final LabState.Vm vm)
    {
        final String conf = "/proc/sys/net/ipv6/conf/" + vm.tap() + "/";
        sh(vm, "echo 0 > " + conf + "autoconf && echo 0 > " + conf + "accept_ra && echo 0 > " + conf + "accept_dad && echo 0 > " +
            conf + "disable_ipv6 && ip -6 addr replace " + ipv6(vm) + "/64 dev " + vm.tap() + " nodad");
    }

    private static void awaitPing(final LabState.Vm from, final String to)
    {
        NetNs.Result ping = null;
        for (int attempt = 0; attempt < 20; attempt++)
        {
            ping = LabTest.inVm(from, Duration.ofSeconds(5), "ping", "-c", "1", "-W", "1", to);
            if (ping.ok())
            {
                return;
            }
        }
        throw new AssertionError(from.name() + " cannot reach " + to + ": " + ping.describe());
    }

    private void transferIpv6(final LabState.Vm a, final LabState.Vm b, final String what) throws Exception
    {
        final Path payload = random("v6-" + what.hashCode() + ".bin", IPV6_BYTES, 16);
        final Path received = directory.resolve("v6-received-" + what.hashCode() + ".bin");
        final int port = 20000 + new Random().nextInt(20000);
        final Process listener = new ProcessBuilder(Lab.executable("ip"), "netns", "exec", b.namespace(), "socat", "-u",
            "TCP6-LISTEN:" + port + ",reuseaddr", "CREATE:" + received)
            .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).redirectErrorStream(true).start();
        try
        {
            NetNs.Result send = null;
            for (int attempt = 0; attempt < 50; attempt++)
            {
                send = LabTest.inVm(a, Duration.ofSeconds(180), "socat", "-u", "OPEN:" + payload,
                    "TCP6:[" + ipv6(b) + "]:" + port + ",connect-timeout=10");
                if (send.ok() || !send.stderr().contains("Connection refused"))
                {
                    break;
                }
                Thread.sleep(100);
            }
            assertTrue(send.ok(), "send over IPv6: " + send.describe());
            assertTrue(listener.waitFor(60, java.util.concurrent.TimeUnit.SECONDS), "receiver finished");
        }
        finally
        {
            listener.destroyForcibly();
        }
        assertEquals(LabTest.sha256(payload), LabTest.sha256(received), what + ": " + IPV6_BYTES + " bytes over IPv6 d1 -> d2, byte-exact");
    }

    /**
     * UDP across the devices at the MTU boundary: IPv4 datagrams of exactly the MTU and of MTU + 1 (the
     * guest fragments it) arrive intact; an IPv6 datagram of exactly the MTU arrives intact; an IPv6
     * packet of MTU + 1 sent unfragmented gets an ICMPv6 Packet Too Big from the device.
     */
    private static void udpChecks(final LabState.Vm a, final LabState.Vm b, final int mtu) throws Exception
    {
        udpIntact(a, b, b.ip(), false, mtu - 28);   // an IP packet of exactly the MTU
        udpIntact(a, b, b.ip(), false, mtu - 27);   // one byte more: the guest cuts it into two IP fragments
        udpIntact(a, b, ipv6(b), true, mtu - 48);   // an IPv6 packet of exactly the MTU
        packetTooBig(a, b, mtu);
    }

    /**
     * Raises the sender's interface MTU above the network's, sends {@code MTU + 1}-byte IPv6 packets with
     * IPV6_DONTFRAG until the socket refuses them (EMSGSIZE: the guest learned the path MTU from the
     * device's ICMPv6 Packet Too Big), then puts the MTU back.
     */
    private static void packetTooBig(final LabState.Vm a, final LabState.Vm b, final int mtu)
    {
        final String sender = """
            import errno, socket, sys, time
            host, size = sys.argv[1], int(sys.argv[2])
            s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
            s.setsockopt(socket.IPPROTO_IPV6, 62, 1)  # IPV6_DONTFRAG
            s.connect((host, 9))
            for n in range(100):
                try:
                    s.send(bytes(size))
                except OSError as e:
                    print("refused", errno.errorcode.get(e.errno, e.errno), "after", n, flush=True)
                    sys.exit(0)
                time.sleep(0.05)
            print("never refused", flush=True)
            """;
        final long before = snmp6(a, "Icmp6InPktTooBigs");
        sh(a, "ip -6 route flush cache || true; ip link set dev " + a.tap() + " mtu " + (mtu + 100));
        try
        {
            final NetNs.Result result = LabTest.inVm(a, Duration.ofSeconds(30), "python3", "-c", sender, ipv6(b), Integer.toString(mtu - 47));
            assertTrue(result.ok(), result.describe());
            assertTrue(result.stdout().startsWith("refused EMSGSIZE"), "an IPv6 packet of MTU + 1 without fragmentation: " + result.stdout());
            assertTrue(snmp6(a, "Icmp6InPktTooBigs") > before, "the guest received an ICMPv6 Packet Too Big");
            final NetNs.Result route = NetNs.ipIn(a.namespace(), "-6", "route", "get", ipv6(b));
            assertTrue(route.stdout().contains("mtu " + mtu), "the guest's path MTU to " + ipv6(b) + ": " + route.stdout());
        }
        finally
        {
            sh(a, "ip link set dev " + a.tap() + " mtu " + mtu);
        }
    }

    // ---- reordering ----

    private static final String REORDER_TABLE = "vsnicreorder";

    /**
     * Reorders device 1's outgoing overlay datagrams: its substrate link {@code sub0} gets an HTB qdisc
     * whose default class is fast (20 Gbit/s) and whose class 1:20 is slow; an nftables rule puts every
     * 8th overlay datagram (or GSO batch) in the slow class, so it leaves after the ones sent behind it.
     * A token bucket only delays what exceeds its rate, so the slow class gets a twelfth of the rate the
     * clean transfer reached on this machine (every 8th send offers it an eighth): it stays backlogged
     * however fast or slow the machine is, with a short queue of its own (16) so the delay stays bounded.
     *
     * @return the slow class's rate in Mbit/s.
     */
    private static long reorder(final LabState.Device device, final long cleanMbit)
    {
        final long slowMbit = Math.max(2, cleanMbit / 12);
        tc(device, "qdisc add dev sub0 root handle 1: htb default 10 r2q 100000");
        tc(device, "class add dev sub0 parent 1: classid 1:10 htb rate 20gbit");
        tc(device, "class add dev sub0 parent 1: classid 1:20 htb rate " + slowMbit + "mbit ceil " + slowMbit +
            "mbit burst 2k cburst 2k");
        tc(device, "qdisc add dev sub0 parent 1:20 handle 20: pfifo limit 16");
        nft(device, "add table inet " + REORDER_TABLE);
        nft(device, "add chain inet " + REORDER_TABLE + " out { type filter hook output priority 0 ; policy accept ; }");
        nft(device, "add rule inet " + REORDER_TABLE + " out udp dport { 6081, " + Lab.WIREGUARD_PORT +
            " } numgen inc mod 8 == 0 counter meta priority set 1:20");
        return slowMbit;
    }

    private static void unreorder(final LabState.Device device)
    {
        nftQuietly(device, "delete table inet " + REORDER_TABLE);
        NetNs.run(Duration.ofSeconds(10), List.of(Lab.executable("ip"), "netns", "exec", device.namespace(), "tc", "qdisc", "del", "dev",
            "sub0", "root"));
    }

    private static void tc(final LabState.Device device, final String command)
    {
        final List<String> full = new ArrayList<>(List.of(Lab.executable("ip"), "netns", "exec", device.namespace(), "tc"));
        full.addAll(List.of(command.split(" ")));
        final NetNs.Result result = NetNs.run(Duration.ofSeconds(10), full);
        assertTrue(result.ok(), "tc " + command + ": " + result.describe());
    }

    // ---- offloads off ----

    /**
     * Re-attaches a VM's vNIC with {@code offloads: off}: the daemon closes the TAP (it vanishes from the
     * VM's namespace) and creates it again in its own namespace without a virtio-net header; the test
     * moves it back and gives the guest the same MAC, MTU, addresses and default route.
     */
    private static void reattachWithoutOffloads(final LabState state, final LabState.Vm vm) throws Exception
    {
        final LabState.Device device = state.device(vm.device());
        final NetNs.Result address = NetNs.ipIn(vm.namespace(), "-4", "-o", "addr", "show", "dev", vm.tap());
        final java.util.regex.Matcher cidr = java.util.regex.Pattern.compile("inet (\\S+)").matcher(address.stdout());
        assertTrue(cidr.find(), address.describe());
        final String route = NetNs.ipIn(vm.namespace(), "-4", "route", "show", "default").stdout().strip();
        final int mtu = mtu(vm);
        put(Lab.api(device), "/v1/vnics/" + vm.vnic(), vnicBody(vm, "off"));
        Waits.awaitTrue(Duration.ofSeconds(20), () -> NetNs.ipIn(device.namespace(), "link", "show", "dev", vm.tap()).ok(),
            () -> "device d" + device.index() + " to open " + vm.tap() + " again");
        // the old TAP leaves the VM's namespace only once the kernel has unregistered it (after the
        // daemon closed it): until then the move fails with "same name exists"; retry until it goes
        final NetNs.Result[] moved = new NetNs.Result[1];
        Waits.awaitTrue(Duration.ofSeconds(20),
            () -> (moved[0] = NetNs.ipIn(device.namespace(), "link", "set", "dev", vm.tap(), "netns", vm.namespace())).ok(),
            () -> "moving " + vm.tap() + " into " + vm.namespace() + ": " + moved[0].describe());
        sh(vm, "ip link set dev " + vm.tap() + " address " + vm.mac() + " && ip link set dev " + vm.tap() + " mtu " + mtu);
        guestIpv6(vm);
        sh(vm, "ip link set dev " + vm.tap() + " up && ip addr add " + cidr.group(1) + " dev " + vm.tap() +
            (route.isEmpty() ? "" : " && ip route replace " + route));
        final com.fasterxml.jackson.databind.JsonNode vnic = Lab.api(device).getJson("/v1/vnics/" + vm.vnic());
        assertEquals("off", vnic.path("status").path("backend").path("offloads").asText(), vnic.toString());
    }

    /** A counter of the vNIC's endpoint (its TAP port) by label, from {@code GET /v1/vnics/{id}}; -1 when absent. */
    private static long endpointCounter(final LabState.Device device, final LabState.Vm vm, final String label) throws Exception
    {
        return Lab.api(device).getJson("/v1/vnics/" + vm.vnic()).path("status").path("backend").path("counters").path(label)
            .asLong(-1);
    }

    private static String coalescedWrites(final LabState.Device device, final LabState.Vm vm) throws Exception
    {
        return Lab.api(device).getJson("/v1/vnics/" + vm.vnic()).path("status").path("backend").path("coalescedWrites").asText();
    }

    /** True unless the lab's daemons were started with substrate GSO or GRO off ({@code $VSNIC_LAB_JAVA_OPTS}). */
    private static boolean substrateOffloadsOn()
    {
        final String options = System.getenv().getOrDefault("VSNIC_LAB_JAVA_OPTS", "");
        return !options.contains("-Dvsnic.substrate.gso=false") && !options.contains("-Dvsnic.substrate.gro=false");
    }

    private static void sh(final LabState.Vm vm, final String script)
    {
        final NetNs.Result result = LabTest.inVm(vm, Duration.ofSeconds(10), "sh", "-c", script);
        assertTrue(result.ok(), vm.name() + ": " + script + ": " + result.describe());
    }

    /** @return the forward transfer's rate in Mbit/s (at least 1). */
    private long transferBothWays(final LabState.Vm a, final LabState.Vm b, final String what) throws Exception
    {
        final long nanos = transfer(a, b, what, FORWARD_BYTES, 11);
        transfer(b, a, what + ", back", BACKWARD_BYTES, 12);
        return Math.max(1, FORWARD_BYTES * 8L * 1000 / Math.max(1, nanos));
    }

    /**
     * {@code bytes} random bytes from {@code from} to {@code to} over inner IPv4, checked by sha256.
     *
     * @return how long the transfer took, connection set-up included, in nanoseconds.
     */
    private long transfer(final LabState.Vm from, final LabState.Vm to, final String what, final int bytes, final long seed) throws Exception
    {
        final Path payload = random("payload-" + what.hashCode() + ".bin", bytes, seed);
        final Path received = directory.resolve("received-" + what.hashCode() + ".bin");
        final long started = System.nanoTime();
        LabTest.transfer(from, to, payload, received);
        final long nanos = System.nanoTime() - started;
        assertEquals(LabTest.sha256(payload), LabTest.sha256(received),
            what + ": " + bytes + " bytes " + from.name() + " -> " + to.name() + ", byte-exact");
        return nanos;
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
    private static void udpIntact(final LabState.Vm from, final LabState.Vm to, final String address, final boolean v6, final int size)
        throws Exception
    {
        final int port = 40000 + new Random().nextInt(10000);
        final String receiver = """
            import socket, sys
            size, count, port, family = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
            s = socket.socket(socket.AF_INET6 if family == "6" else socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("::" if family == "6" else "0.0.0.0", port))
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
            s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
            for n in range(count):
                s.sendto(n.to_bytes(4, "big") + bytes((n + i) % 251 for i in range(size - 4)), (host, port))
                time.sleep(0.01)
            """;
        final Process listener = new ProcessBuilder(Lab.executable("ip"), "netns", "exec", to.namespace(), "python3", "-c", receiver,
            Integer.toString(size), Integer.toString(DATAGRAMS), Integer.toString(port), v6 ? "6" : "4").redirectErrorStream(true).start();
        try
        {
            final java.io.BufferedReader out = new java.io.BufferedReader(new java.io.InputStreamReader(listener.getInputStream()));
            assertEquals("ready", out.readLine(), "UDP receiver started");
            final NetNs.Result sent = LabTest.inVm(from, Duration.ofSeconds(60), "python3", "-c", sender, Integer.toString(size),
                Integer.toString(DATAGRAMS), address, Integer.toString(port));
            assertTrue(sent.ok(), "UDP sender: " + sent.describe());
            final String result = out.readLine();
            assertEquals(DATAGRAMS + " 0", result, size + "-byte datagrams over IPv" + (v6 ? "6" : "4") + ": arrived intact, damaged");
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

    /** A 2 x 1 lab (d1v1, d2v1). */
    private LabState up(final String name, final boolean encryption) throws LabException
    {
        return Lab.up(new Lab.Spec(name, 2, 1, encryption), Lab.DaemonLauncher.sameJvm(), progress::add);
    }

    private static long[] csumErrors(final LabState.Vm a, final LabState.Vm b)
    {
        return new long[] {snmp(a, "InCsumErrors"), snmp(b, "InCsumErrors")};
    }

    /** The guest's TCP and UDP {@code InCsumErrors} ({@code /proc/net/snmp} of its namespace) did not grow. */
    private static void assertGuestChecksumsClean(final LabState.Vm a, final LabState.Vm b, final long[] before)
    {
        assertEquals(before[0], snmp(a, "InCsumErrors"), "checksum errors in the guest of device 1");
        assertEquals(before[1], snmp(b, "InCsumErrors"), "checksum errors in the guest of device 2");
    }

    /** The guest's TCP and UDP {@code field} ({@code /proc/net/snmp} of its namespace), summed. */
    private static long snmp(final LabState.Vm vm, final String field)
    {
        return procCounter(vm, "/proc/net/snmp", field, "Tcp:", "Udp:");
    }

    /** A {@code TcpExt:} counter of the guest's {@code /proc/net/netstat}. */
    private static long tcpExt(final LabState.Vm vm, final String field)
    {
        return procCounter(vm, "/proc/net/netstat", field, "TcpExt:");
    }

    /**
     * Sums {@code field} over the given sections of a {@code /proc/net} file in the guest's namespace (a
     * line of names, then a line of values, each starting with the section).
     */
    private static long procCounter(final LabState.Vm vm, final String file, final String field, final String... sections)
    {
        final NetNs.Result result = LabTest.inVm(vm, Duration.ofSeconds(10), "cat", file);
        assertTrue(result.ok(), result.describe());
        final String[] lines = result.stdout().split("\n");
        long sum = 0;
        boolean found = false;
        for (int i = 0; i + 1 < lines.length; i++)
        {
            final String[] names = lines[i].trim().split("\\s+");
            final String[] values = lines[i + 1].trim().split("\\s+");
            if (names.length == values.length && names[0].equals(values[0]) && List.of(sections).contains(names[0]))
            {
                for (int k = 1; k < names.length; k++)
                {
                    if (names[k].equals(field))
                    {
                        sum += Long.parseLong(values[k]);
                        found = true;
                    }
                }
            }
        }
        assertTrue(found, "no " + field + " in " + String.join(" ", sections) + " of " + file + " in " + vm.namespace());
        return sum;
    }

    /** A counter of the guest's {@code /proc/net/snmp6} (one "name value" per line). */
    private static long snmp6(final LabState.Vm vm, final String field)
    {
        final NetNs.Result result = LabTest.inVm(vm, Duration.ofSeconds(10), "cat", "/proc/net/snmp6");
        assertTrue(result.ok(), result.describe());
        for (final String line : result.stdout().split("\n"))
        {
            final String[] parts = line.trim().split("\\s+");
            if (parts.length == 2 && parts[0].equals(field))
            {
                return Long.parseLong(parts[1]);
            }
        }
        throw new AssertionError("no " + field + " in /proc/net/snmp6 of " + vm.namespace());
    }

    /** The packets counted by the first rule with a counter in {@code table}'s {@code chain}. */
    private static long ruleCounter(final LabState.Device device, final String table, final String chain)
    {
        final String rules = nft(device, "list chain inet " + table + " " + chain);
        final java.util.regex.Matcher counted = java.util.regex.Pattern.compile("counter packets (\\d+)").matcher(rules);
        assertTrue(counted.find(), rules);
        return Long.parseLong(counted.group(1));
    }

    private static void nftQuietly(final LabState.Device device, final String command)
    {
        final List<String> full = new ArrayList<>(List.of(Lab.executable("ip"), "netns", "exec", device.namespace(), "nft"));
        full.addAll(List.of(command.split(" ")));
        NetNs.run(Duration.ofSeconds(10), full);
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
