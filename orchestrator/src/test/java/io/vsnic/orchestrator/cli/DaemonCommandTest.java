package io.vsnic.orchestrator.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code vsnic daemon}: exit 2 naming the field on a bad configuration; exit 1 with a clear message
 * when the API port or the substrate address is taken, leaving nothing behind (the state directory
 * can be used right away).
 */
class DaemonCommandTest
{
    @TempDir
    Path dir;

    record Run(int exit, String out, String err)
    {
    }

    private Run daemon(final String config) throws Exception
    {
        final Path file = dir.resolve("device.yaml");
        Files.writeString(file, config);
        final StringWriter out = new StringWriter();
        final StringWriter err = new StringWriter();
        final CommandLine cli = VsnicCli.commandLine();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        final int exit = cli.execute("daemon", "--config", file.toString(), "--state-dir", dir.resolve("state").toString());
        return new Run(exit, out.toString(), err.toString());
    }

    @Test
    void shouldExitWithTwoNamingTheFieldOnABadConfiguration() throws Exception
    {
        final Run run = daemon("device: {name: edge-1}\nsubstrate: {genevePort: 99999}\n");
        assertEquals(2, run.exit());
        assertTrue(run.err().contains("substrate.genevePort: must be in 0..65535: 99999"), run.err());
        final Run missing = daemon("device: {name: edge-1}\n".replace("edge-1", "edge 1"));
        assertEquals(2, missing.exit());
        assertTrue(missing.err().contains("device.name"), missing.err());
    }

    @Test
    void shouldRefuseToStartWhenTheApiPortIsTaken() throws Exception
    {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress()))
        {
            final Run run = daemon("device: {name: edge-1}\napi: {listen: \"127.0.0.1:" + taken.getLocalPort() + "\"}\n" +
                "substrate: {enabled: false}\ndataplane: {workers: 1, frameSlots: 1024, connectionCapacity: 4096}\n");
            assertEquals(1, run.exit());
            assertTrue(run.err().contains("cannot start: api: cannot listen on 127.0.0.1:" + taken.getLocalPort()), run.err());
            assertTrue(run.err().toLowerCase().contains("in use"), run.err());
        }
        // nothing left behind: the same state directory starts now
        assertTrue(Files.exists(dir.resolve("state/journal/CURRENT")));
    }

    @Test
    void shouldRefuseToStartWhenTheSubstrateAddressIsTaken() throws Exception
    {
        try (DatagramSocket taken = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)))
        {
            final Run run = daemon("device: {name: edge-1}\napi: {listen: \"127.0.0.1:0\"}\n" +
                "substrate: {bindAddress: 127.0.0.1, genevePort: " + taken.getLocalPort() + ", vxlanPort: 0, transport: nio}\n" +
                "dataplane: {workers: 1, frameSlots: 1024, connectionCapacity: 4096}\n");
            assertEquals(1, run.exit());
            assertTrue(run.err().contains("cannot start: substrate: cannot bind substrate nio socket to 127.0.0.1:" +
                taken.getLocalPort()), run.err());
        }
    }
}
