// tapprobe: how much CPU a reader spends per frame taken from a TAP, one read(2) per frame against
// io_uring. Usage: tapprobe NAME read|uring|uring-nb SECONDS [DEPTH]; run by jmh-benchmarks/tap-uring-probe.sh.
// Creates TAP NAME (IFF_TAP|IFF_NO_PI), prints "ready" and waits for a line on stdin (so that the
// caller can move the device to a namespace and start a sender), then reads for SECONDS and prints
// frames per second, CPU microseconds per frame (this thread's user + system time) and frames per
// system call.
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <liburing.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static double cpu(void)
{
    struct rusage u;
    getrusage(RUSAGE_THREAD, &u);
    return u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 + u.ru_stime.tv_sec + u.ru_stime.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
    if (argc < 4)
    {
        fprintf(stderr, "usage: tapprobe NAME read|uring|uring-nb SECONDS [DEPTH]\n");
        return 2;
    }
    const int nb = strcmp(argv[2], "uring-nb") == 0;
    const int uring = strcmp(argv[2], "uring") == 0 || nb;
    const double seconds = atof(argv[3]);
    const int depth = argc > 4 ? atoi(argv[4]) : 32;
    const int fd = open("/dev/net/tun", O_RDWR | (uring && !nb ? 0 : O_NONBLOCK));
    if (fd < 0)
    {
        perror("open /dev/net/tun");
        return 1;
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    strncpy(ifr.ifr_name, argv[1], IFNAMSIZ - 1);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0)
    {
        perror("TUNSETIFF");
        return 1;
    }
    printf("ready\n");
    fflush(stdout);
    char line[16];
    if (!fgets(line, sizeof line, stdin))
    {
        return 1;
    }
    static char buffers[256][2048];
    long frames = 0, calls = 0, waits = 0;
    const double start = now(), cpu0 = cpu();
    if (!uring)
    {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        while (now() - start < seconds)
        {
            const ssize_t n = read(fd, buffers[0], sizeof buffers[0]);
            calls++;
            if (n > 0)
            {
                frames++;
            }
            else if (errno == EAGAIN)
            {
                poll(&p, 1, 100);
                waits++;
            }
        }
    }
    else if (nb)
    {
        // non-blocking reads, submitted in a batch: each completes inline (a frame or EAGAIN)
        struct io_uring ring;
        int r = io_uring_queue_init(depth * 2, &ring, 0);
        if (r < 0)
        {
            fprintf(stderr, "io_uring_queue_init: %s\n", strerror(-r));
            return 1;
        }
        struct pollfd p = {.fd = fd, .events = POLLIN};
        while (now() - start < seconds)
        {
            for (int i = 0; i < depth; i++)
            {
                struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
                io_uring_prep_read(sqe, fd, buffers[i], sizeof buffers[i], 0);
                io_uring_sqe_set_data64(sqe, i);
            }
            struct io_uring_cqe *cqe;
            r = io_uring_submit_and_wait(&ring, depth);
            calls++;
            unsigned head, seen = 0, got = 0;
            io_uring_for_each_cqe(&ring, head, cqe)
            {
                seen++;
                if (cqe->res > 0)
                {
                    got++;
                }
            }
            io_uring_cq_advance(&ring, seen);
            frames += got;
            if (got == 0)
            {
                poll(&p, 1, 100);
                waits++;
            }
        }
    }
    else
    {
        struct io_uring ring;
        int r = io_uring_queue_init(depth * 2, &ring, 0);
        if (r < 0)
        {
            fprintf(stderr, "io_uring_queue_init: %s\n", strerror(-r));
            return 1;
        }
        for (int i = 0; i < depth; i++)
        {
            struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
            io_uring_prep_read(sqe, fd, buffers[i], sizeof buffers[i], 0);
            io_uring_sqe_set_data64(sqe, i);
        }
        while (now() - start < seconds)
        {
            // one system call: submit the reads given back, wait for at least one completion
            struct __kernel_timespec timeout = {.tv_sec = 0, .tv_nsec = 100000000};
            struct io_uring_cqe *cqe;
            r = io_uring_submit_and_wait_timeout(&ring, &cqe, 1, &timeout, NULL);
            calls++;
            if (r < 0 && r != -ETIME)
            {
                fprintf(stderr, "io_uring_submit_and_wait: %s\n", strerror(-r));
                return 1;
            }
            unsigned head, seen = 0;
            io_uring_for_each_cqe(&ring, head, cqe)
            {
                seen++;
                const int i = (int)cqe->user_data;
                if (cqe->res > 0)
                {
                    frames++;
                }
                struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
                io_uring_prep_read(sqe, fd, buffers[i], sizeof buffers[i], 0);
                io_uring_sqe_set_data64(sqe, i);
            }
            io_uring_cq_advance(&ring, seen);
            if (seen == 0)
            {
                waits++;
            }
        }
    }
    const double wall = now() - start, used = cpu() - cpu0;
    printf("%s depth %d: %.0f frames/s, %.2f us CPU per frame, %.2f frames per system call, reader CPU %.0f %%, idle waits %ld\n",
        nb ? "io_uring non-blocking" : uring ? "io_uring" : "read", uring ? depth : 1, frames / wall, used * 1e6 / (frames ? frames : 1),
        (double)frames / (calls ? calls : 1), used * 100 / wall, waits);
    return 0;
}
