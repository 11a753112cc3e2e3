import { FaultlineError, UsageError } from '../errors';

/**
 * Timers and the clock the harness relies on, captured at load: jest fake timers installed by a
 * user's test must not freeze the harness (fast-check does the same).
 */
const realSetTimeout = globalThis.setTimeout.bind(globalThis);
const realClearTimeout = globalThis.clearTimeout.bind(globalThis);
const realSetInterval = globalThis.setInterval.bind(globalThis);
const realClearInterval = globalThis.clearInterval.bind(globalThis);
const hrtime = process.hrtime.bigint.bind(process.hrtime);
const realDateNow = Date.now.bind(Date);

/** Monotonic milliseconds (fractional). */
export function monotonicMs(): number {
  return Number(hrtime()) / 1e6;
}

/** Wall clock in epoch milliseconds, for reports only (never for measuring durations). */
export function wallClockMs(): number {
  return realDateNow();
}

export { realSetTimeout as setTimeoutReal, realClearTimeout as clearTimeoutReal };
export { realSetInterval as setIntervalReal, realClearInterval as clearIntervalReal };

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      realClearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = realSetTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * The one timeout mechanism: race the work against a timer, clear the timer in `finally`, and
 * fail with a message naming what was being waited for and the limit.
 */
export async function withTimeout<T>(work: Promise<T>, limitMs: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expiry = new Promise<never>((_, reject) => {
    timer = realSetTimeout(
      () => reject(new FaultlineError('FAULTLINE_TIMEOUT', `${what} exceeded ${limitMs} ms`)),
      limitMs,
    );
  });
  try {
    return await Promise.race([work, expiry]);
  } finally {
    realClearTimeout(timer);
  }
}

/** Polls `check` until it returns a value (not undefined) or the deadline passes. */
export async function waitFor<T>(
  check: () => Promise<T | undefined>,
  opts: { timeoutMs: number; intervalMs?: number; what: string; signal?: AbortSignal },
): Promise<T> {
  const deadline = monotonicMs() + opts.timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (e) {
      lastError = e;
    }
    if (monotonicMs() >= deadline) {
      throw new FaultlineError('FAULTLINE_TIMEOUT', `${opts.what} exceeded ${opts.timeoutMs} ms`, {
        cause: lastError,
      });
    }
    await sleep(opts.intervalMs ?? 100, opts.signal);
  }
}

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m)$/;

/** "250ms", "2s", "1.5m" or a number of milliseconds. `field` names the input in the error. */
export function parseDuration(value: string | number, field: string): number {
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value >= 0) return value;
    throw new UsageError(`${field} must be a non-negative number of milliseconds, got ${value}`);
  }
  const m = DURATION.exec(value.trim());
  if (!m) throw new UsageError(`${field} must be a duration like "250ms", "2s" or "1m", got "${value}"`);
  const n = Number(m[1]);
  return m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : n * 60_000;
}
