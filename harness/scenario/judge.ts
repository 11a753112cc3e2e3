import { summarize, type History } from '../probes/history';
import type { JudgeInput, Verdict } from './types';

/** Health requests must answer within this for a pool to count as responsive. */
export const RESPONSIVE_P99_MS = 1000;
/** Share of failed health requests, late in the fault window, that makes a pool hung. */
export const HUNG_ERROR_SHARE = 0.8;
/** The late part of the observe window the hung rule looks at, as a share of the window. */
export const HUNG_LATE_SHARE = 0.4;

/** Health requests issued during the "observe" phase (the fault in place). */
export function observedHealth(history: History) {
  return history.select('health', history.phaseWindow('observe'));
}

/**
 * Default verdict from the health probe while the fault was in place (requests that finished
 * before the heal): hung when, in the last 40% of the window, >= 80% of health requests failed;
 * responsive when
 * none failed and p99 stayed under 1 s; degraded otherwise.
 */
export function judgeHealth({ history }: JudgeInput): Verdict {
  const window = history.phaseWindow('observe');
  if (!window) return 'degraded';
  // Only requests that finished while the fault was still in place: one answered after the heal
  // says nothing about the fault.
  const health = history.select('health', window).filter((r) => r.end <= window.to);
  const lateFrom = window.from + (1 - HUNG_LATE_SHARE) * (window.to - window.from);
  const late = health.filter((r) => r.start >= lateFrom);
  const lateErrors = late.filter((r) => r.outcome !== 'ok').length;
  if (late.length > 0 && lateErrors / late.length >= HUNG_ERROR_SHARE) return 'hung';
  const s = summarize(health);
  if (s.total > 0 && s.errors === 0 && (s.p99Ms ?? Infinity) <= RESPONSIVE_P99_MS) return 'responsive';
  return 'degraded';
}

/**
 * Health first (a hung pool is the bigger news), then data: an acknowledged upload that storage
 * does not hold is lost; an answer that storage contradicts is misreported.
 */
export function judgeHealthAndData(input: JudgeInput): Verdict {
  const health = judgeHealth(input);
  if (health !== 'responsive' || !input.data) return health;
  if (input.data.lost > 0) return 'data-lost';
  if (input.data.misreported > 0) return 'data-misreported';
  return health;
}

/** Peak pool occupancy while the fault was in place. */
export function peakPool(history: History, poolSize: number): { busy: number; size: number } {
  const window = history.phaseWindow('observe');
  const samples = history.pool.filter((p) => !window || (p.t >= window.from && p.t <= window.to));
  const busy = samples.reduce((m, p) => Math.max(m, p.busy), 0);
  const size = samples.reduce((m, p) => Math.max(m, p.size), 0) || poolSize;
  return { busy, size };
}
