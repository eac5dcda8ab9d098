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
 * <p>The block sits between two inaccessible guard pages ({@code PROT_NONE}), so the kernel never merges
 * it with a neighbouring mapping: {@code /proc/PID/smaps} shows each pool as one mapping of exactly
 * slots × slot bytes with its resident size, which is how {@code jmh-benchmarks/footprint.sh} and
 * {@code soak.sh} report the pools (Native Memory Tracking does not see memory mapped this way). A
 * stray access just past the block faults instead of reading another pool.
 *
 * <p>The mapping is tied to a shared {@link Arena}: closing the arena unmaps it, and any access after
 * that fails with an {@link IllegalStateException} as with {@link Arena#allocate}, never a crash.
 * Where {@code mmap} cannot be linked (not Linux, or native access denied) the block comes from
 * {@link Arena#allocate}, the behaviour before.
 */
final class PageMemory
{
    private static final int PROT_NONE = 0;
    private static final int PROT_READ_WRITE = 0x1 | 0x2;
    private static final long GUARD_BYTES = 4096;
    private static final int MAP_PRIVATE_ANONYMOUS_NORESERVE = 0x02 | 0x20 | 0x4000;
    private static final MethodHandle MMAP;
    private static final MethodHandle MUNMAP;
    private static final MethodHandle MPROTECT;

    static
    {
        MethodHandle mmap = null;
        MethodHandle munmap = null;
        MethodHandle mprotect = null;
        try
        {
            final Optional<MethodHandle> map = bind("mmap", FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG));
            final Optional<MethodHandle> unmap = bind("munmap", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS,
                ValueLayout.JAVA_LONG));
            final Optional<MethodHandle> protect = bind("mprotect", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS,
                ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));
            if (map.isPresent() && unmap.isPresent() && protect.isPresent() && System.getProperty("os.name", "").startsWith("Linux"))
            {
                mmap = map.get();
                munmap = unmap.get();
                mprotect = protect.get();
            }
        }
        catch (final RuntimeException | LinkageError ex)
        {
            // no native access: Arena.allocate below
        }
        MMAP = mmap;
        MUNMAP = munmap;
        MPROTECT = mprotect;
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
        final long total = bytes + 2 * GUARD_BYTES;
        final MemorySegment base;
        final int protect;
        try
        {
            base = (MemorySegment)MMAP.invokeExact(MemorySegment.NULL, total, PROT_NONE, MAP_PRIVATE_ANONYMOUS_NORESERVE, -1, 0L);
            if (base.address() == -1L || base.address() == 0L)
            {
                throw new OutOfMemoryError("mmap of " + total + " bytes for a frame pool failed");
            }
            protect = (int)MPROTECT.invokeExact(MemorySegment.ofAddress(base.address() + GUARD_BYTES), bytes, PROT_READ_WRITE);
        }
        catch (final RuntimeException | Error ex)
        {
            throw ex;
        }
        catch (final Throwable ex)
        {
            throw new IllegalStateException("mmap of " + total + " bytes failed", ex);
        }
        if (protect != 0)
        {
            unmap(MemorySegment.ofAddress(base.address()), total);
            return arena.allocate(bytes, alignment);
        }
        return MemorySegment.ofAddress(base.address() + GUARD_BYTES).reinterpret(bytes, arena,
            block -> unmap(MemorySegment.ofAddress(block.address() - GUARD_BYTES), block.byteSize() + 2 * GUARD_BYTES));
    }

    private static void unmap(final MemorySegment address, final long bytes)
    {
        try
        {
            final int result = (int)MUNMAP.invokeExact(address, bytes);
            if (result != 0)
            {
                throw new IllegalStateException("munmap failed for " + bytes + " bytes");
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
