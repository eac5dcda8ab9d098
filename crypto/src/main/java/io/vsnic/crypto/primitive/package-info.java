/**
 * Cryptographic primitives of the WireGuard protocol: ChaCha20 and HChaCha20, Poly1305,
 * ChaCha20-Poly1305 and XChaCha20-Poly1305 (vsnic's own, allocation-free implementation over
 * {@link java.lang.foreign.MemorySegment}, plus the JDK's and Bouncy Castle's behind
 * {@link io.vsnic.crypto.primitive.TransportAead} for comparison), BLAKE2s hash, keyed MAC, HMAC
 * and KDF, and X25519 (Bouncy Castle).
 *
 * <p>Threads: the static helpers are thread safe; instances with scratch state
 * ({@link io.vsnic.crypto.primitive.ChaCha20Poly1305}, {@link io.vsnic.crypto.primitive.Poly1305}
 * and the other {@code TransportAead}s) belong to one thread at a time.
 */
package io.vsnic.crypto.primitive;
