/**
 * Network namespace helpers for tests and the lab ({@link io.vsnic.vnic.netns.NetNs}): run
 * {@code ip}, create and delete namespaces and links inside a cleanup scope, execute commands in a
 * namespace with a timeout. Not on any data path; one scope per test thread.
 */
package io.vsnic.vnic.netns;
