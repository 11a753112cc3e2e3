import { UsageError } from '../../harness/errors';
import { findBoundaries } from '../../harness/sweep/boundary';
import { predict } from '../../harness/sweep/model';
import { planSweep } from '../../harness/sweep/plan';
import { majority, summarizePoint } from '../../harness/sweep/point';
import type { ScenarioResult, Verdict } from '../../harness/scenario/types';
import { lostFinScenario } from '../../scenarios/lost-fin';

const result = (verdict: Verdict, pool: Array<[number, number]> = []): ScenarioResult =>
  ({
    scenario: 'lost-fin', variant: 'incident', expected: 'hung', verdict, matched: true,
    health: { p50Ms: 5, p99Ms: 50, errors: verdict === 'hung' ? 8 : 0, total: 10 },
    pool: { busy: Math.max(0, ...pool.map((p) => p[1])), size: 8 }, phases: [],
    faults: [{ name: 'f', layer: 'packet', description: '', injectedAtMs: 1000 }],
    runId: 'r', durationMs: 20_000, notes: [],
    timeline: { requests: [], events: [], pool: pool.map(([t, busy]) => ({ t, busy, size: 8 })) },
  }) as ScenarioResult;

describe('sweep plan', () => {
  test('the cartesian product of the --vary lists, --set values on every point', () => {
    const plan = planSweep(lostFinScenario, { variant: 'incident', vary: ['read_timeout_ms=250,1000', 'workers=4,8'], set: ['reload_every_ms=400'] });
    expect(plan.points).toEqual([
      { read_timeout_ms: 250, workers: 4, reload_every_ms: 400 },
      { read_timeout_ms: 250, workers: 8, reload_every_ms: 400 },
      { read_timeout_ms: 1000, workers: 4, reload_every_ms: 400 },
      { read_timeout_ms: 1000, workers: 8, reload_every_ms: 400 },
    ]);
  });

  test.each([
    [{ vary: [] }, /at least one --vary/],
    [{ vary: ['read_timeout_ms=1', 'read_timeout_ms=2'] }, /given twice/],
    [{ vary: ['read_timeout_ms=1'], set: ['read_timeout_ms=2'] }, /also swept/],
    [{ vary: ['read_timeout_ms=1,2,3,4,5'], repeat: 4 }, /20 runs \(5 points x 4\), more than --max-runs 16; add --yes/],
  ])('refuses %j', (input, message) => {
    expect(() => planSweep(lostFinScenario, { variant: 'incident', ...input })).toThrow(UsageError);
    expect(() => planSweep(lostFinScenario, { variant: 'incident', ...input })).toThrow(message);
  });

  test('--yes lets a large sweep through; --max-runs moves the limit', () => {
    expect(planSweep(lostFinScenario, { variant: 'incident', vary: ['read_timeout_ms=1,2,3,4,5'], repeat: 4, yes: true }).points).toHaveLength(5);
    expect(() => planSweep(lostFinScenario, { variant: 'incident', vary: ['read_timeout_ms=1,2,3'], maxRuns: 2 })).toThrow(/more than --max-runs 2/);
  });
});

describe('sweep points', () => {
  test('majority verdict, ties to the worse, with the count that agreed', () => {
    expect(majority(['hung', 'responsive', 'hung'])).toEqual({ verdict: 'hung', agreed: 2 });
    expect(majority(['responsive', 'degraded'])).toEqual({ verdict: 'degraded', agreed: 1 });
  });

  test('time to saturation: the first pool sample with every worker busy, after the fault', () => {
    const p = summarizePoint({ read_timeout_ms: 4000 }, [result('hung', [[500, 8], [2000, 3], [5200, 8]]), result('hung'), result('degraded')]);
    expect(p).toMatchObject({ verdict: 'hung', agreed: 2, runs: 3, saturationMs: 4200, busyPeak: 8, poolSize: 8 });
    expect(p.health.errorShare).toBeCloseTo(0.8);
  });
});

describe('boundaries', () => {
  const plan = planSweep(lostFinScenario, { variant: 'incident', vary: ['read_timeout_ms=250,500,1000,4000'] });
  const modelAt = (s: Record<string, unknown>) => predict(lostFinScenario.queueModel!(s as never, 'incident')!).verdict;
  const points = (verdicts: Verdict[]) => plan.points.map((s, i) => summarizePoint(s, [result(verdicts[i])]));

  test('prints where the verdict changes, the model beside it, and a recommendation', () => {
    const [b] = findBoundaries(plan.axes, plan.fixed, points(['responsive', 'responsive', 'degraded', 'hung']), lostFinScenario.knobs!, modelAt);
    expect(b.line).toBe('read_timeout_ms: responsive at ≤ 500 ms, degraded at 1000 ms, hung at ≥ 4000 ms');
    expect(b.agreement).toBe('yes');
    expect(b.modelLine).toMatch(/model: responsive at ≤ 500 ms, degraded at 1000 ms, hung at ≥ 4000 ms.*agrees with the measurement/);
    expect(b.recommendation).toMatch(/read_timeout_ms ≤ 500 ms .*the model: responsive at 1 ms\.\.769 ms/);
  });

  test('a disagreement is printed as a finding, both sides shown', () => {
    const [b] = findBoundaries(plan.axes, plan.fixed, points(['hung', 'hung', 'hung', 'hung']), lostFinScenario.knobs!, modelAt);
    expect(b.line).toMatch(/hung at every value tried/);
    expect(b.agreement).toBe('no');
    expect(b.modelLine).toMatch(/DISAGREES at 250 ms, 500 ms, 1000 ms/);
    expect(b.recommendation).toMatch(/no value of read_timeout_ms tried kept the pool responsive/);
  });

  test('one line per combination of the other knobs, named in the line', () => {
    const two = planSweep(lostFinScenario, { variant: 'incident', vary: ['read_timeout_ms=250,1000', 'workers=4,8'] });
    const bs = findBoundaries(two.axes, two.fixed, two.points.map((s) => summarizePoint(s, [result('responsive')])), lostFinScenario.knobs!);
    expect(bs.map((b) => b.line)).toEqual([
      'read_timeout_ms: responsive at every value tried (250 ms, 1000 ms), with workers 4 workers',
      'read_timeout_ms: responsive at every value tried (250 ms, 1000 ms), with workers 8 workers',
      'workers: responsive at every value tried (4 workers, 8 workers), with read_timeout_ms 250 ms',
      'workers: responsive at every value tried (4 workers, 8 workers), with read_timeout_ms 1000 ms',
    ]);
  });
});
