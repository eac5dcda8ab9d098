package io.vsnic.crypto.primitive;

import java.lang.foreign.MemorySegment;

/**
 * Whether the Vector API kernels ({@link VectorKernels}) are used. They are when the incubator
 * module {@code jdk.incubator.vector} is in the boot layer (the project's JVM flags add it with
 * {@code --add-modules=jdk.incubator.vector}) and the system property {@value #PROPERTY} is not
 * {@code false}. Otherwise the plain Java code runs; both give the same bytes.
 *
 * <p>The check looks for the module before any vector class is touched, so a JVM without the
 * module never loads {@link VectorKernels}.
 */
public final class VectorSupport
{
    /** System property that turns the vector kernels off when set to {@code false}. */
    public static final String PROPERTY = "vsnic.crypto.vector";

    /**
     * System property that fixes the kernels' width: {@code 256} (AVX2-sized) or {@code 512}
     * (AVX-512-sized). Unset, the kernels take 512 bits when the CPU runs that width natively
     * (C2's preferred species), else 256. Either width gives the same bytes; a width the CPU lacks
     * runs as slow plain Java (tests use that to check both widths on any machine).
     */
    public static final String BITS_PROPERTY = "vsnic.crypto.vectorBits";

    private static final String BITS_VALUE = System.getProperty(BITS_PROPERTY);
    /** 256 or 512 when {@value #BITS_PROPERTY} asks for it, else 0 (unset or refused). */
    private static final int REQUESTED_BITS = parseBits(BITS_VALUE);
    /** Why {@value #BITS_PROPERTY} was refused, or null ({@link #checkConfiguration}). */
    private static final String BITS_ERROR = bitsError(BITS_VALUE);

    private static final boolean ENABLED = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent() &&
        !"false".equalsIgnoreCase(System.getProperty(PROPERTY));

    private VectorSupport()
    {
    }

    /**
     * @return true when ChaCha20 and Poly1305 use the Vector API kernels.
     */
    public static boolean enabled()
    {
        return ENABLED;
    }

    /**
     * Refuses a malformed {@value #BITS_PROPERTY}; a process that must not run on a silent fallback
     * (the daemon) calls this at start. Until then such a value counts as unset.
     *
     * @throws IllegalArgumentException naming the property and the values it takes.
     */
    public static void checkConfiguration()
    {
        if (BITS_ERROR != null)
        {
            throw new IllegalArgumentException(BITS_ERROR);
        }
    }

    /**
     * @return the width {@value #BITS_PROPERTY} asks for (256 or 512), or 0 to take the CPU's.
     */
    public static int requestedBits()
    {
        return REQUESTED_BITS;
    }

    /**
     * @return the width of the kernels in bits (256 or 512), or 0 when they are not enabled.
     */
    public static int vectorBits()
    {
        return ENABLED ? VectorKernels.BITS : 0;
    }

    /** 256 or 512 for those values (blanks around them allowed), else 0. */
    private static int parseBits(final String value)
    {
        return value == null ? 0 : switch (value.trim())
        {
            case "256" -> 256;
            case "512" -> 512;
            default -> 0;
        };
    }

    /** The operator's message for a value of {@value #BITS_PROPERTY} that is set but neither 256 nor 512, else null. */
    static String bitsError(final String value)
    {
        return value == null || value.isBlank() || parseBits(value) != 0 ? null
            : "-D" + BITS_PROPERTY + "=" + value + ": expected 256 or 512 (or unset, to take the CPU's widest native width)";
    }

    /**
     * Runs the AEAD on {@code buffer} until the JIT has compiled the vector kernels. Until then the
     * Vector API runs as plain, allocating Java, up to a thousand times slower; without a warm-up
     * the first seconds of traffic after start would crawl. Pass a buffer of the kind the data
     * path uses (a frame from the pool: same arena kind), since C2 specialises on it and a new
     * kind later costs a deoptimization and a recompilation. {@code TransportCodec.warmUp} does
     * this through the whole transport path. Does nothing when the kernels are not enabled.
     *
     * @param buffer at least 1452 bytes of native memory; overwritten.
     * @param maxNs  upper bound on the time spent (C2 needs 1-6 s on a busy 2-core machine).
     * @return true when the kernels ran at compiled speed before the time ran out.
     */
    public static boolean warmUp(final MemorySegment buffer, final long maxNs)
    {
        if (!ENABLED)
        {
            return true;
        }
        final ChaCha20Poly1305 aead = new ChaCha20Poly1305();
        final byte[] key = new byte[ChaCha20Poly1305.KEY_LENGTH];
        final long[] counter = {0};
        final boolean compiled = untilFast(maxNs, () ->
        {
            aead.seal(key, counter[0], buffer, 0, 1420);
            if (!aead.open(key, counter[0]++, buffer, 0, 1420))
            {
                throw new IllegalStateException("vector kernels failed their own round trip");
            }
        });
        aead.wipe();
        return compiled;
    }

    /**
     * Runs {@code round} in batches of 64 until 64 rounds take less than 1 ms (compiled speed is
     * about 0.2 ms for 1420-byte seal+open) for 100 ms in a row, or until {@code maxNs} passed.
     *
     * @return true when it got fast.
     */
    public static boolean untilFast(final long maxNs, final Runnable round)
    {
        final long start = System.nanoTime();
        long fastSince = -1;
        while (System.nanoTime() - start < maxNs)
        {
            final long t0 = System.nanoTime();
            for (int i = 0; i < 64; i++)
            {
                round.run();
            }
            final long now = System.nanoTime();
            if (now - t0 < 1_000_000L)
            {
                if (fastSince < 0)
                {
                    fastSince = now;
                }
                else if (now - fastSince > 100_000_000L)
                {
                    return true;
                }
            }
            else
            {
                fastSince = -1;
            }
        }
        return false;
    }
}
