package io.vsnic.dataplane.pipeline;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

import io.vsnic.dataplane.buffer.Frame;
import io.vsnic.dataplane.config.NetworkSpec;
import io.vsnic.dataplane.config.PeerSpec;
import io.vsnic.dataplane.config.PortSpec;
import io.vsnic.dataplane.protocol.FrameBuilder;
import io.vsnic.dataplane.protocol.FrameClassifier;
import io.vsnic.dataplane.protocol.FrameLayout;
import io.vsnic.dataplane.security.ConnectionTimeouts;
import io.vsnic.dataplane.status.CounterSnapshot;
import io.vsnic.dataplane.table.ForwardingState;

/**
 * A data plane with memory ports, driven synchronously ({@link Worker#doWork()} on the test thread)
 * so forwarding tests are deterministic.
 */
final class PipelineHarness implements AutoCloseable
{
    final DataPlane dataPlane;
    final Map<Integer, MemoryPort> ports = new HashMap<>();
    final FrameClassifier verifier = FrameClassifier.verifying();

    PipelineHarness(final int workers, final int connectionCapacity)
    {
        dataPlane = new DataPlane(new DataPlaneConfig(workers, 4096, connectionCapacity, ConnectionTimeouts.DEFAULTS));
    }

    PipelineHarness()
    {
        this(1, 4096);
    }

    PipelineHarness configure(final List<NetworkSpec> networks, final List<PortSpec> portSpecs)
    {
        return configure(networks, portSpecs, List.of());
    }

    PipelineHarness configure(final List<NetworkSpec> networks, final List<PortSpec> portSpecs, final List<PeerSpec> peers)
    {
        dataPlane.publish(ForwardingState.build(dataPlane.state(), networks, portSpecs, peers));
        for (final PortSpec spec : portSpecs)
        {
            if (!ports.containsKey(spec.id()))
            {
                final MemoryPort port = new MemoryPort(spec.id(), Port.KIND_VNIC, dataPlane.pool(), 4096);
                dataPlane.addPort(port);
                ports.put(spec.id(), port);
            }
        }
        return this;
    }

    /**
     * Adds a vNIC memory port that takes ordinary and super-pool frames, with the given offloads
     * ({@link Port#OFFLOAD_SUPER_FRAMES}, {@link Port#OFFLOAD_PARTIAL_CHECKSUM} or 0).
     */
    MemoryPort offloadVnic(final int id, final int offloads)
    {
        final MemoryPort port = new MemoryPort(id, Port.KIND_VNIC, dataPlane.pool(), dataPlane.superPool(), 4096, offloads);
        dataPlane.addPort(port);
        ports.put(id, port);
        return port;
    }

    MemoryPort overlay(final int id)
    {
        // takes ordinary frames only on transmit, but may carry super-pool frames in (a peer kernel's whole GSO packet)
        final MemoryPort port = new MemoryPort(id, Port.KIND_OVERLAY, dataPlane.pool(), dataPlane.superPool(), 4096, 0);
        dataPlane.overlayPort(port);
        ports.put(id, port);
        return port;
    }

    /**
     * Builds a frame with {@code layers} and injects it into {@code portId}.
     */
    void send(final int portId, final Consumer<FrameBuilder> layers)
    {
        send(ports.get(portId), build(layers), -1, -1);
    }

    /**
     * Builds a Geneve-encapsulated frame as the substrate hands it to the overlay port: overlay header + inner frame.
     */
    Frame buildGeneve(final int vni, final Consumer<FrameBuilder> inner)
    {
        final Frame frame = build(inner);
        final io.vsnic.dataplane.substrate.OverlayHeaders headers = new io.vsnic.dataplane.substrate.OverlayHeaders();
        headers.encapsulate(frame, io.vsnic.dataplane.config.Encapsulation.GENEVE, vni);
        return frame;
    }

    Frame build(final Consumer<FrameBuilder> layers)
    {
        final Frame frame = dataPlane.pool().acquire();
        final FrameBuilder builder = new FrameBuilder(frame.segment(), frame.start());
        layers.accept(builder);
        frame.length(builder.buildPadded(60));
        return frame;
    }

    void send(final MemoryPort port, final Frame frame, final int vni, final int peerDevice)
    {
        frame.vni(vni).peerDevice(peerDevice);
        if (!port.inject(frame))
        {
            throw new IllegalStateException("rx ring full");
        }
    }

    /**
     * Runs every worker until none has work.
     */
    void drain()
    {
        boolean work = true;
        while (work)
        {
            work = false;
            for (int i = 0; i < dataPlane.workerCount(); i++)
            {
                work |= dataPlane.worker(i).doWork() > 0;
            }
        }
    }

    /** A frame that left a port: its bytes, VNI and peer device, and a verifying classification. */
    record Out(byte[] bytes, int vni, int peerDevice, FrameLayout layout, MemorySegment segment)
    {
    }

    List<Out> received(final int portId)
    {
        final List<Out> out = new ArrayList<>();
        Frame frame;
        while ((frame = ports.get(portId).poll()) != null)
        {
            final byte[] bytes = frame.toByteArray();
            final MemorySegment segment = MemorySegment.ofArray(new byte[bytes.length]);
            MemorySegment.copy(bytes, 0, segment, ValueLayout.JAVA_BYTE, 0, bytes.length);
            final FrameLayout layout = new FrameLayout();
            verifier.classify(segment, 0, bytes.length, layout);
            out.add(new Out(bytes, frame.vni(), frame.peerDevice(), layout, segment));
            frame.release();
        }
        return out;
    }

    CounterSnapshot counters()
    {
        return dataPlane.counters();
    }

    @Override
    public void close()
    {
        for (final MemoryPort port : ports.values())
        {
            Frame frame;
            while ((frame = port.poll()) != null)
            {
                frame.release();
            }
        }
        dataPlane.close();
    }
}
