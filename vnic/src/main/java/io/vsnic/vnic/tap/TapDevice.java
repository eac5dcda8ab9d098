package io.vsnic.vnic.tap;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

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

    private final NativeFd fd;
    private final String name;
    private final int flags;
    private final int ifIndex;
    private final int vnetHeaderBytes;
    private final int offloads;
    private final int refusedOffloads;
    private volatile boolean persistent;

    private TapDevice(
        final NativeFd fd, final String name, final int flags, final int ifIndex, final int vnetHeaderBytes,
        final int offloads, final int refusedOffloads)
    {
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
            }
            final int persist = LibC.ioctl(number, TunFlags.TUNSETPERSIST, options.persistent() ? 1L : 0L);
            if (persist < 0)
            {
                throw new IOException("TUNSETPERSIST " + name + ": " + Errno.name(persist));
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
                options.vnetHeaderBytes(), accepted, options.offloads() & ~accepted);
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
