#!/usr/bin/env python3
"""
A local service on a UNIX-domain socket at PATH (a stand-in for php-fpm's socket, a local Redis or
Postgres socket). Prints "ready" once listening.

  unix_upstream.py PATH silent        reads each request, never answers (blocked on its own upstream)
  unix_upstream.py PATH not-reading   accepts, never reads (every worker of it busy)
  unix_upstream.py PATH answer MS     answers each request after MS ms
"""
import os, socket, sys, threading, time

path, mode = sys.argv[1], sys.argv[2]
delay = int(sys.argv[3]) / 1000 if len(sys.argv) > 3 else 0
try:
    os.unlink(path)
except FileNotFoundError:
    pass
srv = socket.socket(socket.AF_UNIX)
srv.bind(path)
srv.listen(512)
print('ready', flush=True)
held = []


def serve(c):
    held.append(c)
    if mode == 'not-reading':
        return
    while True:
        data = c.recv(65536)
        if not data:
            return
        if mode == 'answer':
            time.sleep(delay)
            c.sendall(b'ok\n')


while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
