package io.vsnic.crypto.wireguard;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.SplittableRandom;

/**
 * Deterministic entropy for tests: scripted ephemeral keys and indices first, then values from a
 * seeded generator. Jitter is a fixed value (0 unless set).
 */
final class TestEntropy implements HandshakeEntropy
{
    private final Deque<byte[]> ephemerals = new ArrayDeque<>();
    private final Deque<Integer> indices = new ArrayDeque<>();
    private final SplittableRandom random;
    long jitterNs;

    TestEntropy(final long seed)
    {
        random = new SplittableRandom(seed);
    }

    TestEntropy ephemeral(final byte[] key)
    {
        ephemerals.add(key.clone());
        return this;
    }

    TestEntropy index(final int index)
    {
        indices.add(index);
        return this;
    }

    @Override
    public synchronized void ephemeralPrivateKey(final byte[] dst)
    {
        if (!ephemerals.isEmpty())
        {
            System.arraycopy(ephemerals.removeFirst(), 0, dst, 0, 32);
        }
        else
        {
            random.nextBytes(dst);
        }
    }

    @Override
    public synchronized int index()
    {
        return indices.isEmpty() ? random.nextInt() : indices.removeFirst();
    }

    @Override
    public synchronized void randomBytes(final byte[] dst)
    {
        random.nextBytes(dst);
    }

    @Override
    public long jitterNs(final long boundNs)
    {
        return Math.min(jitterNs, boundNs - 1);
    }
}
