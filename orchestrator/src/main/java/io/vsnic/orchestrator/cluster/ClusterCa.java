package io.vsnic.orchestrator.cluster;

import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * The cluster's certificate authority (Bouncy Castle): an ECDSA P-256 CA made by
 * {@code vsnic cluster init}, and device certificates it issues (serverAuth and clientAuth, the
 * device name as CN and DNS name, its Raft host as IP address). Files in a device's
 * {@code STATE_DIR/cluster/}: {@code ca.crt}, {@code device.crt}, {@code device.key} (0600), and on the
 * device that made the CA {@code ca.key} (0600).
 */
public final class ClusterCa
{
    /** CA certificate file name. */
    public static final String CA_CERT = "ca.crt";
    /** CA private key file name (only on the device that made the CA). */
    public static final String CA_KEY = "ca.key";
    /** Device certificate file name. */
    public static final String DEVICE_CERT = "device.crt";
    /** Device private key file name. */
    public static final String DEVICE_KEY = "device.key";

    private static final SecureRandom RANDOM = new SecureRandom();
    private static final Duration CA_LIFETIME = Duration.ofDays(3650);
    private static final Duration DEVICE_LIFETIME = Duration.ofDays(825);

    private final PrivateKey key;
    private final X509Certificate certificate;

    private ClusterCa(final PrivateKey key, final X509Certificate certificate)
    {
        this.key = key;
        this.certificate = certificate;
    }

    /**
     * Makes a new CA and writes {@code ca.key} (0600) and {@code ca.crt} into a directory.
     *
     * @throws IOException when the directory already holds a CA, or cannot be written.
     */
    public static ClusterCa create(final Path directory, final String clusterName) throws IOException, GeneralSecurityException
    {
        return createNamed(directory, "vsnic cluster " + clusterName + " CA");
    }

    /**
     * Makes a new CA with a common name and writes {@code ca.key} (0600) and {@code ca.crt} into a directory
     * (also used for the API's device CA, {@code vsnic certs init}).
     *
     * @throws IOException when the directory already holds a CA, or cannot be written.
     */
    public static ClusterCa createNamed(final Path directory, final String commonName) throws IOException, GeneralSecurityException
    {
        if (Files.exists(directory.resolve(CA_KEY)) || Files.exists(directory.resolve(CA_CERT)))
        {
            throw new IOException(directory + " already holds a cluster CA");
        }
        Files.createDirectories(directory);
        final KeyPair pair = keyPair();
        final X500Name name = new X500Name(new org.bouncycastle.asn1.x500.X500NameBuilder()
            .addRDN(org.bouncycastle.asn1.x500.style.BCStyle.CN, commonName).build().toString());
        final Instant now = Instant.now();
        try
        {
            final JcaX509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(name, serial(), Date.from(now.minusSeconds(60)),
                Date.from(now.plus(CA_LIFETIME)), name, pair.getPublic());
            final JcaX509ExtensionUtils utils = new JcaX509ExtensionUtils();
            builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
            builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
            builder.addExtension(Extension.subjectKeyIdentifier, false, utils.createSubjectKeyIdentifier(pair.getPublic()));
            final X509Certificate certificate = convert(builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(pair.getPrivate())));
            writeSecret(directory.resolve(CA_KEY), pem(pair.getPrivate()));
            write(directory.resolve(CA_CERT), pem(certificate));
            return new ClusterCa(pair.getPrivate(), certificate);
        }
        catch (final OperatorCreationException ex)
        {
            throw new GeneralSecurityException(ex);
        }
    }

    /**
     * Loads the CA from a directory that holds {@code ca.key} and {@code ca.crt}.
     */
    public static ClusterCa load(final Path directory) throws IOException, GeneralSecurityException
    {
        if (!Files.exists(directory.resolve(CA_KEY)))
        {
            throw new IOException(directory.resolve(CA_KEY) + " does not exist: only the device that ran `vsnic cluster init` holds the CA key");
        }
        return new ClusterCa(readKey(directory.resolve(CA_KEY)), readCertificate(directory.resolve(CA_CERT)));
    }

    public X509Certificate certificate()
    {
        return certificate;
    }

    /**
     * Issues a device certificate for a public key.
     *
     * @param device the device name (CN and DNS name).
     * @param hosts  IP literals or DNS names the device's Raft address uses.
     */
    public X509Certificate issue(final String device, final PublicKey publicKey, final List<String> hosts)
        throws GeneralSecurityException, IOException
    {
        final Instant now = Instant.now();
        final JcaX509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(certificate, serial(),
            Date.from(now.minusSeconds(60)), Date.from(now.plus(DEVICE_LIFETIME)), new X500Name("CN=" + device), publicKey);
        final JcaX509ExtensionUtils utils = new JcaX509ExtensionUtils();
        builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
        builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyAgreement));
        builder.addExtension(Extension.extendedKeyUsage, false,
            new ExtendedKeyUsage(new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}));
        builder.addExtension(Extension.authorityKeyIdentifier, false, utils.createAuthorityKeyIdentifier(certificate));
        final List<GeneralName> names = new ArrayList<>();
        names.add(new GeneralName(GeneralName.dNSName, device));
        names.add(new GeneralName(GeneralName.dNSName, "localhost"));
        names.add(new GeneralName(GeneralName.iPAddress, "127.0.0.1"));
        for (final String host : hosts)
        {
            final boolean literal = host.indexOf(':') >= 0 || host.chars().allMatch(c -> c == '.' || Character.isDigit(c));
            if (literal)
            {
                names.add(new GeneralName(GeneralName.iPAddress, InetAddress.getByName(host).getHostAddress()));
            }
            else
            {
                names.add(new GeneralName(GeneralName.dNSName, host));
            }
        }
        builder.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(names.toArray(GeneralName[]::new)));
        try
        {
            return convert(builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(key)));
        }
        catch (final OperatorCreationException ex)
        {
            throw new GeneralSecurityException(ex);
        }
    }

    /**
     * Makes a device key pair, has it certified by this CA and writes {@code device.key} (0600),
     * {@code device.crt} and {@code ca.crt} into a device's cluster directory.
     */
    public void issueInto(final Path directory, final String device, final List<String> hosts)
        throws IOException, GeneralSecurityException
    {
        final KeyPair pair = keyPair();
        final X509Certificate cert = issue(device, pair.getPublic(), hosts);
        Files.createDirectories(directory);
        writeSecret(directory.resolve(DEVICE_KEY), pem(pair.getPrivate()));
        write(directory.resolve(DEVICE_CERT), pem(cert));
        if (!Files.exists(directory.resolve(CA_CERT)))
        {
            write(directory.resolve(CA_CERT), pem(certificate));
        }
    }

    /**
     * @return a new ECDSA P-256 key pair.
     */
    public static KeyPair keyPair() throws GeneralSecurityException
    {
        final KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
        generator.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
        return generator.generateKeyPair();
    }

    private static BigInteger serial()
    {
        return new BigInteger(63, RANDOM).add(BigInteger.ONE);
    }

    private static X509Certificate convert(final X509CertificateHolder holder) throws GeneralSecurityException
    {
        return new JcaX509CertificateConverter().getCertificate(holder);
    }

    /**
     * @return an object (key or certificate) as PEM text.
     */
    public static String pem(final Object object) throws IOException
    {
        final StringWriter text = new StringWriter();
        try (JcaPEMWriter writer = new JcaPEMWriter(text))
        {
            if (object instanceof PrivateKey key)
            {
                // PKCS#8 ("PRIVATE KEY"): OpenSSL, the JDK and gRPC's Netty read it
                writer.writeObject(new JcaPKCS8Generator(key, null));
            }
            else
            {
                writer.writeObject(object);
            }
        }
        return text.toString();
    }

    /**
     * @return the certificate in a PEM file.
     */
    public static X509Certificate readCertificate(final Path file) throws IOException, GeneralSecurityException
    {
        return parseCertificate(Files.readString(file));
    }

    /**
     * @return the certificate in PEM text (alias of {@link #parseCertificate}).
     */
    public static X509Certificate readCertificateText(final String pem) throws IOException, GeneralSecurityException
    {
        return parseCertificate(pem);
    }

    /**
     * Stores a joining device's identity: {@code device.key} (0600), {@code device.crt}, {@code ca.crt}.
     */
    public static void store(final Path directory, final PrivateKey key, final String certificatePem, final String caPem)
        throws IOException
    {
        Files.createDirectories(directory);
        writeSecret(directory.resolve(DEVICE_KEY), pem(key));
        write(directory.resolve(DEVICE_CERT), certificatePem);
        write(directory.resolve(CA_CERT), caPem);
    }

    /**
     * @return the certificate in PEM text.
     */
    public static X509Certificate parseCertificate(final String pem) throws IOException, GeneralSecurityException
    {
        try (PEMParser parser = new PEMParser(new StringReader(pem)))
        {
            final Object object = parser.readObject();
            if (!(object instanceof X509CertificateHolder holder))
            {
                throw new IOException("not a PEM certificate");
            }
            return convert(holder);
        }
    }

    /**
     * @return the public key in PEM text ("PUBLIC KEY", SubjectPublicKeyInfo).
     */
    public static PublicKey parsePublicKey(final String pem) throws IOException
    {
        try (PEMParser parser = new PEMParser(new StringReader(pem)))
        {
            final Object object = parser.readObject();
            if (!(object instanceof org.bouncycastle.asn1.x509.SubjectPublicKeyInfo info))
            {
                throw new IOException("not a PEM public key");
            }
            return new JcaPEMKeyConverter().getPublicKey(info);
        }
    }

    /**
     * @return the private key in a PEM file (PKCS#8 or an OpenSSL key pair).
     */
    public static PrivateKey readKey(final Path file) throws IOException
    {
        try (PEMParser parser = new PEMParser(new StringReader(Files.readString(file))))
        {
            final Object object = parser.readObject();
            final JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
            if (object instanceof PEMKeyPair pair)
            {
                return converter.getPrivateKey(pair.getPrivateKeyInfo());
            }
            if (object instanceof PrivateKeyInfo info)
            {
                return converter.getPrivateKey(info);
            }
            throw new IOException(file + " does not hold a PEM private key");
        }
    }

    /** Writes a file atomically (through a temporary file). */
    public static void write(final Path file, final String text) throws IOException
    {
        final Path temp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(temp, text, StandardCharsets.US_ASCII);
        Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    /**
     * Writes a file readable by its owner only (0600 from its creation), atomically and durably: the
     * content is on disk (fsync) before it replaces the old file.
     */
    public static void writeSecret(final Path file, final String text) throws IOException
    {
        final Path temp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.deleteIfExists(temp);
        Files.createFile(temp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        try (java.nio.channels.FileChannel channel = java.nio.channels.FileChannel.open(temp, java.nio.file.StandardOpenOption.WRITE))
        {
            final java.nio.ByteBuffer bytes = java.nio.ByteBuffer.wrap(text.getBytes(StandardCharsets.US_ASCII));
            while (bytes.hasRemaining())
            {
                channel.write(bytes);
            }
            channel.force(true);
        }
        Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }
}
