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
    /** The last keystream pass, block-major: lane j is {@code keystream[16·j .. 16·j+15]}. */
    private final int[] keystream;
    /** Lanes {@code passLane .. passLane+passCount-1} of {@link #keystream} hold blocks {@code passBlock, ...} of the message at hand. */
    private int passBlock;
    private int passLane;
    private int passCount;
    /**
     * The lookahead: lanes {@code aheadLane ..} of {@link #keystream} hold blocks {@code 0, 1, ...} of the
     * transport message {@link #aheadCounter} under the key {@link #aheadKeyId} (by identity; no copy
     * of the key is kept), computed by the spare lanes of the last message's last pass; -1 when none.
     */
    private int aheadLane = -1;
    private Object aheadKeyId;
    private long aheadCounter;
    /** How many messages started from the lookahead (tests check that it is taken). */
    long lookaheadHits;
    /** {@link #verifyTransport} left the keystream of this key array and counter for {@link #decryptTransport}. */
    private boolean ready;
    private int[] readyKey;
    private Object readyKeyId;
    private long readyCounter;

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
     * <p>With the vector kernels, the lanes a message's last keystream pass does not need compute
     * the first blocks of the next counter under the same key ({@code keyId}); a following seal or
     * open of exactly that key and counter starts from them (consecutive packets of a session: about
     * 1.5 passes of 16 blocks per 1,420-byte packet instead of 2).
     *
     * @param key     eight key words.
     * @param keyId   identifies the key by identity (the session's key array): a different key must
     *                come with a different object; null for no lookahead.
     * @param counter the message counter.
     * @param data    plaintext in, ciphertext and tag out.
     * @param offset  where the plaintext starts.
     * @param length  plaintext length; 16 more bytes are written after it.
     */
    public void sealTransport(final int[] key, final Object keyId, final long counter, final MemorySegment data,
        final long offset, final long length)
    {
        seal(key, keyId, counter, 0, (int)counter, (int)(counter >>> 32), EMPTY, 0, 0, data, offset, length);
    }

    /**
     * Transport tag check only: true when the tag after {@code length} bytes of ciphertext is
     * right. Nothing is written; decrypt with {@link #decryptTransport} afterwards.
     *
     * @param key     eight key words.
     * @param keyId   identifies the key, as for {@link #sealTransport}; null for no lookahead.
     * @param counter the message counter.
     * @param data    ciphertext and tag.
     * @param offset  where the ciphertext starts.
     * @param length  ciphertext length, without the tag.
     * @return true when the tag verified (constant-time comparison).
     */
    public boolean verifyTransport(final int[] key, final Object keyId, final long counter, final MemorySegment data,
        final long offset, final long length)
    {
        final int n1 = (int)counter;
        final int n2 = (int)(counter >>> 32);
        ready = false;
        if (vector && length >= VECTOR_MIN_BYTES && data.isNative())
        {
            startTagVector(key, keyId, counter, 0, n1, n2, blocks(length), EMPTY, 0, 0);
            ready = true;
            readyKey = key;
            readyKeyId = keyId;
            readyCounter = counter;
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
     * it directly follows {@code verifyTransport} with the same key array (unchanged), key id and
     * counter, the keystream computed there is used.
     *
     * @param key     eight key words.
     * @param keyId   identifies the key, as for {@link #sealTransport}; null for no lookahead.
     * @param counter the message counter.
     * @param data    ciphertext in, plaintext out.
     * @param offset  where the ciphertext starts.
     * @param length  ciphertext length.
     */
    public void decryptTransport(final int[] key, final Object keyId, final long counter, final MemorySegment data,
        final long offset, final long length)
    {
        final int n1 = (int)counter;
        final int n2 = (int)(counter >>> 32);
        final boolean handedOver = ready && readyCounter == counter && readyKey == key && readyKeyId == keyId;
        ready = false;
        readyKey = null;
        readyKeyId = null;
        if (vector && length >= VECTOR_MIN_BYTES && data.isNative())
        {
            final long blocks = blocks(length);
            if (!handedOver)
            {
                firstPass(key, keyId, counter, 0, n1, n2, blocks);
            }
            xorVector(key, keyId, counter, 0, n1, n2, blocks, data, offset, length);
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
        seal(key, null, 0, n0, n1, n2, aad, aadOffset, aadLength, data, offset, length);
    }

    /** {@link #seal}, with the lookahead of transport messages when {@code keyId} is not null (then {@code n0} is 0 and {@code n1, n2} the counter). */
    private void seal(final int[] key, final Object keyId, final long counter, final int n0, final int n1,
        final int n2, final MemorySegment aad, final long aadOffset, final long aadLength,
        final MemorySegment data, final long offset, final long length)
    {
        ready = false;
        if (vector && length >= VECTOR_MIN_BYTES && data.isNative())
        {
            final long blocks = blocks(length);
            startTagVector(key, keyId, counter, n0, n1, n2, blocks, aad, aadOffset, aadLength);
            xorVector(key, keyId, counter, n0, n1, n2, blocks, data, offset, length);
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
        ready = false;
        final boolean wide = vector && length >= VECTOR_MIN_BYTES && data.isNative();
        if (wide)
        {
            startTagVector(key, null, 0, n0, n1, n2, blocks(length), aad, aadOffset, aadLength);
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
            xorVector(key, null, 0, n0, n1, n2, blocks(length), data, offset, length);
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
        aheadLane = -1;
        aheadKeyId = null;
        ready = false;
        readyKey = null;
        readyKeyId = null;
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

    /**
     * Like {@link #startTag}, but with the vector kernels: block 0 (the Poly1305 key) comes from the
     * lookahead or from a new pass, which {@link #xorVector} continues.
     */
    private void startTagVector(final int[] key, final Object keyId, final long counter, final int n0, final int n1,
        final int n2, final long blocks, final MemorySegment aad, final long aadOffset, final long aadLength)
    {
        final int[] s = keystream;
        final int lane = firstPass(key, keyId, counter, n0, n1, n2, blocks);
        poly.init(words(VectorKernels.word(s, lane, 0), VectorKernels.word(s, lane, 1)),
            words(VectorKernels.word(s, lane, 2), VectorKernels.word(s, lane, 3)),
            words(VectorKernels.word(s, lane, 4), VectorKernels.word(s, lane, 5)),
            words(VectorKernels.word(s, lane, 6), VectorKernels.word(s, lane, 7)));
        if (aadLength > 0)
        {
            poly.updatePadded(aad, aadOffset, aadLength);
        }
    }

    /** Keystream blocks a message of {@code length} bytes needs: block 0 for Poly1305, then one per 64 bytes. */
    private static long blocks(final long length)
    {
        return 1 + (length + ChaCha20.BLOCK_LENGTH - 1) / ChaCha20.BLOCK_LENGTH;
    }

    /**
     * Makes block 0 of a message available: from the lookahead when it holds this key and counter
     * (transport messages, {@code keyId} not null), else from a new pass.
     *
     * @return the lane of {@link #keystream} that holds block 0.
     */
    private int firstPass(final int[] key, final Object keyId, final long counter, final int n0, final int n1,
        final int n2, final long blocks)
    {
        if (keyId != null && aheadLane >= 0 && aheadKeyId == keyId && aheadCounter == counter)
        {
            passBlock = 0;
            passLane = aheadLane;
            passCount = VectorKernels.BLOCKS - aheadLane;
            aheadLane = -1;
            aheadKeyId = null;
            lookaheadHits++;
        }
        else
        {
            pass(key, keyId, counter, n0, n1, n2, 0, blocks);
        }
        return passLane;
    }

    /**
     * Computes a pass from block {@code first} of the message on. When the message needs fewer blocks
     * than a pass has lanes and {@code keyId} is not null, the spare lanes compute blocks 0, 1, ... of
     * the next counter: the lookahead. Any other pass ends the lookahead (it overwrites those lanes).
     */
    private void pass(final int[] key, final Object keyId, final long counter, final int n0, final int n1,
        final int n2, final int first, final long blocks)
    {
        final long remaining = blocks - first;
        final long next = counter + 1;
        final int split = keyId != null && remaining < VectorKernels.BLOCKS && next != 0
            ? (int)remaining : VectorKernels.BLOCKS;
        VectorKernels.keystream(key, first, n0, n1, n2, split, (int)next, (int)(next >>> 32), soa, keystream);
        passBlock = first;
        passLane = 0;
        passCount = split;
        if (split < VectorKernels.BLOCKS)
        {
            aheadLane = split;
            aheadKeyId = keyId;
            aheadCounter = next;
        }
        else
        {
            aheadLane = -1;
            aheadKeyId = null;
        }
    }

    /**
     * XORs keystream blocks 1, 2, ... into {@code length} bytes of data, continuing the pass that
     * {@link #startTagVector} or {@link #firstPass} made available (block 0 is the Poly1305 key and
     * is skipped).
     */
    private void xorVector(final int[] key, final Object keyId, final long counter, final int n0, final int n1,
        final int n2, final long blocks, final MemorySegment data, final long offset, final long length)
    {
        final int[] s = keystream;
        long done = 0;
        int block = 1;
        // lanes lane .. end-1 of the pass at hand hold blocks block, block+1, ...
        int lane = passLane + 1 - passBlock;
        int end = passLane + passCount;
        while (true)
        {
            for (; lane < end; lane++)
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
                block++;
            }
            if (done >= length)
            {
                return;
            }
            pass(key, keyId, counter, n0, n1, n2, block, blocks);
            lane = 0;
            end = passCount;
        }
    }

    private static long words(final int lo, final int hi)
    {
        return (lo & 0xFFFF_FFFFL) | (long)hi << 32;
    }
}
