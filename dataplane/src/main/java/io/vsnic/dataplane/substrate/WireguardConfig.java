package io.vsnic.dataplane.substrate;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Path;

import io.vsnic.crypto.KeyFiles;
import io.vsnic.crypto.wireguard.KeyLog;
import io.vsnic.crypto.wireguard.WireguardTimers;

/**
 * The encrypted substrate of this device: its WireGuard identity, the UDP port its sessions use,
 * and its inner substrate address (the source of the overlay packets it puts inside the tunnel).
 *
 * @param privateKey     this device's static private key (32 bytes; clamped when used). Copied.
 * @param listenPort     UDP port of the WireGuard socket (51820 by default, 0 for an ephemeral one).
 * @param innerAddress   this device's inner substrate address, literal IPv4 or IPv6; its peers'
 *                       inner addresses must be of the same family.
 * @param timers         protocol timers ({@link WireguardTimers#DEFAULT}; tests shorten them).
 * @param keyLog         writes every session's keys in Wireshark's format, or null (the default):
 *                       for debugging only, whoever reads it can decrypt the substrate.
 * @param stagedFrames   frames held per peer while its session is being set up (wireguard-go: 128);
 *                       when full, newer frames are dropped and counted.
 */
public record WireguardConfig(
    byte[] privateKey, int listenPort, String innerAddress, WireguardTimers timers, KeyLog.Writer keyLog, int stagedFrames)
{
    /** WireGuard's customary port. */
    public static final int DEFAULT_LISTEN_PORT = 51820;
    /** Frames staged per peer by default (as wireguard-go). */
    public static final int DEFAULT_STAGED_FRAMES = 128;

    public WireguardConfig
    {
        if (privateKey == null || privateKey.length != 32)
        {
            throw new IllegalArgumentException("substrate.wireguard.privateKey must be 32 bytes");
        }
        privateKey = privateKey.clone();
        if (listenPort < 0 || listenPort > 65535)
        {
            throw new IllegalArgumentException("substrate.wireguard.listenPort must be in 0..65535: " + listenPort);
        }
        if (innerAddress == null)
        {
            throw new IllegalArgumentException("substrate.wireguard.innerAddress is required");
        }
        try
        {
            final InetAddress address = InetAddress.ofLiteral(innerAddress);
            if (address.isAnyLocalAddress() || address.isMulticastAddress())
            {
                throw new IllegalArgumentException("substrate.wireguard.innerAddress must be unicast: " + innerAddress);
            }
        }
        catch (final IllegalArgumentException ex)
        {
            throw new IllegalArgumentException("substrate.wireguard.innerAddress is not an IP literal: " + innerAddress, ex);
        }
        if (timers == null)
        {
            timers = WireguardTimers.DEFAULT;
        }
        if (stagedFrames < 1 || stagedFrames > 4096)
        {
            throw new IllegalArgumentException("substrate.wireguard.stagedFrames must be in 1..4096: " + stagedFrames);
        }
    }

    /**
     * @return the default port, timers and staging, no key log.
     */
    public static WireguardConfig of(final byte[] privateKey, final String innerAddress)
    {
        return new WireguardConfig(privateKey, DEFAULT_LISTEN_PORT, innerAddress, WireguardTimers.DEFAULT, null,
            DEFAULT_STAGED_FRAMES);
    }

    /**
     * @return a copy with another listen port.
     */
    public WireguardConfig withListenPort(final int port)
    {
        return new WireguardConfig(privateKey, port, innerAddress, timers, keyLog, stagedFrames);
    }

    /**
     * @return a copy with other timers.
     */
    public WireguardConfig withTimers(final WireguardTimers value)
    {
        return new WireguardConfig(privateKey, listenPort, innerAddress, value, keyLog, stagedFrames);
    }

    /**
     * @return a copy that writes a key log.
     */
    public WireguardConfig withKeyLog(final KeyLog.Writer value)
    {
        return new WireguardConfig(privateKey, listenPort, innerAddress, timers, value, stagedFrames);
    }

    /**
     * @return the parsed inner address.
     */
    public InetAddress inner()
    {
        return InetAddress.ofLiteral(innerAddress);
    }

    @Override
    public byte[] privateKey()
    {
        return privateKey.clone();
    }

    /**
     * Reads a private key file as {@code vsnic keygen} or {@code wg genkey} writes it (one base64
     * line), refusing a file that group or others may read ({@link KeyFiles#readPrivateKey}).
     *
     * @throws IOException naming the file when it cannot be read, is too open, or holds no key.
     */
    public static byte[] readPrivateKeyFile(final Path file) throws IOException
    {
        return KeyFiles.readPrivateKey(file);
    }

    @Override
    public String toString()
    {
        return "WireguardConfig{listenPort=" + listenPort + ", innerAddress=" + innerAddress + ", timers=" + timers +
            ", keyLog=" + (keyLog != null) + ", stagedFrames=" + stagedFrames + '}';
    }
}
