#!/usr/bin/env bash
# Three vsnicd processes form a cluster on loopback (cluster init, token, join; Raft over mutual TLS),
# then the head is killed with SIGKILL while WRITES networks are created through another device.
# Prints the writes acknowledged/refused, the time from the kill to the first acknowledged write, and
# checks with consistent reads that every acknowledged write is on both survivors.
# Needs a build (./mvnw -q -DskipTests package) and curl; uses 127.0.0.1-3, API ports BASE+1..3 and
# Raft ports BASE+11..13 (BASE default 19470). Everything it starts is stopped on exit.
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
vsnic="$root/bin/vsnic"
writes=${WRITES:-300}
base=${BASE:-19470}
work=$(mktemp -d /tmp/vsnic-cluster-kill9.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
cd "$work"
for i in 1 2 3; do
  cat > d$i.yaml <<YAML
device: {name: edge-$i, id: $i}
api: {listen: "127.0.0.1:$((base + i))"}
substrate: {enabled: true, bindAddress: 127.0.0.$i, genevePort: 0, vxlanPort: 0, transport: nio}
dataplane: {workers: 1, frameSlots: 1024, connectionCapacity: 4096}
cluster: {name: demo, raft: "127.0.0.$i:$((base + 10 + i))"}
YAML
done
start() { "$vsnic" daemon --config d$1.yaml --state-dir s$1 > d$1.log 2>&1 & pids[$1]=$!
  for _ in $(seq 1 90); do grep -q ready d$1.log && return; sleep 1; done; echo "edge-$1 did not start:"; cat d$1.log; exit 1; }
"$vsnic" cluster init --config d1.yaml --state-dir s1 > /dev/null
start 1
for i in 2 3; do
  token=$("$vsnic" cluster token --api "http://127.0.0.1:$((base + 1))" 2>/dev/null)
  "$vsnic" cluster join --token "$token" --config d$i.yaml --state-dir s$i "http://127.0.0.1:$((base + 1))" > /dev/null
  start $i
done
sleep 3
"$vsnic" cluster status --api "http://127.0.0.1:$((base + 2))" 2>/dev/null
head=$("$vsnic" cluster status --api "http://127.0.0.1:$((base + 2))" -o json 2>/dev/null | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["head"])')
h=${head#edge-}; w=$(( h % 3 + 1 ))
echo "head edge-$h; writing through edge-$w; SIGKILL to edge-$h after $((writes / 3)) writes"
: > acked; refused=0; first=""
for i in $(seq 0 $((writes - 1))); do
  if [ "$i" = $((writes / 3)) ]; then kill -9 "${pids[$h]}"; killed=$(date +%s%N); fi
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -X POST -H 'Content-Type: application/json' \
    "http://127.0.0.1:$((base + w))/v1/networks" \
    -d "{\"name\":\"n$i\",\"vni\":$((1000 + i)),\"subnets\":[{\"cidr\":\"10.$((i / 250)).$((i % 250)).0/24\",\"gateway\":\"10.$((i / 250)).$((i % 250)).1\"}]}")
  if [ "$code" = 201 ]; then echo "n$i" >> acked; if [ -n "${killed:-}" ] && [ -z "$first" ]; then first=$(date +%s%N); fi
  else refused=$((refused + 1)); fi
done
echo "acknowledged $(wc -l < acked), refused $refused; first write acknowledged $(( (first - killed) / 1000000 )) ms after SIGKILL"
status=0
for i in 1 2 3; do
  [ "$i" = "$h" ] && continue
  curl -s "http://127.0.0.1:$((base + i))/v1/networks?consistent=true" | /usr/bin/python3 -c "
import json, sys
names = {n['name'] for n in json.load(sys.stdin)['items']}
missing = [a.strip() for a in open('acked') if a.strip() not in names]
print('edge-$i: %d networks, acknowledged but missing: %s' % (len(names), missing or 'none'))
sys.exit(1 if missing else 0)" || status=1
done
"$vsnic" cluster status --api "http://127.0.0.1:$((base + w))" 2>/dev/null
exit $status
