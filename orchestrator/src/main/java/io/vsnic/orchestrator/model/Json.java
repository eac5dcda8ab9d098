package io.vsnic.orchestrator.model;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;

/**
 * The one Jackson configuration of the orchestrator: unknown properties are errors, nulls are
 * left out of output, and mapping errors are turned into {@link ResourceException}s that name the field.
 */
public final class Json
{
    private static final ObjectMapper JSON = JsonMapper.builder()
        .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
        .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
        .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
        .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS)
        .defaultPropertyInclusion(JsonInclude.Value.construct(JsonInclude.Include.NON_NULL, JsonInclude.Include.NON_NULL))
        .build();

    private static final ObjectMapper YAML = YAMLMapper.builder(YAMLFactory.builder()
            .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
            .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES)
            .build())
        .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
        .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
        .defaultPropertyInclusion(JsonInclude.Value.construct(JsonInclude.Include.NON_NULL, JsonInclude.Include.NON_NULL))
        .build();

    private Json()
    {
    }

    /**
     * @return the JSON mapper (thread-safe).
     */
    public static ObjectMapper mapper()
    {
        return JSON;
    }

    /**
     * @return the YAML mapper (thread-safe).
     */
    public static ObjectMapper yaml()
    {
        return YAML;
    }

    /**
     * Reads JSON into a type; malformed input and wrong fields become 400 errors naming the field.
     */
    public static <T> T read(final byte[] body, final Class<T> type)
    {
        if (body.length == 0)
        {
            throw new ResourceException(400, "malformed_json", "the request needs a JSON body", null);
        }
        try
        {
            return JSON.readValue(body, type);
        }
        catch (final JsonProcessingException ex)
        {
            throw translate(ex);
        }
        catch (final java.io.IOException ex)
        {
            throw new ResourceException(400, "malformed_json", ex.getMessage(), null);
        }
    }

    /**
     * @return a 400 error for a Jackson failure: {@code malformed_json} for syntax, {@code invalid_field} with
     *         the field's path for mapping errors (an error the model raised itself is passed through).
     */
    public static ResourceException translate(final JsonProcessingException ex)
    {
        Throwable cause = ex;
        while (cause != null)
        {
            if (cause instanceof ResourceException resource)
            {
                return resource;
            }
            cause = cause.getCause();
        }
        if (ex instanceof JsonMappingException mapping && !mapping.getPath().isEmpty())
        {
            final String field = path(mapping);
            final String message = ex.getOriginalMessage();
            final String reason = ex instanceof com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException ?
                "unknown field " + field : field + ": " + firstLine(message);
            return ResourceException.invalid(field, reason);
        }
        return new ResourceException(400, "malformed_json", "malformed JSON: " + firstLine(ex.getOriginalMessage()), null);
    }

    /**
     * @return the path of a mapping error as {@code subnets[0].cidr}.
     */
    public static String path(final JsonMappingException ex)
    {
        final StringBuilder path = new StringBuilder();
        for (final JsonMappingException.Reference reference : ex.getPath())
        {
            if (reference.getFieldName() != null)
            {
                if (!path.isEmpty())
                {
                    path.append('.');
                }
                path.append(reference.getFieldName());
            }
            else if (reference.getIndex() >= 0)
            {
                path.append('[').append(reference.getIndex()).append(']');
            }
        }
        return path.toString();
    }

    private static String firstLine(final String message)
    {
        if (message == null)
        {
            return "invalid";
        }
        final int newline = message.indexOf('\n');
        return newline < 0 ? message : message.substring(0, newline);
    }
}
