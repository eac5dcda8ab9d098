package io.vsnic.crypto.wireguard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

class IndexTableTest
{
    private record E(int localIndex) implements IndexTable.Entry
    {
    }

    @Test
    void shouldPutGetReplaceAndRemove()
    {
        final IndexTable table = new IndexTable(16);
        final E a = new E(7);
        table.put(a);
        assertSame(a, table.get(7));
        assertNull(table.get(8));
        assertThrows(IllegalStateException.class, () -> table.put(new E(7)));
        final E b = new E(7);
        assertTrue(table.replace(a, b));
        assertSame(b, table.get(7));
        assertFalse(table.remove(a), "only that exact entry is removed");
        assertTrue(table.remove(b));
        assertNull(table.get(7));
        assertEquals(0, table.size());
    }

    @Test
    void shouldAgreeWithAHashMapUnderRandomChurnAndGrowth()
    {
        final SplittableRandom random = new SplittableRandom(42);
        final IndexTable table = new IndexTable(16);
        final Map<Integer, E> reference = new HashMap<>();
        final List<Integer> keys = new ArrayList<>();
        for (int step = 0; step < 200_000; step++)
        {
            if (reference.size() < 3000 && (keys.isEmpty() || random.nextInt(3) != 0))
            {
                final int index = random.nextInt(1 << 14) - (1 << 13);
                if (!reference.containsKey(index))
                {
                    final E e = new E(index);
                    table.put(e);
                    reference.put(index, e);
                    keys.add(index);
                }
            }
            else
            {
                final int index = keys.remove(random.nextInt(keys.size()));
                assertTrue(table.remove(reference.remove(index)));
            }
            final int probe = random.nextInt(1 << 14) - (1 << 13);
            assertSame(reference.get(probe), table.get(probe));
        }
        assertEquals(reference.size(), table.size());
        for (final Map.Entry<Integer, E> e : reference.entrySet())
        {
            assertSame(e.getValue(), table.get(e.getKey()));
        }
    }
}
