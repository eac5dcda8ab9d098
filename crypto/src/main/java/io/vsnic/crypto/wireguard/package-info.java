/**
 * The WireGuard protocol (Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s; J. A. Donenfeld, "WireGuard:
 * Next Generation Kernel Network Tunnel", sections 5 and 6) as a library the data plane drives:
 * {@link io.vsnic.crypto.wireguard.WireguardDevice} creates and consumes handshake messages and
 * runs the timers, {@link io.vsnic.crypto.wireguard.TransportCodec} seals and opens transport
 * messages in place, {@link io.vsnic.crypto.wireguard.ReplayWindow} is the RFC 6479 window, and
 * {@link io.vsnic.crypto.wireguard.KeyLog} reads and writes Wireshark's key log.
 *
 * <p>Threads: devices, peers and keypairs are thread safe and shared by all workers; a
 * {@code TransportCodec} and a {@code HandshakeResult} belong to one thread. No socket and no
 * thread is owned here: the data plane sends what is produced, and drives the timers with
 * {@code tick(nowNs, ...)} on its clock.
 */
package io.vsnic.crypto.wireguard;
