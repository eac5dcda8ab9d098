package io.vsnic.dataplane.substrate;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A UDP relay between two devices' substrate sockets (each configured with the relay as the other's
 * endpoint) for tests: forwards what one side sends to the other and records every datagram and
 * its source port, so a test can inspect exactly what crossed the substrate, or inject its own.
 */
public final class RecordingRelay implements AutoCloseable
{
    public final DatagramSocket socket;
    public final InetSocketAddress a;
    public final InetSocketAddress b;
    public final List<byte[]> fromA = new CopyOnWriteArrayList<>();
    public final List<byte[]> fromB = new CopyOnWriteArrayList<>();
    public final List<Integer> sourcePorts = new CopyOnWriteArrayList<>();
    final Thread thread;
    volatile boolean running = true;

    public RecordingRelay(final String bind, final InetSocketAddress a, final InetSocketAddress b) throws SocketException
    {
        this.a = a;
        this.b = b;
        socket = new DatagramSocket(new InetSocketAddress(bind, 0));
        socket.setReceiveBufferSize(8 << 20);
        socket.setSoTimeout(100);
        thread = Thread.ofPlatform().daemon().name("relay-" + bind).start(this::run);
    }

    public String endpoint()
    {
        return socket.getLocalAddress().getHostAddress() + ":" + socket.getLocalPort();
    }

    private void run()
    {
        final byte[] buffer = new byte[65536];
        final DatagramPacket packet = new DatagramPacket(buffer, buffer.length);
        while (running)
        {
            try
            {
                packet.setLength(buffer.length);
                socket.receive(packet);
                final byte[] bytes = Arrays.copyOf(buffer, packet.getLength());
                final boolean isA = packet.getSocketAddress().equals(a);
                (isA ? fromA : fromB).add(bytes);
                sourcePorts.add(packet.getPort());
                socket.send(new DatagramPacket(bytes, bytes.length, isA ? b : a));
            }
            catch (final SocketTimeoutException ex)
            {
                // check running
            }
            catch (final IOException ex)
            {
                if (running)
                {
                    throw new IllegalStateException(ex);
                }
            }
        }
    }

    public void inject(final byte[] bytes, final InetSocketAddress to) throws IOException
    {
        socket.send(new DatagramPacket(bytes, bytes.length, to));
    }

    public List<byte[]> all()
    {
        final List<byte[]> list = new ArrayList<>(fromA);
        list.addAll(fromB);
        return list;
    }

    @Override
    public void close()
    {
        running = false;
        try
        {
            thread.join(2000);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
        socket.close();
    }
}
