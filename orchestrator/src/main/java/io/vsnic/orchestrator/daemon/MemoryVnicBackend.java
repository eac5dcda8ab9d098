package io.vsnic.orchestrator.daemon;

import java.util.LinkedHashMap;
import java.util.Map;

import io.vsnic.dataplane.buffer.Frame;
import io.vsnic.dataplane.pipeline.DataPlane;
import io.vsnic.dataplane.pipeline.MemoryPort;
import io.vsnic.dataplane.pipeline.Port;
import io.vsnic.orchestrator.model.Backend;
import io.vsnic.orchestrator.model.ResourceException;
import io.vsnic.orchestrator.model.VnicResource;

/**
 * {@code backend: {type: memory, queueFrames: 1024}}: the VM side is a pair of in-memory rings
 * ({@link MemoryPort}); the process itself injects and polls frames (tests, demos, and an embedding
 * program). Frames sent to a memory vNIC that nobody polls wait in its transmit ring until it is
 * full, then count as {@code tx_queue_full}.
 */
public final class MemoryVnicBackend implements VnicBackend
{
    /** Default ring capacity. */
    public static final int DEFAULT_QUEUE_FRAMES = 1024;

    @Override
    public String type()
    {
        return "memory";
    }

    @Override
    public void check(final Backend backend, final String field)
    {
        for (final String option : backend.options().keySet())
        {
            if (!option.equals("queueFrames"))
            {
                throw ResourceException.invalid(field + "." + option, "backend memory has no option " + option +
                    " (it has queueFrames)");
            }
        }
        queueFrames(backend, field);
    }

    private static int queueFrames(final Backend backend, final String field)
    {
        final String text = backend.option("queueFrames", Integer.toString(DEFAULT_QUEUE_FRAMES));
        try
        {
            final int frames = Integer.parseInt(text);
            if (frames >= 16 && frames <= 65536)
            {
                return frames;
            }
        }
        catch (final NumberFormatException ex)
        {
            // reported below
        }
        throw ResourceException.invalid(field + ".queueFrames", "queueFrames must be in 16..65536: " + text);
    }

    @Override
    public VnicEndpoint open(final VnicResource vnic, final int portId, final DataPlane dataPlane)
    {
        final int frames = queueFrames(vnic.backend(), "backend");
        return new Endpoint(new MemoryPort(portId, Port.KIND_VNIC, dataPlane.pool(), frames), frames);
    }

    /** An open memory vNIC. */
    public static final class Endpoint implements VnicEndpoint
    {
        private final MemoryPort port;
        private final int queueFrames;

        Endpoint(final MemoryPort port, final int queueFrames)
        {
            this.port = port;
            this.queueFrames = queueFrames;
        }

        @Override
        public MemoryPort port()
        {
            return port;
        }

        @Override
        public Map<String, Object> status()
        {
            final Map<String, Object> status = new LinkedHashMap<>();
            status.put("queueFrames", queueFrames);
            status.put("pendingReceive", port.pendingReceive());
            return status;
        }

        @Override
        public void close()
        {
            Frame frame;
            while ((frame = port.poll()) != null)
            {
                frame.release();
            }
            final Frame[] burst = new Frame[64];
            int count;
            while ((count = port.receive(burst, burst.length)) > 0)
            {
                for (int i = 0; i < count; i++)
                {
                    burst[i].release();
                }
            }
        }
    }
}
