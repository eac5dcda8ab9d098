package io.vsnic.vnic.tap;

/**
 * The one place for the TUN/TAP driver's flags and ioctl request numbers
 * ({@code <linux/if_tun.h>}; the request numbers are the x86-64/AArch64 encodings of
 * {@code _IOW('T', nr, int)} / {@code _IOR('T', nr, unsigned int)}).
 *
 * <p>{@link #requestFlags(TapOptions)} turns options into the {@code ifr_flags} of
 * {@code TUNSETIFF}. Adding virtio-net headers later means: an option in {@link TapOptions},
 * {@link #IFF_VNET_HDR} here, then {@link #TUNSETVNETHDRSZ} and {@link #TUNSETOFFLOAD} with the
 * {@code TUN_F_*} bits below right after {@code TUNSETIFF} in {@link TapDevice}.
 */
public final class TunFlags
{
    /** {@code ifr_flags}: a TUN (layer 3) device. */
    public static final int IFF_TUN = 0x0001;
    /** {@code ifr_flags}: a TAP (Ethernet) device. */
    public static final int IFF_TAP = 0x0002;
    /** {@code ifr_flags}: one queue per file descriptor; several descriptors attach to one device. */
    public static final int IFF_MULTI_QUEUE = 0x0100;
    /** {@code TUNGETIFF} only: the device outlives its descriptors. */
    public static final int IFF_PERSIST = 0x0800;
    /** {@code ifr_flags}: no 4-byte packet information header in front of each frame. */
    public static final int IFF_NO_PI = 0x1000;
    /** {@code ifr_flags}: a {@code virtio_net_hdr} in front of each frame (offloads). */
    public static final int IFF_VNET_HDR = 0x4000;
    /** {@code ifr_flags}: fail with EBUSY when a device of that name exists (create only). */
    public static final int IFF_TUN_EXCL = 0x8000;

    /** {@code TUNSETIFF}: create or attach (argument: {@code struct ifreq *}). */
    public static final long TUNSETIFF = 0x400454caL;
    /** {@code TUNSETPERSIST}: 1 keeps the device after the last descriptor closes, 0 removes it then (argument by value). */
    public static final long TUNSETPERSIST = 0x400454cbL;
    /** {@code TUNSETOFFLOAD}: {@code TUN_F_*} bits the reader accepts (argument by value). */
    public static final long TUNSETOFFLOAD = 0x400454d0L;
    /** {@code TUNGETIFF}: name and flags of the attached device (argument: {@code struct ifreq *}). */
    public static final long TUNGETIFF = 0x800454d2L;
    /** {@code TUNGETVNETHDRSZ} (argument: {@code int *}). */
    public static final long TUNGETVNETHDRSZ = 0x800454d7L;
    /** {@code TUNSETVNETHDRSZ}: size of the virtio-net header, 10 or 12 (argument: {@code int *}). */
    public static final long TUNSETVNETHDRSZ = 0x400454d8L;

    /** {@code TUNSETOFFLOAD} bits. */
    public static final int TUN_F_CSUM = 0x01;
    public static final int TUN_F_TSO4 = 0x02;
    public static final int TUN_F_TSO6 = 0x04;
    public static final int TUN_F_TSO_ECN = 0x08;
    public static final int TUN_F_UFO = 0x10;
    public static final int TUN_F_USO4 = 0x20;
    public static final int TUN_F_USO6 = 0x40;

    /** {@code struct ifreq}: 16 bytes of name, then a 24-byte union whose first member is {@code short ifr_flags}. */
    static final int IFREQ_BYTES = 40;
    static final int IFREQ_FLAGS_OFFSET = 16;

    private TunFlags()
    {
    }

    /**
     * @return the {@code ifr_flags} for {@code TUNSETIFF}: always {@code IFF_TAP | IFF_NO_PI}, plus
     *     {@code IFF_MULTI_QUEUE} and {@code IFF_TUN_EXCL} as the options ask.
     */
    public static int requestFlags(final TapOptions options)
    {
        int flags = IFF_TAP | IFF_NO_PI;
        if (options.multiQueue())
        {
            flags |= IFF_MULTI_QUEUE;
        }
        if (options.exclusive())
        {
            flags |= IFF_TUN_EXCL;
        }
        if (options.vnetHeaderBytes() != 0)
        {
            flags |= IFF_VNET_HDR;
        }
        return flags;
    }

    /**
     * @return the {@code TUN_F_*} bits as text ({@code "csum|tso4|tso6|tso_ecn|uso4|uso6"}, {@code "none"}).
     */
    public static String describeOffloads(final int offloads)
    {
        final StringBuilder text = new StringBuilder();
        final String[] names = {"csum", "tso4", "tso6", "tso_ecn", "ufo", "uso4", "uso6"};
        for (int bit = 0; bit < names.length; bit++)
        {
            if ((offloads & (1 << bit)) != 0)
            {
                text.append(text.isEmpty() ? "" : "|").append(names[bit]);
            }
        }
        return text.isEmpty() ? "none" : text.toString();
    }
}
