package io.vsnic.dataplane.nativeio;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class CpuListTest
{
    @Test
    void shouldReadNumbersAndRangesInTheOrderWritten()
    {
        assertArrayEquals(new int[] {1}, CpuList.parse("1"));
        assertArrayEquals(new int[] {0, 1, 2, 3, 6}, CpuList.parse("0-3,6"));
        assertArrayEquals(new int[] {5, 2, 3}, CpuList.parse(" 5 , 2-3 "));
        assertArrayEquals(new int[] {1023}, CpuList.parse("1023"));
    }

    @Test
    void shouldWriteConsecutiveRunsAsRanges()
    {
        assertEquals("0-3,6", CpuList.format(new int[] {0, 1, 2, 3, 6}));
        assertEquals("5,2-3", CpuList.format(new int[] {5, 2, 3}));
        assertEquals("7", CpuList.format(new int[] {7}));
        assertEquals("", CpuList.format(new int[0]));
        assertArrayEquals(new int[] {4, 0, 1, 9}, CpuList.parse(CpuList.format(new int[] {4, 0, 1, 9})), "round trip");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "''         | empty",
        "'  '       | empty",
        "a          | not a CPU list",
        "1,,2       | not a CPU list",
        "-1         | not a CPU list",
        "1-         | not a CPU list",
        "1-2-3      | not a CPU list",
        "0x1        | not a CPU list",
        "99999      | not a CPU list",
        "3-1        | runs backwards",
        "1,1        | named twice",
        "0-2,2      | named twice",
        "1024       | beyond 1023",
    })
    void shouldRefuseWhatIsNotACpuList(final String text, final String reason)
    {
        final IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, () -> CpuList.parse(text));
        assertTrue(ex.getMessage().contains(reason), ex.getMessage());
    }

    @Test
    void shouldKnowWhichCpusThisProcessMayUse()
    {
        final int[] allowed = Syscalls.allowedCpus();
        assertTrue(allowed != null && allowed.length >= 1, "sched_getaffinity");
        assertTrue(allowed.length >= Math.min(Runtime.getRuntime().availableProcessors(), 1), "at least the CPU this runs on");
        for (int i = 1; i < allowed.length; i++)
        {
            assertTrue(allowed[i] > allowed[i - 1], "ascending");
        }
    }
}
