/**
 * The REST API on Netty HTTP ({@code docs/api/openapi.yaml}): {@link io.vsnic.orchestrator.api.ApiServer}
 * owns the channel pipeline and one event loop; {@link io.vsnic.orchestrator.api.ApiRoutes} maps a
 * request to a response (reads on the event loop, writes on the single control thread so that the
 * journal's sync never stalls reads); {@link io.vsnic.orchestrator.api.Metrics} renders the
 * Prometheus exposition.
 */
package io.vsnic.orchestrator.api;
