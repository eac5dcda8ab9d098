package io.vsnic.dataplane.capture;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Finds the shared interop captures (/work/shared/interop beside the repository) and reads the
 * timestamps that tcpdump printed for them in its {@code .out} files.
 */
final class InteropCaptures
{
    private static final Pattern TCPDUMP_FRAME_LINE =
        Pattern.compile("^\\s+(\\d+)\\s+(\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}\\.\\d{6}) ");
    private static final DateTimeFormatter TCPDUMP_TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSSSSS");

    private InteropCaptures()
    {
    }

    /**
     * @return the {@code shared/interop} directory.
     * @throws IllegalStateException when it cannot be found.
     */
    static Path directory()
    {
        final Path fromRepoRoot = Path.of(System.getProperty("vsnic.repo.root", ".."))
            .resolve("../shared/interop")
            .toAbsolutePath()
            .normalize();
        if (Files.isDirectory(fromRepoRoot))
        {
            return fromRepoRoot;
        }
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent())
        {
            final Path sibling = dir.resolveSibling("shared").resolve("interop");
            if (Files.isDirectory(sibling))
            {
                return sibling.normalize();
            }
        }
        throw new IllegalStateException("shared/interop not found from " + fromRepoRoot + " nor beside any parent of " +
            Path.of("").toAbsolutePath());
    }

    /**
     * @param relative path below shared/interop, such as {@code overlay/vxlan.pcap}.
     * @return the absolute path.
     */
    static Path resolve(final String relative)
    {
        return directory().resolve(relative);
    }

    /**
     * Reads the per-frame timestamps of a tcpdump {@code -tttt} output made with {@code TZ=GMT0}
     * and {@code -#} (frame numbers).
     *
     * @param outFile the {@code .out} file.
     * @return timestamps in nanoseconds since the epoch, in frame order (index 0 is frame 1).
     */
    static List<Long> tcpdumpTimestampsNs(final Path outFile) throws IOException
    {
        final List<Long> timestamps = new ArrayList<>();
        for (final String line : Files.readAllLines(outFile))
        {
            final Matcher matcher = TCPDUMP_FRAME_LINE.matcher(line);
            if (matcher.find())
            {
                final int number = Integer.parseInt(matcher.group(1));
                if (number != timestamps.size() + 1)
                {
                    throw new IllegalStateException(outFile + ": frame " + number + " out of order");
                }
                timestamps.add(epochNs(matcher.group(2)));
            }
        }

        return timestamps;
    }

    /**
     * @param gmt a time as tcpdump prints it with {@code -tttt} in GMT, {@code 2013-05-18 20:21:44.837063}.
     * @return nanoseconds since the epoch.
     */
    static long epochNs(final String gmt)
    {
        final LocalDateTime time = LocalDateTime.parse(gmt, TCPDUMP_TIME);

        return time.toEpochSecond(ZoneOffset.UTC) * 1_000_000_000L + time.getNano();
    }
}
