package io.vsnic.dataplane.substrate;

import java.net.InetSocketAddress;

/**
 * What the substrate knows of one WireGuard peer at one moment.
 *
 * @param device            the peer's device id.
 * @param publicKey         its public key, base64.
 * @param endpoint          where its packets go now (moves to the source of its last authenticated packet).
 * @param lastHandshakeAgoMs milliseconds since the last completed handshake, or -1 if none.
 * @param rxBytes           WireGuard bytes received from it (authenticated messages).
 * @param txBytes           WireGuard bytes sent to it.
 * @param sessionUp         whether a session key is current.
 * @param stagedFrames      frames waiting for a session.
 */
public record WireguardPeerStatus(
    int device, String publicKey, InetSocketAddress endpoint, long lastHandshakeAgoMs, long rxBytes, long txBytes,
    boolean sessionUp, int stagedFrames)
{
}
