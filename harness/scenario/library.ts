import type Docker from 'dockerode';
import type { ImageStore } from '../engine/images';
import { Topology } from '../topology/topology';
import { webDiagnoser } from './diagnoser';
import { runScenario, type Progress } from './runner';
import type { Scenario, ScenarioResult, Variant } from './types';

export interface LibraryOptions {
  docker: Docker;
  images: ImageStore;
  env: NodeJS.ProcessEnv;
  signal: AbortSignal;
  /** Runs at once, each on its own topology. */
  parallel: number;
  onProgress?: (p: Progress) => void;
  onStart?: (scenario: Scenario, variant: Variant) => void;
  onResult?: (result: ScenarioResult) => void;
  /** Runs only the scenario x variant pairs this accepts (a shard of the library); default all. */
  only?: (scenario: Scenario, variant: Variant) => boolean;
}

/**
 * Runs every scenario in every variant, up to `parallel` at once, and returns the results in
 * scenario x variant order (runs not started because of an abort are left out).
 */
export async function runLibrary(scenarios: readonly Scenario[], variants: readonly Variant[], opts: LibraryOptions): Promise<ScenarioResult[]> {
  const jobs = scenarios.flatMap((scenario) => variants.map((variant) => ({ scenario, variant }))).filter((j) => opts.only?.(j.scenario, j.variant) ?? true);
  // Images first, once, and only those needed: parallel runs then share them.
  const needed = new Set([...new Set(jobs.map((j) => j.scenario))].flatMap((s) => (s.topology ? s.topology(new Topology()) : new Topology()).bundledImages));
  await opts.images.ensureAll([...needed]);
  const results: Array<ScenarioResult | undefined> = new Array(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length && !opts.signal.aborted) {
      const index = next++;
      const { scenario, variant } = jobs[index];
      opts.onStart?.(scenario, variant);
      const result = await runScenario(scenario, {
        variant,
        docker: opts.docker,
        images: opts.images,
        env: opts.env,
        signal: opts.signal,
        onProgress: opts.onProgress,
        diagnoser: webDiagnoser(),
      });
      results[index] = result;
      opts.onResult?.(result);
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.parallel, jobs.length) }, worker));
  return results.filter((r): r is ScenarioResult => r !== undefined);
}

/** Time a run spent beyond its faults' own durations (start, steady state, checks, stop). */
export function overheadMs(result: ScenarioResult): number {
  const faultMs = result.faults.reduce((sum, f) => sum + ((f.healedAtMs ?? f.injectedAtMs) - f.injectedAtMs), 0);
  return result.durationMs - faultMs;
}
