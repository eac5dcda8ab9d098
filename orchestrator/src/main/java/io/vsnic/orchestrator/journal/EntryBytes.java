package io.vsnic.orchestrator.journal;

import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The bytes of one journal entry, held where the journal cuts them into parts ({@link Journal#PART_BYTES}
 * each): a serializer writes straight into it, and the journal writes each part from its own array. An
 * entry of a million routes (65 MB) is then neither grown in one array nor copied into a final one, as
 * {@code writeValueAsBytes} does (twice its size on the heap at the end). Writing more than
 * {@link Journal#MAX_PAYLOAD_BYTES} fails with an {@link IOException} as soon as it happens, before the
 * bytes are held.
 *
 * <p>Not thread-safe: one writer, then handed to the journal.
 */
public final class EntryBytes extends OutputStream
{
    private static final int FIRST_CHUNK = 512;

    /** Parts already full ({@link Journal#PART_BYTES} each). */
    private final List<byte[]> full = new ArrayList<>();
    /** The part being filled, and how much of it is. */
    private byte[] last;
    private int lastLength;
    private long length;
    /** An entry given whole ({@link #of}): its parts are ranges of it, not copies. */
    private final byte[] whole;
    private final long limit;

    /**
     * An empty entry to write into.
     */
    public EntryBytes()
    {
        this(Journal.MAX_PAYLOAD_BYTES);
    }

    /**
     * @param limit the most bytes it takes (tests use a smaller one than {@link Journal#MAX_PAYLOAD_BYTES}).
     */
    EntryBytes(final long limit)
    {
        this.limit = limit;
        whole = null;
        last = new byte[FIRST_CHUNK];
    }

    private EntryBytes(final byte[] whole)
    {
        this.whole = whole;
        limit = whole.length;
        length = whole.length;
    }

    /**
     * @return the entry holding {@code payload} (the array itself: do not change it until it is written).
     */
    public static EntryBytes of(final byte[] payload)
    {
        return new EntryBytes(payload);
    }

    @Override
    public void write(final int b) throws IOException
    {
        writable();
        room(1);
        last[lastLength++] = (byte)b;
        length++;
    }

    @Override
    public void write(final byte[] bytes, final int offset, final int count) throws IOException
    {
        writable();
        int from = offset;
        int left = count;
        while (left > 0)
        {
            final int n = room(left);
            System.arraycopy(bytes, from, last, lastLength, n);
            lastLength += n;
            length += n;
            from += n;
            left -= n;
        }
    }

    /**
     * Makes room in the part being filled (a new part once it is full).
     *
     * @return how many of {@code wanted} bytes fit now (at least one).
     */
    private int room(final int wanted) throws IOException
    {
        if (length + wanted > limit)
        {
            throw new IOException("journal entry too large: more than " + limit + " bytes");
        }
        if (lastLength == Journal.PART_BYTES)
        {
            full.add(last);
            // past the first part the entry is large: take whole parts at once
            last = new byte[Journal.PART_BYTES];
            lastLength = 0;
        }
        final int n = Math.min(wanted, Journal.PART_BYTES - lastLength);
        if (lastLength + n > last.length)
        {
            last = Arrays.copyOf(last, Math.min(Journal.PART_BYTES, Math.max(2 * last.length, lastLength + n)));
        }
        return n;
    }

    /**
     * @return bytes written.
     */
    public long length()
    {
        return length;
    }

    /**
     * @return parts the journal writes: at least one (an empty entry is one empty part).
     */
    int parts()
    {
        return whole != null ? Math.max(1, (whole.length + Journal.PART_BYTES - 1) / Journal.PART_BYTES) : full.size() + 1;
    }

    /**
     * @return the array holding part {@code index}.
     */
    byte[] part(final int index)
    {
        return whole != null ? whole : index < full.size() ? full.get(index) : last;
    }

    /**
     * @return where part {@code index} starts in {@link #part}.
     */
    int partOffset(final int index)
    {
        return whole != null ? index * Journal.PART_BYTES : 0;
    }

    /**
     * @return the bytes of part {@code index}.
     */
    int partLength(final int index)
    {
        if (whole != null)
        {
            return Math.min(Journal.PART_BYTES, whole.length - index * Journal.PART_BYTES);
        }
        return index < full.size() ? Journal.PART_BYTES : lastLength;
    }

    private void writable() throws IOException
    {
        if (whole != null)
        {
            throw new IOException("an entry given whole takes no more bytes");
        }
    }
}
