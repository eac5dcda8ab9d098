package io.vsnic.orchestrator.cli;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

import javax.net.ssl.SSLContext;

import com.fasterxml.jackson.databind.JsonNode;
import io.vsnic.orchestrator.model.Json;

/**
 * The CLI's side of the REST API: {@link HttpClient}, JSON in and out, errors as {@link ApiException}.
 */
final class ApiClient
{
    private final URI base;
    private final String token;
    private final HttpClient http;

    ApiClient(final String base)
    {
        this(base, null, null);
    }

    /**
     * @param base  the API's base URL.
     * @param token a bearer token to send, or null.
     * @param ssl   the TLS context (client certificate, trusted CA), or null for the JDK's defaults.
     */
    ApiClient(final String base, final String token, final SSLContext ssl)
    {
        this.base = URI.create(base.endsWith("/") ? base.substring(0, base.length() - 1) : base);
        this.token = token;
        final HttpClient.Builder builder = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5));
        if (ssl != null)
        {
            builder.sslContext(ssl);
        }
        this.http = builder.build();
    }

    /** A response the CLI treats as a failure: not 2xx, or the daemon is unreachable. */
    static final class ApiException extends Exception
    {
        private static final long serialVersionUID = 1L;

        ApiException(final String message)
        {
            super(message);
        }
    }

    static String encode(final String segment)
    {
        return URLEncoder.encode(segment, StandardCharsets.UTF_8).replace("+", "%20");
    }

    JsonNode get(final String path) throws ApiException
    {
        return send("GET", path, null);
    }

    /**
     * GET of a streamed body (a capture): no overall timeout, only the connect timeout.
     *
     * @return the body, to read until its end; the caller closes it.
     */
    java.io.InputStream stream(final String path) throws ApiException
    {
        final HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(base + path)).GET();
        if (token != null)
        {
            request.header("Authorization", "Bearer " + token);
        }
        try
        {
            final HttpResponse<java.io.InputStream> response = http.send(request.build(), HttpResponse.BodyHandlers.ofInputStream());
            if (response.statusCode() / 100 != 2)
            {
                final byte[] body;
                try (java.io.InputStream in = response.body())
                {
                    body = in.readAllBytes();
                }
                throw failure("GET", path, response.statusCode(), body.length == 0 ? null : Json.mapper().readTree(body));
            }
            return response.body();
        }
        catch (final IOException ex)
        {
            throw new ApiException("cannot reach the daemon at " + base + ": " + (ex.getMessage() == null ? ex.toString() : ex.getMessage()));
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw new ApiException("interrupted");
        }
    }

    private static ApiException failure(final String method, final String path, final int status, final JsonNode json)
    {
        final JsonNode error = json == null ? null : json.get("error");
        if (error == null)
        {
            return new ApiException(method + " " + path + ": HTTP " + status);
        }
        return new ApiException(status + " " + error.path("code").asText() + ": " +
            error.path("message").asText() + (error.hasNonNull("field") ? " (field " + error.get("field").asText() + ")" : ""));
    }

    JsonNode send(final String method, final String path, final Object body) throws ApiException
    {
        final HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(30));
        if (token != null)
        {
            request.header("Authorization", "Bearer " + token);
        }
        try
        {
            if (body == null)
            {
                request.method(method, HttpRequest.BodyPublishers.noBody());
            }
            else
            {
                request.header("Content-Type", "application/json")
                    .method(method, HttpRequest.BodyPublishers.ofByteArray(Json.mapper().writeValueAsBytes(body)));
            }
            final HttpResponse<byte[]> response = http.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
            final JsonNode json = response.body().length == 0 ? null : Json.mapper().readTree(response.body());
            if (response.statusCode() / 100 != 2)
            {
                throw failure(method, path, response.statusCode(), json);
            }
            return json;
        }
        catch (final IOException ex)
        {
            throw new ApiException("cannot reach the daemon at " + base + ": " + (ex.getMessage() == null ? ex.toString() : ex.getMessage()));
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw new ApiException("interrupted");
        }
    }
}
