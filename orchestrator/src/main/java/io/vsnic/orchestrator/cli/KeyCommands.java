package io.vsnic.orchestrator.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.concurrent.Callable;

import io.vsnic.crypto.DeviceKeys;
import io.vsnic.crypto.KeyFiles;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Device identity keys, interchangeable with {@code wg genkey} / {@code wg pubkey}: {@code vsnic
 * keygen} and {@code vsnic pubkey}.
 */
public final class KeyCommands
{
    /** Exit status when the command could not do its work; the reason is one line on stderr. */
    static final int FAILED = 1;

    private KeyCommands()
    {
    }

    /** {@code vsnic keygen [-o FILE] [--force]}. */
    @Command(
        name = "keygen",
        description = {
            "Generate a device private key (Curve25519, clamped, base64 as wg genkey writes it).",
            "With -o FILE: write it to FILE with mode 0600 (never overwriting one unless --force) and print the " +
                "public key on stdout.",
            "Without -o: print the private key on stdout, like wg genkey (redirect it with umask 077, or prefer -o)."
        },
        mixinStandardHelpOptions = true)
    static final class Keygen implements Callable<Integer>
    {
        @Option(names = {"-o", "--output"}, paramLabel = "FILE", description = "private key file to create (mode 0600)")
        Path output;

        @Option(names = {"-f", "--force"}, description = "replace FILE if it exists")
        boolean force;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call()
        {
            final PrintWriter out = spec.commandLine().getOut();
            final PrintWriter err = spec.commandLine().getErr();
            if (force && output == null)
            {
                err.println("vsnic keygen: --force needs -o FILE");
                return FAILED;
            }
            final DeviceKeys keys = DeviceKeys.generate(new SecureRandom());
            try
            {
                if (output == null)
                {
                    out.println(keys.privateKeyBase64());
                }
                else
                {
                    final byte[] key = keys.privateKey();
                    try
                    {
                        KeyFiles.writePrivateKey(output, key, force);
                    }
                    finally
                    {
                        Arrays.fill(key, (byte)0);
                    }
                    out.println(keys.publicKeyBase64());
                }
                out.flush();
                return 0;
            }
            catch (final FileAlreadyExistsException ex)
            {
                err.println("vsnic keygen: " + output + " already exists (use --force to replace it)");
                return FAILED;
            }
            catch (final IOException ex)
            {
                err.println("vsnic keygen: cannot write " + output + ": " + ex.getMessage());
                return FAILED;
            }
            finally
            {
                keys.destroy();
            }
        }
    }

    /** {@code vsnic pubkey < PRIVATE}. */
    @Command(
        name = "pubkey",
        description = "Read a private key (base64) on stdin and print its public key, like wg pubkey.",
        mixinStandardHelpOptions = true)
    static final class Pubkey implements Callable<Integer>
    {
        /** A key is 44 characters; anything much longer is not one. */
        private static final int MAX_INPUT_BYTES = 1024;

        /** Where the private key is read from; tests replace it. */
        InputStream in = System.in;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call()
        {
            final PrintWriter out = spec.commandLine().getOut();
            final PrintWriter err = spec.commandLine().getErr();
            final byte[] input;
            try
            {
                input = in.readNBytes(MAX_INPUT_BYTES + 1);
            }
            catch (final IOException ex)
            {
                err.println("vsnic pubkey: cannot read stdin: " + ex.getMessage());
                return FAILED;
            }
            try
            {
                if (input.length > MAX_INPUT_BYTES)
                {
                    err.println("vsnic pubkey: stdin is not a private key (longer than " + MAX_INPUT_BYTES + " bytes)");
                    return FAILED;
                }
                final DeviceKeys keys = DeviceKeys.fromBase64(new String(input, StandardCharsets.US_ASCII));
                out.println(keys.publicKeyBase64());
                out.flush();
                keys.destroy();
                return 0;
            }
            catch (final IllegalArgumentException ex)
            {
                err.println("vsnic pubkey: stdin is not a private key: " + ex.getMessage());
                return FAILED;
            }
            finally
            {
                Arrays.fill(input, (byte)0);
            }
        }
    }
}
