# A pre-forked worker pool for the diagnosis corpus, shaped like Apache prefork, gunicorn sync or
# PHP-FPM: a listener shared by N forked workers, each serving one client connection at a time.
# A request runs the --call steps in order against upstreams (each a real socket):
#   line:ADDR     send a query line, read the answer line (a database)
#   redis:ADDR    RESP GET, read the reply line (a Redis cache)
#   http:ADDR     an HTTP GET, read the response head (an internal API)
#   blpop:ADDR    RESP BLPOP jobs 1: Redis answers within 1 s, with a job or nil (a consumer)
#   rowlock:ADDR  "LOCK row1" before the rest of the steps, "UNLOCK row1" after (a row lock)
# ADDR is HOST:PORT or unix:PATH. Options:
#   --workers N         how many workers (default 3)
#   --listen ADDR       where clients connect (omit with --self)
#   --self              no clients: every worker runs requests back to back by itself (a poller)
#   --lock PATH         flock(PATH) around each request (a file session lock)
#   --pooled            connect to every upstream once at start and keep the connections
#   --timeout S         every upstream read times out after S s; the request is sent again
#   --request-bytes N   a request of N bytes instead of one short line
#   --work spin|sleep   after taking the lock, spin on the CPU or sleep instead of calling out
#   --tag TAG           ignored: makes the command line unique to its case
# Prints "mark worker PID" per worker, "mark locked PID" when a worker first holds the lock,
# "mark rowlock-holder PID" when a worker is granted the row lock, then "ready".
import fcntl, os, socket, sys, time

args = sys.argv[1:]
opts = {'workers': 3, 'calls': [], 'listen': None, 'self': False, 'lock': None, 'pooled': False,
        'timeout': None, 'request_bytes': 0, 'work': None}
i = 0
while i < len(args):
    a = args[i]
    if a == '--workers': opts['workers'] = int(args[i + 1]); i += 2
    elif a == '--call': opts['calls'].append(args[i + 1].split(':', 1)); i += 2
    elif a == '--listen': opts['listen'] = args[i + 1]; i += 2
    elif a == '--self': opts['self'] = True; i += 1
    elif a == '--lock': opts['lock'] = args[i + 1]; i += 2
    elif a == '--pooled': opts['pooled'] = True; i += 1
    elif a == '--timeout': opts['timeout'] = float(args[i + 1]); i += 2
    elif a == '--request-bytes': opts['request_bytes'] = int(args[i + 1]); i += 2
    elif a == '--work': opts['work'] = args[i + 1]; i += 2
    elif a == '--tag': i += 2
    else: sys.exit('prefork.py: unknown option ' + a)

def say(line):
    sys.stdout.write(line + '\n'); sys.stdout.flush()

def connect(addr):
    if addr.startswith('unix:'):
        s = socket.socket(socket.AF_UNIX); s.connect(addr[5:])
    else:
        host, port = addr.rsplit(':', 1)
        s = socket.socket()
        if opts['request_bytes']:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        s.connect((host, int(port)))
    if opts['timeout'] is not None:
        s.settimeout(opts['timeout'])
    return s

def read_until(s, end):
    buf = b''
    while end not in buf:
        data = s.recv(4096)     # raises socket.timeout with --timeout
        if not data: raise ConnectionError('upstream closed')
        buf += data
    return buf

def ask(s, request, end):
    # With --timeout this is a timeout-and-retry loop: a read that times out sends the request
    # again (a new attempt), so every wait is bounded and the process keeps cycling.
    while True:
        s.sendall(request)
        try:
            return read_until(s, end)
        except socket.timeout:
            continue

pool = {}
def conn_for(addr):
    if opts['pooled'] and addr in pool: return pool[addr]
    s = connect(addr)
    if opts['pooled']: pool[addr] = s
    return s

def done_with(addr, s):
    if not opts['pooled']: s.close()

def call(proto, addr):
    s = conn_for(addr)
    if proto == 'line':
        ask(s, (b'Q' * opts['request_bytes']) + b'SELECT 1\n', b'\n')
    elif proto == 'redis':
        ask(s, b'*2\r\n$3\r\nGET\r\n$7\r\nsession\r\n', b'\r\n')
    elif proto == 'blpop':
        ask(s, b'*3\r\n$5\r\nBLPOP\r\n$4\r\njobs\r\n$1\r\n1\r\n', b'\r\n')
    elif proto == 'http':
        ask(s, b'GET /v1/thing HTTP/1.1\r\nHost: api\r\n\r\n', b'\r\n\r\n')
    done_with(addr, s)

marked_lock = False
marked_row = False
def handle():
    global marked_lock, marked_row
    lockf = None
    if opts['lock']:
        lockf = open(opts['lock'], 'a+')
        fcntl.flock(lockf, fcntl.LOCK_EX)
        if not marked_lock: say('mark locked %d' % os.getpid()); marked_lock = True
    if opts['work'] == 'spin':
        while True: pass
    if opts['work'] == 'sleep':
        time.sleep(3600)
    row = None
    for proto, addr in opts['calls']:
        if proto == 'rowlock':
            row = conn_for(addr)
            row.sendall(b'LOCK row1\n'); read_until(row, b'\n')
            if not marked_row: say('mark rowlock-holder %d' % os.getpid()); marked_row = True
    for proto, addr in opts['calls']:
        if proto != 'rowlock': call(proto, addr)
    if row is not None:
        row.sendall(b'UNLOCK row1\n'); read_until(row, b'\n')
    if lockf: lockf.close()

srv = None
if opts['listen']:
    addr = opts['listen']
    if addr.startswith('unix:'):
        srv = socket.socket(socket.AF_UNIX); srv.bind(addr[5:]); srv.listen(64)
    else:
        srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        host, port = addr.rsplit(':', 1); srv.bind((host, int(port))); srv.listen(64)

deadline = time.monotonic() + 600   # a corpus case never lives this long
for n in range(opts['workers']):
    pid = os.fork()
    if pid == 0:
        try:
            if opts['pooled']:
                for proto, addr in opts['calls']: conn_for(addr)
            if opts['self']:
                while time.monotonic() < deadline: handle()
            else:
                while time.monotonic() < deadline:
                    c, _ = srv.accept()
                    f = c.makefile('rb')
                    for line in f:
                        handle(); c.sendall(b'DONE\n')
                    c.close()
        finally:
            os._exit(0)
    say('mark worker %d' % pid)
say('ready')
# The master waits for its workers, as a pool's master does.
try:
    while True: os.wait()
except ChildProcessError:
    pass
