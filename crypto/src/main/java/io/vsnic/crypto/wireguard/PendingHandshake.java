package io.vsnic.crypto.wireguard;

import java.util.Arrays;

/**
 * Our side of a handshake we initiated and that awaits its response: the Noise state after the
 * initiation, our ephemeral private key and the index the response will be addressed to. Guarded
 * by the peer's lock; registered in the index table until the response arrives or it is dropped.
 */
final class PendingHandshake implements IndexTable.Entry
{
    final Peer peer;
    final int localIndex;
    final SymmetricState state;
    final byte[] ephemeralPrivate;

    PendingHandshake(final Peer peer, final int localIndex, final SymmetricState state, final byte[] ephemeralPrivate)
    {
        this.peer = peer;
        this.localIndex = localIndex;
        this.state = state;
        this.ephemeralPrivate = ephemeralPrivate;
    }

    @Override
    public int localIndex()
    {
        return localIndex;
    }

    void wipe()
    {
        state.wipe();
        Arrays.fill(ephemeralPrivate, (byte)0);
    }
}
