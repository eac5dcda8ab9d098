/**
 * The desired-state model: immutable, Jackson-mapped records for networks (with routes and remotes),
 * security groups, vNICs and peers, the {@link io.vsnic.orchestrator.model.DesiredState} that holds
 * one version of all of them, the manifest format, and the field validation that names the offending
 * field. Nothing here touches the data plane; any thread may use these types.
 */
package io.vsnic.orchestrator.model;
