#!/usr/bin/env python3
"""
An upstream on 127.0.0.1 (a stand-in for a database, a cache or an API): accepts every connection
and reads requests. Prints "port N" then "ready".

  upstream.py silent       never answers (a frozen or busy server)
  upstream.py http MS      an HTTP/1.1 server: answers each request after MS ms, keeps the
                           connection alive
  upstream.py answer MS    answers each request after MS ms ("ok"), except:
                           "HANG ..." is never answered (a query that never ends);
                           "LOCK KEY" answers "ok" once this connection holds KEY, which it keeps
                           until it closes: others asking for KEY wait (a row lock);
                           "SETNX KEY" answers "ok" to the first connection, "nil" to the others
                           (a lock kept in a cache, polled by its waiters).
"""
import socket, sys, threading, time

mode = sys.argv[1]
delay = int(sys.argv[2]) / 1000 if len(sys.argv) > 2 else 0
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(('127.0.0.1', 0))
srv.listen(512)
print('port', srv.getsockname()[1], flush=True)
print('ready', flush=True)
rows = {}  # KEY -> connection holding it
setnx = set()
cond = threading.Condition()


def serve(c):
    held = []
    buf = b''
    try:
        while True:
            data = c.recv(65536)
            if not data:
                return
            if mode == 'http':
                buf += data
                while b'\r\n\r\n' in buf:
                    _, buf = buf.split(b'\r\n\r\n', 1)
                    time.sleep(delay)
                    c.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\nok\n')
                continue
            if mode != 'answer':
                continue
            buf += data
            while b'\n' in buf:
                line, buf = buf.split(b'\n', 1)
                words = line.decode(errors='replace').split()
                if words[:1] == ['HANG']:
                    continue
                if words[:1] == ['LOCK'] and len(words) > 1:
                    with cond:
                        while rows.get(words[1], c) is not c:
                            cond.wait()
                        rows[words[1]] = c
                        held.append(words[1])
                    c.sendall(b'ok\n')
                    continue
                if words[:1] == ['SETNX'] and len(words) > 1:
                    with cond:
                        first = words[1] not in setnx
                        setnx.add(words[1])
                    c.sendall(b'ok\n' if first else b'nil\n')
                    continue
                time.sleep(delay)
                c.sendall(b'ok\n')
    except OSError:
        return
    finally:
        with cond:
            for k in held:
                rows.pop(k, None)
            cond.notify_all()


while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
