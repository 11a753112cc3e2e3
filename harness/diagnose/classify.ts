/**
 * Classification of one process into structured evidence: what it waits on (lock, socket, CPU,
 * clock), whether that changed between the first and the last sample (stuck or slow), and which
 * kind of culprit that makes it. A wait on fds (sockets above all) is read by socket-wait.ts; the
 * sentences come from prose.ts; the kinds from kinds.ts.
 */
import type { ChainKind } from './kinds';
import type { Collected, FdEntry, ProcessSample, ResourceReport, Sample, ServiceRegistry } from './model';
import type { TcpSocket } from './parse';
import { candidateSockets, fmtMs, threadsLine, who } from './prose';
import { classifySocketWait, fdResource, isInbound } from './socket-wait';
import type { WaitGraph } from './wait-graph';

export { DRAIN_PROGRESS_BYTES } from './socket-wait';

const CLK_TCK = 100; // USER_HZ is 100 on every Linux architecture we decode

export interface Classification {
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
  /**
   * How long the request on an outbound socket has been outstanding, the age that decides stuck or
   * in flight (see requestAge); undefined when it cannot be read.
   */
  requestAgeMs?: number;
  /** Where requestAgeMs comes from: our last send on the socket (sock_diag) or the last run (sched). */
  requestAgeFrom?: 'sent' | 'ran' | 'connected';
  /**
   * False when an event loop's connection has nothing outstanding (its last receive came after its
   * last send: an idle pooled connection, not a request waiting); undefined when not known.
   */
  awaitsReply?: boolean;
}

export class Classifier {
  private readonly first: Sample;
  private readonly last: Sample;
  private readonly multi: boolean;

  constructor(
    private readonly collected: Collected,
    private readonly graph: WaitGraph,
    private readonly registry: ServiceRegistry | undefined,
    private readonly spanMs: number,
  ) {
    this.first = collected.samples[0] as Sample;
    this.last = collected.samples[collected.samples.length - 1] as Sample;
    this.multi = collected.samples.length > 1;
  }

  private history(pid: number): Array<ProcessSample | undefined> {
    return this.collected.samples.map((s) => s.processes.get(pid));
  }

  /** The convoy inference and the upstream grouping ask about the same processes: classify once. */
  private readonly cache = new Map<string, Classification>();

  classify(pid: number, holdsLock: boolean): Classification {
    const key = `${pid}:${holdsLock}`;
    const cached = this.cache.get(key);
    if (cached) return { ...cached, evidence: [...cached.evidence] };
    const c = this.classifyProcess(pid, holdsLock);
    this.cache.set(key, c);
    const p = this.last.processes.get(pid);
    if (p) {
      c.tid = p.tid;
      const threads = threadsLine(p);
      if (threads) c.evidence.splice(Math.min(1, c.evidence.length), 0, threads);
    }
    return { ...c, evidence: [...c.evidence] };
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
          `${who(p)} is running in user space${holding}: state ${p.state}, /proc/PID/${p.tid !== undefined && p.tid !== pid ? 'task/TID/' : ''}syscall "${syscall ?? 'unreadable'}"`,
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
          `${who(p)} sleeps in ${w.syscall}${holding}: it waits on a clock, not on a resource`,
          ...(this.multi ? [`same syscall across ${span}${notRun}`] : []),
        ],
        persistent: sameSyscall,
      };
    }

    if (w.type === 'lock') {
      const orphan = this.graph.orphanWaits.get(pid);
      return {
        kind: 'unknown',
        resource: { type: 'lock', fd: w.fd, path: p.fds?.find((f) => f.fd === w.fd)?.target },
        syscall,
        evidence: [
          `${who(p)} waits in ${syscall ?? w.syscall} for a lock` +
            (orphan
              ? ` (${orphan.type} ${orphan.access} ${orphan.fileKey}) whose holder is not visible here (pid ${orphan.pid}: another PID namespace or an OFD lock)`
              : ' that /proc/locks does not show a holder for'),
        ],
        persistent: sameSyscall,
      };
    }

    if (w.type === 'io') {
      return classifySocketWait({
        p,
        w,
        p0,
        first,
        history: this.history(pid),
        last: this.last,
        multi: this.multi,
        spanMs: this.spanMs,
        registry: this.registry,
        syscall,
        sameSyscall,
        span,
        notRun,
        holding,
      });
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
      evidence: [`${who(p)}${holding}: ${reason}`, ...candidateSockets(p, this.last)],
      persistent: sameSyscall,
    };
  }

  /** A socket accepted from one of our own listeners is a client connection, not an upstream. */
  isInbound(p: ProcessSample, tcp: TcpSocket): boolean {
    return isInbound(this.last, p, tcp);
  }

  /** Public for the event-loop rule (event-loop.ts), which reports connections the wait is not on. */
  fdResource(fd: FdEntry | undefined, fdNumber: number | undefined): ResourceReport {
    return fdResource(fd, fdNumber, this.registry);
  }
}
