#!/usr/bin/env python3
"""
An upstream on 127.0.0.1 (a stand-in for a database or an API): accepts every connection and reads
each request (any bytes). MODE silent: never answers (a frozen or busy server). MODE answer MS:
answers each read after MS milliseconds ("ok\\n"), like a query that takes that long. Prints
"port N" then "ready".
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
held = []

def serve(c):
    held.append(c)
    while True:
        try:
            data = c.recv(65536)
        except OSError:
            return
        if not data:
            return
        if mode == 'answer':
            time.sleep(delay)
            try:
                c.sendall(b'ok\n')
            except OSError:
                return

while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
