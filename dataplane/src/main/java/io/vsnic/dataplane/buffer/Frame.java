package io.vsnic.dataplane.buffer;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;

/**
 * One frame buffer: a fixed-size off-heap slot of a {@link FramePool} plus the window of it that
 * holds the current frame. The window starts {@link FramePool#headroomBytes()} into the slot so
 * that encapsulation can prepend outer headers in place ({@link #prepend(int)}) without copying.
 *
 * <p>Besides the window a frame carries its port, timestamp, VNI and peer device, and its offload
 * state: {@link #gso(int, int) gso type and size} for a segmentation-offload super-frame (which lives
 * in a pool of {@link FramePool#SUPER_SLOT_BYTES} slots) and {@link #checksumPartial(int, int)} for a
 * partial L4 checksum. {@link FramePool#acquire()} clears all of it.
 *
 * <p>A segment cut from a super-frame may leave its payload where it is: the window then holds only
 * the headers, and {@link #refer(Frame, long, int) referenced bytes} of the super-frame follow them on
 * the wire ({@link #wireLength()}), as an iovec chain and without a copy. The super-frame stays out of
 * its pool until it and every frame that refers to it are released. A port that sends such frames says
 * so ({@code Port.OFFLOAD_CHAINED}); anything else gets them {@link #flatten() flattened} first.
 *
 * <p>A frame is owned by exactly one thread at a time: the one that acquired it, or the one it was
 * handed to through a queue. A frame with referenced bytes and the frame it refers to stay on the
 * thread that made them (their hold count is not atomic): flatten it before handing it on.
 * Instances are created once by the pool and reused.
 */
public final class Frame
{
    private final FramePool pool;
    private final int index;
    private final MemorySegment slot;
    private final ByteBuffer buffer;
    private final int capacity;
    private int start;
    private int length;
    private int port;
    private long timestampNs;
    private int vni;
    private int peerDevice;
    private int gsoType;
    private int gsoSize;
    private int csumStart = -1;
    private int csumOffset;
    private boolean checksumVerified;
    /** The frame whose bytes follow this one's window on the wire, or null. */
    private Frame referenced;
    private long referencedOffset;
    private int referencedLength;
    /** Frames that refer to this one's bytes and are not released yet. */
    private int holds;
    /** {@link #release()} was called while frames still referred to this one. */
    private boolean releaseWhenUnheld;
    boolean inUse;

    Frame(final FramePool pool, final int index, final MemorySegment slot)
    {
        this.pool = pool;
        this.index = index;
        this.slot = slot;
        this.buffer = slot.asByteBuffer();
        this.capacity = (int)slot.byteSize();
    }

    /**
     * @return the slot's memory; header offsets are relative to its base, the frame starts at {@link #start()}.
     */
    public MemorySegment segment()
    {
        return slot;
    }

    /**
     * @return a direct {@link ByteBuffer} over the frame bytes (position = start, limit = start + length),
     *     for socket and Netty I/O. One buffer object per slot, reused: valid until the window changes.
     */
    public ByteBuffer byteBuffer()
    {
        return buffer.limit(start + length).position(start);
    }

    /**
     * @return a direct {@link ByteBuffer} over the whole slot after the default headroom (position =
     *     headroom, limit = slot end), for receiving into the frame; then set the window with
     *     {@link #window(int, int)}.
     */
    public ByteBuffer receiveBuffer()
    {
        return buffer.limit(capacity).position(pool.headroomBytes());
    }

    /**
     * @return the index of this frame's slot in its pool.
     */
    public int index()
    {
        return index;
    }

    /**
     * @return the pool this frame belongs to.
     */
    public FramePool pool()
    {
        return pool;
    }

    /**
     * @return offset of the first byte of the frame in {@link #segment()}.
     */
    public int start()
    {
        return start;
    }

    /**
     * @return number of bytes in the frame.
     */
    public int length()
    {
        return length;
    }

    /**
     * @return bytes available in front of the frame for prepending headers.
     */
    public int headroom()
    {
        return start;
    }

    /**
     * @return bytes available after the frame for appending.
     */
    public int tailroom()
    {
        return capacity - start - length;
    }

    /**
     * @return the largest frame this slot can hold with the pool's default headroom.
     */
    public int maxFrameBytes()
    {
        return capacity - pool.headroomBytes();
    }

    /**
     * Sets the frame window. Used after receiving into the slot.
     *
     * @param start  offset of the first byte.
     * @param length number of bytes.
     * @return this.
     * @throws IllegalArgumentException when the window does not fit the slot.
     */
    public Frame window(final int start, final int length)
    {
        if (start < 0 || length < 0 || start > capacity || length > capacity - start)
        {
            throw new IllegalArgumentException("window " + start + "+" + length + " outside slot of " + capacity);
        }
        this.start = start;
        this.length = length;
        return this;
    }

    /**
     * Sets the frame length, keeping the start.
     *
     * @param length number of bytes.
     * @return false (and no change) when it would not fit the slot.
     */
    public boolean length(final int length)
    {
        if (length < 0 || length > capacity - start)
        {
            return false;
        }
        this.length = length;
        return true;
    }

    /**
     * Grows the frame at the front by {@code bytes} (for outer headers).
     *
     * @param bytes how many bytes to prepend.
     * @return false (and no change) when the headroom is too small.
     */
    public boolean prepend(final int bytes)
    {
        if (bytes < 0 || bytes > start)
        {
            return false;
        }
        start -= bytes;
        length += bytes;
        if (csumStart >= 0)
        {
            csumStart += bytes;
        }
        return true;
    }

    /**
     * Shrinks the frame at the front by {@code bytes} (for decapsulation).
     *
     * @param bytes how many bytes to remove.
     * @return false (and no change) when the frame is shorter.
     */
    public boolean strip(final int bytes)
    {
        if (bytes < 0 || bytes > length)
        {
            return false;
        }
        start += bytes;
        length -= bytes;
        if (csumStart >= 0)
        {
            csumStart = Math.max(0, csumStart - bytes);
        }
        return true;
    }

    /**
     * Copies {@code length} bytes from {@code source} into the slot at the default headroom and makes
     * them the frame.
     *
     * @param source       memory to copy from.
     * @param sourceOffset offset of the first byte in {@code source}.
     * @param length       number of bytes.
     * @return false (and no change) when the bytes do not fit.
     */
    public boolean copyFrom(final MemorySegment source, final long sourceOffset, final int length)
    {
        final int at = pool.headroomBytes();
        if (length < 0 || length > capacity - at)
        {
            return false;
        }
        MemorySegment.copy(source, sourceOffset, slot, at, length);
        this.start = at;
        this.length = length;
        return true;
    }

    /**
     * @return the port this frame arrived on (set by the receiver), or -1.
     */
    public int port()
    {
        return port;
    }

    /**
     * @param port the port this frame arrived on.
     * @return this.
     */
    public Frame port(final int port)
    {
        this.port = port;
        return this;
    }

    /**
     * @return receive timestamp in nanoseconds (epoch), or 0 when unknown.
     */
    public long timestampNs()
    {
        return timestampNs;
    }

    /**
     * @param timestampNs receive timestamp in nanoseconds since the epoch.
     * @return this.
     */
    public Frame timestampNs(final long timestampNs)
    {
        this.timestampNs = timestampNs;
        return this;
    }

    /**
     * @return the overlay VNI this frame belongs to (set by decapsulation or by the pipeline for
     *     overlay output), or -1.
     */
    public int vni()
    {
        return vni;
    }

    /**
     * @param vni the overlay VNI.
     * @return this.
     */
    public Frame vni(final int vni)
    {
        this.vni = vni;
        return this;
    }

    /**
     * @return the remote device this frame came from (overlay input) or goes to (overlay output), or -1.
     */
    public int peerDevice()
    {
        return peerDevice;
    }

    /**
     * @param device the remote device.
     * @return this.
     */
    public Frame peerDevice(final int device)
    {
        this.peerDevice = device;
        return this;
    }

    /**
     * @return the segmentation-offload type of a super-frame ({@code VIRTIO_NET_HDR_GSO_*}, see
     *     {@link io.vsnic.dataplane.offload.VirtioNetHeader}), 0 for an ordinary frame.
     */
    public int gsoType()
    {
        return gsoType;
    }

    /**
     * @return the payload bytes per segment of a super-frame, 0 for an ordinary frame.
     */
    public int gsoSize()
    {
        return gsoSize;
    }

    /**
     * @return true when this frame is a segmentation-offload super-frame (to be cut into
     *     {@link #gsoSize()}-byte segments by whoever cannot carry it whole).
     */
    public boolean isSuperFrame()
    {
        return gsoType != 0;
    }

    /**
     * Marks the frame as a super-frame (or, with type 0, as an ordinary frame).
     *
     * @param type {@code VIRTIO_NET_HDR_GSO_*} (with the ECN bit when set), 0 for none.
     * @param size payload bytes per segment.
     * @return this.
     */
    public Frame gso(final int type, final int size)
    {
        this.gsoType = type;
        this.gsoSize = type == 0 ? 0 : size;
        return this;
    }

    /**
     * @return where the partial L4 checksum starts, counted from {@link #start()} (the
     *     {@code csum_start} of a virtio-net header), or -1 when the checksum is complete.
     *     {@link #prepend} and {@link #strip} keep it pointing at the same byte.
     */
    public int csumStart()
    {
        return csumStart;
    }

    /**
     * @return where the checksum is stored, counted from {@link #csumStart()}.
     */
    public int csumOffset()
    {
        return csumOffset;
    }

    /**
     * @return true when the L4 checksum field holds only the pseudo-header sum (NEEDS_CSUM): whoever
     *     sends the frame to a receiver that needs a complete checksum completes it first.
     */
    public boolean checksumPartial()
    {
        return csumStart >= 0;
    }

    /**
     * Records a partial checksum (or, with {@code start} -1, a complete one).
     *
     * @param start  first byte of the checksummed range, counted from {@link #start()}.
     * @param offset where the result goes, counted from {@code start}.
     * @return this.
     */
    public Frame checksumPartial(final int start, final int offset)
    {
        this.csumStart = start;
        this.csumOffset = start < 0 ? 0 : offset;
        return this;
    }

    /**
     * @return true when the frame's integrity was already established on the way in (Linux's
     *     CHECKSUM_UNNECESSARY): it was opened from an authenticated WireGuard message, whose AEAD tag
     *     covers every byte, so its inner L4 checksum need not be verified again (e.g. before coalescing).
     */
    public boolean checksumVerified()
    {
        return checksumVerified;
    }

    /**
     * Marks (or clears) {@link #checksumVerified()}.
     *
     * @return this.
     */
    public Frame checksumVerified(final boolean value)
    {
        this.checksumVerified = value;
        return this;
    }

    /**
     * Makes {@code length} bytes of {@code owner} at {@code offset} (an offset into
     * {@code owner.segment()}) follow this frame's window on the wire, without copying them. The owner
     * stays out of its pool until this frame is released or flattened. Both stay on the calling thread.
     *
     * @return false (and no change) when this frame already refers to bytes, or the range is outside the owner's slot.
     */
    public boolean refer(final Frame owner, final long offset, final int length)
    {
        if (referenced != null || owner == this || length < 0 || offset < 0 || offset > owner.capacity - (long)length)
        {
            return false;
        }
        owner.holds++;
        referenced = owner;
        referencedOffset = offset;
        referencedLength = length;
        return true;
    }

    /**
     * @return whether bytes of another frame follow this one's window ({@link #refer}).
     */
    public boolean refersToOther()
    {
        return referenced != null;
    }

    /**
     * @return the memory of the referenced bytes ({@link #refer}); only while {@link #refersToOther()}.
     */
    public MemorySegment referencedSegment()
    {
        return referenced.slot;
    }

    /**
     * @return the offset of the referenced bytes in {@link #referencedSegment()}.
     */
    public long referencedOffset()
    {
        return referencedOffset;
    }

    /**
     * @return how many referenced bytes follow the window (0 when none).
     */
    public int referencedLength()
    {
        return referencedLength;
    }

    /**
     * @return the frame's length on the wire: the window plus the referenced bytes.
     */
    public int wireLength()
    {
        return length + referencedLength;
    }

    /**
     * Copies the referenced bytes ({@link #refer}) in after the window, which then holds the whole
     * frame, and lets go of the frame they are in. Nothing to do for a frame without them.
     *
     * @return false (and no change) when they do not fit the slot.
     */
    public boolean flatten()
    {
        final Frame owner = referenced;
        if (owner == null)
        {
            return true;
        }
        if (referencedLength > capacity - start - length)
        {
            return false;
        }
        MemorySegment.copy(owner.slot, referencedOffset, slot, start + length, referencedLength);
        length += referencedLength;
        dropReference();
        return true;
    }

    private void dropReference()
    {
        final Frame owner = referenced;
        referenced = null;
        referencedOffset = 0;
        referencedLength = 0;
        if (--owner.holds == 0 && owner.releaseWhenUnheld)
        {
            owner.releaseWhenUnheld = false;
            owner.pool.release(owner);
        }
    }

    /**
     * Returns this frame to its pool. The caller must not touch it afterwards. A frame that others
     * still refer to ({@link #refer}) goes back when the last of them is released.
     */
    public void release()
    {
        if (referenced != null)
        {
            dropReference();
        }
        if (holds > 0)
        {
            releaseWhenUnheld = true;
            return;
        }
        pool.release(this);
    }

    void reset()
    {
        start = pool.headroomBytes();
        length = 0;
        port = -1;
        timestampNs = 0;
        vni = -1;
        peerDevice = -1;
        gsoType = 0;
        gsoSize = 0;
        csumStart = -1;
        csumOffset = 0;
        checksumVerified = false;
        referenced = null;
        referencedOffset = 0;
        referencedLength = 0;
        holds = 0;
        releaseWhenUnheld = false;
    }

    /**
     * Copies the frame bytes, referenced ones included ({@link #wireLength()}), to a new array. For
     * tests and tools, never the hot path.
     *
     * @return the frame's bytes.
     */
    public byte[] toByteArray()
    {
        final byte[] bytes = new byte[length + referencedLength];
        MemorySegment.copy(slot, ValueLayout.JAVA_BYTE, start, bytes, 0, length);
        if (referenced != null)
        {
            MemorySegment.copy(referenced.slot, ValueLayout.JAVA_BYTE, referencedOffset, bytes, length, referencedLength);
        }
        return bytes;
    }
}
