package io.vsnic.dataplane.offload;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.MemorySegment;

import org.junit.jupiter.api.Test;

class VirtioNetHeaderTest
{
    @Test
    void shouldEncodeTheTenByteFormLittleEndian()
    {
        final byte[] bytes = new byte[VirtioNetHeader.HEADER_LENGTH];
        new VirtioNetHeader().wrap(MemorySegment.ofArray(bytes), 0).set(VirtioNetHeader.HEADER_LENGTH,
            VirtioNetHeader.FLAG_NEEDS_CSUM, VirtioNetHeader.GSO_TCPV4 | VirtioNetHeader.GSO_ECN, 66, 1448, 34, 16);
        // flags, gso_type, hdr_len 66, gso_size 1448 (0x05a8), csum_start 34, csum_offset 16: as <linux/virtio_net.h> lays them out.
        assertArrayEquals(new byte[] {0x01, (byte)0x81, 0x42, 0x00, (byte)0xa8, 0x05, 0x22, 0x00, 0x10, 0x00}, bytes);
    }

    @Test
    void shouldEncodeTheTwelveByteFormWithZeroBuffers()
    {
        final byte[] bytes = new byte[VirtioNetHeader.MRG_HEADER_LENGTH];
        java.util.Arrays.fill(bytes, (byte)0x7f);
        new VirtioNetHeader().wrap(MemorySegment.ofArray(bytes), 0).set(VirtioNetHeader.MRG_HEADER_LENGTH,
            VirtioNetHeader.FLAG_DATA_VALID, VirtioNetHeader.GSO_UDP_L4, 42, 1472, 34, 6);
        assertArrayEquals(new byte[] {0x02, 0x05, 0x2a, 0x00, (byte)0xc0, 0x05, 0x22, 0x00, 0x06, 0x00, 0x00, 0x00}, bytes);
    }

    @Test
    void shouldDecodeWhatTheKernelWrites()
    {
        // A TCPv6 super-frame header as a TAP hands it over: NEEDS_CSUM, gso TCPV6, hdr_len 86, gso 1428, csum 54+16.
        final byte[] bytes = {0x01, 0x04, 0x56, 0x00, (byte)0x94, 0x05, 0x36, 0x00, 0x10, 0x00};
        final VirtioNetHeader header = new VirtioNetHeader().wrap(MemorySegment.ofArray(bytes), 0);
        assertEquals(VirtioNetHeader.FLAG_NEEDS_CSUM, header.flags());
        assertEquals(VirtioNetHeader.GSO_TCPV6, header.gsoType());
        assertEquals(86, header.hdrLen());
        assertEquals(1428, header.gsoSize());
        assertEquals(54, header.csumStart());
        assertEquals(16, header.csumOffset());
        assertEquals("tcpv6", VirtioNetHeader.typeName(header.gsoType()));
        assertEquals("tcpv4|ecn", VirtioNetHeader.typeName(VirtioNetHeader.GSO_TCPV4 | VirtioNetHeader.GSO_ECN));
    }
}
