package io.vsnic.dataplane.capture;

import java.io.IOException;

/**
 * A capture file that is not well formed: truncated headers or blocks, inconsistent or absurd
 * length fields, unknown magic numbers, references to undefined interfaces. The message names the
 * byte offset in the file (see {@link #offset()}) and the problem.
 */
public final class CaptureFormatException extends IOException
{
    private static final long serialVersionUID = 1L;

    private final long offset;
    private final String problem;

    /**
     * @param offset  byte offset in the file of the header, block or record that is malformed.
     * @param problem what is wrong, naming the field.
     */
    public CaptureFormatException(final long offset, final String problem)
    {
        super("offset " + offset + ": " + problem);
        this.offset = offset;
        this.problem = problem;
    }

    /**
     * @return byte offset in the file of the header, block or record that is malformed.
     */
    public long offset()
    {
        return offset;
    }

    /**
     * @return the problem, without the offset prefix.
     */
    public String problem()
    {
        return problem;
    }
}
