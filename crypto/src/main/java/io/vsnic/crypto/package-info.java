/**
 * Substrate encryption: device identity keys and (to come) the WireGuard protocol
 * (Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s) between devices. Key objects are immutable and may be
 * shared between threads; session state will be owned by the worker that uses it.
 */
package io.vsnic.crypto;
