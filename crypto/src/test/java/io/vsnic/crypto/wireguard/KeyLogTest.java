package io.vsnic.crypto.wireguard;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Base64;

import org.junit.jupiter.api.Test;

class KeyLogTest
{
    private static byte[] key(final String base64)
    {
        return Base64.getDecoder().decode(base64);
    }

    @Test
    void shouldParseWiresharksInitiatorLogWithSpacesAroundEquals()
    {
        // KEYS.md, test_decrypt_full_initiator
        final KeyLog log = KeyLog.parse("""
              REMOTE_STATIC_PUBLIC_KEY = YDCttCs9e1J52/g9vEnwJJa+2x6RqaayAYMpSVQfGEY=
              LOCAL_STATIC_PRIVATE_KEY = B6eZaHwBxjiKLFnkY2unvEdOTtg4AL+M9dQXfopFVJk=
              LOCAL_EPHEMERAL_PRIVATE_KEY = t7GLJSOQfyz7JNJ5ZDzFf3Uz1rkiCMMjbWerNYcPFJU=
              LOCAL_EPHEMERAL_PRIVATE_KEY = ULv83D+y3vA0t2mgmTmWz++lpVsrP7i4wNaUEK2oX0E=
            """);
        assertArrayEquals(key("YDCttCs9e1J52/g9vEnwJJa+2x6RqaayAYMpSVQfGEY="), log.remoteStaticPublicKeys().getFirst());
        assertArrayEquals(key("B6eZaHwBxjiKLFnkY2unvEdOTtg4AL+M9dQXfopFVJk="), log.localStaticPrivateKeys().getFirst());
        assertEquals(2, log.ephemeralKeys().size());
        assertArrayEquals(key("ULv83D+y3vA0t2mgmTmWz++lpVsrP7i4wNaUEK2oX0E="), log.ephemeralKeys().get(1).privateKey());
    }

    @Test
    void shouldAttachEachPresharedKeyToTheEphemeralKeyBeforeIt()
    {
        // KEYS.md, test_decrypt_psk_responder (with its deliberate dummy duplicates)
        final KeyLog log = KeyLog.parse("""
            REMOTE_STATIC_PUBLIC_KEY=Igge9KzRytKNwrgkzDE/8hrLu6Ly0OqVdvOPWhA5KR4=
            LOCAL_STATIC_PRIVATE_KEY=cFIxTUyBs1Qil414hBwEgvasEax8CKJ5IS5ZougplWs=
            LOCAL_EPHEMERAL_PRIVATE_KEY=8G1N3LnEqYC7+NW/b6mqceVUIGBMAZSm+IpwG1U0j0w=
            PRESHARED_KEY=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx=
            LOCAL_EPHEMERAL_PRIVATE_KEY=8G1N3LnEqYC7+NW/b6mqceVUIGBMAZSm+IpwG1U0j0w=
            PRESHARED_KEY=//////////////////////////////////////////8=
            LOCAL_EPHEMERAL_PRIVATE_KEY=+MHo9sfkjPsjCx7lbVhRLDvMxYvTirOQFDSdzAW6kUQ=
            PRESHARED_KEY=iIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIg=
            LOCAL_EPHEMERAL_PRIVATE_KEY=+MHo9sfkjPsjCx7lbVhRLDvMxYvTirOQFDSdzAW6kUQ=
            PRESHARED_KEY=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx=
            """);
        assertEquals(4, log.ephemeralKeys().size());
        final byte[] psk2 = new byte[32];
        Arrays.fill(psk2, (byte)0xff);
        final byte[] psk3 = new byte[32];
        Arrays.fill(psk3, (byte)0x88);
        assertArrayEquals(psk2, log.ephemeralKeys().get(1).presharedKey());
        assertArrayEquals(psk3, log.ephemeralKeys().get(2).presharedKey());
        assertArrayEquals(key("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx="), log.ephemeralKeys().get(3).presharedKey());
    }

    @Test
    void shouldNameTheLineOfEveryError()
    {
        final IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
            () -> KeyLog.parse("\nLOCAL_STATIC_PUBLIC_KEY=YDCttCs9e1J52/g9vEnwJJa+2x6RqaayAYMpSVQfGEY="));
        assertTrue(unknown.getMessage().contains("line 2"), unknown.getMessage());
        assertThrows(IllegalArgumentException.class, () -> KeyLog.parse("PRESHARED_KEY=YDCttCs9e1J52/g9vEnwJJa+2x6RqaayAYMpSVQfGEY="));
        assertThrows(IllegalArgumentException.class, () -> KeyLog.parse("LOCAL_STATIC_PRIVATE_KEY=AAAA"));
        assertThrows(IllegalArgumentException.class, () -> KeyLog.parse("LOCAL_STATIC_PRIVATE_KEY"));
        assertEquals(0, KeyLog.parse("# comment\n\n   \n").ephemeralKeys().size());
    }

    @Test
    void shouldWriteWhatItParses()
    {
        final StringBuilder out = new StringBuilder();
        final KeyLog.Writer writer = new KeyLog.Writer(out);
        final byte[] a = new byte[32];
        final byte[] b = new byte[32];
        final byte[] e = new byte[32];
        final byte[] p = new byte[32];
        a[0] = 1;
        b[0] = 2;
        e[0] = 3;
        p[0] = 4;
        writer.localStaticPrivateKey(a);
        writer.remoteStaticPublicKey(b);
        writer.localEphemeralPrivateKey(e, p);
        writer.localEphemeralPrivateKey(b, null);
        assertEquals("LOCAL_STATIC_PRIVATE_KEY=" + Base64.getEncoder().encodeToString(a) + "\n", out.toString().lines().findFirst().orElseThrow() + "\n");
        final KeyLog log = KeyLog.parse(out.toString());
        assertArrayEquals(a, log.localStaticPrivateKeys().getFirst());
        assertArrayEquals(b, log.remoteStaticPublicKeys().getFirst());
        assertArrayEquals(e, log.ephemeralKeys().get(0).privateKey());
        assertArrayEquals(p, log.ephemeralKeys().get(0).presharedKey());
        assertNull(log.ephemeralKeys().get(1).presharedKey());
    }
}
