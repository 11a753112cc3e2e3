import { SCENARIOS } from '../../scenarios';
import { VARIANTS } from '../../harness/scenario/types';
import { DEFAULT_RUN_MS, EXPECTED_RUN_MS, expectedRunMs, parseShard, shardRuns, type ShardRun } from '../../harness/scenario/shard';

const library: ShardRun[] = SCENARIOS.flatMap((s) => VARIANTS.map((variant) => ({ scenario: s.name, variant })));
const id = (r: ShardRun) => `${r.scenario}/${r.variant}`;
const total = (runs: ShardRun[]) => runs.reduce((sum, r) => sum + expectedRunMs(r), 0);

/** A deterministic pseudo-random library of `n` runs with weights 1..60 s (mulberry32). */
function randomRuns(seed: number, n: number): Array<ShardRun & { ms: number }> {
  let a = seed;
  const rand = () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return Array.from({ length: n }, (_, i) => ({ scenario: `s${i >> 1}`, variant: VARIANTS[i & 1], ms: 1000 + Math.floor(rand() * 59_000) }));
}

describe('shardRuns', () => {
  test('every bundled run has a measured duration', () => {
    expect(library).toHaveLength(22); // 11 scenarios x 2 variants
    for (const r of library) expect(EXPECTED_RUN_MS[r.scenario]?.[r.variant]).toBeGreaterThan(0);
    expect(expectedRunMs({ scenario: 'my-own', variant: 'fixed' })).toBe(DEFAULT_RUN_MS);
  });

  test.each([1, 2, 3, 4, 5, 7, 14, 20])('%i shards of the library: disjoint, together the whole library, balanced within the longest run', (n) => {
    const shards = Array.from({ length: n }, (_, i) => shardRuns(library, { index: i + 1, count: n }));
    const all = shards.flat().map(id);
    expect(new Set(all).size).toBe(all.length); // no overlap
    expect([...all].sort()).toEqual(library.map(id).sort()); // nothing missing
    const loads = shards.map(total);
    const longest = Math.max(...library.map(expectedRunMs));
    expect(Math.max(...loads) - Math.min(...loads)).toBeLessThanOrEqual(longest);
  });

  test('3 shards of the library are within 10 % of a third each', () => {
    const third = total(library) / 3;
    for (let i = 1; i <= 3; i++) {
      const load = total(shardRuns(library, { index: i, count: 3 }));
      expect(Math.abs(load - third) / third).toBeLessThan(0.1);
    }
  });

  test('the split does not depend on the order the runs come in, and keeps the input order within a shard', () => {
    const reversed = [...library].reverse();
    for (let i = 1; i <= 3; i++) {
      const a = shardRuns(library, { index: i, count: 3 }).map(id);
      const b = shardRuns(reversed, { index: i, count: 3 }).map(id);
      expect([...b].sort()).toEqual([...a].sort());
      expect(a).toEqual(library.map(id).filter((x) => a.includes(x)));
    }
  });

  test('random libraries with their own weights: a partition, balanced within the heaviest run', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const runs = randomRuns(seed, 1 + (seed % 40));
      const n = 1 + (seed % 9);
      const shards = Array.from({ length: n }, (_, i) => shardRuns(runs, { index: i + 1, count: n }, (r) => r.ms));
      expect(shards.flat().length).toBe(runs.length);
      expect(new Set(shards.flat()).size).toBe(runs.length);
      const loads = shards.map((s) => s.reduce((sum, r) => sum + r.ms, 0));
      expect(Math.max(...loads) - Math.min(...loads)).toBeLessThanOrEqual(Math.max(...runs.map((r) => r.ms)));
    }
  });
});

describe('parseShard', () => {
  test('i/n', () => {
    expect(parseShard('2/3')).toEqual({ index: 2, count: 3 });
    expect(parseShard('1/1')).toEqual({ index: 1, count: 1 });
  });

  test.each(['0/3', '4/3', '3', '1/0', 'a/b', '1/3/5', '-1/3', ''])('refuses "%s" in one line naming the flag', (bad) => {
    expect(() => parseShard(bad, 'faultline run: ')).toThrow(/^faultline run: --shard must be i\/n with 1 <= i <= n \(e\.g\. --shard 2\/3\), got "/);
  });
});
