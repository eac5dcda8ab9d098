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
            null, false, null, "2", "0", null).getBytes(StandardCharsets.UTF_8));
        assertEquals(0, fixedPorts.substrate().sourcePorts());
        assertEquals(2, fixedPorts.substrate().receiveQueues());
        assertNull(fixedPorts.dataplane().workerCpus(), "workers unpinned");
        final ConfigException tooMany = assertThrows(ConfigException.class, () -> DeviceConfig.parse(Lab.deviceConfig("lab", 3,
            Path.of("/run/vsnic-lab/lab/d3/device.key"), null, false, null, null, "65", null).getBytes(StandardCharsets.UTF_8)));
        assertEquals("substrate.sourcePorts", tooMany.field(), tooMany.getMessage());
        final ConfigException bad = assertThrows(ConfigException.class, () -> DeviceConfig.parse(Lab.deviceConfig("lab", 3,
            Path.of("/run/vsnic-lab/lab/d3/device.key"), Path.of("/run/vsnic-lab/lab/d3/wg.keylog"), false, "soon")
            .getBytes(StandardCharsets.UTF_8)));
        assertEquals("substrate.wireguard.rekeyAfterSeconds", bad.field(), bad.getMessage());
    }

    @Test
    void shouldGiveEachDeviceItsOwnCpusUnlessTold() throws Exception
    {
        final int[] two = {0, 1};
        assertEquals("0", Lab.workerCpus(1, null, null, two));
        assertEquals("1", Lab.workerCpus(2, null, "auto", two));
        assertEquals("0", Lab.workerCpus(3, "1", null, two), "more devices than CPUs: wrap around");
        assertEquals("2-3", Lab.workerCpus(2, "2", null, new int[] {0, 1, 2, 3, 4, 5}));
        assertEquals("0-1", Lab.workerCpus(1, "4", null, two), "more workers than CPUs: each CPU once");
        assertEquals("6", Lab.workerCpus(2, null, null, new int[] {4, 6}), "the process's CPUs, not 0..n-1");
        assertNull(Lab.workerCpus(1, null, "none", two));
        assertNull(Lab.workerCpus(1, null, null, null), "CPU set unknown: unpinned");
        assertNull(Lab.workerCpus(1, "many", null, two), "a bad worker count is the daemon's to refuse");
        final IllegalArgumentException bad = assertThrows(IllegalArgumentException.class, () -> Lab.workerCpus(1, null, "0-1", two));
        assertTrue(bad.getMessage().contains("VSNIC_LAB_WORKER_CPUS must be auto or none"), bad.getMessage());

        final int[] allowed = io.vsnic.dataplane.nativeio.Syscalls.allowedCpus();
        final String cpus = Lab.workerCpus(2, null, null, allowed);
        final DeviceConfig pinned = DeviceConfig.parse(Lab.deviceConfig("lab", 2, Path.of("/run/vsnic-lab/lab/d2/device.key"),
            null, false, null, null, null, cpus).getBytes(StandardCharsets.UTF_8));
        assertEquals(cpus, pinned.dataplane().workerCpus());
        assertEquals(allowed[1 % allowed.length], pinned.dataPlaneConfig().workerCpu(0));
    }

    @Test
    void shouldTakeTapOffloadsOnOrOff()
    {
        assertEquals("on", Lab.tapOffloads(null));
        assertEquals("on", Lab.tapOffloads(" "));
        assertEquals("on", Lab.tapOffloads("on"));
        assertEquals("off", Lab.tapOffloads(" off "));
        final IllegalArgumentException bad = assertThrows(IllegalArgumentException.class, () -> Lab.tapOffloads("no"));
        assertEquals("VSNIC_LAB_OFFLOADS must be on or off: no", bad.getMessage());
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
