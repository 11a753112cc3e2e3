import type Docker from 'dockerode';
import type { ImageStore } from '../engine/images';
import { Topology } from '../topology/topology';
import { webDiagnoser } from './diagnoser';
import { resolveSettings, type KnobValue } from './knobs';
import { validateScenarios } from './schema';
import { RUN_TIMEOUT_MS } from './limits';
import { runScenario, type Progress, type RunOptions } from './runner';
import type { Scenario, ScenarioResult, Variant } from './types';

/**
 * Two runs at once: topologies are mostly idle (a hung pool sleeps), so two fit on 2 cores
 * without bending the timings the verdicts rest on. The default of `run` and `sweep`.
 */
export const DEFAULT_PARALLEL = 2;
/**
 * Each run is its own topology (web, Toxiproxy, storage nodes, sidecars: 4-6 containers) and its
 * verdicts rest on timings of about a second. 16 runs are ~90 containers, past what a CI runner
 * keeps honest timings for, and already more than the bundled library's runs at once.
 */
export const MAX_PARALLEL = 16;

/** What every pool of runs needs (the library, a sweep): the engine, images, and how many at once. */
export interface PoolOptions {
  docker: Docker;
  images: ImageStore;
  env: NodeJS.ProcessEnv;
  signal: AbortSignal;
  /** Runs at once, each on its own topology. */
  parallel: number;
  onProgress?: (p: Progress) => void;
}

export interface LibraryOptions extends PoolOptions {
  onStart?: (scenario: Scenario, variant: Variant) => void;
  onResult?: (result: ScenarioResult) => void;
  /** Knob values for every run (`--set`); each scenario must declare them. */
  settings?: Readonly<Record<string, KnobValue>>;
  /** Runs only the scenario x variant pairs this accepts (a shard of the library); default all. */
  only?: (scenario: Scenario, variant: Variant) => boolean;
}

/**
 * Runs every scenario in every variant, up to `parallel` at once, and returns the results in
 * scenario x variant order (runs not started because of an abort are left out).
 */
export async function runLibrary(scenarios: readonly Scenario[], variants: readonly Variant[], opts: LibraryOptions): Promise<ScenarioResult[]> {
  validateScenarios(scenarios, variants); // before any image is built
  const jobs = scenarios.flatMap((scenario) => variants.map((variant) => ({ scenario, variant }))).filter((j) => opts.only?.(j.scenario, j.variant) ?? true);
  // Images only for the runs of this job (a shard needs fewer).
  await ensureScenarioImages([...new Set(jobs.map((j) => j.scenario))], opts.images);
  const results = await runPool(jobs, opts.parallel, opts.signal, async ({ scenario, variant }) => {
    opts.onStart?.(scenario, variant);
    const result = await runScenario(scenario, runOptionsFor(opts, variant, opts.settings));
    opts.onResult?.(result);
    return result;
  });
  return results.filter((r): r is ScenarioResult => r !== undefined);
}

/**
 * The options of one run of a pool (the library's, a sweep's): the pool's engine, images, signal
 * and progress, the web diagnoser (a hung variant must name its culprit wherever it runs), and
 * the run's knob settings. Long scenario timings (observe window, self-recovery wait) stretch
 * the run's own limit by as much.
 */
export function runOptionsFor(pool: PoolOptions, variant: Variant, settings: Readonly<Record<string, KnobValue>> = {}): RunOptions {
  const stretchMs = Number(settings.observe_ms ?? 0) + Number(settings.recovery_limit_s ?? 0) * 1000;
  return {
    variant,
    docker: pool.docker,
    images: pool.images,
    env: pool.env,
    signal: pool.signal,
    onProgress: pool.onProgress,
    diagnoser: webDiagnoser(),
    settings,
    ...(stretchMs > 0 ? { timeoutMs: RUN_TIMEOUT_MS + stretchMs } : {}),
  };
}

/** Images first, once, and only those needed: parallel runs then share them. */
export async function ensureScenarioImages(scenarios: readonly Scenario[], images: ImageStore): Promise<void> {
  const topologyOf = (s: Scenario) => (s.topology ? s.topology(new Topology(), resolveSettings(s.name, s.knobs ?? [])) : new Topology());
  await images.ensureAll([...new Set(scenarios.flatMap((s) => topologyOf(s).bundledImages))]);
}

/**
 * The runner pool: up to `parallel` jobs at once (each run on its own topology), results in job
 * order; jobs not started because of an abort are left undefined.
 */
export async function runPool<J, R>(jobs: readonly J[], parallel: number, signal: AbortSignal, run: (job: J, index: number) => Promise<R>): Promise<Array<R | undefined>> {
  const results: Array<R | undefined> = new Array(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length && !signal.aborted) {
      const index = next++;
      results[index] = await run(jobs[index], index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, jobs.length) }, worker));
  return results;
}

/** Time a run spent beyond its faults' own durations (start, steady state, checks, stop). */
export function overheadMs(result: ScenarioResult): number {
  const faultMs = result.faults.reduce((sum, f) => sum + ((f.healedAtMs ?? f.injectedAtMs) - f.injectedAtMs), 0);
  return result.durationMs - faultMs;
}
