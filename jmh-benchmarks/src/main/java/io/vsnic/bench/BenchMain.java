package io.vsnic.bench;

import java.io.IOException;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Entry point of {@code benchmarks.jar}: JMH's own {@link org.openjdk.jmh.Main} with the project's
 * JVM flags prepended to every forked benchmark JVM.
 *
 * <p>Why: JMH measures in a fresh JVM that it forks, and that JVM gets only the host JVM's own
 * options plus whatever {@code -jvmArgs*} says. The flags vsnic needs on Java 25
 * ({@code --enable-native-access}, the Chronicle exports and opens, ...) are kept in exactly one
 * place, the parent pom property {@code vsnic.jvm.flags}. Maven filters that property into the
 * resource {@value #FLAGS_RESOURCE} of this jar (as it does for the orchestrator jar that
 * {@code bin/vsnic} reads), and this class passes it on as {@code -jvmArgsPrepend "<flags>"}. So no
 * benchmark repeats the list in a {@code @Fork(jvmArgs...)} annotation, and a change to the pom
 * reaches the benchmarks with the next build.
 *
 * <p>JMH 1.37 takes the value of {@code -jvmArgsPrepend} as one argument and splits it at spaces
 * itself, so the flags go in as a single space-separated string.
 *
 * <p>Nothing is added when the command line already has {@code -jvmArgs} or {@code -jvmArgsPrepend}
 * (the caller has taken charge of the forked JVM's options), nor when this JVM was itself started
 * with all the flags, as {@code jmh-benchmarks/run.sh} does: JMH hands the host JVM's options on to
 * every fork, so they would arrive twice. {@code -jvmArgsAppend} is kept together with the
 * prepended flags. Every other argument ({@code -l}, {@code -h}, {@code -prof gc}, a benchmark
 * regexp, ...) reaches JMH unchanged. With {@code -f 0} JMH runs the benchmarks in this JVM, so the
 * flags apply only when {@code java} was given them (again, as {@code run.sh} does).
 */
public final class BenchMain
{
    /** Class path resource holding the flags, filtered from {@code ${vsnic.jvm.flags}} at build time. */
    public static final String FLAGS_RESOURCE = "META-INF/vsnic/jvm.flags";

    private static final String JVM_ARGS_OPTION = "jvmArgs";
    private static final String JVM_ARGS_PREPEND_OPTION = "jvmArgsPrepend";

    private BenchMain()
    {
    }

    /**
     * Runs JMH with the project's JVM flags prepended to every fork.
     *
     * @param args JMH command line arguments, passed through.
     * @throws Exception whatever JMH throws.
     */
    public static void main(final String[] args) throws Exception
    {
        final String jvmFlags = readJvmFlags();
        final List<String> hostArgs = ManagementFactory.getRuntimeMXBean().getInputArguments();
        final boolean hostHasFlags = hostArgs.containsAll(Arrays.asList(jvmFlags.split(" ")));
        org.openjdk.jmh.Main.main(hostHasFlags ? args : withJvmFlags(args, jvmFlags));
    }

    /**
     * Adds {@code -jvmArgsPrepend flags} in front of the arguments unless they already set the forked
     * JVM's arguments.
     *
     * @param args     the command line.
     * @param jvmFlags space-separated JVM options; nothing is added when blank.
     * @return the command line for JMH.
     */
    static String[] withJvmFlags(final String[] args, final String jvmFlags)
    {
        if (jvmFlags.isBlank())
        {
            return args;
        }
        for (final String arg : args)
        {
            if (setsForkedJvmArgs(arg))
            {
                return args;
            }
        }
        final List<String> result = new ArrayList<>(args.length + 2);
        result.add("-" + JVM_ARGS_PREPEND_OPTION);
        result.add(jvmFlags);
        result.addAll(Arrays.asList(args));
        return result.toArray(new String[0]);
    }

    /**
     * Whether an argument is JMH's {@code -jvmArgs} or {@code -jvmArgsPrepend} option, in any form
     * its option parser (jopt-simple) accepts: one or two dashes, an attached {@code =value}, or an
     * unambiguous abbreviation of {@code jvmArgsPrepend}.
     */
    private static boolean setsForkedJvmArgs(final String arg)
    {
        if (!arg.startsWith("-"))
        {
            return false;
        }
        String name = arg.startsWith("--") ? arg.substring(2) : arg.substring(1);
        final int equals = name.indexOf('=');
        if (equals >= 0)
        {
            name = name.substring(0, equals);
        }
        return name.equals(JVM_ARGS_OPTION) ||
            (name.length() > JVM_ARGS_OPTION.length() && JVM_ARGS_PREPEND_OPTION.startsWith(name));
    }

    /**
     * Reads {@value #FLAGS_RESOURCE} and joins its words with single spaces.
     *
     * @return the flags, never blank.
     * @throws IOException           when the resource cannot be read.
     * @throws IllegalStateException when the resource is missing, empty or was not filtered.
     */
    static String readJvmFlags() throws IOException
    {
        final String text;
        try (InputStream in = BenchMain.class.getClassLoader().getResourceAsStream(FLAGS_RESOURCE))
        {
            if (in == null)
            {
                throw new IllegalStateException(FLAGS_RESOURCE + " is not on the class path: build with ./mvnw package");
            }
            text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        final String flags = String.join(" ", text.strip().split("\\s+"));
        if (flags.isEmpty() || flags.contains("${"))
        {
            throw new IllegalStateException(FLAGS_RESOURCE + " was not filtered by Maven: '" + flags + "'");
        }
        return flags;
    }
}
