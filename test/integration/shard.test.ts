import { runCli } from '../helpers/cli';

/**
 * `faultline run --shard i/n` through the real bin. That shards 1/3, 2/3 and 3/3 together are
 * exactly the library's 20 runs is shown with `--list` (what each job would run; no engine
 * needed), since running the 20 again would cost CI about 2.5 min; then ONE shard really runs
 * and must give exactly the results its `--list` announced, each as expected.
 */
type Run = { scenario: string; variant: string; expectedMs: number };

async function listShard(shard: string): Promise<Run[]> {
  const r = await runCli(['run', '--shard', shard, '--list', '--json']);
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout).runs;
}

describe('faultline run --shard', () => {
  test('--shard 1/3, 2/3, 3/3 together are the library, each run once, balanced', async () => {
    const listed = JSON.parse((await runCli(['list', '--json'])).stdout).scenarios as Array<{ name: string; variants: Record<string, unknown> }>;
    const library = listed.flatMap((s) => Object.keys(s.variants).map((v) => `${s.name}/${v}`)).sort();
    expect(library).toHaveLength(22); // 11 scenarios x 2 variants
    const shards = await Promise.all(['1/3', '2/3', '3/3'].map(listShard));
    const all = shards.flat().map((r) => `${r.scenario}/${r.variant}`);
    expect([...all].sort()).toEqual(library);
    const loads = shards.map((s) => s.reduce((sum, r) => sum + r.expectedMs, 0));
    expect(Math.max(...loads) - Math.min(...loads)).toBeLessThanOrEqual(Math.max(...shards.flat().map((r) => r.expectedMs)));
    // The same split on every call (every CI job computes it on its own).
    expect(await listShard('2/3')).toEqual(shards[1]);
  });

  test('one shard runs exactly the runs it lists, each as expected', async () => {
    const planned = await listShard('2/7');
    expect(planned.length).toBeGreaterThan(0);
    const r = await runCli(['run', '--shard', '2/7', '--json']);
    if (r.code !== 0) console.error(r.stderr.slice(-3000));
    expect(r.code).toBe(0);
    const results = JSON.parse(r.stdout).results as Array<{ scenario: string; variant: string; matched: boolean }>;
    expect(results.map((x) => [x.scenario, x.variant, x.matched])).toEqual(planned.map((p) => [p.scenario, p.variant, true]));
  }, 300_000);
});
