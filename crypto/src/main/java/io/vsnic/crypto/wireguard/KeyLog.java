package io.vsnic.crypto.wireguard;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Objects;

import io.vsnic.crypto.DeviceKeys;

/**
 * Wireshark's WireGuard key log ({@code wg.keylog_file}, also the pcapng Decryption Secrets Block
 * of type {@code 0x57474b4c} "WGKL"): one {@code NAME=base64} line per 32-byte key, with optional
 * spaces at the start of the line and around {@code =}. Names:
 * <ul>
 *   <li>{@code LOCAL_STATIC_PRIVATE_KEY}, {@code REMOTE_STATIC_PUBLIC_KEY};</li>
 *   <li>{@code LOCAL_EPHEMERAL_PRIVATE_KEY}, one per handshake;</li>
 *   <li>{@code PRESHARED_KEY}, which belongs to the {@code LOCAL_EPHEMERAL_PRIVATE_KEY} line just
 *       before it.</li>
 * </ul>
 * Private keys are kept as written (not clamped): X25519 clamps them when they are used.
 *
 * @param localStaticPrivateKeys  LOCAL_STATIC_PRIVATE_KEY values, in order.
 * @param remoteStaticPublicKeys  REMOTE_STATIC_PUBLIC_KEY values, in order.
 * @param ephemeralKeys           LOCAL_EPHEMERAL_PRIVATE_KEY values with their PRESHARED_KEY, in order.
 */
public record KeyLog(List<byte[]> localStaticPrivateKeys, List<byte[]> remoteStaticPublicKeys,
    List<EphemeralKey> ephemeralKeys)
{
    /** Name of a local static private key line. */
    public static final String LOCAL_STATIC_PRIVATE_KEY = "LOCAL_STATIC_PRIVATE_KEY";
    /** Name of a remote static public key line. */
    public static final String REMOTE_STATIC_PUBLIC_KEY = "REMOTE_STATIC_PUBLIC_KEY";
    /** Name of a local ephemeral private key line. */
    public static final String LOCAL_EPHEMERAL_PRIVATE_KEY = "LOCAL_EPHEMERAL_PRIVATE_KEY";
    /** Name of a pre-shared key line. */
    public static final String PRESHARED_KEY = "PRESHARED_KEY";

    /**
     * An ephemeral private key and the pre-shared key used with it.
     *
     * @param privateKey   32 bytes.
     * @param presharedKey 32 bytes, or null when no PRESHARED_KEY line followed.
     */
    public record EphemeralKey(byte[] privateKey, byte[] presharedKey)
    {
        /**
         * Validates the key.
         */
        public EphemeralKey
        {
            Objects.requireNonNull(privateKey, "privateKey");
        }
    }

    /**
     * Copies the lists.
     */
    public KeyLog
    {
        localStaticPrivateKeys = List.copyOf(localStaticPrivateKeys);
        remoteStaticPublicKeys = List.copyOf(remoteStaticPublicKeys);
        ephemeralKeys = List.copyOf(ephemeralKeys);
    }

    /**
     * Parses a key log. Blank lines and lines starting with {@code #} are skipped.
     *
     * @param text the key log.
     * @return its keys.
     * @throws IllegalArgumentException naming the line, for an unknown name, a line without
     *                                  {@code =}, a value that is not base64 of 32 bytes, or a
     *                                  PRESHARED_KEY with no ephemeral key before it.
     */
    public static KeyLog parse(final String text)
    {
        final List<byte[]> locals = new ArrayList<>();
        final List<byte[]> remotes = new ArrayList<>();
        final List<EphemeralKey> ephemerals = new ArrayList<>();
        final String[] lines = text.split("\r?\n", -1);
        for (int i = 0; i < lines.length; i++)
        {
            final String line = lines[i].strip();
            if (line.isEmpty() || line.startsWith("#"))
            {
                continue;
            }
            final int eq = line.indexOf('=');
            if (eq < 0)
            {
                throw new IllegalArgumentException("key log line " + (i + 1) + ": expected NAME=base64, got '" + line + "'");
            }
            final String name = line.substring(0, eq).strip();
            final byte[] key;
            try
            {
                key = DeviceKeys.decodeKey(line.substring(eq + 1).strip());
            }
            catch (final IllegalArgumentException ex)
            {
                throw new IllegalArgumentException("key log line " + (i + 1) + " (" + name + "): " + ex.getMessage(), ex);
            }
            switch (name)
            {
                case LOCAL_STATIC_PRIVATE_KEY -> locals.add(key);
                case REMOTE_STATIC_PUBLIC_KEY -> remotes.add(key);
                case LOCAL_EPHEMERAL_PRIVATE_KEY -> ephemerals.add(new EphemeralKey(key, null));
                case PRESHARED_KEY -> {
                    if (ephemerals.isEmpty())
                    {
                        throw new IllegalArgumentException("key log line " + (i + 1) +
                            ": PRESHARED_KEY without a LOCAL_EPHEMERAL_PRIVATE_KEY before it");
                    }
                    final EphemeralKey last = ephemerals.removeLast();
                    ephemerals.add(new EphemeralKey(last.privateKey(), key));
                }
                default -> throw new IllegalArgumentException("key log line " + (i + 1) + ": unknown key name '" + name +
                    "' (expected " + LOCAL_STATIC_PRIVATE_KEY + ", " + REMOTE_STATIC_PUBLIC_KEY + ", " +
                    LOCAL_EPHEMERAL_PRIVATE_KEY + " or " + PRESHARED_KEY + ")");
            }
        }
        return new KeyLog(locals, remotes, ephemerals);
    }

    /**
     * Writes key log lines as Wireshark reads them ({@code NAME=base64\n}). Thread safe.
     */
    public static final class Writer
    {
        private final Appendable out;

        /**
         * @param out where lines go (a file writer, a StringBuilder...). Flushed after each line when Flushable.
         */
        public Writer(final Appendable out)
        {
            this.out = Objects.requireNonNull(out, "out");
        }

        /**
         * @param key our static private key.
         */
        public void localStaticPrivateKey(final byte[] key)
        {
            line(LOCAL_STATIC_PRIVATE_KEY, key);
        }

        /**
         * @param key a peer's static public key.
         */
        public void remoteStaticPublicKey(final byte[] key)
        {
            line(REMOTE_STATIC_PUBLIC_KEY, key);
        }

        /**
         * @param key          the ephemeral private key of a handshake message we created.
         * @param presharedKey the pre-shared key of that handshake, or null (nothing written) when none.
         */
        public synchronized void localEphemeralPrivateKey(final byte[] key, final byte[] presharedKey)
        {
            line(LOCAL_EPHEMERAL_PRIVATE_KEY, key);
            if (presharedKey != null)
            {
                line(PRESHARED_KEY, presharedKey);
            }
        }

        private synchronized void line(final String name, final byte[] key)
        {
            try
            {
                out.append(name).append('=').append(Base64.getEncoder().encodeToString(key)).append('\n');
                if (out instanceof java.io.Flushable flushable)
                {
                    flushable.flush();
                }
            }
            catch (final IOException ex)
            {
                throw new UncheckedIOException("cannot write the WireGuard key log", ex);
            }
        }
    }
}
