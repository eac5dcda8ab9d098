package io.vsnic.orchestrator.api;

import java.util.List;
import java.util.Map;

/**
 * An HTTP request as the routes see it: copied out of Netty's buffers, so it may cross threads.
 *
 * @param method      GET, POST, PUT, DELETE, ...
 * @param path        decoded path segments after the leading '/'.
 * @param query       decoded query parameters.
 * @param ifMatch     the If-Match header, or null.
 * @param contentType the Content-Type header, or null.
 * @param prefer      the Prefer header (RFC 7240), or null.
 * @param body        the body (possibly empty).
 */
public record ApiRequest(String method, List<String> path, Map<String, List<String>> query, String ifMatch,
    String contentType, String prefer, byte[] body)
{
    /**
     * @return true when the client asked for no representation in the answer ({@code Prefer: return=minimal}).
     */
    public boolean prefersMinimal()
    {
        if (prefer == null)
        {
            return false;
        }
        for (final String preference : prefer.split(","))
        {
            if (preference.strip().toLowerCase(java.util.Locale.ROOT).replace(" ", "").equals("return=minimal"))
            {
                return true;
            }
        }
        return false;
    }

    /**
     * @return the first value of a query parameter, or null.
     */
    public String param(final String name)
    {
        final List<String> values = query.get(name);
        return values == null || values.isEmpty() ? null : values.get(0);
    }

    /**
     * @return true for a method that changes state.
     */
    public boolean isWrite()
    {
        return method.equals("POST") || method.equals("PUT") || method.equals("DELETE") || method.equals("PATCH");
    }
}
