/**
 * The verdicts a run can get, and how bad each is: the one order a sweep's majority and the
 * report's heatmap rank by, and the judge's when both health and data fail: a hung pool is the
 * bigger news than lost data, lost data than misreported data; `error` (the run could not be
 * judged) outranks everything, because it says nothing was measured. (The judge reports a
 * degraded pool as degraded even when data was lost: it looks at data only once health is fine.)
 */

/** Every verdict, worst first. */
export const VERDICTS_WORST_FIRST = ['error', 'hung', 'data-lost', 'data-misreported', 'degraded', 'responsive'] as const;

/**
 * What a run is judged to be:
 * - hung: the pool stopped serving (health requests fail) while the fault lasted;
 * - responsive: health stayed within its bound with no errors;
 * - degraded: in between;
 * - data-misreported / data-lost: the client was told something untrue about its data;
 * - error: the run could not be judged (its topology did not start, the scenario threw, it was
 *   interrupted): `error` in the result says why. Never an expected outcome.
 */
export type Verdict = (typeof VERDICTS_WORST_FIRST)[number];
/** The outcomes a variant can expect. */
export type ExpectedVerdict = Exclude<Verdict, 'error'>;

/**
 * How bad a verdict is: 0 for the mildest (responsive), higher is worse. A string that is no
 * verdict (a report of another version) ranks above all: it is news.
 */
export function severity(verdict: string): number {
  const i = (VERDICTS_WORST_FIRST as readonly string[]).indexOf(verdict);
  return i < 0 ? VERDICTS_WORST_FIRST.length : VERDICTS_WORST_FIRST.length - 1 - i;
}

/** The worse of two verdicts (`a` on a tie). */
export function worse<V extends string>(a: V, b: V): V {
  return severity(b) > severity(a) ? b : a;
}
