package io.vsnic.vnic.tap;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import io.vsnic.dataplane.offload.VirtioNetHeader;
import io.vsnic.dataplane.protocol.Checksums;
import io.vsnic.vnic.linux.Errno;
import io.vsnic.vnic.linux.LibC;
import io.vsnic.vnic.linux.NativeFd;

/**
 * One queue of a Linux TAP device, through the FFM API: {@code open("/dev/net/tun")},
 * {@code ioctl(TUNSETIFF)} with {@code IFF_TAP | IFF_NO_PI} (plus the {@link TapOptions}), the
 * descriptor non-blocking. Each {@link #read} returns one whole Ethernet frame the kernel sent
 * towards the "wire", each {@link #write} hands one frame to the kernel as if it arrived on the wire.
 *
 * <p>With {@link TapOptions#vnetHeaderBytes()} the device is opened with {@code IFF_VNET_HDR}: every
 * frame read starts with a virtio-net header of that size and every frame written must start with
 * one. The offloads are negotiated at open ({@link #negotiateOffloads}): the whole requested set
 * first, then, if the kernel refuses it (EINVAL), flag by flag in the order CSUM, TSO4, TSO6,
 * TSO_ECN, USO4, USO6, keeping each one it accepts; {@link #offloads()} says what was accepted,
 * {@link #refusedOffloads()} what was not.
 *
 * <p>Errors while opening are {@link IOException}s that name the call, the device, the errno and
 * the likely cause ({@code "TUNSETIFF vsnic0: EBUSY (...)"}); data-path calls return numbers and
 * never throw for I/O errors.
 *
 * <p>Threading: {@link #read} and {@link #write} may be called from any threads concurrently (each
 * call moves one frame in one system call); {@link #close} may race them safely and is idempotent.
 */
public final class TapDevice implements AutoCloseable
{
    /** The clone device of the TUN/TAP driver. */
    public static final String TUN_PATH = "/dev/net/tun";
    /** Longest interface name ({@code IFNAMSIZ - 1}). */
    public static final int MAX_NAME_BYTES = LibC.IFNAMSIZ - 1;

    private static final ValueLayout.OfShort BE16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfInt BE32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    private final NativeFd fd;
    private final String name;
    private final int flags;
    private final int ifIndex;
    private final int vnetHeaderBytes;
    private final int offloads;
    private final int refusedOffloads;
    private final int refusedGsoWrites;
    private volatile boolean persistent;

    private TapDevice(
        final NativeFd fd, final String name, final int flags, final int ifIndex, final int vnetHeaderBytes,
        final int offloads, final int refusedOffloads, final int refusedGsoWrites)
    {
        this.refusedGsoWrites = refusedGsoWrites;
        this.fd = fd;
        this.name = name;
        this.flags = flags;
        this.ifIndex = ifIndex;
        this.vnetHeaderBytes = vnetHeaderBytes;
        this.offloads = offloads;
        this.refusedOffloads = refusedOffloads;
        this.persistent = (flags & TunFlags.IFF_PERSIST) != 0;
    }

    /**
     * Creates the TAP {@code name}, or attaches to it if it exists, with the default options.
     */
    public static TapDevice open(final String name) throws IOException
    {
        return open(name, TapOptions.defaults());
    }

    /**
     * Creates or attaches a TAP.
     *
     * @param name    interface name, 1..15 bytes; a {@code %d} in it lets the kernel pick the number.
     * @param options queue, exclusivity and persistence.
     * @throws IllegalArgumentException for a name the kernel could never accept.
     * @throws IOException              when the device cannot be opened, created or attached (the
     *                                  message names the call, errno and likely cause).
     */
    public static TapDevice open(final String name, final TapOptions options) throws IOException
    {
        return open(TUN_PATH, name, options);
    }

    static TapDevice open(final String tunPath, final String name, final TapOptions options) throws IOException
    {
        validateName(name);
        final int number = LibC.open(tunPath, LibC.O_RDWR | LibC.O_NONBLOCK | LibC.O_CLOEXEC);
        if (number < 0)
        {
            throw new IOException("cannot open " + tunPath + ": " + Errno.name(number) + openHint(-number));
        }
        final NativeFd fd = new NativeFd(number);
        boolean opened = false;
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment ifreq = arena.allocate(TunFlags.IFREQ_BYTES, 8);
            final byte[] nameBytes = name.getBytes(StandardCharsets.US_ASCII);
            MemorySegment.copy(nameBytes, 0, ifreq, JAVA_BYTE, 0, nameBytes.length);
            final int requested = TunFlags.requestFlags(options);
            ifreq.set(JAVA_SHORT, TunFlags.IFREQ_FLAGS_OFFSET, (short)requested);
            final int set = LibC.ioctl(number, TunFlags.TUNSETIFF, ifreq);
            if (set < 0)
            {
                throw new IOException("TUNSETIFF " + name + ": " + Errno.name(set) + setIfHint(-set, name, options));
            }
            int accepted = 0;
            int refusedGso = 0;
            if (options.vnetHeaderBytes() != 0)
            {
                final MemorySegment size = arena.allocate(JAVA_INT);
                size.set(JAVA_INT, 0, options.vnetHeaderBytes());
                final int sized = LibC.ioctl(number, TunFlags.TUNSETVNETHDRSZ, size);
                if (sized < 0)
                {
                    throw new IOException("TUNSETVNETHDRSZ " + options.vnetHeaderBytes() + " " + name + ": " + Errno.name(sized));
                }
                accepted = negotiateOffloads(number, name, options.offloads());
                refusedGso = probeCoalescedWrites(number, options.vnetHeaderBytes(), arena);
            }
            if (!options.keepPersistence())
            {
                final int persist = LibC.ioctl(number, TunFlags.TUNSETPERSIST, options.persistent() ? 1L : 0L);
                if (persist < 0)
                {
                    throw new IOException("TUNSETPERSIST " + name + ": " + Errno.name(persist));
                }
            }
            ifreq.fill((byte)0);
            final int get = LibC.ioctl(number, TunFlags.TUNGETIFF, ifreq);
            if (get < 0)
            {
                throw new IOException("TUNGETIFF " + name + ": " + Errno.name(get));
            }
            final String actualName = ifreq.getString(0, StandardCharsets.US_ASCII);
            final int actualFlags = ifreq.get(JAVA_SHORT, TunFlags.IFREQ_FLAGS_OFFSET) & 0xFFFF;
            final int ifIndex = LibC.ifNameToIndex(actualName);
            final TapDevice device = new TapDevice(fd, actualName, actualFlags, Math.max(ifIndex, 0),
                options.vnetHeaderBytes(), accepted, options.offloads() & ~accepted, refusedGso);
            opened = true;
            return device;
        }
        finally
        {
            if (!opened)
            {
                fd.close();
            }
        }
    }

    /**
     * {@code TUNSETOFFLOAD}: the requested set in one call, or, when the kernel refuses it with EINVAL
     * (an older kernel without USO, say), one flag at a time on top of those already accepted.
     *
     * @return the accepted {@code TUN_F_*} bits (the device is left set to exactly these).
     * @throws IOException for an error other than EINVAL.
     */
    static int negotiateOffloads(final int fd, final String name, final int requested) throws IOException
    {
        final int all = LibC.ioctl(fd, TunFlags.TUNSETOFFLOAD, requested);
        if (all >= 0)
        {
            return requested;
        }
        if (all != -Errno.EINVAL)
        {
            throw new IOException("TUNSETOFFLOAD 0x" + Integer.toHexString(requested) + " " + name + ": " + Errno.name(all));
        }
        final int[] order = {TunFlags.TUN_F_CSUM, TunFlags.TUN_F_TSO4, TunFlags.TUN_F_TSO6, TunFlags.TUN_F_TSO_ECN,
            TunFlags.TUN_F_USO4, TunFlags.TUN_F_USO6};
        int accepted = 0;
        for (final int flag : order)
        {
            if ((requested & flag) == 0)
            {
                continue;
            }
            final int result = LibC.ioctl(fd, TunFlags.TUNSETOFFLOAD, accepted | flag);
            if (result >= 0)
            {
                accepted |= flag;
            }
            else if (result != -Errno.EINVAL)
            {
                throw new IOException("TUNSETOFFLOAD 0x" + Integer.toHexString(accepted | flag) + " " + name + ": " +
                    Errno.name(result));
            }
        }
        final int last = LibC.ioctl(fd, TunFlags.TUNSETOFFLOAD, accepted);
        if (last < 0)
        {
            throw new IOException("TUNSETOFFLOAD 0x" + Integer.toHexString(accepted) + " " + name + ": " + Errno.name(last));
        }
        return accepted;
    }

    /** The {@code gso_type}s vsnic writes whole to a TAP, in the order {@link #probeCoalescedWrites} tries them. */
    static final int[] PROBED_GSO_TYPES = {VirtioNetHeader.GSO_TCPV4, VirtioNetHeader.GSO_TCPV6, VirtioNetHeader.GSO_UDP_L4};
    /** Destination of the probe frames: a locally administered unicast MAC no vsnic vNIC is given ("\002vsnic"). */
    static final long PROBE_DESTINATION_MAC = 0x02_76_73_6E_69_63L;
    private static final int PROBE_GSO_SIZE = 536;
    private static final int PROBE_PAYLOAD_BYTES = 2 * PROBE_GSO_SIZE;

    /**
     * Asks the kernel whether it takes coalesced writes (a super-frame with a virtio-net header whose
     * {@code gso_type} is set) of each type in {@link #PROBED_GSO_TYPES}, by writing one small
     * super-frame of that type (two 536-byte segments, TEST-NET addresses, discard port 9, hop limit 1,
     * to {@link #PROBE_DESTINATION_MAC}). The kernel checks the virtio-net header
     * ({@code virtio_net_hdr_to_skb}) before it looks at the link: a refused type is EINVAL whether
     * the link is up or not. A freshly created TAP is down, so an accepted probe ends in EIO and no
     * frame reaches the stack; on a TAP that is already up the kernel takes the probe and drops it (a
     * destination MAC that is not the interface's: {@code PACKET_OTHERHOST}). Any other answer
     * (EAGAIN, ENOBUFS) says nothing and counts as accepted: the write path falls back when a real
     * write is refused ({@link TapPort}).
     *
     * @return the refused types as bits {@code 1 << gsoType}, 0 when every one was accepted.
     */
    static int probeCoalescedWrites(final int fd, final int vnetHeaderBytes, final Arena arena)
    {
        final MemorySegment frame = arena.allocate(PROBE_FRAME_BYTES, 8);
        int refused = 0;
        for (final int gsoType : PROBED_GSO_TYPES)
        {
            if (writeProbe(fd, vnetHeaderBytes, gsoType, frame) == -Errno.EINVAL)
            {
                refused |= 1 << gsoType;
            }
        }
        return refused;
    }

    /** Room for the longest probe: the 12-byte header, Ethernet, IPv6, TCP and the payload. */
    private static final int PROBE_FRAME_BYTES = 12 + 14 + 40 + 20 + PROBE_PAYLOAD_BYTES;

    /**
     * Writes one probe super-frame of {@code gsoType} (IPv6 + TCP for {@code GSO_TCPV6}, IPv4 + UDP for
     * {@code GSO_UDP_L4}, IPv4 + TCP for any other type) into {@code frame} and to the device.
     *
     * @return what {@code write(2)} returned (the length, or {@code -errno}).
     */
    static long writeProbe(final int fd, final int vnetHeaderBytes, final int gsoType, final MemorySegment frame)
    {
        final int ethernet = 14;
        frame.fill((byte)0);
        final boolean v6 = gsoType == VirtioNetHeader.GSO_TCPV6;
        final boolean udp = gsoType == VirtioNetHeader.GSO_UDP_L4;
        final int l3 = vnetHeaderBytes + ethernet;
        final int l3Length = v6 ? 40 : 20;
        final int l4Length = udp ? 8 : 20;
        final int l4 = l3 + l3Length;
        final int length = l4 + l4Length + PROBE_PAYLOAD_BYTES;
        final int frameStart = vnetHeaderBytes;
        VirtioNetHeader.write(frame, 0, vnetHeaderBytes, VirtioNetHeader.FLAG_NEEDS_CSUM, gsoType, ethernet + l3Length + l4Length,
            PROBE_GSO_SIZE, ethernet + l3Length, udp ? 6 : 16);
        for (int i = 0; i < 6; i++)
        {
            frame.set(JAVA_BYTE, frameStart + i, (byte)(PROBE_DESTINATION_MAC >>> (40 - 8 * i)));
            frame.set(JAVA_BYTE, frameStart + 6 + i, (byte)((PROBE_DESTINATION_MAC | 1L << 8) >>> (40 - 8 * i)));
        }
        frame.set(BE16, frameStart + 12, (short)(v6 ? 0x86DD : 0x0800));
        final int ipPayload = l4Length + PROBE_PAYLOAD_BYTES;
        final byte protocol = (byte)(udp ? 17 : 6);
        if (v6)
        {
            frame.set(JAVA_BYTE, l3, (byte)0x60);
            frame.set(BE16, l3 + 4, (short)ipPayload);
            frame.set(JAVA_BYTE, l3 + 6, protocol);
            frame.set(JAVA_BYTE, l3 + 7, (byte)1);
            // 2001:db8::1 -> 2001:db8::2 (RFC 3849 documentation prefix)
            for (final int at : new int[] {l3 + 8, l3 + 24})
            {
                frame.set(BE16, at, (short)0x2001);
                frame.set(BE16, at + 2, (short)0x0DB8);
            }
            frame.set(JAVA_BYTE, l3 + 23, (byte)1);
            frame.set(JAVA_BYTE, l3 + 39, (byte)2);
        }
        else
        {
            frame.set(JAVA_BYTE, l3, (byte)0x45);
            frame.set(BE16, l3 + 2, (short)(l3Length + ipPayload));
            frame.set(JAVA_BYTE, l3 + 8, (byte)1);
            frame.set(JAVA_BYTE, l3 + 9, protocol);
            // 192.0.2.1 -> 192.0.2.2 (RFC 5737 TEST-NET-1)
            frame.set(BE32, l3 + 12, 0xC0000201);
            frame.set(BE32, l3 + 16, 0xC0000202);
            frame.set(BE16, l3 + 10, (short)Checksums.checksum(frame, l3, 20));
        }
        frame.set(BE16, l4, (short)9);
        frame.set(BE16, l4 + 2, (short)9);
        if (udp)
        {
            frame.set(BE16, l4 + 4, (short)ipPayload);
        }
        else
        {
            frame.set(JAVA_BYTE, l4 + 12, (byte)0x50);
            frame.set(JAVA_BYTE, l4 + 13, (byte)0x10);
            frame.set(BE16, l4 + 14, (short)1024);
        }
        return LibC.write(fd, frame, 0, length);
    }

    /**
     * Writes one probe super-frame of {@code gsoType} ({@link #writeProbe}) to this device (tests).
     *
     * @return what {@code write(2)} returned, or {@code -EBADF} once closed.
     */
    long writeProbe(final int gsoType)
    {
        if (!fd.acquire())
        {
            return -Errno.EBADF;
        }
        try (Arena arena = Arena.ofConfined())
        {
            return writeProbe(fd.number(), vnetHeaderBytes, gsoType, arena.allocate(PROBE_FRAME_BYTES, 8));
        }
        finally
        {
            fd.release();
        }
    }

    private static void validateName(final String name)
    {
        if (name == null || name.isEmpty())
        {
            throw new IllegalArgumentException("TAP name must not be empty");
        }
        final byte[] bytes = name.getBytes(StandardCharsets.US_ASCII);
        if (bytes.length > MAX_NAME_BYTES || !StandardCharsets.US_ASCII.newEncoder().canEncode(name))
        {
            throw new IllegalArgumentException("TAP name must be 1.." + MAX_NAME_BYTES + " ASCII bytes: '" + name + "'");
        }
        if (name.equals(".") || name.equals(".."))
        {
            throw new IllegalArgumentException("TAP name must not be '.' or '..'");
        }
        for (int i = 0; i < name.length(); i++)
        {
            final char c = name.charAt(i);
            if (c == '/' || c == ':' || Character.isWhitespace(c) || c < 0x21 || c == 0x7F)
            {
                throw new IllegalArgumentException("TAP name must not contain '/', ':', spaces or control characters: '" + name + "'");
            }
        }
    }

    private static String openHint(final int errno)
    {
        return switch (errno)
        {
            case Errno.EACCES, Errno.EPERM -> " (are you root? creating or attaching a TAP needs CAP_NET_ADMIN)";
            case Errno.ENOENT, Errno.ENODEV, Errno.ENXIO ->
                " (no TUN/TAP support: load the tun module, or create the node: mknod /dev/net/tun c 10 200)";
            default -> "";
        };
    }

    private static String setIfHint(final int errno, final String name, final TapOptions options)
    {
        return switch (errno)
        {
            case Errno.EPERM, Errno.EACCES ->
                " (needs CAP_NET_ADMIN, or the TAP belongs to another user or group)";
            case Errno.EBUSY -> options.exclusive()
                ? " (a network device named " + name + " already exists)"
                : " (the single-queue TAP " + name + " is already attached to another descriptor)";
            case Errno.EINVAL -> " (" + describeExisting(name, options) + ")";
            default -> "";
        };
    }

    private static String describeExisting(final String name, final TapOptions options)
    {
        final Path device = Path.of("/sys/class/net", name);
        if (!Files.exists(device))
        {
            return "the kernel rejected the name or flags";
        }
        final Path tunFlags = device.resolve("tun_flags");
        if (!Files.exists(tunFlags))
        {
            return "a network device named " + name + " exists and is not a TAP device";
        }
        try
        {
            final int existing = Integer.decode(Files.readString(tunFlags).trim());
            if ((existing & TunFlags.IFF_TAP) == 0)
            {
                return name + " is a TUN device, not a TAP device";
            }
            if (((existing & TunFlags.IFF_MULTI_QUEUE) != 0) != options.multiQueue())
            {
                return name + " exists " + ((existing & TunFlags.IFF_MULTI_QUEUE) != 0 ? "with" : "without") +
                    " IFF_MULTI_QUEUE; attach with the same setting";
            }
            return name + " exists with flags " + Integer.toHexString(existing) + " that do not match";
        }
        catch (final IOException | NumberFormatException ex)
        {
            return "a device named " + name + " exists but its TUN flags cannot be read";
        }
    }

    /**
     * @return the interface name the kernel gave (differs from the requested one only for a {@code %d} template).
     */
    public String name()
    {
        return name;
    }

    /**
     * @return the device's {@code ifr_flags} as {@code TUNGETIFF} reported them at open.
     */
    public int flags()
    {
        return flags;
    }

    /**
     * @return the virtio-net header size in front of every frame (10 or 12), 0 when opened without {@code IFF_VNET_HDR}.
     */
    public int vnetHeaderBytes()
    {
        return vnetHeaderBytes;
    }

    /**
     * @return the {@code TUN_F_*} offloads the kernel accepted ({@link TunFlags#describeOffloads} for text).
     */
    public int offloads()
    {
        return offloads;
    }

    /**
     * @return the requested {@code TUN_F_*} offloads the kernel refused.
     */
    public int refusedOffloads()
    {
        return refusedOffloads;
    }

    /**
     * @return true when attached with {@code IFF_MULTI_QUEUE}.
     */
    public boolean multiQueue()
    {
        return (flags & TunFlags.IFF_MULTI_QUEUE) != 0;
    }

    /**
     * @return the interface index in the network namespace this device was opened in, or 0 if
     *     unknown. Moving the link to another namespace may change it there.
     */
    public int ifIndex()
    {
        return ifIndex;
    }

    /**
     * @return the {@code gso_type}s (bits {@code 1 << gsoType}) of {@link #PROBED_GSO_TYPES} whose coalesced
     *     write the kernel refused at open (0: all taken, or no virtio-net header);
     *     {@link #describeGsoTypes} gives the text.
     */
    public int refusedGsoWrites()
    {
        return refusedGsoWrites;
    }

    /**
     * @return the names of the {@code gso_type} bits ({@code 1 << gsoType}), e.g. "tcpv6 udp_l4", or "none".
     */
    public static String describeGsoTypes(final int bits)
    {
        final StringBuilder text = new StringBuilder();
        for (int type = 0; type < 31; type++)
        {
            if ((bits & 1 << type) != 0)
            {
                text.append(text.isEmpty() ? "" : " ").append(VirtioNetHeader.typeName(type));
            }
        }
        return text.isEmpty() ? "none" : text.toString();
    }

    /**
     * @return whether the device outlives its descriptors ({@code TUNSETPERSIST}).
     */
    public boolean persistent()
    {
        return persistent;
    }

    /**
     * Sets {@code TUNSETPERSIST}: a persistent device stays after the last descriptor closes
     * (delete it with {@code ip link del}); a transient one goes with it.
     */
    public void persistent(final boolean persistent) throws IOException
    {
        if (!fd.acquire())
        {
            throw new IOException("TUNSETPERSIST " + name + ": device closed");
        }
        try
        {
            final int result = LibC.ioctl(fd.number(), TunFlags.TUNSETPERSIST, persistent ? 1L : 0L);
            if (result < 0)
            {
                throw new IOException("TUNSETPERSIST " + name + ": " + Errno.name(result));
            }
            this.persistent = persistent;
        }
        finally
        {
            fd.release();
        }
    }

    /**
     * Reads one frame into {@code segment[offset, offset + capacity)}. A frame longer than
     * {@code capacity} is cut by the kernel.
     *
     * @param segment  native memory (a frame slot).
     * @param offset   where the frame starts.
     * @param capacity room for the frame.
     * @return the frame length; 0 when no frame is waiting (EAGAIN); {@code -errno} on error
     *     ({@code -EBADF} after close, {@code -EBADFD} once the device was deleted).
     */
    public int read(final MemorySegment segment, final long offset, final int capacity)
    {
        final long result = fd.read(segment, offset, capacity);
        if (result == -Errno.EAGAIN)
        {
            return 0;
        }
        return (int)result;
    }

    /**
     * Writes one frame ({@code segment[offset, offset + length)}); the kernel takes it whole or not at all.
     *
     * @return {@code length} when sent, or {@code -errno}: {@code -EIO} while the link is down,
     *     {@code -EAGAIN}/{@code -ENOBUFS} when the kernel has no room, {@code -EINVAL} for a frame
     *     it refuses (too short or too long), {@code -EBADF} after close.
     */
    public int write(final MemorySegment segment, final long offset, final int length)
    {
        return (int)fd.write(segment, offset, length);
    }

    /**
     * Waits up to {@code timeoutMs} for a frame to read (tests and blocking tools; the data path polls instead).
     *
     * @return true when a frame is waiting.
     */
    public boolean awaitReadable(final int timeoutMs)
    {
        final int events = fd.poll(LibC.POLLIN, timeoutMs);
        return events > 0 && (events & LibC.POLLIN) != 0;
    }

    /**
     * @return the descriptor number (for {@code poll(2)} by the worker that owns the port), or -1 once closed.
     */
    public int descriptor()
    {
        return fd.isOpen() ? fd.number() : -1;
    }

    /**
     * @return false once closed.
     */
    public boolean isOpen()
    {
        return fd.isOpen();
    }

    /**
     * Closes the descriptor (idempotent). A transient TAP disappears when its last descriptor closes.
     */
    @Override
    public void close()
    {
        fd.close();
    }

    @Override
    public String toString()
    {
        return "TapDevice{" + name + ", flags=0x" + Integer.toHexString(flags) +
            (vnetHeaderBytes == 0 ? "" : ", vnetHdr=" + vnetHeaderBytes + ", offloads=" + TunFlags.describeOffloads(offloads)) +
            ", " + fd + '}';
    }
}
