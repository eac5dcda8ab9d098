/**
 * The durable journal: every accepted change, appended to a Chronicle Queue in the state directory
 * before the API acknowledges it, with a CRC-32 per entry so that a torn or corrupt tail is detected
 * on replay. Generations ({@code journal/gen-N}) bound replay: each starts with a snapshot of the
 * whole desired state. Used by the control thread only (one writer).
 */
package io.vsnic.orchestrator.journal;
