package io.vsnic.vnic.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.SecureRandom;
import java.time.Duration;
import java.util.List;

import io.vsnic.crypto.DeviceKeys;
import io.vsnic.dataplane.config.NetworkSpec;
import io.vsnic.dataplane.config.PortSpec;
import io.vsnic.dataplane.config.SubnetSpec;
import io.vsnic.dataplane.enclave.EnclaveDomain;
import io.vsnic.dataplane.enclave.EnclavePeer;
import io.vsnic.dataplane.enclave.EnclaveSpec;
import io.vsnic.dataplane.enclave.ServiceSpec;
import io.vsnic.dataplane.pipeline.DataPlane;
import io.vsnic.dataplane.pipeline.DataPlaneConfig;
import io.vsnic.dataplane.pipeline.IsolationGuard;
import io.vsnic.dataplane.protocol.EthernetFlyweight;
import io.vsnic.dataplane.security.CompiledPolicy;
import io.vsnic.dataplane.security.ConnectionTimeouts;
import io.vsnic.dataplane.status.DropReason;
import io.vsnic.dataplane.substrate.UdpSubstrate;
import io.vsnic.dataplane.substrate.WireguardConfig;
import io.vsnic.dataplane.table.ForwardingState;
import io.vsnic.vnic.netns.NetNs;
import io.vsnic.vnic.tap.TapDevice;
import io.vsnic.vnic.tap.TapPort;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The enclave isolation matrix with real kernels on the ends: services and a customer VM are
 * network namespaces behind TAP ports. The enclave "pay" spans two in-process devices (client on
 * device 1, server on device 2) over its own encrypted substrate on loopback; the customer VM sits
 * on device 1. The client pings the server; the VM reaches no service (by route or with a service's
 * source address) and the client reaches no VM; every attempt is counted as enclave_isolation.
 */
class EnclaveTapTest
{
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final long MAC_VM = 0x02_00_00_61_00_10L;
    private static final long MAC_CLIENT = 0x02_77_00_00_00_11L;
    private static final long MAC_SERVER = 0x02_77_00_00_00_21L;
    private static final EnclaveSpec PAY = new EnclaveSpec("pay", 7001, "10.77.0.0/24", "10.77.0.1",
        List.of(new ServiceSpec("client", 1, 1, MAC_CLIENT, "10.77.0.11"), new ServiceSpec("server", 2, 1, MAC_SERVER, "10.77.0.21")),
        null);

    private static EnclaveDomain enclave(final int device, final String address, final DeviceKeys keys, final String inner)
        throws java.io.IOException
    {
        final EnclaveDomain domain = new EnclaveDomain(PAY, device, new DataPlaneConfig(1, 4096, 4096, ConnectionTimeouts.DEFAULTS),
            new UdpSubstrate.Config(address, 0, 0, UdpSubstrate.Transport.EPOLL, 1, 4096)
                .withWireguard(WireguardConfig.of(keys.privateKey(), inner).withListenPort(0)));
        domain.open();
        return domain;
    }

    @Test
    void shouldConnectServicesAcrossDevicesAndIsolateThemFromCustomerVms() throws Exception
    {
        Assumptions.assumeTrue(NetNs.isRoot(), "needs root: creates namespaces and TAP devices");
        Assumptions.assumeTrue(NetNs.findExecutable("ping").isPresent(), "needs ping (apt-get install iputils-ping)");
        final DeviceKeys keys1 = DeviceKeys.generate(RANDOM);
        final DeviceKeys keys2 = DeviceKeys.generate(RANDOM);
        final List<TapPort> taps = new java.util.ArrayList<>();
        try (NetNs scope = NetNs.open();
             DataPlane customer = new DataPlane(new DataPlaneConfig(1, 4096, 4096, ConnectionTimeouts.DEFAULTS));
             EnclaveDomain pay1 = enclave(1, "127.0.0.1", keys1, "10.98.0.1");
             EnclaveDomain pay2 = enclave(2, "127.0.0.2", keys2, "10.98.0.2"))
        {
            final String nsVm = scope.createNamespace("ev");
            final String nsClient = scope.createNamespace("ec");
            final String nsServer = scope.createNamespace("es");
            final String suffix = nsVm.substring(nsVm.length() - 6);
            final String tapVm = "tv" + suffix;
            final String tapClient = "tc" + suffix;
            final String tapServer = "ts" + suffix;

            final TapPort vm = new TapPort(1, TapDevice.open(tapVm), customer.pool());
            final TapPort client = new TapPort(1, TapDevice.open(tapClient), pay1.dataPlane().pool());
            final TapPort server = new TapPort(1, TapDevice.open(tapServer), pay2.dataPlane().pool());
            taps.addAll(List.of(vm, client, server));
            final String[][] ends = {{nsVm, tapVm, EthernetFlyweight.formatMac(MAC_VM), "10.61.1.10/24", "10.61.1.1"},
                {nsClient, tapClient, EthernetFlyweight.formatMac(MAC_CLIENT), "10.77.0.11/24", "10.77.0.1"},
                {nsServer, tapServer, EthernetFlyweight.formatMac(MAC_SERVER), "10.77.0.21/24", "10.77.0.1"}};
            for (final String[] end : ends)
            {
                scope.moveLink(end[1], end[0]);
                scope.setMac(end[0], end[1], end[2]);
                scope.disableIpv6(end[0], end[1]);
                scope.addAddress(end[0], end[1], end[3]);
                scope.up(end[0], end[1]);
                scope.up(end[0], "lo");
                assertEquals(0, scope.exec(end[0], Duration.ofSeconds(5), "ip", "route", "add", "default", "via", end[4]).exitCode());
            }

            customer.isolation(IsolationGuard.of(false, List.of(PAY.vni()), List.of(PAY.cidr())));
            customer.publish(ForwardingState.build(List.of(new NetworkSpec("blue", 100, 1400,
                List.of(new SubnetSpec("10.61.1.0/24", "10.61.1.1")))), List.of(
                new PortSpec(1, "vm", "blue", MAC_VM, "10.61.1.10", null, CompiledPolicy.allowAll(), true))));
            customer.addPort(vm);
            customer.start();
            final IsolationGuard payGuard = IsolationGuard.of(true, List.of(100), List.of("10.61.1.0/24"));
            pay1.configure(List.of(new EnclavePeer(2, "pay-2", "127.0.0.2:" + pay2.substrate().wireguardPort(),
                keys2.publicKeyBase64(), "10.98.0.2")), payGuard);
            pay2.configure(List.of(new EnclavePeer(1, "pay-1", "127.0.0.1:" + pay1.substrate().wireguardPort(),
                keys1.publicKeyBase64(), "10.98.0.1")), payGuard);
            pay1.attach(client);
            pay2.attach(server);

            // the positive path: client and server, on two devices, inside the enclave
            ping(scope, nsClient, "10.77.0.21", true);
            ping(scope, nsServer, "10.77.0.11", true);
            ping(scope, nsClient, "10.77.0.1", true);

            // the customer VM reaches no service
            final long vmBefore = customer.counters().drops(DropReason.ENCLAVE_ISOLATION);
            ping(scope, nsVm, "10.77.0.21", false);
            ping(scope, nsVm, "10.77.0.11", false);
            assertTrue(customer.counters().drops(DropReason.ENCLAVE_ISOLATION) >= vmBefore + 4,
                "customer drops: " + customer.counters().dropsByReason());
            // the client reaches no customer VM
            final long payBefore = pay1.counters().drops(DropReason.ENCLAVE_ISOLATION);
            ping(scope, nsClient, "10.61.1.10", false);
            assertTrue(pay1.counters().drops(DropReason.ENCLAVE_ISOLATION) >= payBefore + 2,
                "enclave drops: " + pay1.counters().dropsByReason());
            // the VM takes a service's address: still nothing, counted
            final long spoofBefore = customer.counters().drops(DropReason.ENCLAVE_ISOLATION);
            scope.addAddress(nsVm, tapVm, "10.77.0.11/24");
            ping(scope, nsVm, "10.77.0.21", false);
            assertTrue(customer.counters().drops(DropReason.ENCLAVE_ISOLATION) > spoofBefore,
                "customer drops: " + customer.counters().dropsByReason());
            ping(scope, nsClient, "10.77.0.21", true);
            System.out.println("enclave TAP: customer " + customer.counters().dropsByReason() + "; pay-1 " +
                pay1.counters().dropsByReason() + "; pay-2 " + pay2.counters().dropsByReason());
        }
        finally
        {
            for (final TapPort port : taps)
            {
                port.close();
            }
        }
    }

    private static void ping(final NetNs scope, final String ns, final String address, final boolean expectReply)
    {
        final NetNs.Result result = scope.exec(ns, Duration.ofSeconds(15), "ping", "-c", "2", "-W", "1", address);
        assertEquals(expectReply, result.exitCode() == 0, "ping " + address + " from " + ns + ": " + result.describe());
    }
}
