package io.vsnic.vnic.tap;

/**
 * How {@link TapDevice#open} creates or attaches a TAP. Immutable; the defaults create the device
 * if needed, attach otherwise, with one queue, and let it disappear with its descriptor.
 *
 * @param multiQueue {@code IFF_MULTI_QUEUE}: several descriptors (one per worker) may attach to the
 *                   device; it must match how the device was created.
 * @param exclusive  create only: fail with EBUSY when a device of that name already exists.
 * @param persistent {@code TUNSETPERSIST 1}: keep the device after the last descriptor closes;
 *                   false ({@code TUNSETPERSIST 0}) removes it then, even if it was persistent before.
 */
public record TapOptions(boolean multiQueue, boolean exclusive, boolean persistent)
{
    /**
     * @return single queue, create or attach, not persistent.
     */
    public static TapOptions defaults()
    {
        return new TapOptions(false, false, false);
    }

    public TapOptions withMultiQueue(final boolean multiQueue)
    {
        return new TapOptions(multiQueue, exclusive, persistent);
    }

    public TapOptions withExclusive(final boolean exclusive)
    {
        return new TapOptions(multiQueue, exclusive, persistent);
    }

    public TapOptions withPersistent(final boolean persistent)
    {
        return new TapOptions(multiQueue, exclusive, persistent);
    }
}
