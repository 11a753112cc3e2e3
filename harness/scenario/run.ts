import type { ActiveFault, Fault } from '../faults/fault';
import { History, summarize } from '../probes/history';
import { PoolProbe, type PoolOccupancy } from '../probes/pool';
import { LoadLoop, SimUser, type UserRequest } from '../probes/users';
import type { StartedTopology } from '../topology/topology';
import { clearIntervalReal, monotonicMs, setIntervalReal, sleep } from '../util/time';
import { readKnob, type KnobValue, type Settings } from './knobs';
import type { FaultRecord } from './result';
import type { DiagnosisOutcome, ScenarioContext, Variant, VariantSpec, WorkerSpec } from './types';

export interface Progress {
  scenario: string;
  variant: Variant;
  phase: string;
  elapsedMs: number;
  /** p99 of health requests over the last 5 s, null before any. */
  liveP99Ms: number | null;
  busy?: number;
  size?: number;
}

export type Diagnoser = (topo: StartedTopology, signal: AbortSignal, workers: WorkerSpec) => Promise<DiagnosisOutcome>;

/** How often pool occupancy is sampled and progress reported. */
const SAMPLE_EVERY_MS = 1000;

/**
 * One scenario run on a started topology: the context the scenario's `run(ctx)` drives, and the
 * recorder of everything that happens (requests, pool samples, faults, notes, the diagnosis).
 * Facts flow one way: the scenario records them through the context, the runner reads them out
 * with `facts()` once the run is disposed.
 */
export class ScenarioRun implements ScenarioContext, AsyncDisposable {
  readonly history = new History();
  readonly signal: AbortSignal;
  private readonly controller = new AbortController();
  private readonly pool: PoolProbe;
  private readonly faults: Array<FaultRecord & { active: ActiveFault }> = [];
  private readonly loops: LoadLoop[] = [];
  private readonly users = new Map<string, SimUser>();
  private readonly notes: Array<{ name: string; detail?: string }> = [];
  private readonly ticker: ReturnType<typeof setIntervalReal>;
  private currentPhase = 'start';
  private diagnosis?: DiagnosisOutcome;
  private recoveryMs?: number;
  readonly settings: Settings;
  readonly fullWindows: boolean;
  private lastPool?: { busy: number; size: number };
  private sampling = false;
  private disposed?: Promise<void>;

  constructor(
    readonly scenario: string,
    readonly variant: Variant,
    readonly topo: StartedTopology,
    private readonly opts: {
      spec: VariantSpec;
      workers: WorkerSpec;
      diagnoser?: Diagnoser;
      outerSignal?: AbortSignal;
      onProgress?: (p: Progress) => void;
      startedAt: number;
      settings?: Settings;
      fullWindows?: boolean;
    },
  ) {
    this.settings = opts.settings ?? {};
    this.fullWindows = opts.fullWindows ?? false;
    this.signal = this.controller.signal;
    if (opts.outerSignal?.aborted) this.controller.abort(opts.outerSignal.reason);
    opts.outerSignal?.addEventListener('abort', this.onOuterAbort, { once: true });
    this.pool = new PoolProbe(topo, opts.workers.comm);
    this.ticker = setIntervalReal(() => this.tick(), SAMPLE_EVERY_MS);
  }

  private readonly onOuterAbort = () => this.controller.abort(this.opts.outerSignal?.reason);

  private tick(): void {
    if (this.sampling) return;
    this.sampling = true;
    this.samplePool()
      .catch(() => undefined)
      .finally(() => {
        this.sampling = false;
        this.reportProgress();
      });
  }

  /** Where the run is: the phase, the live health p99 (last 5 s) and the last pool sample. */
  private reportProgress(): void {
    const recent = this.history.requests.filter((r) => r.kind === 'health' && r.end >= this.history.now() - 5000);
    this.opts.onProgress?.({
      scenario: this.scenario,
      variant: this.variant,
      phase: this.currentPhase,
      elapsedMs: monotonicMs() - this.opts.startedAt,
      liveP99Ms: summarize(recent).p99Ms,
      busy: this.lastPool?.busy,
      size: this.lastPool?.size,
    });
  }

  async phase<T>(name: string, body: () => Promise<T>): Promise<T> {
    this.currentPhase = name;
    this.history.event('phase', name);
    // Said when it begins, not at the next tick: a heal takes well under the tick's second.
    this.reportProgress();
    return body();
  }

  async inject(fault: Fault): Promise<ActiveFault> {
    const active = await fault.inject(this.topo);
    this.history.event('fault', active.name, active.description);
    const entry = { active, name: active.name, layer: active.layer, description: active.description, injectedAtMs: this.history.now() } as FaultRecord & { active: ActiveFault };
    this.faults.push(entry);
    return {
      name: active.name,
      layer: active.layer,
      description: active.description,
      heal: async () => {
        await active.heal();
        if (entry.healedAtMs === undefined) {
          entry.healedAtMs = this.history.now();
          this.history.event('heal', active.name);
        }
      },
      get effect() {
        return active.effect;
      },
    };
  }

  user(name: string): SimUser {
    let u = this.users.get(name);
    if (!u) this.users.set(name, (u = new SimUser(name, this.topo.web.url, this.history, this.variant)));
    return u;
  }

  loop(req: UserRequest | (() => UserRequest), everyMs: number, user?: SimUser): LoadLoop {
    let anon = 0;
    const l = new LoadLoop(
      () => {
        const r = typeof req === 'function' ? req() : req;
        return (user ?? new SimUser(`${r.kind}-${++anon}`, this.topo.web.url, this.history, this.variant)).request(r);
      },
      everyMs,
      this.signal,
    );
    this.loops.push(l);
    return l;
  }

  async samplePool(): Promise<PoolOccupancy> {
    const occ = await this.pool.sample();
    this.history.pool.push({ t: this.history.now(), busy: occ.busy, size: occ.size });
    this.lastPool = occ;
    return occ;
  }

  async diagnose(): Promise<DiagnosisOutcome | undefined> {
    if (!this.opts.diagnoser) return undefined;
    // Every variant is diagnosed at the same moment of the same body: a fixed variant is where a
    // false alarm shows (it must name no culprit; buildResult checks), so it is never skipped.
    await this.samplePool().catch(() => undefined);
    this.diagnosis = await this.opts.diagnoser(this.topo, this.signal, this.opts.workers);
    const named = this.diagnosis.culprit;
    this.history.event('note', 'diagnosis', named ? `${named.kind} on ${named.service ?? '?'}` : 'no culprit');
    return this.diagnosis;
  }

  sleep(ms: number): Promise<void> {
    return sleep(ms, this.signal);
  }

  note(name: string, detail?: string): void {
    this.notes.push({ name, detail });
    this.history.event('note', name, detail);
  }

  recordRecovery(ms: number): void {
    this.recoveryMs = Math.round(ms);
  }

  knob(name: string): KnobValue | undefined {
    return readKnob(this.scenario, this.settings, name);
  }

  /** Whether the scenario asked for a diagnosis (a variant that expects a culprit must). */
  get diagnosed(): boolean {
    return this.diagnosis !== undefined;
  }

  /** What the run recorded, for buildResult. */
  facts() {
    return {
      history: this.history,
      // The effect was read at the heal (dispose heals whatever the scenario left in place).
      faults: this.faults.map(({ active, ...f }) => ({ ...f, effect: active.effect })),
      notes: [...this.notes],
      diagnosis: this.diagnosis,
      recoveryMs: this.recoveryMs,
    };
  }

  /** Stops sampling and load, then heals every fault still in place (latest first). Safe twice. */
  dispose(): Promise<void> {
    this.disposed ??= (async () => {
      clearIntervalReal(this.ticker);
      this.controller.abort();
      this.opts.outerSignal?.removeEventListener('abort', this.onOuterAbort);
      await Promise.all(this.loops.map((l) => l.drain())).catch(() => undefined);
      for (const f of [...this.faults].reverse()) await f.active.heal().catch(() => undefined);
    })();
    return this.disposed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }
}
