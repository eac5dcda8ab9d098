package io.vsnic.orchestrator.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Manifests that include profiles: composition, diamonds, and broken includes (missing file, cycle, bad
 * YAML, duplicate resources) with errors naming the files.
 */
class ManifestFilesTest
{
    @TempDir
    Path dir;

    private Path write(final String name, final String text) throws Exception
    {
        final Path file = dir.resolve(name);
        Files.createDirectories(file.getParent());
        Files.writeString(file, text);
        return file;
    }

    private static List<String> names(final JsonNode section, final String key)
    {
        final List<String> names = new ArrayList<>();
        section.forEach(item -> names.add(item.get(key).asText()));
        return names;
    }

    @Test
    void shouldComposeIncludedProfilesRelativeToTheIncludingFile() throws Exception
    {
        write("profiles/common.yaml", """
            include: [groups.yaml]
            networks:
              - {name: blue, vni: 100, subnets: [{cidr: 10.0.1.0/24}]}
            """);
        write("profiles/groups.yaml", """
            securityGroups:
              - {name: web, rules: [{direction: ingress, protocol: tcp, ports: "80", cidr: 0.0.0.0/0}]}
            """);
        write("profiles/edge.yaml", """
            include: [common.yaml]
            peers:
              - {name: edge-2, device: 2, endpoint: "127.0.0.2:6081", encryption: none}
            """);
        final Path top = write("devices/edge-1.yaml", """
            include: [../profiles/common.yaml, ../profiles/edge.yaml]
            device: {name: edge-1}
            vnics:
              - {id: vm1, network: blue, ip: 10.0.1.11, securityGroups: [web], backend: {type: memory}}
            """);
        final ObjectNode manifest = ManifestFiles.load(top);
        assertFalse(manifest.has("include"));
        assertEquals("edge-1", manifest.get("device").get("name").asText());
        assertEquals(List.of("blue"), names(manifest.get("networks"), "name"), "common.yaml read once (diamond)");
        assertEquals(List.of("web"), names(manifest.get("securityGroups"), "name"));
        assertEquals(List.of("edge-2"), names(manifest.get("peers"), "name"));
        assertEquals(List.of("vm1"), names(manifest.get("vnics"), "id"));
        // and the result is a valid manifest for the daemon
        final Manifest typed = Json.read(Json.mapper().writeValueAsBytes(manifest), Manifest.class);
        assertEquals(1, typed.networks().size());
        // the API itself does not read files: an include sent to it is an unknown field
        final ResourceException ex = assertThrows(ResourceException.class,
            () -> Json.read("{\"include\": [\"x.yaml\"]}".getBytes(java.nio.charset.StandardCharsets.UTF_8), Manifest.class));
        assertEquals("include", ex.field());
    }

    @Test
    void shouldComposeTheDocumentedExample() throws Exception
    {
        final Manifest example = Json.read(Json.mapper().writeValueAsBytes(ManifestFiles.load(Path.of("../docs/examples/edge-1.yaml"))),
            Manifest.class);
        assertEquals(1, example.networks().size());
        assertEquals(1, example.securityGroups().size());
        assertEquals(2, example.vnics().size());
    }

    @Test
    void shouldNameTheMissingIncludeAndItsParent() throws Exception
    {
        final Path top = write("top.yaml", "include: [profiles/nothere.yaml]\n");
        final ManifestFiles.ManifestException ex = assertThrows(ManifestFiles.ManifestException.class, () -> ManifestFiles.load(top));
        assertTrue(ex.getMessage().contains("no such file: " + dir.resolve("profiles/nothere.yaml")), ex.getMessage());
        assertTrue(ex.getMessage().contains("included from " + top), ex.getMessage());
    }

    @Test
    void shouldShowTheChainOfACycle() throws Exception
    {
        write("a.yaml", "include: [b.yaml]\n");
        write("b.yaml", "include: [c.yaml]\n");
        write("c.yaml", "include: [a.yaml]\n");
        final ManifestFiles.ManifestException ex = assertThrows(ManifestFiles.ManifestException.class,
            () -> ManifestFiles.load(dir.resolve("a.yaml")));
        final Path real = dir.toRealPath();
        assertEquals("include cycle: " + real.resolve("a.yaml") + " -> " + real.resolve("b.yaml") + " -> " + real.resolve("c.yaml") +
            " -> " + real.resolve("a.yaml"), ex.getMessage());

        write("self.yaml", "include: [./self.yaml]\n");
        assertTrue(assertThrows(ManifestFiles.ManifestException.class, () -> ManifestFiles.load(dir.resolve("self.yaml")))
            .getMessage().startsWith("include cycle"));
    }

    @Test
    void shouldNameTheIncludeWithBadYaml() throws Exception
    {
        final Path bad = write("bad.yaml", "networks:\n  - {name: blue, vni: 100\n");
        final Path top = write("top.yaml", "include: [bad.yaml]\n");
        final ManifestFiles.ManifestException ex = assertThrows(ManifestFiles.ManifestException.class, () -> ManifestFiles.load(top));
        assertTrue(ex.getMessage().startsWith(bad + ": not valid YAML (line "), ex.getMessage());

        write("scalar.yaml", "just text\n");
        final Path top2 = write("top2.yaml", "include: [scalar.yaml]\n");
        assertTrue(assertThrows(ManifestFiles.ManifestException.class, () -> ManifestFiles.load(top2)).getMessage()
            .startsWith(dir.resolve("scalar.yaml") + ": not a manifest"));

        final Path notList = write("top3.yaml", "include: common.yaml\n");
        assertEquals(notList + ": include must be a list of file names",
            assertThrows(ManifestFiles.ManifestException.class, () -> ManifestFiles.load(notList)).getMessage());

        write("section.yaml", "networks: {name: blue}\n");
        final Path top4 = write("top4.yaml", "include: [section.yaml]\n");
        assertEquals(dir.resolve("section.yaml") + ": networks must be a list",
            assertThrows(ManifestFiles.ManifestException.class, () -> ManifestFiles.load(top4)).getMessage());
    }

    @Test
    void shouldRefuseAResourceDefinedInTwoFiles() throws Exception
    {
        final Path common = write("common.yaml", "networks:\n  - {name: blue, vni: 100}\n");
        final Path top = write("top.yaml", "include: [common.yaml]\nnetworks:\n  - {name: blue, vni: 200}\n");
        final ManifestFiles.ManifestException ex = assertThrows(ManifestFiles.ManifestException.class, () -> ManifestFiles.load(top));
        assertTrue(ex.getMessage().startsWith("networks blue is defined in both " + common + " and " + top), ex.getMessage());

        write("vnics1.yaml", "vnics:\n  - {id: vm1, network: blue}\n");
        write("vnics2.yaml", "vnics:\n  - {id: vm1, network: blue}\n");
        final Path two = write("two.yaml", "include: [vnics1.yaml, vnics2.yaml]\n");
        assertTrue(assertThrows(ManifestFiles.ManifestException.class, () -> ManifestFiles.load(two)).getMessage()
            .startsWith("vnics vm1 is defined in both "));
    }

    @Test
    void shouldKeepDeviceToTheTopManifest() throws Exception
    {
        final Path profile = write("profile.yaml", "device: {name: other}\n");
        final Path top = write("top.yaml", "include: [profile.yaml]\ndevice: {name: edge-1}\n");
        final ManifestFiles.ManifestException ex = assertThrows(ManifestFiles.ManifestException.class, () -> ManifestFiles.load(top));
        assertTrue(ex.getMessage().startsWith(profile + ": device is only allowed in the top manifest"), ex.getMessage());
    }
}
