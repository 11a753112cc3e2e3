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
 * Runs at once, for `faultline run`, `faultline sweep` and the benches (one source). Each run is
 * a topology of its own, mostly idle (a hung pool sleeps), and its verdict rests on timings of
 * about a second. On a quiet 2-core machine the library's wall time falls to 4 and 5 at once and
 * rises again at 6 (starts and heals stretch: 7.8 s and 1.0 s a run); 4 is the default: the
 * verdicts stayed identical over the soak's 20 library repeats (one diagnosis missed its culprit
 * once) and bench:windows' 5, with a start of 4.4 s a run rather than 5.7 s at 5 (README, "Timings").
 */
export const DEFAULT_PARALLEL = 4;
/**
 * Each run is 4-6 containers; 16 runs are ~90, past what a CI runner keeps honest timings for,
 * and already most of the bundled library's 22 runs.
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
  /** `--full-windows`: every observe window runs to its maximum (default: ends once settled). */
  fullWindows?: boolean;
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
  // Runs expected to hang go first, side by side, then the rest (fixed variants, data checks):
  // a hung pool's heal releases its pile-up at once (slow-node: eight 8 MiB replicated uploads
  // resume at full speed), a burst of CPU that, landing in the window of a run beside it that must
  // stay responsive, filled that pool too (measured: slow-node fixed degraded beside slow-node
  // incident, twice in a row on a loaded 2-core machine). Beside another hung run it only deepens
  // a hang. Results come back in scenario x variant order.
  const order = scenarios.flatMap((scenario) => variants.map((variant) => ({ scenario, variant })));
  const hangs = (j: (typeof order)[number]) => (j.scenario.variants[j.variant]?.expected === 'hung' ? 0 : 1);
  const jobs = [...order]
    .sort((a, b) => hangs(a) - hangs(b))
    .filter((j) => opts.only?.(j.scenario, j.variant) ?? true);
  // Images only for the runs of this job (a shard needs fewer).
  await ensureScenarioImages([...new Set(jobs.map((j) => j.scenario))], opts.images);
  const results = await runPool(jobs, opts.parallel, opts.signal, async ({ scenario, variant }, _index, release) => {
    opts.onStart?.(scenario, variant);
    const result = await runScenario(scenario, { ...runOptionsFor(opts, variant, opts.settings), onBodyEnd: release });
    opts.onResult?.(result);
    return result;
  });
  const rank = (r: ScenarioResult) => order.findIndex((j) => j.scenario.name === r.scenario && j.variant === r.variant);
  return results.filter((r): r is ScenarioResult => r !== undefined).sort((a, b) => rank(a) - rank(b));
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
    fullWindows: pool.fullWindows,
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
 * order; jobs not started because of an abort are left undefined. A job may `release` its slot
 * before it ends: a run does once its scenario's body is over, so its teardown (draining requests
 * in flight to their deadlines, removing containers: waiting, not work the verdicts time) overlaps
 * the next run's start instead of holding the slot.
 */
export async function runPool<J, R>(
  jobs: readonly J[],
  parallel: number,
  signal: AbortSignal,
  run: (job: J, index: number, release: () => void) => Promise<R>,
): Promise<Array<R | undefined>> {
  const results: Array<R | undefined> = new Array(jobs.length);
  const running: Array<Promise<void>> = [];
  let next = 0;
  const worker = async () => {
    while (next < jobs.length && !signal.aborted) {
      const index = next++;
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      const done = run(jobs[index], index, release).then((r) => {
        results[index] = r;
      });
      running.push(done);
      await Promise.race([done, released]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, jobs.length) }, worker));
  await Promise.all(running);
  return results;
}

/** Time a run spent beyond its faults' own durations (start, steady state, checks, stop). */
export function overheadMs(result: ScenarioResult): number {
  const faultMs = result.faults.reduce((sum, f) => sum + ((f.healedAtMs ?? f.injectedAtMs) - f.injectedAtMs), 0);
  return result.durationMs - faultMs;
}
