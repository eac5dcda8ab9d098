/**
 * Wire formats: header flyweights that read and write in place over a
 * {@link java.lang.foreign.MemorySegment} in network byte order (Ethernet, 802.1Q, ARP, IPv4,
 * IPv6, ICMP/ICMPv6, UDP, TCP, VXLAN, Geneve), the Internet checksum with its RFC 1624 incremental
 * update, the {@link io.vsnic.dataplane.protocol.FrameClassifier} that validates a raw frame once,
 * and a {@link io.vsnic.dataplane.protocol.FrameBuilder} for generators and tests. Flyweights,
 * classifiers and builders hold per-frame state: one instance per thread.
 */
package io.vsnic.dataplane.protocol;
