/**
 * Frame buffers: a bounded pool of fixed-size off-heap slots ({@link io.vsnic.dataplane.buffer.FramePool}),
 * each described by a reusable {@link io.vsnic.dataplane.buffer.Frame}, and the lock-free int queue
 * that holds the free slots. Acquire and release allocate nothing and may be called from any
 * thread; a frame itself is owned by one thread at a time.
 */
package io.vsnic.dataplane.buffer;
