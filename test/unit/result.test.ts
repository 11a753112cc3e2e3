import { History } from '../../harness/probes/history';
import { buildResult, type RunRecord } from '../../harness/scenario/result';
import type { VariantSpec } from '../../harness/scenario/types';

/** A record whose observe phase spans [1000, 11000) with health requests every 250 ms. */
function record(overrides: Partial<RunRecord> = {}, healthOk = true): RunRecord {
  const history = new History();
  history.events.push(
    { t: 0, kind: 'phase', name: 'steady' },
    { t: 1000, kind: 'phase', name: 'observe' },
    { t: 11_000, kind: 'phase', name: 'heal' },
  );
  for (let t = 1000; t < 11_000; t += 250) {
    history.requests.push({ id: t, kind: 'health', start: t, end: t + (healthOk ? 5 : 2000), outcome: healthOk ? 'ok' : 'timeout' });
  }
  history.pool.push({ t: 2000, busy: healthOk ? 2 : 8, size: 8 });
  return {
    scenario: 'lost-fin',
    variant: 'incident',
    runId: 'fl-test',
    history,
    poolSize: 8,
    faults: [{ name: 'lost-fin(profile)', layer: 'packet', description: 'FIN dropped', injectedAtMs: 1000.4, healedAtMs: 11_000.6 }],
    notes: [],
    diagnoserConfigured: true,
    durationMs: 12_345.6,
    ...overrides,
  };
}

const HUNG: VariantSpec = { expected: 'hung', culprit: { service: 'profile', kind: 'silent-peer' } };
const culprit = (kind: string, service: string) => ({ json: { culprit: { kind } }, culprit: { kind, service, pid: 11 } });

describe('buildResult', () => {
  test('a hung run with the expected culprit matches, and carries its timeline and rounded times', () => {
    const r = buildResult(record({ diagnosis: culprit('silent-peer', 'profile') }, false), { spec: HUNG });
    expect(r).toMatchObject({ verdict: 'hung', matched: true, pool: { busy: 8, size: 8 }, durationMs: 12_346, diagnosis: { culprit: { kind: 'silent-peer' } } });
    expect(r.mismatch).toBeUndefined();
    expect(r.faults[0]).toMatchObject({ injectedAtMs: 1000, healedAtMs: 11_001 });
    expect(r.phases.map((p) => [p.name, p.startMs, p.endMs])).toEqual([
      ['steady', 0, 1000],
      ['observe', 1000, 11_000],
      ['heal', 11_000, 12_750], // the last phase ends with the last thing recorded: a health request answered at 12 750
    ]);
    expect(r.timeline?.requests).toHaveLength(40);
  });

  test('the wrong culprit, or none, is a mismatch that says what was expected', () => {
    const wrong = buildResult(record({ diagnosis: culprit('slow-peer', 'storage-1') }, false), { spec: HUNG });
    expect(wrong.matched).toBe(false);
    expect(wrong.mismatch).toEqual(['diagnosis named slow-peer on storage-1, expected silent-peer on profile']);
    const none = buildResult(record({}, false), { spec: HUNG });
    expect(none.mismatch).toEqual(['diagnosis named no culprit (expected silent-peer on profile)']);
    const noDiagnoser = buildResult(record({ diagnoserConfigured: false }, false), { spec: HUNG });
    expect(noDiagnoser.mismatch).toEqual(['no diagnoser configured to name the culprit']);
  });

  test('an old kind name in the spec matches what it became, and nothing else', () => {
    const old = (kind: string): VariantSpec => ({ expected: 'hung', culprit: { service: 'storage-1', kind } });
    expect(buildResult(record({ diagnosis: culprit('peer-not-reading', 'storage-1') }, false), { spec: old('stalled-write') }).matched).toBe(true);
    expect(buildResult(record({ diagnosis: culprit('unreachable-peer', 'storage-1') }, false), { spec: old('stalled-write') }).matched).toBe(true);
    expect(buildResult(record({ diagnosis: culprit('silent-peer', 'storage-1') }, false), { spec: old('half-open-read') }).matched).toBe(true);
    expect(buildResult(record({ diagnosis: culprit('silent-peer', 'storage-1') }, false), { spec: old('stalled-write') }).mismatch).toEqual([
      'diagnosis named silent-peer on storage-1, expected stalled-write on storage-1',
    ]);
  });

  test('an error makes the verdict error, whatever the history shows', () => {
    const r = buildResult(record({ error: new Error('topology start exceeded 180000 ms') }), { spec: { expected: 'responsive' } });
    expect(r).toMatchObject({ verdict: 'error', matched: false, error: 'topology start exceeded 180000 ms' });
    expect(r.mismatch).toEqual(['run failed: topology start exceeded 180000 ms']);
  });

  test('recovery is judged against the bound only when the spec sets one', () => {
    const spec: VariantSpec = { expected: 'responsive', recoversWithinMs: 5000 };
    expect(buildResult(record({ recoveryMs: 4000 }), { spec }).matched).toBe(true);
    const slow = buildResult(record({ recoveryMs: 9000 }), { spec });
    expect(slow.mismatch).toEqual(['pool did not recover within 5000 ms of the heal (took 9000 ms)']);
    expect(buildResult(record({}), { spec }).mismatch).toEqual(['pool did not recover within 5000 ms of the heal']);
    expect(buildResult(record({ recoveryMs: 9000 }), { spec: { expected: 'responsive' } })).toMatchObject({ matched: true, recoveryMs: 9000 });
  });

  test("a scenario's own judge decides the verdict", () => {
    const r = buildResult(record({}), { spec: { expected: 'degraded' }, judge: () => 'degraded' });
    expect(r).toMatchObject({ verdict: 'degraded', matched: true });
  });

  test('is pure: the same record gives the same result', () => {
    const rec = record({ diagnosis: culprit('silent-peer', 'profile') }, false);
    expect(buildResult(rec, { spec: HUNG })).toEqual(buildResult(rec, { spec: HUNG }));
  });
});
