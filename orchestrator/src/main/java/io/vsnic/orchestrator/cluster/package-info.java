/**
 * The cluster control plane: each device runs a member of one Apache Ratis (Raft) group whose
 * replicated state machine ({@link io.vsnic.orchestrator.cluster.ClusterStateMachine}) holds the
 * cluster-wide desired state and the device membership. The head node is the Raft leader.
 * {@link io.vsnic.orchestrator.cluster.LocalView} derives what one device forwards (its own vNICs,
 * peers and remote locations) from that state.
 *
 * <p>Threads: Ratis' own threads apply entries; readers use the immutable
 * {@link io.vsnic.orchestrator.cluster.ClusterState} through a volatile reference.
 */
package io.vsnic.orchestrator.cluster;
