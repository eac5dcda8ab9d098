package io.vsnic.orchestrator.cluster;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Join tokens ({@code vsnic cluster token}): random, single-use, expiring. Only their SHA-256 and expiry
 * are kept, on the device that issued them (the one holding the CA key, the only one that can admit a
 * device): in memory and, with a file, in {@code STATE_DIR/cluster/join-tokens} (mode 0600, one
 * {@code SHA256-HEX EXPIRY-EPOCH-MS} per line), rewritten atomically and fsync'ed on every issue and
 * every use before the answer goes out. So outstanding tokens survive a restart of that daemon, and a
 * used one stays used. They are not replicated: no other device could use them without the CA key.
 * Thread-safe.
 */
public final class JoinTokens
{
    /** Longest lifetime a token may ask for. */
    public static final long MAX_TTL_SECONDS = 24 * 3600;
    /** The file's name in {@code STATE_DIR/cluster}. */
    public static final String FILE = "join-tokens";

    private static final Pattern LINE = Pattern.compile("[0-9a-f]{64} [0-9]{1,19}");
    private static final Set<PosixFilePermission> OWNER_ONLY = Set.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE);

    private final SecureRandom random = new SecureRandom();
    private final Map<String, Long> expiryMsByHash = new LinkedHashMap<>();
    private final Path file;

    /** Tokens kept in memory only (a restart voids them). */
    public JoinTokens()
    {
        this.file = null;
    }

    private JoinTokens(final Path file)
    {
        this.file = file;
    }

    /**
     * Loads the tokens kept in {@code file} (none when it does not exist); expired ones are dropped.
     *
     * @throws IOException when the file cannot be read, is readable by group or others, or a line is not
     *     {@code HASH EXPIRY} (the message names the line).
     */
    public static JoinTokens open(final Path file, final long nowMs) throws IOException
    {
        final JoinTokens tokens = new JoinTokens(file);
        if (!Files.exists(file))
        {
            return tokens;
        }
        if (!OWNER_ONLY.containsAll(Files.getPosixFilePermissions(file)))
        {
            throw new IOException(file + " is readable by group or others (" +
                java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(file)) + "): it must be 0600");
        }
        final List<String> lines = Files.readAllLines(file, StandardCharsets.US_ASCII);
        for (int i = 0; i < lines.size(); i++)
        {
            final String line = lines.get(i).strip();
            if (line.isEmpty())
            {
                continue;
            }
            if (!LINE.matcher(line).matches())
            {
                throw new IOException(file + " line " + (i + 1) + ": not 'SHA256-HEX EXPIRY-MS'");
            }
            final long expiry = Long.parseLong(line.substring(65));
            if (expiry >= nowMs)
            {
                tokens.expiryMsByHash.put(line.substring(0, 64), expiry);
            }
        }
        return tokens;
    }

    /**
     * @return a new token valid for {@code ttlSeconds}.
     * @throws IOException when the token file cannot be written (no token is issued).
     */
    public synchronized String issue(final long ttlSeconds, final long nowMs) throws IOException
    {
        if (ttlSeconds < 1 || ttlSeconds > MAX_TTL_SECONDS)
        {
            throw new IllegalArgumentException("ttlSeconds must be in 1.." + MAX_TTL_SECONDS + ": " + ttlSeconds);
        }
        expiryMsByHash.values().removeIf(expiry -> expiry < nowMs);
        final byte[] bytes = new byte[32];
        random.nextBytes(bytes);
        final String token = Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
        final String hash = hash(token);
        expiryMsByHash.put(hash, nowMs + ttlSeconds * 1000);
        try
        {
            save();
        }
        catch (final IOException ex)
        {
            expiryMsByHash.remove(hash);
            throw ex;
        }
        return token;
    }

    /**
     * Uses a token up (durably, before this returns true).
     *
     * @return true when it was issued here, unused and not expired (it is now used).
     * @throws IOException when the use cannot be recorded (the token is then not accepted, and stays usable).
     */
    public synchronized boolean consume(final String token, final long nowMs) throws IOException
    {
        if (token == null)
        {
            return false;
        }
        final String hash = hash(token);
        final Long expiry = expiryMsByHash.remove(hash);
        if (expiry == null)
        {
            return false;
        }
        expiryMsByHash.values().removeIf(e -> e < nowMs);
        try
        {
            save();
        }
        catch (final IOException ex)
        {
            expiryMsByHash.put(hash, expiry);
            throw ex;
        }
        return expiry >= nowMs;
    }

    /** @return how many tokens are outstanding (issued, unused; expired ones until the next issue or use). */
    public synchronized int outstanding()
    {
        return expiryMsByHash.size();
    }

    private void save() throws IOException
    {
        if (file == null)
        {
            return;
        }
        final StringBuilder text = new StringBuilder(expiryMsByHash.size() * 80);
        expiryMsByHash.forEach((hash, expiry) -> text.append(hash).append(' ').append(expiry).append('\n'));
        Files.createDirectories(file.getParent());
        ClusterCa.writeSecret(file, text.toString());
    }

    private static String hash(final String token)
    {
        try
        {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8)));
        }
        catch (final NoSuchAlgorithmException ex)
        {
            throw new IllegalStateException(ex);
        }
    }
}
