package io.vsnic.orchestrator.api;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.util.Base64;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLongArray;

import javax.net.ssl.SSLException;

import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.vsnic.orchestrator.cluster.ClusterCa;
import io.vsnic.orchestrator.daemon.DeviceConfig;

/**
 * Authentication of API requests ({@code api.auth} in the device configuration):
 * <ul>
 *   <li>{@code none}: every request is served (only allowed on a loopback address);</li>
 *   <li>{@code token}: every request carries {@code Authorization: Bearer TOKEN}, where TOKEN is the content of
 *       {@code STATE_DIR/api.token} (32 random bytes, base64url; generated with mode 0600 at the first start,
 *       a file readable by group or others is refused);</li>
 *   <li>{@code mtls}: the TLS client presents a certificate that chains to {@code api.tls.clientCa}. A client
 *       without a certificate completes the handshake and gets 401; a certificate from another CA fails the
 *       handshake.</li>
 * </ul>
 * With {@code api.tls} the API serves HTTPS (Netty {@code SslHandler}, JDK provider). Every refusal is counted per
 * reason ({@link Failure}) and exported as {@code vsnic_api_auth_failures_total}. Thread-safe.
 */
public final class ApiAuth
{
    /** The token file's name in the state directory. */
    public static final String TOKEN_FILE = "api.token";

    /** Why a request (or connection) was refused. */
    public enum Failure
    {
        /** No Authorization header (token mode). */
        missing_token,
        /** An Authorization header that is not a bearer token, or the wrong token. */
        invalid_token,
        /** A TLS client without a certificate (mtls mode). */
        missing_client_certificate,
        /** A TLS handshake failed: a certificate from another CA, an expired one, plain HTTP on the TLS port... */
        tls_handshake;

        static final Failure[] VALUES = values();
    }

    /** Mode. */
    public enum Mode
    {
        none, token, mtls
    }

    private static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rw-------");

    private final Mode mode;
    private final byte[] token;
    private final SslContext ssl;
    private final AtomicLongArray failures = new AtomicLongArray(Failure.VALUES.length);

    private ApiAuth(final Mode mode, final byte[] token, final SslContext ssl)
    {
        this.mode = mode;
        this.token = token;
        this.ssl = ssl;
    }

    /**
     * @return authentication that lets everything through, plain HTTP.
     */
    public static ApiAuth none()
    {
        return new ApiAuth(Mode.none, null, null);
    }

    /**
     * Sets up authentication from the (validated) configuration: reads or generates the token, reads the
     * certificates and keys.
     *
     * @throws IOException naming the file that cannot be read or has the wrong mode.
     */
    public static ApiAuth create(final DeviceConfig.Api api, final Path stateDirectory) throws IOException
    {
        final Mode mode = Mode.valueOf(api.auth());
        final byte[] token = mode == Mode.token ? readOrCreateToken(stateDirectory.resolve(TOKEN_FILE)) : null;
        SslContext ssl = null;
        if (api.tls() != null)
        {
            ssl = sslContext(api.tls(), mode == Mode.mtls);
        }
        return new ApiAuth(mode, token, ssl);
    }

    private static SslContext sslContext(final DeviceConfig.Tls tls, final boolean clientCertificates) throws IOException
    {
        final Path certFile = Path.of(tls.cert());
        final Path keyFile = Path.of(tls.key());
        final X509Certificate cert = certificate("api.tls.cert", certFile);
        checkOwnerOnly("api.tls.key", keyFile);
        final PrivateKey key;
        try
        {
            key = ClusterCa.readKey(keyFile);
        }
        catch (final IOException ex)
        {
            throw new IOException("api.tls.key: cannot read " + keyFile + ": " + ex.getMessage(), ex);
        }
        try
        {
            final SslContextBuilder builder = SslContextBuilder.forServer(key, cert);
            if (clientCertificates)
            {
                builder.trustManager(certificate("api.tls.clientCa", Path.of(tls.clientCa())));
                // OPTIONAL: a client without a certificate still gets an HTTP answer (401); a certificate that
                // does not chain to the client CA fails the handshake
                builder.clientAuth(ClientAuth.OPTIONAL);
            }
            return builder.protocols("TLSv1.3", "TLSv1.2").build();
        }
        catch (final SSLException ex)
        {
            throw new IOException("api.tls: " + ex.getMessage(), ex);
        }
    }

    private static X509Certificate certificate(final String field, final Path file) throws IOException
    {
        try
        {
            final X509Certificate cert = ClusterCa.readCertificate(file);
            cert.checkValidity();
            return cert;
        }
        catch (final IOException | GeneralSecurityException ex)
        {
            throw new IOException(field + ": cannot read a valid PEM certificate from " + file + ": " + ex.getMessage(), ex);
        }
    }

    private static void checkOwnerOnly(final String what, final Path file) throws IOException
    {
        if (!Files.exists(file))
        {
            throw new IOException(what + ": " + file + " does not exist");
        }
        final Set<PosixFilePermission> permissions = Files.getPosixFilePermissions(file);
        for (final PosixFilePermission p : permissions)
        {
            if (!OWNER_ONLY.contains(p) && p != PosixFilePermission.OWNER_EXECUTE)
            {
                throw new IOException(what + ": " + file + " is readable by others (mode " +
                    PosixFilePermissions.toString(permissions) + "): chmod 600 it");
            }
        }
    }

    private static byte[] readOrCreateToken(final Path file) throws IOException
    {
        if (!Files.exists(file))
        {
            final byte[] random = new byte[32];
            new SecureRandom().nextBytes(random);
            final String text = Base64.getUrlEncoder().withoutPadding().encodeToString(random) + "\n";
            ClusterCa.writeSecret(file, text);
        }
        checkOwnerOnly("api token", file);
        final String text = Files.readString(file, StandardCharsets.US_ASCII).strip();
        if (text.length() < 16)
        {
            throw new IOException("api token: " + file + " holds no token (at least 16 characters); delete it to have a new one made");
        }
        return text.getBytes(StandardCharsets.US_ASCII);
    }

    /**
     * @return the mode.
     */
    public Mode mode()
    {
        return mode;
    }

    /**
     * @return the server's TLS context, or null for plain HTTP.
     */
    public SslContext ssl()
    {
        return ssl;
    }

    /**
     * Checks a request's {@code Authorization} header (token mode) or whether the TLS client presented a
     * certificate (mtls mode), counting a refusal.
     *
     * @param authorization     the header, or null.
     * @param clientCertificate whether the TLS session has a verified client certificate.
     * @return null when the request may pass, otherwise why it may not.
     */
    public Failure check(final String authorization, final boolean clientCertificate)
    {
        final Failure failure = switch (mode)
        {
            case none -> null;
            case mtls -> clientCertificate ? null : Failure.missing_client_certificate;
            case token -> checkToken(authorization);
        };
        if (failure != null)
        {
            count(failure);
        }
        return failure;
    }

    private Failure checkToken(final String authorization)
    {
        if (authorization == null || authorization.isBlank())
        {
            return Failure.missing_token;
        }
        final String prefix = "Bearer ";
        if (authorization.length() <= prefix.length() || !authorization.regionMatches(true, 0, prefix, 0, prefix.length()))
        {
            return Failure.invalid_token;
        }
        final byte[] presented = authorization.substring(prefix.length()).strip().getBytes(StandardCharsets.US_ASCII);
        return MessageDigest.isEqual(presented, token) ? null : Failure.invalid_token;
    }

    /**
     * Counts a refusal that happened outside {@link #check} (a failed TLS handshake).
     */
    public void count(final Failure failure)
    {
        failures.incrementAndGet(failure.ordinal());
    }

    /**
     * @return how many requests or connections were refused for a reason.
     */
    public long failures(final Failure failure)
    {
        return failures.get(failure.ordinal());
    }
}
