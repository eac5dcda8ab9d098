package io.vsnic.dataplane.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

class ListEditTest
{
    private static final List<String> LIST = List.of("a", "b", "c", "d", "e");

    @Test
    void shouldFindOneElementAddedRemovedOrReplaced()
    {
        assertEquals(new ListEdit(5, 0, 0, 1), ListEdit.between(LIST, List.of("a", "b", "c", "d", "e", "f"), 4));
        assertEquals(new ListEdit(0, 5, 0, 1), ListEdit.between(LIST, List.of("z", "a", "b", "c", "d", "e"), 4));
        assertEquals(new ListEdit(2, 2, 1, 0), ListEdit.between(LIST, List.of("a", "b", "d", "e"), 4));
        assertEquals(new ListEdit(2, 2, 1, 1), ListEdit.between(LIST, List.of("a", "b", "x", "d", "e"), 4));
        assertEquals(new ListEdit(2, 2, 1, 2), ListEdit.between(LIST, List.of("a", "b", "x", "y", "d", "e"), 4));
    }

    @Test
    void shouldNotLetHeadAndTailOverlapWhenElementsRepeat()
    {
        final ListEdit edit = ListEdit.between(List.of("a", "a", "a"), List.of("a", "a"), 4);
        assertEquals(new ListEdit(2, 0, 1, 0), edit);
        final ListEdit grown = ListEdit.between(List.of("a", "a"), List.of("a", "a", "a"), 4);
        assertEquals(new ListEdit(2, 0, 0, 1), grown);
    }

    @Test
    void shouldGiveUpWhenMoreChangedThanAsked()
    {
        assertNull(ListEdit.between(LIST, List.of("x", "b", "c", "d", "y"), 4), "a change at each end: all five between");
        assertNull(ListEdit.between(LIST, List.of(), 4));
        assertEquals(new ListEdit(0, 0, 5, 0), ListEdit.between(LIST, List.of(), 5));
    }

    @Test
    void shouldSayWhenNothingChanged()
    {
        assertTrue(ListEdit.between(LIST, List.copyOf(LIST), 0).isEmpty());
        assertTrue(ListEdit.between(List.of(), List.of(), 0).isEmpty());
    }
}
