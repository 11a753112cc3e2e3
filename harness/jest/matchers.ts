import { kindMatches } from '../diagnose/kinds';
import type { ScenarioResult } from '../scenario/types';

/**
 * Verdicts as jest matchers, over a scenario result (what `runScenario` returns):
 *
 *   import { faultlineMatchers } from 'faultline/harness/jest/matchers';
 *   expect.extend(faultlineMatchers);
 *   expect(result).toStayResponsive({ p99Ms: 1000, errorRate: 0 });
 *   expect(result).toNameCulprit({ service: 'profile', kind: 'silent-peer' });
 *   expect(result).toLoseNoData();
 *
 * Plain functions over plain data: no jest import here, so the harness stays usable without it.
 */
interface MatcherResult {
  pass: boolean;
  message: () => string;
}

type Culprit = { kind?: string; pid?: number; resource?: { service?: string } } | null | undefined;

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
   * The diagnosis named this culprit (kind and upstream service). An old kind name matches what it
   * became (`half-open-read`: silent-peer; `stalled-write`: unreachable-peer or peer-not-reading).
   */
  toNameCulprit(received: ScenarioResult, expected: { service?: string; kind?: string }): MatcherResult {
    const culprit = (received.diagnosis as { culprit?: Culprit } | undefined)?.culprit;
    const pass =
      !!culprit &&
      (expected.kind === undefined || (culprit.kind !== undefined && kindMatches(expected.kind, culprit.kind))) &&
      (expected.service === undefined || culprit.resource?.service === expected.service);
    const named = culprit ? `${culprit.kind} on ${culprit.resource?.service ?? 'an unnamed endpoint'} (pid ${culprit.pid})` : received.diagnosis ? 'no culprit' : 'no diagnosis (the pool was not diagnosed)';
    return {
      pass,
      message: () => `${describe(received)}: expected the diagnosis ${pass ? 'not ' : ''}to name ${expected.kind ?? 'any kind'} on ${expected.service ?? 'any service'}; it named ${named}`,
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
      toNameCulprit(expected: { service?: string; kind?: string }): R;
      toLoseNoData(): R;
    }
  }
}
