import { History } from '../../harness/probes/history';
import { judgeHealth } from '../../harness/scenario/judge';
import { HUNG_BY_SHARE, keepaliveHoldMs, predict, serviceTimeMs, type QueueModelInput } from '../../harness/sweep/model';

const base: QueueModelInput = { workers: 8, reloadEveryMs: 500, lockAcrossIo: true, faultHoldMs: Infinity, limitsMs: [], observeMs: 10_000 };

describe('queueing model', () => {
  test('service time: the fault hold cut by the smallest limit; 0 and undefined are no limit', () => {
    expect(serviceTimeMs({ faultHoldMs: Infinity, limitsMs: [0, undefined] })).toBe(Infinity);
    expect(serviceTimeMs({ faultHoldMs: Infinity, limitsMs: [2000, 3000] })).toBe(2000);
    expect(serviceTimeMs({ faultHoldMs: 300, limitsMs: [2000] })).toBe(300);
  });

  test('no timeout with the lock held: the session never drains, 8 workers fill after 7 reloads', () => {
    const p = predict(base);
    expect(p.verdict).toBe('hung');
    expect(p.saturationMs).toBe(3500);
    expect(p.busyAtEnd).toBe(8);
  });

  test('lock held: a read timeout at or below the reload interval keeps the session drained', () => {
    expect(predict({ ...base, limitsMs: [250] }).verdict).toBe('responsive');
    expect(predict({ ...base, limitsMs: [500] }).verdict).toBe('responsive');
    expect(predict({ ...base, limitsMs: [500] }).busyAtEnd).toBeLessThanOrEqual(1);
  });

  test('lock held: above the reload interval the waiters grow by λ − 1/S, whatever the pool size', () => {
    // S = 1000, R = 500: growth 1/s, 7 more workers after 7 s (< 0.68 x 10 s? no: 7 s > 6.8 s).
    const p = predict({ ...base, limitsMs: [1000] });
    expect(p.saturationMs).toBe(7000);
    expect(p.verdict).toBe('degraded');
    // A longer window, or a bigger pool: the same growth, later saturation.
    expect(predict({ ...base, limitsMs: [1000], observeMs: 20_000 }).verdict).toBe('hung');
    expect(predict({ ...base, limitsMs: [1000], workers: 64, observeMs: 40_000 }).verdict).toBe('responsive');
    expect(predict({ ...base, limitsMs: [4000] }).saturationMs).toBe(Math.round(7 / (1 / 500 - 1 / 4000)));
    expect(predict({ ...base, limitsMs: [4000] }).verdict).toBe('hung');
  });

  test("lock released: Little's law L = λ·S against the pool", () => {
    const free = { ...base, lockAcrossIo: false };
    expect(predict({ ...free, limitsMs: [2000] }).steadyBusy).toBe(4);
    expect(predict({ ...free, limitsMs: [2000] }).verdict).toBe('responsive');
    // λ·S = 8 = N: full after N·R = 4 s.
    expect(predict({ ...free, limitsMs: [4000] })).toMatchObject({ verdict: 'hung', saturationMs: 4000 });
    expect(predict({ ...free, limitsMs: [4000], workers: 16 }).verdict).toBe('responsive');
  });

  test("the model's hung threshold is the judge's: on either side of it, both give the same verdict", () => {
    // A pool that fills `full` ms into a 10 s observe window: from then on every health request
    // fails at once (the model's idealisation of a full pool), before that every one answers.
    const W = 10_000;
    const judged = (full: number | null) => {
      const h = new History();
      h.events.push({ t: 0, kind: 'phase', name: 'observe' }, { t: W, kind: 'phase', name: 'heal' });
      for (let t = 0; t < W; t += 50) {
        const failing = full !== null && t >= full;
        h.requests.push({ id: t, kind: 'health', start: t, end: t + 5, outcome: failing ? 'conn-error' : 'ok' });
      }
      return judgeHealth({ history: h, variant: 'incident', poolSize: 8 });
    };
    // Lock released, nothing bounds the call: the pool fills after N·R, so R = full / N.
    const modelled = (full: number | null) =>
      predict({ workers: 8, reloadEveryMs: full === null ? 1e12 : full / 8, lockAcrossIo: false, faultHoldMs: full === null ? 1 : Infinity, limitsMs: [], observeMs: W }).verdict;
    const edge = HUNG_BY_SHARE * W;
    for (const full of [1000, edge - 200, edge - 60, edge + 60, edge + 200, 9500, null]) {
      expect({ full, model: modelled(full) }).toEqual({ full, model: judged(full) });
    }
    expect(judged(edge - 60)).toBe('hung');
    expect(judged(edge + 60)).toBe('degraded');
  });

  test('keepalive ends a half-open read at the first probe after the peer forgot the connection', () => {
    // Kernel default orphan retries (8): the peer forgets after ~102 s; probes every 7200 s.
    expect(keepaliveHoldMs(7200)).toBe(7_200_000);
    expect(keepaliveHoldMs(30)).toBe(120_000);
    // One retry: the peer forgets after 0.6 s; the first probe gets the reset.
    expect(keepaliveHoldMs(5, 1)).toBe(5000);
  });
});
