package io.vsnic.orchestrator.model;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import io.vsnic.orchestrator.daemon.ConfigException;
import io.vsnic.orchestrator.daemon.DeviceConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Seeded fuzzing of the two YAML files an operator writes: manifests ({@link ManifestFiles#load},
 * behind {@code vsnic apply -f}) and the device configuration ({@link DeviceConfig#parse}, read by
 * {@code vsnicd} at start). The examples of {@code docs/examples} are mutated line by line and byte
 * by byte (lines dropped, duplicated, re-indented; values replaced by other YAML: anchors and
 * aliases, tags, huge numbers, deep nesting; bytes changed). Whatever comes in: the result is a
 * composed manifest or a configuration, or the documented exception with a message; nothing else
 * is thrown.
 */
class ConfigFilesFuzzTest
{
    private static final long SEED = 0x79616D6CL; // "yaml"
    private static final int FILES = 1_500;
    private static final String[] VALUES = {"", "~", "null", "[]", "{}", "-1", "99999999999999999999999", "1e400", "0x1F",
        ".nan", "true", "\"\\u0000\"", "'", "\"", "&a [1, 2]", "*a", "!!binary AAAA", "!!python/object:x {}", "<<: {a: 1}",
        "{a: {b: {c: {d: {e: {f: {g: {h: 1}}}}}}}}", "[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]", "\"x\\ty\"", "? complex key", "|",
        ">-", "%YAML 1.1", "---", "...", "@", "`", "10.0.0.0/33", "fd00::/200", "256.1.1.1", "02:00:00:00:00:zz", "-",
        "\t", "a: b: c"};

    private final SplittableRandom random = new SplittableRandom(SEED);

    @TempDir
    Path dir;

    @Test
    void shouldLoadOrRefuseClearlyAnyMutatedManifestOrDeviceConfiguration() throws Exception
    {
        final Path examples = Path.of("..", "docs", "examples");
        final List<String> manifests = List.of(Files.readString(examples.resolve("manifest.yaml")));
        final List<String> configs = List.of(Files.readString(examples.resolve("device.yaml")),
            Files.readString(examples.resolve("edge-1.yaml")));
        int loaded = 0;
        int refused = 0;
        for (int i = 0; i < FILES; i++)
        {
            final boolean manifest = random.nextBoolean();
            final List<String> sources = manifest ? manifests : configs;
            final String text = mutate(sources.get(random.nextInt(sources.size())));
            try
            {
                if (manifest)
                {
                    final Path file = dir.resolve("m" + i + ".yaml");
                    Files.writeString(file, text);
                    ManifestFiles.load(file);
                }
                else
                {
                    DeviceConfig.parse(text.getBytes(StandardCharsets.UTF_8));
                }
                loaded++;
            }
            catch (final ManifestFiles.ManifestException | ConfigException ex)
            {
                refused++;
                assertTrue(ex.getMessage() != null && ex.getMessage().length() > 5, "a message: " + ex);
            }
            catch (final RuntimeException | StackOverflowError ex)
            {
                throw new AssertionError((manifest ? "manifest" : "device configuration") + " threw " + ex + " for:\n" + text, ex);
            }
        }
        assertTrue(loaded > FILES / 20 && refused > FILES / 4, "loaded " + loaded + ", refused " + refused);
    }

    private String mutate(final String text)
    {
        final List<String> lines = new ArrayList<>(List.of(text.split("\n", -1)));
        final int changes = 1 + random.nextInt(4);
        for (int c = 0; c < changes && !lines.isEmpty(); c++)
        {
            final int at = random.nextInt(lines.size());
            final String line = lines.get(at);
            switch (random.nextInt(7))
            {
                case 0 -> lines.remove(at);
                case 1 -> lines.add(at, line);
                case 2 -> lines.set(at, " ".repeat(random.nextInt(6)) + line.stripLeading());
                case 3 ->
                {
                    // the value after a colon replaced by other YAML
                    final int colon = line.indexOf(':');
                    final String value = VALUES[random.nextInt(VALUES.length)];
                    lines.set(at, colon < 0 ? line + " " + value : line.substring(0, colon + 1) + " " + value);
                }
                case 4 ->
                {
                    if (!line.isEmpty())
                    {
                        final int k = random.nextInt(line.length());
                        lines.set(at, line.substring(0, k) + (char)random.nextInt(0x20, 0x7F) + line.substring(k + 1));
                    }
                }
                case 5 -> lines.set(at, line + (random.nextBoolean() ? " # note" : ", {x: 1}"));
                default -> lines.add(at, "extra" + random.nextInt(3) + ": " + VALUES[random.nextInt(VALUES.length)]);
            }
        }
        return String.join("\n", lines);
    }
}
