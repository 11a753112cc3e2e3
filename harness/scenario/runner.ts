import type Docker from 'dockerode';
import { FaultlineError } from '../errors';
import type { ImageStore, ProgressListener } from '../engine/images';
import type { ActiveFault } from '../faults/fault';
import { History, summarize } from '../probes/history';
import { PoolProbe } from '../probes/pool';
import { LoadLoop, SimUser } from '../probes/users';
import { Topology, type StartedTopology } from '../topology/topology';
import { clearIntervalReal, monotonicMs, setIntervalReal, sleep, withTimeout } from '../util/time';
import { judgeHealthAndData, observedHealth, peakPool } from './judge';
import { checkUploads, type DataReport } from '../probes/data';
import type { DiagnosisOutcome, Scenario, ScenarioContext, ScenarioResult, Variant, WorkerSpec } from './types';

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

const APACHE_WORKERS: WorkerSpec = { comm: 'apache2', match: /apache2/ };

export interface RunOptions {
  variant: Variant;
  docker?: Docker;
  images?: ImageStore;
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  onImageProgress?: ProgressListener;
  /** Names the culprit of a hung pool; used when the variant expects a culprit. */
  diagnoser?: Diagnoser;
  /** Hard limit for one scenario run, start to stop. */
  timeoutMs?: number;
  /** Called with the started topology (tests use it to look inside). */
  onStarted?: (topo: StartedTopology) => void;
}

/** Runs one scenario in one variant on a fresh topology and judges the recorded history. */
export async function runScenario(scenario: Scenario, opts: RunOptions): Promise<ScenarioResult> {
  const started = monotonicMs();
  const variant = opts.variant;
  const spec = scenario.variants[variant];
  const controller = new AbortController();
  const onOuterAbort = () => controller.abort(opts.signal?.reason);
  opts.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const history = new History();
  let phase = 'start';
  const topology = scenario.topology ? scenario.topology(new Topology()) : new Topology();
  const topo = await topology.start({
    docker: opts.docker,
    images: opts.images,
    env: opts.env,
    onImageProgress: opts.onImageProgress,
    onProgress: (m) => opts.onProgress?.({ scenario: scenario.name, variant, phase: `start: ${m}`, elapsedMs: monotonicMs() - started, liveP99Ms: null }),
  });
  opts.onStarted?.(topo);
  const workers = scenario.workers ?? APACHE_WORKERS;
  const pool = new PoolProbe(topo, workers.comm);
  const faults: Array<{ active: ActiveFault; injectedAtMs: number; healedAtMs?: number }> = [];
  const loops: LoadLoop[] = [];
  const users = new Map<string, SimUser>();
  const notes: Array<{ name: string; detail?: string }> = [];
  let diagnosis: DiagnosisOutcome | undefined;
  let lastPool: { busy: number; size: number } | undefined;
  let sampling = false;

  const samplePool = async () => {
    const occ = await pool.sample();
    history.pool.push({ t: history.now(), busy: occ.busy, size: occ.size });
    lastPool = occ;
    return occ;
  };
  const ticker = setIntervalReal(() => {
    if (sampling) return;
    sampling = true;
    samplePool()
      .catch(() => undefined)
      .finally(() => {
        sampling = false;
        const recent = history.requests.filter((r) => r.kind === 'health' && r.end >= history.now() - 5000);
        opts.onProgress?.({
          scenario: scenario.name,
          variant,
          phase,
          elapsedMs: monotonicMs() - started,
          liveP99Ms: summarize(recent).p99Ms,
          busy: lastPool?.busy,
          size: lastPool?.size,
        });
      });
  }, 1000);

  const ctx: ScenarioContext = {
    scenario: scenario.name,
    variant,
    topo,
    history,
    signal: controller.signal,
    async phase(name, body) {
      phase = name;
      history.event('phase', name);
      return body();
    },
    async inject(fault) {
      const active = await fault.inject(topo);
      history.event('fault', active.name, active.description);
      const entry: { active: ActiveFault; injectedAtMs: number; healedAtMs?: number } = { active, injectedAtMs: history.now() };
      faults.push(entry);
      return {
        ...active,
        heal: async () => {
          await active.heal();
          if (entry.healedAtMs === undefined) {
            entry.healedAtMs = history.now();
            history.event('heal', active.name);
          }
        },
      };
    },
    user(name) {
      let u = users.get(name);
      if (!u) users.set(name, (u = new SimUser(name, topo.web.url, history, variant)));
      return u;
    },
    loop(req, everyMs, user) {
      let anon = 0;
      const l = new LoadLoop(
        () => {
          const r = typeof req === 'function' ? req() : req;
          return (user ?? new SimUser(`${r.kind}-${++anon}`, topo.web.url, history, variant)).request(r);
        },
        everyMs,
        controller.signal,
      );
      loops.push(l);
      return l;
    },
    samplePool,
    async diagnose() {
      if (!opts.diagnoser) return undefined;
      // Diagnose what an operator would: a variant expected to hang, or a pool that is (nearly)
      // full now. A responsive pool has nothing to name, and the diagnosis costs ~1 s.
      const occ = await samplePool().catch(() => undefined);
      if (!spec.culprit && !(occ && occ.busy >= occ.size - 1)) {
        history.event('note', 'diagnosis skipped', `pool not saturated (${occ?.busy ?? '?'}/${occ?.size ?? '?'} busy)`);
        return undefined;
      }
      diagnosis = await opts.diagnoser(topo, controller.signal, workers);
      history.event('note', 'diagnosis', diagnosis.culprit ? `${diagnosis.culprit.kind} on ${diagnosis.culprit.service ?? '?'}` : 'no culprit');
      return diagnosis;
    },
    sleep: (ms) => sleep(ms, controller.signal),
    note(name, detail) {
      notes.push({ name, detail });
      history.event('note', name, detail);
    },
  };

  let error: unknown;
  try {
    const body = (async () => {
      await scenario.run(ctx);
      if (spec.culprit && opts.diagnoser && !diagnosis) {
        throw new FaultlineError('FAULTLINE_SCENARIO_FAILED', `${scenario.name}: the scenario expects a culprit but never called diagnose in its observe phase`);
      }
    })();
    await withTimeout(body, opts.timeoutMs ?? 240_000, `scenario ${scenario.name} (${variant})`);
  } catch (e) {
    error = e;
  } finally {
    clearIntervalReal(ticker);
    controller.abort();
    opts.signal?.removeEventListener('abort', onOuterAbort);
    await Promise.all(loops.map((l) => l.drain())).catch(() => undefined);
    for (const f of faults.reverse()) await f.active.heal().catch(() => undefined);
  }

  let data: DataReport | undefined;
  if (scenario.checksData && !error) {
    data = await checkUploads(topo, history).catch((e: Error) => {
      error = e;
      return undefined;
    });
  }
  const poolSize = topo.web.maxWorkers;
  const verdict = (scenario.judge ?? judgeHealthAndData)({ history, variant, poolSize, data });
  const mismatch: string[] = [];
  if (error) mismatch.push(`run failed: ${(error as Error).message}`);
  if (verdict !== spec.expected) mismatch.push(`expected ${spec.expected}, observed ${verdict}`);
  const health = summarize(observedHealth(history));
  const result: ScenarioResult = {
    scenario: scenario.name,
    variant,
    expected: spec.expected,
    verdict,
    matched: false,
    health: { p50Ms: health.p50Ms, p99Ms: health.p99Ms, errors: health.errors, total: health.total },
    pool: peakPool(history, poolSize),
    phases: phaseRecords(history),
    faults: faults.map((f) => ({
      name: f.active.name,
      layer: f.active.layer,
      description: f.active.description,
      injectedAtMs: Math.round(f.injectedAtMs),
      healedAtMs: f.healedAtMs === undefined ? undefined : Math.round(f.healedAtMs),
    })),
    runId: topo.runId,
    durationMs: 0,
    notes,
    timeline: {
      requests: history.requests.map((r) => ({ kind: r.kind, user: r.user, start: Math.round(r.start), end: Math.round(r.end), outcome: r.outcome, status: r.status })),
      pool: history.pool.map((p) => ({ t: Math.round(p.t), busy: p.busy, size: p.size })),
      events: history.events.map((e) => ({ t: Math.round(e.t), kind: e.kind, name: e.name, detail: e.detail })),
    },
  };
  if (diagnosis) result.diagnosis = diagnosis.json;
  if (data) result.data = data;
  if (history.recoveryMs !== undefined) result.recoveryMs = history.recoveryMs;
  if (spec.recoversWithinMs !== undefined) {
    const ms = history.recoveryMs;
    if (ms === undefined || ms > spec.recoversWithinMs) {
      mismatch.push(`pool did not recover within ${spec.recoversWithinMs} ms of the heal${ms !== undefined ? ` (took ${ms} ms)` : ''}`);
    }
  }
  if (spec.culprit && verdict === spec.expected) {
    const named = diagnosis?.culprit;
    if (!opts.diagnoser) mismatch.push('no diagnoser configured to name the culprit');
    else if (!named) mismatch.push(`diagnosis named no culprit (expected ${spec.culprit.kind} on ${spec.culprit.service})`);
    else if (named.kind !== spec.culprit.kind || named.service !== spec.culprit.service) {
      mismatch.push(`diagnosis named ${named.kind} on ${named.service ?? 'unknown service'}, expected ${spec.culprit.kind} on ${spec.culprit.service}`);
    }
  }
  result.matched = mismatch.length === 0;
  if (mismatch.length) result.mismatch = mismatch;
  if (error) result.error = (error as Error).message;

  await topo.stop().catch((e) => {
    result.notes.push({ name: 'stop-failed', detail: (e as Error).message });
  });
  result.durationMs = Math.round(monotonicMs() - started);
  return result;

  function phaseRecords(h: History) {
    const phases = h.events.filter((e) => e.kind === 'phase');
    return phases.map((p, i) => ({ name: p.name, startMs: Math.round(p.t), endMs: Math.round(phases[i + 1]?.t ?? h.now()) }));
  }
}
