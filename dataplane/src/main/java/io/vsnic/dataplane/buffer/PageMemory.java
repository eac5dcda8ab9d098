package io.vsnic.dataplane.buffer;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Optional;

/**
 * Native memory for a {@link FramePool} that costs resident memory only where it is written: an
 * anonymous private mapping ({@code mmap(MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE)}), whose
 * pages the kernel supplies, zeroed, on first touch. {@link Arena#allocate} instead zeroes the whole
 * block up front, so a pool of 4096 jumbo slots (37 MiB) plus the super-frame pool (16 MiB) were
 * resident from the start even when the device carried no traffic, and a frame of 1500 bytes still
 * pinned all three pages of its 9472-byte slot.
 *
 * <p>The mapping is tied to a shared {@link Arena}: closing the arena unmaps it, and any access after
 * that fails with an {@link IllegalStateException} as with {@link Arena#allocate}, never a crash.
 * Where {@code mmap} cannot be linked (not Linux, or native access denied) the block comes from
 * {@link Arena#allocate}, the behaviour before.
 */
final class PageMemory
{
    private static final int PROT_READ_WRITE = 0x1 | 0x2;
    private static final int MAP_PRIVATE_ANONYMOUS_NORESERVE = 0x02 | 0x20 | 0x4000;
    private static final MethodHandle MMAP;
    private static final MethodHandle MUNMAP;

    static
    {
        MethodHandle mmap = null;
        MethodHandle munmap = null;
        try
        {
            final Optional<MethodHandle> map = bind("mmap", FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG));
            final Optional<MethodHandle> unmap = bind("munmap", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS,
                ValueLayout.JAVA_LONG));
            if (map.isPresent() && unmap.isPresent() && System.getProperty("os.name", "").startsWith("Linux"))
            {
                mmap = map.get();
                munmap = unmap.get();
            }
        }
        catch (final RuntimeException | LinkageError ex)
        {
            // no native access: Arena.allocate below
        }
        MMAP = mmap;
        MUNMAP = munmap;
    }

    private PageMemory()
    {
    }

    @SuppressWarnings("restricted")
    private static Optional<MethodHandle> bind(final String name, final FunctionDescriptor descriptor)
    {
        final Linker linker = Linker.nativeLinker();
        return linker.defaultLookup().find(name).map(symbol -> linker.downcallHandle(symbol, descriptor));
    }

    /**
     * @return whether blocks are mapped lazily (else they are allocated and zeroed up front).
     */
    static boolean lazy()
    {
        return MMAP != null;
    }

    /**
     * A zeroed block of {@code bytes}, aligned to at least {@code alignment} (at most a page), freed
     * when {@code arena} closes.
     */
    @SuppressWarnings("restricted")
    static MemorySegment allocate(final Arena arena, final long bytes, final long alignment)
    {
        if (MMAP == null || alignment > 4096)
        {
            return arena.allocate(bytes, alignment);
        }
        final MemorySegment address;
        try
        {
            address = (MemorySegment)MMAP.invokeExact(MemorySegment.NULL, bytes, PROT_READ_WRITE, MAP_PRIVATE_ANONYMOUS_NORESERVE,
                -1, 0L);
        }
        catch (final Throwable ex)
        {
            throw new IllegalStateException("mmap of " + bytes + " bytes failed", ex);
        }
        if (address.address() == -1L || address.address() == 0L)
        {
            throw new OutOfMemoryError("mmap of " + bytes + " bytes for a frame pool failed");
        }
        return address.reinterpret(bytes, arena, PageMemory::unmap);
    }

    private static void unmap(final MemorySegment segment)
    {
        try
        {
            final int result = (int)MUNMAP.invokeExact(segment, segment.byteSize());
            if (result != 0)
            {
                throw new IllegalStateException("munmap failed for " + segment.byteSize() + " bytes");
            }
        }
        catch (final RuntimeException | Error ex)
        {
            throw ex;
        }
        catch (final Throwable ex)
        {
            throw new IllegalStateException("munmap failed", ex);
        }
    }
}
