package io.vsnic.orchestrator.daemon;

/**
 * A device configuration that cannot be used; names the offending field.
 */
public final class ConfigException extends Exception
{
    private static final long serialVersionUID = 1L;

    private final String field;

    /**
     * @param field   the field ("substrate.genevePort"), or null when the file itself is the problem.
     * @param message what is wrong.
     */
    public ConfigException(final String field, final String message)
    {
        super(field == null ? message : field + ": " + message);
        this.field = field;
    }

    public String field()
    {
        return field;
    }
}
