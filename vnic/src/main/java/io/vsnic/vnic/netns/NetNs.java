package io.vsnic.vnic.netns;

import java.io.Closeable;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Network namespaces and links for tests and the lab, driven through the {@code ip} command
 * (iproute2). An instance is a scope: every namespace and link it creates or {@link #adoptLink
 * adopts} is deleted by {@link #close()}, in reverse order, whether or not the test passed; every
 * delete is idempotent, so a half-built setup cleans up too.
 *
 * <pre>{@code
 * try (NetNs net = NetNs.open())
 * {
 *     String ns = net.createNamespace("vsn");
 *     net.moveLink("vt1a2b3c", ns);
 *     net.addAddress(ns, "vt1a2b3c", "10.77.1.2/24");
 *     net.up(ns, "vt1a2b3c");
 *     NetNs.Result ping = net.exec(ns, Duration.ofSeconds(10), "ping", "-c", "3", "10.77.1.1");
 * }
 * }</pre>
 *
 * <p>Everything here needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN); tests check {@link #isRoot()}
 * and {@link #ipAvailable()} first. Every command runs with a timeout and never reads standard
 * input. Not thread-safe: one scope per test.
 */
public final class NetNs implements Closeable
{
    /** Timeout of each {@code ip} command. */
    public static final Duration IP_TIMEOUT = Duration.ofSeconds(10);
    /** Longest interface name. */
    public static final int MAX_LINK_NAME = 15;

    private static final List<String> SYSTEM_DIRECTORIES = List.of("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin");
    private static final SecureRandom RANDOM = new SecureRandom();

    private final Deque<Runnable> cleanups = new ArrayDeque<>();
    private final List<String> cleanupFailures = new ArrayList<>();
    private boolean closed;

    private NetNs()
    {
    }

    /**
     * The outcome of one command.
     *
     * @param command  what ran.
     * @param exitCode its exit status, or -1 when it timed out.
     * @param stdout   standard output.
     * @param stderr   standard error.
     * @param timedOut true when it was killed at the timeout.
     */
    public record Result(List<String> command, int exitCode, String stdout, String stderr, boolean timedOut)
    {
        /**
         * @return true when it exited with status 0.
         */
        public boolean ok()
        {
            return exitCode == 0 && !timedOut;
        }

        /**
         * @return the command, how it ended and what it printed (for messages).
         */
        public String describe()
        {
            return String.join(" ", command) + (timedOut ? " timed out" : " exited " + exitCode) +
                (stdout.isBlank() ? "" : "\nstdout: " + stdout.strip()) + (stderr.isBlank() ? "" : "\nstderr: " + stderr.strip());
        }
    }

    /**
     * @return a new, empty scope.
     */
    public static NetNs open()
    {
        return new NetNs();
    }

    /**
     * Runs {@code task} on a fresh platform thread that has entered network namespace {@code ns}
     * ({@code setns(2)} on {@code /var/run/netns/NS}): sockets the task creates live in that namespace
     * and stay there after the thread ends. Needs root (CAP_SYS_ADMIN).
     *
     * @return what the task returned.
     * @throws IOException when the namespace cannot be entered, or the task failed (as the cause).
     */
    public static <T> T callIn(final String ns, final java.util.concurrent.Callable<T> task) throws IOException
    {
        final java.util.concurrent.atomic.AtomicReference<Object> result = new java.util.concurrent.atomic.AtomicReference<>();
        final java.util.concurrent.atomic.AtomicReference<Throwable> failure = new java.util.concurrent.atomic.AtomicReference<>();
        final Thread thread = Thread.ofPlatform().name("netns-" + ns).unstarted(() ->
        {
            final int fd = io.vsnic.vnic.linux.LibC.open("/var/run/netns/" + ns, 0x80000);
            if (fd < 0)
            {
                failure.set(new IOException("cannot open namespace " + ns + ": " + io.vsnic.vnic.linux.Errno.name(-fd)));
                return;
            }
            try
            {
                final int entered = io.vsnic.vnic.linux.LibC.setns(fd, io.vsnic.vnic.linux.LibC.CLONE_NEWNET);
                if (entered < 0)
                {
                    failure.set(new IOException("setns " + ns + ": " + io.vsnic.vnic.linux.Errno.name(-entered)));
                    return;
                }
                result.set(task.call());
            }
            catch (final Throwable ex)
            {
                failure.set(ex);
            }
            finally
            {
                io.vsnic.vnic.linux.LibC.close(fd);
            }
        });
        thread.start();
        try
        {
            thread.join();
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while running in namespace " + ns, ex);
        }
        if (failure.get() instanceof IOException io)
        {
            throw io;
        }
        if (failure.get() != null)
        {
            throw new IOException("task in namespace " + ns + " failed: " + failure.get(), failure.get());
        }
        @SuppressWarnings("unchecked")
        final T value = (T)result.get();
        return value;
    }

    /**
     * @return true when this process runs as uid 0 (a test that needs root skips otherwise).
     */
    public static boolean isRoot()
    {
        try
        {
            return ((Number)Files.getAttribute(Path.of("/proc/self"), "unix:uid")).intValue() == 0;
        }
        catch (final IOException | UnsupportedOperationException | IllegalArgumentException ex)
        {
            return false;
        }
    }

    /**
     * @return true when the {@code ip} command of iproute2 is installed.
     */
    public static boolean ipAvailable()
    {
        return findExecutable("ip").isPresent();
    }

    /**
     * Looks for a program on {@code PATH} and in the system directories ({@code /usr/sbin} is often
     * not on a non-root user's {@code PATH}).
     *
     * @return its path, if found.
     */
    public static Optional<Path> findExecutable(final String name)
    {
        final List<String> directories = new ArrayList<>();
        final String path = System.getenv("PATH");
        if (path != null)
        {
            directories.addAll(List.of(path.split(File.pathSeparator)));
        }
        directories.addAll(SYSTEM_DIRECTORIES);
        for (final String directory : directories)
        {
            if (directory.isEmpty())
            {
                continue;
            }
            final Path candidate = Path.of(directory, name);
            if (Files.isRegularFile(candidate) && Files.isExecutable(candidate))
            {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }

    /**
     * @return {@code prefix} followed by random hex digits, {@code length} characters in all (a
     *     link name needs at most {@link #MAX_LINK_NAME}).
     */
    public static String uniqueName(final String prefix, final int length)
    {
        if (length <= prefix.length() + 3)
        {
            throw new IllegalArgumentException("leave at least 4 random characters after '" + prefix + "'");
        }
        final byte[] random = new byte[(length - prefix.length() + 1) / 2];
        RANDOM.nextBytes(random);
        return (prefix + HexFormat.of().formatHex(random)).substring(0, length);
    }

    /**
     * Runs a command with a timeout, capturing its output; standard input is empty.
     *
     * @return how it ended; a program that cannot be started is a result with exit code 127.
     */
    public static Result run(final Duration timeout, final List<String> command)
    {
        Path out = null;
        Path err = null;
        try
        {
            out = Files.createTempFile("vsnic-cmd", ".out");
            err = Files.createTempFile("vsnic-cmd", ".err");
            final Process process;
            try
            {
                process = new ProcessBuilder(command)
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .redirectOutput(out.toFile())
                    .redirectError(err.toFile())
                    .start();
            }
            catch (final IOException ex)
            {
                return new Result(List.copyOf(command), 127, "", String.valueOf(ex.getMessage()), false);
            }
            boolean finished;
            try
            {
                finished = process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
                finished = false;
            }
            if (!finished)
            {
                process.destroyForcibly();
                try
                {
                    process.waitFor(2, TimeUnit.SECONDS);
                }
                catch (final InterruptedException ex)
                {
                    Thread.currentThread().interrupt();
                }
            }
            return new Result(List.copyOf(command), finished ? process.exitValue() : -1,
                Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8), !finished);
        }
        catch (final IOException ex)
        {
            return new Result(List.copyOf(command), 127, "", "cannot capture output: " + ex.getMessage(), false);
        }
        finally
        {
            deleteQuietly(out);
            deleteQuietly(err);
        }
    }

    private static void deleteQuietly(final Path path)
    {
        if (path != null)
        {
            try
            {
                Files.deleteIfExists(path);
            }
            catch (final IOException ignored)
            {
                // a leftover temporary file is harmless
            }
        }
    }

    /**
     * Runs {@code ip args...} (in the current namespace) with {@link #IP_TIMEOUT}.
     */
    public static Result ip(final String... args)
    {
        final List<String> command = new ArrayList<>();
        command.add(findExecutable("ip").map(Path::toString).orElse("ip"));
        command.addAll(List.of(args));
        return run(IP_TIMEOUT, command);
    }

    /**
     * Reads one counter of the kernel's {@code /proc/net/snmp} in a namespace (a header line
     * {@code Group: names...} followed by {@code Group: values...}), e.g. {@code ("Udp", "NoPorts")}.
     *
     * @param ns a namespace, or null for the current one.
     * @throws IllegalStateException when the file cannot be read or has no such counter.
     */
    public static long snmpCounter(final String ns, final String group, final String name)
    {
        final List<String> command = ns == null ? List.of("cat", "/proc/net/snmp") :
            List.of(findExecutable("ip").map(Path::toString).orElse("ip"), "netns", "exec", ns, "cat", "/proc/net/snmp");
        final Result result = run(IP_TIMEOUT, command);
        if (!result.ok())
        {
            throw new IllegalStateException(result.describe());
        }
        final String[] lines = result.stdout().split("\n");
        for (int i = 0; i + 1 < lines.length; i++)
        {
            final String[] names = lines[i].trim().split("\\s+");
            final String[] values = lines[i + 1].trim().split("\\s+");
            if (names[0].equals(group + ":") && values[0].equals(group + ":"))
            {
                for (int k = 1; k < names.length && k < values.length; k++)
                {
                    if (names[k].equals(name))
                    {
                        return Long.parseLong(values[k]);
                    }
                }
            }
        }
        throw new IllegalStateException("no " + group + ": " + name + " in /proc/net/snmp of " + (ns == null ? "this namespace" : ns));
    }

    /**
     * Runs {@code ip [-n ns] args...}.
     *
     * @param ns a namespace, or null for the current one.
     */
    public static Result ipIn(final String ns, final String... args)
    {
        if (ns == null)
        {
            return ip(args);
        }
        final String[] full = new String[args.length + 2];
        full[0] = "-n";
        full[1] = ns;
        System.arraycopy(args, 0, full, 2, args.length);
        return ip(full);
    }

    private static Result require(final Result result) throws IOException
    {
        if (!result.ok())
        {
            throw new IOException(result.describe());
        }
        return result;
    }

    private void checkOpen()
    {
        if (closed)
        {
            throw new IllegalStateException("scope closed");
        }
    }

    /**
     * @return true when a namespace of that name exists.
     */
    public static boolean namespaceExists(final String ns)
    {
        return Files.exists(Path.of("/var/run/netns", ns)) || Files.exists(Path.of("/run/netns", ns));
    }

    /**
     * @param ns   a namespace, or null for the current one.
     * @param link an interface name.
     * @return true when the link exists there.
     */
    public static boolean linkExists(final String ns, final String link)
    {
        return ipIn(ns, "link", "show", "dev", link).ok();
    }

    /**
     * Creates a namespace with a unique name (deleted by {@link #close()}); its loopback is up.
     *
     * @param prefix start of the name.
     * @return the namespace name.
     */
    public String createNamespace(final String prefix) throws IOException
    {
        checkOpen();
        final String ns = uniqueName(prefix, prefix.length() + 10);
        require(ip("netns", "add", ns));
        cleanups.push(() -> deleteNamespace(ns));
        require(ipIn(ns, "link", "set", "dev", "lo", "up"));
        return ns;
    }

    /**
     * Deletes a namespace (and with it every virtual link inside, TAPs included); a missing one is fine.
     */
    public void deleteNamespace(final String ns)
    {
        if (!namespaceExists(ns))
        {
            return;
        }
        final Result result = ip("netns", "delete", ns);
        if (!result.ok() && namespaceExists(ns))
        {
            cleanupFailures.add(result.describe());
        }
    }

    /**
     * Deletes {@code link} from {@code ns} (or the current namespace) at {@link #close()}, after
     * everything created later (for links made elsewhere, such as a persistent TAP).
     */
    public void adoptLink(final String ns, final String link)
    {
        checkOpen();
        cleanups.push(() -> deleteLink(ns, link));
    }

    /**
     * Deletes a link; a missing one (or a missing namespace) is fine.
     */
    public void deleteLink(final String ns, final String link)
    {
        if (ns != null && !namespaceExists(ns))
        {
            return;
        }
        if (!linkExists(ns, link))
        {
            return;
        }
        final Result result = ipIn(ns, "link", "del", "dev", link);
        if (!result.ok() && linkExists(ns, link))
        {
            cleanupFailures.add(result.describe());
        }
    }

    /**
     * Creates a veth pair {@code a}–{@code b} in the current namespace (deleted by {@link #close()};
     * deleting either end removes both).
     */
    public void createVethPair(final String a, final String b) throws IOException
    {
        checkOpen();
        require(ip("link", "add", a, "type", "veth", "peer", "name", b));
        cleanups.push(() -> deleteLink(null, a));
    }

    /**
     * Moves {@code link} from the current namespace into {@code ns}.
     */
    public void moveLink(final String link, final String ns) throws IOException
    {
        checkOpen();
        require(ip("link", "set", "dev", link, "netns", ns));
    }

    /**
     * Sets a link's MAC address.
     *
     * @param ns  namespace, or null for the current one.
     * @param mac {@code aa:bb:cc:dd:ee:ff}.
     */
    public void setMac(final String ns, final String link, final String mac) throws IOException
    {
        checkOpen();
        require(ipIn(ns, "link", "set", "dev", link, "address", mac));
    }

    /**
     * Adds an address ({@code 10.77.1.2/24}, {@code fd00::2/64}) to a link.
     *
     * @param ns namespace, or null for the current one.
     */
    public void addAddress(final String ns, final String link, final String cidr) throws IOException
    {
        checkOpen();
        require(ipIn(ns, "address", "add", cidr, "dev", link));
    }

    /**
     * Brings a link up.
     *
     * @param ns namespace, or null for the current one.
     */
    public void up(final String ns, final String link) throws IOException
    {
        checkOpen();
        require(ipIn(ns, "link", "set", "dev", link, "up"));
    }

    /**
     * Turns IPv6 off on one link in {@code ns} (no router solicitations, MLD or DAD frames), so
     * that a test sees only the traffic it causes. A kernel without IPv6 needs nothing.
     */
    public void disableIpv6(final String ns, final String link) throws IOException
    {
        checkOpen();
        if (!link.matches("[A-Za-z0-9_.-]{1,15}"))
        {
            throw new IllegalArgumentException("unexpected link name: " + link);
        }
        final String file = "/proc/sys/net/ipv6/conf/" + link + "/disable_ipv6";
        require(exec(ns, IP_TIMEOUT, "sh", "-c", "[ ! -e " + file + " ] || echo 1 > " + file));
    }

    /**
     * Runs {@code command} inside {@code ns} ({@code ip netns exec}); killed at the timeout.
     *
     * @return how it ended, with its output.
     */
    public Result exec(final String ns, final Duration timeout, final String... command)
    {
        checkOpen();
        final List<String> full = new ArrayList<>();
        full.add(findExecutable("ip").map(Path::toString).orElse("ip"));
        full.add("netns");
        full.add("exec");
        full.add(ns);
        full.addAll(List.of(command));
        return run(timeout, full);
    }

    /**
     * Deletes everything this scope created or adopted, newest first. Idempotent.
     *
     * @throws IOException when something could not be deleted (it names each leftover).
     */
    @Override
    public void close() throws IOException
    {
        if (closed)
        {
            return;
        }
        closed = true;
        while (!cleanups.isEmpty())
        {
            try
            {
                cleanups.pop().run();
            }
            catch (final RuntimeException ex)
            {
                cleanupFailures.add(String.valueOf(ex));
            }
        }
        if (!cleanupFailures.isEmpty())
        {
            final String message = "cleanup left things behind:\n" + String.join("\n", cleanupFailures);
            cleanupFailures.clear();
            throw new IOException(message);
        }
    }
}
