import { runCli } from '../helpers/cli';

/**
 * Observe windows through the bin: by default a window ends once its verdict is settled (the
 * diagnosis done, the pool full, the failed share reached), with `--full-windows` it runs to its
 * maximum (lost-fin-slow-close: 10 s); both give the same verdict and name the same culprit.
 */
const observeMs = (r: Record<string, any>) => {
  const p = r.phases.find((x: { name: string }) => x.name === 'observe');
  return p.endMs - p.startMs;
};

describe('observe windows: early by default, full with --full-windows', () => {
  let early: Array<Record<string, any>>;
  let full: Array<Record<string, any>>;

  beforeAll(async () => {
    // One after another: the two runs' timings must not bend each other.
    const a = await runCli(['run', 'lost-fin-slow-close', '--variant', 'incident', '--json']);
    const b = await runCli(['run', 'lost-fin-slow-close', '--variant', 'incident', '--json', '--full-windows']);
    if (a.code !== 0 || b.code !== 0) console.error(a.stderr.slice(-2000), b.stderr.slice(-2000));
    early = JSON.parse(a.stdout).results;
    full = JSON.parse(b.stdout).results;
  }, 240_000);

  test('the same verdict and culprit both ways', () => {
    const view = (r: Record<string, any>) => ({ verdict: r.verdict, matched: r.matched, culprit: r.diagnosis?.culprit?.kind });
    expect(early.map(view)).toEqual(full.map(view));
    expect(early[0]).toMatchObject({ verdict: 'hung', matched: true });
  });

  test('the early window ended once settled, before the maximum, and says so; the full one ran to it', () => {
    expect(observeMs(early[0])).toBeLessThan(10_000);
    expect(early[0].notes.map((n: { name: string }) => n.name)).toContain('window ended early');
    expect(observeMs(full[0])).toBeGreaterThanOrEqual(10_000);
    expect(full[0].notes.map((n: { name: string }) => n.name)).not.toContain('window ended early');
  });

  test('the diagnosis ran while the pool was full, before the early window closed', () => {
    const r = early[0];
    const observe = r.phases.find((x: { name: string }) => x.name === 'observe');
    const diagnosis = r.timeline.events.find((e: { name: string }) => e.name === 'diagnosis');
    expect(diagnosis.t).toBeGreaterThan(observe.startMs);
    expect(diagnosis.t).toBeLessThanOrEqual(observe.endMs);
    const fullBefore = r.timeline.pool.find((p: { t: number; busy: number; size: number }) => p.t >= observe.startMs && p.busy >= p.size);
    expect(fullBefore.t).toBeLessThan(diagnosis.t);
  });
});
