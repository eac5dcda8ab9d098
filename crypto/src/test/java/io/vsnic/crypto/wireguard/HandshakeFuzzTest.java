package io.vsnic.crypto.wireguard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.SplittableRandom;

import io.vsnic.crypto.primitive.Blake2s;
import org.junit.jupiter.api.Test;

/**
 * Seeded fuzzing of the handshake consumer as an attacker who knows both public keys sees it: valid
 * initiations, responses and cookie replies with bytes changed (random, zeros, low-order curve
 * points as ephemeral keys, flipped bits), MAC1 recomputed as such an attacker can, or left stale,
 * and the length changed. Whatever comes in: no exception, every refusal a counted {@link Rejection},
 * nothing accepted unless the change was limited to the fields no key covers (the sender index and
 * MAC2), and a real handshake still completes afterwards.
 */
class HandshakeFuzzTest
{
    private static final long SEED = 0x6E6F6973_6549L; // "noiseI"
    private static final int MESSAGES = 6_000;

    /** Curve25519 points of small order (RFC 7748 section 7 and the usual list): DH with them is all zeros. */
    private static final byte[][] LOW_ORDER = {
        new byte[32],
        HexFormat.of().parseHex("0100000000000000000000000000000000000000000000000000000000000000"),
        HexFormat.of().parseHex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"),
        HexFormat.of().parseHex("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157"),
        HexFormat.of().parseHex("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
    };

    private final SplittableRandom random = new SplittableRandom(SEED);

    @Test
    void shouldRefuseEveryDamagedHandshakeMessageAndStillShakeHands()
    {
        final Pair p = new Pair();
        final byte[] mac1KeyA = Blake2s.hash(SymmetricState.LABEL_MAC1, p.a.publicKey());
        final byte[] mac1KeyB = Blake2s.hash(SymmetricState.LABEL_MAC1, p.b.publicKey());
        long accepted = 0;
        long refused = 0;
        for (int i = 0; i < MESSAGES; i++)
        {
            p.advanceSeconds(6); // past REKEY_TIMEOUT, a fresh timestamp for every initiation
            final byte[] initiation = p.initiation(p.a, p.peerB);
            final int kind = random.nextInt(3);
            final byte[] original;
            final WireguardDevice to;
            final byte[] mac1Key;
            final int mac1Offset;
            if (kind == 0)
            {
                original = initiation;
                to = p.b;
                mac1Key = mac1KeyB;
                mac1Offset = WireguardMessages.INITIATION_MAC1_OFFSET;
            }
            else if (kind == 1)
            {
                original = p.deliver(p.b, initiation, null);
                assertNotNull(original, "a valid initiation");
                to = p.a;
                mac1Key = mac1KeyA;
                mac1Offset = WireguardMessages.RESPONSE_MAC1_OFFSET;
            }
            else
            {
                original = cookieReply(p, initiation);
                to = p.a;
                mac1Key = null;
                mac1Offset = -1;
            }
            final byte[] message = original.clone();
            damage(message);
            byte[] sent = message;
            if (mac1Key != null && random.nextInt(4) != 0)
            {
                final byte[] mac1 = Blake2s.mac(mac1Key, sent, 0, mac1Offset);
                System.arraycopy(mac1, 0, sent, mac1Offset, 16);
            }
            if (random.nextInt(20) == 0)
            {
                sent = Arrays.copyOf(sent, random.nextInt(sent.length + 40));
            }
            final MemorySegment reply = MemorySegment.ofArray(new byte[128]);
            final long countedBefore = rejections(p);
            final int n;
            try
            {
                n = to.consumeHandshake(MemorySegment.ofArray(sent), 0, sent.length, null, p.now(), reply, 0, p.result);
            }
            catch (final RuntimeException ex)
            {
                throw new AssertionError("message " + i + " (kind " + kind + ") threw: " + HexFormat.of().formatHex(sent), ex);
            }
            if (n < 0)
            {
                refused++;
                assertEquals(HandshakeResult.Kind.REJECTED, p.result.kind());
                final Rejection reason = Rejection.ofCode(n);
                assertEquals(countedBefore + 1, rejections(p), "message " + i + ": " + reason + " counted once");
            }
            else
            {
                accepted++;
                assertEquals(countedBefore, rejections(p), "message " + i + ": nothing counted as refused");
                if (!onlyUncoveredChanged(original, sent, mac1Offset))
                {
                    final StringBuilder offsets = new StringBuilder();
                    for (int k = 0; k < Math.min(original.length, sent.length); k++)
                    {
                        if (original[k] != sent[k])
                        {
                            offsets.append(k).append(' ');
                        }
                    }
                    fail("message " + i + " (kind " + kind + ") accepted with covered bytes changed (offsets " + offsets
                        + "length " + sent.length + "): " + p.result + " " + HexFormat.of().formatHex(sent));
                }
            }
        }
        assertTrue(refused > MESSAGES / 2, "refused " + refused + ", accepted " + accepted);
        p.advanceSeconds(6);
        p.handshake();
        assertNotNull(p.peerB.current(), "a real handshake still completes");
    }

    private static long rejections(final Pair p)
    {
        long counted = 0;
        for (final Rejection reason : Rejection.values())
        {
            counted += p.a.rejections(reason) + p.b.rejections(reason);
        }
        return counted;
    }

    /** A cookie reply from b to a's initiation, b under load. */
    private static byte[] cookieReply(final Pair p, final byte[] initiation)
    {
        p.underLoadB = true;
        try
        {
            final byte[] reply = p.deliver(p.b, initiation, new byte[] {127, 0, 0, 1, 0x1F, (byte)0x90});
            assertNotNull(reply, "a cookie reply");
            assertEquals(WireguardMessages.COOKIE_REPLY_LENGTH, reply.length);
            return reply;
        }
        finally
        {
            p.underLoadB = false;
        }
    }

    /** Changes some bytes of {@code message} (never the type). */
    private void damage(final byte[] message)
    {
        final int changes = 1 + random.nextInt(3);
        for (int c = 0; c < changes; c++)
        {
            switch (random.nextInt(5))
            {
                case 0 ->
                {
                    // the ephemeral key (initiation: 8, response: 12) replaced by a low-order point
                    final int at = message.length == WireguardMessages.INITIATION_LENGTH ?
                        WireguardMessages.INITIATION_EPHEMERAL_OFFSET : message.length == WireguardMessages.RESPONSE_LENGTH ?
                        WireguardMessages.RESPONSE_EPHEMERAL_OFFSET : 8;
                    final byte[] point = LOW_ORDER[random.nextInt(LOW_ORDER.length)];
                    System.arraycopy(point, 0, message, at, Math.min(32, message.length - at));
                }
                case 1 -> message[4 + random.nextInt(4)] = (byte)random.nextInt(); // the sender (or receiver) index
                default -> message[4 + random.nextInt(message.length - 4)] ^= (byte)(1 << random.nextInt(8));
            }
        }
    }

    /**
     * Whether {@code sent} differs from {@code original} at most in the fields no key covers: the
     * sender index, MAC1 (recomputed, so an attacker can set it) and MAC2. A cookie reply has none.
     */
    private static boolean onlyUncoveredChanged(final byte[] original, final byte[] sent, final int mac1Offset)
    {
        if (original.length != sent.length)
        {
            return false;
        }
        for (int k = 0; k < sent.length; k++)
        {
            if (original[k] != sent[k] && !(mac1Offset > 0 && (k >= 4 && k < 8 || k >= mac1Offset)))
            {
                return false;
            }
        }
        return true;
    }
}
