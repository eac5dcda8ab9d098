package io.vsnic.orchestrator.lab;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

import com.fasterxml.jackson.databind.JsonNode;
import io.vsnic.orchestrator.model.Json;
import io.vsnic.vnic.netns.NetNs;

/**
 * A small HTTP/1.1 client for a device's REST API that listens on loopback <em>inside</em> the
 * device's network namespace. The socket is created on a thread that has entered that namespace
 * ({@link NetNs#callIn}), so {@code 127.0.0.1:9470} is the device's own loopback, not the host's. One
 * request per connection ({@code Connection: close}); the API always answers with Content-Length.
 *
 * <p>Why not {@code java.net.http.HttpClient}: it opens its sockets on its own selector threads, which
 * live in the caller's namespace. Why not bind the API to the device's substrate address: the daemon
 * refuses non-loopback API addresses until the API has authentication (issue 7).
 */
final class NamespaceHttp
{
    private static final int CONNECT_TIMEOUT_MS = 2_000;
    private static final int READ_TIMEOUT_MS = 30_000;
    private static final int MAX_RESPONSE_BYTES = 16 << 20;

    private final String namespace;
    private final String host;
    private final int port;

    /**
     * @param namespace network namespace of the device (under /var/run/netns).
     * @param host      API host inside it (a literal address).
     * @param port      API port.
     */
    NamespaceHttp(final String namespace, final String host, final int port)
    {
        this.namespace = namespace;
        this.host = host;
        this.port = port;
    }

    /** One answer: status and body. */
    record Response(int status, byte[] body)
    {
        String text()
        {
            return new String(body, StandardCharsets.UTF_8);
        }

        JsonNode json() throws IOException
        {
            return body.length == 0 ? null : Json.mapper().readTree(body);
        }

        boolean ok()
        {
            return status / 100 == 2;
        }

        /** The API's error message ({@code {"error": {"code", "message", "field"}}}), or the status. */
        String error()
        {
            try
            {
                final JsonNode error = json() == null ? null : json().get("error");
                if (error != null)
                {
                    return status + " " + error.path("code").asText() + ": " + error.path("message").asText() +
                        (error.hasNonNull("field") ? " (field " + error.get("field").asText() + ")" : "");
                }
            }
            catch (final IOException ignored)
            {
                // not JSON: fall through to the status line
            }
            return "HTTP " + status;
        }
    }

    String describe()
    {
        return "http://" + host + ":" + port + " in namespace " + namespace;
    }

    Response get(final String path) throws IOException
    {
        return send("GET", path, null);
    }

    /** GET that must succeed, as JSON. */
    JsonNode getJson(final String path) throws IOException
    {
        final Response response = get(path);
        if (!response.ok())
        {
            throw new IOException("GET " + path + ": " + response.error());
        }
        return response.json();
    }

    /**
     * Sends one request; {@code body} (if not null) is serialised as JSON.
     *
     * @throws IOException when the daemon cannot be reached or answers malformed HTTP.
     */
    Response send(final String method, final String path, final Object body) throws IOException
    {
        final byte[] payload = body == null ? new byte[0] : Json.mapper().writeValueAsBytes(body);
        final StringBuilder head = new StringBuilder(256)
            .append(method).append(' ').append(path).append(" HTTP/1.1\r\n")
            .append("Host: ").append(host).append(':').append(port).append("\r\n")
            .append("Connection: close\r\n")
            .append("Accept: application/json\r\n");
        if (body != null)
        {
            head.append("Content-Type: application/json\r\n");
        }
        head.append("Content-Length: ").append(payload.length).append("\r\n\r\n");
        final byte[] raw = NetNs.callIn(namespace, () ->
        {
            try (Socket socket = new Socket())
            {
                socket.connect(new InetSocketAddress(host, port), CONNECT_TIMEOUT_MS);
                socket.setSoTimeout(READ_TIMEOUT_MS);
                final OutputStream out = socket.getOutputStream();
                out.write(head.toString().getBytes(StandardCharsets.US_ASCII));
                out.write(payload);
                out.flush();
                return readAll(socket.getInputStream());
            }
        });
        return parse(raw);
    }

    private static byte[] readAll(final InputStream in) throws IOException
    {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream(4096);
        final byte[] buffer = new byte[8192];
        int n;
        while ((n = in.read(buffer)) >= 0)
        {
            bytes.write(buffer, 0, n);
            if (bytes.size() > MAX_RESPONSE_BYTES)
            {
                throw new IOException("response larger than " + MAX_RESPONSE_BYTES + " bytes");
            }
        }
        return bytes.toByteArray();
    }

    private static Response parse(final byte[] raw) throws IOException
    {
        int headerEnd = -1;
        for (int i = 0; i + 3 < raw.length; i++)
        {
            if (raw[i] == '\r' && raw[i + 1] == '\n' && raw[i + 2] == '\r' && raw[i + 3] == '\n')
            {
                headerEnd = i;
                break;
            }
        }
        if (headerEnd < 0)
        {
            throw new IOException("malformed HTTP response (" + raw.length + " bytes, no end of headers)");
        }
        final String[] lines = new String(raw, 0, headerEnd, StandardCharsets.ISO_8859_1).split("\r\n");
        final String[] status = lines[0].split(" ", 3);
        if (status.length < 2 || !status[0].startsWith("HTTP/1."))
        {
            throw new IOException("malformed HTTP status line: " + lines[0]);
        }
        final int code;
        try
        {
            code = Integer.parseInt(status[1]);
        }
        catch (final NumberFormatException ex)
        {
            throw new IOException("malformed HTTP status line: " + lines[0], ex);
        }
        int length = raw.length - headerEnd - 4;
        for (int i = 1; i < lines.length; i++)
        {
            final int colon = lines[i].indexOf(':');
            if (colon > 0 && lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT).equals("content-length"))
            {
                try
                {
                    length = Math.min(length, Integer.parseInt(lines[i].substring(colon + 1).trim()));
                }
                catch (final NumberFormatException ex)
                {
                    throw new IOException("malformed Content-Length: " + lines[i], ex);
                }
            }
        }
        final byte[] body = new byte[Math.max(0, length)];
        System.arraycopy(raw, headerEnd + 4, body, 0, body.length);
        return new Response(code, body);
    }
}
