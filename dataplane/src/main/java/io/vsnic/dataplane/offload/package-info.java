/**
 * Segmentation and receive offloads done in software, for the path where a vNIC hands over (or
 * accepts) 64 KiB super-frames instead of MTU-sized frames: the virtio-net header a TAP with
 * {@code IFF_VNET_HDR} uses ({@link io.vsnic.dataplane.offload.VirtioNetHeader}), the segmenter
 * that cuts a TCP/UDP super-frame into wire-sized segments ({@link io.vsnic.dataplane.offload.Segmenter},
 * TSO/USO) and the coalescer that merges in-order TCP segments of one flow back into one
 * ({@link io.vsnic.dataplane.offload.Coalescer}, GRO).
 *
 * <p>Super-frames live in a separate pool of {@link io.vsnic.dataplane.buffer.FramePool#SUPER_SLOT_BYTES}
 * slots ({@link io.vsnic.dataplane.pipeline.DataPlane#superPool()}); a frame carries its offload
 * metadata ({@link io.vsnic.dataplane.buffer.Frame#gsoType()}, {@link io.vsnic.dataplane.buffer.Frame#csumStart()}).
 * Nothing here allocates per packet; failures are drop reasons. Each instance belongs to one thread.
 */
package io.vsnic.dataplane.offload;
