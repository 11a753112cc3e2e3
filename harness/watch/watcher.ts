/**
 * The watch loop: one sample per interval (a /proc reading compared with the previous tick's, then
 * the diagnoser's analysis), the metrics rewritten from it, and a small state machine that opens an
 * incident only after --stuck-for consecutive `stuck` verdicts. Never page on a false alarm: an
 * `inconclusive` sample (the diagnoser could not see enough) or a failed one breaks the streak
 * and never opens an incident; an open incident closes only on a `healthy` sample.
 */
import { spawn } from 'node:child_process';
import { analyze, DEFAULT_STUCK_AFTER_MS } from '../diagnose/analyze';
import { CollectCarry } from '../diagnose/carry';
import { collect } from '../diagnose/collect';
import { pickThreads } from '../diagnose/threads';
import type { Collected, Diagnosis, Sample, ServiceRegistry } from '../diagnose/model';
import type { ProcReader } from '../diagnose';
import { fmtMs } from '../diagnose/prose';
import { monotonicMs, sleep, wallClockMs } from '../util/time';
import { WatchMetrics, type PoolView, type WatchVerdict } from './metrics';
import { SAMPLE_GAP_MS, type WatchTarget } from './options';
import { MatchSelection } from './selection';
import { writeSnapshot } from './snapshot';
import type { ReaderSource } from './target';

export interface WatcherConfig {
  target: WatchTarget;
  source: ReaderSource;
  intervalMs: number;
  stuckFor: number;
  out: string;
  keep: number;
  onStuck?: string;
  registry?: ServiceRegistry;
  metrics: WatchMetrics;
  log: (line: string) => void;
  signal: AbortSignal;
}

export interface SampleResult {
  verdict: WatchVerdict;
  diagnosis?: Diagnosis;
  collected?: Collected;
  error?: string;
  wallMs: number;
  cpuMs: number;
}

/** How long each non-idle process has sat in the same wait, for the oldest-wait gauge. */
class WaitAges {
  private seen = new Map<number, { key: string; sinceMs: number }>();

  /**
   * Seconds of the oldest wait: the diagnoser's waitMs where it reports one, else the longer of
   * how long the process has not run on a CPU (its sched file, as the collector read it) and how
   * long this watcher has seen it in the same wait.
   */
  update(d: Diagnosis, collected: Collected | undefined, nowMs: number): number {
    const last = collected?.samples[collected.samples.length - 1];
    const next = new Map<number, { key: string; sinceMs: number }>();
    let oldestMs = 0;
    for (const p of d.processes) {
      if (p.role === 'idle') continue;
      const reported = (p as { waitMs?: number }).waitMs;
      const key = `${p.state}|${p.syscall ?? ''}|${p.wait}`;
      const prev = this.seen.get(p.pid);
      const since = prev && prev.key === key ? prev.sinceMs : nowMs;
      next.set(p.pid, { key, sinceMs: since });
      if (p.role === 'other' && p.state !== 'D') continue; // a master process asleep is not a wait
      const notRunForMs = last?.processes.get(p.pid)?.notRunForMs ?? 0;
      oldestMs = Math.max(oldestMs, typeof reported === 'number' ? reported : Math.max(nowMs - since, p.state === 'R' ? 0 : notRunForMs));
    }
    for (const c of d.chains) if (typeof (c as { waitMs?: number }).waitMs === 'number') oldestMs = Math.max(oldestMs, (c as { waitMs?: number }).waitMs as number);
    this.seen = next;
    return oldestMs / 1000;
  }
}

function serviceOf(resource: { service?: string; remote?: string; type: string }): string {
  return resource.service ?? resource.remote ?? 'none';
}

export function poolView(d: Diagnosis, oldestWaitSeconds: number): PoolView {
  const byKind = new Map<string, number>();
  const byService = new Map<string, number>();
  for (const c of d.chains) {
    if (!c.culprit) continue;
    const n = new Set([c.root, ...c.waiters]).size;
    byKind.set(c.kind, (byKind.get(c.kind) ?? 0) + n);
    byService.set(serviceOf(c.resource), (byService.get(serviceOf(c.resource)) ?? 0) + n);
  }
  return { size: d.processes.length, busy: d.processes.filter((p) => p.role !== 'idle').length, byKind, byService, oldestWaitSeconds };
}

/** One line: what is stuck, on what, behind whom. */
export function culpritLine(d: Diagnosis): string {
  const c = d.culprit;
  if (!c) return 'no culprit named';
  const service = c.resource.service ? `upstream ${c.resource.service}` : c.resource.remote ? `peer ${c.resource.remote}` : c.resource.path ? `on ${c.resource.path}` : c.resource.type;
  return `${c.kind}: pid ${c.pid} (${c.command}) in ${c.syscall ?? 'no syscall'}, ${service}, ${c.waiters.length} waiting behind it`;
}

export class Watcher {
  private readonly ages = new WaitAges();
  private streak = 0;
  private streakSince = 0;
  private open: { sinceWallMs: number; summary: string } | undefined;
  private unavailable: string | undefined;
  private readonly children = new Set<Promise<void>>();

  constructor(private readonly config: WatcherConfig) {}

  private previous: { reader: ProcReader; sample: Sample; atMs: number } | undefined;
  private selection: MatchSelection | undefined;
  /** What one tick's reading passes to the next where the kernel proves it unchanged (carry.ts). */
  private carry = new CollectCarry();

  /**
   * The two readings a diagnosis compares: this tick's and the previous tick's, one interval apart
   * (a stronger test of "no progress" than 250 ms, at half the cost of two readings per tick).
   * The first tick, or one after a gap (a failed sample, a new sidecar), takes both now,
   * SAMPLE_GAP_MS apart, as `faultline diagnose` does.
   */
  private async read(reader: ProcReader): Promise<Collected> {
    const c = this.config;
    // Locally, --match is resolved to PIDs here (cheaply, across ticks); a container's reader
    // selects inside its one exec, where a scan costs nothing more.
    const selection = c.target.match && !c.target.container ? (this.selection ??= new MatchSelection(c.target.match)).select() : undefined;
    if (selection && selection.length === 0) return collect(reader, { match: c.target.match, samples: 1, intervalMs: 0, signal: c.signal });
    const options = selection ? { pids: selection, signal: c.signal } : { pids: c.target.pids, match: c.target.match, signal: c.signal };
    const prev = this.previous;
    const fresh = prev !== undefined && prev.reader === reader && monotonicMs() - prev.atMs <= 2 * c.intervalMs + 1000;
    if (!fresh) this.carry = new CollectCarry();
    const atMs = monotonicMs();
    const collected = fresh
      ? await collect(reader, { ...options, samples: 1, intervalMs: 0, carry: this.carry })
      : await collect(reader, { ...options, samples: 2, intervalMs: SAMPLE_GAP_MS, carry: this.carry });
    const last = collected.samples[collected.samples.length - 1] as Sample;
    this.previous = { reader, sample: last, atMs };
    if (!fresh || !prev) return collected;
    // Both readings show the thread that explains each process's wait (as collect does for its own).
    const samples = pickThreads([{ ...prev.sample, index: 0 }, { ...last, index: 1 }]);
    return { ...collected, samples };
  }

  /** One sample, metrics and state updated. Never throws for what the target does. */
  async sample(): Promise<SampleResult> {
    const c = this.config;
    const cpu0 = process.cpuUsage();
    const t0 = monotonicMs();
    let result: SampleResult;
    try {
      const reader = await c.source.reader();
      const collected = await this.read(reader);
      const diagnosis = analyze(collected, { registry: c.registry, stuckAfterMs: DEFAULT_STUCK_AFTER_MS });
      // The contract's verdicts are stuck, healthy and inconclusive; anything newer counts as
      // inconclusive here: it never opens an incident.
      const verdict: WatchVerdict = diagnosis.verdict === 'stuck' || diagnosis.verdict === 'healthy' ? diagnosis.verdict : 'inconclusive';
      result = { verdict, diagnosis, collected, wallMs: 0, cpuMs: 0 };
    } catch (e) {
      if (c.signal.aborted) throw e;
      await c.source.reset();
      result = { verdict: 'unavailable', error: (e as Error).message.split('\n')[0], wallMs: 0, cpuMs: 0 };
    }
    const cpu = process.cpuUsage(cpu0);
    result.wallMs = monotonicMs() - t0;
    result.cpuMs = (cpu.user + cpu.system) / 1000;
    const pool = result.diagnosis ? poolView(result.diagnosis, this.ages.update(result.diagnosis, result.collected, monotonicMs())) : undefined;
    c.metrics.sampled(result.verdict, pool, result);
    this.transition(result);
    c.metrics.state(this.open !== undefined, this.streak);
    return result;
  }

  private transition(r: SampleResult): void {
    const c = this.config;
    if (r.verdict === 'unavailable') {
      if (this.unavailable === undefined) c.log(`cannot sample: ${r.error} (trying again every ${fmtMs(c.intervalMs)})`);
      this.unavailable = r.error;
    } else if (this.unavailable !== undefined) {
      this.unavailable = undefined;
      c.log(`sampling again: ${r.diagnosis?.processes.length ?? 0} processes`);
    }
    if (r.verdict === 'stuck' && r.diagnosis && r.collected) {
      if (this.streak === 0) this.streakSince = wallClockMs();
      this.streak++;
      if (!this.open && this.streak >= c.stuckFor) this.declareIncident(r.diagnosis, r.collected);
      return;
    }
    this.streak = 0;
    if (r.verdict === 'healthy' && this.open) {
      c.log(`recovered after ${fmtMs(Math.round(wallClockMs() - this.open.sinceWallMs))} (was ${this.open.summary})`);
      this.open = undefined;
    }
  }

  private declareIncident(d: Diagnosis, collected: Collected): void {
    const c = this.config;
    const now = wallClockMs();
    this.open = { sinceWallMs: this.streakSince, summary: culpritLine(d) };
    let path: string | undefined;
    try {
      path = writeSnapshot(
        c.out,
        {
          diagnosis: d,
          collected,
          at: new Date(now),
          stuckSince: new Date(this.streakSince),
          stuckSamples: this.streak,
          intervalMs: c.intervalMs,
          target: { container: c.target.container, match: c.target.match?.source, pids: c.target.pids },
        },
        c.keep,
      );
    } catch (e) {
      c.log(`stuck for ${fmtMs(Math.round(now - this.streakSince))} (${this.streak} samples): ${this.open.summary}; snapshot NOT written: ${(e as Error).message}`);
      return;
    }
    c.metrics.incidentOpened();
    c.log(`stuck for ${fmtMs(Math.round(now - this.streakSince))} (${this.streak} samples): ${this.open.summary}; snapshot ${path}`);
    if (c.onStuck) this.runOnStuck(c.onStuck, path);
  }

  /** argv, never a shell string: the path cannot be read as shell syntax, whatever it holds. */
  private runOnStuck(program: string, path: string): void {
    const c = this.config;
    const done = new Promise<void>((resolve) => {
      const child = spawn(program, [path], { stdio: ['ignore', 'ignore', 'inherit'], shell: false });
      child.on('error', (e) => {
        c.metrics.onStuckRan(false);
        c.log(`on-stuck ${program} could not run: ${e.message}`);
        resolve();
      });
      child.on('exit', (code, sig) => {
        c.metrics.onStuckRan(code === 0);
        c.log(`on-stuck ${program} ${path} exited ${sig ?? code}`);
        resolve();
      });
    });
    this.children.add(done);
    void done.then(() => this.children.delete(done));
  }

  /** Samples every interval until the signal aborts; a slow sample delays the next, never overlaps it. */
  async run(): Promise<void> {
    const c = this.config;
    let next = monotonicMs();
    while (!c.signal.aborted) {
      try {
        await this.sample();
      } catch (e) {
        if (c.signal.aborted) break;
        throw e;
      }
      next += c.intervalMs;
      const wait = next - monotonicMs();
      if (wait < 0) next = monotonicMs(); // fell behind: start again from now, no burst of catch-up samples
      await sleep(Math.max(0, wait), c.signal).catch(() => undefined);
    }
    await this.settle();
  }

  /** A pager started for the last incident finishes its job (bounded: it is the user's program). */
  async settle(): Promise<void> {
    await Promise.race([Promise.all([...this.children]), sleep(5000)]);
  }

  /** The open incident's one-line summary, if one is open. */
  get openIncident(): string | undefined {
    return this.open?.summary;
  }
}
