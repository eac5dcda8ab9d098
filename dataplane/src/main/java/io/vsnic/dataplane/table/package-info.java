/**
 * Per-network lookup tables of the data plane. So far: longest-prefix-match route tables
 * ({@link io.vsnic.dataplane.table.Ipv4RouteTable}, {@link io.vsnic.dataplane.table.Ipv6RouteTable})
 * and the text form of prefixes ({@link io.vsnic.dataplane.table.Prefixes}).
 *
 * <p>Threads: a table is an immutable snapshot. The control plane builds the next version with a
 * builder (one thread at a time, allocation allowed) and publishes it through a {@code volatile}
 * reference; any number of data plane workers read published tables concurrently, without locks
 * and without allocating (read-copy-update). A published table is never modified, so a worker that
 * still holds the previous version keeps seeing a complete, consistent table.
 */
package io.vsnic.dataplane.table;
