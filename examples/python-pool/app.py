"""A small pre-forked Python web service with the same bug class as faultline's bundled PHP app.

The master binds :80 and forks FL_MAX_WORKERS workers; each worker accept()s one connection at a
time, like Apache prefork. GET /profile takes the caller's session lock (flock on a per-session
file, held for the whole request, like a PHP file session) and reads the user's profile from the
profile upstream until the peer closes.

- incident (the code as it was): no timeout anywhere. A lost FIN leaves the worker in recv()
  forever, holding the session lock; every reload of that user blocks on the lock in another
  worker until the pool is full.
- fixed: the session is saved and its lock released before any network I/O, every socket
  operation has a timeout, and the request has an overall deadline (504 when it passes).

Stdlib only (Debian's python3). See README.md in this folder.
"""

import encodings.idna  # noqa: F401 -- imported before workers drop privileges (create_connection needs it)
import errno
import fcntl
import json
import os
import pwd
import re
import secrets
import signal
import socket
import sys
import time
from urllib.parse import parse_qs, urlsplit


def env(name, default):
    value = os.environ.get(name, '')
    return value if value else default


PORT = int(env('PORT', '80'))
MAX_WORKERS = int(env('FL_MAX_WORKERS', '8'))
PROFILE_ADDR = env('FL_PROFILE_ADDR', 'profile:9000')
TIMEOUT_MS = int(env('FL_TIMEOUT_MS', '2000'))
DEADLINE_MS = int(env('FL_DEADLINE_MS', '3000'))
SESSION_DIR = env('SESSION_DIR', '/var/lib/python-pool/sessions')
RUN_AS = env('RUN_AS', 'nobody')

SESSION_COOKIE = 'PYSESSID'
USER_PATTERN = re.compile(r'^[A-Za-z0-9._-]{1,64}$')
SESSION_PATTERN = re.compile(r'^[a-f0-9]{32}$')
# Reading the client's request is not the bug under test: bound it like Apache's Timeout does.
CLIENT_TIMEOUT_S = 10
MAX_HEAD = 16384


def log(message):
    sys.stderr.write(f'[python-pool {os.getpid()}] {message}\n')


class HttpError(Exception):
    def __init__(self, status, error):
        super().__init__(error)
        self.status = status
        self.error = error


class Request:
    def __init__(self, conn):
        self.started = time.monotonic()
        conn.settimeout(CLIENT_TIMEOUT_S)
        head = b''
        while b'\r\n\r\n' not in head:
            chunk = conn.recv(4096)
            if not chunk:
                raise ConnectionError('client closed before sending a request')
            head += chunk
            if len(head) > MAX_HEAD:
                raise HttpError(431, 'request head too large')
        conn.settimeout(None)
        lines = head.split(b'\r\n\r\n', 1)[0].decode('latin-1').split('\r\n')
        parts = lines[0].split(' ')
        if len(parts) != 3:
            raise HttpError(400, 'malformed request line')
        self.method, target, _ = parts
        url = urlsplit(target)
        self.path = url.path
        self.query = {k: v[0] for k, v in parse_qs(url.query).items()}
        self.headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(':')
            self.headers[name.strip().lower()] = value.strip()

    def cookie(self, name):
        for part in self.headers.get('cookie', '').split(';'):
            key, _, value = part.strip().partition('=')
            if key == name:
                return value
        return None

    def variant(self):
        """`variant=incident|fixed` query param, else the X-Faultline-Variant header, else incident."""
        v = self.query.get('variant', self.headers.get('x-faultline-variant', 'incident'))
        if v not in ('incident', 'fixed'):
            raise HttpError(400, f'variant must be incident or fixed, got {v!r}')
        return v

    def ms(self, param, default):
        raw = self.query.get(param, str(default))
        if not re.fullmatch(r'[0-9]{1,7}', raw) or int(raw) < 1:
            raise HttpError(400, f'{param} must be a number of milliseconds between 1 and 9999999')
        return int(raw)

    def elapsed_ms(self):
        return round((time.monotonic() - self.started) * 1000)


def respond(conn, status, body, content_type='application/json', headers=()):
    reason = {200: 'OK', 400: 'Bad Request', 404: 'Not Found', 405: 'Method Not Allowed',
              431: 'Request Header Fields Too Large', 500: 'Internal Server Error',
              502: 'Bad Gateway', 504: 'Gateway Timeout'}.get(status, 'Status')
    data = body.encode()
    head = [f'HTTP/1.1 {status} {reason}', f'Content-Type: {content_type}',
            f'Content-Length: {len(data)}', 'Cache-Control: no-store', 'Connection: close', *headers]
    try:
        conn.sendall(('\r\n'.join(head) + '\r\n\r\n').encode('latin-1') + data)
    except OSError:
        pass  # the client gave up (a browser's deadline): nobody to tell


def json_body(req, fields):
    return json.dumps({**fields, 'ms': req.elapsed_ms()}) + '\n'


class Session:
    """A file session: flock(LOCK_EX) on sess_<id>, held until save_and_close (PHP's model)."""

    def __init__(self, req):
        sid = req.cookie(SESSION_COOKIE)
        self.new = sid is None or not SESSION_PATTERN.match(sid)
        self.id = secrets.token_hex(16) if self.new else sid
        self.fd = os.open(os.path.join(SESSION_DIR, f'sess_{self.id}'), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fcntl.flock(self.fd, fcntl.LOCK_EX)  # no timeout: waits as long as the holder holds it
        raw = os.pread(self.fd, 65536, 0)
        try:
            self.data = json.loads(raw) if raw else {}
        except ValueError:
            self.data = {}

    def cookie_header(self):
        return [f'Set-Cookie: {SESSION_COOKIE}={self.id}; Path=/; HttpOnly'] if self.new else []

    def save_and_close(self):
        if self.fd < 0:
            return
        data = json.dumps(self.data).encode()
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, data, 0)
        os.close(self.fd)  # releases the flock
        self.fd = -1

    def close(self):
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def split_addr(addr):
    host, _, port = addr.rpartition(':')
    if not host or not port.isdigit():
        raise HttpError(500, f'upstream address must be host:port, got {addr!r}')
    return host, int(port)


def fetch_unbounded(user):
    """The code as it was: blocking connect, blocking recv until the peer closes. No timeout."""
    conn = socket.create_connection(split_addr(PROFILE_ADDR))
    try:
        conn.sendall(f'GET profile:{user}\n'.encode())
        chunks = []
        while True:
            chunk = conn.recv(8192)  # recvfrom(2) with no timeout: a lost FIN means forever
            if not chunk:
                return b''.join(chunks)
            chunks.append(chunk)
    finally:
        conn.close()


class UpstreamTimeout(Exception):
    pass


def fetch_bounded(user, req, timeout_ms, deadline_ms):
    """Every operation bounded by timeout_ms, cut to what the request's deadline leaves."""
    deadline = req.started + deadline_ms / 1000

    def op_timeout():
        left = deadline - time.monotonic()
        if left <= 0:
            raise UpstreamTimeout(f'deadline exceeded ({deadline_ms} ms)')
        return min(timeout_ms / 1000, left)

    try:
        conn = socket.create_connection(split_addr(PROFILE_ADDR), timeout=op_timeout())
    except socket.timeout:
        raise UpstreamTimeout(f'connect {PROFILE_ADDR}: no answer within the limit') from None
    try:
        conn.settimeout(op_timeout())
        conn.sendall(f'GET profile:{user}\n'.encode())
        chunks, size = [], 0
        while True:
            conn.settimeout(op_timeout())
            try:
                chunk = conn.recv(8192)
            except socket.timeout:
                raise UpstreamTimeout(
                    f'deadline exceeded ({deadline_ms} ms)' if time.monotonic() >= deadline
                    else f'upstream sent nothing for {timeout_ms} ms') from None
            if not chunk:
                return b''.join(chunks)
            chunks.append(chunk)
            size += len(chunk)
            if size > 1 << 20:
                raise HttpError(502, 'profile larger than 1 MiB')
    finally:
        conn.close()


def profile(conn, req):
    variant = req.variant()
    timeout_ms = req.ms('timeout_ms', TIMEOUT_MS)
    deadline_ms = req.ms('deadline_ms', DEADLINE_MS)
    session = Session(req)
    try:
        user = req.query.get('user', session.data.get('user', 'alice'))
        if not USER_PATTERN.match(user):
            raise HttpError(400, f'user must match {USER_PATTERN.pattern}')
        session.data['user'] = user
        session.data['profile_views'] = session.data.get('profile_views', 0) + 1
        base = {'variant': variant, 'user': user}
        if variant == 'incident':
            # The session lock stays held across the upstream read, as PHP holds it to script end.
            body = fetch_unbounded(user)
            session.save_and_close()
        else:
            session.save_and_close()  # no lock held during network I/O
            try:
                body = fetch_bounded(user, req, timeout_ms, deadline_ms)
            except UpstreamTimeout as e:
                respond(conn, 504, json_body(req, {'ok': False, **base, 'error': str(e), 'timeout_ms': timeout_ms,
                                                   'deadline_ms': deadline_ms}), headers=session.cookie_header())
                return 504
    except OSError as e:
        raise HttpError(502, f'profile upstream {PROFILE_ADDR}: {e.strerror or e}') from None
    finally:
        session.close()
    if not body:
        respond(conn, 404, json_body(req, {'ok': False, **base, 'error': 'profile not found'}), headers=session.cookie_header())
        return 404
    respond(conn, 200, json_body(req, {'ok': True, **base, 'profile': body.decode('utf-8', 'replace')}),
            headers=session.cookie_header())
    return 200


def handle(conn):
    req = None
    try:
        req = Request(conn)
        if req.method != 'GET':
            raise HttpError(405, 'only GET')
        if req.path == '/health':
            # Liveness only: no session, no upstream. If this does not answer, every worker is busy.
            respond(conn, 200, 'ok\n', 'text/plain')
            status = 200
        elif req.path == '/profile':
            status = profile(conn, req)
        else:
            raise HttpError(404, f'no route {req.path}')
    except HttpError as e:
        respond(conn, e.status, json.dumps({'ok': False, 'error': e.error}) + '\n')
        status = e.status
    except (ConnectionError, socket.timeout):
        return  # the client went away or never sent a request
    if req is not None:
        log(f'{req.method} {req.path} {status} {req.elapsed_ms()} ms')


def worker(listener):
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    if os.getuid() == 0:
        # Like Apache's children: serve as an unprivileged user, after the master bound :80.
        pw = pwd.getpwnam(RUN_AS)
        os.setgroups([])
        os.setgid(pw.pw_gid)
        os.setuid(pw.pw_uid)
    while True:
        conn, _ = listener.accept()  # accept4(2): an idle worker
        try:
            handle(conn)
        except Exception as e:  # one bad request must not cost the pool a worker
            log(f'error: {e!r}')
        finally:
            conn.close()


class Stop(Exception):
    pass


def main():
    os.makedirs(SESSION_DIR, mode=0o700, exist_ok=True)
    if os.getuid() == 0:
        pw = pwd.getpwnam(RUN_AS)
        os.chown(SESSION_DIR, pw.pw_uid, pw.pw_gid)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(('0.0.0.0', PORT))
    listener.listen(511)
    children = set()

    def spawn():
        pid = os.fork()
        if pid == 0:
            try:
                worker(listener)
            finally:
                os._exit(1)
        children.add(pid)

    def stop(signum, _frame):
        raise Stop(signum)

    # PID 1 in a container: without handlers SIGTERM would be ignored and `docker stop` would wait.
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for _ in range(MAX_WORKERS):
        spawn()
    log(f'listening on :{PORT} with {MAX_WORKERS} workers, profile upstream {PROFILE_ADDR}')
    try:
        while True:
            pid, status = os.wait()
            if pid in children:
                children.discard(pid)
                log(f'worker {pid} exited ({status}); starting another')
                time.sleep(0.1)
                spawn()
    except Stop:
        pass
    finally:
        for pid in children:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError as e:
                if e.errno != errno.ESRCH:
                    raise


if __name__ == '__main__':
    main()
