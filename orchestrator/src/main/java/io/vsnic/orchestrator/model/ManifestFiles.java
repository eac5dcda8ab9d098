package io.vsnic.orchestrator.model;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Reads a manifest file and the profiles it includes into one manifest document ({@code vsnic apply -f}).
 *
 * <pre>
 * include: [profiles/common.yaml, profiles/web.yaml]   # relative to the including file
 * device: {name: edge-1}
 * vnics: [...]
 * </pre>
 *
 * Rules: included files are read first, in order, depth first, then the including file's own
 * resources; every list section ({@code networks}, {@code securityGroups}, {@code vnics},
 * {@code peers}, and any other list the daemon knows) is concatenated. A resource (identified by its
 * {@code name}, or {@code id} for vNICs) defined in two files is an error naming both files: there is
 * no override. A file reached twice through different includes (a diamond) is read once; a file that
 * includes itself, directly or through others, is a cycle and an error showing the chain. Only the top
 * file may carry {@code device}. Every error names the file it is about.
 */
public final class ManifestFiles
{
    /** The include key. */
    public static final String INCLUDE = "include";
    /** Largest include depth. */
    public static final int MAX_DEPTH = 16;

    /** A manifest (or one of its includes) that cannot be read; the message names the file. */
    public static final class ManifestException extends Exception
    {
        private static final long serialVersionUID = 1L;

        ManifestException(final String message)
        {
            super(message);
        }
    }

    private final Path top;
    private final Map<String, ArrayNode> sections = new LinkedHashMap<>();
    /** section -> resource key -> file that defined it. */
    private final Map<String, Map<String, Path>> origins = new HashMap<>();
    private final Set<Path> done = new HashSet<>();
    private JsonNode device;

    private ManifestFiles(final Path top)
    {
        this.top = top;
    }

    /**
     * @param file the manifest (YAML or JSON).
     * @return the composed manifest, without {@code include}, ready for {@code POST /v1/apply}.
     * @throws ManifestException naming the file that is missing, unreadable, not a manifest, part of a cycle,
     *                           or defines a resource another file defines too.
     */
    public static ObjectNode load(final Path file) throws ManifestException
    {
        final ManifestFiles files = new ManifestFiles(file);
        files.read(file, new ArrayList<>(), null);
        final ObjectNode result = Json.mapper().createObjectNode();
        if (files.device != null)
        {
            result.set("device", files.device);
        }
        files.sections.forEach(result::set);
        return result;
    }

    private void read(final Path file, final List<Path> chain, final Path includedFrom) throws ManifestException
    {
        final Path real;
        try
        {
            real = file.toRealPath();
        }
        catch (final NoSuchFileException ex)
        {
            throw new ManifestException(includedFrom == null ? "no such file: " + file :
                "no such file: " + file + " (included from " + includedFrom + ")");
        }
        catch (final IOException ex)
        {
            throw new ManifestException("cannot read " + file + ": " + ex.getMessage());
        }
        for (int i = 0; i < chain.size(); i++)
        {
            if (chain.get(i).equals(real))
            {
                final StringBuilder cycle = new StringBuilder("include cycle: ");
                for (int j = i; j < chain.size(); j++)
                {
                    cycle.append(chain.get(j)).append(" -> ");
                }
                throw new ManifestException(cycle.append(real).toString());
            }
        }
        if (!done.add(real))
        {
            return; // a diamond: already read through another include
        }
        if (chain.size() >= MAX_DEPTH)
        {
            throw new ManifestException(file + ": includes nested deeper than " + MAX_DEPTH + " levels");
        }
        final JsonNode root;
        try
        {
            root = Json.yaml().readTree(Files.readAllBytes(real));
        }
        catch (final JsonProcessingException ex)
        {
            final String where = ex.getLocation() == null ? "" : " (line " + ex.getLocation().getLineNr() + ", column " +
                ex.getLocation().getColumnNr() + ")";
            throw new ManifestException(file + ": not valid YAML" + where + ": " + firstLine(ex.getOriginalMessage()));
        }
        catch (final IOException ex)
        {
            throw new ManifestException("cannot read " + file + ": " + ex.getMessage());
        }
        if (root == null || !root.isObject())
        {
            throw new ManifestException(file + ": not a manifest (a mapping with networks, securityGroups, vnics, peers)");
        }
        chain.add(real);
        final JsonNode include = root.get(INCLUDE);
        if (include != null && !include.isNull())
        {
            if (!include.isArray())
            {
                throw new ManifestException(file + ": include must be a list of file names");
            }
            for (final JsonNode name : include)
            {
                if (!name.isTextual() || name.asText().isBlank())
                {
                    throw new ManifestException(file + ": include entries must be file names: " + name);
                }
                final Path parent = file.toAbsolutePath().getParent();
                read(parent.resolve(name.asText()), chain, file);
            }
        }
        chain.remove(chain.size() - 1);
        final Iterator<Map.Entry<String, JsonNode>> fields = root.properties().iterator();
        while (fields.hasNext())
        {
            final Map.Entry<String, JsonNode> field = fields.next();
            final String key = field.getKey();
            final JsonNode value = field.getValue();
            if (key.equals(INCLUDE) || value.isNull())
            {
                continue;
            }
            if (key.equals("device"))
            {
                if (includedFrom != null)
                {
                    throw new ManifestException(file + ": device is only allowed in the top manifest (" + top + "), not in an included profile");
                }
                device = value;
                continue;
            }
            if (!value.isArray())
            {
                throw new ManifestException(file + ": " + key + " must be a list");
            }
            final ArrayNode section = sections.computeIfAbsent(key, k -> Json.mapper().createArrayNode());
            final Map<String, Path> defined = origins.computeIfAbsent(key, k -> new HashMap<>());
            for (final JsonNode item : value)
            {
                final String id = identity(item);
                if (id != null)
                {
                    final Path other = defined.putIfAbsent(id, file);
                    if (other != null)
                    {
                        throw new ManifestException(key + " " + id + " is defined in both " + other + " and " + file +
                            " (includes do not override: define it once)");
                    }
                }
                section.add(item);
            }
        }
    }

    private static String identity(final JsonNode item)
    {
        if (!item.isObject())
        {
            return null; // the daemon names the bad entry
        }
        final JsonNode name = item.get("name");
        if (name != null && name.isTextual())
        {
            return name.asText();
        }
        final JsonNode id = item.get("id");
        return id != null && id.isTextual() ? id.asText() : null;
    }

    private static String firstLine(final String message)
    {
        return message == null ? "invalid" : message.lines().findFirst().orElse("invalid");
    }
}
