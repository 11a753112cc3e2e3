/**
 * Collect: turn procfs snapshots into Samples. Selection happens on the first sample (by PID list
 * or a command-line regex); every process lock-connected to the selection (waiters and holders,
 * transitively, from /proc/locks) is added, because the culprit rarely matches the user's pattern.
 */
import type {
  Collected,
  FdEntry,
  FdType,
  ProcessSample,
  Sample,
  TaskFacts,
  ThreadSample,
  Unreadable,
} from './model';
import {
  parseCmdline,
  parseFdinfo,
  parseIo,
  parseLocks,
  parseNetTcp,
  parseSchedExecStart,
  parseStat,
  parseStatus,
  parseSyscallLine,
  parseUptimeSeconds,
  socketInode,
  type LockEntry,
  type StatInfo,
  type SyscallLine,
  type TcpSocket,
} from './parse';
import { isDenied, isGone, sleepMs, type ProcReader, type ProcSnapshot } from './procfs';
import type { SockDiagResult } from './sockdiag';
import { addUnreadable, decodeWait } from './waits';
import { readDiskPath } from './disk-wait';
import { attachUnixSockets } from './unix-sockets';
import { isIdleWait, isListeningTarget } from './worker';

export interface CollectOptions {
  pids?: readonly number[];
  /** Matched against the full command line (NULs as spaces); never selects the reader's own PIDs. */
  match?: RegExp;
  samples: number;
  intervalMs: number;
  signal?: AbortSignal;
}

/** Threads read per process (a JVM may run thousands); the rest are left out, and said so. */
export const MAX_THREADS = 1024;

export async function collect(reader: ProcReader, options: CollectOptions): Promise<Collected> {
  const warnings: string[] = [];
  const samples: Sample[] = [];
  let selected: number[] = [];
  const count = Math.max(1, Math.floor(options.samples));
  for (let i = 0; i < count; i++) {
    if (i > 0) await sleepMs(options.intervalMs);
    options.signal?.throwIfAborted();
    const lastSample = i === count - 1;
    const snap = await reader.snapshot({ pids: i === 0 ? options.pids : selected, sockets: lastSample });
    if (i === 0) {
      selected = selectPids(snap, options);
      if (selected.length === 0) {
        warnings.push(
          options.match ? `no process matches ${String(options.match)} (the diagnoser and its ancestors are never selected)` : 'no process selected',
        );
      }
    }
    const sample = readSample(snap, i, selected, lastSample);
    if (lastSample) sample.sockets = await readSockets(snap, [...sample.processes.values()]);
    samples.push(sample);
  }
  pickThreads(samples);
  return { reader: reader.description, arch: samples[0]?.arch ?? 'unknown', archName: samples[0]?.archName, samples, selected, warnings };
}

function selectPids(snap: ProcSnapshot, options: CollectOptions): number[] {
  if (options.pids && options.pids.length > 0) return [...new Set(options.pids)].filter((p) => !snap.ownPids.has(p));
  const all = snap.listPids().filter((p) => !snap.ownPids.has(p));
  if (!options.match) return all;
  const out: number[] = [];
  for (const pid of all) {
    const cmd = snap.read(`${pid}/cmdline`);
    if (cmd.ok && options.match.test(parseCmdline(cmd.text))) out.push(pid);
  }
  return out;
}

/** The selection plus every process joined to it by a lock edge (both directions, transitively). */
function lockComponent(selected: readonly number[], locks: LockEntry[] | undefined): Set<number> {
  const scope = new Set(selected);
  if (!locks) return scope;
  const adjacent = new Map<number, Set<number>>();
  const link = (a: number, b: number): void => {
    if (a <= 0 || b <= 0) return;
    (adjacent.get(a) ?? adjacent.set(a, new Set()).get(a)!).add(b);
    (adjacent.get(b) ?? adjacent.set(b, new Set()).get(b)!).add(a);
  };
  for (const entry of locks) for (const w of entry.waiters) link(w.pid, entry.pid);
  const queue = [...scope];
  while (queue.length > 0) {
    const pid = queue.pop() as number;
    for (const next of adjacent.get(pid) ?? []) {
      if (!scope.has(next)) {
        scope.add(next);
        queue.push(next);
      }
    }
  }
  return scope;
}

function readSample(snap: ProcSnapshot, index: number, selected: readonly number[], last: boolean): Sample {
  const locksFile = snap.read('locks');
  const locks = locksFile.ok ? parseLocks(locksFile.text) : undefined;
  const scope = lockComponent(selected, locks);
  // Holders whose fdinfo we read for `lock:` lines (to name the locked file's path and fd).
  const holders = new Set<number>();
  // Processes /proc/locks already shows waiting need only stat, cmdline and syscall: a pool of
  // 200 is mostly waiters, and status/io/sched/fd reads of each would triple the sample's cost.
  // The first waiter of each lock keeps its fds (the lock's path when the holder's are unreadable).
  const plainWaiters = new Set<number>();
  const firstWaiters = new Set<number>();
  let anyOfd = false;
  for (const entry of locks ?? []) {
    for (const w of entry.waiters) plainWaiters.add(w.pid);
    if (entry.waiters[0]) firstWaiters.add(entry.waiters[0].pid);
    if (entry.pid > 0) holders.add(entry.pid);
    // An OFD lock shows pid -1: its holder is found through fdinfo, needed only if someone waits.
    else if (entry.waiters.length > 0) anyOfd = true;
  }
  const uptime = snap.read('uptime');
  const uptimeS = uptime.ok ? parseUptimeSeconds(uptime.text) : undefined;

  const processes = new Map<number, ProcessSample>();
  const netnsOf = new Map<number, string>();
  const partial: Array<{ sample: ProcessSample; syscall: SyscallLine | undefined; threads?: ThreadRead[] }> = [];
  for (const pid of [...scope].sort((a, b) => a - b)) {
    const light = plainWaiters.has(pid) && !holders.has(pid) && !firstWaiters.has(pid);
    const proc = readProcess(snap, pid, holders.has(pid) || anyOfd, uptimeS, light, last);
    if (!proc) continue; // exited before we could read its stat
    processes.set(pid, proc.sample);
    if (!light) netnsOf.set(pid, proc.netns);
    partial.push(proc);
  }

  // One read of net/tcp{,6} per network namespace, through any process that lives in it.
  const tcp = new Map<string, Map<number, TcpSocket>>();
  for (const [pid, ns] of netnsOf) {
    if (tcp.has(ns)) continue;
    const table = new Map<number, TcpSocket>();
    let read = false;
    for (const [file, family] of [
      ['tcp', 4],
      ['tcp6', 6],
    ] as const) {
      const r = snap.read(`${pid}/net/${file}`);
      if (!r.ok) continue;
      read = true;
      for (const sock of parseNetTcp(r.text, family)) if (sock.inode > 0) table.set(sock.inode, sock);
    }
    // A process that exits mid-scan cannot serve its netns: let the next one in it try.
    if (read) tcp.set(ns, table);
  }

  for (const { sample, syscall, threads } of partial) {
    const table = tcp.get(netnsOf.get(sample.pid) ?? 'unknown');
    for (const fd of sample.fds ?? []) {
      if (fd.socketInode !== undefined) {
        const sock = table?.get(fd.socketInode);
        if (sock) fd.tcp = sock;
      }
    }
    sample.wait = decodeWait(snap, snap.arch, sample, syscall, sample, 'syscall');
    // --- diag-rules: the path a D-state process opens (disk-wait.ts) ---
    const diskPath = readDiskPath(snap, sample.pid, sample.state, sample.syscallName, syscall);
    if (diskPath !== undefined) sample.diskPath = diskPath;
    // --- end diag-rules ---
    if (threads) {
      // The main thread's syscall, wchan, ctxt switches and sched are the /proc/PID ones (already
      // decoded above); only its state and own CPU time come from task/PID/stat.
      sample.tasks = threads.map(({ thread, line }) => {
        if (thread.tid === sample.pid) {
          return { ...thread, ...taskFacts(sample), state: thread.state, cpuTicks: thread.cpuTicks };
        }
        thread.wait = decodeWait(snap, snap.arch, sample, line, thread, 'task/*/syscall');
        return thread;
      });
    }
  }
  // diag-rules: UNIX-domain sockets behind fds that are no TCP socket (unix-sockets.ts).
  attachUnixSockets(snap, partial.map((x) => x.sample), netnsOf);
  return { index, takenAtMs: snap.takenAtMs, arch: snap.arch, archName: snap.archName, locks, processes, tcp };
}

/**
 * sock_diag (ss) once per network namespace that has a process waiting on a TCP connection (not
 * a listener): the socket times are evidence for those waits only, and one ss costs ~5 ms. Read in
 * the last sample, whose facts the analysis reports.
 */
async function readSockets(snap: ProcSnapshot, processes: ProcessSample[]): Promise<Map<string, SockDiagResult>> {
  const out = new Map<string, SockDiagResult>();
  if (!snap.sockets) return out;
  const onConnection = (p: ProcessSample, fd: number): boolean => {
    const state = p.fds?.find((f) => f.fd === fd)?.tcp?.state;
    return state !== undefined && state !== 'LISTEN';
  };
  const waitsOnTcp = (p: ProcessSample): boolean =>
    [p.wait, ...(p.tasks ?? []).map((t) => t.wait)].some((w) => w.type === 'io' && w.targets.some((t) => t.direction !== 'accept' && onConnection(p, t.fd)));
  const askFor = new Map<string, number>();
  for (const p of processes) {
    const ns = p.netns ?? 'unknown';
    if (!askFor.has(ns) && waitsOnTcp(p)) askFor.set(ns, p.pid);
  }
  if (askFor.size === 0) return out;
  // The reader may have started ss beside the /proc reads (see SnapshotHint.sockets).
  await snap.socketsReady?.();
  for (const [ns, pid] of askFor) out.set(ns, snap.sockets(pid));
  for (const p of processes) {
    const diag = out.get(p.netns ?? 'unknown');
    if (!diag?.ok) continue;
    for (const fd of p.fds ?? []) {
      const sock = fd.socketInode !== undefined ? diag.byInode.get(fd.socketInode) : undefined;
      if (sock) fd.sock = sock;
    }
  }
  return out;
}

function fdType(target: string): FdType {
  if (target.startsWith('socket:')) return 'socket';
  if (target.startsWith('pipe:')) return 'pipe';
  if (target.startsWith('anon_inode:')) return 'anon';
  if (target.startsWith('/')) return 'file';
  return 'other';
}

function readProcess(
  snap: ProcSnapshot,
  pid: number,
  wantLockInfo: boolean,
  uptimeS: number | undefined,
  light = false,
  lastSample = false,
): { sample: ProcessSample; syscall: SyscallLine | undefined; netns: string; threads?: ThreadRead[] } | undefined {
  const unreadable: Unreadable[] = [];
  const note = (file: string, error: string): void => {
    if (!isGone(error)) addUnreadable(unreadable, file, error);
  };
  const statFile = snap.read(`${pid}/stat`);
  if (!statFile.ok) return undefined;
  const stat = parseStat(statFile.text);
  if (!stat) return undefined;

  const cmdFile = snap.read(`${pid}/cmdline`);
  const cmdline = cmdFile.ok ? parseCmdline(cmdFile.text) : '';

  const syscallFile = snap.read(`${pid}/syscall`);
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
    if (lastSample) base.notRunForMs = readNotRunFor(snap, `${pid}/sched`, uptimeS);
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

  const notRunForMs = readNotRunFor(snap, `${pid}/sched`, uptimeS);

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

function readNotRunFor(snap: ProcSnapshot, relPath: string, uptimeS: number | undefined): number | undefined {
  const sched = snap.read(relPath);
  const execStart = sched.ok ? parseSchedExecStart(sched.text) : undefined;
  if (execStart === undefined || uptimeS === undefined) return undefined;
  return Math.max(0, Math.round(uptimeS * 1000 - execStart));
}

interface ThreadRead {
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
    thread.notRunForMs = readNotRunFor(snap, `${dir}/sched`, uptimeS);
    out.push({ thread, line });
  }
  return out.length > 1 ? out : undefined;
}

// ---------------------------------------------------------------------------------------------
// Which thread explains a multi-threaded process's wait

/**
 * How well a thread's wait explains why its process does not progress (higher is better): a lock
 * wait or a socket wait says what the process waits for; a thread running with its CPU time rising
 * is a busy-loop candidate; sleeping says a clock; futex, wait4, join … only say "another thread".
 */
function threadRank(t: ThreadSample, fds: FdEntry[] | undefined, cpuRise: number | undefined): number {
  const w = t.wait;
  const running = w.type === 'running' || (t.state === 'R' && (w.type === 'unknown' || w.type === 'not-in-syscall'));
  // CPU rise unknown (one sample, or a thread new in the last one): running may be a busy loop.
  if (running) return cpuRise === undefined || cpuRise > 0 ? 40 : 5;
  switch (w.type) {
    case 'lock':
      return 60;
    case 'io': {
      const entries = w.targets.map((target) => ({ target, fd: fds?.find((f) => f.fd === target.fd) }));
      const listening = (e: (typeof entries)[number]): boolean => isListeningTarget(e.target, e.fd);
      if (entries.length === 0) return 10;
      if (isIdleWait(w, fds)) return 15; // an acceptor thread: idle, but more telling than futex
      if (entries.some((e) => !listening(e) && (e.fd?.tcp !== undefined || e.fd?.type === 'socket' || e.target.direction === 'connect'))) return 50;
      return 30;
    }
    case 'sleep':
      return 20;
    case 'other':
    case 'not-in-syscall':
      return 10;
    default:
      return 0;
  }
}

/**
 * For each multi-threaded process, pick the thread that explains its wait (see threadRank; ties:
 * the same wait in every sample, then the main thread, then the one that has not run the longest,
 * then the lowest TID) from the last sample it appears in, and show that thread's state, CPU time,
 * wake-ups, syscall and wait in every sample that has it, so that samples compare like with like.
 */
export function pickThreads(samples: Sample[]): void {
  const pids = new Set<number>();
  for (const s of samples) for (const [pid, p] of s.processes) if (p.tasks) pids.add(pid);
  for (const pid of pids) {
    const history = samples.map((s) => s.processes.get(pid));
    const newest = [...history].reverse().find((p) => p?.tasks);
    const latest = newest?.tasks;
    if (!latest) continue;
    const fds = newest.fds;
    const threadIn = (p: ProcessSample | undefined, tid: number): ThreadSample | undefined => p?.tasks?.find((t) => t.tid === tid);
    let best: { t: ThreadSample; key: number[] } | undefined;
    for (const t of latest) {
      const seen = history.map((p) => threadIn(p, t.tid)).filter((x): x is ThreadSample => x !== undefined);
      const t0 = seen[0];
      const rise = t0 && t0 !== t && t0.cpuTicks !== undefined && t.cpuTicks !== undefined ? t.cpuTicks - t0.cpuTicks : undefined;
      const persistent = seen.every((x) => x.syscallText === t.syscallText) ? 1 : 0;
      const key = [threadRank(t, fds, rise), persistent, t.tid === pid ? 1 : 0, t.notRunForMs ?? 0, -t.tid];
      if (!best || compareKeys(key, best.key) > 0) best = { t, key };
    }
    if (!best) continue;
    for (const p of history) {
      const t = threadIn(p, best.t.tid);
      if (p && t) project(p, t);
    }
  }
}

function compareKeys(a: number[], b: number[]): number {
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return 0;
}

/** The TaskFacts of a process or a thread, copied. */
function taskFacts(t: TaskFacts): TaskFacts {
  const { state, cpuTicks, voluntaryCtxt, nonvoluntaryCtxt, syscall, syscallText, syscallName, wchan, notRunForMs, wait } = t;
  return { state, cpuTicks, voluntaryCtxt, nonvoluntaryCtxt, syscall, syscallText, syscallName, wchan, notRunForMs, wait };
}

/** Shows the picked thread's wait as the process's. */
function project(p: ProcessSample, t: ThreadSample): void {
  Object.assign(p, taskFacts(t));
  p.tid = t.tid;
  if (t.tid !== p.pid && t.comm !== p.command) p.threadComm = t.comm;
}
