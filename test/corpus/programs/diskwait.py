# D state, honestly: a FUSE filesystem whose daemon never answers (as a hung NFS server or a stuck
# FUSE daemon does). This process opens /dev/fuse, mounts it at MNT and never reads a request;
# WORKERS forked workers then stat a session file on it. Until the daemon answers FUSE_INIT the
# kernel parks every request in fuse_get_req in TASK_KILLABLE: state D, wchan fuse_get_req.
# Run it under `unshare -m --propagation private` (the corpus does): the mount lives in a mount
# namespace of its own and vanishes with these processes, even when they are killed.
# Usage: diskwait.py MNT WORKERS [--tag T]. Prints "mark worker PID" per worker, then "ready".
import ctypes, os, sys, time
mnt, workers = sys.argv[1], int(sys.argv[2])
os.makedirs(mnt, exist_ok=True)
libc = ctypes.CDLL(None, use_errno=True)
fd = os.open('/dev/fuse', os.O_RDWR)
opts = 'fd=%d,rootmode=40000,user_id=0,group_id=0' % fd
if libc.mount(b'corpusfs', mnt.encode(), b'fuse', 0, opts.encode()) != 0:
    sys.exit('diskwait.py: mount fuse at %s: %s' % (mnt, os.strerror(ctypes.get_errno())))
for _ in range(workers):
    pid = os.fork()
    if pid == 0:
        os.close(fd)
        try: os.stat(os.path.join(mnt, 'sessions', 'sess_abc'))
        finally: os._exit(0)
    sys.stdout.write('mark worker %d\n' % pid)
sys.stdout.write('ready\n'); sys.stdout.flush()
time.sleep(600)   # bounded: a corpus case never lives this long
