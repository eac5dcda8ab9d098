package io.vsnic.orchestrator.daemon;

import static io.vsnic.orchestrator.TestDaemon.expect;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import io.vsnic.dataplane.protocol.TcpFlyweight;
import io.vsnic.orchestrator.TestDaemon;
import io.vsnic.orchestrator.VnicTraffic;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Flow logs through a real daemon with memory vNICs: accepted TCP, UDP and ICMP flows with their
 * 5-tuple, vNIC, network and counts each way (start and end records), a security-group reject, an
 * overflowing hand-off ring that is counted and does not hold up forwarding, retention deleting old
 * roll cycles, a long poll that sees a new flow, and the API's errors.
 */
class FlowLogTest
{
    @TempDir
    Path dir;

    private TestDaemon daemon;

    @AfterEach
    void stop()
    {
        if (daemon != null)
        {
            daemon.close();
        }
    }

    private VnicTraffic start(final String flowLogs) throws Exception
    {
        daemon = new TestDaemon(dir.resolve("state"), DeviceConfig.parse(("""
            device: {name: test-device, id: 1}
            api: {listen: "127.0.0.1:0"}
            substrate: {enabled: false}
            dataplane: {workers: 1, frameSlots: 1024, connectionCapacity: 4096,
                        timeouts: {tcpSyn: 1s, tcpEstablished: 1s, tcpClosing: 1s, udp: 1s, udpReplied: 1s, icmp: 1s}}
            flowLogs: %s
            """.formatted(flowLogs)).getBytes(StandardCharsets.UTF_8)));
        expect(200, daemon.post("/v1/apply", """
            {"networks": [{"name": "blue", "vni": 100, "subnets": [{"cidr": "10.0.1.0/24", "gateway": "10.0.1.1"}]}],
             "securityGroups": [{"name": "svc", "rules": [
               {"direction": "ingress", "protocol": "tcp", "ports": "80", "cidr": "0.0.0.0/0"},
               {"direction": "ingress", "protocol": "udp", "ports": "5000", "cidr": "0.0.0.0/0"},
               {"direction": "ingress", "protocol": "icmp", "cidr": "0.0.0.0/0"}]}],
             "vnics": [
               {"id": "vm1", "network": "blue", "ip": "10.0.1.11", "securityGroups": ["svc"], "backend": {"type": "memory"}},
               {"id": "vm2", "network": "blue", "ip": "10.0.1.12", "securityGroups": ["svc"], "backend": {"type": "memory"}}]}
            """));
        return new VnicTraffic(daemon);
    }

    /** Polls GET /v1/flows?since=0 until a record matches (15 s at most). */
    private JsonNode awaitFlow(final String what, final Predicate<JsonNode> match) throws InterruptedException
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (System.nanoTime() < deadline)
        {
            for (final JsonNode flow : expect(200, daemon.get("/v1/flows?since=0&limit=10000")).json().get("flows"))
            {
                if (match.test(flow))
                {
                    return flow;
                }
            }
            Thread.sleep(50);
        }
        throw new AssertionError("no flow record " + what + " in " + daemon.get("/v1/flows?since=0&limit=10000").body());
    }

    private static Predicate<JsonNode> record(final String event, final String protocol, final int destinationPort)
    {
        return f -> f.get("event").asText().equals(event) && f.get("protocol").asText().equals(protocol) &&
            f.get("destinationPort").asInt() == destinationPort;
    }

    private static void assertTuple(final JsonNode flow, final String protocol, final String source, final int sourcePort,
        final String destination, final int destinationPort)
    {
        final String what = flow.toString();
        assertEquals(protocol, flow.get("protocol").asText(), what);
        assertEquals(source, flow.get("source").asText(), what);
        assertEquals(sourcePort, flow.get("sourcePort").asInt(), what);
        assertEquals(destination, flow.get("destination").asText(), what);
        assertEquals(destinationPort, flow.get("destinationPort").asInt(), what);
        assertEquals("blue", flow.get("network").asText(), what);
        assertEquals(100, flow.get("vni").asInt(), what);
        assertEquals("vm1", flow.get("vnic").asText(), what);
        assertEquals(4, flow.get("ipVersion").asInt(), what);
    }

    @Test
    void shouldLogAcceptedTcpUdpIcmpFlowsWithCountsEachWayAndARejectedOne() throws Exception
    {
        final VnicTraffic traffic = start("{roll: secondly, scanInterval: 50ms}");
        final VnicTraffic.Vnic vm1 = traffic.vnic("vm1");
        final VnicTraffic.Vnic vm2 = traffic.vnic("vm2");

        // UDP: 3 requests, 2 replies
        long udpOut = 0;
        long udpBack = 0;
        for (int i = 0; i < 3; i++)
        {
            udpOut += traffic.send(vm1, vm2, b -> b.udp(40000, 5000).payload(100, 1));
        }
        assertEquals(3, traffic.receive(vm2, 3));
        for (int i = 0; i < 2; i++)
        {
            udpBack += traffic.send(vm2, vm1, b -> b.udp(5000, 40000).payload(300, 2));
        }
        assertEquals(2, traffic.receive(vm1, 2));
        // TCP: SYN, SYN-ACK, ACK
        final long syn = traffic.send(vm1, vm2, b -> b.tcp(41000, 80, 1, 0, TcpFlyweight.SYN, null));
        assertEquals(1, traffic.receive(vm2, 1));
        final long synAck = traffic.send(vm2, vm1, b -> b.tcp(80, 41000, 9, 2, TcpFlyweight.SYN | TcpFlyweight.ACK, null));
        assertEquals(1, traffic.receive(vm1, 1));
        final long ack = traffic.send(vm1, vm2, b -> b.tcp(41000, 80, 2, 10, TcpFlyweight.ACK, null));
        assertEquals(1, traffic.receive(vm2, 1));
        // ICMP echo: 2 requests, 2 replies
        long icmpOut = 0;
        long icmpBack = 0;
        for (int i = 0; i < 2; i++)
        {
            final int sequence = i;
            icmpOut += traffic.send(vm1, vm2, b -> b.icmpEcho(true, 7, sequence).payload(56, 3));
            assertEquals(1, traffic.receive(vm2, 1));
            icmpBack += traffic.send(vm2, vm1, b -> b.icmpEcho(false, 7, sequence).payload(56, 3));
            assertEquals(1, traffic.receive(vm1, 1));
        }
        // rejected: UDP to a port vm2's group does not open, 3 packets
        final int rejectedLength = traffic.send(vm1, vm2, b -> b.udp(42000, 6000).payload(10, 4));
        traffic.send(vm1, vm2, b -> b.udp(42000, 6000).payload(10, 4));
        traffic.send(vm1, vm2, b -> b.udp(42000, 6000).payload(10, 4));

        final JsonNode udpStart = awaitFlow("udp start", record("start", "udp", 5000));
        assertTuple(udpStart, "udp", "10.0.1.11", 40000, "10.0.1.12", 5000);
        assertEquals("accept", udpStart.get("action").asText());
        assertEquals(1, udpStart.get("packets").asLong());

        final JsonNode udpEnd = awaitFlow("udp end", record("end", "udp", 5000));
        assertTuple(udpEnd, "udp", "10.0.1.11", 40000, "10.0.1.12", 5000);
        assertEquals("accept", udpEnd.get("action").asText());
        assertEquals(3, udpEnd.get("forwardPackets").asLong(), udpEnd.toString());
        assertEquals(udpOut, udpEnd.get("forwardBytes").asLong(), udpEnd.toString());
        assertEquals(2, udpEnd.get("replyPackets").asLong(), udpEnd.toString());
        assertEquals(udpBack, udpEnd.get("replyBytes").asLong(), udpEnd.toString());
        assertEquals(5, udpEnd.get("packets").asLong());
        assertEquals(udpOut + udpBack, udpEnd.get("bytes").asLong());
        assertTrue(java.time.Instant.parse(udpEnd.get("start").asText()).compareTo(java.time.Instant.parse(udpEnd.get("end").asText())) <= 0,
            udpEnd.toString());

        final JsonNode tcpEnd = awaitFlow("tcp end", record("end", "tcp", 80));
        assertTuple(tcpEnd, "tcp", "10.0.1.11", 41000, "10.0.1.12", 80);
        assertEquals(2, tcpEnd.get("forwardPackets").asLong(), tcpEnd.toString());
        assertEquals(syn + ack, tcpEnd.get("forwardBytes").asLong(), tcpEnd.toString());
        assertEquals(1, tcpEnd.get("replyPackets").asLong(), tcpEnd.toString());
        assertEquals(synAck, tcpEnd.get("replyBytes").asLong(), tcpEnd.toString());

        final JsonNode icmpEnd = awaitFlow("icmp end", f -> f.get("event").asText().equals("end") &&
            f.get("protocol").asText().equals("icmp"));
        // ICMP echo: both "ports" are the echo identifier
        assertTuple(icmpEnd, "icmp", "10.0.1.11", 7, "10.0.1.12", 7);
        assertEquals(2, icmpEnd.get("forwardPackets").asLong(), icmpEnd.toString());
        assertEquals(icmpOut, icmpEnd.get("forwardBytes").asLong());
        assertEquals(2, icmpEnd.get("replyPackets").asLong(), icmpEnd.toString());
        assertEquals(icmpBack, icmpEnd.get("replyBytes").asLong());

        final JsonNode reject = awaitFlow("reject", record("reject", "udp", 6000));
        assertTuple(reject, "udp", "10.0.1.11", 42000, "10.0.1.12", 6000);
        assertEquals("reject", reject.get("action").asText());
        assertEquals(1, reject.get("packets").asLong(), "the first rejected packet is logged at once: " + reject);
        assertEquals(rejectedLength, reject.get("bytes").asLong());
        // the other two fall in the aggregation window: no second reject record yet
        final long rejects = count(r -> r.get("event").asText().equals("reject"));
        assertEquals(1, rejects);
        // and no accepted flow for the rejected 5-tuple
        assertEquals(0, count(r -> r.get("action").asText().equals("accept") && r.get("destinationPort").asInt() == 6000));

        // without since or cursor: the newest records, oldest first, and next continues after them
        final List<JsonNode> all = new ArrayList<>();
        expect(200, daemon.get("/v1/flows?since=0&limit=10000")).json().get("flows").forEach(all::add);
        final JsonNode newest = expect(200, daemon.get("/v1/flows?limit=2")).json();
        assertEquals(List.of(all.get(all.size() - 2), all.get(all.size() - 1)),
            List.of(newest.get("flows").get(0), newest.get("flows").get(1)));
        assertEquals(0, expect(200, daemon.get("/v1/flows?cursor=" + newest.get("next").asText())).json().get("flows").size());
        // a cursor pages forward: two pages of 3 are the first 6 records
        final JsonNode page1 = expect(200, daemon.get("/v1/flows?since=0&limit=3")).json();
        final JsonNode page2 = expect(200, daemon.get("/v1/flows?limit=3&cursor=" + page1.get("next").asText())).json();
        assertEquals(all.subList(0, 6), List.of(page1.get("flows").get(0), page1.get("flows").get(1), page1.get("flows").get(2),
            page2.get("flows").get(0), page2.get("flows").get(1), page2.get("flows").get(2)));

        // filtered by vNIC: every flow above is vm1's
        final JsonNode ofVm2 = expect(200, daemon.get("/v1/flows?since=0&vnic=vm2")).json();
        assertEquals(0, ofVm2.get("flows").size(), ofVm2.toString());
        final String metrics = daemon.get("/metrics").body();
        assertTrue(metrics.contains("vsnic_flow_log_overflow_total 0"), metrics);
        assertTrue(metrics.contains("vsnic_flow_log_enabled 1"), metrics);
    }

    private long count(final Predicate<JsonNode> match)
    {
        final List<JsonNode> all = new ArrayList<>();
        expect(200, daemon.get("/v1/flows?since=0&limit=10000")).json().get("flows").forEach(all::add);
        return all.stream().filter(match).count();
    }

    @Test
    void shouldCountOverflowWithoutHoldingUpForwardingWhenTheRingIsFull() throws Exception
    {
        final VnicTraffic traffic = start("{roll: secondly, ringSlots: 2, scanInterval: 50ms}");
        final VnicTraffic.Vnic vm1 = traffic.vnic("vm1");
        final VnicTraffic.Vnic vm2 = traffic.vnic("vm2");
        final int flows = 200;
        for (int i = 0; i < flows; i++)
        {
            final int port = 20000 + i;
            traffic.send(vm1, vm2, b -> b.udp(port, 5000).payload(20, 5));
        }
        assertEquals(flows, traffic.receive(vm2, flows), "every frame forwarded although the flow log ring overflowed");
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        long overflow = 0;
        while (System.nanoTime() < deadline && overflow == 0)
        {
            overflow = metric(daemon.get("/metrics").body(), "vsnic_flow_log_overflow_total");
            Thread.sleep(20);
        }
        assertTrue(overflow > 0, "overflow counted");
        final long starts = count(r -> r.get("event").asText().equals("start"));
        assertEquals(flows, starts + overflow, "every start record written or counted as overflow");
        // the end records come from the collector's scan of the connection table, not the ring: all 200 arrive
        final long endDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        long ends = 0;
        while (System.nanoTime() < endDeadline && ends < flows)
        {
            ends = count(r -> r.get("event").asText().equals("end"));
            Thread.sleep(50);
        }
        assertEquals(flows, ends);
    }

    static long metric(final String text, final String name)
    {
        return text.lines().filter(l -> l.startsWith(name + " ")).mapToLong(l -> Long.parseLong(l.substring(name.length() + 1).trim()))
            .findFirst().orElseThrow(() -> new AssertionError(name + " not in " + text));
    }

    @Test
    void shouldDeleteRollCyclesOlderThanTheRetention() throws Exception
    {
        final VnicTraffic traffic = start("{roll: secondly, retention: 2s, scanInterval: 50ms}");
        final VnicTraffic.Vnic vm1 = traffic.vnic("vm1");
        final VnicTraffic.Vnic vm2 = traffic.vnic("vm2");
        final Path flows = dir.resolve("state/flows");
        // a new flow every 100 ms for 5 s: records in about 5 one-second cycles
        for (int i = 0; i < 50; i++)
        {
            final int port = 30000 + i;
            traffic.send(vm1, vm2, b -> b.udp(port, 5000).payload(20, 6));
            assertEquals(1, traffic.receive(vm2, 1));
            Thread.sleep(100);
        }
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        long deleted = 0;
        while (System.nanoTime() < deadline && deleted < 2)
        {
            deleted = metric(daemon.get("/metrics").body(), "vsnic_flow_log_cycles_deleted_total");
            Thread.sleep(50);
        }
        assertTrue(deleted >= 2, "old cycles deleted: " + deleted + ", files " + cycleFiles(flows));
        // what is left: at most the retention's 2 cycles, the current one and one being rolled meanwhile
        assertTrue(cycleFiles(flows).size() <= 4, "cycle files left: " + cycleFiles(flows));
        // the oldest records are gone: a query from the start begins within the retention (plus a cycle and slack)
        final JsonNode page = expect(200, daemon.get("/v1/flows?since=0&limit=10000")).json();
        assertTrue(page.get("flows").size() < 100, "records of deleted cycles are gone: " + page.get("flows").size());
        final JsonNode oldest = page.get("flows").get(0);
        if (oldest != null)
        {
            final long ageMs = System.currentTimeMillis() - java.time.Instant.parse(oldest.get("end").asText()).toEpochMilli();
            assertTrue(ageMs < 6_000, "oldest record kept is " + ageMs + " ms old: " + oldest);
        }
    }

    private static List<String> cycleFiles(final Path directory) throws IOException
    {
        try (Stream<Path> files = Files.list(directory))
        {
            return files.map(f -> f.getFileName().toString()).filter(n -> n.endsWith(".cq4")).sorted().toList();
        }
    }

    @Test
    void shouldAnswerALongPollWithANewFlow() throws Exception
    {
        final VnicTraffic traffic = start("{roll: secondly, scanInterval: 50ms}");
        final VnicTraffic.Vnic vm1 = traffic.vnic("vm1");
        final VnicTraffic.Vnic vm2 = traffic.vnic("vm2");
        final JsonNode first = expect(200, daemon.get("/v1/flows")).json();
        assertEquals(0, first.get("flows").size());
        final String cursor = first.get("next").asText();
        final Thread sender = new Thread(() -> {
            try
            {
                Thread.sleep(300);
                traffic.send(vm1, vm2, b -> b.icmpEcho(true, 9, 1).payload(8, 7));
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
            }
        });
        sender.start();
        final JsonNode page = expect(200, daemon.get("/v1/flows?wait=20&cursor=" + cursor)).json();
        sender.join();
        assertEquals(1, page.get("flows").size(), page.toString());
        assertEquals("start", page.get("flows").get(0).get("event").asText());
        assertEquals("icmp", page.get("flows").get(0).get("protocol").asText());
        assertNotNull(page.get("next"));
    }

    @Test
    void shouldRefuseBadQueriesNamingTheField() throws Exception
    {
        start("{roll: secondly}");
        for (final String[] bad : new String[][] {{"limit=0", "limit"}, {"limit=abc", "limit"}, {"limit=10001", "limit"},
            {"wait=61", "wait"}, {"cursor=x1", "cursor"}, {"since=yesterday", "since"}})
        {
            final TestDaemon.Response response = daemon.get("/v1/flows?" + bad[0]);
            assertEquals(400, response.status(), bad[0] + ": " + response.body());
            assertEquals(bad[1], response.errorField(), bad[0]);
        }
        assertEquals(404, daemon.get("/v1/flows?vnic=nope").status());
        assertEquals(405, daemon.post("/v1/flows", "{}").status());
    }

    @Test
    void shouldAnswer409WhenFlowLogsAreOff() throws Exception
    {
        start("{enabled: false}");
        final TestDaemon.Response response = daemon.get("/v1/flows");
        assertEquals(409, response.status(), response.body());
        assertEquals("flow_logs_disabled", response.errorCode());
        assertTrue(daemon.get("/metrics").body().contains("vsnic_flow_log_enabled 0"));
    }
}
