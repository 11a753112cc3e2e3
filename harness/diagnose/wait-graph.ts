/**
 * The wait-for graph from /proc/locks: each waiter -> the holder of the lock it queues on, its
 * roots (or cycles), and the links from a root outward. OFD locks (pid -1) are attributed through
 * the holders' fdinfo `lock:` lines, which also give the locked file's path and fd.
 */
import type { ChainLink, FdEntry, LockReport, Sample } from './model';
import type { LockEntry } from './parse';

export interface LockGroup {
  root: number;
  members: Set<number>;
  cycle?: number[];
}

export class WaitGraph {
  /** waiter -> (holder, lock) from the last sample's /proc/locks. */
  readonly edges = new Map<number, { holder: number; entry: LockEntry }>();
  /** waiters whose lock holder is not visible (other PID namespace, OFD lock of an unknown file). */
  readonly orphanWaits = new Map<number, LockEntry>();

  constructor(private readonly last: Sample) {
    for (const entry of last.locks ?? []) {
      if (entry.waiters.length === 0) continue;
      const holder = entry.pid > 0 ? entry.pid : this.ofdHolder(entry);
      for (const w of entry.waiters) {
        // /proc/locks lists every lock on the host: keep the processes in scope (the selection and
        // everything lock-connected to it, as collected).
        if (w.pid <= 0 || this.edges.has(w.pid) || !last.processes.has(w.pid)) continue;
        if (holder === undefined || holder === w.pid) this.orphanWaits.set(w.pid, entry);
        else this.edges.set(w.pid, { holder, entry });
      }
    }
  }

  /** Every process that holds a lock someone waits for. */
  holders(): Set<number> {
    return new Set([...this.edges.values()].map((e) => e.holder));
  }

  /** Every process in a lock chain (waiter or holder). */
  members(): Set<number> {
    const out = new Set<number>();
    for (const [w, { holder }] of this.edges) {
      out.add(w);
      out.add(holder);
    }
    return out;
  }

  /** OFD locks show pid -1: find the process whose open file holds it (fdinfo `lock:` lines). */
  private ofdHolder(entry: LockEntry): number | undefined {
    for (const proc of this.last.processes.values()) {
      for (const fd of proc.fds ?? []) {
        if (fd.fdinfo?.locks.some((l) => l.fileKey === entry.fileKey && l.type === entry.type && l.access === entry.access)) {
          return proc.pid;
        }
      }
    }
    return undefined;
  }

  lockReport(entry: LockEntry, holder: number | undefined): LockReport {
    const report: LockReport = { type: entry.type, access: entry.access, file: entry.fileKey };
    const path = this.lockPath(entry, holder);
    if (path) report.path = path;
    return report;
  }

  /** The locked file's path: from the holder's fdinfo `lock:` line, else from a waiter's fd. */
  private lockPath(entry: LockEntry, holder: number | undefined): string | undefined {
    const byHolder = this.holderFd(entry, holder);
    if (byHolder) return byHolder.target;
    for (const w of entry.waiters) {
      const proc = this.last.processes.get(w.pid);
      if (proc?.wait.type === 'lock' && proc.wait.fd !== undefined) {
        const fd = proc.fds?.find((f) => f.fd === (proc.wait as { fd: number }).fd);
        if (fd) return fd.target;
      }
    }
    return undefined;
  }

  holderFd(entry: LockEntry, holder: number | undefined): FdEntry | undefined {
    if (holder === undefined) return undefined;
    const proc = this.last.processes.get(holder);
    return proc?.fds?.find((fd) => fd.fdinfo?.locks.some((l) => l.fileKey === entry.fileKey));
  }

  /** Every waiter followed to its root, or to a cycle; grouped by root (or by cycle). */
  groups(): LockGroup[] {
    const groups = new Map<string, LockGroup>();
    for (const waiter of this.edges.keys()) {
      const path = [waiter];
      const seen = new Set(path);
      let current = waiter;
      let cycle: number[] | undefined;
      for (;;) {
        const edge = this.edges.get(current);
        if (!edge) break;
        if (seen.has(edge.holder)) {
          cycle = path.slice(path.indexOf(edge.holder));
          break;
        }
        path.push(edge.holder);
        seen.add(edge.holder);
        current = edge.holder;
      }
      const root = cycle ? Math.min(...cycle) : current;
      const key = cycle ? `cycle:${[...cycle].sort((a, b) => a - b).join(',')}` : `root:${root}`;
      const group = groups.get(key) ?? { root, members: new Set<number>(), cycle };
      for (const pid of path) group.members.add(pid);
      groups.set(key, group);
    }
    return [...groups.values()];
  }

  /** Breadth-first from the root: the locks each holder holds and who queues behind them. */
  linksFrom(root: number): ChainLink[] {
    const byHolder = new Map<number, Map<string, { entry: LockEntry; waiters: number[] }>>();
    for (const [waiter, { holder, entry }] of this.edges) {
      const locks = byHolder.get(holder) ?? new Map<string, { entry: LockEntry; waiters: number[] }>();
      const key = `${entry.ordinal}:${entry.fileKey}`;
      const slot = locks.get(key) ?? { entry, waiters: [] };
      slot.waiters.push(waiter);
      locks.set(key, slot);
      byHolder.set(holder, locks);
    }
    const links: ChainLink[] = [];
    const queue = [root];
    const done = new Set<number>();
    while (queue.length > 0) {
      const holder = queue.shift() as number;
      if (done.has(holder)) continue;
      done.add(holder);
      for (const { entry, waiters } of byHolder.get(holder)?.values() ?? []) {
        waiters.sort((a, b) => a - b);
        links.push({ lock: this.lockReport(entry, holder), holder, waiters });
        queue.push(...waiters);
      }
    }
    return links;
  }

  /** The /proc/locks entry behind a link (for its holder's fd). */
  entryOf(link: ChainLink): LockEntry | undefined {
    return [...this.edges.values()].find((e) => e.holder === link.holder && e.entry.fileKey === link.lock.file)?.entry;
  }
}
