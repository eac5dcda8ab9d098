package io.vsnic.crypto;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.Set;

/**
 * Private key files in WireGuard's format: one line holding the 32-byte key in base64 (44
 * characters), as {@code wg genkey > FILE} writes it, optionally surrounded by whitespace.
 *
 * <p>A private key file must not be readable or writable by group or others: {@link #readPrivateKey}
 * refuses a file whose POSIX mode has any group or other bit set (as sshd refuses such a private
 * key; {@code wg} only warns), and {@link #writePrivateKey} creates files with mode 0600 from the
 * first byte on: the key is written to a temporary file created 0600 in the same directory and then
 * linked or renamed into place, so no reader ever sees a partial or world-readable key.
 *
 * <p>Public keys are not secret and are passed as base64 text: {@link #readPublicKey}.
 */
public final class KeyFiles
{
    /** The mode private key files are written with, and the only bits a readable one may have. */
    public static final Set<PosixFilePermission> PRIVATE_MODE = PosixFilePermissions.fromString("rw-------");

    /** A key file is one line; anything longer than this is not a key file. */
    private static final int MAX_FILE_BYTES = 1024;

    private static final Set<PosixFilePermission> GROUP_OR_OTHERS = Set.of(
        PosixFilePermission.GROUP_READ, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_EXECUTE,
        PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_EXECUTE);

    private KeyFiles()
    {
    }

    /**
     * Reads a private key file.
     *
     * @param file a file holding one base64 key line.
     * @return the 32-byte key, clamped (RFC 7748 section 5).
     * @throws IOException naming the file and the problem when it is missing, not a regular file,
     *     accessible by group or others, too long, not base64 or not 32 bytes.
     */
    public static byte[] readPrivateKey(final Path file) throws IOException
    {
        final PosixFileAttributes attributes = posixAttributes(file);
        if (!attributes.isRegularFile())
        {
            throw new IOException(file + ": not a regular file");
        }
        final Set<PosixFilePermission> permissions = attributes.permissions();
        for (final PosixFilePermission permission : permissions)
        {
            if (GROUP_OR_OTHERS.contains(permission))
            {
                throw new IOException(file + ": private key file has mode " + octal(permissions) +
                    ", which gives group or others access; refusing it (chmod 600 " + file + ")");
            }
        }
        final byte[] content = readBounded(file);
        try
        {
            final byte[] key = DeviceKeys.decodeKey(new String(content, StandardCharsets.US_ASCII));
            return DeviceKeys.clamp(key);
        }
        catch (final IllegalArgumentException ex)
        {
            throw new IOException(file + ": not a private key file: " + ex.getMessage(), ex);
        }
        finally
        {
            Arrays.fill(content, (byte)0);
        }
    }

    /**
     * Writes a private key file with mode 0600; refuses to replace an existing file.
     *
     * @param file the file to create.
     * @param key the 32-byte private key, written as given.
     * @throws FileAlreadyExistsException when the file exists.
     * @throws IOException when the directory is missing or not writable.
     */
    public static void writePrivateKey(final Path file, final byte[] key) throws IOException
    {
        writePrivateKey(file, key, false);
    }

    /**
     * Writes a private key file with mode 0600.
     *
     * @param file the file to create or replace.
     * @param key the 32-byte private key, written as given.
     * @param overwrite whether an existing file is atomically replaced; when false an existing file
     *     is left untouched and {@link FileAlreadyExistsException} is thrown.
     * @throws IllegalArgumentException when the key is not 32 bytes.
     * @throws IOException when the directory is missing or not writable.
     */
    public static void writePrivateKey(final Path file, final byte[] key, final boolean overwrite) throws IOException
    {
        if (key.length != DeviceKeys.KEY_LENGTH)
        {
            throw new IllegalArgumentException("a Curve25519 private key is 32 bytes, got " + key.length);
        }
        final Path target = file.toAbsolutePath();
        final Path directory = target.getParent();
        if (!Files.isDirectory(directory))
        {
            throw new NoSuchFileException(directory.toString(), null, "directory for the key file does not exist");
        }
        if (!overwrite && Files.exists(target, LinkOption.NOFOLLOW_LINKS))
        {
            throw new FileAlreadyExistsException(file.toString(), null, "refusing to overwrite an existing key file");
        }
        final byte[] line = (DeviceKeys.encodeKey(key) + '\n').getBytes(StandardCharsets.US_ASCII);
        final Path temp = Files.createTempFile(directory, "." + target.getFileName() + ".", ".tmp",
            PosixFilePermissions.asFileAttribute(PRIVATE_MODE));
        try
        {
            try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.WRITE))
            {
                final ByteBuffer buffer = ByteBuffer.wrap(line);
                while (buffer.hasRemaining())
                {
                    channel.write(buffer);
                }
                channel.force(true);
            }
            if (overwrite)
            {
                Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            }
            else
            {
                // link(2) never replaces: a file created meanwhile by someone else stays as it is.
                Files.createLink(target, temp);
            }
            syncDirectory(directory);
        }
        finally
        {
            Arrays.fill(line, (byte)0);
            Files.deleteIfExists(temp);
        }
    }

    /**
     * Parses a public key as {@code wg pubkey} prints it. Public keys are used as given (not clamped).
     *
     * @param base64 44 characters of base64, surrounding whitespace allowed.
     * @return the 32 key bytes.
     * @throws IllegalArgumentException when the text is not base64 of exactly 32 bytes.
     */
    public static byte[] readPublicKey(final String base64)
    {
        return DeviceKeys.decodeKey(base64);
    }

    private static PosixFileAttributes posixAttributes(final Path file) throws IOException
    {
        final PosixFileAttributeView view = Files.getFileAttributeView(file, PosixFileAttributeView.class);
        if (view == null)
        {
            throw new IOException(file + ": the file system has no POSIX permissions, cannot check who may read the key");
        }
        try
        {
            return view.readAttributes();
        }
        catch (final NoSuchFileException ex)
        {
            throw new NoSuchFileException(file.toString(), null, "private key file does not exist");
        }
    }

    private static byte[] readBounded(final Path file) throws IOException
    {
        final byte[] buffer = new byte[MAX_FILE_BYTES + 1];
        int length = 0;
        try (InputStream in = Files.newInputStream(file))
        {
            int n;
            while (length < buffer.length && (n = in.read(buffer, length, buffer.length - length)) > 0)
            {
                length += n;
            }
        }
        if (length > MAX_FILE_BYTES)
        {
            Arrays.fill(buffer, (byte)0);
            throw new IOException(file + ": not a private key file: longer than " + MAX_FILE_BYTES + " bytes");
        }
        final byte[] content = Arrays.copyOf(buffer, length);
        Arrays.fill(buffer, (byte)0);
        return content;
    }

    private static void syncDirectory(final Path directory)
    {
        try (FileChannel channel = FileChannel.open(directory, StandardOpenOption.READ))
        {
            channel.force(true);
        }
        catch (final IOException ex)
        {
            // Not every file system lets a directory be opened or synced; the key file itself is synced.
        }
    }

    private static String octal(final Set<PosixFilePermission> permissions)
    {
        int mode = 0;
        for (final PosixFilePermission permission : permissions)
        {
            mode |= 0400 >> permission.ordinal();
        }
        return String.format("%04o", mode);
    }
}
