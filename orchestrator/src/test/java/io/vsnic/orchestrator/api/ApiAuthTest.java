package io.vsnic.orchestrator.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyStore;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

import com.fasterxml.jackson.databind.JsonNode;
import io.vsnic.orchestrator.TestDaemon;
import io.vsnic.orchestrator.cli.VsnicCli;
import io.vsnic.orchestrator.cluster.ClusterCa;
import io.vsnic.orchestrator.daemon.ConfigException;
import io.vsnic.orchestrator.daemon.Daemon;
import io.vsnic.orchestrator.daemon.DeviceConfig;
import io.vsnic.orchestrator.model.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * API authentication: bearer tokens and mutual TLS with certificates from {@code vsnic certs}, 401 with
 * the standard error body, refusals counted in {@code /metrics}, and the configuration rules for an API
 * that is not on loopback.
 */
class ApiAuthTest
{
    @TempDir
    Path dir;

    /** Status, body as JSON (or null), the raw body. */
    record Reply(int status, JsonNode json, String body, HttpResponse<String> raw)
    {
        String errorCode()
        {
            return json == null ? null : json.path("error").path("code").asText(null);
        }
    }

    private static DeviceConfig config(final String api) throws ConfigException
    {
        return DeviceConfig.parse(("""
            device: {name: auth-device, id: 1}
            api: %s
            substrate: {enabled: false}
            dataplane: {workers: 1, frameSlots: 1024, connectionCapacity: 4096}
            """.formatted(api)).getBytes(StandardCharsets.UTF_8));
    }

    private static Reply get(final HttpClient http, final String url, final String... headers) throws IOException, InterruptedException
    {
        final HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(20));
        for (int i = 0; i < headers.length; i += 2)
        {
            request.header(headers[i], headers[i + 1]);
        }
        final HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        final String type = response.headers().firstValue("content-type").orElse("");
        final JsonNode json = type.startsWith("application/json") ? Json.mapper().readTree(response.body()) : null;
        return new Reply(response.statusCode(), json, response.body(), response);
    }

    private static HttpClient plain()
    {
        return HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    }

    private static HttpClient tls(final Path caCert, final Path clientCert, final Path clientKey) throws Exception
    {
        return tls(caCert, clientCert, clientKey, false);
    }

    /**
     * @param force present the client certificate even when the server asks for another CA's (the JDK's key
     *              manager otherwise offers none, and the server answers 401).
     */
    private static HttpClient tls(final Path caCert, final Path clientCert, final Path clientKey, final boolean force) throws Exception
    {
        KeyManagerFactory keys = null;
        if (clientCert != null)
        {
            final KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, null);
            store.setKeyEntry("c", ClusterCa.readKey(clientKey), new char[0], new X509Certificate[] {ClusterCa.readCertificate(clientCert)});
            keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            keys.init(store, new char[0]);
        }
        final KeyStore trustStore = KeyStore.getInstance("PKCS12");
        trustStore.load(null, null);
        trustStore.setCertificateEntry("ca", ClusterCa.readCertificate(caCert));
        final TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        trust.init(trustStore);
        final SSLContext context = SSLContext.getInstance("TLS");
        KeyManager[] managers = keys == null ? null : keys.getKeyManagers();
        if (force)
        {
            final X509ExtendedKeyManager delegate = (X509ExtendedKeyManager)managers[0];
            managers = new KeyManager[] {new X509ExtendedKeyManager()
            {
                @Override
                public String[] getClientAliases(final String keyType, final Principal[] issuers)
                {
                    return new String[] {"c"};
                }

                @Override
                public String chooseClientAlias(final String[] keyType, final Principal[] issuers, final Socket socket)
                {
                    return "c";
                }

                @Override
                public String chooseEngineClientAlias(final String[] keyType, final Principal[] issuers, final SSLEngine engine)
                {
                    return "c";
                }

                @Override
                public String[] getServerAliases(final String keyType, final Principal[] issuers)
                {
                    return null;
                }

                @Override
                public String chooseServerAlias(final String keyType, final Principal[] issuers, final Socket socket)
                {
                    return null;
                }

                @Override
                public X509Certificate[] getCertificateChain(final String alias)
                {
                    return delegate.getCertificateChain(alias);
                }

                @Override
                public PrivateKey getPrivateKey(final String alias)
                {
                    return delegate.getPrivateKey(alias);
                }
            }};
        }
        context.init(managers, trust.getTrustManagers(), new SecureRandom());
        return HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).sslContext(context).build();
    }

    static long metric(final String exposition, final String reason)
    {
        final Matcher m = Pattern.compile("^vsnic_api_auth_failures_total\\{reason=\"" + reason + "\"} (\\d+)$", Pattern.MULTILINE)
            .matcher(exposition);
        assertTrue(m.find(), "no sample for " + reason + " in\n" + exposition);
        return Long.parseLong(m.group(1));
    }

    static int vsnic(final StringWriter out, final StringWriter err, final String... args)
    {
        final CommandLine cli = VsnicCli.commandLine();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        return cli.execute(args);
    }

    private static void certs(final Path state, final String... args)
    {
        final StringWriter out = new StringWriter();
        final StringWriter err = new StringWriter();
        final String[] all = new String[args.length + 3];
        all[0] = "certs";
        System.arraycopy(args, 0, all, 1, args.length);
        all[args.length + 1] = "--state-dir";
        all[args.length + 2] = state.toString();
        assertEquals(0, vsnic(out, err, all), err.toString());
    }

    @Test
    void shouldRefuseRequestsWithoutTheBearerTokenAndCountThem() throws Exception
    {
        final Path state = dir.resolve("state");
        try (TestDaemon daemon = new TestDaemon(state, config("{listen: \"127.0.0.1:0\", auth: token}")))
        {
            final Path tokenFile = state.resolve(ApiAuth.TOKEN_FILE);
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(tokenFile)));
            final String token = Files.readString(tokenFile).strip();
            assertTrue(token.length() >= 40, token);
            final String base = daemon.base();
            final HttpClient http = plain();

            final Reply missing = get(http, base + "/v1/status");
            assertEquals(401, missing.status());
            assertEquals("unauthorized", missing.errorCode());
            assertNotNull(missing.json().path("error").path("message").asText(null));
            assertTrue(missing.raw().headers().firstValue("www-authenticate").orElse("").startsWith("Bearer"));
            assertEquals(401, get(http, base + "/metrics").status(), "metrics need the token too");
            assertEquals(401, get(http, base + "/v1/status", "Authorization", "Bearer " + token + "x").status());
            assertEquals(401, get(http, base + "/v1/status", "Authorization", "Basic " + token).status());

            assertEquals(200, get(http, base + "/v1/status", "Authorization", "Bearer " + token).status());
            final String metrics = get(http, base + "/metrics", "Authorization", "Bearer " + token).body();
            assertEquals(2, metric(metrics, "missing_token"));
            assertEquals(2, metric(metrics, "invalid_token"));
            assertEquals(0, metric(metrics, "tls_handshake"));

            // the CLI with --token-file, and without it
            final StringWriter out = new StringWriter();
            final StringWriter err = new StringWriter();
            assertEquals(0, vsnic(out, err, "status", "--api", base, "--token-file", tokenFile.toString()), err.toString());
            final StringWriter err2 = new StringWriter();
            assertEquals(1, vsnic(new StringWriter(), err2, "status", "--api", base));
            assertTrue(err2.toString().contains("401 unauthorized"), err2.toString());
        }
        // the token survives a restart
        final String before = Files.readString(state.resolve(ApiAuth.TOKEN_FILE));
        try (TestDaemon daemon = new TestDaemon(state, config("{listen: \"127.0.0.1:0\", auth: token}")))
        {
            assertEquals(before, Files.readString(state.resolve(ApiAuth.TOKEN_FILE)));
            assertEquals(200, get(plain(), daemon.base() + "/v1/status", "Authorization", "Bearer " + before.strip()).status());
        }
    }

    @Test
    void shouldRefuseToStartWithATokenFileOthersCanRead() throws Exception
    {
        final Path state = dir.resolve("state");
        Files.createDirectories(state);
        final Path tokenFile = state.resolve(ApiAuth.TOKEN_FILE);
        Files.writeString(tokenFile, "0123456789abcdef0123456789abcdef\n");
        Files.setPosixFilePermissions(tokenFile, PosixFilePermissions.fromString("rw-r--r--"));
        final Daemon.StartException ex = assertThrows(Daemon.StartException.class,
            () -> new TestDaemon(state, config("{listen: \"127.0.0.1:0\", auth: token}")).close());
        assertTrue(ex.getMessage().contains("chmod 600"), ex.getMessage());
    }

    @Test
    void shouldServeClientsWithACertificateFromTheDeviceCaOnly() throws Exception
    {
        final Path state = dir.resolve("state");
        certs(state, "init", "--name", "auth-device");
        certs(state, "issue", "ops");
        final Path tlsDir = state.resolve("api-tls");
        for (final String secret : new String[] {"ca.key", "server.key", "clients/ops.key"})
        {
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(tlsDir.resolve(secret))), secret);
        }
        // a second, unrelated CA and a client certificate from it
        final Path other = dir.resolve("other");
        certs(other, "init");
        certs(other, "issue", "ops");
        final Path otherDir = other.resolve("api-tls");

        final String api = "{listen: \"127.0.0.1:0\", auth: mtls, tls: {cert: \"%s\", key: \"%s\", clientCa: \"%s\"}}"
            .formatted(tlsDir.resolve("server.crt"), tlsDir.resolve("server.key"), tlsDir.resolve("ca.crt"));
        try (TestDaemon daemon = new TestDaemon(state, config(api)))
        {
            final String base = "https://127.0.0.1:" + daemon.daemon.apiAddress().getPort();
            final Path ca = tlsDir.resolve("ca.crt");
            final HttpClient good = tls(ca, tlsDir.resolve("clients/ops.crt"), tlsDir.resolve("clients/ops.key"));
            assertEquals(200, get(good, base + "/v1/status").status());

            final Reply anonymous = get(tls(ca, null, null), base + "/v1/networks");
            assertEquals(401, anonymous.status());
            assertEquals("unauthorized", anonymous.errorCode());

            // a client certificate from another CA: the JDK client does not offer it (401); forced, the handshake fails
            final Reply offeredNone = get(tls(ca, otherDir.resolve("clients/ops.crt"), otherDir.resolve("clients/ops.key")), base + "/v1/status");
            assertEquals(401, offeredNone.status());
            final HttpClient wrongCa = tls(ca, otherDir.resolve("clients/ops.crt"), otherDir.resolve("clients/ops.key"), true);
            assertThrows(IOException.class, () -> get(wrongCa, base + "/v1/status"), "a certificate from another CA");
            // the client does not trust a server certificate from another CA either
            assertThrows(IOException.class, () -> get(tls(otherDir.resolve("ca.crt"), otherDir.resolve("clients/ops.crt"),
                otherDir.resolve("clients/ops.key")), base + "/v1/status"));
            assertThrows(IOException.class, () -> get(plain(), "http://127.0.0.1:" + daemon.daemon.apiAddress().getPort() + "/v1/status"),
                "plain HTTP on the TLS port");

            final String metrics = get(good, base + "/metrics").body();
            assertEquals(2, metric(metrics, "missing_client_certificate"));
            assertTrue(metric(metrics, "tls_handshake") >= 2, metrics);

            // the CLI: --cacert/--cert/--key, and without a certificate
            final StringWriter out = new StringWriter();
            final StringWriter err = new StringWriter();
            assertEquals(0, vsnic(out, err, "get", "networks", "--api", base, "--cacert", ca.toString(), "--cert",
                tlsDir.resolve("clients/ops.crt").toString(), "--key", tlsDir.resolve("clients/ops.key").toString()), err.toString());
            final StringWriter err2 = new StringWriter();
            assertEquals(1, vsnic(new StringWriter(), err2, "get", "networks", "--api", base, "--cacert", ca.toString()));
            assertTrue(err2.toString().contains("401 unauthorized"), err2.toString());
        }
    }

    @Test
    void shouldRequireAuthAndTlsOnANonLoopbackAddress() throws Exception
    {
        ConfigException ex = assertThrows(ConfigException.class, () -> config("{listen: \"0.0.0.0:0\"}"));
        assertEquals("api.auth", ex.field());
        ex = assertThrows(ConfigException.class, () -> config("{listen: \"0.0.0.0:0\", auth: none}"));
        assertEquals("api.auth", ex.field());
        ex = assertThrows(ConfigException.class, () -> config("{listen: \"0.0.0.0:0\", auth: token}"));
        assertEquals("api.tls", ex.field());
        ex = assertThrows(ConfigException.class, () -> config("{listen: \"127.0.0.1:0\", auth: basic}"));
        assertEquals("api.auth", ex.field());
        ex = assertThrows(ConfigException.class, () -> config("{listen: \"127.0.0.1:0\", auth: mtls, tls: {cert: a, key: b}}"));
        assertEquals("api.tls.clientCa", ex.field());
        ex = assertThrows(ConfigException.class, () -> config("{listen: \"127.0.0.1:0\", auth: token, tls: {cert: a}}"));
        assertEquals("api.tls.key", ex.field());

        // token over TLS on the wildcard address: reached here through loopback only
        final Path state = dir.resolve("state");
        certs(state, "init");
        final Path tlsDir = state.resolve("api-tls");
        final String api = "{listen: \"0.0.0.0:0\", auth: token, tls: {cert: \"%s\", key: \"%s\"}}"
            .formatted(tlsDir.resolve("server.crt"), tlsDir.resolve("server.key"));
        try (TestDaemon daemon = new TestDaemon(state, config(api)))
        {
            final String base = "https://127.0.0.1:" + daemon.daemon.apiAddress().getPort();
            final HttpClient http = tls(tlsDir.resolve("ca.crt"), null, null);
            assertEquals(401, get(http, base + "/v1/status").status());
            final String token = Files.readString(state.resolve(ApiAuth.TOKEN_FILE)).strip();
            assertEquals(200, get(http, base + "/v1/status", "Authorization", "Bearer " + token).status());
        }
    }

    @Test
    void shouldRefuseAServerKeyOthersCanRead() throws Exception
    {
        final Path state = dir.resolve("state");
        certs(state, "init");
        final Path tlsDir = state.resolve("api-tls");
        Files.setPosixFilePermissions(tlsDir.resolve("server.key"), PosixFilePermissions.fromString("rw-r--r--"));
        final String api = "{listen: \"127.0.0.1:0\", auth: token, tls: {cert: \"%s\", key: \"%s\"}}"
            .formatted(tlsDir.resolve("server.crt"), tlsDir.resolve("server.key"));
        final Daemon.StartException ex = assertThrows(Daemon.StartException.class, () -> new TestDaemon(state, config(api)).close());
        assertTrue(ex.getMessage().contains("api.tls.key"), ex.getMessage());
    }
}
