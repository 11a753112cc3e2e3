import { History } from '../../harness/probes/history';
import type { Outcome } from '../../harness/probes/http';
import { judgeHealth, peakPool } from '../../harness/scenario/judge';
import { toJUnit } from '../../harness/report/junit';
import { resultWith } from '../helpers/results';

/** A history whose observe phase spans [0, 10000) with health requests every 250 ms. */
function historyWith(outcomeAt: (t: number) => { outcome: Outcome; ms: number }): History {
  const h = new History();
  h.events.push({ t: 0, kind: 'phase', name: 'observe' }, { t: 10_000, kind: 'phase', name: 'heal' });
  for (let t = 0; t < 10_000; t += 250) {
    const { outcome, ms } = outcomeAt(t);
    h.requests.push({ id: t, kind: 'health', start: t, end: t + ms, outcome });
  }
  return h;
}

describe('judgeHealth', () => {
  test('all fast and ok: responsive', () => {
    const h = historyWith(() => ({ outcome: 'ok', ms: 5 }));
    expect(judgeHealth({ history: h, variant: 'fixed', poolSize: 8 })).toBe('responsive');
  });

  test('failing late in the window: hung', () => {
    const h = historyWith((t) => (t < 5000 ? { outcome: 'ok', ms: 5 } : { outcome: 'timeout', ms: 2000 }));
    expect(judgeHealth({ history: h, variant: 'incident', poolSize: 8 })).toBe('hung');
  });

  test('recovering before the end is not hung, and errors make it not responsive', () => {
    const h = historyWith((t) => (t > 3000 && t < 5000 ? { outcome: 'timeout', ms: 2000 } : { outcome: 'ok', ms: 5 }));
    expect(judgeHealth({ history: h, variant: 'incident', poolSize: 8 })).toBe('degraded');
  });

  test('slow but answering is degraded, not responsive', () => {
    const h = historyWith(() => ({ outcome: 'ok', ms: 1500 }));
    expect(judgeHealth({ history: h, variant: 'fixed', poolSize: 8 })).toBe('degraded');
  });

  test('requests answered only after the heal do not count as evidence', () => {
    // Failing from 4 s on; the last requests of the window were answered once the fault healed.
    const h = historyWith((t) => (t < 4000 ? { outcome: 'ok', ms: 5 } : t < 8000 ? { outcome: 'timeout', ms: 2000 } : { outcome: 'ok', ms: 2500 }));
    expect(judgeHealth({ history: h, variant: 'incident', poolSize: 8 })).toBe('hung');
  });

  test('requests outside the observe window do not count', () => {
    const h = historyWith(() => ({ outcome: 'ok', ms: 5 }));
    h.requests.push({ id: -1, kind: 'health', start: 12_000, end: 14_000, outcome: 'timeout' });
    expect(judgeHealth({ history: h, variant: 'fixed', poolSize: 8 })).toBe('responsive');
  });

  test('peak pool occupancy is taken inside the observe window', () => {
    const h = historyWith(() => ({ outcome: 'ok', ms: 5 }));
    h.pool.push({ t: 100, busy: 2, size: 8 }, { t: 9000, busy: 7, size: 8 }, { t: 11_000, busy: 8, size: 8 });
    expect(peakPool(h, 8)).toEqual({ busy: 7, size: 8 });
  });
});

describe('JUnit report', () => {
  const base = resultWith({ scenario: 'lost-fin', variant: 'incident', expected: 'hung', verdict: 'hung', durationMs: 1500 });

  test('a mismatch becomes a failure with its reasons, escaped', () => {
    const xml = toJUnit([base, { ...base, variant: 'fixed', expected: 'responsive', matched: false, mismatch: ['expected responsive, observed <hung>'] }]);
    expect(xml).toMatch(/<testsuite name="faultline" tests="2" failures="1"/);
    expect(xml).toContain('<failure message="expected responsive, observed &lt;hung&gt;">');
    expect(xml.match(/<testcase /g)).toHaveLength(2);
  });

  test('a failure names the culprit the diagnoser found', () => {
    const hung = { ...base, variant: 'fixed' as const, expected: 'responsive' as const, matched: false, mismatch: ['expected responsive, observed hung'] };
    const diagnosis = { verdict: 'stuck', culprit: { pid: 41, kind: 'silent-peer', resource: { type: 'tcp', service: 'profile' } } };
    const xml = toJUnit([{ ...hung, diagnosis }]);
    expect(xml).toContain('<failure message="expected responsive, observed hung; culprit: silent-peer on profile (pid 41)">');
    expect(toJUnit([hung])).toContain('<failure message="expected responsive, observed hung">');
  });
});
