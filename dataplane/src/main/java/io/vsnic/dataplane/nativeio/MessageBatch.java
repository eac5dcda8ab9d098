package io.vsnic.dataplane.nativeio;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;

/**
 * Preallocated native {@code struct mmsghdr} / {@code iovec} / socket-address arrays for one
 * {@code sendmmsg} or {@code recvmmsg} of up to {@link #capacity()} datagrams, each with iovecs
 * pointing straight at frames' bytes (no copy): one per datagram, or more for UDP GSO sends and
 * chained segments when the batch has room for them. Filling, sending and reading results allocate
 * nothing.
 *
 * <p>Send addresses are encoded once per peer into one of {@link #NAME_SLOTS} name slots
 * ({@link #encodeName}) and shared by every message to that peer; receive addresses land in a
 * per-message slot ({@link #receiveNameAddress}), {@code sockaddr_in} or {@code sockaddr_in6}
 * (IPv4-mapped on a dual-stack socket).
 *
 * <p>Thread: one owner at a time (a worker's send batch, a port's receive batch).
 */
public final class MessageBatch
{
    /** Bytes of one {@code struct mmsghdr} on 64-bit Linux. */
    static final int MMSGHDR_BYTES = 64;
    private static final int IOVEC_BYTES = 16;
    /** Room for a {@code sockaddr_in6} (28 bytes), rounded up. */
    private static final int NAME_BYTES = 32;
    /** Send address slots (peers of one batch). */
    public static final int NAME_SLOTS = 16;

    /** {@code CMSG_SPACE(sizeof(uint16_t))}: one {@code UDP_SEGMENT} control message. */
    private static final int CONTROL_BYTES = 24;
    private static final int SOL_UDP = 17;
    /** {@code UDP_SEGMENT}: the send is cut into datagrams of this size by the kernel (UDP GSO). */
    public static final int UDP_SEGMENT = 103;
    /** {@code UDP_GRO}: received datagrams of one sender may come coalesced, their size in this control message. */
    public static final int UDP_GRO = 104;
    private static final int AF_INET = 2;
    private static final int AF_INET6 = 10;

    private final int capacity;
    private final MemorySegment messages;
    private final MemorySegment iovecs;
    private final MemorySegment receiveNames;
    private final MemorySegment sendNames;
    private final MemorySegment controls;
    private final int[] sendNameLengths = new int[NAME_SLOTS];

    /**
     * @param capacity most datagrams per call (and one iovec for each).
     */
    public MessageBatch(final int capacity)
    {
        this(capacity, capacity);
    }

    /**
     * @param capacity       most datagrams per call.
     * @param iovecCapacity  most iovecs of all messages together ({@link #appendSend}); at least {@code capacity}.
     */
    public MessageBatch(final int capacity, final int iovecCapacity)
    {
        if (capacity < 1 || capacity > 1024)
        {
            throw new IllegalArgumentException("batch capacity must be in 1..1024: " + capacity);
        }
        if (iovecCapacity < capacity || iovecCapacity > 4096)
        {
            throw new IllegalArgumentException("iovec capacity must be in " + capacity + "..4096: " + iovecCapacity);
        }
        this.capacity = capacity;
        final Arena arena = Arena.ofAuto();
        this.messages = arena.allocate((long)capacity * MMSGHDR_BYTES, 64);
        this.iovecs = arena.allocate((long)iovecCapacity * IOVEC_BYTES, 64);
        this.receiveNames = arena.allocate((long)capacity * NAME_BYTES, 64);
        this.sendNames = arena.allocate((long)NAME_SLOTS * NAME_BYTES, 64);
        this.controls = arena.allocate((long)capacity * CONTROL_BYTES, 64);
    }

    /**
     * @return most datagrams per call.
     */
    public int capacity()
    {
        return capacity;
    }

    /**
     * @return the address of the {@code struct mmsghdr} array, for {@link Syscalls}.
     */
    public long address()
    {
        return messages.address();
    }

    /**
     * @return the address of message {@code index}.
     */
    public long address(final int index)
    {
        return messages.address() + (long)index * MMSGHDR_BYTES;
    }

    /**
     * Encodes a destination into a name slot.
     *
     * @return false when the address is neither IPv4 nor IPv6.
     */
    public boolean encodeName(final int slot, final InetSocketAddress destination)
    {
        final long base = (long)slot * NAME_BYTES;
        sendNames.asSlice(base, NAME_BYTES).fill((byte)0);
        final InetAddress address = destination.getAddress();
        final int port = destination.getPort();
        sendNames.set(ValueLayout.JAVA_BYTE, base + 2, (byte)(port >>> 8));
        sendNames.set(ValueLayout.JAVA_BYTE, base + 3, (byte)port);
        if (address instanceof Inet4Address)
        {
            sendNames.set(ValueLayout.JAVA_SHORT_UNALIGNED, base, (short)AF_INET);
            MemorySegment.copy(address.getAddress(), 0, sendNames, ValueLayout.JAVA_BYTE, base + 4, 4);
            sendNameLengths[slot] = 16;
            return true;
        }
        if (address instanceof Inet6Address)
        {
            sendNames.set(ValueLayout.JAVA_SHORT_UNALIGNED, base, (short)AF_INET6);
            MemorySegment.copy(address.getAddress(), 0, sendNames, ValueLayout.JAVA_BYTE, base + 8, 16);
            sendNames.set(ValueLayout.JAVA_INT_UNALIGNED, base + 24, ((Inet6Address)address).getScopeId());
            sendNameLengths[slot] = 28;
            return true;
        }
        return false;
    }

    /**
     * Fills message {@code index} for sending {@code length} bytes at native {@code data} to the
     * destination in name slot {@code slot}.
     */
    public void prepareSend(final int index, final long data, final int length, final int slot)
    {
        prepareSend(index, index, data, length, slot);
    }

    /**
     * Fills message {@code index} for sending {@code length} bytes at native {@code data} (in iovec
     * {@code iovIndex}; later iovecs of the message follow it, {@link #appendSend}) to the destination
     * in name slot {@code slot}.
     */
    public void prepareSend(final int index, final int iovIndex, final long data, final int length, final int slot)
    {
        fill(index, iovIndex, data, length, sendNames.address() + (long)slot * NAME_BYTES, sendNameLengths[slot]);
    }

    /** One {@code struct mmsghdr} with one iovec, no control message, flags and length cleared. */
    private void fill(final int index, final int iovIndex, final long data, final int length, final long name, final int nameLength)
    {
        final long iov = (long)iovIndex * IOVEC_BYTES;
        iovecs.set(ValueLayout.JAVA_LONG, iov, data);
        iovecs.set(ValueLayout.JAVA_LONG, iov + 8, length);
        final long m = (long)index * MMSGHDR_BYTES;
        messages.set(ValueLayout.JAVA_LONG, m, name);
        messages.set(ValueLayout.JAVA_INT, m + 8, nameLength);
        messages.set(ValueLayout.JAVA_LONG, m + 16, iovecs.address() + iov);
        messages.set(ValueLayout.JAVA_LONG, m + 24, 1L);
        messages.set(ValueLayout.JAVA_LONG, m + 32, 0L);
        messages.set(ValueLayout.JAVA_LONG, m + 40, 0L);
        messages.set(ValueLayout.JAVA_INT, m + 48, 0);
        messages.set(ValueLayout.JAVA_INT, m + 56, 0);
    }

    /**
     * Adds the next iovec (index {@code iovIndex}, right after the message's last one) to message {@code index}.
     */
    public void appendSend(final int index, final int iovIndex, final long data, final int length)
    {
        final long iov = (long)iovIndex * IOVEC_BYTES;
        iovecs.set(ValueLayout.JAVA_LONG, iov, data);
        iovecs.set(ValueLayout.JAVA_LONG, iov + 8, length);
        final long m = (long)index * MMSGHDR_BYTES;
        messages.set(ValueLayout.JAVA_LONG, m + 24, messages.get(ValueLayout.JAVA_LONG, m + 24) + 1);
    }

    /**
     * Makes message {@code index} a UDP GSO send: the kernel cuts its bytes into datagrams of
     * {@code size} bytes (the last may be shorter), with a {@code UDP_SEGMENT} control message.
     */
    public void segmentSize(final int index, final int size)
    {
        final long c = (long)index * CONTROL_BYTES;
        controls.set(ValueLayout.JAVA_LONG, c, 18L);
        controls.set(ValueLayout.JAVA_INT, c + 8, SOL_UDP);
        controls.set(ValueLayout.JAVA_INT, c + 12, UDP_SEGMENT);
        controls.set(ValueLayout.JAVA_SHORT, c + 16, (short)size);
        final long m = (long)index * MMSGHDR_BYTES;
        messages.set(ValueLayout.JAVA_LONG, m + 32, controls.address() + c);
        messages.set(ValueLayout.JAVA_LONG, m + 40, (long)CONTROL_BYTES);
    }

    /**
     * Fills message {@code index} for receiving up to {@code capacity} bytes at native {@code data}.
     */
    public void prepareReceive(final int index, final long data, final int capacityBytes)
    {
        fill(index, index, data, capacityBytes, receiveNames.address() + (long)index * NAME_BYTES, NAME_BYTES);
    }

    /**
     * Fills message {@code index} for receiving up to {@code capacity} bytes at native {@code data},
     * with room for one control message (a {@link #UDP_GRO} segment size).
     */
    public void prepareReceiveWithControl(final int index, final long data, final int capacityBytes)
    {
        prepareReceive(index, data, capacityBytes);
        final long m = (long)index * MMSGHDR_BYTES;
        messages.set(ValueLayout.JAVA_LONG, m + 32, controls.address() + (long)index * CONTROL_BYTES);
        messages.set(ValueLayout.JAVA_LONG, m + 40, (long)CONTROL_BYTES);
    }

    /**
     * The segment size of received message {@code index} when the kernel coalesced several datagrams
     * into it (UDP GRO), from its {@code SOL_UDP}/{@link #UDP_GRO} control message.
     *
     * @return the size of each datagram but the last, or 0 when the message is one datagram.
     */
    public int groSegmentSize(final int index)
    {
        final long m = (long)index * MMSGHDR_BYTES;
        if (messages.get(ValueLayout.JAVA_LONG, m + 40) < 20)
        {
            return 0;
        }
        final long c = (long)index * CONTROL_BYTES;
        if (controls.get(ValueLayout.JAVA_LONG, c) < 20 || controls.get(ValueLayout.JAVA_INT, c + 8) != SOL_UDP ||
            controls.get(ValueLayout.JAVA_INT, c + 12) != UDP_GRO)
        {
            return 0;
        }
        return controls.get(ValueLayout.JAVA_INT, c + 16);
    }

    /**
     * @return bytes received or sent by message {@code index} ({@code msg_len}).
     */
    public int length(final int index)
    {
        return messages.get(ValueLayout.JAVA_INT, (long)index * MMSGHDR_BYTES + 56);
    }

    /**
     * @return the {@code msg_flags} of received message {@code index} (e.g. {@link Syscalls#MSG_TRUNC}).
     */
    public int flags(final int index)
    {
        return messages.get(ValueLayout.JAVA_INT, (long)index * MMSGHDR_BYTES + 48);
    }

    /**
     * The sender of received message {@code index} as two longs for a lookup without allocation:
     * IPv4 (also IPv4-mapped IPv6) as {@code hi = 0, lo = 0xFFFF_0000_0000 | address}; IPv6 as its 128 bits.
     *
     * @return the high 64 bits; {@link #senderLow} gives the low 64 bits; {@code -1} for another family.
     */
    public long senderHigh(final int index)
    {
        final long base = (long)index * NAME_BYTES;
        final int family = receiveNames.get(ValueLayout.JAVA_SHORT_UNALIGNED, base) & 0xFFFF;
        if (family == AF_INET)
        {
            return 0;
        }
        if (family == AF_INET6)
        {
            return Long.reverseBytes(receiveNames.get(ValueLayout.JAVA_LONG_UNALIGNED, base + 8));
        }
        return -1;
    }

    /**
     * @return the low 64 bits of the sender (see {@link #senderHigh}).
     */
    public long senderLow(final int index)
    {
        final long base = (long)index * NAME_BYTES;
        final int family = receiveNames.get(ValueLayout.JAVA_SHORT_UNALIGNED, base) & 0xFFFF;
        if (family == AF_INET)
        {
            final int address = Integer.reverseBytes(receiveNames.get(ValueLayout.JAVA_INT_UNALIGNED, base + 4));
            return 0xFFFF_0000_0000L | (address & 0xFFFF_FFFFL);
        }
        return Long.reverseBytes(receiveNames.get(ValueLayout.JAVA_LONG_UNALIGNED, base + 16));
    }

    /**
     * @return the UDP port of the sender of received message {@code index}.
     */
    public int senderPort(final int index)
    {
        final long base = (long)index * NAME_BYTES;
        return ((receiveNames.get(ValueLayout.JAVA_BYTE, base + 2) & 0xFF) << 8) | (receiveNames.get(ValueLayout.JAVA_BYTE, base + 3) & 0xFF);
    }

    /**
     * @return the two longs of {@link #senderHigh}/{@link #senderLow} for an address (IPv4-mapped IPv6 as IPv4).
     */
    public static long[] key(final InetAddress address)
    {
        final byte[] bytes = address.getAddress();
        if (bytes.length == 4)
        {
            return new long[] {0, 0xFFFF_0000_0000L | (((bytes[0] & 0xFFL) << 24) | ((bytes[1] & 0xFFL) << 16) | ((bytes[2] & 0xFFL) << 8) | (bytes[3] & 0xFFL))};
        }
        long hi = 0;
        long lo = 0;
        for (int i = 0; i < 8; i++)
        {
            hi = (hi << 8) | (bytes[i] & 0xFFL);
            lo = (lo << 8) | (bytes[i + 8] & 0xFFL);
        }
        return new long[] {hi, lo};
    }
}
