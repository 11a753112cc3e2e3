#!/usr/bin/env python3
"""
One pre-forked-style worker (its own process) of an app that talks to a database, a cache and an
API on 127.0.0.1 (upstream.py plays each). Prints "ready" once in the state the test needs:

  django CACHE DB        serves requests in a loop: a cache GET, then a short database query
  slow-query CACHE DB    one cache GET (the connection stays open), then a query that never ends
  lock-holder CACHE DB   takes a lock kept in the cache (SETNX), then a query that never ends
  lock-poller CACHE      polls the same lock: SETNX, "nil", sleep 20 ms, retry (a polled lock)
  row-holder DB API      takes a row lock in the database (its transaction stays open), then
                         calls the API, which never answers
  row-waiter DB          asks for the same row lock: the database makes it wait
  unix-query PATH        queries a service on a UNIX socket in a loop (request, then the answer)
  unix-idle PATH LPATH   keeps a pooled connection to PATH open, idle in accept on its own
                         UNIX listener at LPATH (a worker between requests)
"""
import socket, sys, time


def conn(port):
    return socket.create_connection(('127.0.0.1', int(port)))


def ask(s, line):
    s.sendall(line.encode() + b'\n')
    return s.recv(64)


mode, ports = sys.argv[1], sys.argv[2:]
if mode == 'django':
    cache, db = conn(ports[0]), conn(ports[1])
    print('ready', flush=True)
    while True:
        ask(cache, 'GET session:42')
        ask(db, 'SELECT * FROM orders LIMIT 10')
elif mode in ('slow-query', 'lock-holder'):
    cache, db = conn(ports[0]), conn(ports[1])
    ask(cache, 'SETNX lock:checkout' if mode == 'lock-holder' else 'GET session:42')
    db.sendall(b'HANG SELECT pg_sleep(3600)\n')
    print('ready', flush=True)
    db.recv(64)
elif mode == 'lock-poller':
    cache = conn(ports[0])
    print('ready', flush=True)
    while ask(cache, 'SETNX lock:checkout') != b'ok\n':
        time.sleep(0.02)
elif mode == 'row-holder':
    db, api = conn(ports[0]), conn(ports[1])
    ask(db, 'LOCK orders:42')
    api.sendall(b'POST /charge HTTP/1.1\r\nHost: api\r\n\r\n')
    print('ready', flush=True)
    api.recv(64)
elif mode == 'row-waiter':
    db = conn(ports[0])
    db.sendall(b'LOCK orders:42\n')
    print('ready', flush=True)
    db.recv(64)
elif mode == 'unix-query':
    u = socket.socket(socket.AF_UNIX)
    u.connect(ports[0])
    # A request larger than the socket buffer fills a peer that does not read.
    u.sendall(b'GET /status\n')
    print('ready', flush=True)
    while u.recv(64):
        u.sendall(b'GET /status\n')
elif mode == 'unix-idle':
    u = socket.socket(socket.AF_UNIX)
    u.connect(ports[0])
    ask(u, 'PING')
    lsn = socket.socket(socket.AF_UNIX)
    lsn.bind(ports[1])
    lsn.listen()
    print('ready', flush=True)
    lsn.accept()
