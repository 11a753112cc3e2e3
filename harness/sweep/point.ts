import type { KnobValue } from '../scenario/knobs';
import type { ScenarioResult, Verdict } from '../scenario/types';
import { VERDICTS_WORST_FIRST } from '../scenario/verdicts';
import type { QueueModelPrediction } from './model';

/** One point of a sweep: its settings, the runs' verdicts, and what the model predicted. */
export interface SweepPoint {
  settings: Record<string, KnobValue>;
  /** The majority verdict of the point's runs (ties: the worse one). */
  verdict: Verdict;
  /** How many of the runs gave that verdict, out of `runs`. */
  agreed: number;
  runs: number;
  verdicts: Verdict[];
  /** Health probe during the fault (the representative run: one that gave the majority verdict). */
  health: { p50Ms: number | null; p99Ms: number | null; errorShare: number | null };
  busyPeak: number;
  poolSize: number;
  /** ms from the fault going in until every worker was busy; null if that never happened. */
  saturationMs: number | null;
  /** ms from the heal until health answered again (median of the runs that measured it). */
  recoveryMs?: number;
  model?: QueueModelPrediction;
  runIds: string[];
  errors?: string[];
  durationMs: number;
}


export function majority(verdicts: readonly Verdict[]): { verdict: Verdict; agreed: number } {
  const counts = new Map<Verdict, number>();
  for (const v of verdicts) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best: Verdict = 'error';
  let bestCount = -1;
  // Worst first: a tie between two verdicts reports the worse.
  for (const v of VERDICTS_WORST_FIRST) {
    const c = counts.get(v) ?? 0;
    if (c > bestCount) [best, bestCount] = [v, c];
  }
  return { verdict: best, agreed: Math.max(0, bestCount) };
}

/** When every worker was first busy, in ms after the first fault went in (pool samples of the run). */
export function saturationMs(result: ScenarioResult): number | null {
  const injected = result.faults[0]?.injectedAtMs;
  if (injected === undefined || !result.timeline) return null;
  const full = result.timeline.pool.find((p) => p.t >= injected && p.size > 0 && p.busy >= p.size);
  return full ? full.t - injected : null;
}

/** Folds a point's runs (one per repeat) into a row. */
export function summarizePoint(settings: Record<string, KnobValue>, results: readonly ScenarioResult[], model?: QueueModelPrediction): SweepPoint {
  const verdicts = results.map((r) => r.verdict);
  const { verdict, agreed } = majority(verdicts);
  const rep = results.find((r) => r.verdict === verdict) ?? results[0];
  const recoveries = results.map((r) => r.recoveryMs).filter((m): m is number => m !== undefined);
  const errors = results.filter((r) => r.error).map((r) => r.error!);
  const point: SweepPoint = {
    settings,
    verdict,
    agreed,
    runs: results.length,
    verdicts,
    health: {
      p50Ms: rep?.health.p50Ms ?? null,
      p99Ms: rep?.health.p99Ms ?? null,
      errorShare: rep && rep.health.total > 0 ? rep.health.errors / rep.health.total : null,
    },
    busyPeak: rep?.pool.busy ?? 0,
    poolSize: rep?.pool.size ?? 0,
    saturationMs: rep ? saturationMs(rep) : null,
    runIds: results.map((r) => r.runId),
    durationMs: results.reduce((sum, r) => sum + r.durationMs, 0),
  };
  if (recoveries.length) point.recoveryMs = recoveries.sort((a, b) => a - b)[Math.floor(recoveries.length / 2)];
  if (model) point.model = model;
  if (errors.length) point.errors = errors;
  return point;
}
