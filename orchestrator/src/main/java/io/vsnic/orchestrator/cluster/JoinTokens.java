package io.vsnic.orchestrator.cluster;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;

/**
 * Join tokens ({@code vsnic cluster token}): random, single-use, expiring. Only their SHA-256 is
 * kept, in memory on the device that issued them (the one holding the CA key): a restart voids them.
 */
public final class JoinTokens
{
    /** Longest lifetime a token may ask for. */
    public static final long MAX_TTL_SECONDS = 24 * 3600;

    private final SecureRandom random = new SecureRandom();
    private final Map<String, Long> expiryMsByHash = new HashMap<>();

    /**
     * @return a new token valid for {@code ttlSeconds}.
     */
    public synchronized String issue(final long ttlSeconds, final long nowMs)
    {
        if (ttlSeconds < 1 || ttlSeconds > MAX_TTL_SECONDS)
        {
            throw new IllegalArgumentException("ttlSeconds must be in 1.." + MAX_TTL_SECONDS + ": " + ttlSeconds);
        }
        expiryMsByHash.values().removeIf(expiry -> expiry < nowMs);
        final byte[] bytes = new byte[32];
        random.nextBytes(bytes);
        final String token = Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
        expiryMsByHash.put(hash(token), nowMs + ttlSeconds * 1000);
        return token;
    }

    /**
     * Uses a token up.
     *
     * @return true when it was issued here, unused and not expired (it is now used).
     */
    public synchronized boolean consume(final String token, final long nowMs)
    {
        if (token == null)
        {
            return false;
        }
        final Long expiry = expiryMsByHash.remove(hash(token));
        return expiry != null && expiry >= nowMs;
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
