import type Docker from 'dockerode';
import { FaultlineError } from '../errors';
import type { ImageStore, ProgressListener } from '../engine/images';
import { newRun } from '../engine/labels';
import { checkUploads } from '../probes/data';
import { History } from '../probes/history';
import { Topology, type StartedTopology } from '../topology/topology';
import { monotonicMs, withTimeout } from '../util/time';
import { RUN_TIMEOUT_MS } from './limits';
import { applyTopologyKnobs, explicitSettings, resolveSettings, type KnobValue } from './knobs';
import { buildResult, type RunRecord } from './result';
import { validateScenarios } from './schema';
import { ScenarioRun, type Diagnoser, type Progress } from './run';
import type { Scenario, ScenarioResult, Variant, WorkerSpec } from './types';

export type { Diagnoser, Progress } from './run';

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
  /** Hard limit for one scenario run's body. */
  timeoutMs?: number;
  /** Called with the started topology (tests use it to look inside). */
  onStarted?: (topo: StartedTopology) => void;
  /** Knob values (`--set name=value`); the scenario's defaults fill in the rest. */
  settings?: Readonly<Record<string, KnobValue>>;
  /** Observe windows run to their maximum (`--full-windows`) instead of ending once settled. */
  fullWindows?: boolean;
  /** Called once the scenario's body is over (before its teardown): the runner pool frees the slot. */
  onBodyEnd?: () => void;
}

/**
 * Runs one scenario in one variant on a fresh topology and judges the recorded history. Never
 * throws for a failed run: a topology that does not start, a scenario that throws or an
 * interrupt give a result with verdict `error` and the reason in `error`.
 */
export async function runScenario(scenario: Scenario, opts: RunOptions): Promise<ScenarioResult> {
  const startedAt = monotonicMs();
  const { variant } = opts;
  // Bad input is one line before any engine work, for library users as for the CLI.
  validateScenarios([scenario], [variant]);
  const spec = scenario.variants[variant]!;
  const knobs = scenario.knobs ?? [];
  const settings = resolveSettings(scenario.name, knobs, opts.settings);
  const topology = applyTopologyKnobs(scenario.topology ? scenario.topology(new Topology(), settings) : new Topology(), knobs, settings);
  const withSettings = (r: ScenarioResult): ScenarioResult => {
    const given = explicitSettings(knobs, settings);
    if (Object.keys(given).length) r.settings = given;
    return r;
  };
  const progress = (phase: string) =>
    opts.onProgress?.({ scenario: scenario.name, variant, phase, elapsedMs: monotonicMs() - startedAt, liveP99Ms: null });

  const run = newRun();
  let topo: StartedTopology;
  try {
    topo = await topology.start({ docker: opts.docker, images: opts.images, env: opts.env, run, onImageProgress: opts.onImageProgress, onProgress: (m) => progress(`start: ${m}`) });
  } catch (e) {
    // Input errors are the caller's to report; anything else is this run's result.
    if (e instanceof FaultlineError && e.code === 'FAULTLINE_USAGE') throw e;
    return withSettings(buildResult(
      { ...emptyRecord(scenario.name, variant, run.runId), error: e as Error, diagnoserConfigured: !!opts.diagnoser, durationMs: monotonicMs() - startedAt },
      { spec, judge: scenario.judge },
    ));
  }

  const topologyStartedAt = monotonicMs();
  opts.onStarted?.(topo);
  const ctx = new ScenarioRun(scenario.name, variant, topo, {
    spec,
    workers: scenario.workers ?? APACHE_WORKERS,
    diagnoser: opts.diagnoser,
    outerSignal: opts.signal,
    onProgress: opts.onProgress,
    startedAt,
    settings,
    fullWindows: opts.fullWindows,
  });
  let error: Error | undefined;
  let data: RunRecord['data'];
  let stopError: Error | undefined;
  let bodyEndedAt = monotonicMs();
  try {
    try {
      await withTimeout(scenario.run(ctx), opts.timeoutMs ?? RUN_TIMEOUT_MS, `scenario ${scenario.name} (${variant})`);
      if (spec.culprit && opts.diagnoser && !ctx.diagnosed) {
        throw new FaultlineError('FAULTLINE_SCENARIO_FAILED', `${scenario.name}: the scenario expects a culprit but never called diagnose in its observe phase`);
      }
    } catch (e) {
      error = opts.signal?.aborted ? new Error(`interrupted (${(opts.signal.reason as Error)?.message ?? 'aborted'})`) : (e as Error);
    } finally {
      bodyEndedAt = monotonicMs();
      opts.onBodyEnd?.();
      await ctx.dispose();
    }
    if (scenario.checksData && !error) {
      try {
        data = await checkUploads(topo, ctx.history);
      } catch (e) {
        error = e as Error;
      }
    }
  } finally {
    try {
      await topo.stop();
    } catch (e) {
      stopError = e as Error;
    }
  }
  const facts = ctx.facts();
  const record: RunRecord = {
    scenario: scenario.name,
    variant,
    runId: topo.runId,
    poolSize: topo.web.maxWorkers,
    ...facts,
    notes: stopError ? [...facts.notes, { name: 'stop-failed', detail: stopError.message }] : facts.notes,
    diagnoserConfigured: !!opts.diagnoser,
    data,
    error,
    durationMs: monotonicMs() - startedAt,
    // Where the seconds outside the phases went: the topology's start, and everything after the
    // scenario's body (load drained, faults healed, the data check, containers removed).
    stages: { startMs: topologyStartedAt - startedAt, teardownMs: monotonicMs() - bodyEndedAt },
  };
  return withSettings(buildResult(record, { spec, judge: scenario.judge }));
}

function emptyRecord(scenario: string, variant: Variant, runId: string): Omit<RunRecord, 'diagnoserConfigured' | 'durationMs'> {
  return { scenario, variant, runId, history: new History(), poolSize: 0, faults: [], notes: [] };
}
