package io.vsnic.dataplane.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

import io.vsnic.dataplane.capture.SynthFrames;
import io.vsnic.dataplane.status.DropReason;
import org.junit.jupiter.api.Test;

/**
 * {@link FrameClassifier#classifyIp}: a bare IP packet (a WireGuard plaintext, a LINKTYPE_RAW
 * record) classifies exactly as the same packet inside an untagged Ethernet frame, minus L2.
 */
class FrameClassifierRawIpTest
{
    private final FrameClassifier classifier = FrameClassifier.verifying();

    @Test
    void shouldClassifyEverySynthIpPacketAsItsEthernetFrame()
    {
        int compared = 0;
        for (final SynthFrames.Synth synth : SynthFrames.all())
        {
            final byte[] frame = synth.bytes();
            final int etherType = (frame[12] & 0xFF) << 8 | (frame[13] & 0xFF);
            if (etherType != EthernetFlyweight.ETHER_TYPE_IPV4 && etherType != EthernetFlyweight.ETHER_TYPE_IPV6)
            {
                continue;
            }
            final FrameLayout framed = new FrameLayout();
            final FrameLayout raw = new FrameLayout();
            classifier.classify(MemorySegment.ofArray(frame), 0, frame.length, framed);
            final byte[] packet = Arrays.copyOfRange(frame, EthernetFlyweight.HEADER_LENGTH, frame.length);
            classifier.classifyIp(MemorySegment.ofArray(packet), 0, packet.length, raw);
            final String name = synth.name();
            assertEquals(framed.dropReason(), raw.dropReason(), name);
            assertEquals(-1, raw.l2Offset(), name);
            assertEquals(etherType, raw.etherType(), name);
            assertEquals(framed.l3Type(), raw.l3Type(), name);
            assertEquals(unframed(framed.l3Offset()), raw.l3Offset(), name);
            assertEquals(framed.l4Protocol(), raw.l4Protocol(), name);
            assertEquals(unframed(framed.l4Offset()), raw.l4Offset(), name);
            assertEquals(framed.sourcePort(), raw.sourcePort(), name);
            assertEquals(framed.overlayType(), raw.overlayType(), name);
            assertEquals(framed.vni(), raw.vni(), name);
            compared++;
        }
        assertTrue(compared >= 8, "synth IP packets compared: " + compared);
    }

    /** An offset in the Ethernet frame as an offset in the bare packet; -1 (absent) stays -1. */
    private static int unframed(final int offset)
    {
        return offset < 0 ? offset : offset - EthernetFlyweight.HEADER_LENGTH;
    }

    @Test
    void shouldDropPacketsThatAreNotIp()
    {
        final FrameLayout layout = new FrameLayout();
        assertEquals(DropReason.TRUNCATED.ordinal(), classifier.classifyIp(MemorySegment.ofArray(new byte[0]), 0, 0, layout));
        final byte[] notIp = new byte[40];
        notIp[0] = 0x55;
        assertEquals(DropReason.BAD_IP_VERSION.ordinal(), classifier.classifyIp(MemorySegment.ofArray(notIp), 0, 40, layout));
        notIp[0] = 0x45;
        assertEquals(DropReason.TRUNCATED.ordinal(), classifier.classifyIp(MemorySegment.ofArray(notIp), 0, 12, layout));
    }
}
