#!/usr/bin/env python3
"""
A Python thread pool (concurrent.futures.ThreadPoolExecutor) whose tasks query an upstream on
127.0.0.1:PORT over their own connections: connect, send a query, read the answer (no timeout),
in a loop. WORKERS pool threads, TASKS tasks running at once (the other threads idle on the
executor's queue, in futex). Prints "tid N" for each thread that runs a task, then "ready" once
every task sent its first query.
"""
import socket, sys, threading
from concurrent.futures import ThreadPoolExecutor

port, workers, tasks = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
started = threading.Barrier(tasks + 1)
out = threading.Lock()

def task():
    with out:  # print() from threads may interleave its pieces
        sys.stdout.write(f'tid {threading.get_native_id()}\n')
        sys.stdout.flush()
    s = socket.create_connection(('127.0.0.1', port))
    first = True
    while True:
        s.sendall(b'SELECT 1\n')
        if first:
            first = False
            started.wait()
        if not s.recv(64):
            return

pool = ThreadPoolExecutor(max_workers=workers)
# Start every worker thread (the executor spawns them lazily), then give TASKS of them a task.
for f in [pool.submit(lambda: None) for _ in range(workers)]:
    f.result()
futures = [pool.submit(task) for _ in range(tasks)]
started.wait()
print('ready', flush=True)
for f in futures:
    f.result()
