/**
 * Collect: turn procfs snapshots into Samples. Selection happens on the first sample (by PID list
 * or a command-line regex); every process lock-connected to the selection (waiters and holders,
 * transitively, from /proc/locks) is added, because the culprit rarely matches the user's pattern.
 */
import type { CollectCarry } from './carry';
import type { Collected, ProcessSample, Sample } from './model';
import { parseCmdline, parseLocks, parseNetTcp, parseNetUnix, parseUptimeSeconds, type LockEntry, type SyscallLine, type TcpSocket } from './parse';
import { sleepMs, type ProcReader, type ProcSnapshot } from './procfs';
import { readProcess, type ThreadRead } from './read-process';
import type { SockDiagResult } from './sockdiag';
import { pickThreads, taskFacts } from './threads';
import { decodeWait } from './waits';
import { readDiskPath } from './disk-wait';
import { attachUnixSockets } from './unix-sockets';

export { MAX_THREADS } from './read-process';

export interface CollectOptions {
  pids?: readonly number[];
  /** Matched against the full command line (NULs as spaces); never selects the reader's own PIDs. */
  match?: RegExp;
  samples: number;
  intervalMs: number;
  signal?: AbortSignal;
  /** A watch's ticks: what the previous tick read and provably has not changed (carry.ts). */
  carry?: CollectCarry;
}

export async function collect(reader: ProcReader, options: CollectOptions): Promise<Collected> {
  const warnings: string[] = [];
  const samples: Sample[] = [];
  let selected: number[] = [];
  const count = Math.max(1, Math.floor(options.samples));
  const carry = options.carry;
  carry?.tick();
  for (let i = 0; i < count; i++) {
    if (i > 0) await sleepMs(options.intervalMs);
    options.signal?.throwIfAborted();
    const lastSample = i === count - 1;
    // A reader may start sock_diag beside the /proc reads, unless the last tick's times may serve.
    const snap = await reader.snapshot({ pids: i === 0 ? options.pids : selected, sockets: lastSample && !carry?.maySkipSockets() });
    if (i === 0) {
      selected = selectPids(snap, options, carry);
      if (selected.length === 0) {
        warnings.push(
          options.match ? `no process matches ${String(options.match)} (the diagnoser and its ancestors are never selected)` : 'no process selected',
        );
      }
    }
    const sample = readSample(snap, i, selected, lastSample, carry);
    if (lastSample) sample.sockets = await readSockets(snap, [...sample.processes.values()], carry);
    samples.push(sample);
  }
  const last = samples[samples.length - 1];
  if (carry && last) carry.remember(last);
  return {
    reader: reader.description,
    arch: samples[0]?.arch ?? 'unknown',
    archName: samples[0]?.archName,
    samples: pickThreads(samples),
    selected,
    warnings,
  };
}

function selectPids(snap: ProcSnapshot, options: CollectOptions, carry?: CollectCarry): number[] {
  if (options.pids && options.pids.length > 0) return [...new Set(options.pids)].filter((p) => !snap.ownPids.has(p));
  const all = snap.listPids().filter((p) => !snap.ownPids.has(p));
  if (!options.match) return all;
  const out: number[] = [];
  for (const pid of all) {
    let cmdline = carry?.selectionCmdline(pid);
    if (cmdline === undefined) {
      const cmd = snap.read(`${pid}/cmdline`);
      if (!cmd.ok) continue;
      cmdline = parseCmdline(cmd.text);
      carry?.rememberSelectionCmdline(pid, cmdline);
    }
    if (options.match.test(cmdline)) out.push(pid);
  }
  carry?.keepSelection(all);
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

function readSample(snap: ProcSnapshot, index: number, selected: readonly number[], last: boolean, carry?: CollectCarry): Sample {
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
    const proc = readProcess(snap, pid, { wantLockInfo: holders.has(pid) || anyOfd, uptimeS, light, lastSample: last, carry });
    if (!proc) continue; // exited before we could read its stat
    processes.set(pid, proc.sample);
    if (!light) netnsOf.set(pid, proc.netns);
    partial.push(proc);
  }

  // One read of net/tcp per network namespace, through any process that lives in it; net/tcp6
  // only when a socket held there is in neither net/tcp nor net/unix. Each costs ~5 ms of kernel
  // time however few sockets it lists (the kernel walks its whole hash table; 24 GiB machine).
  const tcp = new Map<string, Map<number, TcpSocket>>();
  for (const [pid, ns] of netnsOf) {
    if (tcp.has(ns)) continue;
    const table = new Map<number, TcpSocket>();
    let read = false;
    const add = (file: 'tcp' | 'tcp6', family: 4 | 6): void => {
      const r = snap.read(`${pid}/net/${file}`);
      if (!r.ok) return;
      read = true;
      for (const sock of parseNetTcp(r.text, family)) if (sock.inode > 0) table.set(sock.inode, sock);
    };
    add('tcp', 4);
    if (socketsOutside(snap, pid, table, partial, netnsOf, ns)) add('tcp6', 6);
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
  attachUnixSockets(snap, partial.map((x) => x.sample), netnsOf, last);
  return { index, takenAtMs: snap.takenAtMs, arch: snap.arch, archName: snap.archName, locks, processes, tcp };
}

/**
 * sock_diag (ss) once per network namespace that has a process waiting on a TCP connection (not
 * a listener): the socket times are evidence for those waits only, and one ss costs ~5 ms. Read in
 * the last sample, whose facts the analysis reports.
 */
async function readSockets(snap: ProcSnapshot, processes: ProcessSample[], carry?: CollectCarry): Promise<Map<string, SockDiagResult>> {
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
  let fresh = false;
  for (const [ns, pid] of askFor) {
    const carried = carry?.sockets(ns, processes, snap.takenAtMs);
    fresh ||= carried === undefined;
    out.set(ns, carried ?? snap.sockets(pid));
  }
  carry?.socketsRead(fresh);
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

/** Whether a socket held by a process of `ns` is in neither the IPv4 table nor net/unix. */
function socketsOutside(
  snap: ProcSnapshot,
  pid: number,
  v4: ReadonlyMap<number, TcpSocket>,
  partial: ReadonlyArray<{ sample: ProcessSample }>,
  netnsOf: ReadonlyMap<number, string>,
  ns: string,
): boolean {
  const missing = new Set<number>();
  for (const { sample } of partial) {
    if (netnsOf.get(sample.pid) !== ns) continue;
    for (const fd of sample.fds ?? []) if (fd.socketInode !== undefined && !v4.has(fd.socketInode)) missing.add(fd.socketInode);
  }
  if (missing.size === 0) return false;
  const unix = snap.read(`${pid}/net/unix`);
  if (!unix.ok) return true;
  for (const s of parseNetUnix(unix.text)) missing.delete(s.inode);
  return missing.size > 0;
}
