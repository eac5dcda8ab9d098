package io.vsnic.orchestrator.api;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.System.Logger.Level;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.vsnic.dataplane.capture.PcapWriter;
import io.vsnic.dataplane.capture.PortCapture;
import io.vsnic.orchestrator.daemon.Daemon;

/**
 * {@code GET /v1/vnics/{id}/capture}: captures a vNIC's port ({@link PortCapture}: both directions,
 * copied by the workers into bounded rings) and streams a pcap (Ethernet link type) as a chunked
 * HTTP response until {@code count} frames were written, {@code seconds} passed, the client went
 * away or the daemon stops. Runs on one of the API's stream threads (it blocks on the socket:
 * a slow client slows the pcap, and a full capture ring then drops copies, counted in
 * {@code vsnic_capture_dropped_total}, never the data plane).
 */
final class CaptureStream
{
    private static final System.Logger LOG = System.getLogger(CaptureStream.class.getName());
    /** Frames each worker's capture ring holds. */
    static final int RING_SLOTS = 1024;
    /** Media type of the body. */
    static final String PCAP = "application/vnd.tcpdump.pcap";
    private static final long WRITE_TIMEOUT_S = 10;

    private CaptureStream()
    {
    }

    static void run(final ChannelHandlerContext ctx, final Daemon daemon, final ApiRoutes.CaptureRequest plan)
    {
        final PortCapture capture;
        try
        {
            capture = daemon.dataPlane().startCapture(plan.port(), RING_SLOTS, plan.snapBytes());
        }
        catch (final IllegalStateException ex)
        {
            ApiServer.send(ctx, ApiResponse.error(409, "capture_busy", ex.getMessage(), null, Map.of()), false);
            return;
        }
        final long startNs = System.nanoTime();
        final long epochOffsetNs = System.currentTimeMillis() * 1_000_000L - startNs;
        final long deadlineNs = plan.seconds() == 0 ? Long.MAX_VALUE : startNs + TimeUnit.SECONDS.toNanos(plan.seconds());
        final ChunkOutput out = new ChunkOutput(ctx);
        final long[] written = {0};
        try
        {
            final HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
            head.headers().set(HttpHeaderNames.CONTENT_TYPE, PCAP);
            head.headers().set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
            head.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            ctx.writeAndFlush(head);
            final PcapWriter pcap = new PcapWriter(out);
            pcap.flush();
            final PortCapture.Sink sink = (timestampNs, direction, data, offset, captured, original) -> {
                try
                {
                    pcap.write(timestampNs + epochOffsetNs, data, offset, captured, original);
                }
                catch (final IOException ex)
                {
                    throw new java.io.UncheckedIOException(ex);
                }
                written[0]++;
                return plan.count() == 0 || written[0] < plan.count();
            };
            while (ctx.channel().isActive() && !daemon.closing())
            {
                final int n = capture.drain(sink);
                if (n > 0)
                {
                    pcap.flush();
                }
                if (out.failed() || (plan.count() > 0 && written[0] >= plan.count()) || System.nanoTime() - deadlineNs >= 0)
                {
                    break;
                }
                if (n == 0)
                {
                    Thread.sleep(5);
                }
            }
            pcap.flush();
        }
        catch (final IOException | java.io.UncheckedIOException ex)
        {
            LOG.log(Level.DEBUG, "capture of " + plan.vnic() + ": the client went away: " + ex);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
        finally
        {
            daemon.dataPlane().stopCapture(capture);
            daemon.countCapture(written[0], capture.dropped());
            ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT).addListener(ChannelFutureListener.CLOSE);
        }
    }

    /** Buffers what the pcap writer writes and sends it as one HTTP chunk per flush, waiting for the socket. */
    private static final class ChunkOutput extends OutputStream
    {
        private final ChannelHandlerContext ctx;
        private final ByteArrayOutputStream buffer = new ByteArrayOutputStream(64 * 1024);
        private boolean failed;

        ChunkOutput(final ChannelHandlerContext ctx)
        {
            this.ctx = ctx;
        }

        @Override
        public void write(final int b)
        {
            buffer.write(b);
        }

        @Override
        public void write(final byte[] b, final int off, final int len)
        {
            buffer.write(b, off, len);
        }

        @Override
        public void flush() throws IOException
        {
            if (buffer.size() == 0)
            {
                return;
            }
            final ChannelFuture future = ctx.writeAndFlush(new DefaultHttpContent(Unpooled.wrappedBuffer(buffer.toByteArray())));
            buffer.reset();
            if (!future.awaitUninterruptibly(WRITE_TIMEOUT_S, TimeUnit.SECONDS) || !future.isSuccess())
            {
                failed = true;
                throw new IOException("cannot write to the client: " + (future.cause() == null ? "timeout" : future.cause()));
            }
        }

        boolean failed()
        {
            return failed;
        }
    }
}
