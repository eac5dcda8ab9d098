/**
 * vsnicd: the device configuration, the daemon's life cycle (state-directory lock, journal replay,
 * data plane, substrate, API, shutdown), the controller that turns accepted changes into journal
 * entries and data plane updates (one writer: every change runs under its lock), the reconciler
 * and the vNIC backends keyed by {@code backend.type}.
 */
package io.vsnic.orchestrator.daemon;
