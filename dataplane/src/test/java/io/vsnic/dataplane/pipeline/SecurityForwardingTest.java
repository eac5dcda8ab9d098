package io.vsnic.dataplane.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import io.vsnic.dataplane.config.NetworkSpec;
import io.vsnic.dataplane.config.PortSpec;
import io.vsnic.dataplane.config.SubnetSpec;
import io.vsnic.dataplane.protocol.IpProtocol;
import io.vsnic.dataplane.protocol.Ipv4Flyweight;
import io.vsnic.dataplane.protocol.TcpFlyweight;
import io.vsnic.dataplane.security.CompiledPolicy;
import io.vsnic.dataplane.security.Direction;
import io.vsnic.dataplane.security.SecurityGroup;
import io.vsnic.dataplane.security.SecurityRule;
import io.vsnic.dataplane.status.DropReason;
import org.junit.jupiter.api.Test;

/**
 * Stateful security groups in the pipeline: default deny ingress, allow egress; rules by protocol,
 * port range and CIDR; replies to allowed flows pass; unknown TCP without SYN is invalid; a full
 * connection table drops new flows with a counted reason.
 */
class SecurityForwardingTest
{
    private static final long MAC_CLIENT = 0x02_00_00_00_00_01L;
    private static final long MAC_SERVER = 0x02_00_00_00_00_02L;
    private static final int CLIENT = Ipv4Flyweight.parse("10.0.1.11");
    private static final int SERVER = Ipv4Flyweight.parse("10.0.1.12");

    private static PipelineHarness harness(final int connectionCapacity)
    {
        final CompiledPolicy web = CompiledPolicy.compile(List.of(new SecurityGroup("web", List.of(
            new SecurityRule(Direction.INGRESS, IpProtocol.TCP, 80, 80, "10.0.1.0/24"),
            new SecurityRule(Direction.INGRESS, IpProtocol.UDP, 5000, 5999, "10.0.1.0/24"),
            new SecurityRule(Direction.EGRESS, -1, 0, 65535, "0.0.0.0/0")))));
        final CompiledPolicy client = CompiledPolicy.compile(List.of());
        final PipelineHarness harness = new PipelineHarness(1, connectionCapacity);
        harness.configure(
            List.of(new NetworkSpec("n", 7, 1500, List.of(new SubnetSpec("10.0.1.0/24", "10.0.1.1")))),
            List.of(new PortSpec(1, "client", "n", MAC_CLIENT, "10.0.1.11", null, client, true),
                new PortSpec(2, "server", "n", MAC_SERVER, "10.0.1.12", null, web, true)));
        return harness;
    }

    @Test
    void shouldAllowRuleMatchesAndTheirRepliesAndDenyEverythingElse()
    {
        try (PipelineHarness harness = harness(4096))
        {
            // client -> server: TCP 80 allowed by the server's ingress rule
            harness.send(1, b -> b.ethernet(MAC_SERVER, MAC_CLIENT).ipv4(CLIENT, SERVER).tcp(40000, 80, 1, 0, TcpFlyweight.SYN, null));
            // client -> server: TCP 22 not allowed
            harness.send(1, b -> b.ethernet(MAC_SERVER, MAC_CLIENT).ipv4(CLIENT, SERVER).tcp(40001, 22, 1, 0, TcpFlyweight.SYN, null));
            // client -> server: UDP 5500 allowed (port range)
            harness.send(1, b -> b.ethernet(MAC_SERVER, MAC_CLIENT).ipv4(CLIENT, SERVER).udp(40002, 5500).payload(8, 0));
            harness.drain();
            assertEquals(2, harness.received(2).size());
            assertEquals(1, harness.counters().drops(DropReason.ACL_DENY));

            // server -> client: the reply of the allowed TCP flow passes although the client has no ingress rule
            harness.send(2, b -> b.ethernet(MAC_CLIENT, MAC_SERVER).ipv4(SERVER, CLIENT)
                .tcp(80, 40000, 9, 2, TcpFlyweight.SYN | TcpFlyweight.ACK, null));
            // server -> client: a new flow to the client is denied (default deny ingress)
            harness.send(2, b -> b.ethernet(MAC_CLIENT, MAC_SERVER).ipv4(SERVER, CLIENT).udp(6000, 7000).payload(8, 0));
            // server -> client: TCP segment of a flow nobody opened
            harness.send(2, b -> b.ethernet(MAC_CLIENT, MAC_SERVER).ipv4(SERVER, CLIENT)
                .tcp(81, 40009, 9, 2, TcpFlyweight.ACK, null));
            harness.drain();
            assertEquals(1, harness.received(1).size());
            assertEquals(2, harness.counters().drops(DropReason.ACL_DENY));
            assertEquals(1, harness.counters().drops(DropReason.CONNTRACK_INVALID));
            assertTrue(harness.counters().flowsCreated() >= 2);
        }
    }

    @Test
    void shouldDropNewFlowsWhenConnectionTableIsFullAndKeepExistingOnes()
    {
        try (PipelineHarness harness = harness(1024))
        {
            final int capacity = harness.dataPlane.connections().capacity();
            int sent = 0;
            for (int i = 0; i < capacity + 200; i++)
            {
                final int port = 10000 + i;
                harness.send(1, b -> b.ethernet(MAC_SERVER, MAC_CLIENT).ipv4(CLIENT, SERVER).udp(port, 5000).payload(8, 0));
                if (++sent % 256 == 0)
                {
                    harness.drain();
                    harness.received(2);
                }
            }
            harness.drain();
            harness.received(2);
            final long full = harness.counters().drops(DropReason.CONNTRACK_FULL);
            assertTrue(full >= 200, "new flows beyond the capacity are dropped: " + harness.counters().dropsByReason());
            assertTrue(harness.dataPlane.connections().size() <= capacity);
            // an existing flow still passes
            harness.send(1, b -> b.ethernet(MAC_SERVER, MAC_CLIENT).ipv4(CLIENT, SERVER).udp(10000, 5000).payload(8, 0));
            harness.drain();
            assertEquals(1, harness.received(2).size());
        }
    }
    @Test
    void shouldLeaveFlowsUntrackedOnlyWhenEveryLocalEndAllowsEverything()
    {
        // "everything" written as a group (any protocol, both families, both directions) is untracked like allowAll()
        final CompiledPolicy everything = CompiledPolicy.compile(List.of(new SecurityGroup("all", List.of(
            new SecurityRule(Direction.INGRESS, SecurityRule.ANY_PROTOCOL, 0, 65535, "0.0.0.0/0"),
            new SecurityRule(Direction.INGRESS, SecurityRule.ANY_PROTOCOL, 0, 65535, "::/0"),
            new SecurityRule(Direction.EGRESS, SecurityRule.ANY_PROTOCOL, 0, 65535, "0.0.0.0/0"),
            new SecurityRule(Direction.EGRESS, SecurityRule.ANY_PROTOCOL, 0, 65535, "::/0")))));
        assertTrue(everything.untracked());
        assertTrue(CompiledPolicy.allowAll().untracked());
        assertFalse(CompiledPolicy.defaultPolicy().untracked());
        for (final boolean serverUntracked : List.of(true, false))
        {
            // the server allows all TCP but not "everything" in the second round: that end is tracked
            final CompiledPolicy server = serverUntracked ? everything : CompiledPolicy.compile(List.of(
                SecurityGroup.withDefaultEgress("tcp", List.of(
                    new SecurityRule(Direction.INGRESS, IpProtocol.TCP, 1, 65535, "0.0.0.0/0")))));
            try (PipelineHarness harness = new PipelineHarness(1, 4096))
            {
                harness.configure(
                    List.of(new NetworkSpec("n", 7, 1500, List.of(new SubnetSpec("10.0.1.0/24", "10.0.1.1")))),
                    List.of(new PortSpec(1, "client", "n", MAC_CLIENT, "10.0.1.11", null, everything, true),
                        new PortSpec(2, "server", "n", MAC_SERVER, "10.0.1.12", null, server, true)));
                // a mid-stream segment of a connection the table never saw (e.g. opened before a restart)
                harness.send(1, b -> b.ethernet(MAC_SERVER, MAC_CLIENT).ipv4(CLIENT, SERVER)
                    .tcp(40000, 80, 1000, 5, TcpFlyweight.ACK, null));
                harness.send(1, b -> b.ethernet(MAC_SERVER, MAC_CLIENT).ipv4(CLIENT, SERVER).udp(40001, 53).payload(8, 0));
                harness.drain();
                final int delivered = harness.received(2).size();
                if (serverUntracked)
                {
                    assertEquals(2, delivered, "untracked: nothing to be invalid against");
                    assertEquals(0, harness.counters().flowsCreated());
                    assertEquals(0, harness.dataPlane.connections().size());
                }
                else
                {
                    assertEquals(0, delivered, harness.counters().dropsByReason().toString());
                    assertEquals(1, harness.counters().drops(DropReason.CONNTRACK_INVALID));
                    assertEquals(1, harness.counters().drops(DropReason.ACL_DENY), "UDP is not in the server's rules");
                }
            }
        }
    }
}
