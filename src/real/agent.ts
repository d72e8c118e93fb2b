// The program `wirebox real` runs inside each network namespace: it opens the namespace's services
// (ordinary sockets, as the real captures were recorded with) and, at the shared start time, runs the
// namespace's traffic — TCP and UDP clients, iputils `ping`, and Docker 28's unsolicited ARPs.
//
// It is Python because Node 20 cannot set SO_REUSEPORT (net/dgram gained reusePort in Node 22.12),
// and because a packet socket is needed for the unsolicited ARP. python3 is on every machine wirebox
// runs `real` on (Debian); the runner checks for it.
//
// Protocol on stdio, one line each: the agent prints `ready` once every service is bound (or
// `error <text>` and exits 1); the runner sends `go <unix time in seconds>`; the agent prints
// `log <text>` lines as traffic completes and `done` when its last traffic entry has finished.

export const AGENT_PY = String.raw`
import json, os, selectors, socket, struct, subprocess, sys, threading, time

cfg = json.load(open(sys.argv[1]))
lock = threading.Lock()

def out(line):
    with lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

def enc(s):
    return s.encode("utf-8")

# Payloads as src/wire/payload.ts: a string, {"size": N} (N bytes of the pattern) or {"hex": "…"}.
PATTERN = b"0123456789abcdef"
CHUNK = 4 << 20  # src/world/stream.ts SNDBUF: one write for a payload that fits the send buffer

def plen(p):
    if isinstance(p, str):
        return len(enc(p))
    return p["size"] if "size" in p else len(p["hex"]) // 2

def pchunks(p):
    """The payload in pieces of at most CHUNK bytes, made as they are sent (a sized payload is never
    held whole)."""
    if isinstance(p, str):
        yield enc(p)
    elif "hex" in p:
        yield bytes.fromhex(p["hex"])
    else:
        block = PATTERN * (CHUNK // 16)
        left = p["size"]
        while left > 0:
            n = min(left, CHUNK)
            yield block[:n]
            left -= n

def pbytes(p):
    return b"".join(pchunks(p))

def send_payload(s, p):
    # one sendall for a payload up to CHUNK (one write, as the emulator makes it), pieces beyond
    for c in pchunks(p):
        s.sendall(c)

# ---- services ----
sel = selectors.DefaultSelector()

def tcp_service(svc):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if svc["reuseport"]:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.bind((svc["bind"], svc["port"]))
    s.listen(128)
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ, ("relay-listen" if svc.get("forward") else "listen", svc))

def udp_service(svc):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    if svc["reuseport"]:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.bind((svc["bind"], svc["port"]))
    s.setblocking(False)
    if svc.get("forward"):
        s.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
        sel.register(s, selectors.EVENT_READ, ("relay-udp", svc))
    else:
        sel.register(s, selectors.EVENT_READ, ("udp", svc))

# ---- relays (forward:), as moby's cmd/docker-proxy: tcp_proxy_linux.go and udp_proxy_linux.go ----
IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)

def relay_tcp(client, svc):
    fwd = svc["forward"]
    try:
        backend = socket.create_connection((fwd["ip"], fwd["port"]))
    except OSError as e:
        out("log relay %s dial %s:%d %s" % (svc["name"], fwd["ip"], fwd["port"], e))
        client.close()
        return
    done = []
    def broker(to, frm):
        try:
            while True:
                b = frm.recv(65536)
                if not b:
                    break
                to.sendall(b)
        except OSError:
            pass
        try:
            to.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        done.append(1)
    a = threading.Thread(target=broker, args=(client, backend), daemon=True)
    b = threading.Thread(target=broker, args=(backend, client), daemon=True)
    a.start(); b.start(); a.join(); b.join()
    client.close()
    backend.close()

def relay_udp_flow(listener, flow, local, peer):
    while True:
        try:
            b = flow.recv(65536)
        except OSError:
            return
        anc = [(socket.IPPROTO_IP, IP_PKTINFO, struct.pack("=I4s4s", 0, local, b"\0\0\0\0"))]
        try:
            listener.sendmsg([b], anc, 0, peer)
        except OSError as e:
            out("log relay reply %s" % e)

def relay_udp(listener, svc, flows):
    data, anc, _, peer = listener.recvmsg(65536, socket.CMSG_SPACE(12))
    local = b"\0\0\0\0"
    for level, kind, d in anc:
        if level == socket.IPPROTO_IP and kind == IP_PKTINFO:
            local = d[8:12]
    flow = flows.get(peer)
    if flow is None:
        fwd = svc["forward"]
        flow = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        flow.connect((fwd["ip"], fwd["port"]))
        flows[peer] = flow
        threading.Thread(target=relay_udp_flow, args=(listener, flow, local, peer), daemon=True).start()
    flow.send(data)

def tcp_conn(c, svc):
    # Answer each read with the reply (or the same bytes), close once the peer has closed.
    try:
        while True:
            data = c.recv(65536)
            if not data:
                break
            if svc["echo"]:
                c.sendall(data)
            else:
                send_payload(c, svc["reply"])
    except OSError as e:
        out("log service %s error %s" % (svc["name"], e))
    finally:
        c.close()

def serve():
    while True:
        for key, _ in sel.select():
            kind, svc = key.data
            s = key.fileobj
            try:
                if kind == "relay-listen":
                    c, _ = s.accept()
                    c.setblocking(True)
                    threading.Thread(target=relay_tcp, args=(c, svc), daemon=True).start()
                elif kind == "relay-udp":
                    relay_udp(s, svc, svc.setdefault("_flows", {}))
                elif kind == "listen":
                    c, _ = s.accept()
                    c.setblocking(True)
                    threading.Thread(target=tcp_conn, args=(c, svc), daemon=True).start()
                elif kind == "udp":
                    data, peer = s.recvfrom(65536)
                    s.sendto(data if svc["echo"] else pbytes(svc["reply"]), peer)
            except OSError as e:
                out("log service %s error %s" % (svc["name"], e))
                try:
                    sel.unregister(s)
                except Exception:
                    pass
                s.close()

# ---- traffic ----
def t_tcp(t):
    # count connections, intervalNs apart, each its own thread and ephemeral port
    if t["count"] == 1:
        tcp_one(t)
        return
    start, threads = time.time(), []
    for i in range(t["count"]):
        delay = start + i * t["intervalNs"] / 1e9 - time.time()
        if delay > 0:
            time.sleep(delay)
        th = threading.Thread(target=tcp_one, args=(t,), daemon=True)
        th.start()
        threads.append(th)
    for th in threads:
        th.join()

def tcp_one(t):
    # connect; requests x (send, read the whole reply: expectBytes, else until the peer closes); close.
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if t["ttl"] is not None:
        s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, t["ttl"])
    timeout = t["timeoutNs"] / 1e9
    what = "tcp %s:%d" % (t["dst"], t["dport"])
    got = 0
    try:
        if t["bind"] is not None or t["sport"] is not None:
            s.bind((t["bind"] or "0.0.0.0", t["sport"] or 0))
        s.settimeout(timeout)
        s.connect((t["dst"], t["dport"]))
        if t["send"] is None:
            out("log %s connected" % what)
            return
        expect = t["expectBytes"]
        for _ in range(t["requests"]):
            send_payload(s, t["send"])
            want = got + expect if expect is not None else None
            while want is None or got < want:
                data = s.recv(65536 if want is None else min(65536, want - got))
                if not data:
                    break
                got += len(data)
            if want is not None and got < want:
                break
        total = None if t["expectBytes"] is None else t["expectBytes"] * t["requests"]
        out("log %s reply %d bytes%s" % (what, got, "" if total is None or got >= total else " of %d (short)" % total))
    except OSError as e:
        out("log %s %s after %d bytes" % (what, e, got))
    finally:
        s.close()

def t_udp(t):
    # count datagrams, intervalNs apart, round-robin over flows sockets; count the replies.
    n, flows = t["count"], min(t["flows"], t["count"])
    data = pbytes(t["send"])
    what = "udp %s:%d" % (t["dst"], t["dport"])
    socks, replies, sent, errors = [], [0, 0], 0, []
    def reader(s):
        while True:
            try:
                d = s.recv(65536)
            except socket.timeout:
                continue
            except OSError as e:
                if s.fileno() >= 0:
                    errors.append(str(e))
                return
            with lock:
                replies[0] += 1
                replies[1] += len(d)
    start = time.time()
    try:
        for i in range(n):
            delay = start + i * t["intervalNs"] / 1e9 - time.time()
            if delay > 0:
                time.sleep(delay)
            if i < flows:
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                if t["bind"] is not None or t["sport"] is not None:
                    s.bind((t["bind"] or "0.0.0.0", t["sport"] or 0))
                if t["ttl"] is not None:
                    s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, t["ttl"])
                s.connect((t["dst"], t["dport"]))
                s.settimeout(0.2)
                socks.append(s)
                threading.Thread(target=reader, args=(s,), daemon=True).start()
            try:
                socks[i % flows].send(data)
                sent += 1
            except OSError as e:
                errors.append(str(e))
            if n == 1:
                break
        deadline = time.time() + t["timeoutNs"] / 1e9
        while time.time() < deadline and replies[0] < sent:
            time.sleep(0.005)
    finally:
        for s in socks:
            s.close()
    out("log %s %d sent, %d replies (%d bytes)%s" % (what, sent, replies[0], replies[1], "; " + errors[-1] if errors else ""))

def t_ping(t):
    interval = max(t["intervalNs"] / 1e9, 0.002)
    cmd = ["ping", "-n", "-c", str(t["count"]), "-s", str(t["size"]), "-i", "%.3f" % interval, "-W", "2"]
    if t["ttl"] is not None:
        cmd += ["-t", str(t["ttl"])]
    cmd.append(t["dst"])
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    last = [l for l in r.stdout.decode(errors="replace").splitlines() if "transmitted" in l]
    out("log ping %s %s" % (t["dst"], last[0] if last else "exit %d" % r.returncode))

def mac_bytes(m):
    return bytes(int(x, 16) for x in m.split(":"))

def t_announce(a):
    # Unsolicited ARP as Docker 28 sends it: a broadcast request whose sender and target are the address.
    ifname, addr = a["ifname"], socket.inet_aton(a["addr"])
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((ifname, 0))
    mac = s.getsockname()[4][:6]
    frame = b"\xff" * 6 + mac + b"\x08\x06" + struct.pack("!HHBBH", 1, 0x0800, 6, 4, a.get("op", 1)) + mac + addr + b"\x00" * 6 + addr
    for i in range(a["count"]):
        if i:
            time.sleep(a["intervalNs"] / 1e9)
        s.send(frame)
    s.close()

def main():
    try:
        for svc in cfg["services"]:
            (tcp_service if svc["proto"] == "tcp" else udp_service)(svc)
    except OSError as e:
        out("error service %s: %s" % (svc["name"], e))
        sys.exit(1)
    threading.Thread(target=serve, daemon=True).start()
    out("ready")
    line = sys.stdin.readline().split()
    if len(line) != 2 or line[0] != "go":
        sys.exit(0)
    t0 = float(line[1])
    jobs = [(a["atNs"], t_announce, a) for a in cfg["announce"]]
    for t in cfg["traffic"]:
        jobs.append((t["atNs"], {"tcp": t_tcp, "udp": t_udp, "ping": t_ping}[t["kind"]], t))
    threads = []
    for at, fn, arg in sorted(jobs, key=lambda j: j[0]):
        def run(fn=fn, arg=arg, at=at):
            delay = t0 + at / 1e9 - time.time()
            if delay > 0:
                time.sleep(delay)
            fn(arg)
        th = threading.Thread(target=run, daemon=True)
        th.start()
        threads.append(th)
    for th in threads:
        th.join()
    out("done")
    sys.stdin.readline()  # stay up (services) until the runner closes stdin

main()
`;
