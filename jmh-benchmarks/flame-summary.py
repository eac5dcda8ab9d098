#!/usr/bin/env python3
"""Summarises async-profiler collapsed stacks (one "frame;frame;...;leaf count" line per stack):
the share of CPU samples per kind of thread (worker, JIT, GC, event loops), and for the data plane
worker the share per kind of work (the leaf frame's category) and its top leaf frames.

    flame-summary.py FILE.collapsed [LABEL]
"""
import collections
import sys

# first match wins: (category, substrings of the leaf frame or of any frame for "thread" rules)
CATEGORIES = [
    ("ChaCha20-Poly1305", ("ChaCha20", "Poly1305", "VectorKernels", "TransportCodec")),
    ("checksums", ("Checksums.",)),
    ("segment / coalesce", ("Segmenter", "Coalescer")),
    ("copies (memcpy)", ("memcpy", "memmove", "copy_user", "copyMemory", "arraycopy", "rep_movs")),
    ("kernel: UDP/IP send", ("udp_send", "ip_output", "ip_finish", "__dev_queue_xmit", "veth_xmit", "udp_sendmsg",
                             "__sys_sendmmsg", "sendmmsg", "ip_make_skb", "__ip_append_data")),
    ("kernel: UDP receive", ("udp_recvmsg", "__sys_recvmmsg", "recvmmsg", "udp_rcv", "__udp4_lib_rcv", "skb_copy_datagram")),
    ("kernel: TAP read/write", ("tun_", "tap_", "ksys_read", "ksys_write", "vfs_read", "vfs_write")),
    ("kernel: poll/wake-up", ("do_sys_poll", "poll", "eventfd", "epoll", "schedule", "futex")),
    ("pipeline (classify, lookup, security)", ("Worker.", "FrameClassifier", "ConnectionTable", "NetworkTable",
                                              "CompiledPolicy", "OverlayHeaders", "InnerTunnel", "InnerHeaders")),
    ("substrate I/O (Java side)", ("UdpSubstrate", "GroReader", "MessageBatch", "Syscalls")),
]


THREADS = [
    ("JIT compiler", ("CompileBroker", "C2Compiler", "Compilation::")),
    ("GC", ("GCTaskThread", "VMThread", "SerialHeap", "G1", "GangWorker", "WorkerThread::run")),
    ("vsnic worker", ("Worker.run",)),
    ("Netty event loops (API, WireGuard handshakes, timers)", ("SingleThreadIoEventLoop", "NioIoHandler", "EpollIoHandler",
                                                                "IoUringIoHandler", "SingleThreadEventExecutor")),
]


def thread_kind(stack):
    for name, needles in THREADS:
        if any(n in frame for frame in stack for n in needles):
            return name
    return "other threads"


def category(stack):
    leaf = stack[-1]
    for name, needles in CATEGORIES:
        if any(n in leaf for n in needles):
            return name
    # a leaf in the kernel or libc that matched nothing: attribute by the nearest Java frame below it
    for frame in reversed(stack):
        for name, needles in CATEGORIES:
            if any(n in frame for n in needles):
                return name + " (callee)"
    return "other"


def main():
    path = sys.argv[1]
    label = sys.argv[2] if len(sys.argv) > 2 else path
    total = 0
    by_category = collections.Counter()
    by_leaf = collections.Counter()
    by_thread = collections.Counter()
    worker = 0
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            stack_text, _, count_text = line.rpartition(" ")
            try:
                count = int(count_text)
            except ValueError:
                continue
            stack = stack_text.split(";")
            total += count
            kind = thread_kind(stack)
            by_thread[kind] += count
            if kind == "vsnic worker":
                worker += count
                by_category[category(stack)] += count
                by_leaf[stack[-1]] += count
    if total == 0:
        print(f"{label}: no samples")
        return
    print(f"{label}: {total} CPU samples, by thread:")
    for name, count in by_thread.most_common():
        print(f"  {100.0 * count / total:5.1f} %  {name}")
    if worker == 0:
        return
    print(f"  the worker's {worker} samples, by the work (the leaf frame's; '(callee)': a leaf of no category, e.g. a bounds check or a kernel function, counted under its nearest categorised caller):")
    for name, count in by_category.most_common():
        print(f"  {100.0 * count / worker:5.1f} %  {name}")
    print("  the worker's top leaf frames:")
    for name, count in by_leaf.most_common(12):
        print(f"  {100.0 * count / worker:5.1f} %  {name}")


if __name__ == "__main__":
    main()
