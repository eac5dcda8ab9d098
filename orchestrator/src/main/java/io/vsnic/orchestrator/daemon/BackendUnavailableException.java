package io.vsnic.orchestrator.daemon;

import java.io.IOException;

/**
 * A vNIC backend cannot be opened yet, for a reason that time may cure: the TAP a hypervisor is to
 * create does not exist, nothing listens on the VM's socket, the socket's directory is not there.
 * The change that names the vNIC is accepted; the vNIC is pending and a task retries it
 * ({@link Tasks}). Any other {@link IOException} from {@link VnicBackend#open} refuses the change.
 */
public final class BackendUnavailableException extends IOException
{
    private static final long serialVersionUID = 1L;

    /**
     * @param message what is missing, for the vNIC's status and the task's last error.
     */
    public BackendUnavailableException(final String message)
    {
        super(message);
    }

    /**
     * @param message what is missing.
     * @param cause   the failure that says so.
     */
    public BackendUnavailableException(final String message, final Throwable cause)
    {
        super(message, cause);
    }
}
