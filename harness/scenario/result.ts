import type { History } from '../probes/history';
import { summarize } from '../probes/history';
import type { DataReport } from '../probes/data';
import type { FaultEffect } from '../faults/fault';
import { compareCulprit, describeCulprit } from './culprit';
import { judgeHealthAndData, observedHealth, peakPool } from './judge';
import type { DiagnosisOutcome, JudgeInput, ScenarioResult, Variant, VariantSpec, Verdict } from './types';

/** A fault as the run recorded it: when it went in and when it was healed (ms since the origin). */
export interface FaultRecord {
  name: string;
  layer: string;
  description: string;
  injectedAtMs: number;
  healedAtMs?: number;
  /** What the fault did while in place, read at its heal (absent for a fault that cannot tell). */
  effect?: FaultEffect;
}

/** Everything a run recorded: the facts a result is built from, and nothing derived. */
export interface RunRecord {
  scenario: string;
  variant: Variant;
  runId: string;
  history: History;
  poolSize: number;
  faults: FaultRecord[];
  notes: Array<{ name: string; detail?: string }>;
  diagnosis?: DiagnosisOutcome;
  /** Whether a diagnoser was configured (a culprit can only be named with one). */
  diagnoserConfigured: boolean;
  data?: DataReport;
  recoveryMs?: number;
  /** Why the run did not complete (topology start, the scenario's body, the data check). */
  error?: Error;
  durationMs: number;
  /** The time outside the phases: topology start, and teardown after the scenario's body. */
  stages?: { startMs: number; teardownMs: number };
}

export interface ResultSpec {
  spec: VariantSpec;
  judge?: (input: JudgeInput) => Verdict;
}

/**
 * Judges a recorded run against what its variant expects. Pure: the same record gives the same
 * result (unit-tested on hand-made records).
 */
export function buildResult(record: RunRecord, { spec, judge }: ResultSpec): ScenarioResult {
  const { history } = record;
  // A fault that demonstrably did nothing leaves nothing to judge: the run is an error, not a verdict.
  const error = record.error?.message ?? ineffectiveFault(record.faults);
  const verdict: Verdict = error
    ? 'error'
    : (judge ?? judgeHealthAndData)({ history, variant: record.variant, poolSize: record.poolSize, data: record.data });
  const mismatch: string[] = [];
  if (record.error) mismatch.push(`run failed: ${record.error.message}`);
  else if (error) mismatch.push(error);
  else if (verdict !== spec.expected) mismatch.push(`expected ${spec.expected}, observed ${verdict}`);
  if (!error && spec.recoversWithinMs !== undefined) {
    const ms = record.recoveryMs;
    if (ms === undefined || ms > spec.recoversWithinMs) {
      mismatch.push(`pool did not recover within ${spec.recoversWithinMs} ms of the heal${ms !== undefined ? ` (took ${ms} ms)` : ''}`);
    }
  }
  const second = record.diagnosis?.secondCulprit;
  if (spec.culprit && verdict === spec.expected) {
    const named = record.diagnosis?.culprit ?? null;
    if (!record.diagnoserConfigured) mismatch.push('no diagnoser configured to name the culprit');
    else {
      const wrong = compareCulprit(spec.culprit, named);
      mismatch.push(...wrong);
      // Where the named culprit is wrong, say whether the runner-up was the right one.
      if (wrong.length && second) {
        const secondFits = compareCulprit(spec.culprit, second).length === 0;
        mismatch.push(`second plausible culprit: ${describeCulprit(second)}${secondFits ? ' (the expected one)' : ''}`);
      }
    }
  }
  // A fixed variant is diagnosed at the same moment as the incident one: naming a culprit there
  // is a false alarm, whatever the health verdict.
  const falseAlarm = record.variant === 'fixed' && !spec.culprit ? record.diagnosis?.culprit : undefined;
  if (falseAlarm) mismatch.push(`fixed variant: the diagnosis named ${describeCulprit(falseAlarm)}, expected no culprit (a false alarm)`);
  const health = summarize(observedHealth(history));
  const phases = history.events.filter((e) => e.kind === 'phase');
  const result: ScenarioResult = {
    scenario: record.scenario,
    variant: record.variant,
    expected: spec.expected,
    verdict,
    matched: mismatch.length === 0,
    health: { p50Ms: health.p50Ms, p99Ms: health.p99Ms, errors: health.errors, total: health.total },
    pool: peakPool(history, record.poolSize),
    phases: phases.map((p, i) => ({ name: p.name, startMs: Math.round(p.t), endMs: Math.round(phases[i + 1]?.t ?? lastMoment(history)) })),
    faults: record.faults.map((f) => ({
      name: f.name,
      layer: f.layer,
      description: f.description,
      injectedAtMs: Math.round(f.injectedAtMs),
      healedAtMs: f.healedAtMs === undefined ? undefined : Math.round(f.healedAtMs),
      ...(f.effect ? { effect: { confirmed: f.effect.confirmed, evidence: [...f.effect.evidence] } } : {}),
    })),
    runId: record.runId,
    durationMs: Math.round(record.durationMs),
    notes: [...record.notes],
    timeline: {
      requests: history.requests.map((r) => ({ kind: r.kind, user: r.user, start: Math.round(r.start), end: Math.round(r.end), outcome: r.outcome, status: r.status })),
      pool: history.pool.map((p) => ({ t: Math.round(p.t), busy: p.busy, size: p.size })),
      events: history.events.map((e) => ({ t: Math.round(e.t), kind: e.kind, name: e.name, detail: e.detail })),
    },
  };
  if (mismatch.length) result.mismatch = mismatch;
  if (record.diagnosis) result.diagnosis = record.diagnosis.json;
  if (second) result.secondCulprit = second;
  if (record.data) result.data = record.data;
  if (record.recoveryMs !== undefined) result.recoveryMs = record.recoveryMs;
  if (error) result.error = error;
  if (record.stages) result.stages = { startMs: Math.round(record.stages.startMs), teardownMs: Math.round(record.stages.teardownMs) };
  return result;
}

/** One line naming the first fault whose effect was not confirmed, and why; undefined when none. */
export function ineffectiveFault(faults: readonly FaultRecord[]): string | undefined {
  const f = faults.find((x) => x.effect && !x.effect.confirmed);
  if (!f) return undefined;
  const why = f.effect!.evidence[f.effect!.evidence.length - 1] ?? 'no evidence';
  return `fault ${f.name} did not take hold (${why}): the run proves nothing about it`;
}

/** The last thing the history saw: the end of the last phase (not "now", which would make the result impure). */
function lastMoment(history: History): number {
  const times = [...history.events.map((e) => e.t), ...history.requests.map((r) => r.end), ...history.pool.map((p) => p.t)];
  return times.length ? Math.max(...times) : 0;
}
