package io.vsnic.crypto.primitive;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

import org.bouncycastle.crypto.InvalidCipherTextException;
import org.bouncycastle.crypto.params.AEADParameters;
import org.bouncycastle.crypto.params.KeyParameter;

/**
 * Bouncy Castle's lightweight {@code org.bouncycastle.crypto.modes.ChaCha20Poly1305} behind
 * {@link TransportAead}, for comparison. It works on {@code byte[]} only, so each message is
 * copied into a scratch array and back; {@code init} allocates parameter objects per message.
 *
 * <p>Not thread safe: one instance per thread.
 */
public final class BouncyCastleChaCha20Poly1305 implements TransportAead
{
    /** {@link #name()} of this implementation. */
    public static final String NAME = "bc";

    private final org.bouncycastle.crypto.modes.ChaCha20Poly1305 cipher =
        new org.bouncycastle.crypto.modes.ChaCha20Poly1305();
    private final byte[] nonce = new byte[12];
    private byte[] scratch = new byte[2048];
    private final byte[] cachedKey = new byte[32];
    private KeyParameter cachedParameter;

    @Override
    public String name()
    {
        return NAME;
    }

    @Override
    public void seal(final byte[] key, final long counter, final MemorySegment data, final long offset,
        final int length)
    {
        final byte[] work = scratch(length + TAG_LENGTH);
        MemorySegment.copy(data, ValueLayout.JAVA_BYTE, offset, work, 0, length);
        cipher.init(true, new AEADParameters(parameter(key), 8 * TAG_LENGTH, nonce(counter)));
        final int n = cipher.processBytes(work, 0, length, work, 0);
        try
        {
            cipher.doFinal(work, n);
        }
        catch (final InvalidCipherTextException ex)
        {
            throw new IllegalStateException("Bouncy Castle ChaCha20-Poly1305 seal failed", ex);
        }
        MemorySegment.copy(work, 0, data, ValueLayout.JAVA_BYTE, offset, length + TAG_LENGTH);
    }

    @Override
    public boolean open(final byte[] key, final long counter, final MemorySegment data, final long offset,
        final int length)
    {
        final byte[] work = scratch(length + TAG_LENGTH);
        MemorySegment.copy(data, ValueLayout.JAVA_BYTE, offset, work, 0, length + TAG_LENGTH);
        cipher.init(false, new AEADParameters(parameter(key), 8 * TAG_LENGTH, nonce(counter)));
        // Bouncy Castle writes plaintext before it has seen the tag: decrypt into the scratch array
        // and copy back only when the tag is right.
        final int n = cipher.processBytes(work, 0, length + TAG_LENGTH, work, 0);
        try
        {
            cipher.doFinal(work, n);
        }
        catch (final InvalidCipherTextException ex)
        {
            return false;
        }
        MemorySegment.copy(work, 0, data, ValueLayout.JAVA_BYTE, offset, length);
        return true;
    }

    private byte[] scratch(final int length)
    {
        if (scratch.length < length)
        {
            scratch = new byte[Math.max(length, 2 * scratch.length)];
        }
        return scratch;
    }

    private KeyParameter parameter(final byte[] key)
    {
        if (cachedParameter == null || !Arrays.equals(key, cachedKey))
        {
            System.arraycopy(key, 0, cachedKey, 0, cachedKey.length);
            cachedParameter = new KeyParameter(key);
        }
        return cachedParameter;
    }

    private byte[] nonce(final long counter)
    {
        Arrays.fill(nonce, 0, 4, (byte)0);
        for (int i = 0; i < 8; i++)
        {
            nonce[4 + i] = (byte)(counter >>> (8 * i));
        }
        return nonce;
    }
}
