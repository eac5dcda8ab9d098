/**
 * Stateful security groups: allow rules per port ({@link io.vsnic.dataplane.security.SecurityRule},
 * {@link io.vsnic.dataplane.security.SecurityGroup}), compiled once by the control plane into an
 * immutable, allocation-free {@link io.vsnic.dataplane.security.CompiledPolicy}, and the shared,
 * bounded, lock-free {@link io.vsnic.dataplane.security.ConnectionTable} that lets replies of
 * allowed flows pass.
 *
 * <p>Threads: rules, groups and policies are built by the control plane and are immutable, so any
 * worker may read a published policy. One {@code ConnectionTable} per device is shared by all data
 * plane workers: {@code trackV4}/{@code trackV6}/{@code expire} may be called from any number of
 * threads at once, without locks, allocation, exceptions or logging. Everything else on the table
 * ({@code size}, {@code liveCount}, {@code removeNetwork}, {@code clear}) scans every slot and is
 * meant for the control plane and for metrics.
 */
package io.vsnic.dataplane.security;
