package io.vsnic.orchestrator.lab;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

import io.vsnic.orchestrator.daemon.ConfigException;
import io.vsnic.orchestrator.daemon.DeviceConfig;
import io.vsnic.vnic.netns.NetNs;
import org.junit.jupiter.api.Test;

/**
 * Lab names: within Linux's 15-character interface names at the largest lab, unique; device
 * configurations the daemon accepts; the Prometheus reader.
 */
class LabNamesTest
{
    @Test
    void shouldKeepEveryInterfaceNameShortAndUniqueAtTheLargestLab() throws Exception
    {
        final String lab = "abcdefgh";
        Lab.checkName(lab);
        final Set<String> taps = new HashSet<>();
        final Set<String> macs = new HashSet<>();
        for (int d = 1; d <= Lab.MAX_DEVICES; d++)
        {
            for (int v = 1; v <= Lab.MAX_VMS; v++)
            {
                final String tap = Lab.tapName(lab, d, v);
                assertTrue(tap.length() <= NetNs.MAX_LINK_NAME, tap);
                assertTrue(taps.add(tap), "unique " + tap);
                assertTrue(macs.add(Lab.vmMac(d, v)));
                assertTrue(Lab.vmNamespace(lab, d, v).startsWith(Lab.namespacePrefix(lab)));
            }
            assertTrue(("s" + d).length() <= NetNs.MAX_LINK_NAME);
        }
    }

    @Test
    void shouldRefuseNamesThatCouldNotFormInterfaceNames()
    {
        for (final String bad : new String[] {"", "ABC", "a-b", "abcdefghi", "a b", "../x"})
        {
            assertThrows(LabException.class, () -> Lab.checkName(bad), bad);
        }
    }

    @Test
    void shouldWriteDeviceConfigurationsTheDaemonAccepts() throws Exception
    {
        final DeviceConfig plain = DeviceConfig.parse(Lab.deviceConfig("lab", 3, Path.of("/run/vsnic-lab/lab/d3/device.key"), null,
            false).getBytes(StandardCharsets.UTF_8));
        assertEquals("lab-d3", plain.device().name());
        assertEquals(3, plain.device().id());
        assertEquals("10.76.0.3", plain.substrate().bindAddress());
        assertEquals(Lab.API_PORT, plain.apiAddress().getPort());
        assertNull(plain.substrate().wireguard(), "plain lab: no encrypted substrate");

        final DeviceConfig encrypted = DeviceConfig.parse(Lab.deviceConfig("lab", 3, Path.of("/run/vsnic-lab/lab/d3/device.key"),
            Path.of("/run/vsnic-lab/lab/d3/wg.keylog"), false).getBytes(StandardCharsets.UTF_8));
        assertEquals("10.76.0.3", encrypted.substrate().bindAddress());
        assertEquals("/run/vsnic-lab/lab/d3/device.key", encrypted.substrate().wireguard().privateKeyFile());
        assertEquals(Lab.WIREGUARD_PORT, encrypted.substrate().wireguard().listenPort());
        assertEquals("10.78.0.3", encrypted.substrate().wireguard().innerAddress());
        assertEquals("/run/vsnic-lab/lab/d3/wg.keylog", encrypted.substrate().wireguard().keylog());
        assertNull(encrypted.cluster(), "a standalone lab device");
        assertEquals(120, encrypted.substrate().wireguard().rekeyAfterSeconds());

        final DeviceConfig clustered = DeviceConfig.parse(Lab.deviceConfig("lab", 3, Path.of("/run/vsnic-lab/lab/d3/device.key"),
            Path.of("/run/vsnic-lab/lab/d3/wg.keylog"), true).getBytes(StandardCharsets.UTF_8));
        assertEquals("lab", clustered.cluster().name());
        assertEquals("10.76.0.3:" + Lab.RAFT_PORT, clustered.cluster().raft(), "Raft on the substrate address");

        final DeviceConfig rekeying = DeviceConfig.parse(Lab.deviceConfig("lab", 3, Path.of("/run/vsnic-lab/lab/d3/device.key"),
            Path.of("/run/vsnic-lab/lab/d3/wg.keylog"), false, "30").getBytes(StandardCharsets.UTF_8));
        assertEquals(30, rekeying.substrate().wireguard().rekeyAfterSeconds());
        assertEquals(16, rekeying.substrate().sourcePorts(), "the default source port pool");
        final DeviceConfig fixedPorts = DeviceConfig.parse(Lab.deviceConfig("lab", 3, Path.of("/run/vsnic-lab/lab/d3/device.key"),
            null, false, null, "2", "0").getBytes(StandardCharsets.UTF_8));
        assertEquals(0, fixedPorts.substrate().sourcePorts());
        assertEquals(2, fixedPorts.substrate().receiveQueues());
        final ConfigException tooMany = assertThrows(ConfigException.class, () -> DeviceConfig.parse(Lab.deviceConfig("lab", 3,
            Path.of("/run/vsnic-lab/lab/d3/device.key"), null, false, null, null, "65").getBytes(StandardCharsets.UTF_8)));
        assertEquals("substrate.sourcePorts", tooMany.field(), tooMany.getMessage());
        final ConfigException bad = assertThrows(ConfigException.class, () -> DeviceConfig.parse(Lab.deviceConfig("lab", 3,
            Path.of("/run/vsnic-lab/lab/d3/device.key"), Path.of("/run/vsnic-lab/lab/d3/wg.keylog"), false, "soon")
            .getBytes(StandardCharsets.UTF_8)));
        assertEquals("substrate.wireguard.rekeyAfterSeconds", bad.field(), bad.getMessage());
    }

    @Test
    void shouldReadPrometheusSamples()
    {
        final Map<String, Double> samples = PromText.parse("""
            # HELP vsnic_dataplane_drops_total Frames dropped.
            # TYPE vsnic_dataplane_drops_total counter
            vsnic_dataplane_drops_total{reason="ttl_expired"} 3
            vsnic_dataplane_drops_total{reason="spoofed_ip"} 4
            vsnic_overlay_tx_packets_total 12
            garbage line
            """);
        assertEquals(7.0, PromText.sum(samples, "vsnic_dataplane_drops_total"));
        assertEquals(12.0, PromText.sum(samples, "vsnic_overlay_tx_packets_total"));
        assertEquals(0.0, PromText.sum(samples, "vsnic_overlay_tx"));
    }
}
