package io.vsnic.orchestrator.api;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.SSLPeerUnverifiedException;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.vsnic.orchestrator.daemon.Daemon;
import io.vsnic.orchestrator.model.ResourceException;

/**
 * The REST API server: Netty HTTP/1.1 on one NIO event loop ({@code HttpServerCodec} +
 * {@code HttpObjectAggregator} with a {@value #MAX_BODY_BYTES}-byte body limit, answered with a JSON
 * 413; {@code PUT /v1/networks/NAME/routes} on a device outside a cluster may send up to
 * {@value #MAX_ROUTES_BODY_BYTES} bytes). Reads are answered on the event loop; writes are handed to the single control thread
 * ({@code vsnic-control}), which serialises them and waits for the journal (or, in cluster mode, for
 * the head), so a write never stalls reads or metrics scrapes. Reads with {@code ?consistent=true} wait
 * for the head too and run on the control thread as well.
 */
public final class ApiServer implements AutoCloseable
{
    private static final System.Logger LOG = System.getLogger(ApiServer.class.getName());
    /** Largest request body accepted (1 MiB), but for {@link #MAX_ROUTES_BODY_BYTES}. */
    public static final int MAX_BODY_BYTES = 1 << 20;
    /**
     * Largest body of {@code PUT /v1/networks/NAME/routes} on a device outside a cluster (128 MiB: about two
     * million routes), so that an Internet-sized table can be loaded in one request. In a cluster every
     * change is one Raft log entry replicated to every member, and {@link #MAX_BODY_BYTES} holds there too.
     */
    public static final int MAX_ROUTES_BODY_BYTES = 128 << 20;

    /** Requests that may block (long polls, captures) at once; more are answered 503 {@code busy}. */
    public static final int MAX_STREAMS = 8;

    private final Daemon daemon;
    private final ApiRoutes routes;
    private final ApiAuth auth;
    private final ExecutorService control = Executors.newSingleThreadExecutor(r -> new Thread(r, "vsnic-control"));
    private final ThreadPoolExecutor streams = new ThreadPoolExecutor(0, MAX_STREAMS, 30, TimeUnit.SECONDS,
        new SynchronousQueue<>(), r -> {
            final Thread thread = new Thread(r, "vsnic-api-stream");
            thread.setDaemon(true);
            return thread;
        });
    private EventLoopGroup group;
    private Channel channel;

    /**
     * @param daemon the daemon whose state the API serves.
     */
    public ApiServer(final Daemon daemon)
    {
        this(daemon, ApiAuth.none());
    }

    /**
     * @param daemon the daemon whose state the API serves.
     * @param auth   how requests are authenticated (and whether the API serves TLS).
     */
    public ApiServer(final Daemon daemon, final ApiAuth auth)
    {
        this.daemon = daemon;
        this.routes = new ApiRoutes(daemon);
        this.auth = auth;
    }

    /**
     * Binds the listening socket.
     *
     * @throws IOException when the address is taken or not local.
     */
    public void start(final InetSocketAddress address) throws IOException
    {
        group = new MultiThreadIoEventLoopGroup(1, (java.util.concurrent.ThreadFactory)r -> new Thread(r, "vsnic-api"),
            NioIoHandler.newFactory());
        final ServerBootstrap bootstrap = new ServerBootstrap()
            .group(group)
            .channel(NioServerSocketChannel.class)
            .childOption(ChannelOption.TCP_NODELAY, true)
            .childHandler(new ChannelInitializer<SocketChannel>()
            {
                @Override
                protected void initChannel(final SocketChannel ch)
                {
                    final ChannelPipeline pipeline = ch.pipeline();
                    if (auth.ssl() != null)
                    {
                        pipeline.addLast(auth.ssl().newHandler(ch.alloc()));
                        pipeline.addLast(new HandshakeCounter());
                    }
                    pipeline.addLast(new HttpServerCodec());
                    pipeline.addLast(new BodyLimit());
                    pipeline.addLast(new Handler());
                }
            });
        try
        {
            channel = bootstrap.bind(address).syncUninterruptibly().channel();
        }
        catch (final Exception ex)
        {
            close();
            throw new IOException(ex.getMessage() == null ? ex.toString() : ex.getMessage(), ex);
        }
    }

    /**
     * @return the bound address.
     */
    public InetSocketAddress address()
    {
        return (InetSocketAddress)channel.localAddress();
    }

    @Override
    public void close()
    {
        if (channel != null)
        {
            channel.close().syncUninterruptibly();
            channel = null;
        }
        control.shutdown();
        streams.shutdown();
        try
        {
            control.awaitTermination(3, TimeUnit.SECONDS);
            streams.awaitTermination(3, TimeUnit.SECONDS);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
        if (group != null)
        {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(3, TimeUnit.SECONDS);
            group = null;
        }
    }

    /**
     * The body limit of a request: {@link #MAX_ROUTES_BODY_BYTES} for {@code PUT /v1/networks/NAME/routes} on a
     * device outside a cluster, {@link #MAX_BODY_BYTES} for everything else.
     */
    private int bodyLimit(final HttpMessage message)
    {
        if (message instanceof HttpRequest request && request.method().equals(HttpMethod.PUT) && daemon.cluster() == null)
        {
            final String[] path = new QueryStringDecoder(request.uri()).rawPath().split("/");
            // "", "v1", "networks", NAME, "routes"
            if (path.length == 5 && path[0].isEmpty() && path[1].equals("v1") && path[2].equals("networks") &&
                !path[3].isEmpty() && path[4].equals("routes"))
            {
                return MAX_ROUTES_BODY_BYTES;
            }
        }
        return MAX_BODY_BYTES;
    }

    private static ApiResponse tooLarge(final int limit)
    {
        return ApiResponse.error(413, "payload_too_large", "the request body is larger than " + limit + " bytes", null,
            Map.of());
    }

    /** Pieces (reads) of a body kept apart before Netty merges them: 128 MiB in reads of 2 KiB. */
    private static final int MAX_BODY_PIECES = 1 << 16;

    /**
     * The aggregator, answering an oversized body with the API's JSON error. It aggregates up to the largest
     * limit; a declared {@code Content-Length} is checked against the request's own limit before the body is
     * read, and a chunked body against it once aggregated ({@link Handler}).
     */
    private final class BodyLimit extends HttpObjectAggregator
    {
        BodyLimit()
        {
            super(MAX_ROUTES_BODY_BYTES);
            // Netty merges the body's pieces into one new buffer every 1,024 pieces by default: a 67 MB routes
            // body (about 4,000 reads) was copied whole several times, into freshly zeroed direct memory (1.2 s
            // of a million-route PUT). The body is copied out once anyway (ApiRequest), so keep the pieces.
            setMaxCumulationBufferComponents(MAX_BODY_PIECES);
        }

        @Override
        protected boolean isContentLengthInvalid(final HttpMessage start, final int maxContentLength)
        {
            return super.isContentLengthInvalid(start, Math.min(maxContentLength, bodyLimit(start)));
        }

        @Override
        protected void handleOversizedMessage(final ChannelHandlerContext ctx, final HttpMessage oversized)
        {
            final ApiResponse response = tooLarge(bodyLimit(oversized));
            // Closing at once with the client's body still arriving makes the kernel answer with a reset, which can
            // destroy the 413 before the client reads it. So: the answer, then FIN; the rest of the body is still
            // read (the aggregator discards it) until the client closes, or 5 s at most.
            ctx.writeAndFlush(toNetty(response, false)).addListener(future ->
            {
                if (future.isSuccess() && ctx.channel() instanceof io.netty.channel.socket.DuplexChannel duplex)
                {
                    duplex.shutdownOutput();
                    ctx.executor().schedule(() -> ctx.close(), 5, java.util.concurrent.TimeUnit.SECONDS);
                }
                else
                {
                    ctx.close();
                }
            });
        }
    }

    private final class Handler extends SimpleChannelInboundHandler<FullHttpRequest>
    {
        @Override
        protected void channelRead0(final ChannelHandlerContext ctx, final FullHttpRequest request)
        {
            final boolean keepAlive = HttpUtil.isKeepAlive(request);
            final DecoderResult result = request.decoderResult();
            if (!result.isSuccess())
            {
                send(ctx, ApiResponse.error(400, "bad_request", "malformed HTTP request: " + result.cause(), null, Map.of()), false);
                return;
            }
            final ApiAuth.Failure refused = auth.check(request.headers().get(HttpHeaderNames.AUTHORIZATION), hasClientCertificate(ctx));
            if (refused != null)
            {
                send(ctx, unauthorized(refused), keepAlive);
                return;
            }
            final int limit = bodyLimit(request);
            if (request.content().readableBytes() > limit)
            {
                // a chunked body (no Content-Length) above its request's limit, aggregated under the largest one
                send(ctx, tooLarge(limit), false);
                return;
            }
            final ApiRequest apiRequest = toApi(request);
            if (apiRequest == null)
            {
                send(ctx, ApiResponse.error(400, "bad_request", "malformed request URI", null, Map.of()), keepAlive);
                return;
            }
            if (apiRequest.method().equals("GET") && isCapture(apiRequest))
            {
                final ApiRoutes.CaptureRequest plan;
                try
                {
                    plan = routes.captureRequest(apiRequest);
                }
                catch (final ResourceException ex)
                {
                    send(ctx, ApiResponse.error(ex), keepAlive);
                    return;
                }
                stream(ctx, () -> CaptureStream.run(ctx, daemon, plan));
                return;
            }
            if (apiRequest.method().equals("GET") && apiRequest.path().equals(FLOWS))
            {
                stream(ctx, () -> send(ctx, routes.handle(apiRequest), keepAlive));
                return;
            }
            if (!apiRequest.isWrite() && apiRequest.param("consistent") == null)
            {
                send(ctx, routes.handle(apiRequest), keepAlive);
                return;
            }
            try
            {
                control.execute(() -> send(ctx, routes.handle(apiRequest), keepAlive));
            }
            catch (final RejectedExecutionException ex)
            {
                send(ctx, ApiResponse.error(503, "shutting_down", "the daemon is stopping", null, Map.of()), false);
            }
        }

        @Override
        public void exceptionCaught(final ChannelHandlerContext ctx, final Throwable cause)
        {
            for (Throwable t = cause; t != null; t = t.getCause())
            {
                if (t instanceof OutOfMemoryError && ctx.channel().isActive())
                {
                    // a body too large for this heap, while it was read: say so instead of just hanging up
                    LOG.log(Level.ERROR, "api: out of memory reading a request from " + ctx.channel().remoteAddress() + ": " + t);
                    send(ctx, ApiResponse.error(ResourceException.insufficientMemory("reading this request")), false);
                    return;
                }
            }
            LOG.log(Level.DEBUG, "api connection error: " + cause);
            ctx.close();
        }
    }

    private static final List<String> FLOWS = List.of("v1", "flows");

    private static boolean isCapture(final ApiRequest request)
    {
        final List<String> p = request.path();
        return p.size() == 4 && p.get(0).equals("v1") && p.get(1).equals("vnics") && p.get(3).equals("capture");
    }

    /** Runs a request that may block on a stream thread; 503 {@code busy} when all {@value #MAX_STREAMS} are taken. */
    private void stream(final ChannelHandlerContext ctx, final Runnable task)
    {
        try
        {
            streams.execute(task);
        }
        catch (final RejectedExecutionException ex)
        {
            send(ctx, ApiResponse.error(503, "busy", "too many long polls and captures at once (" + MAX_STREAMS + ")", null,
                Map.of()), false);
        }
    }

    /** Counts failed TLS handshakes (a client certificate from another CA, plain HTTP on the TLS port, ...). */
    private final class HandshakeCounter extends ChannelInboundHandlerAdapter
    {
        @Override
        public void userEventTriggered(final ChannelHandlerContext ctx, final Object event) throws Exception
        {
            if (event instanceof SslHandshakeCompletionEvent done && !done.isSuccess())
            {
                auth.count(ApiAuth.Failure.tls_handshake);
                LOG.log(Level.DEBUG, "api: TLS handshake with " + ctx.channel().remoteAddress() + " failed: " + done.cause());
            }
            super.userEventTriggered(ctx, event);
        }
    }

    private static boolean hasClientCertificate(final ChannelHandlerContext ctx)
    {
        final SslHandler ssl = ctx.pipeline().get(SslHandler.class);
        if (ssl == null)
        {
            return false;
        }
        try
        {
            return ssl.engine().getSession().getPeerCertificates().length > 0;
        }
        catch (final SSLPeerUnverifiedException ex)
        {
            return false;
        }
    }

    private ApiResponse unauthorized(final ApiAuth.Failure failure)
    {
        final String message = switch (failure)
        {
            case missing_token -> "this API needs a bearer token: Authorization: Bearer TOKEN (STATE_DIR/" + ApiAuth.TOKEN_FILE + ")";
            case invalid_token -> "the bearer token is not valid";
            case missing_client_certificate -> "this API needs a TLS client certificate issued by its client CA (vsnic certs issue NAME)";
            case tls_handshake -> "TLS handshake failed";
        };
        return ApiResponse.error(401, "unauthorized", message, null,
            auth.mode() == ApiAuth.Mode.token ? Map.of("WWW-Authenticate", "Bearer realm=\"vsnic\"") : Map.of());
    }

    private static ApiRequest toApi(final FullHttpRequest request)
    {
        try
        {
            final QueryStringDecoder decoder = new QueryStringDecoder(request.uri(), StandardCharsets.UTF_8);
            final List<String> segments = new ArrayList<>();
            for (final String raw : decoder.rawPath().split("/"))
            {
                if (!raw.isEmpty())
                {
                    segments.add(URLDecoder.decode(raw.replace("+", "%2B"), StandardCharsets.UTF_8));
                }
            }
            return new ApiRequest(request.method().name(), List.copyOf(segments), decoder.parameters(),
                request.headers().get(HttpHeaderNames.IF_MATCH), request.headers().get(HttpHeaderNames.CONTENT_TYPE),
                request.headers().get("Prefer"), ByteBufUtil.getBytes(request.content()));
        }
        catch (final IllegalArgumentException ex)
        {
            return null;
        }
    }

    static void send(final ChannelHandlerContext ctx, final ApiResponse response, final boolean keepAlive)
    {
        ctx.writeAndFlush(toNetty(response, keepAlive)).addListener(keepAlive ? ChannelFutureListener.CLOSE_ON_FAILURE :
            ChannelFutureListener.CLOSE);
    }

    private static FullHttpResponse toNetty(final ApiResponse response, final boolean keepAlive)
    {
        final FullHttpResponse netty = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
            HttpResponseStatus.valueOf(response.status()), Unpooled.wrappedBuffer(response.body()));
        if (response.contentType() != null)
        {
            netty.headers().set(HttpHeaderNames.CONTENT_TYPE, response.contentType());
        }
        netty.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, response.body().length);
        response.headers().forEach((name, value) -> netty.headers().set(name, value));
        if (!keepAlive)
        {
            netty.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        }
        return netty;
    }
}
