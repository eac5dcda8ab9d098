/**
 * Flow logs on the orchestrator's side: {@link io.vsnic.orchestrator.flows.FlowLogStore} runs the data
 * plane's flow log collector on its own thread ({@code vsnic-flows}), appends the records to a
 * Chronicle Queue under {@code STATE_DIR/flows}, deletes roll cycles older than the retention, and
 * answers queries ({@code GET /v1/flows}) from any thread, each with its own tailer.
 */
package io.vsnic.orchestrator.flows;
