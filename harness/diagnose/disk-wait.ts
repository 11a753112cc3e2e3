/**
 * Rule: D state (disk, NFS, FUSE). A task in uninterruptible sleep waits inside the kernel for a
 * request to complete — a block device, an NFS server (a hard mount retries forever), a FUSE server
 * — and nothing in userspace (timeouts, signals other than SIGKILL) gets it out. /proc shows it as
 * state `D` in stat, and `wchan` names the kernel function it sleeps in (`request_wait_answer`:
 * FUSE; `rpc_wait_bit_killable`, `nfs_*`: NFS; `io_schedule`, `folio_wait_bit*`, `blk_*`: block I/O).
 *
 * A D state is normal for a moment (every disk read passes through it): the rule asks for the same
 * D state with the same syscall and no wake-up in every sample, and a process outside any lock chain
 * is a culprit only once it has not run for `stuckAfterMs`. A lock holder in D state is the root of
 * its lock chain whatever its age (its waiters say it matters).
 */
import type { Classification } from './classify';
import type { ChainReport, Collected, ProcessSample, Sample } from './model';
import { asInt32, type SyscallLine } from './parse';
import type { ProcSnapshot } from './procfs';
import { fmtMs, who } from './prose';

/** Where each known wchan family waits, for the evidence. */
const WCHAN_HINTS: Array<[RegExp, string]> = [
  [/^(request_wait_answer|fuse_)/, 'a FUSE filesystem whose server does not answer'],
  [/^(rpc_|nfs|__rpc_)/, 'an NFS server that does not answer (a hard mount retries forever)'],
  [/^(io_schedule|folio_wait|wait_on_page|__lock_page|blk_|bit_wait_io|wait_on_buffer|jbd2|ext4_|xfs_|btrfs_)/, 'block I/O that does not complete (a failing or saturated disk)'],
];

export function wchanHint(wchan: string | undefined): string | undefined {
  if (!wchan) return undefined;
  return WCHAN_HINTS.find(([re]) => re.test(wchan))?.[1];
}

/** Syscalls whose path argument is worth reading for a D-state task: name -> index of the path. */
const PATH_ARG: Record<string, number> = { open: 0, openat: 1 };
const MAX_PATH = 256;

/**
 * Collect hook: for a task in D state in open/openat, the path it opens (a C string in its memory,
 * read through /proc/PID/mem like a pollfd array). Undefined when unreadable.
 */
export function readDiskPath(snap: ProcSnapshot, pid: number, state: string, syscallName: string | undefined, line: SyscallLine | undefined): string | undefined {
  if (state !== 'D' || !syscallName || line?.kind !== 'syscall') return undefined;
  const index = PATH_ARG[syscallName];
  const address = index === undefined ? undefined : line.args[index];
  if (address === undefined || address === 0n) return undefined;
  const mem = snap.readMem(pid, address, MAX_PATH);
  if (!mem.ok) return undefined;
  const end = mem.bytes.indexOf(0);
  const text = mem.bytes.subarray(0, end < 0 ? mem.bytes.length : end).toString('utf8');
  return text.length > 0 && !text.includes('\uFFFD') ? text : undefined;
}

/** The file a D-state task waits on: the path it opens, or the file behind its fd argument. */
function fileOf(p: ProcessSample): { path?: string; fd?: number } {
  if (p.diskPath) return { path: p.diskPath };
  const fd = p.syscall?.kind === 'syscall' ? asInt32(p.syscall.args[0]) : undefined;
  const entry = fd === undefined ? undefined : p.fds?.find((f) => f.fd === fd && f.type === 'file');
  return entry ? { path: entry.target, fd: entry.fd } : {};
}

/** The same D state, same syscall, no wake-up, in every sample (two or more). */
function stuckInD(samples: Sample[], pid: number): boolean {
  if (samples.length < 2) return false;
  const history = samples.map((s) => s.processes.get(pid));
  const last = history[history.length - 1];
  if (!last) return false;
  const ctxt = (x: ProcessSample): number | undefined =>
    x.voluntaryCtxt === undefined ? undefined : x.voluntaryCtxt + (x.nonvoluntaryCtxt ?? 0);
  return history.every(
    (h) => h !== undefined && h.tid === last.tid && h.state === 'D' && h.syscallText === last.syscallText && ctxt(h) === ctxt(last),
  );
}

/** A process's wait as a disk-wait classification, or undefined when it is not stuck in D state. */
export function classifyDiskWait(collected: Collected, pid: number, holdsLock: boolean, spanMs: number): Classification | undefined {
  const samples = collected.samples;
  if (!stuckInD(samples, pid)) return undefined;
  const p = samples[samples.length - 1]?.processes.get(pid) as ProcessSample;
  const file = fileOf(p);
  const hint = wchanHint(p.wchan);
  const evidence = [
    `${who(p)} is in D state (uninterruptible sleep) in ${p.syscallText ?? 'an unreadable syscall'}${file.path ? ` on ${file.path}` : ''}${
      holdsLock ? ' while holding the lock' : ''
    }, wchan ${p.wchan ?? 'unreadable'}`,
    `the same D state across ${samples.length} samples over ${fmtMs(spanMs)}: no wake-up (context switches unchanged)${
      p.notRunForMs !== undefined ? `; has not run on a CPU for ${fmtMs(p.notRunForMs)}` : ''
    }`,
    `it waits inside the kernel for ${hint ?? 'a device or filesystem request that does not complete'}${
      p.wchan ? ` (wchan ${p.wchan})` : ''
    }; no userspace timeout applies, only SIGKILL (or the request completing) ends it`,
  ];
  return {
    kind: 'disk-wait',
    resource: { type: 'file', path: file.path ?? (p.wchan ? `wchan ${p.wchan}` : undefined), fd: file.fd },
    syscall: p.syscallText ?? null,
    evidence,
    persistent: true,
    tid: p.tid,
  };
}

/**
 * Chains of D-state processes outside lock chains, grouped by what the wchan says they wait on
 * (FUSE, NFS, block I/O, else anything): tasks queued behind the first one on the same filesystem
 * sleep in other functions (`fuse_lock_inode` behind `request_wait_answer`, measured): the one waiting longest is the root, the others its waiters. A culprit only past
 * `stuckAfterMs`: an ordinary disk read is in D state for milliseconds.
 */
export function diskWaitChains(collected: Collected, exclude: ReadonlySet<number>, stuckAfterMs: number, spanMs: number): { chains: ChainReport[]; used: Set<number> } {
  const last = collected.samples[collected.samples.length - 1] as Sample;
  const groups = new Map<string, Array<{ p: ProcessSample; c: Classification }>>();
  for (const p of last.processes.values()) {
    if (exclude.has(p.pid)) continue;
    const c = classifyDiskWait(collected, p.pid, false, spanMs);
    if (!c) continue;
    const key = wchanHint(p.wchan) ?? 'other';
    groups.set(key, [...(groups.get(key) ?? []), { p, c }]);
  }
  const used = new Set<number>();
  const chains: ChainReport[] = [];
  for (const list of groups.values()) {
    // The root is the task waiting on the request itself, not one queued behind it on a kernel
    // lock (fuse_lock_inode, a mutex or rwsem); then the oldest.
    const queued = (x: { p: ProcessSample }): number => (/lock|mutex|rwsem|down_/.test(x.p.wchan ?? '') ? 1 : 0);
    list.sort((a, b) => queued(a) - queued(b) || (b.p.notRunForMs ?? 0) - (a.p.notRunForMs ?? 0) || a.p.pid - b.p.pid);
    const head = list[0] as (typeof list)[number];
    const age = head.p.notRunForMs;
    const old = age !== undefined && age >= stuckAfterMs;
    for (const x of list) used.add(x.p.pid);
    chains.push({
      root: head.p.pid,
      kind: 'disk-wait',
      culprit: old,
      waiters: list.slice(1).map((x) => x.p.pid),
      links: [],
      resource: head.c.resource,
      syscall: head.c.syscall,
      tid: head.c.tid,
      evidence: [
        `${list.length} process${list.length === 1 ? '' : 'es'} in D state (${[...new Set(list.map((x) => x.p.wchan ?? 'wchan unreadable'))].join(', ')}): pid${list.length === 1 ? '' : 's'} ${list.map((x) => x.p.pid).join(', ')}` +
          (age === undefined
            ? '; wait age unknown (sched unreadable): not named a culprit'
            : old
              ? `; the oldest has not run for ${fmtMs(age)} (>= --stuck-after ${fmtMs(stuckAfterMs)})`
              : `; the oldest has waited ${fmtMs(age)} (< --stuck-after ${fmtMs(stuckAfterMs)}): an I/O in flight, not yet a hang`),
        ...head.c.evidence,
      ],
    });
  }
  return { chains, used };
}
