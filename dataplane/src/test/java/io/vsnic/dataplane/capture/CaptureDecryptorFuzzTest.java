package io.vsnic.dataplane.capture;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import io.vsnic.crypto.wireguard.KeyLog;
import io.vsnic.dataplane.protocol.FrameClassifier;
import io.vsnic.dataplane.protocol.FrameLayout;
import org.junit.jupiter.api.Test;

/**
 * Seeded fuzzing of what {@code vsnic wg decrypt} and {@code pcap inspect} do with each frame of a
 * capture: {@link CaptureDecryptor} (with both key logs of the shared real WireGuard session) and
 * {@link FrameDescriber}, over the session's frames damaged at random (bits flipped, bytes
 * replaced, cut short, grown, link types changed). Whatever a frame holds: an answer for every
 * frame (decrypted or a reason), a description, never an exception.
 */
class CaptureDecryptorFuzzTest
{
    private static final long SEED = 0x77676465L; // "wgde"
    private static final int ROUNDS = 40;
    private static final int[] LINK_TYPES = {LinkType.LINKTYPE_ETHERNET, LinkType.LINKTYPE_RAW, LinkType.LINKTYPE_IPV4,
        LinkType.LINKTYPE_IPV6, LinkType.LINKTYPE_LINUX_SLL, LinkType.LINKTYPE_LINUX_SLL2, 147};

    private final SplittableRandom random = new SplittableRandom(SEED);

    @Test
    void shouldAnswerForEveryDamagedFrameWithoutAnException() throws IOException
    {
        final List<CaptureRecord> original;
        try (CaptureReader reader = CaptureReader.open(InteropCaptures.resolve("wireguard/wireguard-ping-tcp-dsb.pcapng")))
        {
            original = reader.readAll();
        }
        final KeyLog initiator = KeyLog.parse(Files.readString(InteropCaptures.resolve("wireguard/wireguard-ping-tcp.initiator.keys")));
        final KeyLog responder = KeyLog.parse(Files.readString(InteropCaptures.resolve("wireguard/wireguard-ping-tcp.responder.keys")));
        final FrameDescriber describer = new FrameDescriber();
        final FrameClassifier classifier = FrameClassifier.verifying();
        final FrameLayout layout = new FrameLayout();
        long frames = 0;
        long decrypted = 0;
        for (int round = 0; round < ROUNDS; round++)
        {
            // a fresh decryptor per round, so that handshakes are seen (or damaged) again
            final CaptureDecryptor decryptor = new CaptureDecryptor(true).addKeyLog(round % 2 == 0 ? initiator : responder);
            for (final CaptureRecord record : original)
            {
                final CaptureRecord damaged = random.nextInt(3) == 0 ? record : damage(record);
                final List<CaptureDecryptor.Frame> answers;
                try
                {
                    answers = decryptor.decryptAll(damaged);
                    final byte[] data = damaged.data();
                    classifier.classify(MemorySegment.ofArray(data), 0, data.length, layout);
                    assertNotNull(describer.describe(damaged.number(), MemorySegment.ofArray(data), layout));
                }
                catch (final RuntimeException ex)
                {
                    throw new AssertionError("round " + round + ", frame " + record.number() + " (link type " + damaged.linkType() +
                        ", " + damaged.data().length + " bytes) threw: " + ex, ex);
                }
                assertFalse(answers.isEmpty(), "an answer for every frame");
                frames++;
                decrypted += answers.stream().filter(f -> f.innerPacket() != null && f.innerPacket().length > 0).count();
            }
        }
        assertTrue(decrypted > ROUNDS, "intact frames still decrypt: " + decrypted + " of " + frames);
    }

    private CaptureRecord damage(final CaptureRecord record)
    {
        byte[] data = record.data().clone();
        int linkType = record.linkType();
        for (int n = 1 + random.nextInt(3); n > 0; n--)
        {
            switch (random.nextInt(6))
            {
                case 0 ->
                {
                    if (data.length > 0)
                    {
                        data[random.nextInt(data.length)] ^= (byte)(1 << random.nextInt(8));
                    }
                }
                case 1 ->
                {
                    if (data.length > 0)
                    {
                        data[random.nextInt(data.length)] = (byte)random.nextInt();
                    }
                }
                case 2 -> data = Arrays.copyOf(data, random.nextInt(data.length + 1));
                case 3 -> data = Arrays.copyOf(data, data.length + random.nextInt(64));
                case 4 -> linkType = LINK_TYPES[random.nextInt(LINK_TYPES.length)];
                default ->
                {
                    // a length field of the outer headers set to an edge value (IPv4 total length, UDP length)
                    final int at = random.nextBoolean() ? 16 : 38;
                    if (data.length > at + 1)
                    {
                        final int value = random.nextBoolean() ? 0 : random.nextBoolean() ? 0xFFFF : random.nextInt(0x10000);
                        data[at] = (byte)(value >>> 8);
                        data[at + 1] = (byte)value;
                    }
                }
            }
        }
        return new CaptureRecord(record.number(), record.timestampNs(), linkType, Math.max(record.originalLength(), data.length), data);
    }
}
