package io.vsnic.vnic.tap;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ThreadLocalRandom;

import io.vsnic.dataplane.protocol.EthernetFlyweight;
import io.vsnic.dataplane.protocol.Ipv4Flyweight;
import io.vsnic.vnic.netns.NetNs;

/**
 * A TAP with a unique name moved into a fresh namespace, where it plays the VM's interface:
 * {@code 10.77.S.2/24} with MAC {@code 02:00:00:77:S:02}, IPv6 off. The test holds the TAP's
 * descriptor, i.e. the vsnic side, which answers as {@code 10.77.S.1} / {@code 02:00:00:77:S:01}.
 * Closing deletes everything (descriptor first, then the namespace), even after a failure.
 */
final class TapLab implements AutoCloseable
{
    static final String NEEDS_ROOT =
        "needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN) to create TAP devices and network namespaces; CI runs as root";

    final NetNs net;
    final TapDevice device;
    final String ns;
    final String link;
    final int subnet;
    final int guestIp;
    final int vsnicIp;
    final long guestMac;
    final long vsnicMac;

    private TapLab(final NetNs net, final TapDevice device, final String ns, final int subnet)
    {
        this.net = net;
        this.device = device;
        this.ns = ns;
        this.link = device.name();
        this.subnet = subnet;
        this.guestIp = Ipv4Flyweight.parse("10.77." + subnet + ".2");
        this.vsnicIp = Ipv4Flyweight.parse("10.77." + subnet + ".1");
        this.guestMac = EthernetFlyweight.parseMac(String.format("02:00:00:77:%02x:02", subnet));
        this.vsnicMac = EthernetFlyweight.parseMac(String.format("02:00:00:77:%02x:01", subnet));
    }

    /**
     * Skips the calling test, with the reason, unless it runs as root with {@code ip} and {@code /dev/net/tun}.
     */
    static void assumeRootWithTap()
    {
        assumeTrue(NetNs.isRoot(), NEEDS_ROOT);
        assumeTrue(NetNs.ipAvailable(), "iproute2's ip command is not installed (apt-get install iproute2)");
        assumeTrue(Files.exists(Path.of(TapDevice.TUN_PATH)), TapDevice.TUN_PATH + " is missing (no TUN/TAP in this kernel or container)");
    }

    /**
     * @param up whether to bring the link up (a down TAP refuses writes with EIO).
     */
    static TapLab create(final boolean up) throws IOException
    {
        return create(up, TapOptions.defaults());
    }

    /**
     * @param up      whether to bring the link up.
     * @param options how to open the TAP (virtio-net header and offloads).
     */
    static TapLab create(final boolean up, final TapOptions options) throws IOException
    {
        final NetNs net = NetNs.open();
        TapDevice device = null;
        try
        {
            final String ns = net.createNamespace("vsnt");
            device = TapDevice.open(NetNs.uniqueName("vt", 10), options);
            final String link = device.name();
            final int subnet = ThreadLocalRandom.current().nextInt(1, 255);
            net.moveLink(link, ns);
            net.disableIpv6(ns, link);
            net.setMac(ns, link, String.format("02:00:00:77:%02x:02", subnet));
            net.addAddress(ns, link, "10.77." + subnet + ".2/24");
            if (up)
            {
                net.up(ns, link);
            }
            return new TapLab(net, device, ns, subnet);
        }
        catch (final IOException | RuntimeException ex)
        {
            if (device != null)
            {
                device.close();
            }
            try
            {
                net.close();
            }
            catch (final IOException cleanup)
            {
                ex.addSuppressed(cleanup);
            }
            throw ex;
        }
    }

    String vsnicAddress()
    {
        return "10.77." + subnet + ".1";
    }

    String vsnicMacText()
    {
        return String.format("02:00:00:77:%02x:01", subnet);
    }

    /**
     * @return the kernel's count of frames the namespace side received from our writes.
     */
    long kernelRxPackets()
    {
        final NetNs.Result result = net.exec(ns, NetNs.IP_TIMEOUT, "cat", "/sys/class/net/" + link + "/statistics/rx_packets");
        if (!result.ok())
        {
            throw new IllegalStateException(result.describe());
        }
        return Long.parseLong(result.stdout().strip());
    }

    /**
     * @return the {@code Udp:} field {@code name} of the namespace's {@code /proc/net/snmp}.
     */
    long udpCounter(final String name)
    {
        return NetNs.snmpCounter(ns, "Udp", name);
    }

    @Override
    public void close() throws IOException
    {
        device.close();
        net.close();
    }
}
