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
 * Finds the interop captures ({@code testdata/interop} in the repository, a verbatim copy of the shared
 * interop data with its provenance README) and reads the timestamps that tcpdump printed for them in its
 * {@code .out} files.
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
     * @return the {@code testdata/interop} directory ({@code vsnic.repo.root}, set by the build, or the
     *         module directory's parent).
     * @throws IllegalStateException when it cannot be found.
     */
    static Path directory()
    {
        final Path directory = Path.of(System.getProperty("vsnic.repo.root", "..")).resolve("testdata/interop")
            .toAbsolutePath().normalize();
        if (!Files.isDirectory(directory))
        {
            throw new IllegalStateException("testdata/interop not found at " + directory);
        }
        return directory;
    }

    /**
     * @param relative path below testdata/interop, such as {@code overlay/vxlan.pcap}.
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
