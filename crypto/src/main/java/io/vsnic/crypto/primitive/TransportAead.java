package io.vsnic.crypto.primitive;

import java.lang.foreign.MemorySegment;

/**
 * ChaCha20-Poly1305 as WireGuard's transport data messages use it: no additional data, the 96-bit
 * nonce is 32 zero bits followed by the 64-bit message counter, little-endian (WireGuard paper
 * section 5.4.6), and the ciphertext is sealed in place with the 16-byte tag right after it.
 *
 * <p>Several implementations exist so that they can be measured against each other
 * ({@code AeadBenchmark}) and cross-checked on random inputs: {@link ChaCha20Poly1305} (vsnic's
 * own, allocation-free), {@link JdkChaCha20Poly1305} ({@code javax.crypto}) and
 * {@link BouncyCastleChaCha20Poly1305}. An instance holds per-call scratch state: one per thread.
 */
public interface TransportAead
{
    /** Tag length in bytes. */
    int TAG_LENGTH = 16;

    /**
     * @return a short name for reports: {@code vsnic} (vector kernels), {@code vsnic-scalar} (plain
     *         Java), {@code jdk} or {@code bc}.
     */
    String name();

    /**
     * Encrypts {@code length} bytes in place and writes the tag right after them.
     *
     * @param key     32-byte key.
     * @param counter the message counter (the nonce).
     * @param data    plaintext in, ciphertext and tag out.
     * @param offset  where the plaintext starts.
     * @param length  plaintext length; {@code data} needs {@value #TAG_LENGTH} more bytes after it.
     */
    void seal(byte[] key, long counter, MemorySegment data, long offset, int length);

    /**
     * Verifies the tag that follows {@code length} bytes of ciphertext and decrypts them in place.
     *
     * @param key     32-byte key.
     * @param counter the message counter (the nonce).
     * @param data    ciphertext and tag in, plaintext out.
     * @param offset  where the ciphertext starts.
     * @param length  ciphertext length, without the tag.
     * @return false when the tag does not verify; the plaintext is then not written.
     */
    boolean open(byte[] key, long counter, MemorySegment data, long offset, int length);

    /**
     * @param name {@code vsnic}, {@code vsnic-scalar}, {@code jdk} or {@code bc}.
     * @return a new instance of that implementation ({@code vsnic} falls back to plain Java when
     *         the vector kernels are not enabled).
     * @throws IllegalArgumentException for another name.
     */
    static TransportAead create(final String name)
    {
        return switch (name)
        {
            case ChaCha20Poly1305.NAME -> new ChaCha20Poly1305();
            case ChaCha20Poly1305.NAME_SCALAR -> new ChaCha20Poly1305(false);
            case JdkChaCha20Poly1305.NAME -> new JdkChaCha20Poly1305();
            case BouncyCastleChaCha20Poly1305.NAME -> new BouncyCastleChaCha20Poly1305();
            default -> throw new IllegalArgumentException("unknown ChaCha20-Poly1305 implementation '" + name +
                "': expected vsnic, vsnic-scalar, jdk or bc");
        };
    }
}
