/**
 * The virtual edge-device lab ({@code vsnic lab up|status|exec|down}) and the demo ({@code vsnic demo}):
 * vsnicd processes in network namespaces joined by a bridged substrate (WireGuard-encrypted unless
 * {@code --encryption off}), a capture of that substrate and its analysis, VM namespaces attached as TAP
 * vNICs through each device's REST API; and, without root, the same scenario in one process with
 * in-memory vNICs. Runs on the CLI's thread; nothing here is on a packet path of a daemon.
 */
package io.vsnic.orchestrator.lab;
