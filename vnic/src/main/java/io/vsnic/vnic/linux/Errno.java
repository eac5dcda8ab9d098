package io.vsnic.vnic.linux;

/**
 * Linux errno values (x86-64 and aarch64 share them) that the vNIC endpoints meet, with their
 * symbolic names, so that an error message says {@code EBUSY} rather than {@code 16}.
 */
public final class Errno
{
    public static final int EPERM = 1;
    public static final int ENOENT = 2;
    public static final int EINTR = 4;
    public static final int EIO = 5;
    public static final int ENXIO = 6;
    public static final int EBADF = 9;
    public static final int EAGAIN = 11;
    public static final int ENOMEM = 12;
    public static final int EACCES = 13;
    public static final int EFAULT = 14;
    public static final int EBUSY = 16;
    public static final int EEXIST = 17;
    public static final int ENODEV = 19;
    public static final int EINVAL = 22;
    public static final int ENFILE = 23;
    public static final int EMFILE = 24;
    public static final int ENOTTY = 25;
    public static final int ENOSPC = 28;
    public static final int EPIPE = 32;
    public static final int ENAMETOOLONG = 36;
    public static final int ENOSYS = 38;
    public static final int EBADFD = 77;
    public static final int ENOTSOCK = 88;
    public static final int EDESTADDRREQ = 89;
    public static final int EMSGSIZE = 90;
    public static final int EPROTOTYPE = 91;
    public static final int EAFNOSUPPORT = 97;
    public static final int EADDRINUSE = 98;
    public static final int EADDRNOTAVAIL = 99;
    public static final int ENETDOWN = 100;
    public static final int ECONNRESET = 104;
    public static final int ENOBUFS = 105;
    public static final int ENOTCONN = 107;
    public static final int ETIMEDOUT = 110;
    public static final int ECONNREFUSED = 111;

    private static final String[] NAMES = new String[128];

    static
    {
        name(EPERM, "EPERM");
        name(ENOENT, "ENOENT");
        name(EINTR, "EINTR");
        name(EIO, "EIO");
        name(ENXIO, "ENXIO");
        name(EBADF, "EBADF");
        name(EAGAIN, "EAGAIN");
        name(ENOMEM, "ENOMEM");
        name(EACCES, "EACCES");
        name(EFAULT, "EFAULT");
        name(EBUSY, "EBUSY");
        name(EEXIST, "EEXIST");
        name(ENODEV, "ENODEV");
        name(EINVAL, "EINVAL");
        name(ENFILE, "ENFILE");
        name(EMFILE, "EMFILE");
        name(ENOTTY, "ENOTTY");
        name(ENOSPC, "ENOSPC");
        name(EPIPE, "EPIPE");
        name(ENAMETOOLONG, "ENAMETOOLONG");
        name(ENOSYS, "ENOSYS");
        name(EBADFD, "EBADFD");
        name(ENOTSOCK, "ENOTSOCK");
        name(EDESTADDRREQ, "EDESTADDRREQ");
        name(EMSGSIZE, "EMSGSIZE");
        name(EPROTOTYPE, "EPROTOTYPE");
        name(EAFNOSUPPORT, "EAFNOSUPPORT");
        name(EADDRINUSE, "EADDRINUSE");
        name(EADDRNOTAVAIL, "EADDRNOTAVAIL");
        name(ENETDOWN, "ENETDOWN");
        name(ECONNRESET, "ECONNRESET");
        name(ENOBUFS, "ENOBUFS");
        name(ENOTCONN, "ENOTCONN");
        name(ETIMEDOUT, "ETIMEDOUT");
        name(ECONNREFUSED, "ECONNREFUSED");
    }

    private Errno()
    {
    }

    private static void name(final int errno, final String name)
    {
        NAMES[errno] = name;
    }

    /**
     * @param errno an errno value (positive; a negated value is accepted too).
     * @return its symbolic name, or {@code "errno N"} for one this table does not know.
     */
    public static String name(final int errno)
    {
        final int value = Math.abs(errno);
        final String name = value < NAMES.length ? NAMES[value] : null;
        return name != null ? name : "errno " + value;
    }
}
