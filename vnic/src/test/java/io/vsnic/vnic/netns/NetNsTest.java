package io.vsnic.vnic.netns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60)
class NetNsTest
{
    private static void assumeRootWithIp()
    {
        assumeTrue(NetNs.isRoot(), "needs root (CAP_SYS_ADMIN) to create network namespaces; CI runs as root");
        assumeTrue(NetNs.ipAvailable(), "iproute2's ip command is not installed");
    }

    @Test
    void shouldMakeUniqueNamesOfTheRequestedLength()
    {
        final String a = NetNs.uniqueName("vt", 15);
        final String b = NetNs.uniqueName("vt", 15);
        assertEquals(15, a.length());
        assertTrue(a.startsWith("vt") && a.substring(2).matches("[0-9a-f]+"), a);
        assertFalse(a.equals(b));
        assertThrows(IllegalArgumentException.class, () -> NetNs.uniqueName("prefix", 8));
    }

    @Test
    void shouldKillACommandAtItsTimeoutAndCaptureOutput()
    {
        final long start = System.nanoTime();
        final NetNs.Result slow = NetNs.run(Duration.ofMillis(300), List.of("sleep", "30"));
        assertTrue(slow.timedOut());
        assertFalse(slow.ok());
        assertTrue(Duration.ofNanos(System.nanoTime() - start).toSeconds() < 10);

        final NetNs.Result echo = NetNs.run(Duration.ofSeconds(10), List.of("sh", "-c", "echo out; echo err >&2; exit 3"));
        assertEquals(3, echo.exitCode());
        assertEquals("out\n", echo.stdout());
        assertEquals("err\n", echo.stderr());
        assertTrue(echo.describe().contains("exited 3"), echo.describe());

        final NetNs.Result missing = NetNs.run(Duration.ofSeconds(5), List.of("/nonexistent/program"));
        assertEquals(127, missing.exitCode());
    }

    @Test
    void shouldDeleteWhatTheScopeCreatedEvenWhenTheTestFails() throws IOException
    {
        assumeRootWithIp();
        final String[] created = new String[1];
        final NetNs net = NetNs.open();
        final IllegalStateException failure = assertThrows(IllegalStateException.class, () ->
        {
            try (net)
            {
                created[0] = net.createNamespace("vsnt");
                assertTrue(NetNs.namespaceExists(created[0]));
                final NetNs.Result links = net.exec(created[0], Duration.ofSeconds(10), "ip", "-br", "link");
                assertTrue(links.ok(), links.describe());
                assertTrue(links.stdout().startsWith("lo"), "a fresh namespace has only loopback: " + links.stdout());
                assertTrue(links.stdout().contains("UP") || links.stdout().contains("UNKNOWN"), links.stdout());
                throw new IllegalStateException("test failed here");
            }
        });
        assertEquals("test failed here", failure.getMessage());
        assertFalse(NetNs.namespaceExists(created[0]), "namespace deleted although the body threw");
        net.close();
        net.deleteNamespace(created[0]);
    }

    @Test
    void shouldMoveAVethEndIntoANamespaceAndReachIt() throws IOException
    {
        assumeRootWithIp();
        assumeTrue(NetNs.findExecutable("ping").isPresent(), "ping is not installed: apt-get install -y --no-install-recommends iputils-ping");
        final String a = NetNs.uniqueName("vsa", 12);
        final String b = NetNs.uniqueName("vsb", 12);
        try (NetNs net = NetNs.open())
        {
            final String left = net.createNamespace("vsnl");
            final String right = net.createNamespace("vsnr");
            net.createVethPair(a, b);
            net.moveLink(a, left);
            net.moveLink(b, right);
            net.addAddress(left, a, "10.78.0.1/24");
            net.addAddress(right, b, "10.78.0.2/24");
            net.setMac(left, a, "02:00:00:78:00:01");
            net.up(left, a);
            net.up(right, b);
            final NetNs.Result ping = net.exec(left, Duration.ofSeconds(15), "ping", "-n", "-c", "1", "-W", "2", "10.78.0.2");
            assertTrue(ping.ok(), ping.describe());
            assertTrue(NetNs.ipIn(left, "link", "show", "dev", a).stdout().contains("02:00:00:78:00:01"));
        }
        assertFalse(NetNs.linkExists(null, a));
    }
}
