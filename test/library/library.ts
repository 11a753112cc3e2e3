import { faultlineMatchers } from '../../harness/jest/matchers';
import { webDiagnoser } from '../../harness/scenario/diagnoser';
import { runScenario } from '../../harness/scenario/runner';
import type { Variant } from '../../harness/scenario/types';
import { SCENARIOS } from '../../scenarios';

expect.extend(faultlineMatchers);

/**
 * One run of the bundled library as a jest test: the scenario in one variant on a fresh
 * topology, judged with the matchers a user would write, then by the runner's own verdict.
 */
export function assertLibraryRun(name: string, variant: Variant): void {
  const scenario = SCENARIOS.find((s) => s.name === name);
  if (!scenario) throw new Error(`no bundled scenario ${name}: valid are ${SCENARIOS.map((s) => s.name).join(', ')}`);
  const spec = scenario.variants[variant];
  if (!spec) throw new Error(`bundled scenario ${name} has no ${variant} variant`);
  test(`${name} (${variant}): ${spec.expected}`, async () => {
    const result = await runScenario(scenario, { variant, diagnoser: webDiagnoser() });
    if (spec.expected === 'responsive') expect(result).toStayResponsive({ p99Ms: 1000, errorRate: 0 });
    if (spec.culprit) expect(result).toNameCulprit(spec.culprit);
    if (result.data && spec.expected === 'responsive') expect(result).toLoseNoData();
    if (spec.expected === 'data-lost' || spec.expected === 'data-misreported') expect(result).not.toLoseNoData();
    // Everything else the scenario expects (the verdict itself, a recovery bound).
    expect({ verdict: result.verdict, mismatch: result.mismatch ?? [] }).toEqual({ verdict: spec.expected, mismatch: [] });
  }, 240_000);
}
