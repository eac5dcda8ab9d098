/**
 * TAP devices through the FFM API and the data plane port built on one:
 * {@link io.vsnic.vnic.tap.TapDevice} (create/attach, non-blocking frame read/write, persistence),
 * {@link io.vsnic.vnic.tap.TunFlags} (every driver flag and ioctl number, in one place),
 * {@link io.vsnic.vnic.tap.TapPort} (receive by the owning worker, transmit by any worker).
 * Opening a TAP needs CAP_NET_ADMIN (root) and {@code /dev/net/tun}.
 */
package io.vsnic.vnic.tap;
