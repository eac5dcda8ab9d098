package io.vsnic.dataplane.substrate;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.vsnic.crypto.DeviceKeys;
import io.vsnic.dataplane.pipeline.DataPlane;
import io.vsnic.dataplane.pipeline.DataPlaneConfig;
import io.vsnic.dataplane.security.ConnectionTimeouts;

/**
 * The source port pool keeps off the substrate's own listening ports and the ports the network namespace
 * reserves ({@code net.ipv4.ip_local_reserved_ports}): a pool drawn before the WireGuard socket binds once
 * took 51820 and the device could not start.
 */
class SourcePortPoolTest
{
    @TempDir
    Path directory;

    @Test
    void shouldReadPortsAndRangesInTheSourceRangeWhenTheListIsValid() throws Exception
    {
        assertEquals(Set.of(51820, 51900, 51901, 51902), UdpSubstrate.reservedPorts(write("51820,51900-51902\n")));
        assertEquals(Set.of(49152, 49153), UdpSubstrate.reservedPorts(write("8080,49000-49153")), "only 49152..65535 counts");
        assertEquals(Set.of(), UdpSubstrate.reservedPorts(write("\n")), "the kernel's default: nothing reserved");
    }

    @Test
    void shouldReserveNothingWhenTheListIsMissingOrMalformed() throws Exception
    {
        assertEquals(Set.of(), UdpSubstrate.reservedPorts(directory.resolve("absent")));
        for (final String text : List.of("abc", "51820-", "-51820", "60000-59000", "70000", "1-2-3", "51820,,51821"))
        {
            assertEquals(Set.of(), UdpSubstrate.reservedPorts(write(text)), text);
        }
    }

    @Test
    void shouldLeaveTheWireguardPortAndReservedPortsOutOfThePoolWhenOnlyThoseAndOneMoreAreFree() throws Exception
    {
        // 49152..65533 reserved: the pool may draw only 65534 (the WireGuard port, bound after the pool) or 65535.
        // Drawing the WireGuard port would fail its bind half the time, so eight starts would catch it.
        Assumptions.assumeTrue(UdpSubstrate.isAvailable(UdpSubstrate.Transport.EPOLL), "epoll is not available here");
        final Path reserved = write("49152-65533");
        final DeviceKeys keys = DeviceKeys.generate(new SecureRandom());
        for (int start = 0; start < 8; start++)
        {
            try (DataPlane dataPlane = new DataPlane(new DataPlaneConfig(1, 1024, 1024, ConnectionTimeouts.DEFAULTS));
                UdpSubstrate substrate = new UdpSubstrate(1, dataPlane.pool(), dataPlane::state,
                    new UdpSubstrate.Config("127.0.0.1", 0, 0, UdpSubstrate.Transport.EPOLL, 1, 256)
                        .withWireguard(WireguardConfig.of(keys.privateKey(), "10.99.0.1").withListenPort(65534))
                        .withSourcePorts(1)))
            {
                substrate.reservedPortsFile(reserved);
                substrate.start();
                assertEquals(65534, substrate.wireguardPort());
                assertEquals(List.of(65535), substrate.sourcePorts());
            }
        }
    }

    @Test
    void shouldLeaveThePortsItWasToldToAvoidOutOfThePool() throws Exception
    {
        Assumptions.assumeTrue(UdpSubstrate.isAvailable(UdpSubstrate.Transport.EPOLL), "epoll is not available here");
        // as for an enclave restored after the device substrate: 65534 is its port, 65535 the only other one free
        final Path reserved = write("49152-65533");
        for (int start = 0; start < 8; start++)
        {
            try (DataPlane dataPlane = new DataPlane(new DataPlaneConfig(1, 1024, 1024, ConnectionTimeouts.DEFAULTS));
                UdpSubstrate substrate = new UdpSubstrate(1, dataPlane.pool(), dataPlane::state,
                    new UdpSubstrate.Config("127.0.0.1", 0, 0, UdpSubstrate.Transport.EPOLL, 1, 256).withSourcePorts(1)))
            {
                substrate.reservedPortsFile(reserved);
                substrate.avoidSourcePorts(List.of(65534));
                substrate.start();
                assertEquals(List.of(65535), substrate.sourcePorts());
                assertEquals(Set.of(65534), substrate.avoidedSourcePorts());
            }
        }
    }

    private Path write(final String text) throws Exception
    {
        final Path file = Files.createTempFile(directory, "reserved", ".txt");
        Files.writeString(file, text);
        return file;
    }
}
