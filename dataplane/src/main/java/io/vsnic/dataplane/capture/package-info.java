/**
 * Packet capture: pcap/pcapng files and (later) live capture taps; used by tools and tests, not by
 * workers' hot path. {@link io.vsnic.dataplane.capture.PcapWriter} writes classic pcap and
 * {@link io.vsnic.dataplane.capture.CaptureReader} reads pcap and pcapng, raising a precise
 * {@link io.vsnic.dataplane.capture.CaptureFormatException} on malformed input. Readers and
 * writers allocate per record and are confined to the one thread that uses them.
 */
package io.vsnic.dataplane.capture;
