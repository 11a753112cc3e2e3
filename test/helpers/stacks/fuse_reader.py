#!/usr/bin/env python3
"""
Reads PATH (a file on a filesystem that never answers, see stalled_fuse.py). SIGUSR1 has a handler,
so the test can interrupt FUSE's interruptible first wait: the kernel then sends FUSE_INTERRUPT
(left unanswered) and waits killably, in D state, as a reader on a hard NFS mount does.
"""
import os, signal, sys

signal.signal(signal.SIGUSR1, lambda *_: None)
print('ready', flush=True)
with open(sys.argv[1], 'rb') as f:
    f.read()
