import { UsageError } from '../errors';
import { parseSet, parseVary, resolveSettings, type KnobSpec, type KnobValue } from '../scenario/knobs';
import type { Scenario, Variant } from '../scenario/types';

/** A sweep larger than this (points x repeats) needs `--yes`: each run is a topology, ~20 s. */
export const DEFAULT_MAX_RUNS = 16;

export interface SweepAxis {
  knob: KnobSpec;
  values: KnobValue[];
}

export interface SweepPlan {
  scenario: Scenario;
  variant: Variant;
  /** The swept knobs, in the order given. */
  axes: SweepAxis[];
  /** Knobs set once for every point (`--set`). */
  fixed: Record<string, KnobValue>;
  /** The cartesian product: each point's swept values plus the fixed ones. */
  points: Array<Record<string, KnobValue>>;
  repeat: number;
}

export interface PlanInput {
  variant: Variant;
  vary: readonly string[];
  set?: readonly string[];
  repeat?: number;
  /** Largest number of runs allowed without `yes`. */
  maxRuns?: number;
  yes?: boolean;
}

/**
 * Checks a sweep against the scenario's knobs and expands it, before anything starts: an
 * unknown knob, a bad value, an empty list or a sweep that is too large is a UsageError.
 */
export function planSweep(scenario: Scenario, input: PlanInput): SweepPlan {
  const specs = scenario.knobs ?? [];
  if (specs.length === 0) throw new UsageError(`${scenario.name} declares no knobs: nothing to sweep`);
  if (input.vary.length === 0) throw new UsageError(`give at least one --vary name=v1,v2 (see \`faultline sweep ${scenario.name} --knobs\`)`);
  const axes: SweepAxis[] = [];
  for (const text of input.vary) {
    const [name, values] = parseVary(scenario.name, specs, text);
    if (axes.some((a) => a.knob.name === name)) throw new UsageError(`--vary ${name} is given twice; list every value once: --vary ${name}=a,b,c`);
    axes.push({ knob: specs.find((k) => k.name === name)!, values });
  }
  const fixed: Record<string, KnobValue> = {};
  for (const text of input.set ?? []) {
    const [name, value] = parseSet(scenario.name, specs, text);
    if (axes.some((a) => a.knob.name === name)) throw new UsageError(`--set ${name}: ${name} is also swept with --vary; drop one of them`);
    fixed[name] = value;
  }
  const points = axes.reduce<Array<Record<string, KnobValue>>>(
    (acc, axis) => acc.flatMap((p) => axis.values.map((v) => ({ ...p, [axis.knob.name]: v }))),
    [{}],
  ).map((p) => ({ ...p, ...fixed }));
  // Each point resolves (a knob checked in combination, e.g. by a topology builder, fails here).
  for (const p of points) resolveSettings(scenario.name, specs, p);
  const repeat = input.repeat ?? 1;
  const maxRuns = input.maxRuns ?? DEFAULT_MAX_RUNS;
  const runs = points.length * repeat;
  if (runs > maxRuns && !input.yes) {
    throw new UsageError(
      `this sweep is ${runs} runs (${points.length} points x ${repeat}), more than --max-runs ${maxRuns}; add --yes to run it anyway (each run starts a topology, ~20 s)`,
    );
  }
  return { scenario, variant: input.variant, axes, fixed, points, repeat };
}

/** "read_timeout_ms=500 workers=8" */
export function describePoint(settings: Record<string, KnobValue>): string {
  return Object.entries(settings).map(([k, v]) => `${k}=${v}`).join(' ');
}
