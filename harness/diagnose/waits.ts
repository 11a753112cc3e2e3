/**
 * Wait decoding: what a thread is blocked on, from its /proc/PID/syscall line (per architecture),
 * then its fds: the pollfd array or fd_sets read through /proc/PID/mem, an epoll fd's fdinfo, or,
 * when memory is unreadable, the process's sockets.
 */
import type { FdEntry, IoDirection, ProcessSample, Unreadable, Wait } from './model';
import { asInt32, parseFdinfo, parseFdSet, parsePollfds, type SyscallLine } from './parse';
import type { ProcSnapshot } from './procfs';
import { decodeSyscall, F_OFD_SETLKW, F_SETLKW, POLLIN, POLLOUT, type Arch } from './syscalls';

/** poll() on more fds than this is not a worker waiting on one upstream; cap the memory read. */
const MAX_POLLFDS = 64;
const MAX_SELECT_NFDS = 1024;

export function addUnreadable(list: Unreadable[], file: string, error: string): void {
  if (!list.some((u) => u.file === file && u.error === error)) list.push({ file, error });
}

function targetsFromSockets(fds: FdEntry[]): Array<{ fd: number; direction: IoDirection }> {
  const out: Array<{ fd: number; direction: IoDirection }> = [];
  for (const fd of fds) {
    if (!fd.tcp) continue;
    const state = fd.tcp.state;
    if (state === 'LISTEN') out.push({ fd: fd.fd, direction: 'accept' });
    else if (state === 'SYN_SENT') out.push({ fd: fd.fd, direction: 'connect' });
    else if (state === 'TIME_WAIT' || state === 'CLOSE') continue;
    else out.push({ fd: fd.fd, direction: fd.tcp.txQueue > 0 ? 'write' : 'read' });
  }
  return out;
}

/**
 * A wait's timeout behind a pointer (ppoll/pselect6/epoll_pwait2: struct timespec; select: struct
 * timeval), read from /proc/PID/mem: both are two 64-bit little-endian words on x86_64 and aarch64.
 * NULL waits forever (-1). While the call sleeps the memory still holds what the caller passed
 * (select writes back the remaining time only on return). Undefined when unreadable.
 */
function timeoutAt(snap: ProcSnapshot, proc: ProcessSample, ptr: bigint | undefined, unit: 'timespec' | 'timeval'): number | undefined {
  if (ptr === undefined) return undefined;
  if (ptr === 0n) return -1;
  const mem = snap.readMem(proc.pid, ptr, 16);
  if (!mem.ok || mem.bytes.length < 16) {
    addUnreadable(proc.unreadable, 'mem', mem.ok ? 'short read' : mem.error);
    return undefined;
  }
  const sec = Number(mem.bytes.readBigInt64LE(0));
  const frac = Number(mem.bytes.readBigInt64LE(8));
  if (sec < 0 || frac < 0) return undefined;
  return Math.round(sec * 1000 + (unit === 'timespec' ? frac / 1e6 : frac / 1e3));
}

function directionOf(events: number): IoDirection {
  // POLLOUT (and EPOLLOUT) share bit 0x4; a wait for both is dominated by the write.
  if (events & POLLOUT) return 'write';
  if (events & POLLIN) return 'read';
  return 'read';
}

/** What decodeWait fills in: the process itself (main thread) or one of its threads. */
interface WaitView {
  state: string;
  syscallText?: string;
  syscallName?: string;
}

/**
 * Decode what a thread waits on: the syscall, then the fds (pollfd array, fd_set, epoll). The fd
 * table and the memory are the process's (shared by its threads); `view` is the thread whose
 * syscall line this is, `syscallFile` the name its syscall file is noted under when unreadable.
 */
export function decodeWait(
  snap: ProcSnapshot,
  arch: Arch,
  proc: ProcessSample,
  line: SyscallLine | undefined,
  view: WaitView,
  syscallFile: string,
): Wait {
  if (!line) {
    const denied = proc.unreadable.find((u) => u.file === syscallFile);
    if (view.state === 'R') return { type: 'running' };
    return {
      type: 'unknown',
      reason: denied ? `syscall unreadable (${denied.error})` : 'syscall unreadable or malformed',
    };
  }
  if (line.kind === 'running') {
    view.syscallText = 'running';
    return { type: 'running' };
  }
  if (line.kind === 'not-in-syscall') {
    view.syscallText = 'not in a syscall';
    return view.state === 'R' ? { type: 'running' } : { type: 'not-in-syscall' };
  }
  const def = decodeSyscall(arch, line.nr);
  view.syscallName = def.name;
  const a = line.args;
  const fdArg = asInt32(a[0]);
  const fds = proc.fds ?? [];
  const fallback = (reason: string, syscall: string, timeoutMs?: number): Wait => ({
    type: 'io',
    syscall,
    targets: targetsFromSockets(fds),
    source: 'sockets-fallback',
    timeoutMs,
    fallbackReason: reason,
  });

  switch (def.cls) {
    case 'read':
    case 'write':
    case 'connect':
    case 'accept': {
      view.syscallText = `${def.name}(fd ${fdArg ?? '?'})`;
      if (fdArg === undefined) return fallback('truncated syscall line', def.name);
      return { type: 'io', syscall: def.name, targets: [{ fd: fdArg, direction: def.cls }], source: 'syscall-arg' };
    }
    case 'poll': {
      const nfds = Number(a[1] ?? 0n);
      // poll's timeout is an int in ms; ppoll's is a timespec pointer (NULL = forever).
      const timeoutMs = def.name === 'poll' ? asInt32(a[2]) : timeoutAt(snap, proc, a[2], 'timespec');
      view.syscallText = `${def.name}(${nfds} fd${nfds === 1 ? '' : 's'}${timeoutMs !== undefined ? `, timeout ${timeoutMs}` : ''})`;
      if (nfds === 0) return { type: 'sleep', syscall: def.name };
      if (a[0] === undefined || nfds > MAX_POLLFDS) return fallback(`${nfds} pollfds not read`, def.name, timeoutMs);
      const mem = snap.readMem(proc.pid, a[0], nfds * 8);
      if (!mem.ok || mem.bytes.length < nfds * 8) {
        const error = mem.ok ? 'short read' : mem.error;
        addUnreadable(proc.unreadable, 'mem', error);
        return fallback(`pollfd array unreadable (${error})`, def.name, timeoutMs);
      }
      const targets = parsePollfds(mem.bytes)
        .filter((p) => p.fd >= 0)
        .map((p) => ({ fd: p.fd, direction: directionOf(p.events) }));
      return { type: 'io', syscall: def.name, targets, source: 'pollfd', timeoutMs };
    }
    case 'select': {
      const nfds = Math.min(Number(a[0] ?? 0n), MAX_SELECT_NFDS);
      const readPtr = a[1] ?? 0n;
      const writePtr = a[2] ?? 0n;
      if (nfds === 0 || (readPtr === 0n && writePtr === 0n)) {
        view.syscallText = `${def.name}(nfds ${nfds})`;
        return { type: 'sleep', syscall: def.name };
      }
      // select's timeout is a struct timeval pointer, pselect6's a struct timespec pointer.
      const timeoutMs = timeoutAt(snap, proc, a[4], def.name === 'select' ? 'timeval' : 'timespec');
      view.syscallText = `${def.name}(nfds ${nfds}${timeoutMs !== undefined ? `, timeout ${timeoutMs}` : ''})`;
      const len = Math.ceil(nfds / 64) * 8;
      const targets: Array<{ fd: number; direction: IoDirection }> = [];
      for (const [ptr, direction] of [
        [readPtr, 'read'],
        [writePtr, 'write'],
      ] as const) {
        if (ptr === 0n) continue;
        const mem = snap.readMem(proc.pid, ptr, len);
        if (!mem.ok) {
          addUnreadable(proc.unreadable, 'mem', mem.error);
          return fallback(`fd_set unreadable (${mem.error})`, def.name, timeoutMs);
        }
        for (const fd of parseFdSet(mem.bytes, nfds)) targets.push({ fd, direction });
      }
      return { type: 'io', syscall: def.name, targets, source: 'fd_set', timeoutMs };
    }
    case 'epoll': {
      // epoll_wait/epoll_pwait take an int in ms; epoll_pwait2 a timespec pointer (NULL = forever).
      const timeoutMs = def.name === 'epoll_pwait2' ? timeoutAt(snap, proc, a[3], 'timespec') : asInt32(a[3]);
      view.syscallText = `${def.name}(epfd ${fdArg ?? '?'}, timeout ${timeoutMs ?? '?'})`;
      if (fdArg === undefined) return fallback('truncated syscall line', def.name, timeoutMs);
      const info = snap.read(`${proc.pid}/fdinfo/${fdArg}`);
      if (!info.ok) {
        addUnreadable(proc.unreadable, `fdinfo/${fdArg}`, info.error);
        return fallback(`epoll fdinfo unreadable (${info.error})`, def.name, timeoutMs);
      }
      const targets = parseFdinfo(info.text).epollTargets.map((t) => ({ fd: t.fd, direction: directionOf(t.events) }));
      return { type: 'io', syscall: def.name, targets, source: 'epoll-fdinfo', timeoutMs };
    }
    case 'flock': {
      view.syscallText = `flock(fd ${fdArg ?? '?'}, ${a[1] === 2n ? 'LOCK_EX' : a[1] === 1n ? 'LOCK_SH' : `op ${a[1] ?? '?'}`})`;
      return { type: 'lock', syscall: 'flock', fd: fdArg };
    }
    case 'fcntl': {
      const cmd = asInt32(a[1]);
      if (cmd === F_SETLKW || cmd === F_OFD_SETLKW) {
        view.syscallText = `fcntl(fd ${fdArg ?? '?'}, ${cmd === F_SETLKW ? 'F_SETLKW' : 'F_OFD_SETLKW'})`;
        return { type: 'lock', syscall: 'fcntl', fd: fdArg };
      }
      view.syscallText = `fcntl(fd ${fdArg ?? '?'}, cmd ${cmd ?? '?'})`;
      return { type: 'other', syscall: 'fcntl' };
    }
    case 'sleep':
      view.syscallText = def.name;
      return { type: 'sleep', syscall: def.name };
    default:
      view.syscallText = def.name;
      return { type: 'other', syscall: def.name };
  }
}

