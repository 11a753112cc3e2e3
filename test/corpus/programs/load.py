# Clients for the corpus: CONCURRENCY connections to ADDR, each sending "REQ\n" and waiting for
# "DONE\n", back to back (THINK ms between). Bounded: stops after 600 s. Prints "ready".
# --http: each request is an HTTP/1.1 GET on a keep-alive connection instead.
# Usage: load.py ADDR CONCURRENCY [THINK_MS] [--http]   (ADDR: HOST:PORT or unix:PATH)
import socket, sys, threading, time
http = '--http' in sys.argv
argv = [a for a in sys.argv if a != '--http']
addr, n = argv[1], int(argv[2])
think = int(argv[3]) / 1000 if len(argv) > 3 else 0
deadline = time.monotonic() + 600
def connect():
    if addr.startswith('unix:'):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(addr[len('unix:'):])
        return s
    host, port = addr.rsplit(':', 1)
    return socket.create_connection((host, int(port)))
def client():
    s = connect()
    f = s.makefile('rb')
    while time.monotonic() < deadline:
        if http:
            s.sendall(b'GET / HTTP/1.1\r\nHost: app\r\n\r\n')
            length = 0
            while True:
                line = f.readline()
                if not line: return
                if line.lower().startswith(b'content-length:'): length = int(line.split(b':')[1])
                if line in (b'\r\n', b'\n'): break
            f.read(length)
        else:
            s.sendall(b'REQ\n')
            if not f.readline(): return
        if think: time.sleep(think)
for _ in range(n): threading.Thread(target=client, daemon=True).start()
sys.stdout.write('ready\n'); sys.stdout.flush()
time.sleep(600)
