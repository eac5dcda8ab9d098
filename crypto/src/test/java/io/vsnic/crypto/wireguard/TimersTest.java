package io.vsnic.crypto.wireguard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

/**
 * The timers of WireGuard paper section 6, driven by a fake clock.
 */
class TimersTest
{
    private static final int NOTHING = 0;

    /** Established session, confirmed, with the first data packet answered by a keepalive: no timer pending. */
    private static Pair established(final WireguardTimers timers)
    {
        final Pair pair = new Pair(timers, null);
        pair.handshake();
        assertEquals(16, pair.open(pair.codecB, pair.seal(pair.codecA, pair.peerB.current(), 10, (byte)1)));
        assertNotNull(pair.peerA.current());
        assertEquals(0, pair.open(pair.codecA, pair.seal(pair.codecB, pair.peerA.current(), 0, (byte)0)));
        return pair;
    }

    @Test
    void shouldRekeyAfterRekeyAfterTimeWhenTheInitiatorSends()
    {
        final Pair pair = established(WireguardTimers.DEFAULT);
        pair.advanceSeconds(119.9);
        pair.seal(pair.codecA, pair.peerB.sendingKeypair(pair.now()), 10, (byte)1);
        assertEquals(NOTHING, pair.peerB.tick(pair.now()) & Peer.ACTION_SEND_INITIATION);
        pair.advanceSeconds(0.1);
        // the responder does not rekey by age on sending (only the initiator does)
        pair.seal(pair.codecB, pair.peerA.sendingKeypair(pair.now()), 10, (byte)1);
        assertFalse(pair.peerA.rekeyWanted());
        pair.seal(pair.codecA, pair.peerB.sendingKeypair(pair.now()), 10, (byte)1);
        assertTrue(pair.peerB.rekeyWanted());
        assertEquals(Peer.ACTION_SEND_INITIATION, pair.peerB.tick(pair.now()) & Peer.ACTION_SEND_INITIATION);
    }

    @Test
    void shouldRekeyEveryTwoSecondsWhenConfiguredSoAndLoseNoPacketOnTheOldKeypair()
    {
        final WireguardTimers twoSeconds = WireguardTimers.DEFAULT.withRekeyAfterTimeNs(2_000_000_000L);
        assertEquals(2_000_000_000L, twoSeconds.rekeyAfterTimeNs());
        assertEquals(180_000_000_000L, twoSeconds.rejectAfterTimeNs(), "REJECT_AFTER_TIME is left alone");
        {
            // initiations are never sent more often than REKEY_TIMEOUT (5 s), as in the kernel
            final Pair limited = established(twoSeconds);
            limited.advanceSeconds(2);
            limited.seal(limited.codecA, limited.peerB.current(), 10, (byte)1);
            assertTrue(limited.peerB.rekeyWanted());
            assertEquals(NOTHING, limited.peerB.tick(limited.now()) & Peer.ACTION_SEND_INITIATION);
            limited.advanceSeconds(3);
            assertEquals(Peer.ACTION_SEND_INITIATION, limited.peerB.tick(limited.now()) & Peer.ACTION_SEND_INITIATION);
        }
        final WireguardTimers fast = twoSeconds.withRekeyTimeoutNs(1_000_000_000L, 0);
        final Pair pair = established(fast);
        final Keypair old = pair.peerB.current();
        final Keypair oldResponder = pair.peerA.current();
        pair.advanceSeconds(2);
        // in flight on the old keypair, both ways, while the rekey happens
        final byte[] lateAtoB = pair.seal(pair.codecA, old, 50, (byte)2);
        final byte[] lateBtoA = pair.seal(pair.codecB, oldResponder, 50, (byte)3);
        assertEquals(Peer.ACTION_SEND_INITIATION, pair.peerB.tick(pair.now()) & Peer.ACTION_SEND_INITIATION);
        pair.handshake();
        assertNotSame(old, pair.peerB.current());
        assertSame(old, pair.peerB.previous());
        assertSame(oldResponder, pair.peerA.current(), "responder keeps sending on the old keypair until confirmation");
        assertNotNull(pair.peerA.next());

        assertEquals(64, pair.open(pair.codecB, lateAtoB), "late packet on the old session accepted");
        assertEquals(64, pair.open(pair.codecA, lateBtoA), "late packet on the old session accepted");
        assertSame(oldResponder, pair.peerA.current());

        // the first packet on the new keypair confirms it; the old one is still accepted afterwards
        final byte[] onNew = pair.seal(pair.codecA, pair.peerB.sendingKeypair(pair.now()), 10, (byte)4);
        final byte[] laterOnOld = pair.seal(pair.codecA, old, 10, (byte)5);
        assertEquals(16, pair.open(pair.codecB, onNew));
        assertSame(oldResponder, pair.peerA.previous());
        assertNotSame(oldResponder, pair.peerA.current());
        assertEquals(16, pair.open(pair.codecB, laterOnOld));

        // the next rekey retires the oldest keypair: its index is gone
        pair.advanceSeconds(2);
        pair.handshake();
        assertFalse(old.isValid());
        assertEquals(Rejection.UNKNOWN_INDEX.code(), pair.codecB.open(java.lang.foreign.MemorySegment.ofArray(laterOnOld.clone()), 0,
            laterOnOld.length, pair.now()));
    }

    @Test
    void shouldNotSendAfterRejectAfterTimeWithoutANewHandshake()
    {
        final Pair pair = established(WireguardTimers.DEFAULT);
        final Keypair kp = pair.peerB.current();
        pair.advanceSeconds(179.9);
        assertSame(kp, pair.peerB.sendingKeypair(pair.now()));
        pair.advanceSeconds(0.1);
        assertNull(pair.peerB.sendingKeypair(pair.now()));
        assertNull(pair.peerA.sendingKeypair(pair.now()));
        assertTrue(pair.peerB.rekeyWanted(), "asking for a keypair that is gone asks for a handshake");
        assertEquals(Peer.ACTION_SEND_INITIATION, pair.peerB.tick(pair.now()) & Peer.ACTION_SEND_INITIATION);
        pair.handshake();
        assertNotNull(pair.peerB.sendingKeypair(pair.now()));
    }

    @Test
    void shouldSendAPassiveKeepaliveOnlyWhenReceivedDataGoesUnanswered()
    {
        final Pair pair = established(WireguardTimers.DEFAULT);
        pair.advanceSeconds(1);
        pair.open(pair.codecB, pair.seal(pair.codecA, pair.peerB.current(), 100, (byte)1));
        pair.advanceSeconds(9.9);
        assertEquals(NOTHING, pair.peerA.tick(pair.now()) & Peer.ACTION_SEND_KEEPALIVE);
        pair.advanceSeconds(0.1);
        assertEquals(Peer.ACTION_SEND_KEEPALIVE, pair.peerA.tick(pair.now()) & Peer.ACTION_SEND_KEEPALIVE);
        assertEquals(NOTHING, pair.peerA.tick(pair.now()) & Peer.ACTION_SEND_KEEPALIVE, "once");

        // answered in time: no keepalive
        pair.open(pair.codecB, pair.seal(pair.codecA, pair.peerB.current(), 100, (byte)1));
        pair.advanceSeconds(3);
        pair.seal(pair.codecB, pair.peerA.current(), 100, (byte)2);
        pair.advanceSeconds(10);
        assertEquals(NOTHING, pair.peerA.tick(pair.now()) & Peer.ACTION_SEND_KEEPALIVE);

        // a keepalive received is not data: it does not ask for a keepalive back
        pair.open(pair.codecB, pair.seal(pair.codecA, pair.peerB.current(), 0, (byte)0));
        pair.advanceSeconds(11);
        assertEquals(NOTHING, pair.peerA.tick(pair.now()) & Peer.ACTION_SEND_KEEPALIVE);
    }

    @Test
    void shouldRetransmitAnUnansweredInitiationAndGiveUpAfterRekeyAttemptTime()
    {
        final Pair pair = new Pair();
        pair.entropyA.jitterNs = 200_000_000L;
        pair.initiation(pair.a, pair.peerB);
        pair.advanceSeconds(5.1);
        assertEquals(NOTHING, pair.peerB.tick(pair.now()), "REKEY_TIMEOUT plus jitter (0.2 s) not yet over");
        pair.advanceSeconds(0.1);
        int sent = 1;
        final long start = Pair.START_NS;
        while (true)
        {
            final int actions = pair.peerB.tick(pair.now());
            if ((actions & Peer.ACTION_GAVE_UP) != 0)
            {
                break;
            }
            if ((actions & Peer.ACTION_SEND_INITIATION) != 0)
            {
                pair.initiation(pair.a, pair.peerB);
                sent++;
            }
            pair.advanceSeconds(0.25);
            assertTrue(pair.now() - start < 100_000_000_000L, "never gave up");
        }
        assertTrue(pair.now() - start >= 90_000_000_000L, "gave up before REKEY_ATTEMPT_TIME");
        assertEquals(18, sent, "one initiation every 5.2 s for 90 s");
        assertFalse(pair.peerB.handshakeInProgress());
        assertEquals(0, pair.a.liveIndices());
    }

    @Test
    void shouldStartANewHandshakeWhenSentDataGetsNoAnswer()
    {
        final Pair pair = established(WireguardTimers.DEFAULT);
        pair.advanceSeconds(30);
        pair.seal(pair.codecA, pair.peerB.current(), 100, (byte)1);
        pair.advanceSeconds(14.9);
        assertEquals(NOTHING, pair.peerB.tick(pair.now()) & Peer.ACTION_SEND_INITIATION);
        pair.advanceSeconds(0.1);
        assertEquals(Peer.ACTION_SEND_INITIATION, pair.peerB.tick(pair.now()) & Peer.ACTION_SEND_INITIATION);

        // but not when an answer came
        final Pair answered = established(WireguardTimers.DEFAULT);
        answered.advanceSeconds(30);
        answered.seal(answered.codecA, answered.peerB.current(), 100, (byte)1);
        answered.advanceSeconds(5);
        answered.open(answered.codecA, answered.seal(answered.codecB, answered.peerA.current(), 0, (byte)0));
        answered.advanceSeconds(15);
        assertEquals(NOTHING, answered.peerB.tick(answered.now()) & Peer.ACTION_SEND_INITIATION);
    }

    @Test
    void shouldZeroAllKeysAfterThreeTimesRejectAfterTime()
    {
        final Pair pair = established(WireguardTimers.DEFAULT);
        final Keypair kp = pair.peerB.current();
        pair.advanceSeconds(539.9);
        assertEquals(NOTHING, pair.peerB.tick(pair.now()) & Peer.ACTION_KEYS_ZEROED);
        pair.advanceSeconds(0.1);
        final List<String> events = new ArrayList<>();
        pair.a.tick(pair.now(), new TimerActions()
        {
            @Override
            public void sendInitiation(final Peer peer)
            {
                events.add("initiation");
            }

            @Override
            public void sendKeepalive(final Peer peer)
            {
                events.add("keepalive");
            }

            @Override
            public void keysZeroed(final Peer peer)
            {
                events.add("zeroed");
            }
        });
        assertEquals(List.of("zeroed"), events);
        assertFalse(kp.isValid());
        assertEquals(0, kp.sendKey()[0] | kp.sendKey()[31] | kp.receiveKey()[7]);
        assertNull(pair.peerB.current());
        assertEquals(0, pair.a.liveIndices());
    }

    @Test
    void shouldSendPersistentKeepalives()
    {
        final Pair pair = established(WireguardTimers.DEFAULT);
        pair.peerB.persistentKeepaliveNs(25_000_000_000L);
        assertEquals(Peer.ACTION_SEND_KEEPALIVE, pair.peerB.tick(pair.now()) & Peer.ACTION_SEND_KEEPALIVE);
        pair.advanceSeconds(24);
        assertEquals(NOTHING, pair.peerB.tick(pair.now()) & Peer.ACTION_SEND_KEEPALIVE);
        pair.advanceSeconds(1);
        assertEquals(Peer.ACTION_SEND_KEEPALIVE, pair.peerB.tick(pair.now()) & Peer.ACTION_SEND_KEEPALIVE);
    }

    @Test
    void shouldAskTheInitiatorToConfirmANewKeypairWhenItHasNothingToSend()
    {
        final Pair pair = new Pair();
        pair.handshake();
        assertEquals(Peer.ACTION_SEND_KEEPALIVE, pair.peerB.tick(pair.now()) & Peer.ACTION_SEND_KEEPALIVE,
            "the responder cannot send until it has heard on the new keypair");
        assertEquals(NOTHING, pair.peerB.tick(pair.now()) & Peer.ACTION_SEND_KEEPALIVE, "once");
        assertEquals(NOTHING, pair.peerA.tick(pair.now()) & Peer.ACTION_SEND_KEEPALIVE, "not the responder");

        final Pair busy = new Pair();
        busy.handshake();
        busy.seal(busy.codecA, busy.peerB.current(), 100, (byte)1);
        assertEquals(NOTHING, busy.peerB.tick(busy.now()) & Peer.ACTION_SEND_KEEPALIVE, "data already confirms it");
    }

    @Test
    void shouldRekeyAfterRekeyAfterMessages()
    {
        final Pair pair = established(WireguardTimers.DEFAULT);
        final Keypair kp = pair.peerA.current();
        kp.setMessagesSentForTest(WireguardTimers.REKEY_AFTER_MESSAGES);
        pair.seal(pair.codecB, kp, 10, (byte)1);
        assertTrue(pair.peerA.rekeyWanted(), "by message count, also as responder");
        assertEquals(Peer.ACTION_SEND_INITIATION, pair.peerA.tick(pair.now()) & Peer.ACTION_SEND_INITIATION);
    }

    @Test
    void shouldAskTheInitiatorToRekeyWhenReceivingOnAnAgingKeypair()
    {
        final Pair pair = established(WireguardTimers.DEFAULT);
        pair.advanceSeconds(164);
        pair.open(pair.codecA, pair.seal(pair.codecB, pair.peerA.current(), 10, (byte)1));
        assertFalse(pair.peerB.rekeyWanted());
        pair.advanceSeconds(1);
        pair.open(pair.codecA, pair.seal(pair.codecB, pair.peerA.current(), 10, (byte)1));
        assertTrue(pair.peerB.rekeyWanted(), "REJECT_AFTER_TIME - KEEPALIVE_TIMEOUT - REKEY_TIMEOUT");
    }
}
