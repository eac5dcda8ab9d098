package io.vsnic.crypto.primitive;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.util.Arrays;

import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * The JDK's {@code Cipher.getInstance("ChaCha20-Poly1305")} behind {@link TransportAead}, for
 * comparison. Every message needs a {@code Cipher.init} with a new nonce, which allocates inside
 * the JDK (key copy, parameter objects, Poly1305 state); the {@link ByteBuffer} views of the
 * segment allocate too. The key spec is cached while the key stays the same.
 *
 * <p>Not thread safe: one instance per thread.
 */
public final class JdkChaCha20Poly1305 implements TransportAead
{
    /** {@link #name()} of this implementation. */
    public static final String NAME = "jdk";

    private final Cipher cipher;
    private final byte[] nonce = new byte[12];
    private final byte[] cachedKey = new byte[32];
    private SecretKeySpec cachedSpec;

    /**
     * @throws IllegalStateException when the JDK has no ChaCha20-Poly1305 (it always has, since 11).
     */
    public JdkChaCha20Poly1305()
    {
        try
        {
            cipher = Cipher.getInstance("ChaCha20-Poly1305");
        }
        catch (final GeneralSecurityException ex)
        {
            throw new IllegalStateException("the JDK offers no ChaCha20-Poly1305", ex);
        }
    }

    @Override
    public String name()
    {
        return NAME;
    }

    @Override
    public void seal(final byte[] key, final long counter, final MemorySegment data, final long offset,
        final int length)
    {
        try
        {
            cipher.init(Cipher.ENCRYPT_MODE, spec(key), new IvParameterSpec(nonce(counter)));
            final ByteBuffer buffer = data.asSlice(offset, length + TAG_LENGTH).asByteBuffer();
            final ByteBuffer in = buffer.duplicate().limit(length);
            cipher.doFinal(in, buffer);
        }
        catch (final GeneralSecurityException ex)
        {
            throw new IllegalStateException("JDK ChaCha20-Poly1305 seal failed", ex);
        }
    }

    @Override
    public boolean open(final byte[] key, final long counter, final MemorySegment data, final long offset,
        final int length)
    {
        try
        {
            cipher.init(Cipher.DECRYPT_MODE, spec(key), new IvParameterSpec(nonce(counter)));
            final ByteBuffer buffer = data.asSlice(offset, length + TAG_LENGTH).asByteBuffer();
            final ByteBuffer in = buffer.duplicate();
            cipher.doFinal(in, buffer);
            return true;
        }
        catch (final AEADBadTagException ex)
        {
            return false;
        }
        catch (final GeneralSecurityException ex)
        {
            throw new IllegalStateException("JDK ChaCha20-Poly1305 open failed", ex);
        }
    }

    private SecretKeySpec spec(final byte[] key)
    {
        if (cachedSpec == null || !Arrays.equals(key, cachedKey))
        {
            System.arraycopy(key, 0, cachedKey, 0, cachedKey.length);
            cachedSpec = new SecretKeySpec(key, "ChaCha20");
        }
        return cachedSpec;
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
