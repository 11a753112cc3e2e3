/**
 * What a watch may carry from one tick's reading to the next instead of reading it again, each
 * only where the kernel's own counters prove it unchanged. A watch samples the same pool every few
 * seconds, and on a hung pool most of it has not moved: 199 lock waiters asleep, one holder asleep
 * on a silent socket. Two costs go away (measured on 200 processes, bench/watch.ts):
 *
 * - **Command lines of lock waiters.** A waiter /proc/locks shows is read light (stat, cmdline,
 *   syscall); its cmdline is taken from the last tick while its start time and comm are the same,
 *   and read afresh every CMDLINE_REFRESH ticks (a process may rewrite its own title).
 * - **Command lines matched by `--match`.** Every process's cmdline is read to select the pool;
 *   a pid seen on an earlier tick keeps its cmdline for CMDLINE_REFRESH ticks (a new process is a
 *   new pid and is read at once; one that execs or retitles itself into a match is seen within
 *   CMDLINE_REFRESH ticks). The selected ones are read in full each tick anyway.
 * - **Syscall lines and exec_start of lock waiters.** A waiter read light has its schedstat read
 *   (run time, run delay, times scheduled: one small file); while it is exactly last tick's and has
 *   counted a run at all (a kernel without sched_info prints zeros, and is never trusted), the task
 *   has not been on a CPU since, so its syscall line and sched's exec_start are last tick's too and
 *   are not read (three small reads become two).
 * - **sock_diag (one `ss` spawn, ~10 ms of CPU per tick).** The socket times of a network namespace
 *   are the last tick's, advanced by the time between the two readings, when nothing can have moved
 *   on any of its sockets the selection holds: every process holding one is single-threaded and was
 *   not scheduled at all (voluntary and involuntary context switches unchanged, the same syscall
 *   line), and each socket's /proc/net/tcp row is unchanged with empty queues and no timer (no
 *   retransmit, probe or keepalive), and sock_diag showed nothing unacknowledged. A byte received
 *   would sit in the receive queue or have woken its reader; a byte sent needs a process to run.
 *   At most SOCKETS_REUSE ticks in a row, then ss runs again.
 */
import type { ProcessSample, Sample } from './model';
import type { StatInfo, TcpSocket } from './parse';
import type { SockDiagResult, SockInfo } from './sockdiag';

export const CMDLINE_REFRESH = 12;
export const SOCKETS_REUSE = 6;

export class CollectCarry {
  private ticks = 0;
  private cmdlines = new Map<number, { start?: number; comm: string; cmdline: string; tick: number }>();
  private selection = new Map<number, { cmdline: string; tick: number }>();
  private waiters = new Map<number, { start?: number; comm: string; schedstat: string; syscallText: string; execStartMs?: number }>();
  private previous: Sample | undefined;
  private reused = 0;

  /** A collect begins (one tick of the watch). */
  tick(): void {
    this.ticks++;
  }

  /** The cmdline read on an earlier tick, while the process is provably the same one. */
  cmdline(pid: number, stat: StatInfo): string | undefined {
    const c = this.cmdlines.get(pid);
    if (!c || c.start === undefined || c.start !== stat.startTimeTicks || c.comm !== stat.comm) return undefined;
    return this.ticks - c.tick < CMDLINE_REFRESH ? c.cmdline : undefined;
  }

  /** The cmdline a pid showed on an earlier tick's selection, until it is CMDLINE_REFRESH ticks old. */
  selectionCmdline(pid: number): string | undefined {
    const c = this.selection.get(pid);
    return c && this.ticks - c.tick < CMDLINE_REFRESH ? c.cmdline : undefined;
  }

  rememberSelectionCmdline(pid: number, cmdline: string): void {
    this.selection.set(pid, { cmdline, tick: this.ticks });
  }

  /** The pids listed this tick: the others have exited (their pid may come back as another process). */
  keepSelection(pids: readonly number[]): void {
    const live = new Set(pids);
    for (const pid of this.selection.keys()) if (!live.has(pid)) this.selection.delete(pid);
  }

  rememberCmdline(pid: number, stat: StatInfo, cmdline: string): void {
    this.cmdlines.set(pid, { start: stat.startTimeTicks, comm: stat.comm, cmdline, tick: this.ticks });
  }

  /** A light waiter's syscall line and exec_start from an earlier tick, while its schedstat proves it has not run since. */
  waiter(pid: number, stat: StatInfo, schedstat: string): { syscallText: string; execStartMs?: number } | undefined {
    const w = this.waiters.get(pid);
    if (!w || w.start === undefined || w.start !== stat.startTimeTicks || w.comm !== stat.comm || w.schedstat !== schedstat) return undefined;
    return w;
  }

  rememberWaiter(pid: number, stat: StatInfo, schedstat: string, syscallText: string, execStartMs: number | undefined): void {
    if (!ranAtAll(schedstat)) return;
    this.waiters.set(pid, { start: stat.startTimeTicks, comm: stat.comm, schedstat, syscallText, ...(execStartMs === undefined ? {} : { execStartMs }) });
  }

  /** Whether the next reading may do without sock_diag (so a reader need not start it early). */
  maySkipSockets(): boolean {
    return (this.previous?.sockets?.size ?? 0) > 0 && this.reused < SOCKETS_REUSE;
  }

  /** The last sample of a tick, kept for the next; processes gone from it are forgotten. */
  remember(sample: Sample): void {
    this.previous = sample;
    for (const pid of this.cmdlines.keys()) if (!sample.processes.has(pid)) this.cmdlines.delete(pid);
    for (const pid of this.waiters.keys()) if (!sample.processes.has(pid)) this.waiters.delete(pid);
  }

  /** The previous tick's socket times for `ns`, advanced, where nothing can have moved (see above). */
  sockets(ns: string, processes: readonly ProcessSample[], takenAtMs: number): SockDiagResult | undefined {
    const prev = this.previous;
    const before = prev?.sockets?.get(ns);
    if (!prev || !before?.ok || this.reused >= SOCKETS_REUSE) return undefined;
    const elapsedMs = Math.round(takenAtMs - prev.takenAtMs);
    if (!(elapsedMs >= 0)) return undefined;
    const byInode = new Map<number, SockInfo>();
    for (const p of processes) {
      if ((p.netns ?? 'unknown') !== ns) continue;
      // ss -t lists no listening socket: there is nothing of theirs to carry.
      const held = (p.fds ?? []).filter((f) => f.socketInode !== undefined && f.tcp !== undefined && f.tcp.state !== 'LISTEN');
      if (held.length === 0) continue;
      const then = prev.processes.get(p.pid);
        if (!then || !notScheduled(then, p)) return undefined;
      for (const fd of held) {
        const inode = fd.socketInode as number;
        const row = then.fds?.find((f) => f.socketInode === inode)?.tcp;
        const info = before.byInode.get(inode);
            if (!row || !info || !quietRow(row, fd.tcp as TcpSocket) || info.timer !== undefined || (info.unacked ?? 1) !== 0) return undefined;
        byInode.set(inode, advance(info, elapsedMs));
      }
    }
    return { ok: true, byInode, via: `${before.via.replace(/ \(carried.*$/, '')} (carried: ${elapsedMs} ms later, nothing moved on its sockets)` };
  }

  /** After a tick's socket times: all carried (one more in a row), or some read afresh. */
  socketsRead(fresh: boolean): void {
    this.reused = fresh ? 0 : this.reused + 1;
  }
}

/** schedstat counted a run (sched_info is on): its sameness then means the task stayed off the CPU. */
function ranAtAll(schedstat: string): boolean {
  const [runNs, , count] = schedstat.trim().split(/\s+/).map(Number);
  return (runNs ?? 0) > 0 && (count ?? 0) > 0;
}

/** Single-threaded, and not scheduled once between the two readings. */
function notScheduled(a: ProcessSample, b: ProcessSample): boolean {
  const known = (p: ProcessSample): boolean => p.voluntaryCtxt !== undefined && p.nonvoluntaryCtxt !== undefined;
  return (
    a.threads === 1 &&
    b.threads === 1 &&
    known(a) &&
    known(b) &&
    a.voluntaryCtxt === b.voluntaryCtxt &&
    a.nonvoluntaryCtxt === b.nonvoluntaryCtxt &&
    a.syscallText !== undefined &&
    a.syscallText === b.syscallText &&
    a.cmdline === b.cmdline
  );
}

function quietRow(a: TcpSocket, b: TcpSocket): boolean {
  return a.state === b.state && b.timer === 0 && a.timer === 0 && a.rxQueue === 0 && b.rxQueue === 0 && a.txQueue === 0 && b.txQueue === 0 && a.retransmits === b.retransmits;
}

function advance(info: SockInfo, ms: number): SockInfo {
  const plus = (v: number | undefined): number | undefined => (v === undefined ? undefined : v + ms);
  return { ...info, lastsndMs: plus(info.lastsndMs), lastrcvMs: plus(info.lastrcvMs), lastackMs: plus(info.lastackMs) };
}
