package io.vsnic.vnic.tap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.vsnic.dataplane.offload.VirtioNetHeader;
import io.vsnic.dataplane.protocol.EthernetFlyweight;
import io.vsnic.vnic.linux.Errno;
import io.vsnic.vnic.netns.NetNs;

@Timeout(60)
class TapDeviceTest
{
    private static final int EXPERIMENTAL_ETHER_TYPE = 0x88B5;

    private static String uniqueName()
    {
        return NetNs.uniqueName("vt", 10);
    }

    private static boolean linkExists(final String name)
    {
        return Files.exists(Path.of("/sys/class/net", name)) || NetNs.linkExists(null, name);
    }

    private static MemorySegment broadcastFrame(final Arena arena, final int length)
    {
        final MemorySegment frame = arena.allocate(length);
        final EthernetFlyweight ethernet = new EthernetFlyweight();
        ethernet.wrap(frame, 0);
        ethernet.destination(EthernetFlyweight.BROADCAST).source(0x0200_0000_7701L).etherType(EXPERIMENTAL_ETHER_TYPE);
        return frame;
    }

    @Test
    void shouldRejectNamesTheKernelCannotTake()
    {
        assertThrows(IllegalArgumentException.class, () -> TapDevice.open(""));
        assertThrows(IllegalArgumentException.class, () -> TapDevice.open("a-name-of-16-chr"));
        assertThrows(IllegalArgumentException.class, () -> TapDevice.open("a/b"));
        assertThrows(IllegalArgumentException.class, () -> TapDevice.open("a b"));
        assertThrows(IllegalArgumentException.class, () -> TapDevice.open(".."));
        assertThrows(IllegalArgumentException.class, () -> TapDevice.open("tap\u00e9"));
    }

    @Test
    void shouldNameErrnoAndCauseWhenTheTunNodeIsMissing()
    {
        final IOException error = assertThrows(IOException.class,
            () -> TapDevice.open("/nonexistent/net/tun", "vt0", TapOptions.defaults()));
        assertTrue(error.getMessage().startsWith("cannot open /nonexistent/net/tun: ENOENT ("), error.getMessage());
        assertTrue(error.getMessage().contains("tun module"), error.getMessage());
    }

    @Test
    void shouldTellANonRootUserWhyTheTapCannotBeOpened()
    {
        assumeFalse(NetNs.isRoot(), "runs only as a non-root user (it checks the permission error)");
        assumeTrue(Files.exists(Path.of(TapDevice.TUN_PATH)), TapDevice.TUN_PATH + " is missing");
        final IOException error = assertThrows(IOException.class, () -> TapDevice.open(uniqueName()));
        final String message = error.getMessage();
        assertTrue(message.equals("cannot open /dev/net/tun: EACCES (are you root? creating or attaching a TAP needs CAP_NET_ADMIN)") ||
            message.matches("TUNSETIFF vt\\p{XDigit}+: EPERM \\(needs CAP_NET_ADMIN.*"), message);
    }

    @Test
    void shouldCreateTransientTapThatDisappearsWithItsDescriptor() throws IOException
    {
        TapLab.assumeRootWithTap();
        final String name = uniqueName();
        try (NetNs net = NetNs.open())
        {
            net.adoptLink(null, name);
            final TapDevice device = TapDevice.open(name);
            try
            {
                assertEquals(name, device.name());
                assertEquals(TunFlags.IFF_TAP | TunFlags.IFF_NO_PI, device.flags() & 0xFFFF & ~TunFlags.IFF_PERSIST);
                assertFalse(device.persistent());
                assertFalse(device.multiQueue());
                assertTrue(device.ifIndex() > 0, "ifindex");
                assertTrue(linkExists(name), "link after open");
                assertEquals("0x1002", Files.readString(Path.of("/sys/class/net", name, "tun_flags")).strip());
            }
            finally
            {
                device.close();
            }
            assertFalse(linkExists(name), "a transient TAP must disappear when its descriptor closes");
        }
    }

    @Test
    void shouldOpenWithVnetHeaderAndNegotiateEveryOffload() throws IOException
    {
        TapLab.assumeRootWithTap();
        final String name = uniqueName();
        try (NetNs net = NetNs.open())
        {
            net.adoptLink(null, name);
            try (TapDevice device = TapDevice.open(name, TapOptions.defaults().withOffloads(12, TapOptions.ALL_OFFLOADS)))
            {
                assertEquals(12, device.vnetHeaderBytes());
                assertEquals("0x5002", Files.readString(Path.of("/sys/class/net", name, "tun_flags")).strip());
                final int tso = TunFlags.TUN_F_CSUM | TunFlags.TUN_F_TSO4 | TunFlags.TUN_F_TSO6 | TunFlags.TUN_F_TSO_ECN;
                assertEquals(tso, device.offloads() & tso, "checksum and TSO are in every kernel vsnic supports");
                assertEquals(TapOptions.ALL_OFFLOADS, device.offloads() | device.refusedOffloads());
                System.out.println(name + " offloads: " + TunFlags.describeOffloads(device.offloads()) + ", refused: " +
                    TunFlags.describeOffloads(device.refusedOffloads()));
                final NetNs.Result features = NetNs.run(java.time.Duration.ofSeconds(5), java.util.List.of("ethtool", "-k", name));
                if (features.ok())
                {
                    // What the kernel may hand over is what the device may now send with: TSO on its transmit side.
                    assertTrue(features.stdout().contains("tcp-segmentation-offload: on"), features.stdout());
                }
            }
        }
    }

    @Test
    void shouldProbeCoalescedWritesAtOpenWithoutDeliveringAFrame() throws IOException
    {
        TapLab.assumeRootWithTap();
        try (TapLab lab = TapLab.create(false, TapOptions.defaults().withOffloads(12, TapOptions.ALL_OFFLOADS)))
        {
            assertEquals(0, lab.device.refusedGsoWrites(),
                "this kernel takes coalesced TCPv4, TCPv6 and UDP_L4 writes: " + TapDevice.describeGsoTypes(lab.device.refusedGsoWrites()));
            // The kernel checks the virtio-net header before the link: on the down TAP an accepted type ends in
            // EIO (nothing delivered), a type virtio-net does not define (2) or one that does not match the
            // packet is EINVAL: what the probe at open reads as "refused".
            assertEquals(-Errno.EIO, lab.device.writeProbe(VirtioNetHeader.GSO_TCPV4));
            assertEquals(-Errno.EIO, lab.device.writeProbe(VirtioNetHeader.GSO_TCPV6));
            assertEquals(-Errno.EIO, lab.device.writeProbe(VirtioNetHeader.GSO_UDP_L4));
            assertEquals(-Errno.EINVAL, lab.device.writeProbe(2));
            assertEquals(-Errno.EINVAL, lab.device.writeProbe(VirtioNetHeader.GSO_TCPV4 | 0x40));
            lab.net.up(lab.ns, lab.link);
            assertEquals(0, lab.kernelRxPackets(), "no probe frame reached the namespace");
        }
        assertEquals("tcpv4 udp_l4", TapDevice.describeGsoTypes(1 << VirtioNetHeader.GSO_TCPV4 | 1 << VirtioNetHeader.GSO_UDP_L4));
        assertEquals("none", TapDevice.describeGsoTypes(0));
    }

    @Test
    void shouldFallBackFlagByFlagWhenTheKernelRefusesTheSet() throws IOException
    {
        TapLab.assumeRootWithTap();
        final String name = uniqueName();
        try (NetNs net = NetNs.open())
        {
            net.adoptLink(null, name);
            // TSO without checksum offload is refused (EINVAL) as a set and flag by flag; ECN alone too.
            final int requested = TunFlags.TUN_F_TSO4 | TunFlags.TUN_F_TSO6;
            try (TapDevice device = TapDevice.open(name, TapOptions.defaults().withOffloads(10, requested)))
            {
                assertEquals(10, device.vnetHeaderBytes());
                assertEquals(0, device.offloads());
                assertEquals(requested, device.refusedOffloads());
            }
            try (TapDevice device = TapDevice.open(name,
                TapOptions.defaults().withOffloads(10, TunFlags.TUN_F_CSUM | TunFlags.TUN_F_TSO4)))
            {
                assertEquals(TunFlags.TUN_F_CSUM | TunFlags.TUN_F_TSO4, device.offloads());
                assertEquals(0, device.refusedOffloads());
            }
        }
    }

    @Test
    void shouldRejectOffloadsWithoutAVnetHeader()
    {
        assertThrows(IllegalArgumentException.class, () -> new TapOptions(false, false, false, 0, TunFlags.TUN_F_CSUM));
        assertThrows(IllegalArgumentException.class, () -> new TapOptions(false, false, false, 11, 0));
        assertThrows(IllegalArgumentException.class, () -> new TapOptions(false, false, false, 10, TunFlags.TUN_F_UFO));
    }

    @Test
    void shouldReturnZeroWhenNoFrameIsWaiting() throws IOException
    {
        TapLab.assumeRootWithTap();
        try (TapLab lab = TapLab.create(true); Arena arena = Arena.ofConfined())
        {
            final MemorySegment buffer = arena.allocate(2048);
            assertEquals(0, lab.device.read(buffer, 0, 2048));
            assertFalse(lab.device.awaitReadable(50));
        }
    }

    @Test
    void shouldRefuseWritesWithEioWhileTheLinkIsDown() throws IOException
    {
        TapLab.assumeRootWithTap();
        try (TapLab lab = TapLab.create(false); Arena arena = Arena.ofConfined())
        {
            final MemorySegment frame = broadcastFrame(arena, 60);
            assertEquals(-Errno.EIO, lab.device.write(frame, 0, 60));
            lab.net.up(lab.ns, lab.link);
            assertEquals(60, lab.device.write(frame, 0, 60));
            assertEquals(1, lab.kernelRxPackets());
        }
    }

    @Test
    void shouldRefuseFrameShorterThanEthernetHeaderWithEinval() throws IOException
    {
        TapLab.assumeRootWithTap();
        try (TapLab lab = TapLab.create(true); Arena arena = Arena.ofConfined())
        {
            final MemorySegment frame = broadcastFrame(arena, 60);
            assertEquals(-Errno.EINVAL, lab.device.write(frame, 0, 10));
        }
    }

    @Test
    void shouldHandOverFrameLongerThanTheMtu() throws IOException
    {
        TapLab.assumeRootWithTap();
        try (TapLab lab = TapLab.create(true); Arena arena = Arena.ofConfined())
        {
            final MemorySegment frame = broadcastFrame(arena, 2000);
            assertEquals(2000, lab.device.write(frame, 0, 2000), "the kernel, not vsnic, decides about oversize frames");
        }
    }

    @Test
    void shouldRejectNameOfAnExistingDeviceThatIsNotATap()
    {
        TapLab.assumeRootWithTap();
        final IOException error = assertThrows(IOException.class, () -> TapDevice.open("lo"));
        assertEquals("TUNSETIFF lo: EINVAL (a network device named lo exists and is not a TAP device)", error.getMessage());
    }

    @Test
    void shouldFailWithEbusyWhenCreatingExclusivelyANameInUse() throws IOException
    {
        TapLab.assumeRootWithTap();
        final String name = uniqueName();
        try (NetNs net = NetNs.open(); TapDevice first = TapDevice.open(name))
        {
            net.adoptLink(null, name);
            final IOException error = assertThrows(IOException.class,
                () -> TapDevice.open(name, TapOptions.defaults().withExclusive(true)));
            assertEquals("TUNSETIFF " + name + ": EBUSY (a network device named " + name + " already exists)", error.getMessage());
            assertTrue(first.isOpen());
        }
    }

    @Test
    void shouldFailWithEbusyWhenSingleQueueTapIsAlreadyAttached() throws IOException
    {
        TapLab.assumeRootWithTap();
        final String name = uniqueName();
        try (NetNs net = NetNs.open(); TapDevice first = TapDevice.open(name))
        {
            net.adoptLink(null, name);
            final IOException error = assertThrows(IOException.class, () -> TapDevice.open(name));
            assertTrue(error.getMessage().startsWith("TUNSETIFF " + name + ": EBUSY ("), error.getMessage());
            assertTrue(first.isOpen());
        }
    }

    @Test
    void shouldAttachSeveralQueuesToMultiQueueTap() throws IOException
    {
        TapLab.assumeRootWithTap();
        final String name = uniqueName();
        final TapOptions multiQueue = TapOptions.defaults().withMultiQueue(true);
        try (NetNs net = NetNs.open();
            TapDevice first = TapDevice.open(name, multiQueue);
            TapDevice second = TapDevice.open(name, multiQueue))
        {
            net.adoptLink(null, name);
            assertTrue(first.multiQueue());
            assertTrue(second.multiQueue());
            assertEquals(first.ifIndex(), second.ifIndex());
            final IOException error = assertThrows(IOException.class, () -> TapDevice.open(name));
            assertEquals("TUNSETIFF " + name + ": EINVAL (" + name + " exists with IFF_MULTI_QUEUE; attach with the same setting)",
                error.getMessage());
        }
    }

    @Test
    void shouldKeepPersistentTapAfterCloseAndRemoveItWhenMadeTransient() throws IOException
    {
        TapLab.assumeRootWithTap();
        final String name = uniqueName();
        try (NetNs net = NetNs.open())
        {
            net.adoptLink(null, name);
            try (TapDevice device = TapDevice.open(name, TapOptions.defaults().withPersistent(true)))
            {
                assertTrue(device.persistent());
            }
            assertTrue(linkExists(name), "a persistent TAP stays after close");
            try (TapDevice device = TapDevice.open(name, TapOptions.defaults().withPersistent(true)))
            {
                assertTrue(device.persistent());
                assertTrue((device.flags() & TunFlags.IFF_PERSIST) != 0);
                device.persistent(false);
                assertFalse(device.persistent());
            }
            assertFalse(linkExists(name), "TUNSETPERSIST 0 makes it go with its last descriptor");
        }
    }

    @Test
    void shouldLeaveThePersistenceOfATapItAttachesToAsItsMakerSetIt() throws IOException
    {
        TapLab.assumeRootWithTap();
        final String name = uniqueName();
        try (NetNs net = NetNs.open())
        {
            net.adoptLink(null, name);
            // another program's device: made, then set persistent (`ip tuntap add` does both, one after the
            // other; vsnic used to read the flag in between and set it back with its own TUNSETPERSIST)
            try (TapDevice maker = TapDevice.open(name, TapOptions.defaults()))
            {
                maker.persistent(true);
            }
            assertTrue(linkExists(name), "persistent once its maker closed it");
            try (TapDevice attached = TapDevice.open(name, TapOptions.defaults().withPersistenceKept()))
            {
                assertTrue(attached.persistent(), "attached with its persistence as it was");
            }
            assertTrue(linkExists(name), "still there after vsnic's descriptor closed");
            // with TUNSETPERSIST as the options say (false), the same attach would have removed it
            try (TapDevice attached = TapDevice.open(name, TapOptions.defaults()))
            {
                assertFalse(attached.persistent());
            }
            assertFalse(linkExists(name), "TUNSETPERSIST 0 at open made it go with vsnic's descriptor");
        }
    }

    @Test
    void shouldCloseIdempotentlyAndReturnEbadfAfterwards() throws IOException
    {
        TapLab.assumeRootWithTap();
        final String name = uniqueName();
        try (NetNs net = NetNs.open(); Arena arena = Arena.ofConfined())
        {
            net.adoptLink(null, name);
            final TapDevice device = TapDevice.open(name);
            device.close();
            device.close();
            assertFalse(device.isOpen());
            final MemorySegment buffer = arena.allocate(128);
            assertEquals(-Errno.EBADF, device.read(buffer, 0, 128));
            assertEquals(-Errno.EBADF, device.write(buffer, 0, 60));
            assertThrows(IOException.class, () -> device.persistent(true));
        }
    }
}
