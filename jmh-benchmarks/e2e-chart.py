#!/usr/bin/python3
"""Draws the SVG chart of one e2e.sh result: TCP throughput (1 and 4 streams), the UDP 64-byte packet
rate (received by iperf3, and delivered to the receiving VM's UDP layer), and ping RTT (p50, p99) for the paths of the record (four to eight), as grouped bars with their values on a logarithmic scale (the paths differ by
up to three orders of magnitude). A TCP bar measured more than once (E2E_REPEAT) is the median, with a whisker from the slowest
to the fastest run. Standard library only.

    e2e-chart.py docs/performance/e2e-TIME.json docs/performance/e2e-TIME.svg
"""
import json
import math
import sys
from html import escape

ALL_PATHS = [
    ("vsnicPlainGeneve", "vsnic plain (a)", "#4878a8"),
    ("vsnicPlainGeneveOffloadsOff", "vsnic plain, offloads off (e)", "#9ab8d8"),
    ("vsnicEncrypted", "vsnic encrypted (b)", "#2f9e6e"),
    ("vsnicEncryptedOffloadsOff", "vsnic encrypted, offloads off (f)", "#93d0b4"),
    ("kernelVxlan", "kernel VXLAN (c)", "#a0a0a0"),
    ("kernelVxlanOverWireguardGo", "kernel VXLAN over wireguard-go (d)", "#d08040"),
    ("floorRelay", "floor relay (g)", "#705090"),
    ("floorRelayEncrypted", "floor relay, encrypted (h)", "#b8a0d0"),
]
# the paths of the record being drawn (older records have no (e) to (h)); set by main()
PATHS = ALL_PATHS
PANELS = [
    ("TCP throughput, Gbit/s, log scale (higher is better)", [("tcp1Gbps", "1 stream"), ("tcp4Gbps", "4 streams")], "{:.2f}"),
    ("UDP 64-byte datagrams per second (iperf3 -u -l 64 -b 0), log scale",
     [("udp64ReceivedPps", "received by iperf3"), ("udp64DeliveredPps", "delivered to the VM")], "{:,.0f}"),
    ("ping RTT, µs, log scale (lower is better)", [("pingP50us", "p50"), ("pingP99us", "p99")], "{:.0f}"),
]
PANEL_W, PANEL_H, TOP, LEFT, BOTTOM = 460, 300, 70, 50, 60
# the individual runs behind a median (E2E_REPEAT), drawn as a whisker over its bar
RUNS = {"tcp1Gbps": "tcp1Runs", "tcp4Gbps": "tcp4Runs"}


def panel(out, x0, title, metrics, fmt, data):
    values = [data.get(key) or {} for key, _, _ in PATHS]
    present = [v.get(m) for v in values for m, _ in metrics if (v.get(m) or 0) > 0]
    present += [r for v in values for m, _ in metrics for r in (v.get(RUNS.get(m, "")) or []) if r > 0]
    peak = max(present + [1e-9])
    floor = min(present + [peak]) / 3   # the smallest value still gets a visible bar
    span = math.log10(peak) - math.log10(floor) or 1.0
    plot_h = PANEL_H - TOP - BOTTOM

    def y_of(value):   # the height on the log scale, as a y coordinate
        return TOP + plot_h - plot_h * max(0.0, math.log10(max(value, floor)) - math.log10(floor)) / span
    out.append(f'<text x="{x0 + PANEL_W / 2}" y="{TOP - 30}" text-anchor="middle" font-weight="bold">{escape(title)}</text>')
    out.append(f'<line x1="{x0 + LEFT}" y1="{TOP + plot_h}" x2="{x0 + PANEL_W - 10}" y2="{TOP + plot_h}" stroke="#333"/>')
    group_w = (PANEL_W - LEFT - 10) / len(metrics)
    bar_w = group_w / (len(PATHS) + 1)
    for g, (metric, label) in enumerate(metrics):
        gx = x0 + LEFT + g * group_w
        out.append(f'<text x="{gx + group_w / 2}" y="{TOP + plot_h + 20}" text-anchor="middle">{escape(label)}</text>')
        for i, (_, _, colour) in enumerate(PATHS):
            v = values[i].get(metric)
            bx = gx + bar_w * (i + 0.5)
            if v is None:
                out.append(f'<text x="{bx + bar_w / 2}" y="{TOP + plot_h - 4}" text-anchor="middle" font-size="10">n/a</text>')
                continue
            top = y_of(v)
            out.append(f'<rect x="{bx:.1f}" y="{top:.1f}" width="{bar_w * 0.9:.1f}" height="{TOP + plot_h - top:.1f}" fill="{colour}"/>')
            runs = [r for r in (values[i].get(RUNS.get(metric, "")) or []) if r > 0]
            if len(runs) > 1:
                cx, lo, hi = bx + bar_w * 0.45, y_of(min(runs)), y_of(max(runs))
                out.append(f'<line x1="{cx:.1f}" y1="{lo:.1f}" x2="{cx:.1f}" y2="{hi:.1f}" stroke="#222"/>')
                for y in (lo, hi):
                    out.append(f'<line x1="{cx - 3:.1f}" y1="{y:.1f}" x2="{cx + 3:.1f}" y2="{y:.1f}" stroke="#222"/>')
                top = min(top, hi)
            out.append(f'<text x="{bx + bar_w * 0.45:.1f}" y="{top - 4:.1f}" text-anchor="middle" '
                       f'font-size="10">{fmt.format(v)}</text>')


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    with open(sys.argv[1], encoding="utf-8") as f:
        data = json.load(f)
    global PATHS
    # the paths the run measured (a path it left out is in the record with null figures)
    PATHS = [p for p in ALL_PATHS if (data.get(p[0]) or {}).get("tcp1Gbps") is not None]
    width, height = len(PANELS) * (PANEL_W + 10) + 10, PANEL_H + 60
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>']
    machine = data.get("machine", {})
    out.append(f'<text x="10" y="16" font-size="11">{escape(data.get("command", ""))}, {escape(data.get("time", ""))}; '
               f'{machine.get("cpus", "?")} CPUs {escape(str(machine.get("cpu", "")))}, kernel {escape(str(machine.get("kernel", "")))}, '
               f'load {machine.get("loadavg1AtEnd", "?")} at the end</text>')
    for p, (title, metrics, fmt) in enumerate(PANELS):
        panel(out, 10 + p * (PANEL_W + 10), title, metrics, fmt, data)
    lx = 20
    for _, label, colour in PATHS:
        out.append(f'<rect x="{lx}" y="{PANEL_H + 20}" width="12" height="12" fill="{colour}"/>')
        out.append(f'<text x="{lx + 16}" y="{PANEL_H + 30}">{escape(label)}</text>')
        lx += 16 + 7.2 * len(label) + 20
    out.append("</svg>")
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
