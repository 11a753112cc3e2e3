/**
 * Reading one process from a procfs snapshot: stat, cmdline and syscall for every process; for
 * those not already explained by /proc/locks, status, io, the netns, wchan, sched, the fds (and a
 * lock holder's fdinfo) and, multi-threaded, every thread's own files (task/TID/…).
 */
import type { CollectCarry } from './carry';
import type { FdEntry, FdType, ProcessSample, ThreadSample, Unreadable } from './model';
import {
  parseCmdline,
  parseFdinfo,
  parseIo,
  parseSchedExecStart,
  parseStat,
  parseStatus,
  parseSyscallLine,
  socketInode,
  type StatInfo,
  type SyscallLine,
} from './parse';
import { isDenied, isGone, type ProcSnapshot } from './procfs';
import { addUnreadable } from './waits';

/** Threads read per process (a JVM may run thousands); the rest are left out, and said so. */
export const MAX_THREADS = 1024;

function fdType(target: string): FdType {
  if (target.startsWith('socket:')) return 'socket';
  if (target.startsWith('pipe:')) return 'pipe';
  if (target.startsWith('anon_inode:')) return 'anon';
  if (target.startsWith('/')) return 'file';
  return 'other';
}

export interface ReadProcessOptions {
  /** Read the fdinfo of its files (a lock holder's, for the locked file's path and fd). */
  wantLockInfo: boolean;
  uptimeS: number | undefined;
  /** A waiter /proc/locks already shows: stat, cmdline and syscall only (sched in the last sample). */
  light: boolean;
  lastSample: boolean;
  /** Across a watch's ticks: command lines already read (see CollectCarry). */
  carry?: CollectCarry;
}

export interface ProcessRead {
  sample: ProcessSample;
  syscall: SyscallLine | undefined;
  netns: string;
  threads?: ThreadRead[];
}

export function readProcess(snap: ProcSnapshot, pid: number, options: ReadProcessOptions): ProcessRead | undefined {
  const { wantLockInfo, uptimeS, light, lastSample, carry } = options;
  const unreadable: Unreadable[] = [];
  const note = (file: string, error: string): void => {
    if (!isGone(error)) addUnreadable(unreadable, file, error);
  };
  const statFile = snap.read(`${pid}/stat`);
  if (!statFile.ok) return undefined;
  const stat = parseStat(statFile.text);
  if (!stat) return undefined;

  let cmdline = light ? carry?.cmdline(pid, stat) : undefined;
  if (cmdline === undefined) {
    const cmdFile = snap.read(`${pid}/cmdline`);
    cmdline = cmdFile.ok ? parseCmdline(cmdFile.text) : '';
    if (cmdFile.ok) carry?.rememberCmdline(pid, stat, cmdline);
  }

  // A light waiter a watch saw last tick, not scheduled since (its schedstat the same): its
  // syscall line and exec_start are the same too, and are not read again (carry.ts).
  const schedstat = light && carry ? snap.read(`${pid}/schedstat`) : undefined;
  const kept = schedstat?.ok ? carry?.waiter(pid, stat, schedstat.text) : undefined;
  const syscallFile = kept ? ({ ok: true, text: kept.syscallText } as const) : snap.read(`${pid}/syscall`);
  const syscall = syscallFile.ok ? parseSyscallLine(syscallFile.text) : undefined;
  if (!syscallFile.ok) note('syscall', syscallFile.error);
  // Its stat was there, its syscall is not: it exited while being read.
  const vanished = !syscallFile.ok && isGone(syscallFile.error);

  // What every sample carries; waiters already seen in /proc/locks ("light") get no more.
  const base: ProcessSample = {
    pid,
    command: stat.comm,
    cmdline,
    state: stat.state,
    ppid: stat.ppid,
    syscall,
    wait: { type: 'unknown', reason: 'not decoded' },
    unreadable,
    tid: pid,
    ...(vanished ? { vanished } : {}),
  };
  if (light) {
    // A lock waiter's age (how long it has queued) is reported from the last sample only: one
    // more small read per waiter, where a pool is mostly waiters.
    let execStart = kept?.execStartMs;
    if (lastSample || schedstat?.ok) execStart ??= readExecStart(snap, `${pid}/sched`);
    if (schedstat?.ok && syscallFile.ok && !kept) carry?.rememberWaiter(pid, stat, schedstat.text, syscallFile.text, execStart);
    if (lastSample) base.notRunForMs = notRunForAt(snap, execStart, uptimeS, stat);
    return { sample: base, syscall, netns: 'unknown' };
  }

  const statusFile = snap.read(`${pid}/status`);
  const status = statusFile.ok ? parseStatus(statusFile.text) : {};
  if (!statusFile.ok) note('status', statusFile.error);

  const ioFile = snap.read(`${pid}/io`);
  const io = ioFile.ok ? parseIo(ioFile.text) : undefined;
  if (!ioFile.ok) note('io', ioFile.error);

  const ns = snap.readLink(`${pid}/ns/net`);
  // Without ptrace access the netns link is unreadable: assume the reader's own netns.
  const netns = ns.ok ? ns.text.trim() : 'unknown';
  if (!ns.ok) note('ns/net', ns.error);

  // wchan needs the same ptrace read access as io and ns/net, but the kernel prints "0" instead of
  // failing: when either of those was denied, so was wchan.
  const readDenied = [ioFile, ns].find((r): r is { ok: false; error: string } => !r.ok && isDenied(r.error))?.error;
  const wchan = readWchan(snap, `${pid}/wchan`, 'wchan', readDenied, note);

  const notRunForMs = readNotRunFor(snap, `${pid}/sched`, uptimeS, stat);

  let fds: FdEntry[] | undefined;
  const fdList = snap.listFds(pid);
  if (fdList.ok) {
    fds = fdList.fds.map((link) => {
      const entry: FdEntry = { fd: link.fd, target: link.target, type: fdType(link.target) };
      const inode = socketInode(link.target);
      if (inode !== undefined) entry.socketInode = inode;
      if (wantLockInfo && entry.type === 'file') {
        const info = snap.read(`${pid}/fdinfo/${link.fd}`);
        if (info.ok) entry.fdinfo = parseFdinfo(info.text);
      }
      return entry;
    });
  } else {
    note('fd', fdList.error);
  }

  // Multi-threaded: every thread's stat, syscall, wchan, status and sched (task/TID/…). A
  // single-threaded process's only thread is the main one, already read.
  const threads = stat.threads === 1 ? undefined : readThreads(snap, pid, readDenied, uptimeS, note, unreadable);

  const sample: ProcessSample = {
    ...base,
    uid: status.uid,
    threads: stat.threads,
    cpuTicks: cpuTicks(stat),
    voluntaryCtxt: status.voluntaryCtxt,
    nonvoluntaryCtxt: status.nonvoluntaryCtxt,
    wchan,
    fds,
    netns,
    io,
    notRunForMs,
  };
  return { sample, syscall, netns, threads };
}

/** utime+stime, or undefined when either field was malformed. */
function cpuTicks(stat: StatInfo): number | undefined {
  return stat.utimeTicks === undefined || stat.stimeTicks === undefined ? undefined : stat.utimeTicks + stat.stimeTicks;
}

function readWchan(
  snap: ProcSnapshot,
  relPath: string,
  file: string,
  readDenied: string | undefined,
  note: (file: string, error: string) => void,
): string | undefined {
  const r = snap.read(relPath);
  if (!r.ok) {
    note(file, r.error);
    return undefined;
  }
  const text = r.text.trim();
  if (text === '0' || text === '') {
    if (readDenied) note(file, readDenied);
    return undefined;
  }
  return text;
}

/** USER_HZ: /proc/PID/stat counts start time in these (100 on every Linux ABI faultline decodes). */
const TICKS_PER_S = 100;

/**
 * How long a task has not run (ms): uptime minus its sched's exec_start, less the lag of the task
 * clock of the CPU it last ran on (cpu-clock.ts), and never longer than the task has existed.
 */
export function notRunFor(uptimeS: number, execStartMs: number, stat: StatInfo, lagMs: number | undefined): number {
  let ms = uptimeS * 1000 - execStartMs - (lagMs ?? 0);
  if (stat.startTimeTicks !== undefined) ms = Math.min(ms, uptimeS * 1000 - (stat.startTimeTicks * 1000) / TICKS_PER_S);
  return Math.max(0, Math.round(ms));
}

function readExecStart(snap: ProcSnapshot, relPath: string): number | undefined {
  const sched = snap.read(relPath);
  return sched.ok ? parseSchedExecStart(sched.text) : undefined;
}

function readNotRunFor(snap: ProcSnapshot, relPath: string, uptimeS: number | undefined, stat: StatInfo): number | undefined {
  return notRunForAt(snap, readExecStart(snap, relPath), uptimeS, stat);
}

function notRunForAt(snap: ProcSnapshot, execStart: number | undefined, uptimeS: number | undefined, stat: StatInfo): number | undefined {
  if (execStart === undefined || uptimeS === undefined) return undefined;
  const lag = stat.processor === undefined ? undefined : snap.clockLagMs?.(stat.processor);
  return notRunFor(uptimeS, execStart, stat, lag);
}

export interface ThreadRead {
  thread: ThreadSample;
  line: SyscallLine | undefined;
}

// The threads of a process: task/TID/stat (state, own CPU time), syscall, wchan, status (ctxt
// switches) and sched. A thread that exits mid-scan (its files vanish: ENOENT/ESRCH) is skipped;
// files that cannot be read are noted once per process, as `task/*/syscall`, `task/*/wchan` … For
// the main thread only stat is read here: its other files are the /proc/PID ones.
function readThreads(
  snap: ProcSnapshot,
  pid: number,
  readDenied: string | undefined,
  uptimeS: number | undefined,
  note: (file: string, error: string) => void,
  unreadable: Unreadable[],
): ThreadRead[] | undefined {
  if (!snap.listTids) return undefined;
  const list = snap.listTids(pid);
  if (!list.ok) {
    note('task', list.error);
    return undefined;
  }
  if (list.tids.length <= 1) return undefined;
  // The main thread first (it is also the lowest TID), then the others in TID order.
  let tids = [pid, ...list.tids.filter((t) => t !== pid)];
  if (tids.length > MAX_THREADS) {
    unreadable.push({ file: 'task', error: `${tids.length} threads, the first ${MAX_THREADS} read` });
    tids = tids.slice(0, MAX_THREADS);
  }
  const out: ThreadRead[] = [];
  for (const tid of tids) {
    const dir = `${pid}/task/${tid}`;
    const statFile = snap.read(`${dir}/stat`);
    if (!statFile.ok) {
      note('task/*/stat', statFile.error);
      continue;
    }
    const stat = parseStat(statFile.text);
    if (!stat) continue;
    const thread: ThreadSample = {
      tid,
      comm: stat.comm,
      state: stat.state,
      cpuTicks: cpuTicks(stat),
      wait: { type: 'unknown', reason: 'not decoded' },
    };
    if (tid === pid) {
      out.push({ thread, line: undefined });
      continue;
    }
    const syscallFile = snap.read(`${dir}/syscall`);
    // Gone between its stat and its syscall: the thread exited mid-scan.
    if (!syscallFile.ok && isGone(syscallFile.error)) continue;
    if (!syscallFile.ok) note('task/*/syscall', syscallFile.error);
    const line = syscallFile.ok ? parseSyscallLine(syscallFile.text) : undefined;
    thread.syscall = line;
    thread.wchan = readWchan(snap, `${dir}/wchan`, 'task/*/wchan', readDenied, note);
    const statusFile = snap.read(`${dir}/status`);
    if (statusFile.ok) {
      const status = parseStatus(statusFile.text);
      thread.voluntaryCtxt = status.voluntaryCtxt;
      thread.nonvoluntaryCtxt = status.nonvoluntaryCtxt;
    } else note('task/*/status', statusFile.error);
    thread.notRunForMs = readNotRunFor(snap, `${dir}/sched`, uptimeS, stat);
    out.push({ thread, line });
  }
  return out.length > 1 ? out : undefined;
}
