/**
 * Data plane ports for QEMU's socket netdevs, so a VM attaches without a TAP (and without root):
 * {@link io.vsnic.vnic.qemu.QemuStreamPort} ({@code -netdev stream}: 4-byte big-endian length
 * prefix per frame on a unix stream socket, vsnic listening) and
 * {@link io.vsnic.vnic.qemu.QemuDgramPort} ({@code -netdev dgram}: one frame per unix datagram).
 * Receive belongs to the worker that owns the port; transmit may come from any worker.
 */
package io.vsnic.vnic.qemu;
