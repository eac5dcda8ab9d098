package io.vsnic.orchestrator.api;

import java.nio.charset.StandardCharsets;
import java.util.Map;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vsnic.orchestrator.model.Json;
import io.vsnic.orchestrator.model.ResourceException;

/**
 * An HTTP response: status, content type, body bytes and extra headers.
 *
 * @param status      HTTP status.
 * @param contentType content type, or null for no body.
 * @param body        body bytes.
 * @param headers     extra headers (ETag, Allow, ...).
 */
public record ApiResponse(int status, String contentType, byte[] body, Map<String, String> headers)
{
    /** JSON content type. */
    public static final String JSON = "application/json";

    /**
     * @return a JSON response.
     */
    public static ApiResponse json(final int status, final Object value)
    {
        return json(status, value, Map.of());
    }

    /**
     * @return a JSON response with extra headers.
     */
    public static ApiResponse json(final int status, final Object value, final Map<String, String> headers)
    {
        try
        {
            return new ApiResponse(status, JSON, Json.mapper().writerWithDefaultPrettyPrinter().writeValueAsBytes(value), headers);
        }
        catch (final JsonProcessingException ex)
        {
            throw new IllegalStateException("cannot render a response", ex);
        }
    }

    /**
     * @return 204 with no body.
     */
    public static ApiResponse noContent()
    {
        return new ApiResponse(204, null, new byte[0], Map.of());
    }

    /**
     * @return a plain-text response.
     */
    public static ApiResponse text(final int status, final String contentType, final String text)
    {
        return new ApiResponse(status, contentType, text.getBytes(StandardCharsets.UTF_8), Map.of());
    }

    /**
     * @return {@code {"error": {"code", "message", "field"}}} with the error's status.
     */
    public static ApiResponse error(final ResourceException ex)
    {
        return error(ex.status(), ex.code(), ex.getMessage(), ex.field(), Map.of());
    }

    /**
     * @return an error response.
     */
    public static ApiResponse error(final int status, final String code, final String message, final String field,
        final Map<String, String> headers)
    {
        final ObjectNode root = Json.mapper().createObjectNode();
        final ObjectNode error = root.putObject("error");
        error.put("code", code);
        error.put("message", message);
        if (field != null)
        {
            error.put("field", field);
        }
        return json(status, root, headers);
    }
}
