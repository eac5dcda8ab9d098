import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

import io.vsnic.dataplane.capture.SynthFrames;
import io.vsnic.dataplane.protocol.FrameClassifier;
import io.vsnic.dataplane.protocol.FrameLayout;

/**
 * How long one classification of one frame takes right after the thread slept, or ran other code, for a
 * while: the cost a worker pays for a frame that arrives alone (a ping) rather than in a stream. It warms
 * {@link FrameClassifier#classify} up (compiled), then times single calls, 40 per setting, after: nothing;
 * a sleep of 1, 10, 200 ms; 10 and 200 ms of reading a 4 MiB array. Run from the repository root after
 * {@code ./mvnw -q -DskipTests package}:
 *
 * <pre>
 * java --enable-native-access=ALL-UNNAMED -cp dataplane/target/vsnic-dataplane-0.1.0-SNAPSHOT.jar \
 *     jmh-benchmarks/probes/ColdClassify.java
 * </pre>
 */
public final class ColdClassify
{
    private ColdClassify()
    {
    }

    public static void main(final String[] args) throws InterruptedException
    {
        final FrameClassifier classifier = FrameClassifier.forwarding();
        final FrameLayout layout = new FrameLayout();
        final SynthFrames.Synth synth = SynthFrames.all().getFirst();
        final byte[] bytes = synth.bytes();
        final MemorySegment frame = Arena.global().allocate(2048);
        MemorySegment.copy(bytes, 0, frame, ValueLayout.JAVA_BYTE, 0, bytes.length);
        long sink = 0;
        for (int i = 0; i < 2_000_000; i++)
        {
            sink += classifier.classify(frame, 0, bytes.length, layout);
        }
        final long[] other = new long[1 << 19];
        // positive: sleep that many ms; negative: read the 4 MiB array for that many ms; 0: back to back
        for (final long setting : new long[] {0, 1, 10, 200, -10, -200})
        {
            final long[] times = new long[40];
            for (int k = 0; k < times.length; k++)
            {
                if (setting > 0)
                {
                    Thread.sleep(setting);
                }
                else if (setting < 0)
                {
                    final long end = System.nanoTime() - setting * 1_000_000;
                    int j = 0;
                    while (System.nanoTime() < end)
                    {
                        sink += other[j];
                        j = (j + 4099) & (other.length - 1);
                    }
                }
                final long start = System.nanoTime();
                sink += classifier.classify(frame, 0, bytes.length, layout);
                times[k] = System.nanoTime() - start;
            }
            Arrays.sort(times);
            final String before = setting == 0 ? "back to back" : setting > 0 ? "after a " + setting + " ms sleep" :
                "after " + -setting + " ms reading a 4 MiB array";
            System.out.printf("%-36s one classify (%s): p50 %,d ns, p90 %,d ns%n", before, synth.name(), times[20], times[36]);
        }
        if (sink == 42)
        {
            System.out.println();
        }
    }
}
