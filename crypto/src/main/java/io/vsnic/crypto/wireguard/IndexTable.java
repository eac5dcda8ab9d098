package io.vsnic.crypto.wireguard;

import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * Maps our 32-bit session indices (the receiver index of incoming messages) to the pending
 * handshake or keypair they name. Open addressing with linear probing over an
 * {@link AtomicReferenceArray}: lookups are lock-free and allocation-free (the data path), changes
 * take the table's lock (the handshake path). A removed entry leaves a tombstone; the table is
 * rebuilt, and grown when needed, once entries and tombstones fill three quarters of it. A reader
 * still probing the old array finds what was there when it started, which is harmless: removed
 * keypairs are also marked invalid.
 */
final class IndexTable
{
    /** Something an index can name. */
    interface Entry
    {
        /**
         * @return the index this entry is stored under.
         */
        int localIndex();
    }

    private static final Object TOMBSTONE = new Object();

    private volatile AtomicReferenceArray<Object> slots;
    private int size;
    private int used;

    /**
     * @param initialCapacity a power of two, at least 16.
     */
    IndexTable(final int initialCapacity)
    {
        if (initialCapacity < 16 || Integer.bitCount(initialCapacity) != 1)
        {
            throw new IllegalArgumentException("index table capacity must be a power of two >= 16: " + initialCapacity);
        }
        slots = new AtomicReferenceArray<>(initialCapacity);
    }

    private static int home(final int index, final int mask)
    {
        // indices are random already; mix anyway so that chosen indices do not cluster
        final int h = index * 0x9E3779B9;
        return (h ^ (h >>> 16)) & mask;
    }

    /**
     * @param index a receiver index from the wire.
     * @return the entry, or null.
     */
    Entry get(final int index)
    {
        final AtomicReferenceArray<Object> table = slots;
        final int mask = table.length() - 1;
        int i = home(index, mask);
        for (int probes = 0; probes <= mask; probes++)
        {
            final Object o = table.get(i);
            if (o == null)
            {
                return null;
            }
            if (o != TOMBSTONE && ((Entry)o).localIndex() == index)
            {
                return (Entry)o;
            }
            i = (i + 1) & mask;
        }
        return null;
    }

    /**
     * @return true when the index is in use.
     */
    synchronized boolean contains(final int index)
    {
        return get(index) != null;
    }

    /**
     * Adds an entry under its index, which must be free.
     *
     * @throws IllegalStateException when the index is taken.
     */
    synchronized void put(final Entry entry)
    {
        if (get(entry.localIndex()) != null)
        {
            throw new IllegalStateException("index " + Integer.toHexString(entry.localIndex()) + " is in use");
        }
        if ((used + 1) * 4 > slots.length() * 3)
        {
            rebuild(size + 1);
        }
        final AtomicReferenceArray<Object> table = slots;
        final int mask = table.length() - 1;
        int i = home(entry.localIndex(), mask);
        while (true)
        {
            final Object o = table.get(i);
            if (o == null || o == TOMBSTONE)
            {
                if (o == null)
                {
                    used++;
                }
                table.set(i, entry);
                size++;
                return;
            }
            i = (i + 1) & mask;
        }
    }

    /**
     * Replaces the entry stored under {@code old.localIndex()} by {@code replacement} (same index), in
     * one store, so that a reader sees one or the other.
     *
     * @return false when {@code old} was not in the table.
     */
    synchronized boolean replace(final Entry old, final Entry replacement)
    {
        if (old.localIndex() != replacement.localIndex())
        {
            throw new IllegalArgumentException("replace needs the same index");
        }
        final int at = find(old);
        if (at < 0)
        {
            return false;
        }
        slots.set(at, replacement);
        return true;
    }

    /**
     * Removes exactly this entry (not another one under the same index).
     *
     * @return true when it was there.
     */
    synchronized boolean remove(final Entry entry)
    {
        final int at = find(entry);
        if (at < 0)
        {
            return false;
        }
        slots.set(at, TOMBSTONE);
        size--;
        return true;
    }

    /**
     * @return how many entries are stored.
     */
    synchronized int size()
    {
        return size;
    }

    private int find(final Entry entry)
    {
        final AtomicReferenceArray<Object> table = slots;
        final int mask = table.length() - 1;
        int i = home(entry.localIndex(), mask);
        for (int probes = 0; probes <= mask; probes++)
        {
            final Object o = table.get(i);
            if (o == null)
            {
                return -1;
            }
            if (o == entry)
            {
                return i;
            }
            i = (i + 1) & mask;
        }
        return -1;
    }

    private void rebuild(final int needed)
    {
        final AtomicReferenceArray<Object> old = slots;
        int capacity = old.length();
        while (needed * 2 > capacity)
        {
            capacity *= 2;
        }
        final AtomicReferenceArray<Object> table = new AtomicReferenceArray<>(capacity);
        final int mask = capacity - 1;
        for (int j = 0; j < old.length(); j++)
        {
            final Object o = old.get(j);
            if (o != null && o != TOMBSTONE)
            {
                int i = home(((Entry)o).localIndex(), mask);
                while (table.get(i) != null)
                {
                    i = (i + 1) & mask;
                }
                table.set(i, o);
            }
        }
        used = size;
        slots = table;
    }
}
