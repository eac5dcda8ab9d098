package io.vsnic.crypto.primitive;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * AEAD_CHACHA20_POLY1305 (RFC 8439 section 2.8), vsnic's own implementation over
 * {@link MemorySegment}s, in place: {@link ChaCha20} from block counter 1 encrypts, block 0 gives
 * the {@link Poly1305} key, and the tag covers {@code aad || pad16 || ciphertext || pad16 ||
 * le64(aad length) || le64(ciphertext length)}.
 *
 * <p>{@link #open} verifies the tag before it decrypts anything, so a message that fails leaves
 * its buffer untouched.
 *
 * <p>An instance holds scratch state (the expanded key, one keystream block, the Poly1305
 * accumulator) so that sealing and opening allocate nothing: use one instance per thread. It is
 * not thread safe. Also a {@link TransportAead}, named {@value #NAME}.
 */
public final class ChaCha20Poly1305 implements TransportAead
{
    /** {@link #name()} of this implementation (with the vector kernels when enabled). */
    public static final String NAME = "vsnic";
    /** {@link #name()} of this implementation restricted to plain Java. */
    public static final String NAME_SCALAR = "vsnic-scalar";
    /** Key length in bytes. */
    public static final int KEY_LENGTH = 32;
    /** Tag length in bytes. */
    public static final int TAG_LENGTH = 16;

    private static final MemorySegment EMPTY = MemorySegment.ofArray(new byte[0]);

    /**
     * Messages at least this long in native memory use the eight-block vector kernels (when
     * enabled). Heap segments always take the plain Java path: the Vector API's loads from heap
     * segments are not intrinsified here and would allocate.
     */
    static final int VECTOR_MIN_BYTES = 64;

    private final int[] keyWords = new int[8];
    private final int[] stream = new int[16];
    private final Poly1305 poly;
    private final boolean vector;
    private final int[] soa;
    private final int[] keystream;
    /** {@link #verifyTransport} left the first pass of keystream blocks of this counter in {@link #keystream}. */
    private long soaCounter;
    /** The key array (by identity) that {@link #verifyTransport} used; no copy of the key is kept. */
    private int[] soaKey;
    private boolean soaReady;

    /**
     * An instance that uses the vector kernels when {@link VectorSupport#enabled()}.
     */
    public ChaCha20Poly1305()
    {
        this(VectorSupport.enabled());
    }

    /**
     * @param vector whether to use the vector kernels for long messages; only honoured when
     *               {@link VectorSupport#enabled()} (tests compare both paths).
     */
    ChaCha20Poly1305(final boolean vector)
    {
        this.vector = vector && VectorSupport.enabled();
        this.poly = new Poly1305(this.vector);
        this.soa = this.vector ? new int[VectorKernels.SOA_LENGTH] : null;
        this.keystream = this.vector ? new int[VectorKernels.SOA_LENGTH] : null;
    }

    /**
     * @return true when this instance uses the Vector API kernels for long messages.
     */
    public boolean vectorized()
    {
        return vector;
    }

    @Override
    public String name()
    {
        return vector ? NAME : NAME_SCALAR;
    }

    @Override
    public void seal(final byte[] key, final long counter, final MemorySegment data, final long offset,
        final int length)
    {
        ChaCha20.keyWords(key, 0, keyWords);
        seal(keyWords, 0, (int)counter, (int)(counter >>> 32), EMPTY, 0, 0, data, offset, length);
    }

    @Override
    public boolean open(final byte[] key, final long counter, final MemorySegment data, final long offset,
        final int length)
    {
        ChaCha20.keyWords(key, 0, keyWords);
        return open(keyWords, 0, (int)counter, (int)(counter >>> 32), EMPTY, 0, 0, data, offset, length);
    }

    /**
     * Transport seal with an expanded key: nonce {@code 0^32 || le64(counter)}, no additional data.
     *
     * @param key     eight key words.
     * @param counter the message counter.
     * @param data    plaintext in, ciphertext and tag out.
     * @param offset  where the plaintext starts.
     * @param length  plaintext length; 16 more bytes are written after it.
     */
    public void sealTransport(final int[] key, final long counter, final MemorySegment data, final long offset,
        final long length)
    {
        seal(key, 0, (int)counter, (int)(counter >>> 32), EMPTY, 0, 0, data, offset, length);
    }

    /**
     * Transport tag check only: true when the tag after {@code length} bytes of ciphertext is
     * right. Nothing is written; decrypt with {@link #decryptTransport} afterwards.
     *
     * @param key     eight key words.
     * @param counter the message counter.
     * @param data    ciphertext and tag.
     * @param offset  where the ciphertext starts.
     * @param length  ciphertext length, without the tag.
     * @return true when the tag verified (constant-time comparison).
     */
    public boolean verifyTransport(final int[] key, final long counter, final MemorySegment data, final long offset,
        final long length)
    {
        final int n1 = (int)counter;
        final int n2 = (int)(counter >>> 32);
        soaReady = false;
        if (vector && length >= VECTOR_MIN_BYTES && data.isNative())
        {
            startTagVector(key, 0, n1, n2, EMPTY, 0, 0);
            soaReady = true;
            soaCounter = counter;
            soaKey = key;
        }
        else
        {
            startTag(key, 0, n1, n2, EMPTY, 0, 0);
        }
        poly.updatePadded(data, offset, length);
        poly.update(0, length);
        return poly.verify(data, offset + length);
    }

    /**
     * Transport decryption in place, without a tag check: only after {@link #verifyTransport}. When
     * it directly follows {@code verifyTransport} with the same key array (unchanged) and counter,
     * the first keystream blocks computed there (one pass: 8 or 16) are reused.
     *
     * @param key     eight key words.
     * @param counter the message counter.
     * @param data    ciphertext in, plaintext out.
     * @param offset  where the ciphertext starts.
     * @param length  ciphertext length.
     */
    public void decryptTransport(final int[] key, final long counter, final MemorySegment data, final long offset,
        final long length)
    {
        final int n1 = (int)counter;
        final int n2 = (int)(counter >>> 32);
        if (vector && length >= VECTOR_MIN_BYTES && data.isNative())
        {
            if (!soaReady || soaCounter != counter || key != soaKey)
            {
                VectorKernels.keystream(key, 0, 0, n1, n2, soa, keystream);
            }
            soaReady = false;
            soaKey = null;
            xorVector(key, 0, n1, n2, data, offset, length);
        }
        else
        {
            ChaCha20.xor(key, 1, 0, n1, n2, data, offset, length, stream);
        }
    }

    /**
     * Encrypts {@code length} bytes in place and writes the 16-byte tag right after them.
     *
     * @param key       eight key words ({@link ChaCha20#keyWords}).
     * @param n0        nonce word 0 (nonce bytes 0-3, little-endian).
     * @param n1        nonce word 1.
     * @param n2        nonce word 2.
     * @param aad       additional authenticated data.
     * @param aadOffset where it starts.
     * @param aadLength how many bytes (0 for none).
     * @param data      plaintext in, ciphertext out; needs 16 bytes of room after it for the tag.
     * @param offset    where the plaintext starts.
     * @param length    plaintext length.
     */
    public void seal(final int[] key, final int n0, final int n1, final int n2,
        final MemorySegment aad, final long aadOffset, final long aadLength,
        final MemorySegment data, final long offset, final long length)
    {
        if (vector && length >= VECTOR_MIN_BYTES && data.isNative())
        {
            startTagVector(key, n0, n1, n2, aad, aadOffset, aadLength);
            xorVector(key, n0, n1, n2, data, offset, length);
        }
        else
        {
            startTag(key, n0, n1, n2, aad, aadOffset, aadLength);
            ChaCha20.xor(key, 1, n0, n1, n2, data, offset, length, stream);
        }
        poly.updatePadded(data, offset, length);
        poly.update(aadLength, length);
        poly.finish(data, offset + length);
    }

    /**
     * Verifies the tag that follows {@code length} bytes of ciphertext and, only if it is right,
     * decrypts them in place.
     *
     * @param key       eight key words.
     * @param n0        nonce word 0.
     * @param n1        nonce word 1.
     * @param n2        nonce word 2.
     * @param aad       additional authenticated data.
     * @param aadOffset where it starts.
     * @param aadLength how many bytes.
     * @param data      ciphertext in, plaintext out.
     * @param offset    where the ciphertext starts.
     * @param length    ciphertext length, without the tag.
     * @return true when the tag verified (constant-time comparison); false leaves {@code data} as it was.
     */
    public boolean open(final int[] key, final int n0, final int n1, final int n2,
        final MemorySegment aad, final long aadOffset, final long aadLength,
        final MemorySegment data, final long offset, final long length)
    {
        final boolean wide = vector && length >= VECTOR_MIN_BYTES && data.isNative();
        if (wide)
        {
            startTagVector(key, n0, n1, n2, aad, aadOffset, aadLength);
        }
        else
        {
            startTag(key, n0, n1, n2, aad, aadOffset, aadLength);
        }
        poly.updatePadded(data, offset, length);
        poly.update(aadLength, length);
        if (!poly.verify(data, offset + length))
        {
            return false;
        }
        if (wide)
        {
            xorVector(key, n0, n1, n2, data, offset, length);
        }
        else
        {
            ChaCha20.xor(key, 1, n0, n1, n2, data, offset, length, stream);
        }
        return true;
    }

    /**
     * Seals a byte array: returns {@code ciphertext || tag}. For handshake fields, not the data path.
     *
     * @param key       32-byte key.
     * @param nonce     12-byte nonce.
     * @param plaintext the plaintext (may be empty).
     * @param aad       additional data (may be empty).
     * @return a new array of {@code plaintext.length + 16} bytes.
     */
    public byte[] seal(final byte[] key, final byte[] nonce, final byte[] plaintext, final byte[] aad)
    {
        final byte[] out = Arrays.copyOf(plaintext, plaintext.length + TAG_LENGTH);
        ChaCha20.keyWords(key, 0, keyWords);
        final MemorySegment n = MemorySegment.ofArray(nonce);
        seal(keyWords, n.get(ChaCha20.INT_LE, 0), n.get(ChaCha20.INT_LE, 4), n.get(ChaCha20.INT_LE, 8),
            MemorySegment.ofArray(aad), 0, aad.length, MemorySegment.ofArray(out), 0, plaintext.length);
        Arrays.fill(keyWords, 0);
        return out;
    }

    /**
     * Opens a byte array holding {@code ciphertext || tag}.
     *
     * @param key    32-byte key.
     * @param nonce  12-byte nonce.
     * @param sealed ciphertext and tag, at least 16 bytes.
     * @param aad    additional data (may be empty).
     * @return the plaintext, or null when the tag does not verify.
     */
    public byte[] open(final byte[] key, final byte[] nonce, final byte[] sealed, final byte[] aad)
    {
        if (sealed.length < TAG_LENGTH)
        {
            return null;
        }
        final byte[] work = sealed.clone();
        ChaCha20.keyWords(key, 0, keyWords);
        final MemorySegment n = MemorySegment.ofArray(nonce);
        final boolean ok = open(keyWords, n.get(ChaCha20.INT_LE, 0), n.get(ChaCha20.INT_LE, 4),
            n.get(ChaCha20.INT_LE, 8), MemorySegment.ofArray(aad), 0, aad.length, MemorySegment.ofArray(work), 0,
            sealed.length - TAG_LENGTH);
        Arrays.fill(keyWords, 0);
        return ok ? Arrays.copyOf(work, sealed.length - TAG_LENGTH) : null;
    }

    /**
     * Zeroes the scratch state (expanded key, last keystream block, Poly1305 key).
     */
    public void wipe()
    {
        Arrays.fill(keyWords, 0);
        Arrays.fill(stream, 0);
        if (soa != null)
        {
            Arrays.fill(soa, 0);
            Arrays.fill(keystream, 0);
        }
        soaKey = null;
        soaReady = false;
        poly.wipe();
    }

    private void startTag(final int[] key, final int n0, final int n1, final int n2,
        final MemorySegment aad, final long aadOffset, final long aadLength)
    {
        final int[] s = stream;
        ChaCha20.block(key, 0, n0, n1, n2, s);
        poly.init(words(s[0], s[1]), words(s[2], s[3]), words(s[4], s[5]), words(s[6], s[7]));
        if (aadLength > 0)
        {
            poly.updatePadded(aad, aadOffset, aadLength);
        }
    }

    /** Like {@link #startTag}, but computes the first pass of keystream blocks into {@link #keystream}; block 0 keys Poly1305. */
    private void startTagVector(final int[] key, final int n0, final int n1, final int n2,
        final MemorySegment aad, final long aadOffset, final long aadLength)
    {
        final int[] s = keystream;
        soaReady = false;
        VectorKernels.keystream(key, 0, n0, n1, n2, soa, s);
        poly.init(words(VectorKernels.word(s, 0, 0), VectorKernels.word(s, 0, 1)),
            words(VectorKernels.word(s, 0, 2), VectorKernels.word(s, 0, 3)),
            words(VectorKernels.word(s, 0, 4), VectorKernels.word(s, 0, 5)),
            words(VectorKernels.word(s, 0, 6), VectorKernels.word(s, 0, 7)));
        if (aadLength > 0)
        {
            poly.updatePadded(aad, aadOffset, aadLength);
        }
    }

    /**
     * XORs keystream blocks 1, 2, ... into {@code length} bytes of data; the first pass (blocks 0 to
     * {@link VectorKernels#BLOCKS}−1) must already be in {@link #keystream} (block 0 is the Poly1305
     * key and is skipped).
     */
    private void xorVector(final int[] key, final int n0, final int n1, final int n2, final MemorySegment data,
        final long offset, final long length)
    {
        final int[] s = keystream;
        long done = 0;
        int counter = 0;
        int lane = 1;
        while (true)
        {
            for (; lane < VectorKernels.BLOCKS; lane++)
            {
                final long remaining = length - done;
                if (remaining >= ChaCha20.BLOCK_LENGTH)
                {
                    VectorKernels.xorBlock(s, lane, data, offset + done);
                    done += ChaCha20.BLOCK_LENGTH;
                }
                else
                {
                    if (remaining > 0)
                    {
                        VectorKernels.xorPartialBlock(s, lane, data, offset + done, (int)remaining);
                    }
                    return;
                }
            }
            if (done >= length)
            {
                return;
            }
            counter += VectorKernels.BLOCKS;
            lane = 0;
            VectorKernels.keystream(key, counter, n0, n1, n2, soa, s);
        }
    }

    private static long words(final int lo, final int hi)
    {
        return (lo & 0xFFFF_FFFFL) | (long)hi << 32;
    }
}
