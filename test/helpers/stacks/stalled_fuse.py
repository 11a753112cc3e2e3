#!/usr/bin/env python3
"""
A FUSE filesystem that never answers: mounts itself at DIR (raw /dev/fuse protocol, no libfuse),
answers FUSE_INIT, and leaves every later request (the LOOKUP of any file) unanswered. A process
that opens DIR/x then waits in the kernel, in D state (request_wait_answer), as a reader of a hung
NFS server or a failing disk does. Needs root (mount(2)). Prints "ready" once mounted; on SIGTERM
unmounts (lazily) and exits. Killing it aborts the connection: the waiters get ENOTCONN.
"""
import ctypes, os, signal, struct, sys

target = sys.argv[1]
libc = ctypes.CDLL(None, use_errno=True)
fd = os.open('/dev/fuse', os.O_RDWR)
opts = f'fd={fd},rootmode=40000,user_id=0,group_id=0'.encode()
if libc.mount(b'faultline-stalled', target.encode(), b'fuse', 0, opts) != 0:
    e = ctypes.get_errno()
    sys.stderr.write(f'mount {target}: {os.strerror(e)}\n')
    sys.exit(3)

def stop(*_):
    libc.umount2(target.encode(), 2)  # MNT_DETACH
    os._exit(0)

signal.signal(signal.SIGTERM, stop)
FUSE_INIT = 26
print('ready', flush=True)
while True:
    try:
        req = os.read(fd, 1 << 20)
    except OSError:
        stop()
    length, opcode, unique = struct.unpack_from('<IIQ', req, 0)
    if opcode == FUSE_INIT:
        major, minor = struct.unpack_from('<II', req, 40)
        # fuse_init_out: major, minor, max_readahead, flags, max_background, congestion_threshold,
        # max_write, time_gran, max_pages, map_alignment, flags2, unused[7]
        body = struct.pack('<IIIIHHIIHHI7I', 7, min(minor, 31), 65536, 0, 16, 12, 65536, 1, 32, 0, 0, *([0] * 7))
        os.write(fd, struct.pack('<IiQ', 16 + len(body), 0, unique) + body)
    # Everything else stays unanswered: the caller sleeps in D state until we die.
