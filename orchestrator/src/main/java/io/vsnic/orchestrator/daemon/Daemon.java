package io.vsnic.orchestrator.daemon;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;

import io.vsnic.dataplane.pipeline.DataPlane;
import io.vsnic.dataplane.pipeline.MemoryPort;
import io.vsnic.dataplane.substrate.UdpSubstrate;
import io.vsnic.orchestrator.api.ApiServer;
import io.vsnic.orchestrator.journal.Journal;
import io.vsnic.orchestrator.model.ResourceException;

/**
 * vsnicd: one device's daemon. {@link #start} takes the state directory's lock, reads the journal,
 * starts the data plane and the substrate, replays the desired state into them, starts a fresh
 * journal generation with its snapshot, then opens the REST API. {@link #close} undoes it in
 * reverse order and is safe to call twice (the shutdown hook and the caller may both call it).
 */
public final class Daemon implements AutoCloseable
{
    private static final System.Logger LOG = System.getLogger(Daemon.class.getName());

    private final DeviceConfig config;
    private final Path stateDirectory;
    private final long startedMs = System.currentTimeMillis();
    private final CountDownLatch closed = new CountDownLatch(1);
    private FileChannel lockChannel;
    private FileLock lock;
    private Journal journal;
    private Journal.Replay replay;
    private DataPlane dataPlane;
    private UdpSubstrate substrate;
    private DeviceController controller;
    private ApiServer api;
    private boolean closing;
    private java.io.PrintStream keyLogStream;

    private Daemon(final DeviceConfig config, final Path stateDirectory)
    {
        this.config = config;
        this.stateDirectory = stateDirectory;
    }

    /**
     * Starts a daemon.
     *
     * @throws StartException with a message for the operator when it cannot start (nothing is left running).
     */
    public static Daemon start(final DeviceConfig config, final Path stateDirectory) throws StartException
    {
        return start(config, stateDirectory, VnicBackends.defaults());
    }

    /**
     * Starts a daemon with a given set of vNIC backends.
     *
     * @throws StartException with a message for the operator when it cannot start (nothing is left running).
     */
    public static Daemon start(final DeviceConfig config, final Path stateDirectory, final VnicBackends backends)
        throws StartException
    {
        final Daemon daemon = new Daemon(config, stateDirectory);
        try
        {
            daemon.run(backends);
            return daemon;
        }
        catch (final StartException ex)
        {
            daemon.close();
            throw ex;
        }
        catch (final IOException | RuntimeException ex)
        {
            daemon.close();
            throw new StartException(ex.getMessage() == null ? ex.toString() : ex.getMessage(), ex);
        }
    }

    /**
     * Opens the WireGuard key log named by the configuration (mode 0600, appended to), with a loud warning.
     *
     * @return the writer, or null when none is configured.
     */
    private io.vsnic.crypto.wireguard.KeyLog.Writer openKeyLog() throws StartException
    {
        final DeviceConfig.Wireguard w = config.substrate().wireguard();
        if (w == null || w.keylog() == null)
        {
            return null;
        }
        final Path file = Path.of(w.keylog());
        try
        {
            if (!Files.exists(file))
            {
                Files.createFile(file, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                    java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")));
            }
            Files.setPosixFilePermissions(file, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
            keyLogStream = new java.io.PrintStream(Files.newOutputStream(file, StandardOpenOption.APPEND), true,
                java.nio.charset.StandardCharsets.US_ASCII);
        }
        catch (final IOException ex)
        {
            throw new StartException("cannot open the WireGuard key log " + file + ": " + ex.getMessage(), ex);
        }
        LOG.log(Level.WARNING, "*************************************************************************************");
        LOG.log(Level.WARNING, "WireGuard KEY LOG is ON: every session key of this device is written to " + file);
        LOG.log(Level.WARNING, "whoever can read it can decrypt all substrate traffic; use for debugging only");
        LOG.log(Level.WARNING, "*************************************************************************************");
        return new io.vsnic.crypto.wireguard.KeyLog.Writer(keyLogStream);
    }

    private void run(final VnicBackends backends) throws IOException, StartException
    {
        Files.createDirectories(stateDirectory);
        lockChannel = FileChannel.open(stateDirectory.resolve("lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        try
        {
            lock = lockChannel.tryLock();
        }
        catch (final OverlappingFileLockException ex)
        {
            lock = null;
        }
        if (lock == null)
        {
            throw new StartException("state directory " + stateDirectory + " is in use by another vsnicd");
        }
        final List<Journal.Replay> replays = new ArrayList<>();
        journal = Journal.open(stateDirectory.resolve("journal"), replays);
        replay = replays.get(0);
        if (replay.corrupt())
        {
            LOG.log(Level.WARNING, "journal: corrupt or torn tail in generation " + replay.generation() + ": " +
                replay.corruption() + "; starting with every intact entry");
        }
        dataPlane = new DataPlane(config.dataPlaneConfig());
        if (config.substrate().enabled())
        {
            final UdpSubstrate.Config substrateConfig;
            try
            {
                substrateConfig = config.substrateConfig(openKeyLog());
            }
            catch (final ConfigException ex)
            {
                throw new StartException("substrate: " + ex.getMessage(), ex);
            }
            substrate = new UdpSubstrate(DeviceController.OVERLAY_PORT, dataPlane.pool(), dataPlane::state, substrateConfig);
            try
            {
                substrate.start();
            }
            catch (final IOException ex)
            {
                substrate = null;
                throw new StartException("substrate: " + ex.getMessage(), ex);
            }
            dataPlane.overlayPort(substrate);
            if (substrate.wireguardPublicKey() != null)
            {
                LOG.log(Level.INFO, "substrate: WireGuard on port " + substrate.wireguardPort() + ", public key " +
                    substrate.wireguardPublicKey() + ", inner address " + config.substrate().wireguard().innerAddress());
            }
        }
        dataPlane.start();
        controller = new DeviceController(config.device().name(), config.device().id(), journal,
            new Reconciler(dataPlane, backends, substrate != null && substrate.wireguardPublicKey() != null),
            config.journal().snapshotEvery());
        try
        {
            controller.recover(replay.entries(), replay.corrupt());
        }
        catch (final ResourceException ex)
        {
            throw new StartException("the journal's desired state is not valid for this build: " + ex.getMessage() +
                (ex.field() == null ? "" : " (" + ex.field() + ")"), ex);
        }
        controller.state().peers().values().stream().filter(peer -> "none".equals(peer.encryption())).forEach(peer ->
            LOG.log(Level.WARNING, "peer " + peer.name() + " (device " + peer.device() + ", " + peer.endpoint() +
                ") has encryption none: its overlay traffic crosses the substrate unencrypted and unauthenticated"));
        LOG.log(Level.INFO, "journal: replayed " + replay.entries().size() + " entries, revision " + controller.state().revision() +
            ", " + controller.state().vnics().size() + " vnics, " + controller.state().networks().size() + " networks");
        api = new ApiServer(this);
        try
        {
            api.start(config.apiAddress());
        }
        catch (final IOException ex)
        {
            api = null;
            throw new StartException("api: cannot listen on " + config.api().listen() + ": " + ex.getMessage(), ex);
        }
    }

    /**
     * @return the address the API listens on (the real port when configured as 0).
     */
    public InetSocketAddress apiAddress()
    {
        return api.address();
    }

    public DeviceConfig config()
    {
        return config;
    }

    public Path stateDirectory()
    {
        return stateDirectory;
    }

    public DeviceController controller()
    {
        return controller;
    }

    public DataPlane dataPlane()
    {
        return dataPlane;
    }

    /**
     * @return the substrate, or null when disabled.
     */
    public UdpSubstrate substrate()
    {
        return substrate;
    }

    public Journal journal()
    {
        return journal;
    }

    /**
     * @return what the journal replay found at start.
     */
    public Journal.Replay replay()
    {
        return replay;
    }

    public long startedMs()
    {
        return startedMs;
    }

    /**
     * @return the in-memory port of a memory vNIC (tests and embedding programs inject and poll frames through it).
     * @throws IllegalArgumentException when the vNIC is not attached or not a memory vNIC.
     */
    public MemoryPort memoryPort(final String vnicId)
    {
        final Reconciler.Attached attached = controller.reconciler().attached().get(vnicId);
        if (attached == null || !(attached.endpoint() instanceof MemoryVnicBackend.Endpoint endpoint))
        {
            throw new IllegalArgumentException("vnic " + vnicId + " is not an attached memory vNIC");
        }
        return endpoint.port();
    }

    /**
     * Blocks until {@link #close} has finished.
     */
    public void awaitClosed() throws InterruptedException
    {
        closed.await();
    }

    /**
     * Stops the API, detaches the vNICs, stops the data plane and the substrate, closes the journal
     * and releases the state directory.
     */
    @Override
    public void close()
    {
        synchronized (this)
        {
            if (closing)
            {
                return;
            }
            closing = true;
        }
        try
        {
            if (api != null)
            {
                api.close();
            }
            if (controller != null)
            {
                synchronized (controller)
                {
                    controller.reconciler().detachAll();
                }
            }
            if (substrate != null)
            {
                // before the data plane: the substrate releases its queued frames into the data plane's pool
                substrate.close();
            }
            if (dataPlane != null)
            {
                dataPlane.close();
            }
            if (journal != null)
            {
                journal.close();
            }
            if (keyLogStream != null)
            {
                keyLogStream.close();
            }
            if (lock != null)
            {
                lock.release();
            }
            if (lockChannel != null)
            {
                lockChannel.close();
            }
        }
        catch (final IOException | RuntimeException ex)
        {
            LOG.log(Level.WARNING, "error while stopping: " + ex, ex);
        }
        finally
        {
            closed.countDown();
        }
    }

    /** The daemon could not start; the message is for the operator. */
    public static final class StartException extends Exception
    {
        private static final long serialVersionUID = 1L;

        /**
         * @param message what went wrong.
         */
        public StartException(final String message)
        {
            super(message);
        }

        /**
         * @param message what went wrong.
         * @param cause   the underlying failure.
         */
        public StartException(final String message, final Throwable cause)
        {
            super(message, cause);
        }
    }
}
