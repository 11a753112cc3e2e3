/**
 * Analyse: build the wait-for graph from /proc/locks (waiter -> holder), follow each waiter to the
 * root of its chain, and classify what the root itself waits on, comparing the first and last
 * samples to tell stuck from slow. Roots outside any lock chain are culprits only when several
 * workers pile up on the same upstream, or one has been stuck past `stuckAfterMs`.
 */
import type {
  ChainKind,
  ChainLink,
  ChainReport,
  Collected,
  CulpritKind,
  CulpritReport,
  Diagnosis,
  FdEntry,
  LockReport,
  ProcessReport,
  ProcessRole,
  ProcessSample,
  ResourceReport,
  Sample,
  ServiceRegistry,
  ThreadSample,
} from './model';
import { TCP_TIMERS, type Endpoint, type LockEntry, type TcpSocket } from './parse';
import { isDenied } from './procfs';

export interface AnalyzeOptions {
  registry?: ServiceRegistry;
  /**
   * A process outside any lock chain, alone on its upstream, is named culprit only when it has not
   * run for this long (from /proc/PID/sched); shorter waits are ordinary requests in flight.
   */
  stuckAfterMs?: number;
}

export const DEFAULT_STUCK_AFTER_MS = 10_000;
/** Send-queue shrinkage between samples that counts as bytes moving (see classify). */
export const DRAIN_PROGRESS_BYTES = 32 * 1024;

interface Classification {
  kind: ChainKind;
  resource: ResourceReport;
  syscall: string | null;
  evidence: string[];
  /** True when the process sat in the same wait on the same fd in every sample. */
  persistent: boolean;
  /** For upstream grouping: `ip:port` of the peer of an outbound TCP wait. */
  upstream?: string;
  /** The wait's own timeout when known (poll/select argument); -1 or undefined: none. */
  timeoutMs?: number;
  /** The thread whose wait this is (= pid for the main thread). */
  tid?: number;
}

const SEVERITY: Record<ChainKind, number> = {
  'lock-cycle': 0,
  'half-open-read': 1,
  'stalled-write': 2,
  'connect-stall': 3,
  'busy-loop': 4,
  'slow-holder': 5,
  'slow-peer': 6,
  unknown: 7,
  idle: 8,
};

const CLK_TCK = 100; // USER_HZ is 100 on every Linux architecture we decode

export function endpointText(e: Endpoint): string {
  return e.ip.includes(':') ? `[${e.ip}]:${e.port}` : `${e.ip}:${e.port}`;
}

function normalizeHost(host: string): string[] {
  const h = host.trim().toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost') return ['127.0.0.1', '::1'];
  return [h.startsWith('::ffff:') && h.includes('.') ? h.slice(7) : h];
}

export function serviceFor(registry: ServiceRegistry | undefined, remote: Endpoint): string | undefined {
  if (!registry) return undefined;
  const ip = normalizeHost(remote.ip)[0];
  for (const service of registry.services) {
    for (const address of service.addresses) {
      if (address.port === remote.port && normalizeHost(address.host).includes(ip as string)) return service.name;
    }
  }
  return undefined;
}

export function analyze(collected: Collected, options: AnalyzeOptions = {}): Diagnosis {
  return new Analysis(collected, options).run();
}

class Analysis {
  private readonly first: Sample;
  private readonly last: Sample;
  private readonly multi: boolean;
  private readonly spanMs: number;
  private readonly stuckAfterMs: number;
  /** waiter -> (holder, lock) from the last sample's /proc/locks. */
  private readonly edges = new Map<number, { holder: number; entry: LockEntry }>();
  /** waiters whose lock holder is not visible (other PID namespace, OFD lock of an unknown file). */
  private readonly orphanWaits = new Map<number, LockEntry>();

  constructor(
    private readonly collected: Collected,
    private readonly options: AnalyzeOptions,
  ) {
    const samples = collected.samples;
    if (samples.length === 0) throw new Error('analyze needs at least one sample');
    this.first = samples[0] as Sample;
    this.last = samples[samples.length - 1] as Sample;
    this.multi = samples.length > 1;
    this.spanMs = Math.round(this.last.takenAtMs - this.first.takenAtMs);
    this.stuckAfterMs = options.stuckAfterMs ?? DEFAULT_STUCK_AFTER_MS;
  }

  run(): Diagnosis {
    this.buildEdges();
    const chains = [...this.lockChains(), ...this.upstreamChains()];
    chains.sort(
      (a, b) =>
        Number(b.culprit) - Number(a.culprit) ||
        b.waiters.length - a.waiters.length ||
        SEVERITY[a.kind] - SEVERITY[b.kind] ||
        a.root - b.root,
    );
    const top = chains.find((c) => c.culprit);
    const culprit = top ? this.culpritReport(top) : null;
    return {
      verdict: culprit ? 'stuck' : 'healthy',
      culprit,
      chains,
      processes: this.processReports(chains, culprit),
      samples: this.collected.samples.length,
      spanMs: this.spanMs,
      reader: this.collected.reader,
      arch: this.collected.arch,
      warnings: [...this.collected.warnings, ...this.permissionWarnings()],
    };
  }

  // --- wait-for graph ------------------------------------------------------------------------

  private buildEdges(): void {
    for (const entry of this.last.locks ?? []) {
      if (entry.waiters.length === 0) continue;
      const holder = entry.pid > 0 ? entry.pid : this.ofdHolder(entry);
      for (const w of entry.waiters) {
        // /proc/locks lists every lock on the host: keep the processes in scope (the selection and
        // everything lock-connected to it, as collected).
        if (w.pid <= 0 || this.edges.has(w.pid) || !this.last.processes.has(w.pid)) continue;
        if (holder === undefined || holder === w.pid) this.orphanWaits.set(w.pid, entry);
        else this.edges.set(w.pid, { holder, entry });
      }
    }
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

  private lockReport(entry: LockEntry, holder: number | undefined): LockReport {
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

  private holderFd(entry: LockEntry, holder: number | undefined): FdEntry | undefined {
    if (holder === undefined) return undefined;
    const proc = this.last.processes.get(holder);
    return proc?.fds?.find((fd) => fd.fdinfo?.locks.some((l) => l.fileKey === entry.fileKey));
  }

  private lockChains(): ChainReport[] {
    // Follow every waiter to its root, or to a cycle.
    const groups = new Map<string, { root: number; members: Set<number>; cycle?: number[] }>();
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

    const chains: ChainReport[] = [];
    for (const group of groups.values()) {
      group.members.delete(group.root);
      const waiters = [...group.members].sort((a, b) => a - b);
      const links = this.linksFrom(group.root);
      if (group.cycle) {
        chains.push(this.cycleChain(group.root, group.cycle, waiters, links));
        continue;
      }
      const c = this.classify(group.root, true);
      const lockEvidence = links.map((l) => this.linkEvidence(l));
      chains.push({
        root: group.root,
        kind: c.kind,
        culprit: c.kind !== 'idle',
        waiters,
        links,
        resource: c.resource,
        syscall: c.syscall,
        tid: c.tid,
        evidence: [...lockEvidence, ...c.evidence],
      });
    }
    return chains;
  }

  /** Breadth-first from the root: the locks each holder holds and who queues behind them. */
  private linksFrom(root: number): ChainLink[] {
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

  private linkEvidence(link: ChainLink): string {
    const entry = [...this.edges.values()].find((e) => e.holder === link.holder && e.entry.fileKey === link.lock.file)?.entry;
    const fd = entry ? this.holderFd(entry, link.holder) : undefined;
    const what = `${link.lock.type} ${link.lock.access} lock on ${link.lock.path ?? `file ${link.lock.file}`}`;
    const via = fd ? ` via fd ${fd.fd}` : '';
    const ws = link.waiters;
    return `/proc/locks: ${what} (${link.lock.file}) held by pid ${link.holder}${via}; ${ws.length} waiter${ws.length === 1 ? '' : 's'} (->): ${ws.join(', ')}`;
  }

  private cycleChain(root: number, cycle: number[], waiters: number[], links: ChainLink[]): ChainReport {
    const steps = cycle.map((pid) => {
      const edge = this.edges.get(pid);
      if (!edge) return `pid ${pid}`;
      const lock = this.lockReport(edge.entry, edge.holder);
      return `pid ${pid} waits for ${lock.type} ${lock.access} ${lock.path ?? lock.file} held by pid ${edge.holder}`;
    });
    const firstEdge = this.edges.get(root);
    const lock = firstEdge ? this.lockReport(firstEdge.entry, firstEdge.holder) : undefined;
    const proc = this.last.processes.get(root);
    return {
      root,
      kind: 'lock-cycle',
      culprit: true,
      waiters,
      links,
      cycle,
      resource: { type: 'lock', path: lock?.path, fd: proc?.wait.type === 'lock' ? proc.wait.fd : undefined },
      syscall: proc?.syscallText ?? null,
      tid: proc?.tid,
      evidence: [`lock cycle (deadlock) among ${cycle.length} processes: ${steps.join('; ')}`],
    };
  }

  // --- roots outside lock chains ---------------------------------------------------------------

  private upstreamChains(): ChainReport[] {
    const inChains = new Set<number>();
    for (const [w, { holder }] of this.edges) {
      inChains.add(w);
      inChains.add(holder);
    }
    const byUpstream = new Map<string, Array<{ pid: number; c: Classification }>>();
    for (const pid of this.last.processes.keys()) {
      if (inChains.has(pid)) continue;
      const c = this.classify(pid, false);
      if (!c.upstream || !c.persistent) continue;
      if (!['half-open-read', 'stalled-write', 'connect-stall', 'slow-peer'].includes(c.kind)) continue;
      // A silent wait that times out by itself soon is a bounded wait, not a hang (the fixed
      // code's per-read timeouts look like this). A trickle is different: each chunk restarts
      // the timeout, so slow-peer counts whatever the timeout.
      if (c.kind !== 'slow-peer' && c.timeoutMs !== undefined && c.timeoutMs >= 0 && c.timeoutMs < this.stuckAfterMs) continue;
      const list = byUpstream.get(c.upstream) ?? [];
      list.push({ pid, c });
      byUpstream.set(c.upstream, list);
    }
    const chains: ChainReport[] = [];
    for (const [upstream, list] of byUpstream) {
      list.sort((a, b) => a.pid - b.pid);
      // An upstream that moves bytes for any of its workers is alive: slow, not dead. Workers that
      // happened not to wake between two samples do not make it a stalled or half-open peer.
      // Otherwise the upstream's signature is the worst one among the workers stuck on it.
      const moving = list.find((x) => x.c.kind === 'slow-peer');
      const head = moving ?? (list[0] as { pid: number; c: Classification });
      const kind = moving ? 'slow-peer' : ([...list].sort((a, b) => SEVERITY[a.c.kind] - SEVERITY[b.c.kind])[0]?.c.kind ?? head.c.kind);
      const others = list.filter((x) => x !== head).map((x) => x.pid);
      const notRun = this.last.processes.get(head.pid)?.notRunForMs;
      const pileUp = list.length >= 2;
      const longStuck = kind !== 'slow-peer' && notRun !== undefined && notRun >= this.stuckAfterMs;
      const service = head.c.resource.service;
      chains.push({
        root: head.pid,
        kind,
        culprit: pileUp || longStuck,
        waiters: others,
        links: [],
        resource: head.c.resource,
        syscall: head.c.syscall,
        tid: head.c.tid,
        evidence: [
          pileUp
            ? `${list.length} workers wait on the same upstream ${service ? `${service} (${upstream})` : upstream}: pids ${list.map((x) => x.pid).join(', ')}`
            : `one worker waits on upstream ${service ? `${service} (${upstream})` : upstream}` +
              (longStuck ? `, not run for ${fmtMs(notRun as number)} (>= ${fmtMs(this.stuckAfterMs)})` : ''),
          ...head.c.evidence,
        ],
      });
    }
    return chains;
  }

  // --- classification of one process ------------------------------------------------------------

  private history(pid: number): Array<ProcessSample | undefined> {
    return this.collected.samples.map((s) => s.processes.get(pid));
  }

  private classify(pid: number, holdsLock: boolean): Classification {
    const c = this.classifyProcess(pid, holdsLock);
    const p = this.last.processes.get(pid);
    if (p) {
      c.tid = p.tid;
      const threads = this.threadsLine(p);
      if (threads) c.evidence.splice(Math.min(1, c.evidence.length), 0, threads);
    }
    return c;
  }

  /** `pid 123 (python3)`, plus ` thread 125` when the wait shown is not the main thread's. */
  private who(p: ProcessSample): string {
    const thread = p.tid !== undefined && p.tid !== p.pid ? ` thread ${p.tid}${p.threadComm ? ` (${p.threadComm})` : ''}` : '';
    return `pid ${p.pid} (${p.command})${thread}`;
  }

  /** For a multi-threaded process: which thread's wait is shown, and what the others do. */
  private threadsLine(p: ProcessSample): string | undefined {
    const tasks = p.tasks;
    if (!tasks || tasks.length < 2) return undefined;
    const doing = (t: ThreadSample): string => {
      if (t.wait.type === 'running') return 'running';
      if (t.syscallText) return `in ${t.syscallText}${t.wchan ? ` (wchan ${t.wchan})` : ''}`;
      return `state ${t.state}, syscall unknown`;
    };
    const others = tasks.filter((t) => t.tid !== p.tid);
    const shown = others
      .slice(0, 4)
      .map((t) => `${t.tid === p.pid ? 'main thread' : 'thread'} ${t.tid}${t.comm !== p.command ? ` (${t.comm})` : ''} ${doing(t)}`);
    const more = others.length > 4 ? ` (+${others.length - 4} more)` : '';
    if (tasks.every((t) => t.wait.type === 'unknown')) {
      return `pid ${p.pid} has ${tasks.length} threads, none running, none with a readable syscall: the main thread is shown; ${shown.join('; ')}${more}`;
    }
    const whose = p.tid === p.pid ? "the main thread's" : `thread ${p.tid}'s`;
    return `pid ${p.pid} has ${tasks.length} threads: the wait shown is ${whose} (a lock or socket wait, or CPU time rising, outranks futex, wait4 and sleeps); ${shown.join('; ')}${more}`;
  }

  private classifyProcess(pid: number, holdsLock: boolean): Classification {
    const p = this.last.processes.get(pid);
    if (!p) {
      return {
        kind: 'unknown',
        resource: { type: 'unknown' },
        syscall: null,
        evidence: [`pid ${pid} holds the lock but could not be read (exited, or in another PID namespace)`],
        persistent: false,
      };
    }
    // The first sample's facts compare with the last only for the same thread.
    const first = this.first.processes.get(pid);
    const p0 = first && first.tid === p.tid ? first : undefined;
    const samples = this.collected.samples.length;
    const span = `${samples} samples over ${fmtMs(this.spanMs)}`;
    const cpuDelta = p0 && p.cpuTicks !== undefined && p0.cpuTicks !== undefined ? p.cpuTicks - p0.cpuTicks : undefined;
    const ctxt = (x: ProcessSample): number | undefined =>
      x.voluntaryCtxt === undefined ? undefined : x.voluntaryCtxt + (x.nonvoluntaryCtxt ?? 0);
    const ctxtNow = ctxt(p);
    const ctxtThen = p0 ? ctxt(p0) : undefined;
    const ioBytes = (x: ProcessSample | undefined): number | undefined =>
      x?.io?.rchar === undefined || x.io.wchar === undefined ? undefined : x.io.rchar + x.io.wchar;
    const ioNow = ioBytes(p);
    const ioThen = ioBytes(first);
    const ioDelta = ioNow !== undefined && ioThen !== undefined ? ioNow - ioThen : undefined;
    const syscall = p.syscallText ?? null;
    const sameSyscall = this.history(pid).every((h) => h && h.syscallText === p.syscallText);
    const notRun = p.notRunForMs !== undefined ? `; has not run on a CPU for ${fmtMs(p.notRunForMs)}` : '';
    const holding = holdsLock ? ' while holding the lock' : '';
    const w = p.wait;

    const isRunning = w.type === 'running' || (p.state === 'R' && (w.type === 'unknown' || w.type === 'not-in-syscall'));
    if (isRunning) {
      const rising = cpuDelta !== undefined && cpuDelta > 0;
      if (!this.multi || rising) {
        const evidence = [
          `${this.who(p)} is running in user space${holding}: state ${p.state}, /proc/PID/${p.tid !== undefined && p.tid !== pid ? 'task/TID/' : ''}syscall "${syscall ?? 'unreadable'}"`,
        ];
        if (this.multi) {
          evidence.push(
            `CPU time rose by ${cpuDelta} ticks (${fmtMs(((cpuDelta ?? 0) * 1000) / CLK_TCK)}) across ${span}; still no blocking syscall`,
          );
        } else evidence.push('one sample: CPU time could not be compared');
        return { kind: 'busy-loop', resource: { type: 'cpu' }, syscall, evidence, persistent: true };
      }
    }

    if (w.type === 'sleep') {
      return {
        kind: 'slow-holder',
        resource: { type: 'timer' },
        syscall,
        evidence: [
          `${this.who(p)} sleeps in ${w.syscall}${holding}: it waits on a clock, not on a resource`,
          ...(this.multi ? [`same syscall across ${span}${notRun}`] : []),
        ],
        persistent: sameSyscall,
      };
    }

    if (w.type === 'lock') {
      const orphan = this.orphanWaits.get(pid);
      return {
        kind: 'unknown',
        resource: { type: 'lock', fd: w.fd, path: p.fds?.find((f) => f.fd === w.fd)?.target },
        syscall,
        evidence: [
          `${this.who(p)} waits in ${syscall ?? w.syscall} for a lock` +
            (orphan
              ? ` (${orphan.type} ${orphan.access} ${orphan.fileKey}) whose holder is not visible here (pid ${orphan.pid}: another PID namespace or an OFD lock)`
              : ' that /proc/locks does not show a holder for'),
        ],
        persistent: sameSyscall,
      };
    }

    if (w.type === 'io') {
      const via =
        w.source === 'pollfd'
          ? 'fd and events read from the pollfd array in /proc/PID/mem'
          : w.source === 'fd_set'
            ? 'fds read from the fd_set in /proc/PID/mem'
            : w.source === 'epoll-fdinfo'
              ? "fds from the epoll fd's fdinfo"
              : w.source === 'sockets-fallback'
                ? `${w.fallbackReason ?? 'fds unknown'}: guessed from the process's sockets`
                : '';
      const entries = w.targets.map((t) => ({ t, fd: p.fds?.find((f) => f.fd === t.fd) }));
      const listening = (e: { t: { direction: string }; fd?: FdEntry }): boolean =>
        e.t.direction === 'accept' || e.fd?.tcp?.state === 'LISTEN';
      if (entries.length > 0 && entries.every(listening)) {
        return {
          kind: 'idle',
          resource: this.fdResource(entries[0]?.fd, entries[0]?.t.fd),
          syscall,
          evidence: [`${this.who(p)} waits for new connections (${syscall ?? w.syscall} on a listening socket): an idle worker`],
          persistent: sameSyscall,
        };
      }
      const busy = entries.filter((e) => !listening(e));
      const primary = busy.find((e) => e.fd?.tcp) ?? busy.find((e) => e.fd?.type === 'socket') ?? busy[0];
      if (!primary) {
        return {
          kind: 'unknown',
          resource: { type: 'unknown' },
          syscall,
          evidence: [
            `${this.who(p)} waits in ${syscall ?? w.syscall}${holding} but its fds are unknown (${w.fallbackReason ?? 'no fds'})`,
            ...this.candidateSockets(p),
          ],
          persistent: sameSyscall,
        };
      }
      const resource = this.fdResource(primary.fd, primary.t.fd);
      const tcp = primary.fd?.tcp;
      const base = `${this.who(p)} blocked in ${syscall ?? w.syscall}${holding}${
        w.timeoutMs === -1 ? ' with no timeout' : w.timeoutMs !== undefined ? ` (timeout ${w.timeoutMs} ms)` : ''
      }, waiting to ${primary.t.direction} fd ${primary.t.fd}${via ? ` (${via})` : ''}`;
      if (!tcp) {
        return {
          kind: 'unknown',
          resource,
          syscall,
          evidence: [base, `fd ${primary.t.fd} is ${primary.fd?.target ?? 'unknown'} (not a TCP socket)`],
          persistent: sameSyscall,
        };
      }
      const tcp0 = first?.fds?.find((f) => f.socketInode === tcp.inode)?.tcp;
      const sameSocket = this.history(pid).every(
        (h) => h && h.wait.type === 'io' && h.wait.targets.some((t) => h.fds?.find((f) => f.fd === t.fd)?.socketInode === tcp.inode),
      );
      const queuesMoved = tcp0 !== undefined && (tcp0.txQueue !== tcp.txQueue || tcp0.rxQueue !== tcp.rxQueue);
      const woke = ctxtNow !== undefined && ctxtThen !== undefined ? ctxtNow - ctxtThen : undefined;
      // recv/send on sockets do not count in /proc/PID/io (only read/write do), so wake-ups are the
      // other sign of bytes moving: a blocked socket wait only wakes when data or buffer space
      // arrives, unless its poll timeout is short enough to explain the wake-ups by itself.
      const timeoutWakeups =
        w.timeoutMs !== undefined && w.timeoutMs > 0 ? Math.floor(this.spanMs / w.timeoutMs) + 1 : 0;
      const wokeWithData = woke !== undefined && woke > timeoutWakeups;
      // A shrinking send queue is progress only past a margin: a closed window still shrinks a
      // little as the receiver collapses its buffers, without the blocked writer ever waking up.
      // A peer that reads slowly drains it in whole chunks, though the writer (blocked until a
      // large share of its buffer frees) may not wake for many seconds.
      const drained = tcp0 !== undefined && tcp.txQueue > 0 && tcp0.txQueue - tcp.txQueue >= DRAIN_PROGRESS_BYTES;
      const moved = (ioDelta !== undefined && ioDelta > 0) || wokeWithData || drained;
      const sockLine = `fd ${primary.t.fd} is ${primary.fd?.target}: TCP ${endpointText(tcp.local)} -> ${endpointText(tcp.remote)} ${tcp.state}, tx_queue ${tcp.txQueue}, rx_queue ${tcp.rxQueue}, timer ${TCP_TIMERS[tcp.timer] ?? tcp.timer}${tcp.retransmits ? `, ${tcp.retransmits} retransmits` : ''}`;
      const evidence = [base, sockLine];
      if (resource.service) evidence.push(`peer ${endpointText(tcp.remote)} is service ${resource.service}`);
      const progress = this.multi
        ? moved
          ? `bytes moving across ${span}: ${woke !== undefined ? `woke ${woke} times in the same wait` : ''}${drained ? `, send queue drained ${(tcp0?.txQueue ?? 0) - tcp.txQueue} bytes` : ''}${ioDelta ? `, ${ioDelta} bytes read/written (rchar+wchar)` : ''}${queuesMoved ? `, queues tx ${tcp0?.txQueue}->${tcp.txQueue} rx ${tcp0?.rxQueue}->${tcp.rxQueue}` : ''}`
          : `no progress across ${span}: same syscall, same queues${ioDelta !== undefined ? ', 0 bytes read/written' : ''}${woke !== undefined ? `, voluntary_ctxt_switches ${woke === 0 ? `unchanged at ${p.voluntaryCtxt}` : `+${woke} (woke without data: timeouts)`}` : ''}${notRun}`
        : `one sample: cannot tell stuck from slow${notRun}`;
      evidence.push(progress);
      const upstream = this.isInbound(p, tcp) ? undefined : endpointText(tcp.remote);
      const result = (kind: CulpritKind, why: string): Classification => ({
        kind,
        resource,
        syscall,
        evidence: [...evidence, why],
        persistent: sameSocket,
        upstream,
        timeoutMs: w.timeoutMs,
      });
      if (tcp.state === 'SYN_SENT' || primary.t.direction === 'connect') {
        return result('connect-stall', `the connection never completed: SYN sent, no SYN-ACK (peer down, filtered, or its accept backlog is full)`);
      }
      if (this.multi && moved) {
        return result('slow-peer', `the peer is alive but slow: data trickles, so per-operation timeouts never fire`);
      }
      if (primary.t.direction === 'write' || tcp.txQueue > 0) {
        return result(
          'stalled-write',
          `the send queue is not draining (tx_queue ${tcp.txQueue}${tcp.timer === 4 ? ', zero-window probes: the peer does not read' : tcp.timer === 1 ? ', retransmitting: the peer may be gone' : ''})`,
        );
      }
      return result(
        'half-open-read',
        tcp.state === 'ESTABLISHED'
          ? `the connection looks ESTABLISHED with nothing in flight and no timer: the peer is gone or silent (lost FIN/RST)${
              w.timeoutMs !== undefined && w.timeoutMs >= 0 ? `; the wait times out after ${w.timeoutMs} ms` : ', and the read has no timeout'
            }`
          : `the read waits on a ${tcp.state} connection that will deliver nothing`,
      );
    }

    // futex, wait4, not in a syscall, or unreadable.
    const reason =
      w.type === 'unknown'
        ? w.reason
        : w.type === 'other'
          ? `blocked in ${syscall ?? w.syscall}${p.wchan ? ` (wchan ${p.wchan})` : ''}`
          : w.type === 'not-in-syscall'
            ? `blocked outside a syscall (state ${p.state}${p.wchan ? `, wchan ${p.wchan}` : ''})`
            : 'state unknown';
    return {
      kind: 'unknown',
      resource: { type: 'unknown' },
      syscall,
      evidence: [`${this.who(p)}${holding}: ${reason}`, ...this.candidateSockets(p)],
      persistent: sameSyscall,
    };
  }

  /** A socket accepted from one of our own listeners is a client connection, not an upstream. */
  private isInbound(p: ProcessSample, tcp: TcpSocket): boolean {
    const table = this.last.tcp.get(p.netns ?? 'unknown');
    if (!table) return false;
    for (const s of table.values()) {
      if (s.state === 'LISTEN' && s.local.port === tcp.local.port) return true;
    }
    return false;
  }

  /** Without ptrace access: the TCP sockets of the process's uid in its netns (net/tcp is public). */
  private candidateSockets(p: ProcessSample): string[] {
    if (p.fds !== undefined || p.uid === undefined) return [];
    const table = this.last.tcp.get(p.netns ?? 'unknown');
    if (!table) return [];
    const candidates = [...table.values()].filter(
      (s) => s.uid === p.uid && s.state !== 'LISTEN' && s.state !== 'TIME_WAIT',
    );
    if (candidates.length === 0) return [];
    return [
      `fds unreadable; TCP sockets of uid ${p.uid} in its netns (from net/tcp, no privilege needed): ` +
        candidates
          .slice(0, 5)
          .map((s) => `${endpointText(s.local)} -> ${endpointText(s.remote)} ${s.state} tx ${s.txQueue} rx ${s.rxQueue}`)
          .join('; ') +
        (candidates.length > 5 ? ` (+${candidates.length - 5} more)` : ''),
    ];
  }

  private fdResource(fd: FdEntry | undefined, fdNumber: number | undefined): ResourceReport {
    if (!fd) return { type: 'unknown', fd: fdNumber };
    if (fd.tcp) {
      const r: ResourceReport = {
        type: 'tcp',
        fd: fd.fd,
        local: endpointText(fd.tcp.local),
        remote: endpointText(fd.tcp.remote),
        state: fd.tcp.state,
        txQueue: fd.tcp.txQueue,
        rxQueue: fd.tcp.rxQueue,
        timer: TCP_TIMERS[fd.tcp.timer] ?? String(fd.tcp.timer),
      };
      const service = serviceFor(this.options.registry, fd.tcp.remote);
      if (service) r.service = service;
      return r;
    }
    if (fd.type === 'socket') return { type: 'socket', fd: fd.fd, path: fd.target };
    if (fd.type === 'pipe') return { type: 'pipe', fd: fd.fd, path: fd.target };
    if (fd.type === 'file') return { type: 'file', fd: fd.fd, path: fd.target };
    return { type: 'unknown', fd: fd.fd, path: fd.target };
  }

  // --- reports -----------------------------------------------------------------------------------

  private culpritReport(chain: ChainReport): CulpritReport {
    const p = this.last.processes.get(chain.root);
    const holds = chain.links.filter((l) => l.holder === chain.root).map((l) => l.lock);
    return {
      pid: chain.root,
      command: p?.command ?? '?',
      cmdline: p?.cmdline ?? '',
      kind: chain.kind === 'idle' ? 'unknown' : chain.kind,
      syscall: chain.syscall,
      tid: chain.tid,
      resource: chain.resource,
      holds,
      waiters: chain.waiters,
      evidence: chain.evidence,
    };
  }

  private processReports(chains: ChainReport[], culprit: CulpritReport | null): ProcessReport[] {
    const holders = new Set([...this.edges.values()].map((e) => e.holder));
    const idle = new Set(chains.filter((c) => c.kind === 'idle').map((c) => c.root));
    const out: ProcessReport[] = [];
    for (const p of [...this.last.processes.values()].sort((a, b) => a.pid - b.pid)) {
      let role: ProcessRole = 'other';
      if (culprit?.pid === p.pid) role = 'culprit';
      else if (holders.has(p.pid)) role = 'holder';
      else if (this.edges.has(p.pid) || this.orphanWaits.has(p.pid)) role = 'waiter';
      else if (idle.has(p.pid) || this.isIdle(p)) role = 'idle';
      const report: ProcessReport = {
        pid: p.pid,
        command: p.command,
        cmdline: p.cmdline,
        state: p.state,
        syscall: p.syscallText ?? null,
        tid: p.tid,
        wait: this.describeWait(p),
        role,
      };
      if (p.unreadable.length > 0) {
        report.unreadable = p.unreadable.map((u) => `${u.file}: ${u.error}${isDenied(u.error) ? ' (needs CAP_SYS_PTRACE)' : ''}`);
      }
      out.push(report);
    }
    return out;
  }

  private isIdle(p: ProcessSample): boolean {
    const w = p.wait;
    if (w.type !== 'io' || w.targets.length === 0) return false;
    return w.targets.every((t) => t.direction === 'accept' || p.fds?.find((f) => f.fd === t.fd)?.tcp?.state === 'LISTEN');
  }

  private describeWait(p: ProcessSample): string {
    const wait = this.describeThreadWait(p);
    return p.tid !== undefined && p.tid !== p.pid ? `thread ${p.tid}: ${wait}` : wait;
  }

  private describeThreadWait(p: ProcessSample): string {
    const edge = this.edges.get(p.pid);
    if (edge) {
      const lock = this.lockReport(edge.entry, edge.holder);
      return `waits in ${p.syscallText ?? 'a lock call'} for ${lock.type} ${lock.access} ${lock.path ?? lock.file} held by pid ${edge.holder}`;
    }
    const w = p.wait;
    switch (w.type) {
      case 'running':
        return 'running (no syscall)';
      case 'sleep':
        return `sleeping in ${w.syscall}`;
      case 'lock':
        return `waits in ${p.syscallText ?? w.syscall} (holder not visible)`;
      case 'io': {
        const parts = w.targets.slice(0, 4).map((t) => {
          const fd = p.fds?.find((f) => f.fd === t.fd);
          const sock = fd?.tcp ? ` tcp ${endpointText(fd.tcp.local)} -> ${endpointText(fd.tcp.remote)} ${fd.tcp.state}` : fd ? ` ${fd.target}` : '';
          return `${t.direction} fd ${t.fd}${sock}`;
        });
        return `${p.syscallText ?? w.syscall}: ${parts.join('; ') || 'no fds'}${w.targets.length > 4 ? ` (+${w.targets.length - 4})` : ''}`;
      }
      case 'other':
        return `blocked in ${p.syscallText ?? w.syscall}`;
      case 'not-in-syscall':
        return `not in a syscall (state ${p.state})`;
      case 'unknown':
        return w.reason;
    }
  }

  private permissionWarnings(): string[] {
    const denied = new Map<string, number[]>();
    for (const p of this.last.processes.values()) {
      const files = p.unreadable.filter((u) => isDenied(u.error)).map((u) => u.file);
      if (files.length === 0) continue;
      const key = [...new Set(files)].sort().join(', ');
      denied.set(key, [...(denied.get(key) ?? []), p.pid]);
    }
    const out: string[] = [];
    if (!this.last.locks) out.push('/proc/locks unreadable: lock chains cannot be built');
    for (const [files, pids] of denied) {
      const list = pids.length > 8 ? `${pids.slice(0, 8).join(', ')} … (${pids.length})` : pids.join(', ');
      out.push(
        `${files} unreadable for pid ${list}: missing CAP_SYS_PTRACE (run as root, or diagnose a container with --container, whose sidecar has SYS_PTRACE); shown: what /proc/locks, stat and net/tcp tell without it`,
      );
    }
    return out;
  }
}

export function fmtMs(ms: number): string {
  if (ms >= 10_000) return `${(ms / 1000).toFixed(0)} s`;
  if (ms >= 1000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.round(ms)} ms`;
}
