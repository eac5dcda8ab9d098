package io.vsnic.crypto.primitive;

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
}
