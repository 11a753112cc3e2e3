/**
 * One order of verdicts, and every view ranks by it: the judge (health before data), a sweep's
 * majority (a tie reports the worse) and the heatmap (a cell shows its worst). A copy drifting
 * in any of them fails here.
 */
import { heatmapCells } from '../../harness/report/html/heatmap';
import { History } from '../../harness/probes/history';
import { judgeHealthAndData } from '../../harness/scenario/judge';
import { severity, VERDICTS_WORST_FIRST, worse, type Verdict } from '../../harness/scenario/verdicts';
import { majority } from '../../harness/sweep/point';

const PAIRS = VERDICTS_WORST_FIRST.flatMap((a, i) => VERDICTS_WORST_FIRST.slice(i + 1).map((b) => [a, b] as [Verdict, Verdict]));

describe('the verdict order', () => {
  test('worst first, each strictly worse than the next; an unknown verdict outranks all', () => {
    for (const [a, b] of PAIRS) expect({ a, b, worse: worse(a, b), reversed: worse(b, a) }).toEqual({ a, b, worse: a, reversed: a });
    expect(severity('on-fire')).toBeGreaterThan(severity('error'));
  });

  test("a sweep's tie and a heatmap cell pick the worse of every pair", () => {
    for (const [a, b] of PAIRS) {
      expect({ a, b, majority: majority([b, a]).verdict }).toEqual({ a, b, majority: a });
      const cell = heatmapCells({ knobs: ['k'], points: [{ settings: { k: 1 }, verdict: b }, { settings: { k: 1 }, verdict: a }] }).cells[0];
      expect({ a, b, cell: cell.verdict }).toEqual({ a, b, cell: a });
    }
  });

  test('the judge agrees: a pool that hung and lost data is judged hung, the worse of the two', () => {
    const h = new History();
    h.events.push({ t: 0, kind: 'phase', name: 'observe' }, { t: 10_000, kind: 'phase', name: 'heal' });
    for (let t = 0; t < 10_000; t += 250) h.requests.push({ id: t, kind: 'health', start: t, end: t + 5, outcome: 'timeout' });
    const judged = judgeHealthAndData({ history: h, variant: 'incident', poolSize: 8, data: { acknowledged: 3, lost: 2, misreported: 1, problems: [] } as never });
    expect(judged).toBe('hung');
    expect(worse<Verdict>('hung', 'data-lost')).toBe(judged);
    expect(worse<Verdict>('data-misreported', 'data-lost')).toBe('data-lost');
  });
});
