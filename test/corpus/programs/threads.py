# A thread-pool server for the corpus: one process whose request threads call an upstream.
#   threads.py executor ADDR THREADS UPSTREAM [--pooled] [--tag T]   main thread accepts client
#       connections and hands each request to a ThreadPoolExecutor (THREADS workers)
#   threads.py httpserver ADDR UPSTREAM [--tag T]   http.server.ThreadingHTTPServer: a thread
#       per request; GET / queries the upstream
# UPSTREAM is a line protocol (HOST:PORT or unix:PATH, see upstream.py). Each thread that runs a
# request prints "mark handler TID" (its native thread id) once. Prints "ready".
import http.server, socket, sys, threading, time
from concurrent.futures import ThreadPoolExecutor

mode = sys.argv[1]
marked = set()
mlock = threading.Lock()
local = threading.local()
pooled = '--pooled' in sys.argv

def say(line):
    sys.stdout.write(line + '\n'); sys.stdout.flush()

def mark():
    tid = threading.get_native_id()
    with mlock:
        if tid not in marked: marked.add(tid); say('mark handler %d' % tid)

def connect(addr):
    if addr.startswith('unix:'):
        s = socket.socket(socket.AF_UNIX); s.connect(addr[5:]); return s
    host, port = addr.rsplit(':', 1)
    return socket.create_connection((host, int(port)))

def query(addr):
    mark()
    s = getattr(local, 'conn', None) if pooled else None
    if s is None:
        s = connect(addr)
        if pooled: local.conn = s
    s.sendall(b'SELECT 1\n')
    buf = b''
    while b'\n' not in buf:
        d = s.recv(4096)
        if not d: break
        buf += d
    if not pooled: s.close()

def listen(addr):
    host, port = addr.rsplit(':', 1)
    srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((host, int(port))); srv.listen(64); return srv

if mode == 'executor':
    addr, n, upstream = sys.argv[2], int(sys.argv[3]), sys.argv[4]
    srv = listen(addr)
    pool = ThreadPoolExecutor(max_workers=n)
    if pooled:
        # Every pool thread opens its connection before any request (a connection pool).
        barrier = threading.Barrier(n + 1)
        def warm():
            local.conn = connect(upstream); barrier.wait(); time.sleep(0.2)
        for _ in range(n): pool.submit(warm)
        barrier.wait()
    def serve_client(c):
        f = c.makefile('rb')
        for _ in f:
            query(upstream); c.sendall(b'DONE\n')
    say('ready')
    while True:
        c, _ = srv.accept()
        pool.submit(serve_client, c)
else:
    addr, upstream = sys.argv[2], sys.argv[3]
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'
        def do_GET(self):
            query(upstream)
            self.send_response(200); self.send_header('Content-Length', '3'); self.end_headers()
            self.wfile.write(b'ok\n')
        def log_message(self, *a): pass
    host, port = addr.rsplit(':', 1)
    httpd = http.server.ThreadingHTTPServer((host, int(port)), Handler)
    say('ready')
    httpd.serve_forever()
