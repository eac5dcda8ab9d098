package io.vsnic.orchestrator.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.File;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.TimeUnit;

import io.vsnic.crypto.DeviceKeys;
import io.vsnic.crypto.KeyFiles;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class KeyCommandsTest
{
    private static final String BASE64_KEY = "[A-Za-z0-9+/]{43}=";

    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    @TempDir
    Path directory;

    private int run(final String stdin, final String... args)
    {
        out.getBuffer().setLength(0);
        err.getBuffer().setLength(0);
        final CommandLine commandLine = VsnicCli.commandLine();
        commandLine.setOut(new PrintWriter(out, true));
        commandLine.setErr(new PrintWriter(err, true));
        final KeyCommands.Pubkey pubkey = commandLine.getSubcommands().get("pubkey").getCommand();
        pubkey.in = new ByteArrayInputStream(stdin.getBytes(StandardCharsets.US_ASCII));
        return commandLine.execute(args);
    }

    @Test
    void shouldWriteKeyFileWithMode0600AndPrintItsPublicKey() throws IOException
    {
        final Path file = directory.resolve("device.key");
        assertEquals(0, run("", "keygen", "-o", file.toString()), err.toString());
        final String publicKey = out.toString().strip();
        assertTrue(publicKey.matches(BASE64_KEY), publicKey);
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
        assertEquals(publicKey, DeviceKeys.fromPrivateKey(KeyFiles.readPrivateKey(file)).publicKeyBase64());

        // pubkey of the file's content gives the same public key.
        assertEquals(0, run(Files.readString(file), "pubkey"), err.toString());
        assertEquals(publicKey + "\n", out.toString());
    }

    @Test
    void shouldRefuseToOverwriteKeyFileWithoutForce() throws IOException
    {
        final Path file = directory.resolve("device.key");
        assertEquals(0, run("", "keygen", "-o", file.toString()));
        final String before = Files.readString(file);

        assertEquals(KeyCommands.FAILED, run("", "keygen", "-o", file.toString()));
        assertEquals("vsnic keygen: " + file + " already exists (use --force to replace it)\n", err.toString());
        assertEquals("", out.toString());
        assertEquals(before, Files.readString(file));

        assertEquals(0, run("", "keygen", "-o", file.toString(), "--force"), err.toString());
        assertNotEquals(before, Files.readString(file));
        assertEquals(out.toString().strip(), DeviceKeys.fromPrivateKey(KeyFiles.readPrivateKey(file)).publicKeyBase64());
    }

    @Test
    void shouldExplainUnwritableTargetAndForceWithoutFile()
    {
        final Path file = directory.resolve("missing-dir/device.key");
        assertEquals(KeyCommands.FAILED, run("", "keygen", "-o", file.toString()));
        assertTrue(err.toString().startsWith("vsnic keygen: cannot write " + file), err.toString());
        assertEquals(1, err.toString().lines().count(), err.toString());

        assertEquals(KeyCommands.FAILED, run("", "keygen", "--force"));
        assertTrue(err.toString().contains("--force needs -o FILE"), err.toString());
    }

    @Test
    void shouldPrintClampedPrivateKeyWithoutOutputFile()
    {
        assertEquals(0, run("", "keygen"), err.toString());
        final String privateKey = out.toString().strip();
        assertTrue(privateKey.matches(BASE64_KEY), privateKey);
        final byte[] bytes = DeviceKeys.decodeKey(privateKey);
        assertArrayEquals(DeviceKeys.clamp(bytes.clone()), bytes, "keygen prints a clamped key, as wg genkey does");

        assertEquals(0, run("", "keygen"));
        assertNotEquals(privateKey, out.toString().strip(), "two runs give two keys");
    }

    @Test
    void shouldDeriveRfc7748PublicKeyAndRejectBadInput()
    {
        // RFC 7748 section 6.1, Alice's key pair (the private key unclamped, as the RFC gives it).
        assertEquals(0, run("dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=\n", "pubkey"), err.toString());
        assertEquals("hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=\n", out.toString());

        assertEquals(KeyCommands.FAILED, run("not a key\n", "pubkey"));
        assertTrue(err.toString().startsWith("vsnic pubkey: stdin is not a private key: "), err.toString());
        assertEquals(KeyCommands.FAILED, run("AAAA\n", "pubkey"));
        assertTrue(err.toString().contains("32 bytes"), err.toString());
        assertEquals(KeyCommands.FAILED, run("", "pubkey"));
        assertEquals(KeyCommands.FAILED, run("A".repeat(4096), "pubkey"));
        assertTrue(err.toString().contains("longer than"), err.toString());
    }

    @Test
    void shouldAgreeWithWgGenkeyAndPubkey() throws Exception
    {
        final String wg = which("wg");
        Assumptions.assumeTrue(wg != null, "wg is not installed (apt-get install --no-install-recommends wireguard-tools): " +
            "skipping the cross-check with wg genkey/pubkey");
        for (int i = 0; i < 5; i++)
        {
            // vsnic keygen -o FILE; wg pubkey < FILE
            final Path file = directory.resolve("vsnic" + i + ".key");
            assertEquals(0, run("", "keygen", "-o", file.toString()), err.toString());
            assertEquals(out.toString().strip(), exec(Files.readString(file), wg, "pubkey"));

            // vsnic keygen | wg pubkey, and vsnic pubkey of the same key
            assertEquals(0, run("", "keygen"));
            final String privateKey = out.toString();
            final String wgPublic = exec(privateKey, wg, "pubkey");
            assertEquals(0, run(privateKey, "pubkey"));
            assertEquals(wgPublic, out.toString().strip());

            // wg genkey | vsnic pubkey, and the key file readable by vsnic once written 0600
            final String wgPrivate = exec("", wg, "genkey");
            assertEquals(0, run(wgPrivate + "\n", "pubkey"), err.toString());
            assertEquals(exec(wgPrivate + "\n", wg, "pubkey"), out.toString().strip());
            final Path wgFile = directory.resolve("wg" + i + ".key");
            Files.writeString(wgFile, wgPrivate + "\n");
            Files.setPosixFilePermissions(wgFile, PosixFilePermissions.fromString("rw-------"));
            assertEquals(wgPrivate, DeviceKeys.encodeKey(KeyFiles.readPrivateKey(wgFile)));
        }
    }

    private static String exec(final String stdin, final String... command) throws IOException, InterruptedException
    {
        final Process process = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        process.getOutputStream().write(stdin.getBytes(StandardCharsets.US_ASCII));
        process.getOutputStream().close();
        final String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
        assertTrue(process.waitFor(30, TimeUnit.SECONDS), String.join(" ", command) + " did not finish");
        assertEquals(0, process.exitValue(), String.join(" ", command) + " failed");
        return output.strip();
    }

    private static String which(final String program)
    {
        for (final String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator))
        {
            final File file = new File(dir, program);
            if (file.canExecute())
            {
                return file.getPath();
            }
        }
        return null;
    }
}
