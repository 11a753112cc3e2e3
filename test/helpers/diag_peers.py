# Lock-free waits on a peer, for the diagnoser's verdict tests (loopback and own netns only).
#   server              accept connections and never read or answer; prints `port N`
#   reader PORT [keepalive]  send a request to the server, then recv: silent-peer
#   writer PORT         write to the server, which never reads (small buffers): peer-not-reading
#   unreachable         in its own netns (unshare -n): the peer's packets are dropped (iptables
#                       INPUT on the loopback of this netns), send, then recv: unreachable-peer
# Prints `ready` once it is about to block.
import os, socket, subprocess, sys, time

role = sys.argv[1]
if role == 'server':
    srv = socket.socket()
    # Set before listen: accepted sockets inherit it, and the window they advertise stays small.
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    srv.bind(('127.0.0.1', 0)); srv.listen(16)
    sys.stdout.write('port %d\nready\n' % srv.getsockname()[1]); sys.stdout.flush()
    keep = []
    while True:
        conn, _ = srv.accept()
        keep.append(conn)  # open, never read, never answered
if role in ('reader', 'writer'):
    port = int(sys.argv[2])
else:
    srv = socket.socket(); srv.bind(('127.0.0.1', 0)); srv.listen(5)
    port = srv.getsockname()[1]
if role == 'unreachable':
    subprocess.run(['ip', 'link', 'set', 'lo', 'up'], check=True)
c = socket.socket()
if role == 'writer':
    c.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
if role == 'reader' and 'keepalive' in sys.argv[3:]:
    c.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 600)
c.connect(('127.0.0.1', port))
if role == 'unreachable':
    peer, _ = srv.accept()
    # Everything to the peer's port is dropped from now on: our request is never acknowledged.
    subprocess.run(['iptables', '-A', 'INPUT', '-p', 'tcp', '--dport', str(port), '-j', 'DROP'], check=True)
sys.stdout.write('ready\n'); sys.stdout.flush()
if role == 'writer':
    c.sendall(b'x' * 50_000_000)
else:
    c.sendall(b'SELECT 1;\n' * 9 if role == 'unreachable' else b'GET /\n')
    c.recv(10)
time.sleep(3600)
