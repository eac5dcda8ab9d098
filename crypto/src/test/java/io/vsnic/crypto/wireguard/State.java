package io.vsnic.crypto.wireguard;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A snapshot of every piece of protocol state a message could change, to prove that a rejected
 * message changed none of it.
 */
record State(List<Object> values)
{
    static State of(final WireguardDevice device)
    {
        final List<Object> values = new ArrayList<>();
        values.add(device.liveIndices());
        for (final Peer peer : device.peers())
        {
            synchronized (peer)
            {
                values.add(peer.toString());
                for (final Keypair kp : new Keypair[] {peer.previous(), peer.current(), peer.next()})
                {
                    values.add(kp == null ? "none" : kp.localIndex() + "/" + kp.messagesSent() + "/" +
                        kp.highestReceived() + "/" + kp.isValid() + "/" + Arrays.hashCode(kp.receiveKey()) + "/" +
                        System.identityHashCode(kp));
                }
                values.add(System.identityHashCode(peer.handshake));
                values.add(Arrays.toString(peer.latestTimestamp));
                values.add(peer.lastInitiationConsumedNs);
                values.add(peer.cookieReceivedNs);
                values.add(peer.haveSentMac1);
                values.add(Arrays.toString(peer.lastMac1Sent));
                values.add(Arrays.toString(peer.cookie));
                values.add(peer.rekeyWanted());
                values.add(peer.lastHandshakeNs());
            }
        }
        return new State(values);
    }
}
