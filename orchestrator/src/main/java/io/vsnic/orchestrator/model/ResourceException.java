package io.vsnic.orchestrator.model;

/**
 * A request or change that cannot be accepted: carries the HTTP status, a stable machine-readable
 * code and the offending field (a JSON path such as {@code subnets[0].cidr}), so that the API can
 * answer {@code {"error": {"code", "message", "field"}}}.
 */
public final class ResourceException extends RuntimeException
{
    private static final long serialVersionUID = 1L;

    private final int status;
    private final String code;
    private final String field;

    /**
     * @param status  HTTP status (4xx).
     * @param code    stable error code, e.g. {@code invalid_field}.
     * @param message what is wrong, for a person.
     * @param field   the offending field, or null.
     */
    public ResourceException(final int status, final String code, final String message, final String field)
    {
        super(message);
        this.status = status;
        this.code = code;
        this.field = field;
    }

    /** 400 {@code invalid_field}. */
    public static ResourceException invalid(final String field, final String message)
    {
        return new ResourceException(400, "invalid_field", message, field);
    }

    /** 400 {@code missing_field}. */
    public static ResourceException missing(final String field)
    {
        return new ResourceException(400, "missing_field", field + " is required", field);
    }

    /** 409 conflict with a specific code ({@code duplicate_vni}, {@code in_use}, ...). */
    public static ResourceException conflict(final String code, final String field, final String message)
    {
        return new ResourceException(409, code, message, field);
    }

    /** 422: well-formed but semantically invalid. */
    public static ResourceException unprocessable(final String code, final String field, final String message)
    {
        return new ResourceException(422, code, message, field);
    }

    /**
     * 503 {@code insufficient_memory}: the heap ran out while a request was read, checked or applied, and
     * nothing changed.
     *
     * @param doing what ran out of memory ("reading this request", "compiling the data plane's tables for it").
     */
    public static ResourceException insufficientMemory(final String doing)
    {
        return new ResourceException(503, "insufficient_memory", "the daemon ran out of memory " + doing + " (heap at most " +
            Runtime.getRuntime().maxMemory() / (1 << 20) + " MiB); nothing changed. Give vsnicd a larger heap " +
            "(VSNIC_JAVA_OPTS=-Xmx...) or send the change in smaller parts", null);
    }

    /** 404 {@code not_found}. */
    public static ResourceException notFound(final String message)
    {
        return new ResourceException(404, "not_found", message, null);
    }

    public int status()
    {
        return status;
    }

    public String code()
    {
        return code;
    }

    public String field()
    {
        return field;
    }
}
