import type { ScenarioResult } from '../../harness/scenario/types';

/** A scenario result for report and matcher tests; override what the test is about. */
export function resultWith(overrides: Partial<ScenarioResult> = {}): ScenarioResult {
  return {
    scenario: 'stalled-write',
    variant: 'fixed',
    expected: 'responsive',
    verdict: 'responsive',
    matched: true,
    health: { p50Ms: 2, p99Ms: 40, errors: 0, total: 50 },
    pool: { busy: 2, size: 8 },
    phases: [],
    faults: [],
    runId: 'fl-test',
    durationMs: 1000,
    notes: [],
    ...overrides,
  };
}
