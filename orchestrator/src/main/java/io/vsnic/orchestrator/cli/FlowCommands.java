package io.vsnic.orchestrator.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import io.vsnic.dataplane.capture.CaptureReader;
import io.vsnic.orchestrator.model.Json;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code vsnic flows} and {@code vsnic capture}: the flow log and live vNIC captures, through the API.
 */
final class FlowCommands
{
    private FlowCommands()
    {
    }

    /** Output of {@code flows}. */
    enum FlowOutput
    {
        table, json
    }

    /** {@code vsnic flows [--follow] [--vnic ID] [--since TIME] [--limit N] [-o table|json]}. */
    @Command(name = "flows", mixinStandardHelpOptions = true,
        description = "Print flow log records (GET /v1/flows): the newest --limit, or those ended since --since; --follow tails them.")
    static final class Flows extends ClientCommands.ClientCommand
    {
        /** Seconds one long poll of --follow waits. */
        static final int FOLLOW_WAIT_SECONDS = 20;

        @Option(names = {"-f", "--follow"}, description = "keep printing new records as they are written")
        boolean follow;

        @Option(names = "--vnic", paramLabel = "ID", description = "only records of this vNIC")
        String vnic;

        @Option(names = "--since", paramLabel = "TIME", description = "records that ended at or after TIME (RFC 3339 or epoch ms)")
        String since;

        @Option(names = "--limit", defaultValue = "50", paramLabel = "N", description = "records per page (default: ${DEFAULT-VALUE})")
        int limit;

        @Option(names = {"-o", "--output"}, defaultValue = "table", description = "table | json (one object per line) (default: ${DEFAULT-VALUE})")
        FlowOutput output;

        @Override
        int run(final ApiClient client) throws ApiClient.ApiException
        {
            final String filter = (vnic == null ? "" : "&vnic=" + ApiClient.encode(vnic));
            JsonNode page = client.get("/v1/flows?limit=" + limit + filter + (since == null ? "" : "&since=" + ApiClient.encode(since)));
            final PrintWriter out = out();
            if (output == FlowOutput.table)
            {
                out.printf("%-24s %-7s %-6s %-10s %-10s %-6s %-45s %-45s %8s %10s%n", "END", "EVENT", "ACTION", "VNIC", "NETWORK",
                    "PROTO", "SOURCE", "DESTINATION", "PACKETS", "BYTES");
            }
            print(out, page);
            while (follow)
            {
                page = client.get("/v1/flows?limit=1000&wait=" + FOLLOW_WAIT_SECONDS + "&cursor=" +
                    ApiClient.encode(page.get("next").asText()) + filter);
                print(out, page);
            }
            return 0;
        }

        private void print(final PrintWriter out, final JsonNode page)
        {
            for (final JsonNode flow : page.get("flows"))
            {
                if (output == FlowOutput.json)
                {
                    try
                    {
                        out.println(Json.mapper().writeValueAsString(flow));
                    }
                    catch (final JsonProcessingException ex)
                    {
                        throw new IllegalStateException(ex);
                    }
                    continue;
                }
                out.printf("%-24s %-7s %-6s %-10s %-10s %-6s %-45s %-45s %8d %10d%n", flow.path("end").asText(),
                    flow.path("event").asText(), flow.path("action").asText(), flow.path("vnic").asText("-"),
                    flow.path("network").asText("-"), flow.path("protocol").asText(),
                    endpoint(flow.path("source").asText(), flow.path("sourcePort").asInt()),
                    endpoint(flow.path("destination").asText(), flow.path("destinationPort").asInt()),
                    flow.path("packets").asLong(), flow.path("bytes").asLong());
            }
            out.flush();
        }

        private static String endpoint(final String address, final int port)
        {
            return address.indexOf(':') >= 0 ? "[" + address + "]:" + port : address + ":" + port;
        }
    }

    /** {@code vsnic capture --vnic ID -w FILE.pcap [--count N] [--seconds S] [--snaplen B]}. */
    @Command(name = "capture", mixinStandardHelpOptions = true,
        description = "Capture the frames a vNIC receives and sends (both directions) into a pcap file (GET /v1/vnics/ID/capture).")
    static final class Capture extends ClientCommands.ClientCommand
    {
        @Option(names = "--vnic", required = true, paramLabel = "ID", description = "the vNIC")
        String vnic;

        @Option(names = {"-w", "--write"}, required = true, paramLabel = "FILE", description = "pcap file to write (replaced)")
        Path file;

        @Option(names = {"-c", "--count"}, paramLabel = "N", description = "stop after N frames")
        Integer count;

        @Option(names = "--seconds", paramLabel = "S", description = "stop after S seconds")
        Integer seconds;

        @Option(names = "--snaplen", paramLabel = "BYTES", description = "bytes kept per frame (default 9216)")
        Integer snaplen;

        @Override
        int run(final ApiClient client) throws ApiClient.ApiException
        {
            final StringBuilder query = new StringBuilder();
            append(query, "count", count);
            append(query, "seconds", seconds);
            append(query, "snaplen", snaplen);
            final String path = "/v1/vnics/" + ApiClient.encode(vnic) + "/capture" + query;
            try (InputStream in = client.stream(path); OutputStream target = Files.newOutputStream(file))
            {
                in.transferTo(target);
            }
            catch (final IOException ex)
            {
                throw new ApiClient.ApiException("capture into " + file + " failed: " + ex.getMessage());
            }
            long frames = 0;
            try (CaptureReader reader = CaptureReader.open(file))
            {
                while (reader.next() != null)
                {
                    frames++;
                }
            }
            catch (final IOException ex)
            {
                throw new ApiClient.ApiException("the capture in " + file + " is not a readable pcap: " + ex.getMessage());
            }
            out().printf("%d frames of vnic %s written to %s%n", frames, vnic, file);
            return 0;
        }

        private static void append(final StringBuilder query, final String name, final Integer value)
        {
            if (value != null)
            {
                query.append(query.isEmpty() ? '?' : '&').append(name).append('=').append(value);
            }
        }
    }
}
