package io.vsnic.orchestrator.cluster;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.cert.X509Certificate;
import java.util.List;

import org.apache.ratis.grpc.GrpcTlsConfig;

/**
 * The TLS settings of a device's Raft traffic: mutual TLS where both sides present a device
 * certificate issued by the cluster CA and trust only that CA, so a device without such a
 * certificate can neither join the Raft group nor talk to it.
 */
public final class ClusterTls
{
    private static final System.Logger LOG = System.getLogger(ClusterTls.class.getName());

    private ClusterTls()
    {
    }

    /**
     * @param directory the device's cluster directory ({@code STATE_DIR/cluster}).
     * @param device    the device name (its certificate's CN must match).
     * @param setting   {@code cluster.tls}: true requires the files, false turns TLS off, null uses them when present.
     * @return the TLS settings, or null for plaintext Raft.
     * @throws IOException when TLS is required and the files are missing or do not fit this device.
     */
    public static GrpcTlsConfig forDevice(final Path directory, final String device, final Boolean setting)
        throws IOException, GeneralSecurityException
    {
        final boolean present = Files.exists(directory.resolve(ClusterCa.DEVICE_CERT)) && Files.exists(directory.resolve(ClusterCa.DEVICE_KEY)) &&
            Files.exists(directory.resolve(ClusterCa.CA_CERT));
        if (Boolean.FALSE.equals(setting))
        {
            LOG.log(Level.WARNING, "cluster: Raft traffic is NOT encrypted (cluster.tls: false)");
            return null;
        }
        if (!present)
        {
            if (Boolean.TRUE.equals(setting))
            {
                throw new IOException("cluster.tls is true but " + directory + " has no ca.crt, device.crt and device.key " +
                    "(run `vsnic cluster init` or `vsnic cluster join` first)");
            }
            LOG.log(Level.WARNING, "cluster: no device certificate in " + directory + ": Raft traffic is NOT encrypted");
            return null;
        }
        final X509Certificate cert = ClusterCa.readCertificate(directory.resolve(ClusterCa.DEVICE_CERT));
        final X509Certificate ca = ClusterCa.readCertificate(directory.resolve(ClusterCa.CA_CERT));
        final String subject = cert.getSubjectX500Principal().getName();
        if (!subject.equals("CN=" + device))
        {
            throw new IOException(directory.resolve(ClusterCa.DEVICE_CERT) + " is for " + subject + ", not CN=" + device);
        }
        cert.checkValidity();
        cert.verify(ca.getPublicKey());
        return new GrpcTlsConfig(ClusterCa.readKey(directory.resolve(ClusterCa.DEVICE_KEY)), cert, List.of(ca), true);
    }
}
