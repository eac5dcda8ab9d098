package io.vsnic.dataplane.offload;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import io.vsnic.dataplane.buffer.Frame;
import io.vsnic.dataplane.protocol.Checksums;

/**
 * Builds TCP/UDP over IPv4/IPv6 Ethernet frames field by field, independently of the code under
 * test, with complete checksums (or the partial pseudo-header sum): the expectations the segmenter
 * and the coalescer are compared with byte for byte.
 */
public final class OffloadFrames
{
    public static final byte[] MAC_DST = {0x02, 0, 0, 0, 0x0b, 0x0b};
    public static final byte[] MAC_SRC = {0x02, 0, 0, 0, 0x0a, 0x0a};
    public static final byte[] V4_SRC = {10, 60, 1, 10};
    public static final byte[] V4_DST = {10, 60, 1, 20};
    public static final byte[] V6_SRC = {(byte)0xfd, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0x10};
    public static final byte[] V6_DST = {(byte)0xfd, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0x20};
    /** NOP, NOP, timestamps (kind 8, length 10). */
    public static final byte[] TCP_TIMESTAMPS = {1, 1, 8, 10, 0, 0, 0x12, 0x34, 0, 0, 0x56, 0x78};

    public static final int TCP = 6;
    public static final int UDP = 17;

    /** The fields of one packet. */
    public static final class Spec
    {
        public boolean v6;
        public int protocol = TCP;
        public int ipId = 0x1000;
        public int ttl = 64;
        public int tos;
        public boolean dontFragment = true;
        public int sourcePort = 40_000;
        public int destinationPort = 5201;
        public long sequence = 0xFFFF_F000L;
        public long acknowledgment = 0x0102_0304L;
        public int flags = 0x10;
        public int window = 502;
        public byte[] options = TCP_TIMESTAMPS;
        public boolean partialChecksum;
        public byte[] payload = new byte[0];

        public Spec copy()
        {
            final Spec s = new Spec();
            s.v6 = v6;
            s.protocol = protocol;
            s.ipId = ipId;
            s.ttl = ttl;
            s.tos = tos;
            s.dontFragment = dontFragment;
            s.sourcePort = sourcePort;
            s.destinationPort = destinationPort;
            s.sequence = sequence;
            s.acknowledgment = acknowledgment;
            s.flags = flags;
            s.window = window;
            s.options = options;
            s.partialChecksum = partialChecksum;
            s.payload = payload;
            return s;
        }

        public int l4HeaderLength()
        {
            return protocol == TCP ? 20 + options.length : 8;
        }

        public int ipHeaderLength()
        {
            return v6 ? 40 : 20;
        }

        public int headerLength()
        {
            return 14 + ipHeaderLength() + l4HeaderLength();
        }
    }

    private OffloadFrames()
    {
    }

    public static byte[] build(final Spec s)
    {
        final int l4Length = s.l4HeaderLength() + s.payload.length;
        final int ipLength = s.ipHeaderLength() + l4Length;
        final ByteBuffer b = ByteBuffer.allocate(14 + ipLength).order(ByteOrder.BIG_ENDIAN);
        b.put(MAC_DST).put(MAC_SRC).putShort((short)(s.v6 ? 0x86DD : 0x0800));
        if (s.v6)
        {
            b.putInt(0x6000_0000 | s.tos << 20).putShort((short)l4Length).put((byte)s.protocol).put((byte)s.ttl)
                .put(V6_SRC).put(V6_DST);
        }
        else
        {
            b.put((byte)0x45).put((byte)s.tos).putShort((short)ipLength).putShort((short)s.ipId)
                .putShort((short)(s.dontFragment ? 0x4000 : 0)).put((byte)s.ttl).put((byte)s.protocol).putShort((short)0)
                .put(V4_SRC).put(V4_DST);
        }
        final int l4 = b.position();
        if (s.protocol == TCP)
        {
            b.putShort((short)s.sourcePort).putShort((short)s.destinationPort).putInt((int)s.sequence)
                .putInt((int)s.acknowledgment).put((byte)(s.l4HeaderLength() / 4 << 4)).put((byte)s.flags)
                .putShort((short)s.window).putShort((short)0).putShort((short)0).put(s.options);
        }
        else
        {
            b.putShort((short)s.sourcePort).putShort((short)s.destinationPort).putShort((short)l4Length).putShort((short)0);
        }
        b.put(s.payload);
        final byte[] bytes = b.array();
        final MemorySegment m = MemorySegment.ofArray(bytes);
        if (!s.v6)
        {
            final int checksum = Checksums.checksum(m, 14, 20);
            bytes[24] = (byte)(checksum >>> 8);
            bytes[25] = (byte)checksum;
        }
        final long pseudo = s.v6 ? Checksums.pseudoHeaderSumIpv6(m, 22, s.protocol, l4Length) :
            Checksums.pseudoHeaderSumIpv4(ByteBuffer.wrap(V4_SRC).getInt(), ByteBuffer.wrap(V4_DST).getInt(), s.protocol, l4Length);
        int checksum = s.partialChecksum ? Checksums.fold(pseudo) : ~Checksums.fold(Checksums.sum(m, l4, l4Length, pseudo)) & 0xFFFF;
        if (checksum == 0 && s.protocol == UDP && !s.partialChecksum)
        {
            checksum = 0xFFFF;
        }
        final int field = l4 + (s.protocol == TCP ? 16 : 6);
        bytes[field] = (byte)(checksum >>> 8);
        bytes[field + 1] = (byte)checksum;
        return bytes;
    }

    public static byte[] payload(final int length, final int seed)
    {
        final byte[] p = new byte[length];
        new java.util.Random(seed).nextBytes(p);
        return p;
    }

    public static byte[] slice(final byte[] bytes, final int from, final int length)
    {
        return java.util.Arrays.copyOfRange(bytes, from, from + length);
    }

    public static Frame load(final io.vsnic.dataplane.buffer.FramePool pool, final byte[] bytes)
    {
        final Frame frame = pool.acquire();
        if (frame == null || !frame.copyFrom(MemorySegment.ofArray(bytes), 0, bytes.length))
        {
            throw new IllegalStateException("frame does not fit: " + bytes.length);
        }
        return frame;
    }

    /**
     * @return true when the IPv4 header checksum (if any) and the L4 checksum of the frame verify.
     */
    public static boolean checksumsValid(final byte[] bytes)
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment m = arena.allocate(bytes.length);
            MemorySegment.copy(bytes, 0, m, ValueLayout.JAVA_BYTE, 0, bytes.length);
            final boolean v6 = (bytes[12] & 0xFF) == 0x86;
            final int protocol = bytes[v6 ? 20 : 23] & 0xFF;
            final int l4 = v6 ? 54 : 34;
            final int l4Length = v6 ? ((bytes[18] & 0xFF) << 8 | bytes[19] & 0xFF) :
                ((bytes[16] & 0xFF) << 8 | bytes[17] & 0xFF) - 20;
            if (!v6 && Checksums.fold(Checksums.sum(m, 14, 20, 0)) != 0xFFFF)
            {
                return false;
            }
            final long pseudo = v6 ? Checksums.pseudoHeaderSumIpv6(m, 22, protocol, l4Length) :
                Checksums.pseudoHeaderSumIpv4(m.get(io.vsnic.dataplane.protocol.Flyweight.U32, 26),
                    m.get(io.vsnic.dataplane.protocol.Flyweight.U32, 30), protocol, l4Length);
            return Checksums.fold(Checksums.sum(m, l4, l4Length, pseudo)) == 0xFFFF;
        }
    }
}
