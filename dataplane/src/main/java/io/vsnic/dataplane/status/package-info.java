/**
 * Counters and drop reasons: every frame the data plane does not forward is dropped for exactly one
 * {@link io.vsnic.dataplane.status.DropReason}, whose label is the metrics label.
 */
package io.vsnic.dataplane.status;
