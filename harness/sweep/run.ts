import { ensureScenarioImages, runOptionsFor, runPool, type PoolOptions } from '../scenario/library';
import { describeTarget, resolveSettings, type KnobValue } from '../scenario/knobs';
import { runScenario } from '../scenario/runner';
import type { ScenarioResult } from '../scenario/types';
import { monotonicMs } from '../util/time';
import { findBoundaries, type Boundary } from './boundary';
import { predict, type QueueModelPrediction } from './model';
import { summarizePoint, type SweepPoint } from './point';
import type { SweepPlan } from './plan';

/**
 * The sweep's result, one JSON document: `{knobs, points: [{settings, verdict, ...}], boundaries}`.
 * This shape is what reports read (harness/report: see `writeSweepReport` in harness/cli/sweep.ts).
 */
export interface SweepResult {
  scenario: string;
  variant: string;
  knobs: Array<{ name: string; type: string; unit?: string; default?: KnobValue; reaches: string; values: KnobValue[] }>;
  fixed: Record<string, KnobValue>;
  repeat: number;
  parallel: number;
  points: SweepPoint[];
  boundaries: Boundary[];
  /** Wall time of the whole sweep, and per point (wall / points). */
  durationMs: number;
  msPerPoint: number;
  /** Whether topologies were reused between points (never: each point starts a fresh one). */
  topologyReuse: false;
}

export interface SweepOptions extends PoolOptions {
  /** After each run: how many runs are done, of how many, and the run's result. */
  onRun?: (done: number, total: number, result: ScenarioResult, settings: Record<string, KnobValue>) => void;
}

/**
 * Runs every point of the plan (x repeat), each on a fresh topology, through the library's
 * runner pool, then folds the runs into points and finds the verdict boundaries. Points whose
 * runs did not start (an interrupt) are left out.
 */
export async function runSweep(plan: SweepPlan, opts: SweepOptions): Promise<SweepResult> {
  const started = monotonicMs();
  const { scenario, variant } = plan;
  await ensureScenarioImages([scenario], opts.images);
  const jobs = plan.points.flatMap((settings, point) => Array.from({ length: plan.repeat }, () => ({ settings, point })));
  let done = 0;
  const results = await runPool(jobs, opts.parallel, opts.signal, async ({ settings }, _index, release) => {
    const result = await runScenario(scenario, { ...runOptionsFor(opts, variant, settings), onBodyEnd: release });
    opts.onRun?.(++done, jobs.length, result, settings);
    return result;
  });
  const modelFor = (settings: Record<string, KnobValue>): QueueModelPrediction | undefined => {
    const input = scenario.queueModel?.(resolveSettings(scenario.name, scenario.knobs ?? [], settings), variant);
    return input ? predict(input) : undefined;
  };
  const points: SweepPoint[] = [];
  plan.points.forEach((settings, i) => {
    const runs = results.filter((r, j): r is ScenarioResult => r !== undefined && jobs[j].point === i);
    if (runs.length) points.push(summarizePoint(settings, runs, modelFor(settings)));
  });
  const boundaries = findBoundaries(plan.axes, plan.fixed, points, scenario.knobs ?? [], scenario.queueModel ? (s) => modelFor(s)?.verdict : undefined);
  const durationMs = Math.round(monotonicMs() - started);
  return {
    scenario: scenario.name,
    variant,
    knobs: plan.axes.map((a) => ({ name: a.knob.name, type: a.knob.type, unit: a.knob.unit, default: a.knob.default, reaches: describeTarget(a.knob.reaches), values: a.values })),
    fixed: plan.fixed,
    repeat: plan.repeat,
    parallel: opts.parallel,
    points,
    boundaries,
    durationMs,
    msPerPoint: points.length ? Math.round(durationMs / points.length) : 0,
    topologyReuse: false,
  };
}
