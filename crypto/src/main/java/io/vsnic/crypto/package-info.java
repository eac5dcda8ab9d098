/**
 * Device identity: the static Curve25519 key pair ({@code DeviceKeys}) and its key files
 * ({@code KeyFiles}: WireGuard's one-line base64 format, mode 0600). The WireGuard protocol itself is
 * in {@code io.vsnic.crypto.wireguard}. Key objects are immutable and may be shared between threads;
 * key files are read and written by the control plane only, never on the packet path.
 */
package io.vsnic.crypto;
