package io.vsnic.crypto;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HexFormat;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class KeyFilesTest
{
    // RFC 7748 section 6.1, Alice: a private key whose clamped form differs from the raw bytes.
    private static final byte[] ALICE = HexFormat.of().parseHex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");

    @TempDir
    Path directory;

    private Path keyFile(final String content, final String mode) throws IOException
    {
        final Path file = directory.resolve("key");
        Files.writeString(file, content, StandardCharsets.US_ASCII);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString(mode));
        return file;
    }

    @Test
    void shouldWriteMode0600AndReadBackClampedKey() throws IOException
    {
        final Path file = directory.resolve("device.key");
        KeyFiles.writePrivateKey(file, ALICE);
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
        assertEquals(Base64.getEncoder().encodeToString(ALICE) + "\n", Files.readString(file));
        final byte[] read = KeyFiles.readPrivateKey(file);
        assertArrayEquals(DeviceKeys.clamp(ALICE.clone()), read);
        assertArrayEquals(DeviceKeys.fromPrivateKey(ALICE).publicKey(), DeviceKeys.fromPrivateKey(read).publicKey());
        try (Stream<Path> files = Files.list(directory))
        {
            assertEquals(1, files.count(), "no temporary file left behind");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"rw-------", "r--------"})
    void shouldAcceptOwnerOnlyModes(final String mode) throws IOException
    {
        final DeviceKeys keys = DeviceKeys.generate(new SecureRandom());
        final Path file = keyFile("  " + keys.privateKeyBase64() + "\n\n", mode);
        assertArrayEquals(keys.privateKey(), KeyFiles.readPrivateKey(file));
    }

    @ParameterizedTest
    @ValueSource(strings = {"rw-r--r--", "rw-r-----", "rw----r--", "rw--w----", "rw-----w-", "rwx--x---"})
    void shouldRefuseKeyFileAccessibleByGroupOrOthers(final String mode) throws IOException
    {
        final Path file = keyFile(DeviceKeys.generate(new SecureRandom()).privateKeyBase64() + "\n", mode);
        final IOException ex = assertThrows(IOException.class, () -> KeyFiles.readPrivateKey(file));
        assertTrue(ex.getMessage().contains(file.toString()), ex.getMessage());
        assertTrue(ex.getMessage().contains("group or others"), ex.getMessage());
        final String octal = String.format("%04o", modeBits(mode));
        assertTrue(ex.getMessage().contains("mode " + octal), ex.getMessage());
    }

    @Test
    void shouldNameFileAndProblemForBadContent() throws IOException
    {
        final IOException notBase64 = assertThrows(IOException.class, () -> KeyFiles.readPrivateKey(keyFile("not a key!\n", "rw-------")));
        assertTrue(notBase64.getMessage().contains(directory.resolve("key").toString()), notBase64.getMessage());
        assertTrue(notBase64.getMessage().contains("base64"), notBase64.getMessage());

        final IOException shortKey = assertThrows(IOException.class, () -> KeyFiles.readPrivateKey(keyFile("AAAA\n", "rw-------")));
        assertTrue(shortKey.getMessage().contains("32 bytes"), shortKey.getMessage());

        final String longKey = Base64.getEncoder().encodeToString(new byte[33]);
        assertThrows(IOException.class, () -> KeyFiles.readPrivateKey(keyFile(longKey, "rw-------")));

        final IOException empty = assertThrows(IOException.class, () -> KeyFiles.readPrivateKey(keyFile("", "rw-------")));
        assertTrue(empty.getMessage().contains("32 bytes"), empty.getMessage());

        final IOException huge = assertThrows(IOException.class, () -> KeyFiles.readPrivateKey(keyFile("A".repeat(5000), "rw-------")));
        assertTrue(huge.getMessage().contains("longer than"), huge.getMessage());

        final String two = DeviceKeys.generate(new SecureRandom()).privateKeyBase64();
        assertThrows(IOException.class, () -> KeyFiles.readPrivateKey(keyFile(two + "\n" + two + "\n", "rw-------")));
    }

    @Test
    void shouldNameMissingFileAndDirectory() throws IOException
    {
        final Path missing = directory.resolve("absent.key");
        final NoSuchFileException ex = assertThrows(NoSuchFileException.class, () -> KeyFiles.readPrivateKey(missing));
        assertTrue(ex.getMessage().contains(missing.toString()), ex.getMessage());
        assertTrue(ex.getMessage().contains("does not exist"), ex.getMessage());

        final IOException dir = assertThrows(IOException.class, () -> KeyFiles.readPrivateKey(directory));
        assertTrue(dir.getMessage().contains("not a regular file"), dir.getMessage());

        final Path nowhere = directory.resolve("no/such/dir/device.key");
        final NoSuchFileException write = assertThrows(NoSuchFileException.class, () -> KeyFiles.writePrivateKey(nowhere, ALICE));
        assertTrue(write.getMessage().contains("does not exist"), write.getMessage());
    }

    @Test
    void shouldRefuseToOverwriteUnlessAsked() throws IOException
    {
        final Path file = directory.resolve("device.key");
        final DeviceKeys first = DeviceKeys.generate(new SecureRandom());
        final DeviceKeys second = DeviceKeys.generate(new SecureRandom());
        KeyFiles.writePrivateKey(file, first.privateKey());

        final FileAlreadyExistsException ex =
            assertThrows(FileAlreadyExistsException.class, () -> KeyFiles.writePrivateKey(file, second.privateKey()));
        assertTrue(ex.getMessage().contains(file.toString()), ex.getMessage());
        assertArrayEquals(first.privateKey(), KeyFiles.readPrivateKey(file));

        // A world-readable file in the way is replaced by a 0600 one.
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
        KeyFiles.writePrivateKey(file, second.privateKey(), true);
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
        assertArrayEquals(second.privateKey(), KeyFiles.readPrivateKey(file));
        try (Stream<Path> files = Files.list(directory))
        {
            assertEquals(1, files.count(), "no temporary file left behind");
        }
    }

    @Test
    void shouldRefuseToWriteKeyOfWrongLength()
    {
        final Path file = directory.resolve("device.key");
        assertThrows(IllegalArgumentException.class, () -> KeyFiles.writePrivateKey(file, new byte[31]));
        assertFalse(Files.exists(file));
    }

    @Test
    void shouldParsePublicKeyWithoutClamping()
    {
        final byte[] raw = new byte[32];
        raw[0] = 7;
        raw[31] = (byte)0xFF;
        assertArrayEquals(raw, KeyFiles.readPublicKey(" " + Base64.getEncoder().encodeToString(raw) + "\n"));
        assertThrows(IllegalArgumentException.class, () -> KeyFiles.readPublicKey("AAAA"));
    }

    private static int modeBits(final String mode)
    {
        int bits = 0;
        for (int i = 0; i < 9; i++)
        {
            if (mode.charAt(i) != '-')
            {
                bits |= 0400 >> i;
            }
        }
        return bits;
    }
}
