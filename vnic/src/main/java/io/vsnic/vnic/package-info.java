/**
 * The paired-endpoint virtual interface: a VM-facing endpoint (TAP, QEMU socket netdev, in memory)
 * joined to an orchestration endpoint that is a data plane port, and the DHCP/RA answers for the
 * VM. Configuration objects are immutable; endpoint I/O belongs to the worker that owns the port.
 */
package io.vsnic.vnic;
