/**
 * What a run's page draws, derived from its ScenarioResult alone: the page is a pure function of
 * results.json, so a report rendered later from a saved `--json` (faultline report) is the same.
 * Times are seconds since the run's origin (the charts' x axis); latencies are milliseconds.
 */
import type { Diagnosis } from '../../diagnose/model';
import { renderText } from '../../diagnose/render';
import { PHASE } from '../../scenario/phases';
import type { ScenarioResult } from '../../scenario/types';
import { culpritOf } from '../terminal';
import { chainView, type ChainView } from './chain';

export interface RequestPoint {
  t: number;
  latencyMs: number;
  kind: string;
  outcome: string;
  user?: string;
  status?: number;
}

export interface Window {
  name: string;
  from: number;
  to: number;
}

/** A fault as the run page lists it: what it was meant to do, and what it was seen to do. */
export interface FaultView extends Window {
  description: string;
  /** 'confirmed', 'NOT confirmed', or 'not measured' (a fault that cannot tell). */
  effect: string;
  evidence: string[];
}

export interface RunView {
  id: string;
  title: string;
  scenario: string;
  variant: string;
  expected: string;
  verdict: string;
  matched: boolean;
  mismatch: string[];
  culprit: string;
  runId: string;
  durationS: number;
  /** The x range worth drawing (s): from just before the first phase to the last thing recorded. */
  span: [number, number];
  healthP99Ms: number | null;
  requests: RequestPoint[];
  /** The health probe's client deadline: where an unanswered request lands. */
  deadlineMs: number;
  p99: Array<{ t: number; p99Ms: number }>;
  p99WindowMs: number;
  pool: Array<{ t: number; busy: number; size: number }>;
  phases: Window[];
  faults: FaultView[];
  /** When the diagnoser ran (its note event). */
  diagnosisAt?: number;
  /** From the heal to the first health answer after it. */
  recovery?: { from: number; to: number; ms: number };
  chain?: ChainView;
  diagnosisText?: string;
  notes: Array<{ t?: number; name: string; detail?: string }>;
  error?: string;
}

/** The probe faultline's scenarios judge health by; its deadline is drawn as a line. */
export const HEALTH_KIND = 'health';
/** scenarios/common.ts HEALTH.deadlineMs: used when no health request timed out to show it. */
const DEFAULT_HEALTH_DEADLINE_MS = 2000;
/** The sliding window of the health p99 line: ~12 probes at one every 250 ms. */
export const P99_WINDOW_MS = 3000;
const P99_STEP_MS = 250;

const seconds = (ms: number) => Math.round(ms) / 1000;

export function runId(r: Pick<ScenarioResult, 'scenario' | 'variant'>): string {
  return `${r.scenario}-${r.variant}`.replace(/[^A-Za-z0-9._-]/g, '_');
}

/**
 * The health deadline, read from the run itself: a health request that timed out ended at its
 * deadline (the probe abandons it then), so the shortest such latency is the deadline (timer
 * lateness only adds). Without one, the bundled probe's documented deadline.
 */
export function healthDeadlineMs(r: ScenarioResult): number {
  const timedOut = (r.timeline?.requests ?? []).filter((q) => q.kind === HEALTH_KIND && q.outcome === 'timeout').map((q) => q.end - q.start);
  return timedOut.length ? Math.round(Math.min(...timedOut) / 100) * 100 : DEFAULT_HEALTH_DEADLINE_MS;
}

/** Nearest-rank p99 of the health requests that completed in (t - window, t], every 250 ms. */
export function slidingP99(r: ScenarioResult, windowMs = P99_WINDOW_MS): Array<{ t: number; p99Ms: number }> {
  const health = (r.timeline?.requests ?? []).filter((q) => q.kind === HEALTH_KIND).sort((a, b) => a.end - b.end);
  if (health.length === 0) return [];
  const out: Array<{ t: number; p99Ms: number }> = [];
  const last = health[health.length - 1].end;
  let lo = 0;
  let hi = 0;
  for (let t = health[0].end; t <= last + P99_STEP_MS; t += P99_STEP_MS) {
    while (hi < health.length && health[hi].end <= t) hi++;
    while (lo < hi && health[lo].end <= t - windowMs) lo++;
    if (hi === lo) continue;
    const latencies = health.slice(lo, hi).map((q) => q.end - q.start).sort((a, b) => a - b);
    out.push({ t: seconds(t), p99Ms: Math.max(1, latencies[Math.ceil(0.99 * latencies.length) - 1]) });
  }
  return out;
}

/** Topology start-up precedes the first phase and is not part of the story: start just before it. */
export function spanOf(r: ScenarioResult): [number, number] {
  const t = r.timeline ?? { requests: [], pool: [], events: [] };
  const starts = [...r.phases.map((p) => p.startMs), ...t.requests.map((q) => q.start)];
  const ends = [...r.phases.map((p) => p.endMs), ...t.requests.map((q) => q.end), ...t.pool.map((p) => p.t)];
  if (starts.length === 0) return [0, Math.max(1, Math.ceil(r.durationMs / 1000))];
  const from = Math.max(0, Math.floor(Math.min(...starts) / 1000 - 0.5));
  return [from, Math.max(from + 1, Math.ceil(Math.max(...ends) / 1000 + 0.5))];
}

function recoveryOf(r: ScenarioResult): RunView['recovery'] {
  if (r.recoveryMs === undefined) return undefined;
  const healed = r.faults.map((f) => f.healedAtMs).filter((t): t is number => t !== undefined);
  const recoverPhase = r.phases.find((p) => p.name === PHASE.recover);
  const from = recoverPhase?.startMs ?? (healed.length ? Math.max(...healed) : undefined);
  if (from === undefined) return undefined;
  return { from: seconds(from), to: seconds(from + r.recoveryMs), ms: r.recoveryMs };
}

export function runView(r: ScenarioResult): RunView {
  const timeline = r.timeline ?? { requests: [], pool: [], events: [] };
  const end = Math.max(r.durationMs, ...timeline.requests.map((q) => q.end), ...r.phases.map((p) => p.endMs));
  const diagnosisEvent = timeline.events.find((e) => e.kind === 'note' && e.name === 'diagnosis');
  const diagnosis = r.diagnosis as Diagnosis | undefined;
  return {
    id: runId(r),
    title: `${r.scenario} · ${r.variant}`,
    scenario: r.scenario,
    variant: r.variant,
    expected: r.expected,
    verdict: r.verdict,
    matched: r.matched,
    mismatch: r.mismatch ?? [],
    culprit: culpritOf(r),
    runId: r.runId,
    durationS: seconds(r.durationMs),
    span: spanOf(r),
    healthP99Ms: r.health.p99Ms,
    // Latency at least 1 ms: the y axis is logarithmic, and a point it cannot place is a point lost.
    requests: timeline.requests.map((q) => ({
      t: seconds(q.start),
      latencyMs: Math.max(1, q.end - q.start),
      kind: q.kind,
      outcome: q.outcome,
      ...(q.user !== undefined ? { user: q.user } : {}),
      ...(q.status !== undefined ? { status: q.status } : {}),
    })),
    deadlineMs: healthDeadlineMs(r),
    p99: slidingP99(r),
    p99WindowMs: P99_WINDOW_MS,
    pool: timeline.pool.map((p) => ({ t: seconds(p.t), busy: p.busy, size: p.size })),
    phases: r.phases.map((p) => ({ name: p.name, from: seconds(p.startMs), to: seconds(p.endMs) })),
    faults: r.faults.map((f) => ({
      name: f.name,
      from: seconds(f.injectedAtMs),
      to: seconds(f.healedAtMs ?? end),
      description: f.description,
      effect: effectLabel(f.effect),
      evidence: f.effect?.evidence ?? [],
    })),
    ...(diagnosisEvent ? { diagnosisAt: seconds(diagnosisEvent.t) } : {}),
    ...(recoveryOf(r) ? { recovery: recoveryOf(r) } : {}),
    ...(diagnosis ? { chain: chainView(diagnosis), diagnosisText: renderText(diagnosis) } : {}),
    notes: timeline.events.filter((e) => e.kind === 'note').map((e) => ({ t: seconds(e.t), name: e.name, detail: e.detail })),
    ...(r.error ? { error: r.error } : {}),
  };
}

/** The one word a report shows for a fault's proof of effect. */
export function effectLabel(effect: ScenarioResult['faults'][number]['effect']): string {
  return effect === undefined ? 'not measured' : effect.confirmed ? 'confirmed' : 'NOT confirmed';
}
