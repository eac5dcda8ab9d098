package io.vsnic.orchestrator.model;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

/**
 * The VM side of a vNIC: {@code {"type": "memory"}}, {@code {"type": "tap", "name": "vsnic0"}},
 * {@code {"type": "qemu-stream", "path": "/run/vm1.sock"}}, ... The type selects a
 * backend; every other property is a backend option, kept as text.
 *
 * @param type    memory | tap | qemu-stream | qemu-dgram.
 * @param options the backend's own options, sorted by name.
 */
public record Backend(String type, Map<String, String> options)
{
    public Backend
    {
        options = options == null ? Map.of() : Map.copyOf(new TreeMap<>(options));
    }

    /**
     * Reads the flat JSON object.
     */
    @JsonCreator
    public static Backend fromJson(final Map<String, Object> raw)
    {
        final Map<String, String> options = new TreeMap<>();
        String type = null;
        for (final Map.Entry<String, Object> entry : raw.entrySet())
        {
            final Object value = entry.getValue();
            if (entry.getKey().equals("type"))
            {
                if (value != null && !(value instanceof String))
                {
                    throw ResourceException.invalid("backend.type", "backend.type must be a string");
                }
                type = (String)value;
            }
            else if (value instanceof Map || value instanceof Iterable)
            {
                throw ResourceException.invalid("backend." + entry.getKey(), "backend options must be scalars");
            }
            else if (value != null)
            {
                options.put(entry.getKey(), String.valueOf(value));
            }
        }
        return new Backend(type, options);
    }

    /**
     * @return the flat JSON object: type first, then the options.
     */
    @JsonValue
    public Map<String, String> toJson()
    {
        final Map<String, String> json = new LinkedHashMap<>();
        json.put("type", type);
        json.putAll(new TreeMap<>(options));
        return json;
    }

    /**
     * @return an option, or the default.
     */
    public String option(final String name, final String fallback)
    {
        return options.getOrDefault(name, fallback);
    }
}
