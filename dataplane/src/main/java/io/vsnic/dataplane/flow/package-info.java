/**
 * Flow logs on the data plane's side: each worker's {@link io.vsnic.dataplane.flow.FlowProducer}
 * (its stripe of per-flow counters in the connection table, a bounded single-producer
 * {@link io.vsnic.dataplane.buffer.SpscSlotRing} of {@code start} and {@code reject} records, reject
 * aggregation), and the {@link io.vsnic.dataplane.flow.FlowLog} collector that one thread runs to
 * drain the rings and scan the connection table for ended and long-lived flows, handing
 * {@link io.vsnic.dataplane.flow.FlowRecord}s on.
 *
 * <p>Threads: a producer belongs to one worker (no allocation, no locks, never waits: a full ring
 * drops and counts); {@code FlowLog.collect} runs on one collector thread; counters are readable
 * from any thread.
 */
package io.vsnic.dataplane.flow;
