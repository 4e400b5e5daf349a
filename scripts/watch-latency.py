#!/usr/bin/env python3
"""How fast a change in Consul reaches `discover --watch` (and so the library's change stream it prints).

Starts `consul-dev` on a free loopback port, three registered instances, and `discover --watch --json`; then makes
50 changes (add, re-weight, remove, in turn) through the HTTP API and measures, for each, the time from sending the
change to the matching line on discover's stdout. Prints p50/p99/max; the target is p99 <= 100 ms (the Go client
polls every 15 s).

usage: scripts/watch-latency.py [BINARY] [CHANGES]
"""
import json, os, queue, subprocess, sys, threading, time, urllib.request

binary = sys.argv[1] if len(sys.argv) > 1 else ".build-release/release/mindalpha-pool"
changes = int(sys.argv[2]) if len(sys.argv) > 2 else 50

def start(args):
    return subprocess.Popen([binary] + args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1)

agent = start(["consul-dev", "--listen", "127.0.0.1:0"])
watch = None
try:
    address = agent.stdout.readline().strip().rsplit("http://", 1)[1]

    def put(path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"http://{address}{path}", data=data, method="PUT")
        urllib.request.urlopen(req, timeout=5).read()

    def register(n, weight):
        put("/v1/agent/service/register", {
            "ID": f"bench-{n}", "Name": "bench", "Address": f"10.9.0.{n}", "Port": 9000,
            "Meta": {"balanceFactor": str(weight)}, "Check": {"TTL": "60s", "Status": "passing"}})

    for n in range(1, 4):
        register(n, 100)
    watch = start(["discover", "--service", "bench", "--consul", address, "--watch", "--json"])
    watch.stdout.readline()  # the initial document
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put((time.monotonic(), l)) for l in watch.stdout], daemon=True).start()
    time.sleep(0.3)

    latencies = []
    for i in range(changes):
        n = 10 + i // 3
        kind = ("added", "reweighted", "removed")[i % 3]
        sent = time.monotonic()
        if kind == "added":
            register(n, 200)
        elif kind == "reweighted":
            register(n, 50)
        else:
            put(f"/v1/agent/service/deregister/bench-{n}")
        while True:
            seen, line = lines.get(timeout=10)
            event = json.loads(line)
            if event["event"] == kind and event["serviceID"] == f"bench-{n}":
                latencies.append((seen - sent) * 1000)
                break
        time.sleep(0.02)

    latencies.sort()
    def pct(p):
        return latencies[min(len(latencies) - 1, int(round(p / 100 * len(latencies) + 0.5)) - 1)]
    print(f"changes={len(latencies)} p50_ms={pct(50):.1f} p99_ms={pct(99):.1f} max_ms={latencies[-1]:.1f} "
          f"target_p99_ms=100 go_client_poll_ms=15000 ratio_p99_to_go_poll={pct(99) / 15000:.5f}")
    sys.exit(0 if pct(99) <= 100 else 1)
finally:
    for p in (watch, agent):
        if p:
            p.terminate()
            p.wait(timeout=10)
