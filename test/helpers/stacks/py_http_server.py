#!/usr/bin/env python3
"""
A ThreadingHTTPServer on 127.0.0.1 whose every request queries an upstream on 127.0.0.1:PORT over
its own connection, without a timeout (a thread per request, as in a small Python web app). Sends
N requests to itself from client threads, prints "tid N" for each request thread once it has sent
its query, then "ready". `py_http_server.py PORT N`
"""
import http.client, socket, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, n = int(sys.argv[1]), int(sys.argv[2])
sent = threading.Barrier(n + 1)
out = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        db = socket.create_connection(('127.0.0.1', port))
        db.sendall(b'SELECT 1\n')
        with out:
            sys.stdout.write(f'tid {threading.get_native_id()}\n')
            sys.stdout.flush()
        sent.wait()
        db.recv(64)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


srv = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
threading.Thread(target=srv.serve_forever, daemon=True).start()


def client():
    c = http.client.HTTPConnection('127.0.0.1', srv.server_address[1])
    c.request('GET', '/')
    c.getresponse()


for _ in range(n):
    threading.Thread(target=client, daemon=True).start()
sent.wait()
print('ready', flush=True)
threading.Event().wait()
