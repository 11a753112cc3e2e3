import { EARLY_END, judgeHealthWindow, settledVerdict } from '../../harness/scenario/judge';
import { PHASE } from '../../harness/scenario/phases';
import { recordedRuns } from '../helpers/recorded';

/**
 * The early-end rule (harness/scenario/judge.ts `settledVerdict`) replayed on recorded histories
 * of real library runs with full windows: at every moment the live loop would look (every 250 ms
 * of the observe window), a window ended there must give the verdict the full window gave.
 */
const POLL_MS = 250;
const runs = recordedRuns();

function replay(history: (typeof runs)[number]['history']) {
  const window = history.phaseWindow(PHASE.observe)!;
  const full = judgeHealthWindow(history, window);
  const ends: Array<{ at: number; verdict: string }> = [];
  for (let now = window.from; now <= window.to; now += POLL_MS) {
    const settled = settledVerdict(history, { from: window.from, now });
    if (settled) ends.push({ at: now - window.from, verdict: judgeHealthWindow(history, { from: window.from, to: now }) });
  }
  return { full, ends, lengthMs: window.to - window.from };
}

test('the fixtures hold real library runs of both verdicts', () => {
  expect(runs.length).toBeGreaterThanOrEqual(20);
  expect(new Set(runs.map((r) => r.verdict))).toEqual(new Set(['hung', 'responsive', 'data-lost']));
});

describe.each(runs.map((r) => [`${r.file} ${r.scenario} ${r.variant}`, r] as const))('%s', (_name, run) => {
  const { full, ends } = replay(run.history);

  test('the full window gives the recorded verdict (health part)', () => {
    // data-lost is judged on health first: its health was responsive.
    expect(full).toBe(run.verdict === 'data-lost' ? 'responsive' : run.verdict);
  });

  test('every moment the window could end early gives the full window verdict', () => {
    expect(ends.filter((e) => e.verdict !== full)).toEqual([]);
  });
});

test('the rule does end windows early: every hung run before its end, responsive runs at the minimum', () => {
  const outcomes = runs.map((r) => ({ run: `${r.scenario} ${r.variant}`, verdict: r.verdict, ...replay(r.history) }));
  for (const o of outcomes.filter((x) => x.verdict === 'hung')) expect({ run: o.run, endsEarly: (o.ends[0]?.at ?? Infinity) < o.lengthMs - 1000 }).toEqual({ run: o.run, endsEarly: true });
  for (const o of outcomes.filter((x) => x.verdict === 'responsive' && x.lengthMs > EARLY_END.responsiveMinMs + POLL_MS)) {
    expect({ run: o.run, firstEnd: o.ends[0]?.at }).toEqual({ run: o.run, firstEnd: expect.any(Number) });
  }
});

test('a responsive window cannot end before its minimum, nor once the pool was full', () => {
  const hung = runs.find((r) => r.verdict === 'hung')!;
  const window = hung.history.phaseWindow(PHASE.observe)!;
  // Before the first failure the incident looks responsive: the minimum is what stops it there ...
  for (let now = window.from; now < window.to; now += POLL_MS) {
    expect(settledVerdict(hung.history, { from: window.from, now })).not.toBe('responsive');
  }
  expect(settledVerdict(hung.history, { from: window.from, now: window.from + 3000, minMs: 2000 })).toBe('responsive');
  // ... and a pool seen full stops it even past a (too short) minimum.
  const full = hung.history.pool.find((p) => p.t >= window.from && p.busy >= p.size)!;
  expect(settledVerdict(hung.history, { from: window.from, now: full.t + 1, minMs: 0 })).not.toBe('responsive');
});

test('replay summary', () => {
  const lines = runs.map((r) => {
    const o = replay(r.history);
    return `${r.file} ${r.scenario} ${r.variant} ${o.full} full ${(o.lengthMs / 1000).toFixed(1)} s, early ${o.ends[0] ? (o.ends[0].at / 1000).toFixed(1) : '-'} s`;
  });
  if (process.env.FL_PRINT_REPLAY) console.log(lines.join('\n'));
  expect(lines).toHaveLength(runs.length);
});
