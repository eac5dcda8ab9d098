package io.vsnic.orchestrator.lab;

/**
 * A lab operation that could not be done; the message is one line meant for the user.
 */
public final class LabException extends Exception
{
    private static final long serialVersionUID = 1L;

    /**
     * @param message what went wrong, naming the thing (namespace, device, VM).
     */
    public LabException(final String message)
    {
        super(message);
    }

    /**
     * @param message what went wrong.
     * @param cause   the underlying failure.
     */
    public LabException(final String message, final Throwable cause)
    {
        super(message, cause);
    }
}
