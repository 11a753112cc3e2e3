import { summarize, type History } from '../probes/history';
import { PHASE } from './phases';
import type { JudgeInput, Verdict } from './types';

/** Health requests must answer within this for a pool to count as responsive. */
export const RESPONSIVE_P99_MS = 1000;
/** Share of failed health requests, late in the fault window, that makes a pool hung. */
export const HUNG_ERROR_SHARE = 0.8;
/** The late part of the observe window the hung rule looks at, as a share of the window. */
export const HUNG_LATE_SHARE = 0.4;

export interface Window {
  from: number;
  to: number;
}

/**
 * The health requests the verdict rests on: issued during the "observe" phase and answered (or
 * given up) before it ended, while the fault was in place. A result's `health` summarizes these,
 * so the errors it shows are the ones the judge counted (with windows that end once settled, the
 * requests still in flight at the end would otherwise be answered after the heal and shown too).
 */
export function observedHealth(history: History) {
  const window = history.phaseWindow(PHASE.observe);
  return window ? healthIn(history, window).health : [];
}

/**
 * Default verdict from the health probe while the fault was in place (requests that finished
 * before the heal): hung when, in the last 40% of the window, >= 80% of health requests failed;
 * responsive when none failed and p99 stayed under 1 s; degraded otherwise.
 */
export function judgeHealth({ history }: JudgeInput): Verdict {
  const window = history.phaseWindow(PHASE.observe);
  return window ? judgeHealthWindow(history, window) : 'degraded';
}

/** The judge's rule over one window (the observe phase's, or a window ending now: see `settledVerdict`). */
export function judgeHealthWindow(history: History, window: Window): Verdict {
  const { health, late } = healthIn(history, window);
  const lateErrors = late.filter((r) => r.outcome !== 'ok').length;
  if (late.length > 0 && lateErrors / late.length >= HUNG_ERROR_SHARE) return 'hung';
  const s = summarize(health);
  if (s.total > 0 && s.errors === 0 && (s.p99Ms ?? Infinity) <= RESPONSIVE_P99_MS) return 'responsive';
  return 'degraded';
}

function healthIn(history: History, window: Window) {
  // Only requests that finished while the fault was still in place: one answered after the heal
  // says nothing about the fault.
  const health = history.select('health', window).filter((r) => r.end <= window.to);
  const lateFrom = window.from + (1 - HUNG_LATE_SHARE) * (window.to - window.from);
  return { health, late: health.filter((r) => r.start >= lateFrom) };
}

/**
 * When the observe window may end early (the rule `faultline run` applies unless `--full-windows`).
 *
 * The judge reads the observe phase's window whatever its length, so the window may end at any
 * moment `now` whose verdict, judged over [observe start, now], is already decided:
 * - hung: `judgeHealthWindow` says hung over [from, now] (>= 80% of the finished health
 *   requests in the deciding part failed), that part holds at least
 *   `EARLY_END.minDecidingRequests` of them (a second of the probe, not one or two unlucky
 *   requests: with 2, a hung verdict could rest on 2 failures), and the latest pool
 *   sample has every worker busy: the pool is full, not merely slow (a fixed variant's pool never
 *   filled in the recorded runs: 6/8 at most);
 * - responsive: the window's minimum (`minMs`) has passed, `judgeHealthWindow` says responsive
 *   (no failure, p99 within 1 s) and no pool sample of the window had every worker busy. The
 *   minimum is what an incident needs to show itself: in the recorded library runs the pool of
 *   an incident filled 4.2-6.0 s into the fault and its first failed health request ended
 *   5.5-7.3 s in, so 8 s (the default) is past both, and a full pool sample vetoes it anyway;
 * - anything else (degraded, or not yet decided) runs the window to its maximum.
 * The window then ends at once (the next phase begins in the same turn of the event loop), so the
 * judge, run on the recorded history afterwards, sees exactly what this rule saw. Unit-tested on
 * recorded library histories (test/unit/early-end.test.ts): on every one the early verdict equals
 * the full window's.
 */
export const EARLY_END = {
  minDecidingRequests: 4,
  responsiveMinMs: 8000,
} as const;

export function settledVerdict(history: History, at: { from: number; now: number; minMs?: number }): 'hung' | 'responsive' | undefined {
  const window = { from: at.from, to: at.now };
  const verdict = judgeHealthWindow(history, window);
  const samples = history.pool.filter((p) => p.t >= window.from && p.t <= window.to && p.size > 0);
  const full = (p: { busy: number; size: number }) => p.busy >= p.size;
  if (verdict === 'hung') {
    const latest = samples[samples.length - 1];
    return healthIn(history, window).late.length >= EARLY_END.minDecidingRequests && latest && full(latest) ? 'hung' : undefined;
  }
  if (verdict === 'responsive') {
    return at.now - at.from >= (at.minMs ?? EARLY_END.responsiveMinMs) && !samples.some(full) ? 'responsive' : undefined;
  }
  return undefined;
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
  const window = history.phaseWindow(PHASE.observe);
  const samples = history.pool.filter((p) => !window || (p.t >= window.from && p.t <= window.to));
  const busy = samples.reduce((m, p) => Math.max(m, p.busy), 0);
  const size = samples.reduce((m, p) => Math.max(m, p.size), 0) || poolSize;
  return { busy, size };
}
