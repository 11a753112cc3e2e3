/**
 * A queueing model of a worker pool under one user's reloads while an upstream call hangs. Pure:
 * no I/O, no clock; unit-tested (test/unit/sweep-model.test.ts). The README explains it.
 *
 * - Arrivals: the user sends a request every `reloadEveryMs` (λ = 1/R per session; the pool
 *   sees the same λ, the health probe adds requests that take no time).
 * - Service: each request holds its worker for S = the time the fault holds the upstream call,
 *   cut by the app's limits: S = min(fault hold, read or connect timeout, deadline). A lost FIN
 *   holds a read forever, so S is the read timeout (or ∞ with none).
 * - Session lock held across the call: the session is served one request at a time, so at most
 *   once per S. Waiting requests hold a worker each (blocked in flock). If S > R the waiters
 *   grow by λ − 1/S per second, whatever the pool size: the pool fills after
 *   (N − 1) / (λ − 1/S). If S ≤ R, about one worker is busy.
 * - Lock released: requests run side by side; by Little's law the busy workers are L = λ·S in
 *   steady state, reached after S. The pool fills when λ·S ≥ N, after N·R.
 * - Verdict, with the judge's rule (health over the last 40% of the observe window must fail
 *   ≥ 80% for hung): hung if the pool fills by 68% of the window (health requests that start
 *   later fail, 0.4·W·0.8 = 0.32·W), degraded if it fills later within the window, responsive
 *   if it never fills.
 */

import { HUNG_ERROR_SHARE, HUNG_LATE_SHARE } from '../scenario/judge';
import type { QueueModelInput } from '../scenario/types';

export type ModelVerdict = 'hung' | 'degraded' | 'responsive';

export type { QueueModelInput };

export interface QueueModelPrediction {
  verdict: ModelVerdict;
  /** Service time S (ms; Infinity when nothing bounds it). */
  serviceMs: number;
  /** Busy workers at the end of the window (capped at N). */
  busyAtEnd: number;
  /** Steady-state busy workers λ·S (lock released) or the session's growth (lock held); Infinity when unbounded. */
  steadyBusy: number;
  /** When the pool fills, ms after the fault went in; null if it does not within the window. */
  saturationMs: number | null;
  /** One line: the arithmetic behind the verdict. */
  reason: string;
}

/**
 * Share of the observe window by which the pool must be full for the judge to say hung: health
 * requests that start after it fail, and they must be HUNG_ERROR_SHARE of the late window.
 */
export const HUNG_BY_SHARE = 1 - HUNG_LATE_SHARE * HUNG_ERROR_SHARE;

export function serviceTimeMs(input: Pick<QueueModelInput, 'faultHoldMs' | 'limitsMs'>): number {
  return Math.min(input.faultHoldMs, ...input.limitsMs.map((l) => (l && l > 0 ? l : Infinity)));
}

export function predict(input: QueueModelInput): QueueModelPrediction {
  const { workers: n, reloadEveryMs: r, observeMs: w } = input;
  const s = serviceTimeMs(input);
  const lambda = 1 / r; // per ms
  const fmt = (ms: number) => (Number.isFinite(ms) ? `${Math.round(ms)} ms` : '∞');
  let saturationMs: number | null;
  let steadyBusy: number;
  let why: string;
  if (input.lockAcrossIo) {
    if (s <= r) {
      steadyBusy = s / r;
      saturationMs = null;
      why = `session lock held: served once per S=${fmt(s)} ≤ R=${fmt(r)}, so the waiters do not grow (≈${steadyBusy.toFixed(1)} busy)`;
    } else {
      const growthPerMs = lambda - 1 / s;
      steadyBusy = Infinity;
      saturationMs = (n - 1) / growthPerMs;
      why = `session lock held: served once per S=${fmt(s)} > R=${fmt(r)}, waiters grow ${(growthPerMs * 1000).toFixed(2)}/s, ${n} workers full after ${fmt(saturationMs)}`;
    }
  } else {
    steadyBusy = lambda * s;
    saturationMs = steadyBusy >= n ? n * r : null;
    why = `lock released: Little's law L = λ·S = ${Number.isFinite(steadyBusy) ? steadyBusy.toFixed(1) : '∞'} busy of ${n}${saturationMs !== null ? `, full after N·R = ${fmt(saturationMs)}` : ''}`;
  }
  if (saturationMs !== null && saturationMs > w) saturationMs = null;
  const verdict: ModelVerdict = saturationMs === null ? 'responsive' : saturationMs <= HUNG_BY_SHARE * w ? 'hung' : 'degraded';
  return {
    verdict,
    serviceMs: s,
    busyAtEnd: busyAt(input, s, w),
    steadyBusy,
    saturationMs: saturationMs === null ? null : Math.round(saturationMs),
    reason: `${why}; window ${fmt(w)} → ${verdict}`,
  };
}

/** Busy workers t ms after the fault went in (the user's requests only), capped at N. */
function busyAt(input: QueueModelInput, s: number, t: number): number {
  const { workers: n, reloadEveryMs: r } = input;
  const arrived = Math.floor(t / r) + 1;
  const busy = input.lockAcrossIo
    ? s <= r
      ? Math.min(1, s / r)
      : arrived - Math.floor(t / s)
    : Math.min(arrived, Math.ceil(Math.min(t, s) / r));
  return Math.max(0, Math.min(n, Math.round(busy)));
}

/** Linux's minimum retransmission timeout: a peer on the same host backs off from here. */
const RTO_MIN_MS = 200;

/**
 * How long a socket whose peer's FIN was lost stays blocked when SO_KEEPALIVE is on: the peer
 * (closed, retransmitting its FIN) answers every probe until it gives up after `orphanRetries`
 * retransmissions (0 = the kernel's 8, ~100 s: RTO doubling from 200 ms); the first probe after
 * that is answered with a reset. Probes go out every `keepaliveTimeS` of idleness.
 */
export function keepaliveHoldMs(keepaliveTimeS: number, orphanRetries = 0): number {
  const retries = orphanRetries > 0 ? orphanRetries : 8;
  const peerForgetsMs = RTO_MIN_MS * (2 ** (retries + 1) - 1);
  const every = keepaliveTimeS * 1000;
  return Math.max(1, Math.ceil(peerForgetsMs / every)) * every;
}
