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
                    c.setblocking(False)
                    sel.register(c, selectors.EVENT_READ, ("conn", svc))
                elif kind == "conn":
                    data = s.recv(65536)
                    if not data:
                        sel.unregister(s)
                        s.close()
                    else:
                        s.sendall(data if svc["echo"] else enc(svc["reply"]))
                elif kind == "udp":
                    data, peer = s.recvfrom(65536)
                    s.sendto(data if svc["echo"] else enc(svc["reply"]), peer)
            except OSError as e:
                out("log service %s error %s" % (svc["name"], e))
                try:
                    sel.unregister(s)
                except Exception:
                    pass
                s.close()

# ---- traffic ----
def t_tcp(t):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    timeout = t["timeoutNs"] / 1e9
    try:
        if t["bind"] is not None or t["sport"] is not None:
            s.bind((t["bind"] or "0.0.0.0", t["sport"] or 0))
        s.settimeout(timeout)
        s.connect((t["dst"], t["dport"]))
        if t["send"] is not None:
            s.sendall(enc(t["send"]))
            data = s.recv(65536)
            out("log tcp %s:%d reply %d bytes" % (t["dst"], t["dport"], len(data)))
        else:
            out("log tcp %s:%d connected" % (t["dst"], t["dport"]))
    except OSError as e:
        out("log tcp %s:%d %s" % (t["dst"], t["dport"], e))
    finally:
        s.close()

def t_udp(t):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        if t["bind"] is not None or t["sport"] is not None:
            s.bind((t["bind"] or "0.0.0.0", t["sport"] or 0))
        s.settimeout(t["timeoutNs"] / 1e9)
        s.sendto(enc(t["send"]), (t["dst"], t["dport"]))
        data = s.recv(65536)
        out("log udp %s:%d reply %d bytes" % (t["dst"], t["dport"], len(data)))
    except OSError as e:
        out("log udp %s:%d %s" % (t["dst"], t["dport"], e))
    finally:
        s.close()

def t_ping(t):
    interval = max(t["intervalNs"] / 1e9, 0.002)
    cmd = ["ping", "-n", "-c", str(t["count"]), "-s", str(t["size"]), "-i", "%.3f" % interval, "-W", "2", t["dst"]]
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
