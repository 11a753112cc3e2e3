/**
 * The watcher's Prometheus metrics, on a registry of its own (never prom-client's global one, so
 * two watchers in one process, or a test, cannot mix their series). Names and meanings are listed
 * in README.md ("In production"); each gauge is rewritten whole on every sample, so a kind or a
 * service that no longer waits disappears instead of keeping its last value.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export const VERDICTS = ['healthy', 'stuck', 'inconclusive', 'unavailable'] as const;
export type WatchVerdict = (typeof VERDICTS)[number];

export interface PoolView {
  size: number;
  busy: number;
  byKind: Map<string, number>;
  byService: Map<string, number>;
  oldestWaitSeconds: number;
}

export class WatchMetrics {
  readonly registry = new Registry();
  private readonly poolSize = new Gauge({ name: 'faultline_pool_processes', help: 'Processes watched (the pool, plus every process lock-connected to it)', registers: [this.registry] });
  private readonly busy = new Gauge({ name: 'faultline_pool_busy', help: 'Watched processes that are not idle waiting for connections', registers: [this.registry] });
  private readonly waitingByKind = new Gauge({
    name: 'faultline_waiting_workers',
    help: 'Workers stuck behind a culprit (the culprit included), by the culprit chain\'s kind',
    labelNames: ['kind'],
    registers: [this.registry],
  });
  private readonly waitingByService = new Gauge({
    name: 'faultline_waiting_workers_by_service',
    help: 'Workers stuck behind a culprit (the culprit included), by the upstream service the culprit waits on (its address when unnamed, "none" when not a socket)',
    labelNames: ['service'],
    registers: [this.registry],
  });
  private readonly oldestWait = new Gauge({ name: 'faultline_oldest_wait_seconds', help: 'The longest a watched, non-idle process has waited in the same place', registers: [this.registry] });
  private readonly verdict = new Gauge({ name: 'faultline_verdict', help: 'The last sample\'s verdict: 1 for the current one, 0 for the others', labelNames: ['verdict'], registers: [this.registry] });
  private readonly incident = new Gauge({ name: 'faultline_incident', help: '1 while an incident is open (stuck for --stuck-for consecutive samples, not yet recovered)', registers: [this.registry] });
  private readonly streak = new Gauge({ name: 'faultline_stuck_streak', help: 'Consecutive stuck samples so far', registers: [this.registry] });
  private readonly samples = new Counter({ name: 'faultline_samples_total', help: 'Samples taken, by verdict', labelNames: ['verdict'], registers: [this.registry] });
  private readonly sampleSeconds = new Histogram({
    name: 'faultline_sample_duration_seconds',
    help: 'Wall time of one sample (a /proc reading, two on the first, and the analysis)',
    buckets: [0.05, 0.1, 0.25, 0.3, 0.4, 0.5, 0.75, 1, 2, 5, 10],
    registers: [this.registry],
  });
  private readonly sampleCpu = new Counter({ name: 'faultline_sample_cpu_seconds_total', help: 'CPU time (user + system) this process spent taking samples', registers: [this.registry] });
  private readonly incidents = new Counter({ name: 'faultline_incidents_total', help: 'Incidents opened (snapshots written)', registers: [this.registry] });
  private readonly onStuckRuns = new Counter({ name: 'faultline_on_stuck_runs_total', help: '--on-stuck runs, by result (ok, failed)', labelNames: ['result'], registers: [this.registry] });

  constructor() {
    // The watcher's own cost, as Prometheus' usual names. Not prom-client's collectDefaultMetrics:
    // its event-loop-lag histogram wakes the process every 10 ms, which alone costs more CPU
    // than the samples (measured with bench/watch.ts).
    const registers = [this.registry];
    new Gauge({ name: 'process_cpu_seconds_total', help: 'User and system CPU time this watcher spent, in seconds', registers, collect() { const u = process.cpuUsage(); this.set((u.user + u.system) / 1e6); } });
    new Gauge({ name: 'process_resident_memory_bytes', help: 'Resident memory of this watcher, in bytes', registers, collect() { this.set(process.memoryUsage.rss()); } });
    for (const v of VERDICTS) this.verdict.set({ verdict: v }, 0);
    this.incident.set(0);
    this.streak.set(0);
  }

  sampled(verdict: WatchVerdict, pool: PoolView | undefined, cost: { wallMs: number; cpuMs: number }): void {
    this.samples.inc({ verdict });
    this.sampleSeconds.observe(cost.wallMs / 1000);
    this.sampleCpu.inc(cost.cpuMs / 1000);
    for (const v of VERDICTS) this.verdict.set({ verdict: v }, v === verdict ? 1 : 0);
    this.waitingByKind.reset();
    this.waitingByService.reset();
    if (!pool) return; // unavailable: the pool's last view would be a guess
    this.poolSize.set(pool.size);
    this.busy.set(pool.busy);
    for (const [kind, n] of pool.byKind) this.waitingByKind.set({ kind }, n);
    for (const [service, n] of pool.byService) this.waitingByService.set({ service }, n);
    this.oldestWait.set(pool.oldestWaitSeconds);
  }

  state(open: boolean, streak: number): void {
    this.incident.set(open ? 1 : 0);
    this.streak.set(streak);
  }

  incidentOpened(): void {
    this.incidents.inc();
  }

  onStuckRan(ok: boolean): void {
    this.onStuckRuns.inc({ result: ok ? 'ok' : 'failed' });
  }
}
