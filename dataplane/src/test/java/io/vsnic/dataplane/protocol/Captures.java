package io.vsnic.dataplane.protocol;

/**
 * Real frames, as hex, from the tcpdump test captures in {@code testdata/interop/overlay}
 * (the-tcpdump-group/tcpdump tests, BSD licence; see that directory's README). Offsets are noted
 * per frame so that tests can wrap flyweights at the right place.
 */
final class Captures
{
    /**
     * vxlan.pcap frame 1 (148 bytes): 192.168.203.1.45149 > 192.168.202.1.4789 VXLAN flags [I] vni 100,
     * inner 00:16:3e:37:f6:04 > 00:30:88:01:00:02, 192.168.203.3 > 192.168.203.5 ICMP echo request,
     * id 1292, seq 1, length 64. Outer UDP checksum 0.
     */
    static final String VXLAN_ICMP_ECHO_REQUEST =
        "00163e0871cf 36dc851eb340 0800" +
        "4500 0086 d2c0 4000 4011 5152 c0a8cb01 c0a8ca01" +
        "b05d 12b5 0072 0000" +
        "08000000 00006400" +
        "003088010002 00163e37f604 0800" +
        "4500 0054 0000 4000 4001 234f c0a8cb03 c0a8cb05" +
        "0800 f6f2 050c 0001" +
        "fce29751 00000000 a6f80200 00000000 101112131415161718191a1b1c1d1e1f" +
        "202122232425262728292a2b2c2d2e2f 3031323334353637";
    static final int VXLAN_OUTER_IPV4_OFFSET = 14;
    static final int VXLAN_OUTER_UDP_OFFSET = 34;
    static final int VXLAN_HEADER_OFFSET = 42;
    static final int VXLAN_INNER_ETHERNET_OFFSET = 50;
    static final int VXLAN_INNER_L3_OFFSET = 64;
    static final int VXLAN_INNER_ICMP_OFFSET = 84;

    /**
     * vxlan.pcap frame 2 (92 bytes): 192.168.202.1.42710 > 192.168.203.1.4789 VXLAN vni 100, inner
     * 00:30:88:01:00:02 > ff:ff:ff:ff:ff:ff ARP "Request who-has 192.168.203.3 tell 192.168.203.5".
     */
    static final String VXLAN_ARP_REQUEST =
        "36dc851eb340 00163e0871cf 0800" +
        "4500 004e b802 4000 3e11 6e48 c0a8ca01 c0a8cb01" +
        "a6d6 12b5 003a 0000" +
        "08000000 00006400" +
        "ffffffffffff 003088010002 0806" +
        "0001 0800 06 04 0001 003088010002 c0a8cb05 000000000000 c0a8cb03";

    /**
     * vxlan.pcap frame 3 (92 bytes): inner ARP "Reply 192.168.203.3 is-at 00:16:3e:37:f6:04".
     */
    static final String VXLAN_ARP_REPLY =
        "00163e0871cf 36dc851eb340 0800" +
        "4500 004e d2c1 4000 4011 5189 c0a8cb01 c0a8ca01" +
        "cb86 12b5 003a 0000" +
        "08000000 00006400" +
        "003088010002 00163e37f604 0806" +
        "0001 0800 06 04 0002 00163e37f604 c0a8cb03 003088010002 c0a8cb05";

    /**
     * geneve-gcp.pcap (130 bytes): 192.168.100.254.62974 > 192.168.100.3.6081, no UDP checksum,
     * Geneve vni 0, protocol 0x0800 (inner IPv4, no inner Ethernet), three Google options (class
     * 0x0132) of type 1 (8 bytes), 2 (20 bytes) and 3 (12 bytes); inner TCP
     * 192.168.100.2.2905 > 192.168.100.1.8080, flags none, cksum 0xf547 (correct), seq 760929856,
     * ack 2028584922, win 512.
     */
    static final String GENEVE_GCP =
        "4201c0a86403 4201c0a864fe 0800" +
        "4500 0074 0000 4000 0211 2e27 c0a864fe c0a86403" +
        "f5fe 17c1 0060 0000" +
        "0a00 0800 00000000" +
        "0132 01 01 800000d1" +
        "0132 02 04 0800000d c0a86402 00000000 00000000" +
        "0132 03 02 00000000 00001234" +
        "4500 0028 d944 0000 4006 5837 c0a86402 c0a86401" +
        "0b59 1f90 2d5ade40 78e9bfda 5000 0200 f547 0000";
    static final int GENEVE_GCP_HEADER_OFFSET = 42;
    static final int GENEVE_GCP_INNER_IPV4_OFFSET = 90;
    static final int GENEVE_GCP_INNER_TCP_OFFSET = 110;

    /**
     * geneve.pcap frame 1 (156 bytes): 20.0.0.1.12618 > 20.0.0.2.6081 [no cksum] Geneve, Flags [C],
     * vni 0xa, options [class Standard (0x0) type 0x80(C) len 8 data 0000000c], inner Ethernet,
     * 30.0.0.1 > 30.0.0.2 ICMP echo request.
     */
    static final String GENEVE_CRITICAL_OPTION =
        "001b213cac30 001b213cab64 0800" +
        "4500 008e dfad 4000 4011 32af 14000001 14000002" +
        "314a 17c1 007a 0000" +
        "0240 6558 00000a00" +
        "0000 80 01 0000000c" +
        "fe71d883724f b69ed2495148 0800" +
        "4500 0054 bda2 4000 4001 4104 1e000001 1e000002" +
        "0800 2c54 2952 0017" +
        "f1a2ce54 00000000 17780c00 00000000 101112131415161718191a1b1c1d1e1f" +
        "202122232425262728292a2b2c2d2e2f 3031323334353637";

    private Captures()
    {
    }
}
