package io.vsnic.dataplane.capture;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Objects;

/**
 * The contents of one pcapng Decryption Secrets Block: keys that let a dissector decrypt the
 * captured traffic, for example a WireGuard key log.
 *
 * <p>Equality compares the bytes of {@link #data()}, not the array reference.
 *
 * @param type secrets type, for example {@link #WIREGUARD_KEY_LOG}.
 * @param data the secrets, exactly as stored (without the block's padding).
 */
public record DecryptionSecrets(int type, byte[] data)
{
    /** WireGuard key log ("WGKL"): text lines {@code NAME=base64}, as Wireshark's {@code wg.keylog_file}. */
    public static final int WIREGUARD_KEY_LOG = 0x57474b4c;
    /** TLS key log ("TLSK"): NSS key log format, as {@code SSLKEYLOGFILE}. */
    public static final int TLS_KEY_LOG = 0x544c534b;

    /**
     * Validates the components.
     */
    public DecryptionSecrets
    {
        Objects.requireNonNull(data, "data");
    }

    /**
     * Decodes the secrets as UTF-8 text; key logs are text.
     *
     * @return the secrets as a string.
     */
    public String text()
    {
        return new String(data, StandardCharsets.UTF_8);
    }

    @Override
    public boolean equals(final Object other)
    {
        return other instanceof DecryptionSecrets that && type == that.type && Arrays.equals(data, that.data);
    }

    @Override
    public int hashCode()
    {
        return type * 31 + Arrays.hashCode(data);
    }

    @Override
    public String toString()
    {
        return "DecryptionSecrets[type=0x" + Integer.toHexString(type) + ", length=" + data.length + "]";
    }
}
