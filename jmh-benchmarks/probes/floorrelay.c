// floorrelay: the floor of a userspace overlay data plane that sits behind a TAP and a UDP socket.
//
// It moves frames between one TAP vNIC (IFF_VNET_HDR, checksum and TSO4 offloads) and one UDP
// socket (UDP GSO out, UDP GRO in) with the least work that keeps TCP correct: a TAP super-frame is
// cut into MTU-sized segments whose headers are built in a scratch area while their payload stays
// where read(2) put it (one sendmsg with UDP_SEGMENT per 64 KiB, the iovec pointing into the read
// buffer); a GRO batch from the socket is merged back into one super-frame whose payload stays where
// recvmsg put it (one writev to the TAP). So it makes the same four kernel copies per byte as vsnic
// (TAP read, UDP send, UDP receive, TAP write) and no copy of its own, and it has no forwarding table,
// security groups, connection tracking, counters per port, encryption or API: what it reaches is the
// most that any data plane built on these two kinds of descriptors can reach on the machine.
// jmh-benchmarks/e2e.sh runs it as path (g); see jmh-benchmarks/README.md.
//
// With -e every datagram is also sealed as a WireGuard transport data message (type 4, receiver index,
// 64-bit counter, ChaCha20-Poly1305 with OpenSSL's EVP, in place, the tag in an iovec of its own) and
// opened on receipt (a datagram whose tag does not verify is dropped and counted). One fixed key, no
// handshake, no replay window, no padding: the crypto work per byte that an encrypted data plane cannot
// avoid, at OpenSSL's speed, and nothing else.
//
// Encapsulation: an 8-byte header like VXLAN's (flags 0x08, VNI in bytes 4-6) whose reserved bytes 1-3
// carry the inner checksum's start (16 bits, 0xffff for none) and offset, so that a TCP checksum left
// partial by the sending guest stays partial to the receiving one (what vsnic's Geneve remote checksum
// option does). Only this relay reads it.
//
// With -c the merged super-frame is first copied into one buffer and written from there, as vsnic's
// coalescer does (it copies each segment's payload once into a super-frame slot): what that copy costs.
//
// Usage (root): ip netns exec VM_NS floorrelay [-e] [-c] TAP DEVICE_NS LOCAL_IP REMOTE_IP [CPU [SPIN_US]]
//   TAP        a persistent TAP device in VM_NS (ip tuntap add dev TAP mode tap), the VM's interface
//   DEVICE_NS  the device's network namespace, by path (/var/run/netns/NAME): the UDP socket lives there
//   LOCAL_IP, REMOTE_IP   substrate IPv4 addresses; the socket is bound to LOCAL_IP:4789 and connected
//              to REMOTE_IP:4789
//   CPU        pin the relay's one thread to this CPU (-1: not pinned; default -1)
//   SPIN_US    poll the two descriptors without sleeping for this long after the last frame (default 50,
//              vsnic's worker default)
// On SIGTERM or SIGINT it prints its counters to stderr and exits.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <openssl/evp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

#define PORT 4789
#define ENCAP 8
#define VNET ((int) sizeof(struct virtio_net_hdr))
#define ETH 14
#define MAX_FRAME (65536 + 256)
#define BURST 64               // TAP reads per pass
#define MAX_SEGS 128           // segments of one super-frame (64 KiB / 536-byte MSS is 123)
#define MAX_HDR 160            // encapsulation + Ethernet + IPv4 (60) + TCP (60), rounded up
#define MAX_UDP_PAYLOAD 65507  // IPv4: one UDP GSO send carries at most this much
#define WG_HDR 16              // WireGuard transport data: type, receiver index, counter
#define TAG 16
#define HEAD 32                // room before a TAP read for the WireGuard and encapsulation headers
#define NO_CSUM 0xffff
#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_URG 0x20
#define TCP_CWR 0x80

static volatile sig_atomic_t stop;
static int tap, udp;
static int encrypt, copy_merged;
static uint8_t gathered[MAX_FRAME];
static EVP_CIPHER_CTX *seal_ctx, *open_ctx;
static uint64_t send_counter;
static unsigned long long bad_tags;
static unsigned long long tap_frames, tap_super, segments_sent, gso_sends, udp_batches, udp_datagrams,
    merged_writes, single_writes, errors;

// per-slot TAP read buffers: [HEAD - 14: WireGuard header, encapsulation | overlaps the 10-byte vnet
// header][frame][tag]
static uint8_t slots[BURST][HEAD + VNET + MAX_FRAME + TAG];
static struct mmsghdr small[BURST];
static struct iovec small_iov[BURST];
static uint8_t seg_hdr[MAX_SEGS][WG_HDR + MAX_HDR];
static uint8_t seg_tag[MAX_SEGS][TAG];
static struct iovec seg_iov[3 * MAX_SEGS];
static uint8_t rbuf[MAX_FRAME + 4096];

// the open merged super-frame (receive side)
static struct iovec run_iov[2 + MAX_SEGS];
static struct virtio_net_hdr run_vnet;
static int run_segs, run_hl, run_mss, run_last, run_payload, run_psh;
static uint8_t *run_frame;
static uint32_t run_next_seq;

static void on_signal(int s) { (void) s; stop = 1; }

static void die(const char *what)
{
    perror(what);
    exit(1);
}

static uint16_t get16(const uint8_t *p) { return (uint16_t) (p[0] << 8 | p[1]); }
static void put16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = v & 0xff; }
static uint32_t get32(const uint8_t *p) { return (uint32_t) p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]; }
static void put32(uint8_t *p, uint32_t v) { put16(p, v >> 16); put16(p + 2, v & 0xffff); }

static void nonce(uint8_t *n, uint64_t counter)
{
    memset(n, 0, 12);
    for (int i = 0; i < 8; i++) n[4 + i] = (uint8_t) (counter >> (8 * i));
}

// writes the WireGuard header at wg and seals the parts in place (one AEAD message), the tag to tag
static void seal(uint8_t *wg, uint8_t *a, int alen, uint8_t *b, int blen, uint8_t *tag)
{
    const uint64_t counter = send_counter++;
    wg[0] = 4; wg[1] = 0; wg[2] = 0; wg[3] = 0;
    put32(wg + 4, 1);
    for (int i = 0; i < 8; i++) wg[8 + i] = (uint8_t) (counter >> (8 * i));
    uint8_t n[12];
    nonce(n, counter);
    int out;
    if (EVP_EncryptInit_ex(seal_ctx, NULL, NULL, NULL, n) != 1 || EVP_EncryptUpdate(seal_ctx, a, &out, a, alen) != 1 ||
        (blen > 0 && EVP_EncryptUpdate(seal_ctx, b, &out, b, blen) != 1) || EVP_EncryptFinal_ex(seal_ctx, tag, &out) != 1 ||
        EVP_CIPHER_CTX_ctrl(seal_ctx, EVP_CTRL_AEAD_GET_TAG, TAG, tag) != 1)
    {
        fprintf(stderr, "floorrelay: seal failed\n");
        exit(1);
    }
}

// opens a WireGuard transport data message of len bytes in place; 0 when its tag does not verify
static int open_message(uint8_t *m, int len)
{
    if (len < WG_HDR + TAG || m[0] != 4) return 0;
    uint64_t counter = 0;
    for (int i = 0; i < 8; i++) counter |= (uint64_t) m[8 + i] << (8 * i);
    uint8_t n[12];
    nonce(n, counter);
    int out;
    return EVP_DecryptInit_ex(open_ctx, NULL, NULL, NULL, n) == 1 &&
        EVP_DecryptUpdate(open_ctx, m + WG_HDR, &out, m + WG_HDR, len - WG_HDR - TAG) == 1 &&
        EVP_CIPHER_CTX_ctrl(open_ctx, EVP_CTRL_AEAD_SET_TAG, TAG, m + len - TAG) == 1 &&
        EVP_DecryptFinal_ex(open_ctx, m + len - TAG, &out) == 1;
}

static uint32_t sum16(const uint8_t *p, int len, uint32_t sum)
{
    for (int i = 0; i + 1 < len; i += 2) sum += get16(p + i);
    if (len & 1) sum += p[len - 1] << 8;
    return sum;
}

static uint16_t fold(uint32_t sum)
{
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t) sum;
}

static void ipv4_checksum(uint8_t *ip, int ihl)
{
    put16(ip + 10, 0);
    put16(ip + 10, (uint16_t) ~fold(sum16(ip, ihl, 0)));
}

// the TCP checksum field of a CHECKSUM_PARTIAL packet: the folded pseudo-header sum, not complemented
static void tcp_partial(uint8_t *ip, int tcp_length)
{
    const uint32_t sum = sum16(ip + 12, 8, 6 + (uint32_t) tcp_length);
    put16(ip + (ip[0] & 0xf) * 4 + 16, fold(sum));
}

// --- TAP -> substrate ---------------------------------------------------------------------------

static void send_small(int n)
{
    int at = 0;
    while (at < n)
    {
        const int sent = sendmmsg(udp, small + at, n - at, 0);
        if (sent < 0)
        {
            if (errno == EINTR) continue;
            errors += n - at;   // EAGAIN or ENOBUFS: counted as lost, as a NIC queue would drop
            return;
        }
        at += sent;
    }
}

// cuts the super-frame in slot s (its frame of flen bytes at slot + VNET) into segments and sends them
static void send_super(uint8_t *slot, const struct virtio_net_hdr *vh, int flen)
{
    uint8_t *frame = slot + HEAD + VNET;
    if (get16(frame + 12) != 0x0800 || (frame[ETH] >> 4) != 4 || frame[ETH + 9] != IPPROTO_TCP)
    {
        errors++;   // only TSO4 is offered to the guest
        return;
    }
    const int ihl = (frame[ETH] & 0xf) * 4;
    const int thl = (frame[ETH + ihl + 12] >> 4) * 4;
    const int hl = ETH + ihl + thl;
    const int mss = vh->gso_size;
    const int payload = flen - hl;
    if (mss <= 0 || payload <= 0 || (payload + mss - 1) / mss > MAX_SEGS || ENCAP + hl > MAX_HDR)
    {
        errors++;
        return;
    }
    const uint16_t id0 = get16(frame + ETH + 4);
    const uint32_t seq0 = get32(frame + ETH + ihl + 4);
    const uint8_t flags = frame[ETH + ihl + 13];
    const int wrap = encrypt ? WG_HDR + TAG : 0;
    const int per_send = MAX_UDP_PAYLOAD / (wrap + ENCAP + hl + mss);
    int seg = 0, off = 0;
    tap_super++;
    while (off < payload)
    {
        int n = 0, iovs = 0;
        const int first = seg;
        for (; n < per_send && off < payload; n++, seg++)
        {
            const int len = payload - off < mss ? payload - off : mss;
            uint8_t *const wg = seg_hdr[seg];
            uint8_t *h = wg + WG_HDR;
            h[0] = 0x08;
            put16(h + 1, ETH + ihl);
            h[3] = 16;
            h[4] = 0; h[5] = 0; h[6] = 100; h[7] = 0;
            memcpy(h + ENCAP, frame, hl);
            uint8_t *ip = h + ENCAP + ETH;
            put16(ip + 2, (uint16_t) (ihl + thl + len));
            put16(ip + 4, (uint16_t) (id0 + seg));
            ipv4_checksum(ip, ihl);
            uint8_t *tcp = ip + ihl;
            put32(tcp + 4, seq0 + (uint32_t) off);
            uint8_t f = flags;
            if (off + len < payload) f &= (uint8_t) ~(TCP_FIN | TCP_PSH);
            if (seg > 0) f &= (uint8_t) ~TCP_CWR;
            tcp[13] = f;
            tcp_partial(ip, thl + len);
            uint8_t *const data = frame + hl + off;
            if (encrypt) seal(wg, h, ENCAP + hl, data, len, seg_tag[seg]);
            seg_iov[iovs++] = encrypt ? (struct iovec) {wg, (size_t) (WG_HDR + ENCAP + hl)} : (struct iovec) {h, (size_t) (ENCAP + hl)};
            seg_iov[iovs++] = (struct iovec) {data, (size_t) len};
            if (encrypt) seg_iov[iovs++] = (struct iovec) {seg_tag[seg], TAG};
            off += len;
        }
        char control[CMSG_SPACE(sizeof(uint16_t))];
        struct msghdr m = {.msg_iov = seg_iov, .msg_iovlen = (size_t) iovs};
        if (n > 1)
        {
            memset(control, 0, sizeof control);
            m.msg_control = control;
            m.msg_controllen = sizeof control;
            struct cmsghdr *c = CMSG_FIRSTHDR(&m);
            c->cmsg_level = SOL_UDP;
            c->cmsg_type = UDP_SEGMENT;
            c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
            const uint16_t size = (uint16_t) (wrap + ENCAP + hl + mss);
            memcpy(CMSG_DATA(c), &size, sizeof size);
        }
        if (sendmsg(udp, &m, 0) < 0) errors += (unsigned long long) (seg - first);
        else { gso_sends++; segments_sent += (unsigned long long) n; }
    }
}

static int tap_burst(void)
{
    int pending = 0, reads = 0;
    for (; reads < BURST; reads++)
    {
        uint8_t *slot = slots[pending];
        const ssize_t n = read(tap, slot + HEAD, VNET + MAX_FRAME);
        if (n < 0)
        {
            if (errno != EAGAIN && errno != EINTR) die("read from the TAP");   // EBADFD: the device is gone
            break;
        }
        if (n <= VNET + ETH) { errors++; continue; }
        tap_frames++;
        struct virtio_net_hdr vh;
        memcpy(&vh, slot + HEAD, sizeof vh);
        const int flen = (int) n - VNET;
        if ((vh.gso_type & ~VIRTIO_NET_HDR_GSO_ECN) != VIRTIO_NET_HDR_GSO_NONE)
        {
            send_small(pending);   // order: what came before the super-frame leaves first
            pending = 0;
            send_super(slot, &vh, flen);
            continue;
        }
        uint8_t *h = slot + HEAD + VNET - ENCAP;   // the encapsulation overwrites the vnet header's tail
        h[0] = 0x08;
        if (vh.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) { put16(h + 1, vh.csum_start); h[3] = (uint8_t) vh.csum_offset; }
        else { put16(h + 1, NO_CSUM); h[3] = 0; }
        h[4] = 0; h[5] = 0; h[6] = 100; h[7] = 0;
        if (encrypt)
        {
            seal(h - WG_HDR, h, ENCAP + flen, NULL, 0, h + ENCAP + flen);
            small_iov[pending] = (struct iovec) {h - WG_HDR, (size_t) (WG_HDR + ENCAP + flen + TAG)};
        }
        else
        {
            small_iov[pending] = (struct iovec) {h, (size_t) (ENCAP + flen)};
        }
        small[pending].msg_hdr = (struct msghdr) {.msg_iov = &small_iov[pending], .msg_iovlen = 1};
        pending++;
    }
    send_small(pending);
    return reads;
}

// --- substrate -> TAP ---------------------------------------------------------------------------

static void write_single(uint8_t *frame, int flen, int csum_start, int csum_offset)
{
    struct virtio_net_hdr vh = {0};
    if (csum_start != NO_CSUM)
    {
        vh.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
        vh.csum_start = (uint16_t) csum_start;
        vh.csum_offset = (uint16_t) csum_offset;
    }
    struct iovec iov[2] = {{&vh, sizeof vh}, {frame, (size_t) flen}};
    if (writev(tap, iov, 2) < 0) errors++;
    single_writes++;
}

static void flush_run(void)
{
    if (run_segs == 0) return;
    uint8_t *ip = run_frame + ETH;
    const int ihl = (ip[0] & 0xf) * 4;
    if (run_segs == 1)
    {
        write_single(run_frame, run_hl + run_payload, ETH + ihl, 16);
    }
    else
    {
        const int thl = run_hl - ETH - ihl;
        put16(ip + 2, (uint16_t) (ihl + thl + run_payload));
        ipv4_checksum(ip, ihl);
        if (run_psh) ip[ihl + 13] |= TCP_PSH;
        tcp_partial(ip, thl + run_payload);
        run_vnet = (struct virtio_net_hdr) {
            .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
            .hdr_len = (uint16_t) run_hl, .gso_size = (uint16_t) run_mss,
            .csum_start = (uint16_t) (ETH + ihl), .csum_offset = 16};
        run_iov[0] = (struct iovec) {&run_vnet, sizeof run_vnet};
        if (copy_merged)
        {
            size_t at = 0;
            for (int i = 1; i <= run_segs; i++)
            {
                memcpy(gathered + at, run_iov[i].iov_base, run_iov[i].iov_len);
                at += run_iov[i].iov_len;
            }
            const struct iovec flat[2] = {run_iov[0], {gathered, at}};
            if (writev(tap, flat, 2) < 0) errors++;
        }
        else if (writev(tap, run_iov, 1 + run_segs) < 0) errors++;
        merged_writes++;
    }
    run_segs = 0;
}

// one decapsulated datagram: merged into the open super-frame, or starting one, or written alone
static void receive(uint8_t *d, int len)
{
    if (len < ENCAP + ETH + 20 || d[0] != 0x08) { errors++; return; }
    const int csum_start = get16(d + 1), csum_offset = d[3];
    uint8_t *frame = d + ENCAP;
    const int flen = len - ENCAP;
    uint8_t *ip = frame + ETH;
    int mergeable = get16(frame + 12) == 0x0800 && ip[0] == 0x45 && ip[9] == IPPROTO_TCP &&
        (get16(ip + 6) & 0x3fff) == 0 && csum_start == ETH + 20 && csum_offset == 16 && flen >= ETH + 40;
    int thl = 0, payload = 0;
    uint8_t flags = 0;
    if (mergeable)
    {
        thl = (ip[32] >> 4) * 4;
        payload = get16(ip + 2) - 20 - thl;
        flags = ip[33];
        mergeable = thl >= 20 && payload > 0 && ETH + 20 + thl + payload <= flen &&
            (flags & (TCP_SYN | TCP_RST | TCP_URG | TCP_FIN | TCP_CWR)) == 0;
    }
    if (!mergeable)
    {
        flush_run();
        write_single(frame, flen, csum_start, csum_offset);
        return;
    }
    const int hl = ETH + 20 + thl;
    const uint8_t *open_ip = run_segs > 0 ? run_frame + ETH : NULL;
    if (run_segs > 0 && run_segs < MAX_SEGS && hl == run_hl && run_last == run_mss && payload <= run_mss &&
        run_hl + run_payload + payload <= 65535 + ETH - 64 &&
        memcmp(ip + 12, open_ip + 12, 8) == 0 && memcmp(ip + 20, open_ip + 20, 4) == 0 &&
        get32(ip + 20 + 4) == run_next_seq && get32(ip + 20 + 8) == get32(open_ip + 20 + 8) &&
        memcmp(ip + 20 + 20, open_ip + 20 + 20, (size_t) (thl - 20)) == 0)
    {
        run_iov[1 + run_segs] = (struct iovec) {frame + hl, (size_t) payload};
        run_segs++;
        run_payload += payload;
        run_last = payload;
        run_next_seq += (uint32_t) payload;
        run_psh |= flags & TCP_PSH;
        if (payload < run_mss || (flags & TCP_PSH)) flush_run();
        return;
    }
    flush_run();
    run_frame = frame;
    run_hl = hl;
    run_mss = payload;
    run_last = payload;
    run_payload = payload;
    run_psh = flags & TCP_PSH;
    run_next_seq = get32(ip + 20 + 4) + (uint32_t) payload;
    run_iov[1] = (struct iovec) {frame, (size_t) (hl + payload)};
    run_segs = 1;
    if (flags & TCP_PSH) flush_run();
}

static int udp_burst(void)
{
    int batches = 0;
    for (; batches < 8; batches++)
    {
        char control[CMSG_SPACE(sizeof(int))];
        struct iovec iov = {rbuf, sizeof rbuf};
        struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
        const ssize_t n = recvmsg(udp, &m, MSG_DONTWAIT);
        if (n < 0)
        {
            if (errno == ECONNREFUSED) { errors++; continue; }   // the peer's port was closed a moment ago
            if (errno != EAGAIN && errno != EINTR) die("recvmsg");
            break;
        }
        int gso = (int) n;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
        {
            if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) memcpy(&gso, CMSG_DATA(c), sizeof gso);
        }
        if (gso <= 0) gso = (int) n;
        udp_batches++;
        for (int off = 0; off < n; off += gso)
        {
            udp_datagrams++;
            const int len = (int) (n - off < gso ? n - off : gso);
            if (!encrypt) receive(rbuf + off, len);
            else if (open_message(rbuf + off, len)) receive(rbuf + off + WG_HDR, len - WG_HDR - TAG);
            else { flush_run(); bad_tags++; }
        }
        flush_run();   // the next recvmsg reuses the buffer the open super-frame points into
    }
    return batches;
}

// --- set-up -------------------------------------------------------------------------------------

static int open_tap(const char *name)
{
    const int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK);
    if (fd < 0) die("open /dev/net/tun");
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) die("TUNSETIFF");
    int size = VNET;
    if (ioctl(fd, TUNSETVNETHDRSZ, &size) < 0) die("TUNSETVNETHDRSZ");
    if (ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO_ECN) < 0) die("TUNSETOFFLOAD");
    return fd;
}

static int open_udp(const char *local, const char *remote)
{
    const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    if (fd < 0) die("socket");
    const int one = 1, buffer = 4 << 20;
    if (setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof one) < 0) die("UDP_GRO");
    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buffer, sizeof buffer);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buffer, sizeof buffer);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(PORT)};
    if (inet_pton(AF_INET, local, &a.sin_addr) != 1) { fprintf(stderr, "bad LOCAL_IP %s\n", local); exit(2); }
    if (bind(fd, (struct sockaddr *) &a, sizeof a) < 0) die("bind");
    if (inet_pton(AF_INET, remote, &a.sin_addr) != 1) { fprintf(stderr, "bad REMOTE_IP %s\n", remote); exit(2); }
    if (connect(fd, (struct sockaddr *) &a, sizeof a) < 0) die("connect");
    return fd;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static EVP_CIPHER_CTX *cipher(int enc)
{
    static const uint8_t key[32] = {0x42};
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    if (c == NULL || EVP_CipherInit_ex(c, EVP_chacha20_poly1305(), NULL, NULL, NULL, enc) != 1 ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_IVLEN, 12, NULL) != 1 || EVP_CipherInit_ex(c, NULL, NULL, key, NULL, enc) != 1)
    {
        fprintf(stderr, "floorrelay: no ChaCha20-Poly1305 in this OpenSSL\n");
        exit(1);
    }
    return c;
}

int main(int argc, char **argv)
{
    for (; argc > 1 && argv[1][0] == '-' && argv[1][1] != '\0' && argv[1][2] == '\0'; argv++, argc--)
    {
        if (argv[1][1] == 'e')
        {
            encrypt = 1;
            seal_ctx = cipher(1);
            open_ctx = cipher(0);
        }
        else if (argv[1][1] == 'c')
        {
            copy_merged = 1;
        }
        else
        {
            fprintf(stderr, "floorrelay: unknown option %s\n", argv[1]);
            return 2;
        }
    }
    if (argc < 5)
    {
        fprintf(stderr, "usage: ip netns exec VM_NS floorrelay [-e] [-c] TAP DEVICE_NS_PATH LOCAL_IP REMOTE_IP [CPU [SPIN_US]]\n");
        return 2;
    }
    const int cpu = argc > 5 ? atoi(argv[5]) : -1;
    const double spin = (argc > 6 ? atof(argv[6]) : 50) / 1e6;
    tap = open_tap(argv[1]);
    const int ns = open(argv[2], O_RDONLY | O_CLOEXEC);
    if (ns < 0) die(argv[2]);
    if (setns(ns, CLONE_NEWNET) < 0) die("setns");
    close(ns);
    udp = open_udp(argv[3], argv[4]);
    if (cpu >= 0)
    {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(cpu, &set);
        if (sched_setaffinity(0, sizeof set, &set) < 0) die("sched_setaffinity");
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    fprintf(stderr, "floorrelay: %s <-> udp %s:%d -> %s:%d, cpu %d, spin %.0f us%s%s\n", argv[1], argv[3], PORT, argv[4], PORT,
        cpu, spin * 1e6, encrypt ? ", ChaCha20-Poly1305" : "", copy_merged ? ", merged super-frames copied" : "");
    struct pollfd fds[2] = {{tap, POLLIN, 0}, {udp, POLLIN, 0}};
    double idle_since = 0;
    while (!stop)
    {
        const int work = tap_burst() + udp_burst();
        if (work)
        {
            idle_since = 0;
            continue;
        }
        if (idle_since == 0) idle_since = now();
        if (now() - idle_since < spin) continue;
        if (poll(fds, 2, -1) < 0 && errno != EINTR) die("poll");
        idle_since = 0;
    }
    fprintf(stderr, "floorrelay %s: tap frames %llu (super-frames %llu), segments sent %llu in %llu sends; "
        "udp batches %llu, datagrams %llu; tap writes merged %llu, single %llu; errors %llu, bad tags %llu\n",
        argv[1], tap_frames, tap_super, segments_sent, gso_sends, udp_batches, udp_datagrams, merged_writes, single_writes,
        errors, bad_tags);
    return 0;
}
