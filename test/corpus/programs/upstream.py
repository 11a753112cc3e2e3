# A stand-in upstream for the diagnosis corpus (loopback, a UNIX path, or an address inside a
# network namespace the case created). Each mode is one way a real upstream behaves:
#   silent       accepts, reads requests, never answers (a frozen or busy server, a lost FIN)
#   delay MS     answers every request line after MS ms (a database doing an ordinary query)
#   trickle      answers one byte every 50 ms and never finishes the line (a slow peer)
#   noread       accepts and never reads (its receive window fills: a peer that does not read)
#   longpoll S   an HTTP long-poll endpoint: holds each request S seconds, then answers 204
#   http-silent  an HTTP API that reads the request and never answers
#   http-fast    an HTTP server that answers every request at once (keep-alive)
#   rowdb        a database with row locks: "LOCK k" answers when k is free (queued otherwise),
#                "UNLOCK k" releases, anything else answers at once
# Usage: upstream.py MODE ADDR [ARG] [--silent-first N]   (ADDR: HOST:PORT or unix:PATH).
# --silent-first N: the first N connections get no answer at all (one stuck backend connection
# among healthy ones). Prints "ready".
import os, socket, sys, threading, time

argv = sys.argv[1:]
silent_first = 0
if '--silent-first' in argv:
    i = argv.index('--silent-first'); silent_first = int(argv[i + 1]); del argv[i:i + 2]
mode, addr = argv[0], argv[1]
arg = argv[2] if len(argv) > 2 else None

if addr.startswith('unix:'):
    path = addr[5:]
    try: os.unlink(path)
    except FileNotFoundError: pass
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(path)
else:
    host, port = addr.rsplit(':', 1)
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if mode == 'noread':
        # A small receive buffer fills at once, so the sender's window closes within a few KB.
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    srv.bind((host, int(port)))
srv.listen(128)
sys.stdout.write('ready\n'); sys.stdout.flush()

keep = []
row_locks = {}           # key -> owning connection
row_waiters = {}         # key -> [connections waiting, in order]
row_mutex = threading.Lock()

def lines(conn):
    buf = b''
    while True:
        data = conn.recv(65536)
        if not data: return
        buf += data
        while b'\n' in buf:
            line, buf = buf.split(b'\n', 1)
            yield line.decode(errors='replace').strip()

def http_requests(conn):
    buf = b''
    while True:
        data = conn.recv(65536)
        if not data: return
        buf += data
        while b'\r\n\r\n' in buf:
            head, buf = buf.split(b'\r\n\r\n', 1)
            yield head

def serve(conn, n):
    try:
        if mode == 'silent' or mode == 'http-silent' or n < silent_first:
            for _ in lines(conn): pass
        elif mode == 'noread':
            time.sleep(3600)
        elif mode == 'delay':
            for _ in lines(conn):
                time.sleep(int(arg) / 1000)
                conn.sendall(b'OK\n')
        elif mode == 'trickle':
            for _ in range(72000):
                conn.sendall(b'x'); time.sleep(0.05)
        elif mode == 'longpoll':
            for _ in http_requests(conn):
                time.sleep(float(arg))
                conn.sendall(b'HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n')
        elif mode == 'http-fast':
            for _ in http_requests(conn):
                conn.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\nok\n')
        elif mode == 'rowdb':
            held = set()
            for line in lines(conn):
                verb, _, key = line.partition(' ')
                if verb == 'LOCK':
                    with row_mutex:
                        if key not in row_locks:
                            row_locks[key] = conn; held.add(key); conn.sendall(b'OK\n')
                        else:
                            row_waiters.setdefault(key, []).append((conn, held))
                elif verb == 'UNLOCK':
                    with row_mutex:
                        release(key, held)
                    conn.sendall(b'OK\n')
                else:
                    conn.sendall(b'OK\n')
    except OSError:
        pass
    finally:
        conn.close()

def release(key, held):
    held.discard(key)
    row_locks.pop(key, None)
    queue = row_waiters.get(key) or []
    if queue:
        nxt, nheld = queue.pop(0)
        row_locks[key] = nxt; nheld.add(key)
        try: nxt.sendall(b'OK\n')
        except OSError: pass

deadline = time.monotonic() + 600   # a corpus case never lives this long; never run unbounded
while time.monotonic() < deadline:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c, len(keep)), daemon=True).start()
    keep.append(c)
