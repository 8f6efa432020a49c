"""The soak's load (scripts/soak.sh): runs for MINUTES against the stack at ADDRESS, samples
the stack's RSS (/proc/PID/status) and connection count (the control socket's netstat)
every 10 s, and prints a summary. Every loop is bounded by the deadline."""
import json, os, random, socket, subprocess, sys, threading, time

address, minutes, pid, control = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
deadline = time.monotonic() + minutes * 60
lock = threading.Lock()
totals = {"bulk_bytes": 0, "rr": 0, "churn": 0, "udp_ok": 0, "udp_lost": 0, "errors": 0, "corrupt": 0}
errors = []


def add(key, n=1):
    with lock:
        totals[key] += n


def error(what):
    with lock:
        totals["errors"] += 1
        if len(errors) < 20:
            errors.append(what)


def bulk(seed):
    """Echo of 1 MiB blocks: both directions at once, every byte checked."""
    rnd = random.Random(seed)
    while time.monotonic() < deadline:
        try:
            c = socket.create_connection((address, 7), timeout=30)
            for _ in range(16):
                if time.monotonic() >= deadline:
                    break
                block = rnd.randbytes(1 << 20)
                sender = threading.Thread(target=c.sendall, args=(block,))
                sender.start()
                got = bytearray()
                while len(got) < len(block):
                    part = c.recv(1 << 16)
                    if not part:
                        break
                    got += part
                sender.join()
                if bytes(got) != block:
                    add("corrupt")
                    error("bulk: echoed bytes differ")
                    break
                add("bulk_bytes", 2 * len(block))
            c.close()
        except OSError as e:
            error("bulk: %s" % e)
            time.sleep(1)


def request_response():
    while time.monotonic() < deadline:
        try:
            c = socket.create_connection((address, 7), timeout=30)
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for i in range(10000):
                if time.monotonic() >= deadline:
                    break
                msg = b"request %08d" % i
                c.sendall(msg)
                got = b""
                while len(got) < len(msg):
                    part = c.recv(64)
                    if not part:
                        break
                    got += part
                if got != msg:
                    error("rr: %r" % got)
                    break
                add("rr")
            c.close()
        except OSError as e:
            error("rr: %s" % e)
            time.sleep(1)


def churn():
    i = 0
    while time.monotonic() < deadline:
        i += 1
        try:
            c = socket.create_connection((address, 7), timeout=30)
            msg = b"churn %d" % i
            c.sendall(msg)
            got = b""
            while len(got) < len(msg):
                part = c.recv(64)
                if not part:
                    break
                got += part
            c.close()
            if got != msg:
                error("churn: %r" % got)
            else:
                add("churn")
        except OSError as e:
            error("churn: %s" % e)
            time.sleep(1)
        time.sleep(0.01)


def udp():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1)
    rnd = random.Random(5)
    while time.monotonic() < deadline:
        payload = rnd.randbytes(rnd.randrange(1, 3000))
        s.sendto(payload, (address, 7))
        try:
            got, _ = s.recvfrom(4096)
            # UDP may lose datagrams under the fault injector; it must never alter one
            # (the checksum catches the corrupted ones: RFC 768).
            if got == payload:
                add("udp_ok")
            else:
                add("udp_lost")
        except socket.timeout:
            add("udp_lost")
        time.sleep(0.005)


def ping():
    while time.monotonic() < deadline:
        subprocess.run(["ping", "-q", "-c", "10", "-i", "0.2", "-W", "1", address], capture_output=True)


def sample():
    try:
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.settimeout(5)
        c.connect(control)
        c.sendall(b'{"op":"netstat"}\n')
        data = b""
        while not data.endswith(b"\n"):
            part = c.recv(1 << 16)
            if not part:
                break
            data += part
        c.close()
        rows = json.loads(data).get("sockets", [])
        connections = sum(1 for r in rows if r.get("proto") == "tcp" and r.get("state") != "LISTEN")
    except (OSError, ValueError):
        connections = -1
    rss = 0
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    return rss, connections


threads = [threading.Thread(target=bulk, args=(s,), daemon=True) for s in (1, 2)]
threads += [threading.Thread(target=f, daemon=True) for f in (request_response, churn, udp, ping)]
start = time.monotonic()
for t in threads:
    t.start()
samples = []
while time.monotonic() < deadline:
    time.sleep(min(10, max(0, deadline - time.monotonic())))
    if not os.path.exists("/proc/%d" % pid):
        error("the stack exited")
        break
    rss, connections = sample()
    t = time.monotonic() - start
    samples.append((t, rss, connections))
    with lock:
        snapshot = dict(totals)
    print("t=%5.0fs rss=%7d KiB connections=%4d bulk=%d MiB rr=%d churn=%d udp=%d/%d errors=%d"
          % (t, rss, connections, snapshot["bulk_bytes"] >> 20, snapshot["rr"], snapshot["churn"],
             snapshot["udp_ok"], snapshot["udp_ok"] + snapshot["udp_lost"], snapshot["errors"]), flush=True)
for t in threads:
    t.join(timeout=40)
window = 300 if minutes >= 10 else max(10, minutes * 60 / 4)
first = [r for (t, r, _) in samples if t <= window] or [0]
last = [r for (t, r, _) in samples if t >= samples[-1][0] - window] or [0] if samples else [0]
print("summary: %d min; RSS first %d s: mean %d KiB max %d KiB; last %d s: mean %d KiB max %d KiB"
      % (minutes, window, sum(first) / len(first), max(first), window, sum(last) / len(last), max(last)))
print("summary: bytes verified %d MiB (bulk, both ways), request/response %d, connections churned %d, "
      "UDP echoed %d of %d, errors %d, corrupted %d"
      % (totals["bulk_bytes"] >> 20, totals["rr"], totals["churn"], totals["udp_ok"],
         totals["udp_ok"] + totals["udp_lost"], totals["errors"], totals["corrupt"]))
for e in errors:
    print("error:", e)
sys.exit(1 if totals["corrupt"] or not os.path.exists("/proc/%d" % pid) else 0)
