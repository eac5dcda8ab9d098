package io.vsnic.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.style.Styler;

/**
 * The end-to-end benchmark's chart: reads the JSON record {@code jmh-benchmarks/e2e.sh} writes and
 * draws, with XChart, one PNG of three panels side by side: TCP throughput (1 and 4 streams, Gbit/s),
 * ping RTT (p50 and p99, µs) and CPU seconds per Gbit, for the eight paths (vsnic plain and encrypted, each
 * with the TAP offloads and without, kernel VXLAN, kernel VXLAN over wireguard-go, the floor relay plain and
 * encrypted). A path the run skipped is left out; a
 * figure it lacks (an older record without CPU) is drawn as 0.
 *
 * <pre>
 *   java -Djava.awt.headless=true -cp jmh-benchmarks/target/benchmarks.jar io.vsnic.bench.E2eChart RECORD.json CHART.png
 * </pre>
 */
public final class E2eChart
{
    private static final String[] PATHS = {"vsnicPlainGeneve", "vsnicPlainGeneveOffloadsOff", "vsnicEncrypted",
        "vsnicEncryptedOffloadsOff", "kernelVxlan", "kernelVxlanOverWireguardGo", "floorRelay", "floorRelayEncrypted"};
    private static final String[] NAMES = {"plain", "plain no-offl", "encrypted", "enc. no-offl", "kernel VXLAN",
        "VXLAN+wg-go", "floor relay", "floor enc."};
    private static final int PANEL_WIDTH = 720;
    private static final int HEIGHT = 420;

    private E2eChart()
    {
    }

    /**
     * @param args the JSON record and the PNG to write.
     * @throws IOException when the record cannot be read or the chart written.
     */
    public static void main(final String[] args) throws IOException
    {
        if (args.length != 2)
        {
            System.err.println("usage: E2eChart RECORD.json CHART.png");
            System.exit(2);
        }
        final JsonNode record = new ObjectMapper().readTree(Files.readString(Path.of(args[0])));
        final List<CategoryChart> panels = List.of(
            panel(record, "TCP throughput (higher is better)", "Gbit/s", new String[] {"tcp1Gbps", "tcp4Gbps"},
                new String[] {"1 stream", "4 streams"}),
            panel(record, "Ping RTT (lower is better)", "µs", new String[] {"pingP50us", "pingP99us"},
                new String[] {"p50", "p99"}),
            panel(record, "CPU per Gbit, TCP 1 stream (lower is better)", "CPU seconds per Gbit",
                new String[] {"cpuSecondsPerGbitTcp1"}, new String[] {"whole machine"}));
        final Path target = Path.of(args[1]);
        final java.awt.image.BufferedImage image = new java.awt.image.BufferedImage(PANEL_WIDTH * panels.size(), HEIGHT + 30,
            java.awt.image.BufferedImage.TYPE_INT_RGB);
        final java.awt.Graphics2D graphics = image.createGraphics();
        graphics.setColor(java.awt.Color.WHITE);
        graphics.fillRect(0, 0, image.getWidth(), image.getHeight());
        graphics.setColor(java.awt.Color.DARK_GRAY);
        graphics.setRenderingHint(java.awt.RenderingHints.KEY_TEXT_ANTIALIASING, java.awt.RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        graphics.drawString("vsnic end to end, " + record.path("time").asText() + ", " + record.path("machine").path("cpus").asInt() +
            " CPUs, " + record.path("machine").path("cpu").asText() + ", kernel " + record.path("machine").path("kernel").asText() +
            ", load " + record.path("machine").path("loadavg1AtEnd").asText() + "  (" + record.path("command").asText() + ")", 10, 20);
        for (int i = 0; i < panels.size(); i++)
        {
            final java.awt.Graphics2D panel = (java.awt.Graphics2D)graphics.create(PANEL_WIDTH * i, 30, PANEL_WIDTH, HEIGHT);
            panels.get(i).paint(panel, PANEL_WIDTH, HEIGHT);
            panel.dispose();
        }
        graphics.dispose();
        if (!javax.imageio.ImageIO.write(image, "png", target.toFile()))
        {
            throw new IOException("no PNG writer in this JVM");
        }
    }

    private static CategoryChart panel(final JsonNode record, final String title, final String yTitle, final String[] keys,
        final String[] seriesNames)
    {
        final CategoryChart chart = new CategoryChartBuilder().width(PANEL_WIDTH).height(HEIGHT).title(title)
            .xAxisTitle("").yAxisTitle(yTitle).build();
        chart.getStyler().setLegendPosition(Styler.LegendPosition.InsideNW);
        chart.getStyler().setLabelsVisible(true);
        chart.getStyler().setXAxisLabelRotation(0);
        chart.getStyler().setChartBackgroundColor(java.awt.Color.WHITE);
        // the paths this run measured (every series gets the same categories; a missing value is 0)
        final List<Integer> measured = new ArrayList<>();
        for (int p = 0; p < PATHS.length; p++)
        {
            if (record.path(PATHS[p]).path("tcp1Gbps").isNumber())
            {
                measured.add(p);
            }
        }
        final List<String> categories = new ArrayList<>();
        for (final int p : measured)
        {
            categories.add(NAMES[p]);
        }
        for (int k = 0; k < keys.length && !measured.isEmpty(); k++)
        {
            final List<Double> values = new ArrayList<>();
            for (final int p : measured)
            {
                final JsonNode value = record.path(PATHS[p]).path(keys[k]);
                values.add(value.isNumber() ? value.asDouble() : 0.0);
            }
            chart.addSeries(seriesNames[k], categories, values);
        }
        return chart;
    }
}
