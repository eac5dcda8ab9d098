package io.vsnic.dataplane.table;

/**
 * Stable sorts of prefix lists held in parallel primitive arrays, used by the builders to put
 * pending changes in table order: by address, then by length, so that every prefix comes before
 * the prefixes nested inside it. Bottom-up merge sort over runs sorted by insertion; the arrays are
 * read sequentially, which matters at a million prefixes. Control plane only.
 */
final class PrefixSort
{
    private static final int RUN = 32;

    private PrefixSort()
    {
    }

    /**
     * Sorts the first {@code n} entries of {@code keys} ascending (as signed longs), moving
     * {@code values} along.
     */
    static void sort(final long[] keys, final int[] values, final int n)
    {
        for (int start = 0; start < n; start += RUN)
        {
            final int end = Math.min(n, start + RUN);
            for (int i = start + 1; i < end; i++)
            {
                final long key = keys[i];
                final int value = values[i];
                int j = i - 1;
                while (j >= start && keys[j] > key)
                {
                    keys[j + 1] = keys[j];
                    values[j + 1] = values[j];
                    j--;
                }
                keys[j + 1] = key;
                values[j + 1] = value;
            }
        }
        if (n <= RUN)
        {
            return;
        }
        long[] srcKeys = keys;
        int[] srcValues = values;
        long[] dstKeys = new long[n];
        int[] dstValues = new int[n];
        for (int width = RUN; width < n; width <<= 1)
        {
            for (int left = 0; left < n; left += width << 1)
            {
                final int middle = Math.min(n, left + width);
                final int right = Math.min(n, left + (width << 1));
                int i = left;
                int j = middle;
                int k = left;
                while (i < middle && j < right)
                {
                    if (srcKeys[j] < srcKeys[i])
                    {
                        dstKeys[k] = srcKeys[j];
                        dstValues[k++] = srcValues[j++];
                    }
                    else
                    {
                        dstKeys[k] = srcKeys[i];
                        dstValues[k++] = srcValues[i++];
                    }
                }
                System.arraycopy(srcKeys, i, dstKeys, k, middle - i);
                System.arraycopy(srcValues, i, dstValues, k, middle - i);
                k += middle - i;
                System.arraycopy(srcKeys, j, dstKeys, k, right - j);
                System.arraycopy(srcValues, j, dstValues, k, right - j);
            }
            final long[] tk = srcKeys;
            srcKeys = dstKeys;
            dstKeys = tk;
            final int[] tv = srcValues;
            srcValues = dstValues;
            dstValues = tv;
        }
        if (srcKeys != keys)
        {
            System.arraycopy(srcKeys, 0, keys, 0, n);
            System.arraycopy(srcValues, 0, values, 0, n);
        }
    }

    /**
     * Sorts the first {@code n} IPv6 prefixes by unsigned {@code highs}, then unsigned {@code lows},
     * then {@code lengths}, moving {@code values} along.
     */
    static void sort(final long[] highs, final long[] lows, final int[] lengths, final int[] values, final int n)
    {
        for (int start = 0; start < n; start += RUN)
        {
            final int end = Math.min(n, start + RUN);
            for (int i = start + 1; i < end; i++)
            {
                final long high = highs[i];
                final long low = lows[i];
                final int length = lengths[i];
                final int value = values[i];
                int j = i - 1;
                while (j >= start && compare(highs[j], lows[j], lengths[j], high, low, length) > 0)
                {
                    highs[j + 1] = highs[j];
                    lows[j + 1] = lows[j];
                    lengths[j + 1] = lengths[j];
                    values[j + 1] = values[j];
                    j--;
                }
                highs[j + 1] = high;
                lows[j + 1] = low;
                lengths[j + 1] = length;
                values[j + 1] = value;
            }
        }
        if (n <= RUN)
        {
            return;
        }
        long[] srcHighs = highs;
        long[] srcLows = lows;
        int[] srcLengths = lengths;
        int[] srcValues = values;
        long[] dstHighs = new long[n];
        long[] dstLows = new long[n];
        int[] dstLengths = new int[n];
        int[] dstValues = new int[n];
        for (int width = RUN; width < n; width <<= 1)
        {
            for (int left = 0; left < n; left += width << 1)
            {
                final int middle = Math.min(n, left + width);
                final int right = Math.min(n, left + (width << 1));
                int i = left;
                int j = middle;
                int k = left;
                while (i < middle && j < right)
                {
                    final int from;
                    if (compare(srcHighs[j], srcLows[j], srcLengths[j], srcHighs[i], srcLows[i], srcLengths[i]) < 0)
                    {
                        from = j++;
                    }
                    else
                    {
                        from = i++;
                    }
                    dstHighs[k] = srcHighs[from];
                    dstLows[k] = srcLows[from];
                    dstLengths[k] = srcLengths[from];
                    dstValues[k++] = srcValues[from];
                }
                k = copyRun(srcHighs, srcLows, srcLengths, srcValues, i, middle, dstHighs, dstLows, dstLengths,
                    dstValues, k);
                copyRun(srcHighs, srcLows, srcLengths, srcValues, j, right, dstHighs, dstLows, dstLengths, dstValues,
                    k);
            }
            final long[] th = srcHighs;
            srcHighs = dstHighs;
            dstHighs = th;
            final long[] tl = srcLows;
            srcLows = dstLows;
            dstLows = tl;
            final int[] tn = srcLengths;
            srcLengths = dstLengths;
            dstLengths = tn;
            final int[] tv = srcValues;
            srcValues = dstValues;
            dstValues = tv;
        }
        if (srcHighs != highs)
        {
            System.arraycopy(srcHighs, 0, highs, 0, n);
            System.arraycopy(srcLows, 0, lows, 0, n);
            System.arraycopy(srcLengths, 0, lengths, 0, n);
            System.arraycopy(srcValues, 0, values, 0, n);
        }
    }

    private static int copyRun(final long[] srcHighs, final long[] srcLows, final int[] srcLengths,
        final int[] srcValues, final int from, final int to, final long[] dstHighs, final long[] dstLows,
        final int[] dstLengths, final int[] dstValues, final int at)
    {
        final int count = to - from;
        System.arraycopy(srcHighs, from, dstHighs, at, count);
        System.arraycopy(srcLows, from, dstLows, at, count);
        System.arraycopy(srcLengths, from, dstLengths, at, count);
        System.arraycopy(srcValues, from, dstValues, at, count);
        return at + count;
    }

    /**
     * Table order of two IPv6 prefixes: unsigned address, then length.
     */
    static int compare(final long highA, final long lowA, final int lengthA, final long highB, final long lowB,
        final int lengthB)
    {
        int c = Long.compareUnsigned(highA, highB);
        if (c == 0)
        {
            c = Long.compareUnsigned(lowA, lowB);
            if (c == 0)
            {
                c = Integer.compare(lengthA, lengthB);
            }
        }
        return c;
    }
}
