package io.vsnic.orchestrator.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The device configuration: defaults, and every bad value refused with its field named.
 */
class DeviceConfigTest
{
    private static DeviceConfig parse(final String yaml) throws ConfigException
    {
        return DeviceConfig.parse(yaml.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void shouldFillDefaults() throws ConfigException
    {
        final DeviceConfig config = parse("device: {name: edge-1}\n");
        assertEquals(0, config.device().id());
        assertEquals("127.0.0.1:9470", config.api().listen());
        assertEquals(9470, config.apiAddress().getPort());
        assertEquals("0.0.0.0", config.substrate().bindAddress());
        assertEquals(6081, config.substrate().genevePort());
        assertEquals(4789, config.substrate().vxlanPort());
        assertEquals("epoll", config.substrate().transport());
        assertEquals(8192, config.dataplane().frameSlots());
        assertEquals(65536, config.dataplane().connectionCapacity());
        assertTrue(config.dataplane().workers() >= 1);
        assertEquals(Math.min(16, config.dataplane().workers()), config.substrate().receiveQueues(), "one receive queue per worker");
        assertTrue(config.flowLogs().enabled());
        assertEquals("hourly", config.flowLogs().roll());
        assertEquals(24 * 3600_000L, config.flowLogs().retentionMs());
        assertEquals(io.vsnic.dataplane.flow.FlowLog.Settings.DEFAULTS, config.flowLogs().settings());
        assertEquals(io.vsnic.dataplane.security.ConnectionTimeouts.DEFAULTS, config.dataPlaneConfig().timeouts());
        assertEquals(500, config.tasks().retryInitialMs());
        assertEquals(30_000, config.tasks().retryMaxMs());
        assertEquals(100, config.tasks().keepFinished());
    }

    @Test
    void shouldDefaultReceiveQueuesToTheWorkersUnlessSet() throws ConfigException
    {
        assertEquals(3, parse("device: {name: d}\ndataplane: {workers: 3}\n").substrate().receiveQueues());
        assertEquals(16, parse("device: {name: d}\ndataplane: {workers: 40}\n").substrate().receiveQueues());
        assertEquals(1, parse("device: {name: d}\nsubstrate: {receiveQueues: 1}\ndataplane: {workers: 3}\n").substrate().receiveQueues());
        assertEquals(2, parse("device: {name: d}\ndataplane: {workers: 2}\n").substrateConfig().receiveQueues());
    }

    @Test
    void shouldReadTheSubstrateInterfaceAndSourcePorts() throws ConfigException
    {
        final DeviceConfig config = parse("device: {name: d}\nsubstrate: {interface: eth1, sourcePorts: 4}\n");
        assertEquals("eth1", config.substrate().interfaceName());
        assertEquals("eth1", config.substrateConfig().interfaceName());
        assertEquals(4, config.substrateConfig().sourcePorts());
        final DeviceConfig defaults = parse("device: {name: d}\n");
        assertEquals(null, defaults.substrateConfig().interfaceName());
        assertEquals(16, defaults.substrateConfig().sourcePorts());
    }

    @Test
    void shouldParseTheDocumentedExample() throws Exception
    {
        final java.nio.file.Path example = java.nio.file.Path.of(System.getProperty("vsnic.repo.root", ".."))
            .resolve("docs/examples/device.yaml");
        final DeviceConfig config = DeviceConfig.load(example);
        assertTrue(config.flowLogs().enabled());
        assertEquals(24 * 3600_000L, config.flowLogs().retentionMs());
    }

    @Test
    void shouldReadFlowLogSettingsAndTimeoutDurations() throws ConfigException
    {
        final DeviceConfig config = parse("""
            device: {name: edge-1}
            dataplane: {timeouts: {udp: 500ms, tcpEstablished: 2h, icmp: 7}}
            flowLogs: {enabled: false, retention: 7d, roll: minutely, ringSlots: 64, interim: 5m, scanInterval: 100ms, rejectWindow: 2s}
            """);
        assertEquals(500_000_000L, config.dataPlaneConfig().timeouts().udpNs());
        assertEquals(7_200_000_000_000L, config.dataPlaneConfig().timeouts().tcpEstablishedNs());
        assertEquals(7_000_000_000L, config.dataPlaneConfig().timeouts().icmpNs());
        assertEquals(io.vsnic.dataplane.security.ConnectionTimeouts.DEFAULTS.tcpSynNs(), config.dataPlaneConfig().timeouts().tcpSynNs());
        assertTrue(!config.flowLogs().enabled());
        assertEquals(7 * 86_400_000L, config.flowLogs().retentionMs());
        assertEquals(new io.vsnic.dataplane.flow.FlowLog.Settings(64, 300_000_000_000L, 2_000_000_000L, 100_000_000L),
            config.flowLogs().settings());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "no device name                 | 'api: {listen: 127.0.0.1:9470}'                          | device.name",
        "bad device name                | 'device: {name: \"a b\"}'                                  | device.name",
        "device id out of range         | 'device: {name: d, id: 4096}'                            | device.id",
        "device id not a number         | 'device: {name: d, id: seven}'                           | device.id",
        "unknown top-level field        | 'device: {name: d}\ncolour: red'                         | colour",
        "unknown nested field           | 'device: {name: d}\nsubstrate: {port: 1}'                | substrate.port",
        "api without port               | 'device: {name: d}\napi: {listen: 127.0.0.1}'            | api.listen",
        "api on a host name             | 'device: {name: d}\napi: {listen: \"localhost:9470\"}'     | api.listen",
        "api on a non-loopback address  | 'device: {name: d}\napi: {listen: \"0.0.0.0:9470\"}'       | api.auth",
        "non-loopback api without auth  | 'device: {name: d}\napi: {listen: \"0.0.0.0:9470\", auth: none}' | api.auth",
        "non-loopback api without tls   | 'device: {name: d}\napi: {listen: \"0.0.0.0:9470\", auth: token}' | api.tls",
        "unknown api auth               | 'device: {name: d}\napi: {auth: basic}'                         | api.auth",
        "mtls without a client CA       | 'device: {name: d}\napi: {auth: mtls, tls: {cert: a, key: b}}'  | api.tls.clientCa",
        "api port out of range          | 'device: {name: d}\napi: {listen: \"127.0.0.1:70000\"}'    | api.listen",
        "substrate bind not literal     | 'device: {name: d}\nsubstrate: {bindAddress: eth0}'      | substrate.bindAddress",
        "geneve port out of range       | 'device: {name: d}\nsubstrate: {genevePort: -1}'         | substrate.genevePort",
        "vxlan port not a number        | 'device: {name: d}\nsubstrate: {vxlanPort: x}'           | substrate.vxlanPort",
        "unknown transport              | 'device: {name: d}\nsubstrate: {transport: dpdk}'        | substrate.transport",
        "no workers                     | 'device: {name: d}\ndataplane: {workers: 0}'             | dataplane.workers",
        "too few frame slots            | 'device: {name: d}\ndataplane: {frameSlots: 10}'         | dataplane.frameSlots",
        "too few connections            | 'device: {name: d}\ndataplane: {connectionCapacity: 5}'  | dataplane.connectionCapacity",
        "snapshots too often            | 'device: {name: d}\njournal: {snapshotEvery: 1}'         | journal.snapshotEvery",
        "timeout not a duration         | 'device: {name: d}\ndataplane: {timeouts: {udp: soon}}'   | dataplane.timeouts.udp",
        "timeout zero                   | 'device: {name: d}\ndataplane: {timeouts: {icmp: 0s}}'    | dataplane.timeouts.icmp",
        "unknown timeout                | 'device: {name: d}\ndataplane: {timeouts: {sctp: 1s}}'    | dataplane.timeouts.sctp",
        "flow log retention too short   | 'device: {name: d}\nflowLogs: {retention: 10ms}'          | flowLogs.retention",
        "flow log retention not a time  | 'device: {name: d}\nflowLogs: {retention: forever}'       | flowLogs.retention",
        "flow log roll unknown          | 'device: {name: d}\nflowLogs: {roll: weekly}'             | flowLogs.roll",
        "flow log ring not power of two | 'device: {name: d}\nflowLogs: {ringSlots: 1000}'          | flowLogs.ringSlots",
        "flow log interim too short     | 'device: {name: d}\nflowLogs: {interim: 100ms}'           | flowLogs.interim",
        "flow log scan too long         | 'device: {name: d}\nflowLogs: {scanInterval: 2m}'         | flowLogs.scanInterval",
        "flow log reject window zero    | 'device: {name: d}\nflowLogs: {rejectWindow: 0}'          | flowLogs.rejectWindow",
        "flow log unknown field         | 'device: {name: d}\nflowLogs: {format: csv}'              | flowLogs.format",
        "task retry too soon            | 'device: {name: d}\ntasks: {retryInitialMs: 1}'          | tasks.retryInitialMs",
        "task retry cap below the first | 'device: {name: d}\ntasks: {retryInitialMs: 900, retryMaxMs: 800}' | tasks.retryMaxMs",
        "negative finished tasks kept   | 'device: {name: d}\ntasks: {keepFinished: -1}'           | tasks.keepFinished",
        "unknown tasks field            | 'device: {name: d}\ntasks: {retries: 3}'                 | tasks.retries",
        "wireguard without a key file   | 'device: {name: d}\nsubstrate: {wireguard: {innerAddress: 10.99.0.1}}' | substrate.wireguard.privateKeyFile",
        "wireguard without inner address| 'device: {name: d}\nsubstrate: {wireguard: {privateKeyFile: k}}' | substrate.wireguard.innerAddress",
        "wireguard inner address a name | 'device: {name: d}\nsubstrate: {wireguard: {privateKeyFile: k, innerAddress: vpn}}' | substrate.wireguard.innerAddress",
        "wireguard port out of range    | 'device: {name: d}\nsubstrate: {wireguard: {privateKeyFile: k, innerAddress: 10.99.0.1, listenPort: 65536}}' | substrate.wireguard.listenPort",
        "wireguard rekey too short      | 'device: {name: d}\nsubstrate: {wireguard: {privateKeyFile: k, innerAddress: 10.99.0.1, rekeyAfterSeconds: 5}}' | substrate.wireguard.rekeyAfterSeconds",
        "wireguard rekey too long       | 'device: {name: d}\nsubstrate: {wireguard: {privateKeyFile: k, innerAddress: 10.99.0.1, rekeyAfterSeconds: 121}}' | substrate.wireguard.rekeyAfterSeconds",
        "source ports too many          | 'device: {name: d}\nsubstrate: {sourcePorts: 65}'        | substrate.sourcePorts",
        "worker CPUs not a list         | 'device: {name: d}\ndataplane: {workerCpus: \"first\"}'   | dataplane.workerCpus",
        "worker CPU range backwards     | 'device: {name: d}\ndataplane: {workerCpus: \"3-1\"}'     | dataplane.workerCpus",
        "worker CPU named twice         | 'device: {name: d}\ndataplane: {workerCpus: \"0,0\"}'     | dataplane.workerCpus",
        "worker CPU beyond CPU_SETSIZE  | 'device: {name: d}\ndataplane: {workerCpus: \"1024\"}'    | dataplane.workerCpus",
        "worker CPU list empty          | 'device: {name: d}\ndataplane: {workerCpus: \"\"}'        | dataplane.workerCpus",
        "interface name too long        | 'device: {name: d}\nsubstrate: {interface: abcdefghijklmnop}' | substrate.interface",
        "interface with nio             | 'device: {name: d}\nsubstrate: {interface: eth1, transport: nio}' | substrate.interface",
        "cluster without a name         | 'device: {name: d}\ncluster: {raft: \"127.0.0.1:9480\"}'   | cluster.name",
        "cluster without raft address   | 'device: {name: d}\ncluster: {name: lab}'                | cluster.raft",
        "raft on port 0                 | 'device: {name: d}\ncluster: {name: lab, raft: \"127.0.0.1:0\"}' | cluster.raft",
        "own peer entry differs         | 'device: {name: d}\ncluster: {name: lab, raft: \"127.0.0.1:9480\", peers: {d: \"127.0.0.1:9481\"}}' | cluster.peers.d",
        "peer address without port      | 'device: {name: d}\ncluster: {name: lab, raft: \"127.0.0.1:9480\", peers: {e: \"127.0.0.2\"}}' | cluster.peers.e",
        "request timeout too short      | 'device: {name: d}\ncluster: {name: lab, raft: \"127.0.0.1:9480\", requestTimeoutMs: 5}' | cluster.requestTimeoutMs",
    })
    void shouldNameTheOffendingField(final String name, final String yaml, final String field)
    {
        final ConfigException ex = assertThrows(ConfigException.class, () -> parse(yaml.replace("\\n", "\n")));
        assertEquals(field, ex.field(), ex.getMessage());
        assertTrue(ex.getMessage().startsWith(field + ": "), ex.getMessage());
    }

    @Test
    void shouldShortenTheRekeyIntervalAndKeepItWithAKeylogFlag() throws Exception
    {
        final java.nio.file.Path key = java.nio.file.Files.createTempFile("vsnic-rekey", ".key",
            java.nio.file.attribute.PosixFilePermissions.asFileAttribute(java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")));
        try
        {
            java.nio.file.Files.writeString(key, "YNqHbfBQKaGvzefSSkFjHnHt+eEbcZ9AV8M5TUfqDGE=\n");
            final DeviceConfig defaults = parse("device: {name: d}\nsubstrate: {wireguard: {privateKeyFile: \"" + key +
                "\", innerAddress: 10.99.0.1}}\n");
            assertEquals(DeviceConfig.REKEY_AFTER_SECONDS, defaults.substrate().wireguard().rekeyAfterSeconds());
            assertEquals(java.util.concurrent.TimeUnit.SECONDS.toNanos(120),
                defaults.substrateConfig(null).wireguard().timers().rekeyAfterTimeNs());
            final DeviceConfig shortened = parse("device: {name: d}\nsubstrate: {wireguard: {privateKeyFile: \"" + key +
                "\", innerAddress: 10.99.0.1, rekeyAfterSeconds: 30}}\n").withWireguardKeylog("/tmp/keys");
            assertEquals(30, shortened.substrate().wireguard().rekeyAfterSeconds());
            final io.vsnic.crypto.wireguard.WireguardTimers timers = shortened.substrateConfig(null).wireguard().timers();
            assertEquals(java.util.concurrent.TimeUnit.SECONDS.toNanos(30), timers.rekeyAfterTimeNs());
            assertEquals(java.util.concurrent.TimeUnit.SECONDS.toNanos(180), timers.rejectAfterTimeNs());
        }
        finally
        {
            java.nio.file.Files.delete(key);
        }
    }

    @Test
    void shouldRefuseAKeylogFlagWithoutAnEncryptedSubstrate() throws ConfigException
    {
        final DeviceConfig plain = parse("device: {name: d}");
        final ConfigException ex = assertThrows(ConfigException.class, () -> plain.withWireguardKeylog("/tmp/keys"));
        assertEquals("substrate.wireguard", ex.field());
        final DeviceConfig wg = parse("device: {name: d}\nsubstrate: {wireguard: {privateKeyFile: k, innerAddress: 10.99.0.1}}");
        assertEquals(51820, wg.substrate().wireguard().listenPort());
        assertEquals("/tmp/keys", wg.withWireguardKeylog("/tmp/keys").substrate().wireguard().keylog());
    }

    @Test
    void shouldBeStandaloneByDefaultAndAddItselfToTheClusterPeers() throws ConfigException
    {
        assertEquals(null, parse("device: {name: edge-1}\n").cluster());
        final DeviceConfig config = parse("device: {name: edge-1}\ncluster: {name: lab, raft: \"127.0.0.1:9480\", " +
            "peers: {edge-2: \"127.0.0.2:9480\"}}\n");
        assertEquals(java.util.Map.of("edge-1", "127.0.0.1:9480", "edge-2", "127.0.0.2:9480"), config.cluster().peers());
        assertEquals(1000, config.cluster().snapshotEvery());
        assertEquals(3000, config.cluster().requestTimeoutMs());
        assertEquals(false, config.cluster().join());
    }

    @Test
    void shouldPinWorkersOnlyToCpusThisProcessMayUse() throws ConfigException
    {
        assertEquals(null, parse("device: {name: d}\n").dataplane().workerCpus(), "unpinned by default");
        assertEquals(-1, parse("device: {name: d}\n").dataPlaneConfig().workerCpu(0));
        final int[] allowed = io.vsnic.dataplane.nativeio.Syscalls.allowedCpus();
        final int first = allowed[0];
        final DeviceConfig pinned = parse("device: {name: d}\ndataplane: {workers: 3, workerCpus: \"" + first + "\"}\n");
        assertEquals(String.valueOf(first), pinned.dataplane().workerCpus());
        assertEquals(first, pinned.dataPlaneConfig().workerCpu(2), "a list shorter than the workers is reused");
        final DeviceConfig number = parse("device: {name: d}\ndataplane: {workerCpus: " + first + "}\n");
        assertEquals(String.valueOf(first), number.dataplane().workerCpus(), "a bare number is a list of one");
        // a CPU this process may not run on: the last one of CPU_SETSIZE unless the machine has them all
        final int outside = allowed[allowed.length - 1] == 1023 ? -1 : 1023;
        if (outside > 0)
        {
            final ConfigException ex = assertThrows(ConfigException.class,
                () -> parse("device: {name: d}\ndataplane: {workerCpus: \"" + first + "," + outside + "\"}\n"));
            assertEquals("dataplane.workerCpus", ex.field());
            assertTrue(ex.getMessage().contains("CPU 1023 is not one vsnicd may run on (" +
                io.vsnic.dataplane.nativeio.CpuList.format(allowed) + ")"), ex.getMessage());
        }
    }

    @Test
    void shouldRefuseAnEmptyOrMalformedFile()
    {
        assertThrows(ConfigException.class, () -> parse(""));
        final ConfigException ex = assertThrows(ConfigException.class, () -> parse("device:\n\tname: d\n"));
        assertTrue(ex.getMessage().contains("YAML"), ex.getMessage());
    }
}
