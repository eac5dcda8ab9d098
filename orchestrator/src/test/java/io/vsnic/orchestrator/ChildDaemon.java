package io.vsnic.orchestrator;

import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.vsnic.orchestrator.cli.VsnicCli;

/**
 * A daemon in a child JVM ({@code java -cp <this module's class path> VsnicCli daemon}), for tests that
 * kill it (SIGKILL) or stop it (SIGTERM). Started with the recorded JVM flags; its stderr goes to a file.
 *
 * @param process the child.
 * @param port    the API port it printed when ready.
 */
public record ChildDaemon(Process process, int port)
{
    private static final Pattern READY = Pattern.compile("ready; API http://127\\.0\\.0\\.1:(\\d+);");

    private static List<String> jvmFlags() throws IOException
    {
        try (InputStream in = VsnicCli.class.getResourceAsStream("/META-INF/vsnic/jvm.flags"))
        {
            assertNotNull(in, "jvm.flags is on the class path (filtered resource)");
            final String flags = new String(in.readAllBytes(), StandardCharsets.UTF_8).trim();
            return List.of(flags.split("\\s+"));
        }
    }

    /**
     * Starts {@code vsnic daemon --config CONFIG --state-dir STATE} and waits (up to 60 s) until it is ready.
     *
     * @param stderr where the child's stderr goes.
     */
    public static ChildDaemon start(final Path config, final Path state, final Path stderr) throws Exception
    {
        return start(config, state, stderr, List.of());
    }

    /**
     * As {@link #start(Path, Path, Path)}, with more JVM options after the recorded flags (a heap limit, ...).
     */
    public static ChildDaemon start(final Path config, final Path state, final Path stderr, final List<String> jvmOptions)
        throws Exception
    {
        final String java = ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        final String classPath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        final List<String> command = new ArrayList<>();
        command.add(java);
        command.addAll(jvmFlags());
        command.addAll(jvmOptions);
        command.addAll(List.of("-cp", classPath, VsnicCli.class.getName(), "daemon", "--config", config.toString(),
            "--state-dir", state.toString()));
        final Process process = new ProcessBuilder(command).redirectError(stderr.toFile()).start();
        final BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        final AtomicReference<Integer> port = new AtomicReference<>();
        final Thread reader = new Thread(() ->
        {
            try
            {
                String line;
                while ((line = out.readLine()) != null)
                {
                    final Matcher matcher = READY.matcher(line);
                    if (matcher.find())
                    {
                        port.set(Integer.parseInt(matcher.group(1)));
                    }
                }
            }
            catch (final IOException ex)
            {
                // the child died: expected
            }
        }, "child-stdout");
        reader.setDaemon(true);
        reader.start();
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (port.get() == null)
        {
            if (!process.isAlive() || System.nanoTime() > deadline)
            {
                process.destroyForcibly();
                throw new AssertionError("child daemon did not start: " + Files.readString(stderr));
            }
            Thread.sleep(20);
        }
        return new ChildDaemon(process, port.get());
    }

    /**
     * @return the API's base URL.
     */
    public String base()
    {
        return "http://127.0.0.1:" + port;
    }
}
