// blast: send 64-byte UDP datagrams to ADDR:9 as fast as sendmmsg allows, for SECONDS; prints the count.
// Usage: blast ADDR SECONDS (jmh-benchmarks/tap-uring-probe.sh runs it).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

int main(int argc, char **argv)
{
    if (argc < 3)
    {
        fprintf(stderr, "usage: blast ADDR SECONDS\n");
        return 2;
    }
    const int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(9)};
    inet_pton(AF_INET, argv[1], &to.sin_addr);
    if (connect(s, (struct sockaddr *)&to, sizeof to) < 0)
    {
        perror("connect");
        return 1;
    }
    static char payload[64];
    struct iovec iov = {.iov_base = payload, .iov_len = sizeof payload};
    struct mmsghdr m[64];
    memset(m, 0, sizeof m);
    for (int i = 0; i < 64; i++)
    {
        m[i].msg_hdr.msg_iov = &iov;
        m[i].msg_hdr.msg_iovlen = 1;
    }
    const time_t end = time(NULL) + atoi(argv[2]);
    long sent = 0;
    while (time(NULL) < end)
    {
        const int n = sendmmsg(s, m, 64, 0);
        if (n > 0)
        {
            sent += n;
        }
    }
    printf("sent %ld\n", sent);
    return 0;
}
