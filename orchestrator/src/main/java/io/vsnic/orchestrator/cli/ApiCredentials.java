package io.vsnic.orchestrator.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

import io.vsnic.orchestrator.cluster.ClusterCa;
import picocli.CommandLine.Option;

/**
 * The credentials for an API that is not on loopback, shared by every command that talks to a daemon
 * (through {@link ApiOptions}) and by {@code cluster join} (whose head API is an argument):
 * {@code --token-file} (bearer token), {@code --cert}/{@code --key} (TLS client certificate) and
 * {@code --cacert} (the CA that issued the daemon's server certificate).
 */
final class ApiCredentials
{
    @Option(names = "--token-file", paramLabel = "FILE", defaultValue = "${env:VSNIC_TOKEN_FILE}",
        description = "send the bearer token in FILE (the daemon's STATE_DIR/api.token; default: $VSNIC_TOKEN_FILE)")
    Path tokenFile;

    @Option(names = "--cert", paramLabel = "PEM", defaultValue = "${env:VSNIC_CERT}",
        description = "TLS client certificate (vsnic certs issue NAME; default: $VSNIC_CERT)")
    Path cert;

    @Option(names = "--key", paramLabel = "PEM", defaultValue = "${env:VSNIC_KEY}",
        description = "the client certificate's private key (default: $VSNIC_KEY)")
    Path key;

    @Option(names = "--cacert", paramLabel = "PEM", defaultValue = "${env:VSNIC_CACERT}",
        description = "CA certificate that the daemon's server certificate must chain to (default: $VSNIC_CACERT, else the JDK's trust store)")
    Path cacert;

    /**
     * @return a client for the API at {@code url} that sends these credentials.
     */
    ApiClient client(final String url) throws ApiClient.ApiException
    {
        checkUrl(url);
        return new ApiClient(url, token(), sslContext());
    }

    /**
     * @throws ApiClient.ApiException when {@code url} is not an http:// or https:// URL with a host.
     */
    static void checkUrl(final String url) throws ApiClient.ApiException
    {
        java.net.URI uri = null;
        try
        {
            uri = new java.net.URI(url);
        }
        catch (final java.net.URISyntaxException ex)
        {
            // uri stays null: refused below
        }
        if (uri == null || !("http".equals(uri.getScheme()) || "https".equals(uri.getScheme())) || uri.getHost() == null)
        {
            throw new ApiClient.ApiException("not an API URL: " + url + " (expected http://HOST:PORT or https://HOST:PORT)");
        }
    }

    private String token() throws ApiClient.ApiException
    {
        if (tokenFile == null)
        {
            return null;
        }
        try
        {
            final String token = Files.readString(tokenFile, StandardCharsets.US_ASCII).strip();
            if (token.isEmpty() || token.chars().anyMatch(c -> c <= ' ' || c > '~'))
            {
                throw new ApiClient.ApiException("--token-file " + tokenFile + " does not hold a token");
            }
            return token;
        }
        catch (final IOException ex)
        {
            throw new ApiClient.ApiException("--token-file: cannot read " + tokenFile + ": " + ex.getMessage());
        }
    }

    private SSLContext sslContext() throws ApiClient.ApiException
    {
        if (cert == null && key == null && cacert == null)
        {
            return null;
        }
        if ((cert == null) != (key == null))
        {
            throw new ApiClient.ApiException("--cert and --key go together");
        }
        try
        {
            KeyManagerFactory keys = null;
            if (cert != null)
            {
                final X509Certificate certificate = read("--cert", cert);
                final PrivateKey privateKey;
                try
                {
                    privateKey = ClusterCa.readKey(key);
                }
                catch (final IOException ex)
                {
                    throw new ApiClient.ApiException("--key: cannot read " + key + ": " + ex.getMessage());
                }
                final KeyStore store = KeyStore.getInstance("PKCS12");
                store.load(null, null);
                final char[] password = new char[0];
                store.setKeyEntry("client", privateKey, password, new X509Certificate[] {certificate});
                keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                keys.init(store, password);
            }
            TrustManagerFactory trust = null;
            if (cacert != null)
            {
                final KeyStore store = KeyStore.getInstance("PKCS12");
                store.load(null, null);
                store.setCertificateEntry("ca", read("--cacert", cacert));
                trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
                trust.init(store);
            }
            final SSLContext context = SSLContext.getInstance("TLS");
            context.init(keys == null ? null : keys.getKeyManagers(), trust == null ? null : trust.getTrustManagers(), new SecureRandom());
            return context;
        }
        catch (final GeneralSecurityException | IOException ex)
        {
            throw new ApiClient.ApiException("TLS setup failed: " + ex.getMessage());
        }
    }

    private static X509Certificate read(final String option, final Path file) throws ApiClient.ApiException
    {
        try
        {
            return ClusterCa.readCertificate(file);
        }
        catch (final IOException | GeneralSecurityException ex)
        {
            throw new ApiClient.ApiException(option + ": cannot read a PEM certificate from " + file + ": " + ex.getMessage());
        }
    }
}
