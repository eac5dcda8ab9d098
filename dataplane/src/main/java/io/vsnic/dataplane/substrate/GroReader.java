package io.vsnic.dataplane.substrate;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import io.vsnic.dataplane.nativeio.MessageBatch;
import io.vsnic.dataplane.nativeio.Syscalls;

/**
 * The receive side of UDP GRO on the direct path: one {@code recvmmsg} of up to {@link #MESSAGES}
 * messages into 64 KiB native buffers, each message one datagram or several of one sender that the
 * kernel handed over as one buffer ({@code UDP_GRO}: a GSO send from the peer crosses the veth/bridge
 * substrate as one packet and arrives here whole instead of being cut at the socket). The reader then
 * walks the datagrams one by one ({@link #next}) so the substrate can put each in a pool frame: the
 * overlay stays one datagram per inner segment; only the kernel's per-datagram work goes.
 *
 * <p>Thread: the worker that owns the substrate port. Allocates only at construction.
 */
final class GroReader
{
    /** Messages per {@code recvmmsg}. */
    static final int MESSAGES = 16;
    /** Bytes per message buffer: a whole coalesced UDP payload (at most 65,507 bytes) fits. */
    static final int MESSAGE_BYTES = 65_536;

    private final MessageBatch batch = new MessageBatch(MESSAGES);
    private final MemorySegment buffers = Arena.ofAuto().allocate((long)MESSAGES * MESSAGE_BYTES, 64);
    private int received;
    /** Entries of {@link #batch} to prepare again before the next read (all of them at first). */
    private int dirty = MESSAGES;
    private int message;
    private int offset;
    private int datagramOffset;
    private int datagramLength;
    private int lastCoalesced;
    private boolean wireguard;

    /**
     * Reads what is waiting on {@code fd}; call only when {@link #hasPending()} is false.
     *
     * @param fromWireguard whether {@code fd} is the WireGuard socket ({@link #fromWireguard()}).
     *
     * @return messages read, 0 when none waits, or {@code -errno}.
     */
    int read(final int fd, final boolean fromWireguard)
    {
        wireguard = fromWireguard;
        // the kernel rewrote the lengths of the entries the last call filled (and of the one it failed at)
        for (int i = 0; i < dirty; i++)
        {
            batch.prepareReceiveWithControl(i, buffers.address() + (long)i * MESSAGE_BYTES, MESSAGE_BYTES);
        }
        final int result = Syscalls.recvmmsg(fd, batch.address(), MESSAGES, Syscalls.MSG_DONTWAIT);
        if (result <= 0)
        {
            received = 0;
            dirty = result == -Syscalls.EAGAIN ? 0 : 1;
            return result == -Syscalls.EAGAIN ? 0 : result;
        }
        received = result;
        dirty = Math.min(MESSAGES, result + 1);
        message = 0;
        offset = 0;
        int coalesced = 0;
        for (int i = 0; i < result; i++)
        {
            if (batch.groSegmentSize(i) > 0)
            {
                coalesced++;
            }
        }
        lastCoalesced = coalesced;
        return result;
    }

    /**
     * @return whether the pending datagrams came from the WireGuard socket.
     */
    boolean fromWireguard()
    {
        return wireguard;
    }

    /**
     * @return true while datagrams of the last {@link #read} have not all been taken by {@link #next}.
     */
    boolean hasPending()
    {
        return message < received;
    }

    /**
     * Moves to the next datagram; {@link #datagramOffset()}, {@link #datagramLength()},
     * {@link #truncated()} and the sender methods then describe it.
     *
     * @return false when every datagram of the last read was taken.
     */
    boolean next()
    {
        while (message < received)
        {
            final int total = batch.length(message);
            if (offset < total)
            {
                final int size = batch.groSegmentSize(message);
                final int length = size > 0 ? Math.min(size, total - offset) : total - offset;
                datagramOffset = message * MESSAGE_BYTES + offset;
                datagramLength = length;
                offset += length;
                return true;
            }
            message++;
            offset = 0;
        }
        return false;
    }

    /**
     * @return whether the kernel cut the current datagram's message short (it did not fit the buffer).
     */
    boolean truncated()
    {
        return (batch.flags(currentMessage()) & Syscalls.MSG_TRUNC) != 0;
    }

    private int currentMessage()
    {
        return datagramOffset / MESSAGE_BYTES;
    }

    /**
     * @return the sender of the current datagram (see {@link MessageBatch#senderHigh}).
     */
    long senderHigh()
    {
        return batch.senderHigh(currentMessage());
    }

    /**
     * @return the low half of the sender of the current datagram.
     */
    long senderLow()
    {
        return batch.senderLow(currentMessage());
    }

    /**
     * @return the UDP port of the sender of the current datagram.
     */
    int senderPort()
    {
        return batch.senderPort(currentMessage());
    }

    /**
     * @return the message buffers ({@link #datagramOffset()} indexes into them).
     */
    MemorySegment buffers()
    {
        return buffers;
    }

    int datagramOffset()
    {
        return datagramOffset;
    }

    int datagramLength()
    {
        return datagramLength;
    }

    /**
     * Drops what is left of the last read (the port is closing).
     */
    void discard()
    {
        received = 0;
        message = 0;
        offset = 0;
    }

    /**
     * @return messages of the last {@link #read} that held more than one datagram.
     */
    int lastCoalesced()
    {
        return lastCoalesced;
    }
}
