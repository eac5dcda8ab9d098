#!/usr/bin/python3
"""Writes the footprint load for jmh-benchmarks/footprint.sh as JSON request bodies, one file per
request, into a directory: NETWORKS networks (VNI 1000+k, 10.k.0.0/16 with 10.k.0.1 as gateway),
VNICS memory vNICs spread over them round-robin, and ROUTES IPv4 routes spread evenly, each network's
list in one PUT /v1/networks/NAME/routes body (the API takes up to 128 MiB there, about two million
routes; 1 MiB everywhere else).

Routes: BGP-like lengths (60 % /24, 35 % /16../23, 3 % /8../15, 2 % /25../32, as LpmBenchmark),
random addresses from a fixed seed, outside 10.0.0.0/8, no duplicates within a network; targets
alternate over the network's vNICs with one route in ten a reject.

    footprint-load.py DIR NETWORKS VNICS ROUTES
"""
import json
import os
import random
import sys


def length(rng):
    r = rng.random()
    if r < 0.60:
        return 24
    if r < 0.95:
        return rng.randint(16, 23)
    if r < 0.98:
        return rng.randint(8, 15)
    return rng.randint(25, 32)


def main():
    out, networks, vnics, routes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    if not (1 <= networks <= 250) or vnics < networks or vnics > networks * 250 or routes < 0:
        sys.exit("footprint-load.py: need 1..250 networks, networks <= vnics <= 250 per network, routes >= 0")
    os.makedirs(out, exist_ok=True)
    rng = random.Random(42)
    members = {k: [] for k in range(1, networks + 1)}
    for v in range(vnics):
        k = v % networks + 1
        host = len(members[k]) + 10
        vnic_id = "n%dv%d" % (k, host)
        members[k].append(vnic_id)
        with open(os.path.join(out, "vnic-%05d.json" % v), "w") as f:
            json.dump({"id": vnic_id, "network": "n%d" % k, "ip": "10.%d.0.%d" % (k, host),
                       "backend": {"type": "memory"}}, f)
    for k in range(1, networks + 1):
        with open(os.path.join(out, "network-%03d.json" % k), "w") as f:
            json.dump({"name": "n%d" % k, "vni": 1000 + k, "mtu": 1500,
                       "subnets": [{"cidr": "10.%d.0.0/16" % k, "gateway": "10.%d.0.1" % k}]}, f)
        count = routes // networks + (1 if k <= routes % networks else 0)
        seen = set()
        items = []
        while len(items) < count:
            bits = length(rng)
            address = rng.getrandbits(32) & (0xFFFFFFFF << (32 - bits)) & 0xFFFFFFFF
            if address >> 24 == 10 or (address, bits) in seen:
                continue
            seen.add((address, bits))
            if len(items) % 10 == 9:
                target = {"type": "reject"}
            else:
                target = {"type": "port", "vnic": members[k][len(items) % len(members[k])]}
            prefix = "%d.%d.%d.%d/%d" % (address >> 24, address >> 16 & 255, address >> 8 & 255, address & 255, bits)
            items.append({"prefix": prefix, "target": target})
        with open(os.path.join(out, "routes-%03d.json" % k), "w") as f:
            json.dump({"items": items}, f, separators=(",", ":"))


if __name__ == "__main__":
    main()
