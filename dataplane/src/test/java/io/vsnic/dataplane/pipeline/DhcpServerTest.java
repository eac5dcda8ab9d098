package io.vsnic.dataplane.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import io.vsnic.dataplane.config.NetworkSpec;
import io.vsnic.dataplane.config.PortSpec;
import io.vsnic.dataplane.config.SubnetSpec;
import io.vsnic.dataplane.protocol.EthernetFlyweight;
import io.vsnic.dataplane.protocol.FrameLayout;
import io.vsnic.dataplane.protocol.Ipv4Flyweight;
import io.vsnic.dataplane.security.CompiledPolicy;
import io.vsnic.dataplane.status.DropReason;
import io.vsnic.dataplane.table.ForwardingState;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The per-vNIC DHCPv4 server: DISCOVER/OFFER, REQUEST/ACK, a NAK for any other address, INFORM,
 * RELEASE, and requests with the wrong hardware address.
 */
class DhcpServerTest
{
    private static final long MAC = 0x02_00_00_00_00_31L;
    private static final int XID = 0x1234_5678;
    private static final long GW_MAC = ForwardingState.GATEWAY_MAC_PREFIX | 9;

    private PipelineHarness harness;

    @BeforeEach
    void setUp()
    {
        harness = new PipelineHarness();
        harness.configure(List.of(new NetworkSpec("n", 9, 1400, List.of(new SubnetSpec("10.9.0.0/22", "10.9.0.1")),
                List.of(), List.of(), List.of("10.9.0.53", "192.0.2.53"))),
            List.of(new PortSpec(1, "vm", "n", MAC, "10.9.1.7", null, CompiledPolicy.allowAll(), true)));
    }

    @AfterEach
    void tearDown()
    {
        harness.close();
    }

    static byte[] message(final int type, final long chaddr, final int requested, final int ciaddr)
    {
        final ByteBuffer bootp = ByteBuffer.allocate(300);
        bootp.put((byte)1).put((byte)1).put((byte)6).put((byte)0).putInt(XID).putShort((short)0).putShort((short)0x8000)
            .putInt(ciaddr).putInt(0).putInt(0).putInt(0);
        bootp.putShort((short)(chaddr >>> 32)).putInt((int)chaddr);
        bootp.position(236);
        bootp.putInt(0x6382_5363);
        bootp.put((byte)53).put((byte)1).put((byte)type);
        if (requested != 0)
        {
            bootp.put((byte)50).put((byte)4).putInt(requested);
        }
        bootp.put((byte)55).put((byte)4).put((byte)1).put((byte)3).put((byte)6).put((byte)26);
        bootp.put((byte)255);
        return bootp.array();
    }

    private List<PipelineHarness.Out> exchange(final byte[] bootp, final int source)
    {
        harness.send(1, b -> b.ethernet(EthernetFlyweight.BROADCAST, MAC).ipv4(source, -1, 64, 0, 0, null).udp(68, 67).payload(bootp));
        harness.drain();
        return harness.received(1);
    }

    /** Options of a reply, by code. */
    private static Map<Integer, byte[]> options(final PipelineHarness.Out reply)
    {
        final Map<Integer, byte[]> options = new HashMap<>();
        int at = reply.layout().l4Offset() + 8 + 240;
        final byte[] bytes = reply.bytes();
        while ((bytes[at] & 0xFF) != 255)
        {
            final int code = bytes[at] & 0xFF;
            final int length = bytes[at + 1] & 0xFF;
            final byte[] value = new byte[length];
            System.arraycopy(bytes, at + 2, value, 0, length);
            options.put(code, value);
            at += 2 + length;
        }
        return options;
    }

    private static int yiaddr(final PipelineHarness.Out reply)
    {
        return ByteBuffer.wrap(reply.bytes(), reply.layout().l4Offset() + 8 + 16, 4).getInt();
    }

    @Test
    void shouldOfferTheVnicAddressWithMaskRouterMtuAndDns()
    {
        final List<PipelineHarness.Out> out = exchange(message(DhcpServer.DISCOVER, MAC, 0, 0), 0);
        assertEquals(1, out.size());
        final PipelineHarness.Out offer = out.get(0);
        assertTrue(offer.layout().isValid(), offer.layout().dropReason().label());
        assertTrue(offer.layout().hasFlag(FrameLayout.FLAG_L4_CHECKSUM_VERIFIED));
        assertEquals(GW_MAC, offer.layout().sourceMac());
        assertEquals(Ipv4Flyweight.parse("10.9.1.7"), yiaddr(offer));
        final Map<Integer, byte[]> options = options(offer);
        assertEquals(DhcpServer.OFFER, options.get(53)[0]);
        assertEquals(Ipv4Flyweight.parse("255.255.252.0"), ByteBuffer.wrap(options.get(1)).getInt());
        assertEquals(Ipv4Flyweight.parse("10.9.0.1"), ByteBuffer.wrap(options.get(3)).getInt());
        assertEquals(Ipv4Flyweight.parse("10.9.0.1"), ByteBuffer.wrap(options.get(54)).getInt());
        assertEquals(1400, ByteBuffer.wrap(options.get(26)).getShort());
        assertEquals(8, options.get(6).length);
        assertEquals(DhcpServer.LEASE_SECONDS, ByteBuffer.wrap(options.get(51)).getInt());
        final int xid = ByteBuffer.wrap(offer.bytes(), offer.layout().l4Offset() + 8 + 4, 4).getInt();
        assertEquals(XID, xid);
    }

    @Test
    void shouldAckItsAddressAndNakAnyOther()
    {
        final PipelineHarness.Out ack = exchange(message(DhcpServer.REQUEST, MAC, Ipv4Flyweight.parse("10.9.1.7"), 0), 0).get(0);
        assertEquals(DhcpServer.ACK, options(ack).get(53)[0]);
        assertEquals(Ipv4Flyweight.parse("10.9.1.7"), yiaddr(ack));
        final PipelineHarness.Out nak = exchange(message(DhcpServer.REQUEST, MAC, Ipv4Flyweight.parse("10.9.1.8"), 0), 0).get(0);
        assertEquals(DhcpServer.NAK, options(nak).get(53)[0]);
        assertEquals(0, yiaddr(nak));
        // Renewing: ciaddr set, unicast from the leased address.
        final int address = Ipv4Flyweight.parse("10.9.1.7");
        final PipelineHarness.Out renew = exchange(message(DhcpServer.REQUEST, MAC, 0, address), address).get(0);
        assertEquals(DhcpServer.ACK, options(renew).get(53)[0]);
    }

    @Test
    void shouldAnswerInformWithoutLeaseAndIgnoreRelease()
    {
        final int address = Ipv4Flyweight.parse("10.9.1.7");
        final PipelineHarness.Out inform = exchange(message(DhcpServer.INFORM, MAC, 0, address), address).get(0);
        assertEquals(DhcpServer.ACK, options(inform).get(53)[0]);
        assertEquals(null, options(inform).get(51));
        assertTrue(exchange(message(DhcpServer.RELEASE, MAC, 0, address), address).isEmpty());
        assertEquals(1, harness.counters().drops(DropReason.DHCP_NO_REPLY));
    }

    @Test
    void shouldRefuseRequestsForAnotherHardwareAddress()
    {
        assertTrue(exchange(message(DhcpServer.DISCOVER, 0x02_66_66_66_66_66L, 0, 0), 0).isEmpty());
        assertEquals(1, harness.counters().drops(DropReason.DHCP_MALFORMED));
        final byte[] truncated = new byte[100];
        assertTrue(exchange(truncated, 0).isEmpty());
        assertEquals(2, harness.counters().drops(DropReason.DHCP_MALFORMED));
    }
}
