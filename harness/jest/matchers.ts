import { compareCulprit, culpritOf, describeCulprit, describeExpectation, type CulpritExpectation } from '../scenario/culprit';
import type { ScenarioResult } from '../scenario/types';

/**
 * Verdicts as jest matchers, over a scenario result (what `runScenario` returns):
 *
 *   import { faultlineMatchers } from 'faultline/harness/jest/matchers';
 *   expect.extend(faultlineMatchers);
 *   expect(result).toStayResponsive({ p99Ms: 1000, errorRate: 0 });
 *   expect(result).toNameCulprit({ service: 'profile', kind: 'silent-peer' });
 *   expect(result).toNameCulprit({ service: 'mariadb', chain: { lock: 'redis-session-lock', inferred: true, minWaiters: 2 } });
 *   expect(fixedResult).not.toNameCulprit({});   // a fixed variant names no culprit at all
 *   expect(result).toLoseNoData();
 *
 * Plain functions over plain data: no jest import here, so the harness stays usable without it.
 */
interface MatcherResult {
  pass: boolean;
  message: () => string;
}

function describe(r: ScenarioResult): string {
  return `${r.scenario} (${r.variant}, run ${r.runId})`;
}

export const faultlineMatchers = {
  /** Health while the fault was in place: p99 at most `p99Ms`, error share at most `errorRate`. */
  toStayResponsive(received: ScenarioResult, bound: { p99Ms: number; errorRate?: number }): MatcherResult {
    const { p99Ms, errors, total } = received.health;
    const rate = total > 0 ? errors / total : 0;
    const maxRate = bound.errorRate ?? 0;
    const pass = total > 0 && p99Ms !== null && p99Ms <= bound.p99Ms && rate <= maxRate;
    return {
      pass,
      message: () =>
        `${describe(received)}: expected health ${pass ? 'not ' : ''}to stay within p99 ${bound.p99Ms} ms and error rate ${maxRate}; ` +
        `observed p99 ${p99Ms ?? '-'} ms, ${errors}/${total} errors (verdict ${received.verdict}, busy workers ${received.pool.busy}/${received.pool.size})`,
    };
  },

  /**
   * The diagnosis named this culprit: kind and upstream service, and the chain it heads (lock
   * type, at least so many waiters, link inferred or not); what `expected` leaves out is not
   * compared. The same comparison as the result's `matched` (harness/scenario/culprit.ts).
   */
  toNameCulprit(received: ScenarioResult, expected: CulpritExpectation): MatcherResult {
    const culprit = culpritOf(received.diagnosis);
    const wrong = received.diagnosis === undefined ? ['no diagnosis'] : compareCulprit(expected, culprit);
    const pass = wrong.length === 0;
    const named = culprit ? describeCulprit(culprit) : received.diagnosis ? 'no culprit' : 'no diagnosis (the pool was not diagnosed)';
    const second = received.secondCulprit ? `; second plausible: ${describeCulprit(received.secondCulprit)}` : '';
    return {
      pass,
      message: () => `${describe(received)}: expected the diagnosis ${pass ? 'not ' : ''}to name ${describeExpectation(expected)}; it named ${named}${second}`,
    };
  },

  /** Every upload acknowledged to the client is stored intact; no answer is contradicted by storage. */
  toLoseNoData(received: ScenarioResult): MatcherResult {
    const data = received.data;
    const pass = !!data && data.lost === 0 && data.misreported === 0;
    return {
      pass,
      message: () =>
        !data
          ? `${describe(received)}: no data check in this result (the scenario makes no uploads)`
          : `${describe(received)}: expected ${pass ? 'some' : 'no'} data lost or misreported; ${data.acknowledged} acknowledged, ${data.lost} lost, ${data.misreported} misreported` +
            (data.problems?.length ? `\n  ${data.problems.join('\n  ')}` : ''),
    };
  },
};

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace jest {
    interface Matchers<R> {
      toStayResponsive(bound: { p99Ms: number; errorRate?: number }): R;
      toNameCulprit(expected: CulpritExpectation): R;
      toLoseNoData(): R;
    }
  }
}
