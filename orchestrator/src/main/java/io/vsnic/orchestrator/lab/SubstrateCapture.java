package io.vsnic.orchestrator.lab;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import io.vsnic.crypto.wireguard.KeyLog;
import io.vsnic.dataplane.capture.CaptureDecryptor;
import io.vsnic.dataplane.capture.CaptureReader;

/**
 * A capture of a lab's substrate: {@code tcpdump} on the substrate bridge ({@code br0} in the
 * substrate namespace sees every datagram between devices), and its analysis: is every UDP datagram a
 * WireGuard message on the WireGuard port, does a known plaintext marker appear anywhere in the
 * captured bytes, and does the marker appear once the capture is decrypted with the devices' key logs
 * (what {@code vsnic wg decrypt -k LABDIR/dN/wg.keylog CAPTURE} does, with the same
 * {@link CaptureDecryptor}).
 *
 * <p>A session can be decrypted only when its handshake is in the capture: start the capture before
 * the first traffic between the devices.
 */
public final class SubstrateCapture implements AutoCloseable
{
    private static final long READY_TIMEOUT_MS = 10_000;
    private static final int MAX_PROBLEMS = 3;
    private static final long STOP_GRACE_MS = 500;

    private final Process tcpdump;
    private final Path file;
    private final Path log;

    private SubstrateCapture(final Process tcpdump, final Path file, final Path log)
    {
        this.tcpdump = tcpdump;
        this.file = file;
        this.log = log;
    }

    /**
     * Starts {@code tcpdump -i br0 --immediate-mode -U -w FILE} in the lab's substrate namespace and waits until it
     * listens.
     *
     * @param state the lab.
     * @param file  the capture file (pcap) to write.
     * @return the running capture.
     * @throws LabException when tcpdump is missing or does not start.
     */
    public static SubstrateCapture start(final LabState state, final Path file) throws LabException
    {
        if (io.vsnic.vnic.netns.NetNs.findExecutable("tcpdump").isEmpty())
        {
            throw new LabException("tcpdump is not installed: apt-get install -y --no-install-recommends tcpdump");
        }
        final Path log = file.resolveSibling(file.getFileName() + ".log");
        final Process process;
        try
        {
            process = new ProcessBuilder(Lab.executable("ip"), "netns", "exec", state.substrate(), Lab.executable("tcpdump"), "-i", "br0",
                "--immediate-mode", "-U", "-n", "-s", "0", "-w", file.toString())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(log.toFile())
                .start();
        }
        catch (final IOException ex)
        {
            throw new LabException("cannot start tcpdump: " + ex.getMessage(), ex);
        }
        final long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(READY_TIMEOUT_MS);
        while (System.nanoTime() < deadline)
        {
            final String text = read(log);
            if (text.contains("listening on"))
            {
                return new SubstrateCapture(process, file, log);
            }
            if (!process.isAlive())
            {
                throw new LabException("tcpdump on " + state.substrate() + " br0 exited: " + text.strip());
            }
            Lab.sleep(50);
        }
        process.destroyForcibly();
        throw new LabException("tcpdump on " + state.substrate() + " br0 did not start listening in " + READY_TIMEOUT_MS / 1000 + " s");
    }

    /** @return the capture file. */
    public Path file()
    {
        return file;
    }

    /**
     * Stops tcpdump (SIGTERM: it writes out what it has) and waits for it.
     *
     * @return tcpdump's closing lines ("N packets captured", ...).
     */
    public String stop()
    {
        // packets already seen by the kernel but not yet read would be lost on SIGTERM: give tcpdump a moment
        Lab.sleep(STOP_GRACE_MS);
        tcpdump.destroy();
        try
        {
            if (!tcpdump.waitFor(5, TimeUnit.SECONDS))
            {
                tcpdump.destroyForcibly();
                tcpdump.waitFor(5, TimeUnit.SECONDS);
            }
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            tcpdump.destroyForcibly();
        }
        return read(log).strip();
    }

    @Override
    public void close()
    {
        if (tcpdump.isAlive())
        {
            stop();
        }
    }

    private static String read(final Path file)
    {
        try
        {
            return Files.readString(file, StandardCharsets.UTF_8);
        }
        catch (final IOException ex)
        {
            return "";
        }
    }

    /**
     * What a substrate capture holds.
     *
     * @param frames        frames in the capture.
     * @param udp           frames holding a UDP datagram.
     * @param wireguard     UDP datagrams that are WireGuard messages (type 1-4 with its length) between
     *                      WireGuard ports.
     * @param initiations   handshake initiations.
     * @param responses     handshake responses.
     * @param cookieReplies cookie replies.
     * @param transports    transport data messages.
     * @param problems      the first few UDP datagrams that are not WireGuard, or not on the WireGuard port.
     * @param markerInCapture frames whose captured bytes contain the marker (plaintext on the substrate).
     * @param decrypted     transport messages the key logs decrypted.
     * @param notDecrypted  transport messages they did not (their handshake is not in the capture, ...).
     * @param markerInInner decrypted inner packets that contain the marker.
     */
    public record Analysis(int frames, int udp, int wireguard, int initiations, int responses, int cookieReplies, int transports,
        List<String> problems, int markerInCapture, int decrypted, int notDecrypted, int markerInInner)
    {
        /** @return every UDP datagram is a WireGuard message on the WireGuard port, and there was at least one. */
        public boolean onlyWireguard()
        {
            return udp > 0 && wireguard == udp;
        }

        /** @return one line. */
        public String describe()
        {
            return frames + " frames, " + udp + " UDP datagrams, " + wireguard + " WireGuard (" + initiations + " initiation, " +
                responses + " response, " + cookieReplies + " cookie reply, " + transports + " transport)" +
                (problems.isEmpty() ? "" : "; not WireGuard: " + String.join("; ", problems));
        }
    }

    /**
     * Reads a capture of the substrate.
     *
     * @param capture the pcap or pcapng file.
     * @param port    the WireGuard port both ends of every datagram must use.
     * @param marker  bytes that must not appear on the substrate but inside the decrypted packets.
     * @param keyLogs the devices' key logs (Wireshark's WireGuard format).
     * @return the analysis.
     * @throws IOException when the capture or a key log cannot be read.
     */
    public static Analysis analyse(final Path capture, final int port, final byte[] marker, final List<Path> keyLogs) throws IOException
    {
        final CaptureDecryptor decryptor = new CaptureDecryptor(false);
        for (final Path keyLog : keyLogs)
        {
            try
            {
                decryptor.addKeyLog(KeyLog.parse(Files.readString(keyLog)));
            }
            catch (final IllegalArgumentException ex)
            {
                throw new IOException("key log " + keyLog + ": " + ex.getMessage(), ex);
            }
        }
        int frames = 0;
        int udp = 0;
        int wireguard = 0;
        final int[] types = new int[5];
        final List<String> problems = new ArrayList<>();
        int markerInCapture = 0;
        int decrypted = 0;
        int notDecrypted = 0;
        int markerInInner = 0;
        try (CaptureReader reader = CaptureReader.open(capture))
        {
            CaptureDecryptor.Frame frame;
            while ((frame = decryptor.next(reader)) != null)
            {
                frames++;
                if (indexOf(frame.record().data(), marker) >= 0)
                {
                    markerInCapture++;
                }
                if (frame.udpPayload() == null)
                {
                    continue;
                }
                udp++;
                if (frame.isWireguard() && frame.sourcePort() == port && frame.destinationPort() == port)
                {
                    wireguard++;
                    types[frame.message().type()]++;
                    if (frame.message().type() == 4)
                    {
                        if (frame.message().decrypted())
                        {
                            decrypted++;
                            if (frame.innerPacket() != null && indexOf(frame.innerPacket(), marker) >= 0)
                            {
                                markerInInner++;
                            }
                        }
                        else
                        {
                            notDecrypted++;
                        }
                    }
                }
                else if (problems.size() < MAX_PROBLEMS)
                {
                    problems.add("frame " + frame.record().number() + " " + frame.addresses() + " " + frame.udpPayload().length + " bytes" +
                        (frame.isWireguard() ? " (WireGuard on another port)" : ""));
                }
            }
        }
        return new Analysis(frames, udp, wireguard, types[1], types[2], types[3], types[4], List.copyOf(problems), markerInCapture,
            decrypted, notDecrypted, markerInInner);
    }

    static int indexOf(final byte[] haystack, final byte[] needle)
    {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++)
        {
            for (int j = 0; j < needle.length; j++)
            {
                if (haystack[i + j] != needle[j])
                {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
