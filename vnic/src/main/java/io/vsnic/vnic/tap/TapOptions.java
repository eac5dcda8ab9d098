package io.vsnic.vnic.tap;

/**
 * How {@link TapDevice#open} creates or attaches a TAP. Immutable; the defaults create the device
 * if needed, attach otherwise, with one queue, without virtio-net headers, and let it disappear
 * with its descriptor.
 *
 * @param multiQueue      {@code IFF_MULTI_QUEUE}: several descriptors (one per worker) may attach to the
 *                        device; it must match how the device was created.
 * @param exclusive       create only: fail with EBUSY when a device of that name already exists.
 * @param persistent      {@code TUNSETPERSIST 1}: keep the device after the last descriptor closes;
 *                        false ({@code TUNSETPERSIST 0}) removes it then, even if it was persistent before.
 * @param vnetHeaderBytes 0: plain frames; 10 or 12: open with {@code IFF_VNET_HDR} and
 *                        {@code TUNSETVNETHDRSZ} of that size: every frame read or written carries a
 *                        virtio-net header ({@link io.vsnic.dataplane.offload.VirtioNetHeader}).
 * @param offloads        {@code TUN_F_*} bits to ask for with {@code TUNSETOFFLOAD} (needs a virtio-net
 *                        header): what the kernel may hand over (partial checksums, TSO/USO
 *                        super-frames). The device records what the kernel accepted.
 * @param keepPersistence no {@code TUNSETPERSIST} at all ({@code persistent} is then ignored): the device
 *                        stays as persistent or transient as its maker left it. For attaching to a TAP that
 *                        another program made (a hypervisor, {@code ip tuntap add}): that program may still
 *                        be setting it persistent while vsnic attaches, and must not have it undone.
 */
public record TapOptions(boolean multiQueue, boolean exclusive, boolean persistent, int vnetHeaderBytes, int offloads,
    boolean keepPersistence)
{
    /** Every offload vsnic can take: CSUM, TSO4, TSO6, TSO_ECN, USO4, USO6. */
    public static final int ALL_OFFLOADS = TunFlags.TUN_F_CSUM | TunFlags.TUN_F_TSO4 | TunFlags.TUN_F_TSO6 |
        TunFlags.TUN_F_TSO_ECN | TunFlags.TUN_F_USO4 | TunFlags.TUN_F_USO6;

    public TapOptions
    {
        if (vnetHeaderBytes != 0 && vnetHeaderBytes != 10 && vnetHeaderBytes != 12)
        {
            throw new IllegalArgumentException("vnetHeaderBytes must be 0, 10 or 12: " + vnetHeaderBytes);
        }
        if ((offloads & ~ALL_OFFLOADS) != 0)
        {
            throw new IllegalArgumentException("offloads must be TUN_F_ bits among 0x" + Integer.toHexString(ALL_OFFLOADS) +
                ": 0x" + Integer.toHexString(offloads));
        }
        if (offloads != 0 && vnetHeaderBytes == 0)
        {
            throw new IllegalArgumentException("offloads need a virtio-net header (vnetHeaderBytes 10 or 12)");
        }
    }

    /**
     * Persistence set as {@code persistent} says.
     */
    public TapOptions(final boolean multiQueue, final boolean exclusive, final boolean persistent, final int vnetHeaderBytes,
        final int offloads)
    {
        this(multiQueue, exclusive, persistent, vnetHeaderBytes, offloads, false);
    }

    /**
     * Plain frames, no offloads.
     */
    public TapOptions(final boolean multiQueue, final boolean exclusive, final boolean persistent)
    {
        this(multiQueue, exclusive, persistent, 0, 0);
    }

    /**
     * @return single queue, create or attach, not persistent, no virtio-net header.
     */
    public static TapOptions defaults()
    {
        return new TapOptions(false, false, false);
    }

    public TapOptions withMultiQueue(final boolean multiQueue)
    {
        return new TapOptions(multiQueue, exclusive, persistent, vnetHeaderBytes, offloads, keepPersistence);
    }

    public TapOptions withExclusive(final boolean exclusive)
    {
        return new TapOptions(multiQueue, exclusive, persistent, vnetHeaderBytes, offloads, keepPersistence);
    }

    /**
     * @return these options with {@code TUNSETPERSIST} set to {@code persistent} at open.
     */
    public TapOptions withPersistent(final boolean persistent)
    {
        return new TapOptions(multiQueue, exclusive, persistent, vnetHeaderBytes, offloads, false);
    }

    /**
     * @return these options without {@code TUNSETPERSIST}: the device keeps the persistence its maker gave it.
     */
    public TapOptions withPersistenceKept()
    {
        return new TapOptions(multiQueue, exclusive, persistent, vnetHeaderBytes, offloads, true);
    }

    /**
     * @param vnetHeaderBytes 10 or 12 (the header size), 0 for none (then no offloads either).
     * @param offloads        {@code TUN_F_*} bits to ask for, e.g. {@link #ALL_OFFLOADS}.
     */
    public TapOptions withOffloads(final int vnetHeaderBytes, final int offloads)
    {
        return new TapOptions(multiQueue, exclusive, persistent, vnetHeaderBytes, vnetHeaderBytes == 0 ? 0 : offloads,
            keepPersistence);
    }
}
