/**
 * The {@code vsnic} command line (picocli): one class per command group. Commands run on the
 * caller's thread and print to the streams picocli gives them, so tests can capture the output.
 */
package io.vsnic.orchestrator.cli;
