/**
 * How the corpus judges a diagnosis and counts precision and recall (test/corpus/runner.ts), on
 * hand-made results; and every case file in test/corpus/cases/ is valid.
 */
import { judge, loadCases, summarize, summaryLine, type CaseResult, type Got } from '../../corpus/runner';
import type { CorpusCase } from '../../corpus/case';

const stuckSpec = { expect: { verdict: 'stuck' } } as CorpusCase;
const healthySpec = { expect: { verdict: 'healthy' } } as CorpusCase;
const got = (g: Partial<Got>): Got => ({ exitCode: 1, verdict: 'stuck', kind: 'silent-peer', service: 'db', pid: 10, tid: 12, waiters: 3, ...g });

describe('judge', () => {
  test('a right culprit has no mismatch', () => {
    expect(judge(stuckSpec, { kind: 'silent-peer', service: 'db', pid: '10', waiters: 3 }, got({}))).toEqual([]);
  });
  test('each wrong field is named', () => {
    const m = judge(stuckSpec, { kind: 'unreachable-peer', service: 'api', pid: '11', waiters: 2 }, got({}));
    expect(m).toEqual(['kind silent-peer, expected unreachable-peer', 'service db, expected api', 'pid 10, expected 11', 'waiters 3, expected 2']);
  });
  test('pidIn, tidIn, minWaiters and path', () => {
    expect(judge(stuckSpec, { pidIn: '9,10', tidIn: '12,13', minWaiters: 3 }, got({}))).toEqual([]);
    expect(judge(stuckSpec, { pidIn: '9,11', tidIn: '13', minWaiters: 4, path: 'db.sock' }, got({ path: '/tmp/x/api.sock' }))).toHaveLength(4);
  });
  test('a false alarm and a false all-clear are verdict mismatches', () => {
    expect(judge(healthySpec, undefined, got({}))).toEqual(['verdict stuck, expected healthy']);
    expect(judge(stuckSpec, { kind: 'silent-peer' }, got({ verdict: 'healthy', exitCode: 0 }))).toEqual(['verdict healthy, expected stuck']);
  });
  test('the exit code must match the verdict (0 healthy, 1 stuck, 4 inconclusive)', () => {
    expect(judge(healthySpec, undefined, got({ verdict: 'healthy', exitCode: 1 }))).toEqual(['exit 1 for healthy, expected 0']);
    expect(judge({ expect: { verdict: 'inconclusive' } } as CorpusCase, undefined, got({ verdict: 'inconclusive', exitCode: 4 }))).toEqual([]);
  });
  test('no diagnosis at all is wrong', () => {
    expect(judge(healthySpec, undefined, { exitCode: 2, error: 'unknown argument' })).toEqual(['the bin gave no diagnosis: unknown argument']);
  });
});

describe('summarize', () => {
  const r = (expectedVerdict: CaseResult['expectedVerdict'], verdict: string, culpritRight = false): CaseResult => ({
    name: `${expectedVerdict}-${verdict}`,
    area: 'control',
    expectedVerdict,
    expected: expectedVerdict,
    got: { exitCode: 0, verdict },
    gotText: verdict,
    right: expectedVerdict === verdict,
    mismatches: [],
    culpritRight,
    durationMs: 1,
  });
  test('precision and recall over stuck claims', () => {
    // 3 positives: 2 claimed (one with the right culprit), 1 inconclusive; 2 negatives: 1 false alarm.
    const s = summarize([r('stuck', 'stuck', true), r('stuck', 'stuck'), r('stuck', 'inconclusive'), r('healthy', 'stuck'), r('healthy', 'healthy')]);
    expect(s).toMatchObject({ cases: 5, culpritRight: 1, stuckExpected: 3, inconclusive: 1 });
    expect(s.precision).toBeCloseTo(2 / 3);
    expect(s.recall).toBeCloseTo(2 / 3);
    expect(summaryLine(s)).toBe('corpus: 5 cases, precision 0.67, recall 0.67, culprit right 1/3, inconclusive 1');
  });
  test('no claim at all is precision 1, recall 0', () => {
    const s = summarize([r('stuck', 'healthy'), r('healthy', 'healthy')]);
    expect([s.precision, s.recall]).toEqual([1, 0]);
  });
});

test('every case file is valid, and there are at least 25', () => {
  expect(loadCases().length).toBeGreaterThanOrEqual(25);
});
